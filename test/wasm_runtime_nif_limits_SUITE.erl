%% Limits: fuel, memory and table ceilings (timeouts are in the slice suite).
-module(wasm_runtime_nif_limits_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([fuel_runs_out/1, fuel_is_deterministic/1, fuel_is_per_call/1,
         fuel_needs_a_metered_module/1, metered_module_without_limit_runs/1,
         memory_ceiling/1, initial_memory_above_ceiling/1, table_ceiling/1,
         bad_limit_options/1, guest_stack_size_is_configurable/1,
         memories_share_the_ceiling/1, tables_share_the_ceiling/1,
         numbers_of_memories_and_tables_are_bounded/1, live_instances_leave_the_vm_its_mappings/1,
         mapping_ceiling_is_configurable/1, gc_heaps_are_reserved/1]).
%% Run on peer nodes.
-export([depths/2, instances_until_refused/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [fuel_runs_out, fuel_is_deterministic, fuel_is_per_call, fuel_needs_a_metered_module,
     metered_module_without_limit_runs, memory_ceiling, initial_memory_above_ceiling,
     table_ceiling, bad_limit_options, guest_stack_size_is_configurable,
     memories_share_the_ceiling, tables_share_the_ceiling,
     numbers_of_memories_and_tables_are_bounded, live_instances_leave_the_vm_its_mappings,
     mapping_ceiling_is_configurable, gc_heaps_are_reserved].

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

%% Every live instance holds mappings of the VM (its memories' reservations,
%% a fiber stack): before, about 13,300 instances reached vm.max_map_count,
%% after which the BEAM's own allocators failed and the VM aborted. Now
%% instantiation is refused with system_limit well before: on a node of its
%% own, instances are made (and called) until refused, and the VM can then
%% still map memory of its own.
live_instances_leave_the_vm_its_mappings(_Config) ->
    Report = wasm_test_util:on_peer([], ?MODULE, instances_until_refused,
                                    [code:priv_dir(wasm_runtime_nif) ++ "/example.wasm"], 300000),
    ct:log("~p", [Report]),
    #{made := Made, refused := Refused, vm_mappings := Mappings, max_map_count := MaxMapCount,
      counts := #{max_mappings := Ceiling}, after_release := After} = Report,
    ?assertMatch({error, {system_limit, _}}, Refused),
    ?assertEqual(MaxMapCount div 2, Ceiling),
    ?assert(Made > 1000),
    %% The estimate is an upper bound: the VM keeps at least half.
    ?assert(Mappings < MaxMapCount div 2 + 1000),
    ?assertMatch(#{mappings := 0, address_space := 0}, After).

instances_until_refused(Path) ->
    {ok, M} = wasm_runtime_nif:load(Path),
    {Instances, Refused} = instantiate_until_refused(M, []),
    Counts = wasm_runtime_nif:live_counts(),
    {ok, Maps} = file:read_file("/proc/self/maps"),
    {ok, MaxMapCount} = file:read_file("/proc/sys/vm/max_map_count"),
    %% The VM maps memory of its own: a large binary, many processes.
    Big = binary:copy(<<7>>, 64 * 1024 * 1024),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 10000)],
    [Pid ! stop || Pid <- Pids],
    64 * 1024 * 1024 = byte_size(Big),
    [ok = wasm_runtime_nif:release(I) || I <- Instances],
    {ok, Again} = wasm_runtime_nif:instantiate(M),
    3 = wasm_runtime_nif:call_raw(Again, add_I32, [1, 2]),
    ok = wasm_runtime_nif:release(Again),
    #{made => length(Instances), refused => Refused, counts => Counts,
      vm_mappings => length(binary:split(Maps, <<"\n">>, [global])),
      max_map_count => binary_to_integer(string:trim(MaxMapCount)),
      after_release => wasm_runtime_nif:live_counts()}.

instantiate_until_refused(M, Acc) ->
    case wasm_runtime_nif:instantiate(M) of
        {ok, I} ->
            3 = wasm_runtime_nif:call_raw(I, add_I32, [1, 2]),
            instantiate_until_refused(M, [I | Acc]);
        Refused ->
            {Acc, Refused}
    end.

%% The ceiling is the application variable max_instance_mappings where set.
%% What an instance reserves: 2 mappings for its fiber stack, 5 per memory
%% (the GC heap counted as one), 1 per table; example.wasm has a memory and
%% a table.
mapping_ceiling_is_configurable(_Config) ->
    Report = wasm_test_util:on_peer(["-wasm_runtime_nif", "max_instance_mappings", "100"],
                                    ?MODULE, instances_until_refused,
                                    [code:priv_dir(wasm_runtime_nif) ++ "/example.wasm"], 60000),
    ?assertMatch(#{made := 12, refused := {error, {system_limit, _}},
                   counts := #{max_mappings := 100, mappings := 96}}, Report),
    %% The pooling allocator maps its slots up front: no ceiling then.
    ?assertMatch(#{max_mappings := infinity},
                 wasm_test_util:on_peer(["-wasm_runtime_nif", "instance_pool_size", "4"],
                                        wasm_runtime_nif, live_counts, [], 30000)).

%% A module with a table or global of GC references gets a GC heap when it
%% is instantiated: 4 GiB more of address space, which the instance
%% reserves (before, only GC types and exception tags were counted).
gc_heaps_are_reserved(_Config) ->
    Reserved = fun(Wat) ->
                       {ok, M} = wasm_runtime_nif:compile(Wat),
                       #{address_space := Before} = wasm_runtime_nif:live_counts(),
                       {ok, I} = wasm_runtime_nif:instantiate(M),
                       #{address_space := After} = wasm_runtime_nif:live_counts(),
                       ok = wasm_runtime_nif:release(I),
                       After - Before
               end,
    Plain = Reserved(<<"(module (table 1 funcref))">>),
    [?assert(Reserved(Wat) - Plain >= 4 bsl 30)
     || Wat <- [<<"(module (table 1 externref))">>,
                <<"(module (global (mut externref) (ref.null extern)))">>,
                <<"(module (type (struct (field i32))))">>,
                <<"(module (tag))">>,
                <<"(module (func (result i32) (array.len (ref.null array))))">>]].
