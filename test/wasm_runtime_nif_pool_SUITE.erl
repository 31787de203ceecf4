%% wasm_runtime_nif_pool: many callers on the instances of one module. A
%% call runs in its caller's process on an instance of its own, an instance
%% a call ended is replaced, callers wait in arrival order, the pool grows
%% and shrinks, and nothing is lost when callers die or the pool stops.
-module(wasm_runtime_nif_pool_SUITE).

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2,
         end_per_testcase/2]).
%% A user's supervisor, for child_spec/3.
-export([init/1]).
-export([calls_like_a_direct_call/1, runs_in_the_callers_process/1,
         one_line_start_and_stop/1, child_spec_restarts_under_a_supervisor/1,
         a_call_that_ends_its_instance_replaces_it/1, a_killed_holder_is_reclaimed/1,
         waiters_are_served_in_arrival_order/1, a_wait_times_out/1,
         timeouts_racing_grants_leak_nothing/1, many_callers_never_wait_forever/1,
         overflow_grows_and_shrinks/1,
         max_waiters/1, a_stopped_pool_fails_its_waiters/1, a_failing_replacement_is_retried/1,
         with_instance_lends_one_instance/1, bad_options_and_sources/1, errors_in_words/1,
         a_holder_killed_handing_over/1, a_calls_timeout_covers_a_long_wait/1,
         hundred_callers_random_failures/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").
%% The slots' words, for the cases that play a holder killed mid-way.
-include_lib("wasm_runtime_nif/src/wasm_runtime_nif_pool.hrl").

-import(wasm_test_util, [raised/1, wait_until/2]).

%% add, a trap, a call that never ends, and one that asks an import.
-define(GUEST, <<"(module
  (import \"env\" \"tick\" (func $tick (result i32)))
  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export \"trap\") unreachable)
  (func (export \"spin\") (loop $l (br $l)))
  (func (export \"ask\") (result i32) (call $tick)))">>).

suite() ->
    [{timetrap, {minutes, 5}}].

all() ->
    [calls_like_a_direct_call, runs_in_the_callers_process, one_line_start_and_stop,
     child_spec_restarts_under_a_supervisor, a_call_that_ends_its_instance_replaces_it,
     a_killed_holder_is_reclaimed, waiters_are_served_in_arrival_order, a_wait_times_out,
     timeouts_racing_grants_leak_nothing, many_callers_never_wait_forever,
     overflow_grows_and_shrinks, max_waiters,
     a_stopped_pool_fails_its_waiters, a_failing_replacement_is_retried,
     with_instance_lends_one_instance, bad_options_and_sources, errors_in_words,
     a_holder_killed_handing_over, a_calls_timeout_covers_a_long_wait,
     hundred_callers_random_failures].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(wasm_runtime_nif),
    {ok, Module} = wasm_runtime_nif:compile(?GUEST),
    [{module, Module} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{live, live_instances()} | Config].

end_per_testcase(_Case, Config) ->
    _ = wasm_runtime_nif_pool:stop(pool),
    %% A caller keeps its copy of a pool's table (references to the
    %% instances, released once the pool stopped) until it next calls it.
    _ = [erase(Key) || {{wasm_runtime_nif_pool, _} = Key, _} <- get()],
    %% Every instance a case's pools made is released once they stop.
    Live = ?config(live, Config),
    true = wait_until(fun() -> live_instances() =< Live end, 5000),
    ok.

%% Instances alive: the start of a pool makes its first ones in the process
%% that starts it (a supervisor), whose heap may hold them until it is
%% collected.
live_instances() ->
    _ = [erlang:garbage_collect(P) || P <- processes()],
    maps:get(instances, wasm_runtime_nif:live_counts()).

%% The import `tick': 1, or, for a caller that asked, tell it we are in a
%% call and never return.
tick() ->
    case get(pool_suite_tick) of
        {tell, Pid} -> Pid ! {in_call, self()}, receive after infinity -> ok end;
        undefined -> 1
    end.

options(Extra) ->
    maps:merge(#{instance => [{imports, #{{env, tick} => fun tick/0}}]}, Extra).

start(Config, Extra) ->
    {ok, Pid} = wasm_runtime_nif_pool:start(pool, ?config(module, Config), options(Extra)),
    Pid.

info() ->
    wasm_runtime_nif_pool:info(pool).

init({Strategy, Children}) ->
    {ok, {#{strategy => Strategy}, Children}}.

%% Holds an instance of the pool in a process of its own until told
%% `{Ref, go}'; returns {Pid, Ref, Instance} once it holds it.
hold() ->
    Self = self(),
    Ref = make_ref(),
    Pid = spawn(fun() ->
                        wasm_runtime_nif_pool:with_instance(
                          pool, fun(I) -> Self ! {Ref, holding, I}, receive {Ref, go} -> ok end end,
                          [{timeout, 30000}])
                end),
    receive {Ref, holding, I} -> {Pid, Ref, I} after 10000 -> error(not_holding) end.

let_go({Pid, Ref, _}) ->
    Pid ! {Ref, go}.

%% Runs Fun in a new process; the reply comes as {Ref, Result}.
async(Fun) ->
    Self = self(),
    Ref = make_ref(),
    spawn(fun() -> Self ! {Ref, raised(Fun)} end),
    Ref.

await(Ref) ->
    receive {Ref, Result} -> Result after 30000 -> error({no_reply, Ref}) end.

waiting(N) ->
    true = wait_until(fun() -> maps:get(waiting, info()) =:= N end, 5000).

settled(Size) ->
    true = wait_until(fun() ->
                              case info() of
                                  #{idle := Size, instances := Size, waiting := 0, making := 0} -> true;
                                  _ -> false
                              end
                      end, 5000).

%%% Cases

calls_like_a_direct_call(Config) ->
    start(Config, #{size => 2}),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add, [1, 2])),
    ?assertEqual(7, wasm_runtime_nif_pool:call_raw(pool, <<"add">>, [3, 4], [{timeout, 1000}])),
    ?assertEqual(1, wasm_runtime_nif_pool:call_raw(pool, ask, [])),
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [{imports, #{{env, tick} => fun tick/0}}]),
    %% The errors of a direct call, as they are.
    lists:foreach(
      fun({Function, Args}) ->
              ?assertEqual(raised(fun() -> wasm_runtime_nif:call_raw(I, Function, Args) end),
                           raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, Function, Args) end))
      end, [{nope, []}, {add, [1]}, {add, [a, b]}]),
    ?assertMatch({bad_option, bogus},
                 raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [bogus]) end)),
    %% call/3,4 on a guest of the term ABI.
    {ok, Example} = wasm_runtime_nif:load(filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm")),
    {ok, _} = wasm_runtime_nif_pool:start(terms, Example, #{size => 1}),
    try
        ?assertEqual(5, wasm_runtime_nif_pool:call(terms, add_terms, [2, 3])),
        ?assertEqual(5, wasm_runtime_nif_pool:call(terms, add_terms, [2, 3], [{timeout, 1000}])),
        ?assertEqual(#{size => 1, max_overflow => 0, instances => 1, idle => 1, busy => 0,
                       making => 0, waiting => 0, replaced => 0, grown => 0, shrunk => 0,
                       instantiate_failed => 0, module => Example},
                     wasm_runtime_nif_pool:info(terms))
    after
        ok = wasm_runtime_nif_pool:stop(terms)
    end.

%% No message reaches the pool's server per call: the call runs here.
runs_in_the_callers_process(Config) ->
    Server = start(Config, #{size => 2}),
    Self = self(),
    {ok, _} = wasm_runtime_nif_pool:start(
                seen, ?config(module, Config),
                #{size => 1, instance => [{imports, #{{env, tick} => fun() -> Self ! {tick, self()}, 1 end}}]}),
    1 = wasm_runtime_nif_pool:call_raw(seen, ask, []),
    receive {tick, Caller} -> ?assertEqual(self(), Caller) after 5000 -> ct:fail(no_tick) end,
    ok = wasm_runtime_nif_pool:stop(seen),
    %% The first call registers this process; none after it sends anything.
    3 = wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]),
    _ = info(),
    1 = erlang:trace(Server, true, ['receive']),
    [3 = wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) || _ <- lists:seq(1, 10000)],
    1 = erlang:trace(Server, false, ['receive']),
    ?assertEqual([], flush_traces()).

flush_traces() ->
    receive {trace, _, 'receive', Message} -> [Message | flush_traces()] after 100 -> [] end.

one_line_start_and_stop(Config) ->
    Live = ?config(live, Config),
    {ok, Pid} = wasm_runtime_nif_pool:start(pool, ?config(module, Config), options(#{size => 3})),
    ?assertEqual({error, {already_started, Pid}},
                 wasm_runtime_nif_pool:start(pool, ?config(module, Config), options(#{}))),
    ?assertEqual([Pid], [P || {_, P, _, _} <- supervisor:which_children(wasm_runtime_nif_pool_sup)]),
    ?assertMatch(#{size := 3, instances := 3, idle := 3}, info()),
    ?assertEqual(Live + 3, live_instances()),
    3 = wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]),
    ok = wasm_runtime_nif_pool:stop(pool),
    ?assertEqual({error, not_found}, wasm_runtime_nif_pool:stop(pool)),
    ?assertEqual({no_pool, pool}, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end)),
    ?assertEqual([], supervisor:which_children(wasm_runtime_nif_pool_sup)),
    %% A file, loaded by the pool.
    Path = filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm"),
    {ok, _} = wasm_runtime_nif_pool:start(pool, Path, #{size => 1, compile => [{max_file_size, 1 bsl 20}]}),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add_I32, [1, 2])).

child_spec_restarts_under_a_supervisor(Config) ->
    Spec = wasm_runtime_nif_pool:child_spec(pool, ?config(module, Config), options(#{size => 2})),
    {ok, Sup} = supervisor:start_link(?MODULE, {one_for_one, [Spec]}),
    unlink(Sup),
    try
        Old = whereis(pool),
        3 = wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]),
        exit(Old, kill),
        %% A caller that used the old pool moves to the new one, once it
        %% runs.
        true = wait_until(fun() ->
                                  {no_error, 3} =:= raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end)
                          end, 5000),
        ?assertNotEqual(Old, whereis(pool)),
        ?assertMatch(#{instances := 2, idle := 2}, info())
    after
        exit(Sup, shutdown)
    end,
    true = wait_until(fun() -> whereis(pool) =:= undefined end, 5000).

%% A trap, a timeout, an interrupt and an import fun that raises: the call
%% raises what a direct call raises, the instance is replaced, and the
%% next caller never sees it invalidated.
a_call_that_ends_its_instance_replaces_it(Config) ->
    start(Config, #{size => 1}),
    {ok, Raising} = wasm_runtime_nif_pool:start(
                      raising, ?config(module, Config),
                      #{size => 1, instance => [{imports, #{{env, tick} => fun() -> error(boom) end}}]}),
    ?assert(is_pid(Raising)),
    ?assertMatch({trap, unreachable, _}, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, trap, []) end)),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add, [1, 2])),
    ?assertMatch({trap, timeout, _},
                 raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, spin, [], [{timeout, 20}]) end)),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add, [1, 2])),
    Self = self(),
    Spinning = async(fun() -> wasm_runtime_nif_pool:with_instance(
                                pool, fun(I) -> Self ! {held, I}, wasm_runtime_nif:call_raw(I, spin, []) end)
                     end),
    Held = receive {held, I} -> I after 5000 -> ct:fail(not_held) end,
    true = wait_until(fun() -> maps:get(state, wasm_runtime_nif:info(Held)) =:= busy end, 5000),
    ?assert(wasm_runtime_nif:interrupt(Held)),
    ?assertMatch({trap, interrupted, _}, await(Spinning)),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add, [1, 2])),
    ?assertMatch(#{replaced := 3, instances := 1}, info()),
    ?assertEqual(boom, raised(fun() -> wasm_runtime_nif_pool:call_raw(raising, ask, []) end)),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(raising, add, [1, 2])),
    ok = wasm_runtime_nif_pool:stop(raising).

a_killed_holder_is_reclaimed(Config) ->
    start(Config, #{size => 1}),
    Self = self(),
    %% Killed inside a call: the call is cancelled, the instance replaced.
    InCall = spawn(fun() ->
                           put(pool_suite_tick, {tell, Self}),
                           wasm_runtime_nif_pool:call_raw(pool, ask, [])
                   end),
    receive {in_call, InCall} -> ok after 5000 -> ct:fail(not_in_call) end,
    exit(InCall, kill),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 5000}])),
    ?assertMatch(#{replaced := 1}, info()),
    %% Killed holding it outside a call: the same instance comes back.
    {Holder, _, Before} = hold(),
    exit(Holder, kill),
    After = wasm_runtime_nif_pool:with_instance(pool, fun(I) -> I end, [{timeout, 5000}]),
    ?assertEqual(Before, After),
    ?assertMatch(#{replaced := 1, idle := 1}, info()).

waiters_are_served_in_arrival_order(Config) ->
    start(Config, #{size => 1}),
    Holder = hold(),
    Self = self(),
    Waiters = [begin
                   Ref = async(fun() ->
                                       wasm_runtime_nif_pool:with_instance(
                                         pool, fun(_) -> Self ! {served, N} end, [{timeout, 10000}])
                               end),
                   waiting(N),
                   Ref
               end || N <- lists:seq(1, 5)],
    let_go(Holder),
    [{no_error, {served, N}} = await(Ref) || {N, Ref} <- lists:zip(lists:seq(1, 5), Waiters)],
    ?assertEqual([1, 2, 3, 4, 5], [receive {served, N} -> N end || _ <- lists:seq(1, 5)]),
    settled(1).

a_wait_times_out(Config) ->
    start(Config, #{size => 1, checkout_timeout => 50}),
    Holder = hold(),
    ?assertEqual(timeout, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 50}]) end)),
    %% Without a timeout of its own, the pool's bounds the wait.
    ?assertEqual(timeout, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end)),
    ?assertEqual(timeout, raised(fun() -> wasm_runtime_nif_pool:with_instance(pool, fun(_) -> ok end) end)),
    ?assertMatch(#{waiting := 0, busy := 1}, info()),
    let_go(Holder),
    settled(1).

%% Callers whose waits end as instances come back: each ends once, with
%% its value or timeout, and every slot comes back idle.
timeouts_racing_grants_leak_nothing(Config) ->
    start(Config, #{size => 2}),
    Refs = [async(fun() -> race(200) end) || _ <- lists:seq(1, 20)],
    Counts = [await(Ref) || Ref <- Refs],
    ct:pal("{served, timed out} per caller: ~p", [Counts]),
    ?assert(lists:sum([T || {no_error, {_, T}} <- Counts]) > 0),
    settled(2),
    ?assertMatch(#{replaced := 0}, info()).

race(N) ->
    rand:seed(exsss, erlang:phash2(self())),
    lists:foldl(
      fun(_, {Served, TimedOut}) ->
              Hold = rand:uniform(3) - 1,
              try wasm_runtime_nif_pool:with_instance(
                    pool, fun(_) -> timer:sleep(Hold) end, [{timeout, rand:uniform(3)}]) of
                  ok -> {Served + 1, TimedOut}
              catch
                  error:timeout -> {Served, TimedOut + 1}
              end
      end, {0, 0}, lists:seq(1, N)).

%% 64 callers on 1 and on 2 instances with no bound on their waits: a
%% hand-over lost between a caller giving an instance back and one queueing
%% would leave a caller waiting forever (the case's time limit).
many_callers_never_wait_forever(Config) ->
    lists:foreach(
      fun(Size) ->
              start(Config, #{size => Size, checkout_timeout => infinity}),
              Refs = [async(fun() -> lists:sum([wasm_runtime_nif_pool:call_raw(pool, add, [1, 1])
                                                || _ <- lists:seq(1, 2000)])
                            end) || _ <- lists:seq(1, 64)],
              ?assertEqual(lists:duplicate(64, {no_error, 4000}), [await(Ref) || Ref <- Refs]),
              settled(Size),
              ok = wasm_runtime_nif_pool:stop(pool)
      end, [1, 2]).

overflow_grows_and_shrinks(Config) ->
    start(Config, #{size => 1, max_overflow => 2, shrink_after => 300}),
    Holders = [hold() || _ <- lists:seq(1, 3)],
    ?assertMatch(#{instances := 3, busy := 3, grown := 2}, info()),
    %% The pool is at its largest: a fourth caller waits.
    Fourth = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 10000}]) end),
    waiting(1),
    ?assertMatch(#{instances := 3}, info()),
    lists:foreach(fun let_go/1, Holders),
    ?assertEqual({no_error, 3}, await(Fourth)),
    true = wait_until(fun() -> maps:get(instances, info()) =:= 1 end, 5000),
    ?assertMatch(#{shrunk := 2, idle := 1, grown := 2}, info()),
    %% And grows again.
    Again = [hold() || _ <- lists:seq(1, 2)],
    ?assertMatch(#{instances := 2, grown := 3}, info()),
    lists:foreach(fun let_go/1, Again).

max_waiters(Config) ->
    start(Config, #{size => 1, max_waiters => 1}),
    Holder = hold(),
    Waiter = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 10000}]) end),
    waiting(1),
    ?assertEqual({pool_full, pool}, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end)),
    let_go(Holder),
    ?assertEqual({no_error, 3}, await(Waiter)).

a_stopped_pool_fails_its_waiters(Config) ->
    start(Config, #{size => 1}),
    Holder = hold(),
    Waiter = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 10000}]) end),
    waiting(1),
    ok = wasm_runtime_nif_pool:stop(pool),
    ?assertEqual({pool_stopped, pool}, await(Waiter)),
    let_go(Holder),
    ?assertEqual({no_pool, pool}, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end)).

%% An instance that cannot be made again (its preopened directory is
%% gone): callers wait (and time out) while the pool retries, and are
%% served once it succeeds.
a_failing_replacement_is_retried(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "preopened"),
    ok = file:make_dir(Dir),
    Reactor = wasm_test_util:fixture(wasm_runtime_nif_wasi_SUITE, "wasi_reactor.wasm"),
    Options = [{imports, #{{env, host_add} => fun erlang:'+'/2}},
               {wasi, #{preopens => [{Dir, "/d", read}], stdout => discard}}],
    {ok, _} = wasm_runtime_nif_pool:start(pool, Reactor, #{size => 1, instance => Options}),
    ?assertEqual(3, wasm_runtime_nif_pool:call_raw(pool, add_via_host, [1, 2])),
    ok = file:del_dir(Dir),
    %% The guest exits: its instance is ended, and cannot be made again.
    ?assertEqual({exit, 7}, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, quit, [7]) end)),
    true = wait_until(fun() -> maps:get(instantiate_failed, info()) >= 2 end, 5000),
    ?assertMatch(#{instances := 0, replaced := 1}, info()),
    ?assertEqual(timeout, raised(fun() -> wasm_runtime_nif_pool:call_raw(pool, add_via_host, [1, 2],
                                                                        [{timeout, 50}]) end)),
    Waiter = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add_via_host, [1, 2], [{timeout, 20000}]) end),
    waiting(1),
    ok = file:make_dir(Dir),
    ?assertEqual({no_error, 3}, await(Waiter)),
    settled(1).

with_instance_lends_one_instance(Config) ->
    start(Config, #{size => 2}),
    {ok, 4} = wasm_runtime_nif_pool:with_instance(
                pool, fun(I) ->
                              3 = wasm_runtime_nif:call_raw(I, add, [1, 2]),
                              {ok, wasm_runtime_nif:call_raw(I, add, [2, 2])}
                      end),
    ?assertEqual({bad_option, {fuel, 1}},
                 raised(fun() -> wasm_runtime_nif_pool:with_instance(pool, fun(_) -> ok end, [{fuel, 1}]) end)),
    ?assertEqual({bad_option, bogus},
                 raised(fun() -> wasm_runtime_nif_pool:with_instance(pool, fun(_) -> ok end, [bogus]) end)),
    ?assertEqual(thrown, try wasm_runtime_nif_pool:with_instance(pool, fun(_) -> throw(thrown) end)
                         catch throw:T -> T end),
    %% An instance the fun released is replaced.
    ok = wasm_runtime_nif_pool:with_instance(pool, fun wasm_runtime_nif:release/1),
    true = wait_until(fun() -> maps:get(replaced, info()) =:= 1 end, 5000),
    settled(2).

bad_options_and_sources(Config) ->
    Module = ?config(module, Config),
    lists:foreach(
      fun(Options) ->
              ?assertMatch({bad_option, _}, raised(fun() -> wasm_runtime_nif_pool:start(pool, Module, Options) end))
      end, [#{size => 0}, #{size => a}, #{max_overflow => -1}, #{shrink_after => 0},
            #{checkout_timeout => -1}, #{max_waiters => x}, #{instance => [process_bound]},
            #{instance => [{max_memory, 0}]}, #{compile => [bogus]}, #{bogus => 1}, [],
            #{size => 65536, max_overflow => 1}]),
    ?assertMatch({error, {file, _, enoent}}, wasm_runtime_nif_pool:start(pool, "/nonexistent.wasm", #{})),
    %% Instantiation fails without the import.
    ?assertMatch({error, {unknown_import, <<"env">>, <<"tick">>, func}},
                 wasm_runtime_nif_pool:start(pool, Module, #{size => 1})),
    {ok, I} = wasm_runtime_nif:instantiate(Module, [{imports, #{{env, tick} => fun tick/0}}]),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif_pool:start_link(pool, I, #{}) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif_pool:start(pool, I, #{}) end)),
    ?assertEqual({error, not_found}, wasm_runtime_nif_pool:stop({never, started})),
    ?assertEqual({no_pool, nope}, raised(fun() -> wasm_runtime_nif_pool:call_raw(nope, add, [1, 2]) end)),
    ?assertEqual({no_pool, nope}, raised(fun() -> wasm_runtime_nif_pool:info(nope) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif_pool:with_instance(nope, not_a_fun) end)),
    ?assertEqual([], supervisor:which_children(wasm_runtime_nif_pool_sup)).

errors_in_words(Config) ->
    start(Config, #{size => 1}),
    Holder = hold(),
    Words = fun(Fun) ->
                    try Fun() of
                        _ -> ct:fail(no_error)
                    catch
                        error:Reason:Stack ->
                            iolist_to_binary(erl_error:format_exception(error, Reason, Stack))
                    end
            end,
    Timeout = Words(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 10}]) end),
    ?assertNotEqual(nomatch, binary:match(Timeout, <<"no instance of the pool was free">>)),
    ?assertNotEqual(nomatch, binary:match(Timeout, <<"wasm_runtime_nif_pool:call_raw">>)),
    NoPool = Words(fun() -> wasm_runtime_nif_pool:call(nope, add, []) end),
    ?assertNotEqual(nomatch, binary:match(NoPool, <<"no pool is named nope">>)),
    let_go(Holder),
    Trap = Words(fun() -> wasm_runtime_nif_pool:call_raw(pool, trap, []) end),
    ?assertNotEqual(nomatch, binary:match(Trap, <<"the guest trapped in trap">>)).

%% A holder handing its slot to a queued caller is killed after marking
%% the slot granted to it, before (or after) saying so on its ticket, and
%% before telling it: the caller, which waits without a bound, finds the
%% slot its own all the same.
a_holder_killed_handing_over(Config) ->
    lists:foreach(
      fun(Committed) ->
              start(Config, #{size => 1, checkout_timeout => infinity}),
              #pool{slots = Slots, queue = Queue} = persistent_term:get(?HANDLE_KEY(pool)),
              Self = self(),
              Holder = spawn(fun() ->
                                     wasm_runtime_nif_pool:with_instance(
                                       pool, fun(_) ->
                                                     Self ! holding,
                                                     receive hand_over -> ok end,
                                                     %% hand/3's steps, cut short.
                                                     [{Ticket, _, _, Waiter, waiting}] = ets:tab2list(Queue),
                                                     [{_, Held, _, _}] = [L || {{wasm_runtime_nif_pool, pool}, L} <- get()],
                                                     ok = wasm_runtime_nif_pool:rewrite(
                                                            Slots, 1, Held, Waiter bor ?GRANTED bor ?WANTED),
                                                     Grant = [{{Ticket, '$1', '$2', '$3', waiting}, [],
                                                               [{{Ticket, '$1', '$2', '$3', {const, {granted, 1}}}}]}],
                                                     _ = Committed andalso
                                                         (1 =:= ets:select_replace(Queue, Grant)
                                                          orelse error(not_granted)),
                                                     exit(self(), kill)
                                             end)
                             end),
              receive holding -> ok after 5000 -> ct:fail(not_holding) end,
              Waiter = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]) end),
              waiting(1),
              Holder ! hand_over,
              ?assertEqual({no_error, 3}, await(Waiter)),
              settled(1),
              ok = wasm_runtime_nif_pool:stop(pool)
      end, [false, true]).

%% A call's own timeout bounds its wait, not the pool's checkout_timeout.
a_calls_timeout_covers_a_long_wait(Config) ->
    start(Config, #{size => 1, checkout_timeout => 20}),
    Holder = hold(),
    Waiter = async(fun() -> wasm_runtime_nif_pool:call_raw(pool, add, [1, 2], [{timeout, 10000}]) end),
    waiting(1),
    timer:sleep(100),
    let_go(Holder),
    ?assertEqual({no_error, 3}, await(Waiter)).

%% 100 callers at once, each running a plan of calls that return, trap,
%% time out, or die in a call or holding an instance: each outcome is the
%% step's, no caller sees an instance that another call ended or a wait
%% that timed out, and the pool comes back to its size with every ended
%% instance replaced.
hundred_callers_random_failures(Config) ->
    wasm_test_util:quickcheck(
      ?FORALL({Size, Overflow, Plans},
              {range(1, 8), range(0, 4), vector(100, non_empty(list(step())))},
              run_plans(Config, Size, Overflow, Plans)),
      10).

step() ->
    frequency([{14, ok}, {2, trap}, {2, timeout}, {1, die_in_call}, {1, die_holding}]).

run_plans(Config, Size, Overflow, Plans) ->
    start(Config, #{size => Size, max_overflow => Overflow, shrink_after => 100,
                    checkout_timeout => 60000}),
    try
        Refs = [async(fun() -> [step(Step) || Step <- Plan] end) || Plan <- Plans],
        Outcomes = [await(Ref) || Ref <- Refs],
        Wrong = [{Plan, Outcome} || {Plan, Outcome} <- lists:zip(Plans, Outcomes),
                                    Outcome =/= {no_error, [expected(S) || S <- Plan]}],
        Ended = length([S || Plan <- Plans, S <- Plan, lists:member(S, [trap, timeout, die_in_call])]),
        Settled = wait_until(fun() ->
                                     case info() of
                                         #{instances := Size, idle := Size, waiting := 0, making := 0,
                                           replaced := Ended} -> true;
                                         _ -> false
                                     end
                             end, 5000),
        ?WHENFAIL(ct:pal("size ~p overflow ~p: wrong ~p~ninfo ~p", [Size, Overflow, Wrong, info()]),
                  Wrong =:= [] andalso Settled)
    after
        ok = wasm_runtime_nif_pool:stop(pool)
    end.

step(ok) ->
    wasm_runtime_nif_pool:call_raw(pool, add, [1, 2]);
step(trap) ->
    outcome(fun() -> wasm_runtime_nif_pool:call_raw(pool, trap, []) end);
step(timeout) ->
    %% The 5 ms are the call's alone, not its wait's too.
    outcome(fun() -> wasm_runtime_nif_pool:with_instance(
                       pool, fun(I) -> wasm_runtime_nif:call_raw(I, spin, [], [{timeout, 5}]) end)
            end);
step(die_in_call) ->
    Self = self(),
    died(spawn(fun() ->
                       put(pool_suite_tick, {tell, Self}),
                       wasm_runtime_nif_pool:call_raw(pool, ask, [])
               end), in_call);
step(die_holding) ->
    Self = self(),
    died(spawn(fun() ->
                       wasm_runtime_nif_pool:with_instance(
                         pool, fun(_) -> Self ! {in_call, self()}, receive after infinity -> ok end end)
               end), in_call).

died(Pid, What) ->
    receive {What, Pid} -> exit(Pid, kill), died after 60000 -> {never, What} end.

outcome(Fun) ->
    case raised(Fun) of
        {trap, Kind, _} -> Kind;
        Other -> Other
    end.

expected(ok) -> 3;
expected(trap) -> unreachable;
expected(timeout) -> timeout;
expected(die_in_call) -> died;
expected(die_holding) -> died.
