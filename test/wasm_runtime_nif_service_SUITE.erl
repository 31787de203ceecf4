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
         undeploy_is_not_brought_back/1, errors_in_words/1]).
%% The guest's import, run on the node that serves the call, and what the
%% cases run on the nodes.
-export([node_id/0, calls_at_once/1, start_pinned_calls/2, outcomes/1, start_version_loop/1,
         stop_version_loop/1, words/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [wait_until/2]).

suite() ->
    [{timetrap, {minutes, 10}}].

all() ->
    [deploy_to_every_node, calls_from_every_node, remote_errors_look_local,
     a_compile_error_deploys_nowhere, a_node_killed_during_calls, a_node_joining_late_is_served,
     redeploy_under_the_same_name, undeploy_is_not_brought_back, errors_in_words].

%% The test node only drives the cluster: distributed, without the
%% application, so that the peers alone make the cluster.
init_per_suite(Config) ->
    _ = os:cmd("epmd -daemon"),
    Started = case node() of
                  nonode@nohost ->
                      Name = list_to_atom("wasm_ct_" ++ os:getpid()),
                      case net_kernel:start([Name, shortnames]) of
                          {ok, _} -> true;
                          {error, Reason} -> {skip, Reason}
                      end;
                  _ ->
                      false
              end,
    case Started of
        {skip, Why} ->
            {skip, {no_distribution, Why}};
        _ ->
            _ = application:stop(wasm_runtime_nif),
            [{started_distribution, Started} | Config]
    end.

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
         (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
         (func (export \"trap\") unreachable)
         (func (export \"where\") (result i32) (call $node_id))
         (func (export \"version\") (result i32) (i32.const ", integer_to_list(Version), "))
         (func (export \"work\") (param $n i32) (result i32)
           (loop $l
             (local.set $n (i32.sub (local.get $n) (i32.const 1)))
             (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
           (local.get $n)))"]).

options(Size) ->
    #{pool => #{size => Size, instance => [{imports, #{{env, node_id} => fun ?MODULE:node_id/0}}]}}.

%% A node running the application, connected to `Others' (and to us).
start_node(Others) ->
    Paths = lists:usort([filename:dirname(code:which(M))
                         || M <- [wasm_runtime_nif, wasm_test_util, ?MODULE]]),
    Name = list_to_atom("wasm_svc_" ++ integer_to_list(erlang:unique_integer([positive]))),
    {ok, Peer, Node} = peer:start(#{name => Name, wait_boot => 60000,
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

raised(Node, Fun) ->
    on(Node, wasm_test_util, raised, [Fun]).

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

%% 100 calls at once from each node on pools of one instance: every call
%% returns its value, and callers on each node were served elsewhere too.
calls_from_every_node(_Config) ->
    Nodes = cluster(3),
    {ok, _} = on(hd(Nodes), wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    Ids = maps:from_list([{on(N, ?MODULE, node_id, []), N} || N <- Nodes]),
    lists:foreach(
      fun(Node) ->
              Where = on(Node, ?MODULE, calls_at_once, [100]),
              Served = lists:usort([maps:get(Id, Ids) || Id <- Where]),
              ct:pal("calls from ~p ran on ~p", [Node, Served]),
              ?assertEqual(100, length(Where)),
              ?assert(length(Served) > 1)
      end, Nodes),
    %% Pinned to a node, a call runs there.
    [?assertEqual(on(N, ?MODULE, node_id, []),
                  on(hd(Nodes), wasm_runtime_nif_service, call_raw, [plugin, where, [], [{where, N}]]))
     || N <- Nodes].

%% Run on a node of the cluster: N callers at once, each calling `where'
%% after a moment's work, which keeps the local instance busy.
calls_at_once(N) ->
    Self = self(),
    Pids = [spawn_link(fun() ->
                               _ = wasm_runtime_nif_service:call_raw(plugin, work, [200000]),
                               Self ! {self(), wasm_runtime_nif_service:call_raw(plugin, where, [])}
                       end) || _ <- lists:seq(1, N)],
    [receive {Pid, Id} -> Id after 60000 -> error(no_answer) end || Pid <- Pids].

remote_errors_look_local(_Config) ->
    [A, B] = cluster(2),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(1)]),
    serving([A, B], plugin, {1, lists:sort([A, B])}),
    ?assertMatch({trap, unreachable, _},
                 raised(A, fun() -> wasm_runtime_nif_service:call_raw(plugin, trap, [], [{where, B}]) end)),
    ?assertMatch({undefined_function, nope},
                 raised(A, fun() -> wasm_runtime_nif_service:call_raw(plugin, nope, [], [{where, B}]) end)),
    ?assertEqual({no_service, other}, raised(A, fun() -> wasm_runtime_nif_service:call_raw(other, add, [1, 2]) end)),
    ?assertMatch({not_run, B, no_service},
                 raised(A, fun() -> wasm_runtime_nif_service:call_raw(other, add, [1, 2], [{where, B}]) end)),
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

%% Callers on A pin their calls to B; B is killed while they run. Each
%% call ends once: with its value, or with {nodedown, B}. A and C go on.
a_node_killed_during_calls(_Config) ->
    [A, B, C] = Nodes = cluster(3),
    {ok, _} = on(A, wasm_runtime_nif_service, deploy, [plugin, {bytes, guest(1)}, options(2)]),
    serving(Nodes, plugin, {1, lists:sort(Nodes)}),
    Calls = on(A, ?MODULE, start_pinned_calls, [B, 40]),
    timer:sleep(200),
    kill_node(B),
    Outcomes = on(A, ?MODULE, outcomes, [Calls]),
    ct:pal("outcomes: ~p", [lists:usort(Outcomes)]),
    ?assertEqual(40, length(Outcomes)),
    ?assertEqual([], [O || O <- Outcomes, O =/= {no_error, 0}, O =/= {nodedown, B}]),
    ?assert(lists:member({nodedown, B}, Outcomes)),
    %% The service goes on without B.
    serving([A, C], plugin, {1, lists:sort([A, C])}),
    [?assertEqual(3, on(N, wasm_runtime_nif_service, call_raw, [plugin, add, [1, 2]])) || N <- [A, C]].

%% Run on A: N callers, each calling `work' on B again and again until
%% one ends in an error; the outcomes go to a collector.
start_pinned_calls(B, N) ->
    Collector = spawn(fun() -> collect(N, []) end),
    [spawn(fun() -> Collector ! {outcome, pinned_until_error(B)} end) || _ <- lists:seq(1, N)],
    Collector.

pinned_until_error(B) ->
    case wasm_test_util:raised(fun() ->
                                       wasm_runtime_nif_service:call_raw(plugin, work, [2000000],
                                                                         [{where, B}, {timeout, 30000}])
                               end) of
        {no_error, 0} -> pinned_until_error(B);
        Other -> Other
    end.

collect(0, Acc) ->
    receive {outcomes, From} -> From ! {outcomes, Acc} end;
collect(N, Acc) ->
    receive {outcome, O} -> collect(N - 1, [O | Acc]) end.

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

errors_in_words(_Config) ->
    [A] = cluster(1),
    Words = on(A, ?MODULE, words, [fun() -> wasm_runtime_nif_service:call_raw(nothing, add, [1, 2]) end]),
    ?assertNotEqual(nomatch, binary:match(Words, <<"no node serves nothing">>)),
    ?assertNotEqual(nomatch, binary:match(Words, <<"wasm_runtime_nif_service:call_raw">>)).

words(Fun) ->
    try Fun() of
        _ -> error(no_error)
    catch
        error:Reason:Stack -> iolist_to_binary(erl_error:format_exception(error, Reason, Stack))
    end.
