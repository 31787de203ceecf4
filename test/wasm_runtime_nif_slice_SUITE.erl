%% Calls that run for a long time: they run in slices and give the scheduler
%% back, can time out, are cancelled when their caller dies, and queue the
%% other callers of their instance in arrival order.
-module(wasm_runtime_nif_slice_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([long_calls_complete/1, terms_survive_slices_and_gc/1, trap_after_many_slices/1,
         ticker_runs_during_a_long_call_on_one_scheduler/1, call_timeout/1,
         instance_default_timeout/1, killed_caller_cancels_the_call/1,
         killed_callers_leak_nothing/1, callers_are_served_in_arrival_order/1,
         queued_caller_times_out/1, dead_waiters_are_skipped/1,
         short_calls_still_work_after_long_ones/1, slow_start_function/1,
         endless_start_function/1, large_binaries_are_copied_in_slices/1,
         finished_calls_are_not_counted/1]).
%% Run on a peer node.
-export([lateness_during_spin/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

-define(SECOND, 1700000000). % iterations of spin/1 in roughly a second here

all() ->
    [long_calls_complete, terms_survive_slices_and_gc, trap_after_many_slices,
     ticker_runs_during_a_long_call_on_one_scheduler, call_timeout, instance_default_timeout,
     killed_caller_cancels_the_call, killed_callers_leak_nothing,
     callers_are_served_in_arrival_order, queued_caller_times_out, dead_waiters_are_skipped,
     short_calls_still_work_after_long_ones, slow_start_function, endless_start_function,
     large_binaries_are_copied_in_slices, finished_calls_are_not_counted].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "slow.wat")} | Config].

end_per_suite(_Config) ->
    ok.

instance(Config) ->
    instance(Config, []).

instance(Config, Options) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), Options),
    I.

long_calls_complete(Config) ->
    I = instance(Config),
    ?assertEqual(?SECOND div 2, wasm_runtime_nif:call_raw(I, spin, [?SECOND div 2])),
    ?assertEqual(5050, wasm_runtime_nif:call(I, slow_sum, [lists:seq(1, 100), 200])).

%% Terms given to the guest, and terms it made, stay valid across slices
%% even when the caller is garbage collected between them.
terms_survive_slices_and_gc(Config) ->
    I = instance(Config),
    Self = self(),
    Collector = spawn_link(fun() -> collect_forever(Self) end),
    try
        Small = <<"a heap binary, moved by the collector">>,
        ?assertEqual(Small, wasm_runtime_nif:call(I, slow_copy, [Small, 300])),
        List = lists:seq(1, 1000),
        ?assertEqual(lists:sum(List), wasm_runtime_nif:call(I, slow_sum, [List, 300])),
        Big = binary:copy(<<"x">>, 60000),
        ?assertEqual(Big, wasm_runtime_nif:call(I, slow_copy, [Big, 300]))
    after
        unlink(Collector),
        exit(Collector, kill)
    end.

collect_forever(Pid) ->
    erlang:garbage_collect(Pid),
    timer:sleep(1),
    collect_forever(Pid).

trap_after_many_slices(Config) ->
    I = instance(Config),
    ?assertMatch({trap, unreachable, _}, raised(fun() -> wasm_runtime_nif:call_raw(I, spin_then_trap, [?SECOND div 4]) end)),
    ?assertMatch({instance_invalidated, {trap, unreachable, _}},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end)).

%% On a node with a single scheduler, a process ticking every millisecond
%% keeps ticking while a two-second guest call runs. Without slicing it
%% would be starved for the whole call.
ticker_runs_during_a_long_call_on_one_scheduler(_Config) ->
    Fixture = wasm_test_util:fixture(?MODULE, "slow.wat"),
    {Result, Ticks, MaxLateMs} =
        wasm_test_util:on_peer(["+S", "1"], ?MODULE, lateness_during_spin, [Fixture], 60000),
    ct:log("ticks: ~p, max lateness: ~p ms", [Ticks, MaxLateMs]),
    ?assertEqual(2 * ?SECOND, Result),
    ?assert(Ticks >= 50),
    ?assert(MaxLateMs < 500).

lateness_during_spin(Fixture) ->
    1 = erlang:system_info(schedulers_online),
    {ok, M} = wasm_runtime_nif:load(Fixture),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Self = self(),
    Ticker = spawn(fun() -> tick(Self, erlang:monotonic_time(millisecond), 0, 0) end),
    Result = wasm_runtime_nif:call_raw(I, spin, [2 * ?SECOND]),
    Ticker ! stop,
    receive {ticks, Ticks, MaxLate} -> {Result, Ticks, MaxLate} end.

tick(Parent, Last, Ticks, MaxLate) ->
    receive
        stop -> Parent ! {ticks, Ticks, MaxLate}
    after 1 ->
        Now = erlang:monotonic_time(millisecond),
        tick(Parent, Now, Ticks + 1, max(MaxLate, Now - Last - 1))
    end.

call_timeout(Config) ->
    I = instance(Config),
    Start = erlang:monotonic_time(millisecond),
    {trap, timeout, Message} = raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [100 * ?SECOND], [{timeout, 50}]) end),
    Elapsed = erlang:monotonic_time(millisecond) - Start,
    ct:log("timed out after ~p ms: ~s", [Elapsed, Message]),
    ?assert(Elapsed >= 50 andalso Elapsed < 5000),
    ?assertMatch({instance_invalidated, {trap, timeout, _}}, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end)),
    %% A call that finishes in time is not affected.
    J = instance(Config),
    ?assertEqual(10, wasm_runtime_nif:call_raw(J, spin, [10], [{timeout, 50}])),
    ?assertEqual(5050, wasm_runtime_nif:call(J, slow_sum, [lists:seq(1, 100), 1], [{timeout, 10000}])).

instance_default_timeout(Config) ->
    I = instance(Config, [{timeout, 30}]),
    ?assertMatch({trap, timeout, _}, raised(fun() -> wasm_runtime_nif:call(I, slow_sum, [[1], 100000]) end)),
    %% A per-call timeout overrides the instance's.
    J = instance(Config, [{timeout, 30}]),
    ?assertEqual(?SECOND div 4, wasm_runtime_nif:call_raw(J, spin, [?SECOND div 4], [{timeout, infinity}])).

killed_caller_cancels_the_call(Config) ->
    I = instance(Config),
    {Pid, Ref} = spawn_monitor(fun() -> wasm_runtime_nif:call_raw(I, spin, [100 * ?SECOND]) end),
    timer:sleep(50),
    exit(Pid, kill),
    receive {'DOWN', Ref, process, Pid, killed} -> ok end,
    ?assert(wasm_test_util:wait_until(
              fun() ->
                  case raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1]) end) of
                      {instance_invalidated, {trap, cancelled, _}} -> true;
                      _ -> false
                  end
              end, 5000)).

%% 10,000 callers killed in the middle of a call: every suspended call and
%% every instance is freed, and memory does not grow.
killed_callers_leak_nothing(Config) ->
    M = ?config(module, Config),
    erlang:garbage_collect(),
    #{instances := Instances0} = wasm_runtime_nif:live_counts(),
    Rss0 = rss_kb(),
    kill_callers(M, 10000),
    erlang:garbage_collect(),
    ?assert(wasm_test_util:wait_until(
              fun() ->
                  #{instances := N, calls := C} = wasm_runtime_nif:live_counts(),
                  N =< Instances0 andalso C =:= 0
              end, 10000)),
    Rss = rss_kb(),
    ct:log("RSS before ~p kB, after 10,000 killed calls ~p kB", [Rss0, Rss]),
    ?assert(Rss < Rss0 + 64 * 1024).

kill_callers(_M, 0) ->
    ok;
kill_callers(M, N) ->
    Self = self(),
    {Pid, Ref} = spawn_monitor(fun() ->
                                   {ok, I} = wasm_runtime_nif:instantiate(M),
                                   Self ! {calling, self()},
                                   wasm_runtime_nif:call_raw(I, spin, [100 * ?SECOND])
                               end),
    receive {calling, Pid} -> ok end,
    %% Let the call start and be rescheduled at least once.
    erlang:yield(),
    receive after 1 -> ok end,
    exit(Pid, kill),
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    kill_callers(M, N - 1).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+(\\d+)", [{capture, all_but_first, binary}]),
    binary_to_integer(Kb).

callers_are_served_in_arrival_order(Config) ->
    I = instance(Config),
    Self = self(),
    %% The first call holds the instance long enough for all to queue.
    Callers = [begin
                   Pid = spawn_link(fun() ->
                                        wasm_runtime_nif:call_raw(I, spin, [?SECOND div 10]),
                                        Self ! {done, N}
                                    end),
                   timer:sleep(10),
                   Pid
               end || N <- lists:seq(1, 6)],
    Order = [receive {done, N} -> N end || _ <- Callers],
    ?assertEqual(lists:seq(1, 6), Order).

queued_caller_times_out(Config) ->
    I = instance(Config),
    Self = self(),
    spawn_link(fun() -> Self ! {long, wasm_runtime_nif:call_raw(I, spin, [?SECOND div 2])} end),
    timer:sleep(20),
    Start = erlang:monotonic_time(millisecond),
    ?assertEqual(timeout, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, [1], [{timeout, 30}]) end)),
    ?assert(erlang:monotonic_time(millisecond) - Start < 400),
    %% The long call was not disturbed, and the instance still works.
    receive {long, R} -> ?assertEqual(?SECOND div 2, R) end,
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, spin, [7])),
    %% No stray turn message was left behind.
    receive {wasm_runtime_nif_turn, _} = Stray -> ct:fail({stray, Stray}) after 50 -> ok end.

dead_waiters_are_skipped(Config) ->
    I = instance(Config),
    Self = self(),
    spawn_link(fun() -> Self ! {first, wasm_runtime_nif:call_raw(I, spin, [?SECOND div 4])} end),
    timer:sleep(20),
    Doomed = [spawn(fun() -> wasm_runtime_nif:call_raw(I, spin, [?SECOND]) end) || _ <- lists:seq(1, 3)],
    timer:sleep(20),
    [exit(P, kill) || P <- Doomed],
    spawn_link(fun() -> Self ! {last, wasm_runtime_nif:call_raw(I, spin, [3])} end),
    receive {first, _} -> ok end,
    receive {last, R} -> ?assertEqual(3, R) after 10000 -> ct:fail(last_caller_starved) end.

short_calls_still_work_after_long_ones(Config) ->
    I = instance(Config),
    _ = wasm_runtime_nif:call_raw(I, spin, [?SECOND div 10]),
    [?assertEqual(N, wasm_runtime_nif:call_raw(I, spin, [N])) || N <- lists:seq(1, 1000)].

%% Start functions run in slices too.
slow_start_function(Config) ->
    M = wasm_test_util:load(Config, "slow_start.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, ready, [])).

endless_start_function(Config) ->
    M = wasm_test_util:load(Config, "endless_start.wat"),
    ?assertMatch({error, {trap, timeout, _}}, wasm_runtime_nif:instantiate(M, [{timeout, 50}])),
    {ok, Metered} = wasm_runtime_nif:load(filename:join(?config(data_dir, Config), "endless_start.wat"), [fuel]),
    ?assertMatch({error, {trap, out_of_fuel, _}}, wasm_runtime_nif:instantiate(Metered, [{fuel, 1000000}])),
    %% Without a limit it runs, in slices, until its caller gives up;
    %% killing the caller frees it.
    Pid = spawn(fun() -> wasm_runtime_nif:instantiate(M) end),
    ?assert(wasm_test_util:wait_until(fun() -> maps:get(calls, wasm_runtime_nif:live_counts()) > 0 end, 5000)),
    ?assert(is_process_alive(Pid)),
    exit(Pid, kill),
    ?assert(wasm_test_util:wait_until(fun() -> maps:get(calls, wasm_runtime_nif:live_counts()) =:= 0 end, 5000)).

%% A call counts as suspended only between its slices: once it has
%% finished it no longer counts, though its caller has not been garbage
%% collected since (before, it counted until then).
finished_calls_are_not_counted(Config) ->
    I = instance(Config),
    Self = self(),
    Caller = spawn_link(fun() ->
                                Result = wasm_runtime_nif:call_raw(I, spin, [?SECOND div 10]),
                                Self ! {done, Result},
                                receive stop -> ok end
                        end),
    receive {done, _} -> ok end,
    ?assertEqual(0, maps:get(calls, wasm_runtime_nif:live_counts())),
    %% A start function likewise.
    {ok, _} = wasm_runtime_nif:instantiate(wasm_test_util:load(Config, "slow_start.wat")),
    ?assertEqual(0, maps:get(calls, wasm_runtime_nif:live_counts())),
    Caller ! stop.

%% Copies between a binary and guest memory larger than a chunk (256 KiB)
%% yield between chunks, and stay correct while the caller is garbage
%% collected in between.
large_binaries_are_copied_in_slices(_Config) ->
    ok = wasm_runtime_nif:init(),
    I = wasm_runtime_nif:new(),
    Self = self(),
    Collector = spawn_link(fun() -> collect_forever(Self) end),
    try
        [begin
             Bin = crypto:strong_rand_bytes(Size),
             Reversed = list_to_binary(lists:reverse(binary_to_list(Bin))),
             ?assertEqual(Reversed, wasm_runtime_nif:call(I, binary_reverse, [Bin]))
         end || Size <- [262143, 262144, 262145, 5 * 1024 * 1024 + 7]]
    after
        unlink(Collector),
        exit(Collector, kill)
    end.
