%% Limits: fuel, memory and table ceilings (timeouts are in the slice suite).
-module(wasm_runtime_nif_limits_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([fuel_runs_out/1, fuel_is_deterministic/1, fuel_is_per_call/1,
         fuel_needs_a_metered_module/1, metered_module_without_limit_runs/1,
         memory_ceiling/1, initial_memory_above_ceiling/1, table_ceiling/1,
         bad_limit_options/1, guest_stack_size_is_configurable/1,
         memories_share_the_ceiling/1, tables_share_the_ceiling/1,
         numbers_of_memories_and_tables_are_bounded/1]).
%% Run on peer nodes.
-export([depths/2]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [fuel_runs_out, fuel_is_deterministic, fuel_is_per_call, fuel_needs_a_metered_module,
     metered_module_without_limit_runs, memory_ceiling, initial_memory_above_ceiling,
     table_ceiling, bad_limit_options, guest_stack_size_is_configurable,
     memories_share_the_ceiling, tables_share_the_ceiling,
     numbers_of_memories_and_tables_are_bounded].

init_per_suite(Config) ->
    Path = filename:join(?config(data_dir, Config), "limits.wat"),
    {ok, Plain} = wasm_runtime_nif:load(Path),
    {ok, Metered} = wasm_runtime_nif:load(Path, [fuel]),
    [{plain, Plain}, {metered, Metered} | Config].

end_per_suite(_Config) ->
    ok.

instance(Config, Which, Options) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(Which, Config), Options),
    I.

fuel_runs_out(Config) ->
    I = instance(Config, metered, [{fuel, 10000}]),
    ?assertEqual(100, wasm_runtime_nif:call_raw(I, spin, [100])),
    ?assertMatch({trap, out_of_fuel, _}, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1000000]) end)),
    ?assertMatch({instance_invalidated, {trap, out_of_fuel, _}},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end)),
    %% A loop that would run for minutes stops as soon as its fuel is gone.
    J = instance(Config, metered, []),
    ?assertMatch({trap, out_of_fuel, _},
                 raised(fun() -> wasm_runtime_nif:call_raw(J, spin, [1 bsl 50], [{fuel, 50000000}]) end)).

%% The least fuel that lets a call finish is the same every time.
fuel_is_deterministic(Config) ->
    Least = least_fuel(Config, 1, 1 bsl 20),
    ct:log("spin(1000) needs ~p units of fuel", [Least]),
    ?assertEqual(Least, least_fuel(Config, 1, 1 bsl 20)),
    ?assert(Least > 1000).

least_fuel(_Config, Low, High) when Low >= High ->
    Low;
least_fuel(Config, Low, High) ->
    Mid = (Low + High) div 2,
    I = instance(Config, metered, []),
    case raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1000], [{fuel, Mid}]) end) of
        {no_error, 1000} -> least_fuel(Config, Low, Mid);
        {trap, out_of_fuel, _} -> least_fuel(Config, Mid + 1, High)
    end.

fuel_is_per_call(Config) ->
    I = instance(Config, metered, [{fuel, 100000}]),
    %% Each call gets the whole allowance: many calls that each fit, fit.
    [?assertEqual(1000, wasm_runtime_nif:call_raw(I, spin, [1000])) || _ <- lists:seq(1, 100)],
    %% A per-call limit overrides the instance's, either way.
    ?assertEqual(100000, wasm_runtime_nif:call_raw(I, spin, [100000], [{fuel, infinity}])),
    ?assertMatch({trap, out_of_fuel, _}, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1000], [{fuel, 10}]) end)).

fuel_needs_a_metered_module(Config) ->
    ?assertEqual({bad_option, {fuel, 100}},
                 raised(fun() -> wasm_runtime_nif:instantiate(?config(plain, Config), [{fuel, 100}]) end)),
    I = instance(Config, plain, []),
    ?assertEqual({bad_option, {fuel, 100}},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1], [{fuel, 100}]) end)),
    %% Asking for no limit is fine anywhere.
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, spin, [1], [{fuel, infinity}])).

metered_module_without_limit_runs(Config) ->
    I = instance(Config, metered, []),
    ?assertEqual(100000000, wasm_runtime_nif:call_raw(I, spin, [100000000])).

memory_ceiling(Config) ->
    I = instance(Config, plain, [{max_memory, 4 * 65536}]),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_memory, [2])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_memory, [2])),
    ?assertEqual(3, wasm_runtime_nif:call_raw(I, grow_memory, [1])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_memory, [1])),
    ?assertEqual(4, wasm_runtime_nif:call_raw(I, memory_pages, [])).

initial_memory_above_ceiling(Config) ->
    ?assertMatch({error, {instantiation_failed, _}},
                 wasm_runtime_nif:instantiate(?config(plain, Config), [{max_memory, 1000}])).

table_ceiling(Config) ->
    I = instance(Config, plain, [{max_table_elements, 10}]),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_table, [9])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_table, [1])),
    J = instance(Config, plain, []),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(J, grow_table, [2000000])).

bad_limit_options(Config) ->
    M = ?config(metered, Config),
    [?assertEqual({bad_option, Option}, raised(fun() -> wasm_runtime_nif:instantiate(M, [Option]) end))
     || Option <- [{fuel, -1}, {fuel, 1.0}, {fuel, lots}, {max_memory, 0}, {max_table_elements, -1},
                   {timeout, 1 bsl 32}, {max_memory, 1 bsl 64}, {max_table_elements, 1 bsl 64},
                   {max_memories, -1}, {max_tables, 1.5}, {max_memories, 1 bsl 64}]],
    I = instance(Config, metered, []),
    [?assertEqual({bad_option, Option}, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1], [Option]) end))
     || Option <- [{fuel, -1}, {timeout, -5}, {memory, 1}, {timeout, 1 bsl 32}, {fuel, 1 bsl 64}]],
    ?assertEqual({bad_option, speed}, raised(fun() -> wasm_runtime_nif:compile(<<"(module)">>, [speed]) end)),
    ?assertEqual({bad_option, fuel}, raised(fun() -> wasm_runtime_nif:load("x.wat", fuel) end)),
    [?assertEqual({bad_option, Option}, raised(fun() -> wasm_runtime_nif:compile(<<"(module)">>, [Option]) end))
     || Option <- [{cache, [$a | $b]}, {cache, 42}]].

%% The guest stack is set for the VM by the application environment
%% (`max_wasm_stack'), read when the library loads.
guest_stack_size_is_configurable(Config) ->
    Fixture = filename:join(?config(data_dir, Config), "limits.wat"),
    Depths = [1000, 10000, 50000],
    ?assertMatch([{1000, ok}, {10000, ok}, {50000, stack_overflow}], depths(Fixture, Depths)),
    ?assertMatch([{1000, ok}, {10000, stack_overflow}, {50000, stack_overflow}],
                 on_peer(["-wasm_runtime_nif", "max_wasm_stack", "65536"], Fixture, Depths)),
    ?assertMatch([{1000, ok}, {10000, ok}, {50000, ok}],
                 on_peer(["-wasm_runtime_nif", "max_wasm_stack", "4194304"], Fixture, Depths)).

on_peer(Args, Fixture, Depths) ->
    wasm_test_util:on_peer(Args, ?MODULE, depths, [Fixture, Depths], 30000).

depths(Fixture, Depths) ->
    {ok, M} = wasm_runtime_nif:load(Fixture),
    [begin
         {ok, I} = wasm_runtime_nif:instantiate(M),
         case raised(fun() -> wasm_runtime_nif:call_raw(I, depth, [D]) end) of
             {no_error, D} -> {D, ok};
             {trap, Kind, _} -> {D, Kind}
         end
     end || D <- Depths].

-define(PAGE, 65536).

%% max_memory bounds all of an instance's memories together. Before, it
%% bounded each: K memories took K times the ceiling.
memories_share_the_ceiling(Config) ->
    M = wasm_test_util:load(Config, "several.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{max_memory, 64 * ?PAGE}]),
    %% 4 pages to start with, one per memory; 60 more fit, in any of them.
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_memory, [0, 30])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_memory, [1, 20])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_memory, [2, 11])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_memory, [2, 10])),
    [?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_memory, [Which, 1])) || Which <- [0, 1, 2, 3]],
    %% The default, 256 MiB, likewise: not 4 x 256 MiB.
    {ok, J} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(1, wasm_runtime_nif:call_raw(J, grow_memory, [0, 4000])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(J, grow_memory, [1, 4000])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(J, grow_memory, [1, 92])).

tables_share_the_ceiling(Config) ->
    M = wasm_test_util:load(Config, "several.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{max_table_elements, 100}]),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_table, [0, 50])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_table, [1, 46])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow_table, [2, 2])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow_table, [2, 1])),
    {ok, J} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(1, wasm_runtime_nif:call_raw(J, grow_table, [0, 600000])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(J, grow_table, [1, 600000])).

%% Each memory reserves address space and mappings of the VM whatever its
%% size, so the number of memories is bounded (16 by default), and so is
%% the number of tables (100).
numbers_of_memories_and_tables_are_bounded(_Config) ->
    Module = fun(Kind, N) ->
                     Items = [case Kind of
                                  memory -> "(memory 0)";
                                  table -> "(table 0 funcref)"
                              end || _ <- lists:seq(1, N)],
                     {ok, M} = wasm_runtime_nif:compile(iolist_to_binary(["(module ", Items, ")"])),
                     M
             end,
    ?assertMatch({ok, _}, wasm_runtime_nif:instantiate(Module(memory, 16))),
    ?assertEqual({error, {too_many, memories, 20, 16}},
                 wasm_runtime_nif:instantiate(Module(memory, 20))),
    ?assertMatch({ok, _}, wasm_runtime_nif:instantiate(Module(memory, 20), [{max_memories, 20}])),
    ?assertEqual({error, {too_many, memories, 2, 1}},
                 wasm_runtime_nif:instantiate(Module(memory, 2), [{max_memories, 1}])),
    ?assertMatch({ok, _}, wasm_runtime_nif:instantiate(Module(table, 100))),
    ?assertEqual({error, {too_many, tables, 3, 2}},
                 wasm_runtime_nif:instantiate(Module(table, 3), [{max_tables, 2}])).
