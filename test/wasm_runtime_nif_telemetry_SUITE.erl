%% Telemetry events, emitted through `telemetry' when it is loaded at run
%% time. hex is out of reach here, so a stand-in `telemetry' module, made by
%% this suite and unloaded after it, forwards every event to the test
%% process.
-module(wasm_runtime_nif_telemetry_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([compile_tells_its_duration_size_and_module/1, instantiate_tells_its_instance_or_error/1,
         a_trap_is_an_event/1, a_timeout_is_an_event/1, an_interrupt_is_an_event/1,
         release_is_an_event/1, calls_that_return_are_not_events/1,
         an_import_funs_error_is_not_an_event/1, without_telemetry_nothing_is_emitted/1]).

-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, wait_until/2]).

-define(SINK, wasm_runtime_nif_telemetry_sink).

-define(WAT, <<"(module
  (import \"env\" \"fail\" (func $fail))
  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export \"trap\") unreachable)
  (func (export \"fail\") (call $fail))
  (func (export \"spin\") (loop $l (br $l))))">>).

all() ->
    [compile_tells_its_duration_size_and_module, instantiate_tells_its_instance_or_error,
     a_trap_is_an_event, a_timeout_is_an_event, an_interrupt_is_an_event, release_is_an_event,
     calls_that_return_are_not_events, an_import_funs_error_is_not_an_event,
     without_telemetry_nothing_is_emitted].

init_per_suite(Config) ->
    case code:which(telemetry) of
        non_existing ->
            load_stand_in(),
            Config;
        _ ->
            {skip, "a real telemetry is on the code path; the stand-in would replace it"}
    end.

end_per_suite(_Config) ->
    unload_stand_in().

init_per_testcase(_Case, Config) ->
    true = register(?SINK, self()),
    Config.

end_per_testcase(_Case, _Config) ->
    unregister(?SINK),
    _ = events(),
    ok.

%% telemetry:execute/3 that sends each event to the registered sink.
load_stand_in() ->
    Forms = [{attribute, 1, module, telemetry},
             {attribute, 2, export, [{execute, 3}]},
             {function, 3, execute, 3,
              [{clause, 3, [{var, 3, 'E'}, {var, 3, 'M'}, {var, 3, 'D'}], [],
                [{'case', 4, {call, 4, {atom, 4, whereis}, [{atom, 4, ?SINK}]},
                  [{clause, 5, [{atom, 5, undefined}], [], [{atom, 5, ok}]},
                   {clause, 6, [{var, 6, 'Pid'}], [],
                    [{op, 6, '!', {var, 6, 'Pid'},
                      {tuple, 6, [{atom, 6, telemetry}, {var, 6, 'E'}, {var, 6, 'M'}, {var, 6, 'D'}]}},
                     {atom, 6, ok}]}]}]}]}],
    {ok, telemetry, Beam} = compile:forms(Forms),
    {module, telemetry} = code:load_binary(telemetry, "telemetry.erl", Beam).

unload_stand_in() ->
    _ = code:purge(telemetry),
    _ = code:delete(telemetry),
    _ = code:purge(telemetry),
    ok.

%% The events received so far, in order.
events() ->
    receive {telemetry, Event, Measurements, Metadata} -> [{Event, Measurements, Metadata} | events()]
    after 0 -> []
    end.

module() ->
    {ok, M} = wasm_runtime_nif:compile(?WAT),
    M.

instance() ->
    {ok, I} = wasm_runtime_nif:instantiate(module(), [{imports, #{{env, fail} => fun() -> ok end}}]),
    _ = events(),
    I.

compile_tells_its_duration_size_and_module(Config) ->
    {ok, M} = wasm_runtime_nif:compile(?WAT),
    [{[wasm_runtime_nif, compile], #{duration := D, size := Size}, #{module := M, cache := false}}] = events(),
    ?assert(is_integer(D) andalso D >= 0),
    ?assertEqual(byte_size(?WAT), Size),
    {error, Reason} = wasm_runtime_nif:compile(<<"not wasm">>),
    [{[wasm_runtime_nif, compile], #{size := 8}, #{error := Reason, cache := false}}] = events(),
    Dir = filename:join(proplists:get_value(priv_dir, Config), "cache"),
    {ok, _} = wasm_runtime_nif:compile(?WAT, [{cache, Dir}]),
    [{[wasm_runtime_nif, compile], _, #{cache := true}}] = events().

instantiate_tells_its_instance_or_error(_Config) ->
    M = module(),
    _ = events(),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, fail} => fun() -> ok end}}]),
    [{[wasm_runtime_nif, instantiate], #{duration := _}, #{module := M, instance := I}}] = events(),
    {error, Reason} = wasm_runtime_nif:instantiate(M),
    [{[wasm_runtime_nif, instantiate], #{duration := _}, #{module := M, error := Reason}}] = events().

a_trap_is_an_event(_Config) ->
    I = instance(),
    {trap, unreachable, Message} = raised(fun() -> wasm_runtime_nif:call_raw(I, trap, []) end),
    [{[wasm_runtime_nif, call, trap], #{system_time := _},
      #{instance := I, function := trap, kind := unreachable, message := Message}}] = events(),
    %% Later calls are refused, not failed by the guest: no event.
    {instance_invalidated, _} = raised(fun() -> wasm_runtime_nif:call_raw(I, add, [1, 2]) end),
    [] = events().

a_timeout_is_an_event(_Config) ->
    I = instance(),
    {trap, timeout, _} = raised(fun() -> wasm_runtime_nif:call_raw(I, <<"spin">>, [], [{timeout, 20}]) end),
    [{[wasm_runtime_nif, call, timeout], _, #{instance := I, function := <<"spin">>, kind := timeout}}] =
        events().

an_interrupt_is_an_event(_Config) ->
    I = instance(),
    Self = self(),
    spawn_link(fun() -> Self ! {spun, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, []) end)} end),
    true = wait_until(fun() -> maps:get(state, wasm_runtime_nif:info(I)) =:= busy end, 5000),
    true = wasm_runtime_nif:interrupt(I),
    receive {spun, {trap, interrupted, _}} -> ok after 30000 -> error(not_interrupted) end,
    Events = events(),
    ?assertMatch([{[wasm_runtime_nif, interrupt], _, #{instance := I, held := true}}],
                 [E || {[_, interrupt], _, _} = E <- Events]),
    ?assertMatch([{[wasm_runtime_nif, call, interrupted], _, #{instance := I, kind := interrupted}}],
                 [E || {[_, call, _], _, _} = E <- Events]).

release_is_an_event(_Config) ->
    I = instance(),
    ok = wasm_runtime_nif:release(I),
    [{[wasm_runtime_nif, release], #{system_time := _}, #{instance := I}}] = events().

calls_that_return_are_not_events(_Config) ->
    I = instance(),
    3 = wasm_runtime_nif:call_raw(I, add, [1, 2]),
    badarg = raised(fun() -> wasm_runtime_nif:call_raw(I, add, [x, 2]) end),
    [] = events().

%% An import fun's exception is the caller's own, passed through: even one
%% shaped like a trap is not the guest's failure.
an_import_funs_error_is_not_an_event(_Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(module(), [{imports, #{{env, fail} => fun() -> error({trap, mine, <<"x">>}) end}}]),
    _ = events(),
    {trap, mine, <<"x">>} = raised(fun() -> wasm_runtime_nif:call_raw(I, fail, []) end),
    [] = events().

without_telemetry_nothing_is_emitted(_Config) ->
    unload_stand_in(),
    try
        {ok, M} = wasm_runtime_nif:compile(?WAT),
        {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, fail} => fun() -> ok end}}]),
        {trap, unreachable, _} = raised(fun() -> wasm_runtime_nif:call_raw(I, trap, []) end),
        ok = wasm_runtime_nif:release(I),
        [] = events()
    after
        load_stand_in()
    end.
