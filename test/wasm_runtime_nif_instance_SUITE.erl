%% Instances: options, process binding, sharing between processes, and
%% freeing by the garbage collector.
-module(wasm_runtime_nif_instance_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([options_are_checked/1, process_bound_is_per_process/1,
         shared_instance_serialises_callers/1, separate_instances_run_in_parallel/1,
         instances_are_freed_by_gc/1, instance_keeps_its_module_alive/1,
         new_before_init_raises/1, bad_arguments_to_every_function/1,
         release_frees_now/1, release_frees_a_large_store_now/1, release_during_a_call/1, pooling_allocator/1]).
%% Run on a peer node.
-export([with_a_pool_of_8/0]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, call_in_new_process/1]).

all() ->
    [options_are_checked, process_bound_is_per_process, shared_instance_serialises_callers,
     separate_instances_run_in_parallel, instances_are_freed_by_gc,
     instance_keeps_its_module_alive, new_before_init_raises, bad_arguments_to_every_function,
     release_frees_now, release_frees_a_large_store_now, release_during_a_call, pooling_allocator].

init_per_suite(Config) ->
    ok = wasm_runtime_nif:init(),
    Config.

end_per_suite(_Config) ->
    ok.

numbers(_Config) ->
    wasm_test_util:load_fixture(wasm_runtime_nif_call_raw_SUITE, "numbers.wat").

options_are_checked(Config) ->
    M = numbers(Config),
    {ok, _} = wasm_runtime_nif:instantiate(M, []),
    {ok, _} = wasm_runtime_nif:instantiate(M, [process_bound]),
    ?assertEqual({bad_option, bogus}, raised(fun() -> wasm_runtime_nif:instantiate(M, [bogus]) end)),
    ?assertEqual({bad_option, {process_bound, true}},
                 raised(fun() -> wasm_runtime_nif:instantiate(M, [{process_bound, true}]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:instantiate(M, process_bound) end)),
    ?assertEqual({bad_option, bogus}, raised(fun() -> wasm_runtime_nif:new([bogus]) end)),
    ?assertEqual({bad_option, x}, raised(fun() -> wasm_runtime_nif:new([process_bound | x]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:instantiate(make_ref(), []) end)).

process_bound_is_per_process(Config) ->
    {ok, Mine} = wasm_runtime_nif:instantiate(numbers(Config), [process_bound]),
    ?assertEqual(1, wasm_runtime_nif:call_raw(Mine, bump, [])),
    ?assertEqual("called by wrong process",
                 call_in_new_process(fun() -> wasm_runtime_nif:call_raw(Mine, bump, []) end)),
    %% The refused call did not run.
    ?assertEqual(2, wasm_runtime_nif:call_raw(Mine, bump, [])),
    %% An instance bound to another process refuses us.
    Self = self(),
    spawn(fun() -> Self ! {theirs, wasm_runtime_nif:new([process_bound])} end),
    Theirs = receive {theirs, T} -> T end,
    ?assertEqual("called by wrong process", raised(fun() -> wasm_runtime_nif:call(Theirs, add_terms, [1, 2]) end)),
    %% Nor may another process release it (before, it could).
    ?assertEqual("called by wrong process",
                 call_in_new_process(fun() -> wasm_runtime_nif:release(Mine) end)),
    ?assertEqual(3, wasm_runtime_nif:call_raw(Mine, bump, [])),
    ok = wasm_runtime_nif:release(Mine).

%% Many processes hammer one instance with a read-modify-write of guest
%% state: with calls serialised no update is lost.
shared_instance_serialises_callers(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(numbers(Config)),
    Procs = 16,
    Calls = 2000,
    Parent = self(),
    Pids = [spawn_link(fun() ->
                           [wasm_runtime_nif:call_raw(I, bump, []) || _ <- lists:seq(1, Calls)],
                           Parent ! {done, self()}
                       end) || _ <- lists:seq(1, Procs)],
    [receive {done, Pid} -> ok end || Pid <- Pids],
    ?assertEqual(Procs * Calls + 1, wasm_runtime_nif:call_raw(I, bump, [])).

separate_instances_run_in_parallel(Config) ->
    M = numbers(Config),
    Parent = self(),
    Pids = [spawn_link(fun() ->
                           {ok, I} = wasm_runtime_nif:instantiate(M, [process_bound]),
                           Last = lists:last([wasm_runtime_nif:call_raw(I, bump, []) || _ <- lists:seq(1, 1000)]),
                           Parent ! {done, self(), Last}
                       end) || _ <- lists:seq(1, 8)],
    [receive {done, Pid, Last} -> ?assertEqual(1000, Last) end || Pid <- Pids].

instances_are_freed_by_gc(Config) ->
    M = numbers(Config),
    erlang:garbage_collect(),
    #{instances := Before} = wasm_runtime_nif:live_counts(),
    VmBefore = vm_size_kb(),
    [begin
         {ok, I} = wasm_runtime_nif:instantiate(M),
         1 = wasm_runtime_nif:call_raw(I, bump, [])
     end || _ <- lists:seq(1, 5000)],
    erlang:garbage_collect(),
    ?assert(wasm_test_util:wait_until(
              fun() -> maps:get(instances, wasm_runtime_nif:live_counts()) =< Before end, 5000)),
    %% Each instance reserves gigabytes of address space for its memory; had
    %% any been kept, the address space would show it.
    ?assert(wasm_test_util:wait_until(fun() -> vm_size_kb() < VmBefore + 1024 * 1024 end, 5000)),
    ct:log("VmSize before ~p kB, after ~p kB", [VmBefore, vm_size_kb()]).

instance_keeps_its_module_alive(_Config) ->
    {ok, M} = wasm_runtime_nif:compile(<<"(module (func (export \"f\") (result i32) (i32.const 9)))">>),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    erlang:garbage_collect(),
    ?assertEqual(9, wasm_runtime_nif:call_raw(I, f, [])).

new_before_init_raises(_Config) ->
    Saved = wasm_runtime_nif:default_module(),
    persistent_term:erase({wasm_runtime_nif, default_module}),
    try
        ?assertEqual(no_default_module, raised(fun() -> wasm_runtime_nif:new() end)),
        ?assertEqual(no_default_module, raised(fun() -> wasm_runtime_nif:default_module() end))
    after
        persistent_term:put({wasm_runtime_nif, default_module}, Saved)
    end.

bad_arguments_to_every_function(Config) ->
    I = wasm_runtime_nif:new(),
    M = numbers(Config),
    Bad = [make_ref(), self(), 42, "str", <<"bin">>, {I}, [I], #{}],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:call_raw(B, add_I32, [1, 2]) end)) || B <- Bad],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:call(B, add_terms, [1, 2]) end)) || B <- Bad],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:exports(B) end)) || B <- Bad],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:instantiate(B) end)) || B <- Bad],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:print_func(B, add_I32) end)) || B <- Bad],
    [?assertMatch({bad_option, _}, raised(fun() -> wasm_runtime_nif:new([B]) end)) || B <- Bad],
    [?assertMatch(badarg, raised(fun() -> wasm_runtime_nif:compile(B) end)) || B <- Bad -- [<<"bin">>]],
    [?assertMatch({error, {file, _, _}}, wasm_runtime_nif:init(B)) || B <- ["/no/such/file", <<"/no/such">>]],
    ?assertMatch({error, {file, _, badarg}}, wasm_runtime_nif:load({not_a_path})),
    ?assertMatch({error, {file, _, _}}, wasm_runtime_nif:init(42)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call_raw(M, bump, []) end)).

vm_size_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Status, <<"\n">>, [global]), binary:match(L, <<"VmSize:">>) =/= nomatch],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb).

release_frees_now(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(numbers(Config)),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, bump, [])),
    VmBefore = vm_size_kb(),
    ?assertEqual(ok, wasm_runtime_nif:release(I)),
    %% The store's address-space reservation is gone while I is still held
    %% (the reaper thread unmaps it, at once but not synchronously).
    ?assert(wasm_test_util:wait_until(fun() -> vm_size_kb() < VmBefore end, 5000)),
    ?assertEqual(instance_released, raised(fun() -> wasm_runtime_nif:call_raw(I, bump, []) end)),
    ?assertEqual(instance_released, raised(fun() -> wasm_runtime_nif:call(I, add_terms, [1, 2]) end)),
    ?assertEqual(ok, wasm_runtime_nif:release(I)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:release(not_an_instance) end)).

release_frees_a_large_store_now(_Config) ->
    %% 64 MiB of touched memory take milliseconds to unmap: release/1 does
    %% it on a dirty scheduler, and the memory is free when it returns.
    {ok, M} = wasm_runtime_nif:compile(<<"(module (memory (export \"memory\") 1))">>),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    {ok, 1} = wasm_runtime_nif:memory_grow(I, 1023),
    ok = wasm_runtime_nif:memory_write(I, 0, binary:copy(<<1>>, 64 bsl 20)),
    VmBefore = vm_size_kb(),
    %% Too large for a normal scheduler: left as it was, for the dirty one.
    ?assertEqual(dirty, wasm_runtime_nif_nif:instance_release(I)),
    ?assertEqual({ok, 64 bsl 20}, wasm_runtime_nif:memory_size(I)),
    ?assertEqual(ok, wasm_runtime_nif:release(I)),
    ?assert(vm_size_kb() < VmBefore - 64 * 1024),
    ?assertError(instance_released, wasm_runtime_nif:memory_size(I)),
    ?assertEqual(ok, wasm_runtime_nif:release(I)).

release_during_a_call(_Config) ->
    {ok, M} = wasm_runtime_nif:load(wasm_test_util:fixture(wasm_runtime_nif_slice_SUITE, "slow.wat")),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Self = self(),
    spawn_link(fun() -> Self ! {long, wasm_runtime_nif:call_raw(I, spin, [300000000])} end),
    timer:sleep(20),
    Waiter = spawn_link(fun() -> Self ! {waiter, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end)} end),
    timer:sleep(20),
    ok = wasm_runtime_nif:release(I),
    %% The call in progress finishes; the waiter is told the instance is gone.
    receive {long, R} -> ?assertEqual(300000000, R) end,
    receive {waiter, W} -> ?assertEqual(instance_released, W) end,
    ?assertEqual(instance_released, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end)),
    unlink(Waiter).

%% With `instance_pool_size', instances come from a fixed pool: creating one
%% makes no mmap calls, and the pool's size caps the instances alive.
pooling_allocator(_Config) ->
    ?assertEqual(ok, wasm_test_util:on_peer(["-wasm_runtime_nif", "instance_pool_size", "8"],
                                            ?MODULE, with_a_pool_of_8, [], 60000)).

with_a_pool_of_8() ->
    ok = wasm_runtime_nif:init(),
    M = wasm_runtime_nif:default_module(),
    Instances = [I || {ok, I} <- [wasm_runtime_nif:instantiate(M) || _ <- lists:seq(1, 8)]],
    8 = length(Instances),
    {error, {instantiation_failed, Message}} = wasm_runtime_nif:instantiate(M),
    {match, _} = re:run(Message, "limit of 8"),
    [11 = wasm_runtime_nif:call(I, add_terms, [4, 7]) || I <- Instances],
    %% Releasing one frees its slot at once.
    ok = wasm_runtime_nif:release(hd(Instances)),
    {ok, Again} = wasm_runtime_nif:instantiate(M),
    %% Sliced calls and fuel work from pooled slots too.
    {ok, Slow} = wasm_runtime_nif:load(wasm_test_util:fixture(wasm_runtime_nif_slice_SUITE, "slow.wat"), [fuel]),
    [ok = wasm_runtime_nif:release(I) || I <- tl(Instances)],
    {ok, S} = wasm_runtime_nif:instantiate(Slow),
    100000000 = wasm_runtime_nif:call_raw(S, spin, [100000000]),
    {trap, out_of_fuel, _} = wasm_test_util:raised(fun() -> wasm_runtime_nif:call_raw(S, spin, [100000000], [{fuel, 1000}]) end),
    %% A memory ceiling above the slot's size is the slot's size.
    {ok, Big} = wasm_runtime_nif:instantiate(M, [{max_memory, 1 bsl 31}]),
    11 = wasm_runtime_nif:call_raw(Big, add_I32, [4, 7]),
    11 = wasm_runtime_nif:call_raw(Again, add_I32, [4, 7]),
    ok.
