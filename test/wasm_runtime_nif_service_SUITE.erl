%% wasm_runtime_nif_service: a module served by name from every node of a
%% cluster of real nodes (peer). Deploys reach every node, calls run
%% anywhere and say where they failed, nodes that die or join late leave the
%% service running, and a call is never run twice.
-module(wasm_runtime_nif_service_SUITE).

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2,
         end_per_testcase/2]).
-export([deploy_to_every_node/1, calls_from_every_node/1, remote_errors_look_local/1,
         a_compile_error_deploys_nowhere/1, a_node_killed_during_calls/1,
         a_node_joining_late_is_served/1, redeploy_under_the_same_name/1,
         undeploy_is_not_brought_back/1, errors_in_words/1, restarts_keep_serving/1]).
%% The guest's import, run on the node that serves the call, and what the
%% cases run on the nodes.
-export([node_id/0, calls_at_once/1, calls_elsewhere/1, start_pinned_calls/3, outcomes/1,
         start_version_loop/1, stop_version_loop/1, words/2, ran/1, kill_pool_server/1,
         raised_here/2]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [wait_until/2]).

suite() ->
    [{timetrap, {minutes, 10}}].

all() ->
    [deploy_to_every_node, calls_from_every_node, remote_errors_look_local,
     a_compile_error_deploys_nowhere, a_node_killed_during_calls, a_node_joining_late_is_served,
     redeploy_under_the_same_name, undeploy_is_not_brought_back, errors_in_words,
     restarts_keep_serving].

%% The test node only drives the cluster: distributed, without the
%% application, so that the peers alone make the cluster.
init_per_suite(Config) ->
    %% Names on 127.0.0.1 need no host name lookup.
    _ = os:cmd("epmd -daemon"),
    true = wait_until(fun() -> element(1, erl_epmd:names("127.0.0.1")) =:= ok end, 10000),
    Started = case node() of
                  nonode@nohost ->
                      Name = list_to_atom("wasm_ct_" ++ os:getpid() ++ "@127.0.0.1"),
                      {ok, _} = net_kernel:start([Name, longnames]),
                      true;
                  _ ->
                      false
              end,
    _ = application:stop(wasm_runtime_nif),
    [{started_distribution, Started} | Config].

end_per_suite(Config) ->
    case ?config(started_distribution, Config) of
        true -> net_kernel:stop();
        _ -> ok
    end.

init_per_testcase(_Case, Config) ->
    Config.

end_per_testcase(_Case, _Config) ->
    [catch peer:stop(Peer) || {wasm_service_peer, Peer} <- get()],
    ok.

node_id() ->
    erlang:phash2(node(), 1 bsl 30).

guest(Version) ->
    iolist_to_binary(
      ["(module
         (import \"env\" \"node_id\" (func $node_id (result i32)))
         (import \"env\" \"ran\" (func $ran (param i32)))
         (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
         (func (export \"trap\") unreachable)
         (func (export \"where\") (result i32) (call $node_id))
         (func (export \"version\") (result i32) (i32.const ", integer_to_list(Version), "))
         (func (export \"tagged\") (param $id i32) (param $n i32) (result i32)
           (loop $l
             (local.set $n (i32.sub (local.get $n) (i32.const 1)))
             (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
           (call $ran (local.get $id))
           (local.get $id))
         (func (export \"work\") (param $n i32) (result i32)
           (loop $l
             (local.set $n (i32.sub (local.get $n) (i32.const 1)))
             (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
           (local.get $n)))"]).

options(Size) ->
    #{pool => #{size => Size, instance => [{imports, #{{env, node_id} => fun ?MODULE:node_id/0,
                                                       {env, ran} => fun ?MODULE:ran/1}}]}}.

%% The guest's `ran' import: tells the collector (wherever it runs) that
%% the call tagged `Id' ran to its end here.
ran(Id) ->
    [catch erlang:send({wasm_ran_collector, N}, {ran, Id}) || N <- nodes()],
    ok.

%% A node running the application, connected to `Others' (and to us).
start_node(Others) ->
    Paths = lists:usort([filename:dirname(code:which(M))
                         || M <- [wasm_runtime_nif, wasm_test_util, ?MODULE]]),
    Name = list_to_atom("wasm_svc_" ++ integer_to_list(erlang:unique_integer([positive]))),
    {ok, Peer, Node} = peer:start(#{name => Name, host => "127.0.0.1", longnames => true,
                                    wait_boot => 60000,
                                    args => ["-setcookie", atom_to_list(erlang:get_cookie()),
                                             "-connect_all", "false"
                                             | lists:append([["-pa", P] || P <- Paths])]}),
    put({wasm_service_peer, Node}, Peer),
    {ok, _} = erpc:call(Node, application, ensure_all_started, [wasm_runtime_nif]),
    [true = erpc:call(Node, net_kernel, connect_node, [Other]) || Other <- Others],
    Node.

cluster(N) ->
    lists:foldl(fun(_, Nodes) -> Nodes ++ [start_node(Nodes)] end, [], lists:seq(1, N)).

%% Kills the node's VM at once (kill -9), as a crash would.
kill_node(Node) ->
    OsPid = erpc:call(Node, os, getpid, []),
    _ = os:cmd("kill -9 " ++ OsPid),
    true = wait_until(fun() -> not lists:member(Node, nodes()) end, 10000).

on(Node, Module, Function, Args) ->
    erpc:call(Node, Module, Function, Args, 60000).

%% Until every node in `Nodes' sees `Expected' as what `Name' serves.
serving(Nodes, Name, Expected) ->
    true = wait_until(fun() ->
                              lists:all(fun(Node) ->
                                                case on(Node, wasm_runtime_nif_service, info, [Name]) of
                                                    #{version := V, nodes := Serving} ->
                                                        {V, Serving} =:= Expected;
                                                    undefined ->
                                                        Expected =:= undefined
                                                end
                                        end, Nodes)
                      end, 10000).

%% What wasm_runtime_nif_service:Function(Args...) raises on `Node'. Only
%% names cross: a fun made here would not be one the other node knows when
%% this suite was loaded here from another compile (rebar3 do eunit, ct).
raised(Node, Function, Args) ->
    on(Node, ?MODULE, raised_here, [Function, Args]).

raised_here(Function, Args) ->
    wasm_test_util:raised(fun() -> erlang:apply(wasm_runtime_nif_service, Function, Args) end).

%%% Cases

deploy_to_every_node(_Config) ->
    [A, B, C] = Nodes = cluster(3),
    Sorted = lists:sort(Nodes),
    {ok, #{version := 1, nodes := Deployed, missed := []}} =
        on(B, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(2)]),
    ?assertEqual(Sorted, lists:sort(Deployed)),
    serving(Nodes, plugin, {1, Sorted}),
    [?assertEqual([{plugin, 1}], on(N, wasm_runtime_nif_service, which_services, [])) || N <- Nodes],
    %% Each node compiled the bytes it was sent, once, and serves them from
    %% a pool of its own.
    [?assertMatch(#{pool := #{size := 2, instances := 2}},
                  on(N, wasm_runtime_nif_service, info, [plugin])) || N <- Nodes],
    [?assertEqual(3, on(N, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2]])) || N <- [A, B, C]].

%% From each node: with its own instance kept busy, calls by name run on
%% the other nodes; 100 calls at once all return; pinned, a call runs
%% where it is pinned.
calls_from_every_node(_Config) ->
    Nodes = cluster(3),
    {ok, _} = on(hd(Nodes), wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    Ids = maps:from_list([{on(N, ?MODULE, node_id, []), N} || N <- Nodes]),
    lists:foreach(
      fun(Node) ->
              Served = lists:usort([maps:get(Id, Ids) || Id <- on(Node, ?MODULE, calls_elsewhere, [20])]),
              ct:pal("from ~p with its instance busy: ran on ~p", [Node, Served]),
              ?assertEqual([], Served -- (Nodes -- [Node])),
              ?assertEqual(100, length(on(Node, ?MODULE, calls_at_once, [100])))
      end, Nodes),
    [?assertEqual(on(N, ?MODULE, node_id, []),
                  on(hd(Nodes), wasm_runtime_nif_service, call_raw, [plugin, where, [], [{where, N}]]))
     || N <- Nodes].

%% Run on a node of the cluster: its only instance held by a long call,
%% then N calls by name, one after the other.
calls_elsewhere(N) ->
    Self = self(),
    Holder = spawn_link(fun() ->
                                _ = wasm_runtime_nif_service:call_raw(plugin, work, [2000000000], [{where, local}, {timeout, 60000}]),
                                Self ! done
                        end),
    true = wait_until(fun() -> maps:get(busy, maps:get(pool, wasm_runtime_nif_service:info(plugin))) =:= 1 end, 10000),
    Ids = [wasm_runtime_nif_service:call_raw(plugin, where, []) || _ <- lists:seq(1, N)],
    unlink(Holder),
    exit(Holder, kill),
    Ids.

%% Run on a node of the cluster: N callers at once.
calls_at_once(N) ->
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), wasm_runtime_nif_service:call_raw(plugin, where, [])} end)
            || _ <- lists:seq(1, N)],
    [receive {Pid, Id} -> Id after 60000 -> error(no_answer) end || Pid <- Pids].

remote_errors_look_local(_Config) ->
    [A, B] = cluster(2),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving([A, B], plugin, {1, lists:sort([A, B])}),
    ?assertMatch({trap, unreachable, _},
                 raised(A, call_raw, [plugin, trap, [], [{where, B}]])),
    ?assertMatch({undefined_function, nope},
                 raised(A, call_raw, [plugin, nope, [], [{where, B}]])),
    ?assertEqual({no_service, other}, raised(A, call_raw, [other, add, [1, 2]])),
    ?assertEqual({bad_option, {where, typo}},
                 raised(A, call_raw, [plugin, add, [1, 2], [{where, typo}]])),
    ?assertMatch({not_run, B, {no_service, other}},
                 raised(A, call_raw, [other, add, [1, 2], [{where, B}]])),
    %% The instance that trapped there was replaced there.
    ?assertEqual(3, on(A, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2], [{where, B}]])).

a_compile_error_deploys_nowhere(_Config) ->
    [A, B] = cluster(2),
    {error, {deploy_failed, Failed}} =
        on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, <<"(module (func (export">>}, #{}]),
    ?assertEqual(lists:sort([A, B]), lists:sort([N || {N, {compile, {invalid_module, _}}} <- Failed])),
    %% A module that compiles but cannot be instantiated (no fun for its
    %% import): refused too, and no node serves anything.
    {error, {deploy_failed, [_, _]}} =
        on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, #{}]),
    [?assertEqual([], on(N, wasm_runtime_nif_service, which_services, [])) || N <- [A, B]],
    [?assertEqual([], on(N, supervisor, which_children, [wasm_runtime_nif_pool_sup])) || N <- [A, B]].

%% Callers on A pin their calls to B, each tagged; B is killed while they
%% run. Each call ends once: with its value, or with {nodedown, B}. No
%% tagged call ran twice (B tells a collector on A of each it ran to its
%% end), every call that returned is among those, and A and C go on.
a_node_killed_during_calls(_Config) ->
    [A, B, C] = Nodes = cluster(3),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(2)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    Collector = on(A, ?MODULE, start_pinned_calls, [B, 40, 10]),
    kill_node(B),
    {Ran, Outcomes} = on(A, ?MODULE, outcomes, [Collector]),
    Returned = lists:append([Ids || {Ids, _} <- Outcomes]),
    ct:pal("~b tagged calls ran to their end on B, ~b returned, errors ~p",
           [length(Ran), length(Returned), lists:usort([E || {_, E} <- Outcomes])]),
    ?assertEqual(40, length(Outcomes)),
    ?assertEqual([{nodedown, B}], lists:usort([E || {_, E} <- Outcomes])),
    ?assertEqual(length(Ran), length(lists:usort(Ran))),
    ?assertEqual([], Returned -- Ran),
    ?assert(length(Returned) >= 10),
    %% The service goes on without B.
    serving([A, C], plugin, {1, lists:sort([A, C])}),
    [?assertEqual(3, on(N, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2]])) || N <- [A, C]].

%% Run on A: a collector of the tagged calls B ran, and N callers calling
%% tagged calls on B until one fails; returns once `Before' calls returned.
start_pinned_calls(B, N, Before) ->
    Self = self(),
    Collector = spawn(fun() -> register(wasm_ran_collector, self()), collect(N, [], [], Self) end),
    [spawn(fun() -> Collector ! {outcome, pinned_until_error(B, I * 1000000, [])} end)
     || I <- lists:seq(1, N)],
    returned(Before),
    Collector.

returned(Before) ->
    receive
        {returned, Ran} when Ran >= Before -> ok;
        {returned, _} -> returned(Before)
    after 60000 -> error(too_slow)
    end.

pinned_until_error(B, Id, Returned) ->
    case wasm_test_util:raised(fun() ->
                                       wasm_runtime_nif_service:call_raw(plugin, tagged, [Id, 2000000],
                                                                         [{where, B}, {timeout, 30000}])
                               end) of
        {no_error, Id} ->
            wasm_ran_collector ! returned,
            pinned_until_error(B, Id + 1, [Id | Returned]);
        Error ->
            {Returned, Error}
    end.

collect(0, Ran, Outcomes, _) ->
    receive {outcomes, From} -> From ! {outcomes, {Ran, Outcomes}} end;
collect(N, Ran, Outcomes, Watcher) ->
    receive
        {ran, Id} -> collect(N, [Id | Ran], Outcomes, Watcher);
        returned -> Watcher ! {returned, length(Ran)}, collect(N, Ran, Outcomes, Watcher);
        {outcome, O} -> collect(N - 1, Ran, [O | Outcomes], Watcher)
    end.

outcomes(Collector) ->
    Collector ! {outcomes, self()},
    receive {outcomes, Outcomes} -> Outcomes after 60000 -> error(no_outcomes) end.

a_node_joining_late_is_served(_Config) ->
    [A, B] = cluster(2),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    D = start_node([A, B]),
    serving([A, B, D], plugin, {1, lists:sort([A, B, D])}),
    ?assertEqual(3, on(D, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2], [{where, local}]])).

%% v1, then v2 under the same name while callers call: each call returns
%% 1 or 2, every call that starts once deploy returned gets 2, and v1's
%% pools are gone once drained.
redeploy_under_the_same_name(_Config) ->
    [A, B] = Nodes = cluster(2),
    {ok, #{version := 1}} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    Loop = on(B, ?MODULE, start_version_loop, [8]),
    timer:sleep(100),
    {ok, #{version := 2}} = on(A, wasm_runtime_nif_service, deploy,
                               [plugin, {bytes, guest(2)}, (options(1))#{drain_timeout => 5000}]),
    After = [on(N, wasm_runtime_nif_service, call_raw, [plugin, version, []]) || N <- Nodes],
    Seen = on(B, ?MODULE, stop_version_loop, [Loop]),
    ct:pal("versions seen during the deploy: ~p", [Seen]),
    ?assertEqual([2, 2], After),
    ?assertEqual([], Seen -- [1, 2]),
    ?assert(lists:member(2, Seen)),
    true = wait_until(fun() ->
                              lists:all(fun(N) ->
                                                length(on(N, supervisor, which_children,
                                                          [wasm_runtime_nif_pool_sup])) =:= 1
                                        end, Nodes)
                      end, 10000).

start_version_loop(N) ->
    Collector = spawn(fun() -> collect_versions([], N) end),
    [spawn(fun() -> version_loop(Collector) end) || _ <- lists:seq(1, N)],
    Collector.

version_loop(Collector) ->
    Outcome = wasm_test_util:raised(fun() -> wasm_runtime_nif_service:call_raw(plugin, version, []) end),
    Collector ! {seen, self(), Outcome},
    receive stop -> ok after 0 -> version_loop(Collector) end.

collect_versions(Seen, Loops) ->
    receive
        {seen, Pid, {no_error, V}} -> collect_versions(ordsets:add_element({V, Pid}, Seen), Loops);
        {seen, _, Other} -> collect_versions(ordsets:add_element({Other, error}, Seen), Loops);
        {stop, From} ->
            lists:foreach(fun({_, Pid}) when is_pid(Pid) -> Pid ! stop; (_) -> ok end, Seen),
            From ! {seen, lists:usort([V || {V, _} <- Seen])}
    end.

stop_version_loop(Collector) ->
    Collector ! {stop, self()},
    receive {seen, Seen} -> Seen after 60000 -> error(no_versions) end.

%% C is away while the service is undeployed; when it comes back, the
%% undeploy reaches it rather than its old version reaching the others.
undeploy_is_not_brought_back(_Config) ->
    [A, B, C] = Nodes = cluster(3),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    [true = on(C, erlang, disconnect_node, [N]) || N <- [A, B]],
    true = wait_until(fun() -> not lists:member(C, on(A, erlang, nodes, [])) end, 5000),
    ok = on(A, wasm_runtime_nif_service, undeploy, [plugin]),
    serving([A, B], plugin, undefined),
    [true = on(C, net_kernel, connect_node, [N]) || N <- [A, B]],
    serving(Nodes, plugin, undefined),
    [?assertEqual([], on(N, wasm_runtime_nif_service, which_services, [])) || N <- Nodes].

%% B's pool is killed (its supervisor starts it again), then B's service
%% server: B serves the service again each time, and A sends it calls.
restarts_keep_serving(_Config) ->
    [A, B] = Nodes = cluster(2),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    ok = on(B, ?MODULE, kill_pool_server, [{wasm_runtime_nif_service, plugin, 1}]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    ?assertEqual(3, on(A, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2], [{where, B}]])),
    Server = on(B, erlang, whereis, [wasm_runtime_nif_service_server]),
    true = on(B, erlang, exit, [Server, kill]),
    true = wait_until(fun() -> on(B, erlang, whereis, [wasm_runtime_nif_service_server]) =/= Server end, 5000),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    ?assertEqual([{plugin, 1}], on(B, wasm_runtime_nif_service, which_services, [])),
    ?assertEqual(3, on(A, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2], [{where, B}]])).

%% Run on a node: kills the server of the pool named `Pool' (the handle's
%% third element, #pool.server).
kill_pool_server(Pool) ->
    Server = element(3, persistent_term:get({wasm_runtime_nif_pool, Pool})),
    exit(Server, kill),
    ok.

errors_in_words(_Config) ->
    [A] = cluster(1),
    Words = on(A, ?MODULE, words, [call_raw, [nothing, add, [1, 2]]]),
    ?assertNotEqual(nomatch, binary:match(Words, <<"no node serves nothing">>)),
    ?assertNotEqual(nomatch, binary:match(Words, <<"wasm_runtime_nif_service:call_raw">>)).

words(Function, Args) ->
    try erlang:apply(wasm_runtime_nif_service, Function, Args) of
        _ -> error(no_error)
    catch
        error:Reason:Stack -> iolist_to_binary(erl_error:format_exception(error, Reason, Stack))
    end.
