%% info/1: what a module is (kind, sizes, fuel, WASI, imports, exports) and
%% what an instance is doing (state, queue, memory, tables, fuel, module).
-module(wasm_runtime_nif_info_SUITE).

-export([all/0]).
-export([a_module_tells_what_it_is/1, a_wasi_module_and_a_fuel_module_say_so/1,
         a_component_tells_what_it_is/1, an_instance_tells_its_memory_and_tables/1,
         an_instance_tells_its_state_and_queue/1, an_instance_tells_its_fuel_and_owner/1,
         an_ended_instance_holds_nothing/1, bad_arguments/1]).

-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, wait_until/2]).

-define(WAT, <<"(module
  (import \"env\" \"wait\" (func $wait (result i32)))
  (import \"env\" \"enif_wasm_make_int32\" (func $make_int32 (param i32 i32) (result i64)))
  (memory (export \"memory\") 2 100)
  (table (export \"table\") 10 1000 funcref)
  (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export \"grow_table\") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export \"hold\") (result i32) (call $wait))
  (func (export \"trap\") unreachable)
  (func (export \"count\") (param i32) (result i32)
    (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
             (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i)))">>).

all() ->
    [a_module_tells_what_it_is, a_wasi_module_and_a_fuel_module_say_so,
     a_component_tells_what_it_is, an_instance_tells_its_memory_and_tables,
     an_instance_tells_its_state_and_queue, an_instance_tells_its_fuel_and_owner,
     an_ended_instance_holds_nothing, bad_arguments].

module() ->
    module([]).

module(Options) ->
    {ok, Module} = wasm_runtime_nif:compile(?WAT, Options),
    Module.

instance(Module, Options) ->
    Wait = {imports, #{{env, wait} => fun() -> receive {go_on, N} -> N end end}},
    {ok, I} = wasm_runtime_nif:instantiate(Module, [Wait | Options]),
    I.

a_module_tells_what_it_is(_Config) ->
    M = module(),
    Info = wasm_runtime_nif:info(M),
    ?assertMatch(#{kind := module, fuel := false, wasi := false}, Info),
    ?assertEqual(wasm_runtime_nif:imports(M), maps:get(imports, Info)),
    ?assertEqual(wasm_runtime_nif:exports(M), maps:get(exports, Info)),
    [{<<"env">>, <<"wait">>, _, erlang}, {<<"env">>, <<"enif_wasm_make_int32">>, _, term_abi}] =
        maps:get(imports, Info),
    %% The WAT text's size once assembled: smaller than the text.
    #{size := Size, compiled_size := Compiled} = Info,
    ?assert(Size > 100 andalso Size < byte_size(?WAT)),
    ?assert(Compiled > 0),
    ?assertEqual(lists:sort([kind, size, compiled_size, fuel, wasi, imports, exports]),
                 lists:sort(maps:keys(Info))).

a_wasi_module_and_a_fuel_module_say_so(_Config) ->
    Path = wasm_test_util:fixture(wasm_runtime_nif_wasi_SUITE, "wasi_reactor.wasm"),
    {ok, Bytes} = file:read_file(Path),
    {ok, Wasi} = wasm_runtime_nif:load(Path),
    ?assertMatch(#{kind := module, wasi := true, fuel := false}, wasm_runtime_nif:info(Wasi)),
    ?assertEqual(byte_size(Bytes), maps:get(size, wasm_runtime_nif:info(Wasi))),
    ?assertMatch(#{fuel := true}, wasm_runtime_nif:info(module([fuel]))).

a_component_tells_what_it_is(_Config) ->
    Path = wasm_test_util:fixture(wasm_runtime_nif_component_SUITE, "echo.wasm"),
    {ok, Bytes} = file:read_file(Path),
    {ok, Echo} = wasm_runtime_nif:load(Path),
    Info = wasm_runtime_nif:info(Echo),
    ?assertMatch(#{kind := component, fuel := false}, Info),
    ?assertEqual(byte_size(Bytes), maps:get(size, Info)),
    ?assertEqual(wasm_runtime_nif:exports(Echo), maps:get(exports, Info)),
    {ok, I} = wasm_runtime_nif:instantiate(Echo),
    #{state := idle, module := Echo, memory := Memory} = wasm_runtime_nif:info(I),
    ?assert(Memory > 0).

an_instance_tells_its_memory_and_tables(_Config) ->
    M = module(),
    I = instance(M, []),
    Info = wasm_runtime_nif:info(I),
    ?assertMatch(#{state := idle, queue := 0, memory := 131072, table_elements := 10,
                   module := M, fuel_burned := undefined, process_bound := false}, Info),
    ?assertEqual(lists:sort([state, queue, memory, table_elements, fuel_burned, module,
                             process_bound]),
                 lists:sort(maps:keys(Info))),
    2 = wasm_runtime_nif:call_raw(I, grow, [3]),
    10 = wasm_runtime_nif:call_raw(I, grow_table, [5]),
    ?assertMatch(#{memory := 327680, table_elements := 15}, wasm_runtime_nif:info(I)),
    %% The module's facts are one step away.
    ?assertMatch(#{kind := module}, wasm_runtime_nif:info(maps:get(module, wasm_runtime_nif:info(I)))).

an_instance_tells_its_state_and_queue(_Config) ->
    I = instance(module(), []),
    Self = self(),
    Holder = spawn_link(fun() -> Self ! {held, wasm_runtime_nif:call_raw(I, hold, [])} end),
    true = wait_until(fun() -> maps:get(state, wasm_runtime_nif:info(I)) =:= busy end, 5000),
    Queued = [spawn_link(fun() -> Self ! {counted, wasm_runtime_nif:call_raw(I, count, [N])} end)
              || N <- [10, 20]],
    true = wait_until(fun() -> maps:get(queue, wasm_runtime_nif:info(I)) =:= 2 end, 5000),
    ?assertMatch(#{state := busy, memory := 131072}, wasm_runtime_nif:info(I)),
    Holder ! {go_on, 7},
    receive {held, Held} -> ?assertEqual(7, Held) after 30000 -> error(not_held) end,
    [receive {counted, _} -> ok after 30000 -> error(not_counted) end || _ <- Queued],
    ?assertMatch(#{state := idle, queue := 0}, wasm_runtime_nif:info(I)).

an_instance_tells_its_fuel_and_owner(_Config) ->
    I = instance(module([fuel]), [process_bound]),
    ?assertMatch(#{fuel_burned := 0, process_bound := Pid} when Pid =:= self(),
                 wasm_runtime_nif:info(I)),
    1000 = wasm_runtime_nif:call_raw(I, count, [1000]),
    {ok, Burned} = wasm_runtime_nif:fuel_burned(I),
    ?assert(Burned > 1000),
    ?assertMatch(#{fuel_burned := Burned}, wasm_runtime_nif:info(I)).

an_ended_instance_holds_nothing(_Config) ->
    M = module(),
    Trapped = instance(M, []),
    {trap, unreachable, _} = raised(fun() -> wasm_runtime_nif:call_raw(Trapped, trap, []) end),
    ?assertMatch(#{state := {invalidated, {trap, unreachable, _}}, memory := 0, table_elements := 0},
                 wasm_runtime_nif:info(Trapped)),
    Released = instance(M, []),
    ok = wasm_runtime_nif:release(Released),
    ?assertMatch(#{state := released, memory := 0, module := M}, wasm_runtime_nif:info(Released)).

bad_arguments(_Config) ->
    [?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:info(Bad) end))
     || Bad <- [not_a_module, make_ref(), self(), <<"(module)">>]].
