%% @doc A module served by name from every node of a cluster.
%%
%% `deploy/2,3' ships a module's bytes once to each connected node, where
%% it is compiled and served from a pool ({@link wasm_runtime_nif_pool});
%% nodes that connect later get it too. `call/3,4' and `call_raw/3,4' by
%% name run on this node's pool when an instance is idle, else on another
%% node's (through `erpc'), else wait here. A call is never run twice: a
%% node lost during a call raises `{nodedown, Node}', and whether the call
%% ran there is not known.
%%
%% ```
%% {ok, #{version := 1}} = wasm_runtime_nif_service:deploy(plugin, "priv/plugin.wasm"),
%% 3 = wasm_runtime_nif_service:call_raw(plugin, add, [1, 2]).
%% '''
%%
%% docs/clusters.md is the guide: a plugin served by three nodes, the
%% failure semantics, the knobs.
-module(wasm_runtime_nif_service).

-export([deploy/2, deploy/3, undeploy/1, call/3, call/4, call_raw/3, call_raw/4, info/1,
         which_services/0]).
%% Run by erpc on the node a call goes to.
-export([run_here/5]).

-define(ERROR_INFO, [{error_info, #{module => wasm_runtime_nif_error}}]).
-define(TABLE, wasm_runtime_nif_services).
-define(SCOPE, wasm_runtime_nif_pg).
-define(MANAGERS, wasm_runtime_nif_managers).
-define(SERVER, wasm_runtime_nif_service_server).
%% Extra time the caller gives erpc beyond the call's own timeout: the
%% remote call stops at its timeout, and its answer needs to travel back.
-define(ERPC_GRACE_MS, 1000).
-define(NOT_RUN, '$wasm_runtime_nif_service_not_run').
%% How many times a call whose pool a newer version replaced (nothing ran)
%% looks up the service again.
-define(RETRIES, 3).
%% How many times a deploy tries for its name's lock (global:trans/4:
%% about a minute of waits, growing).
-define(LOCK_RETRIES, 12).

-type name() :: term().
-type source() :: file:name_all() | {bytes, binary()}.
-type deploy_options() :: #{pool => wasm_runtime_nif_pool:options(),
                            compile => [wasm_runtime_nif:compile_option()],
                            timeout => timeout(),
                            drain_timeout => non_neg_integer()}.
%% `pool': each node's pool (its `compile' option is not used: `compile'
%% here is). `compile': how each node compiles the bytes; without a
%% `{cache, Dir}', a node uses its application variable `service_cache' if
%% set. `timeout': how long each step waits for every node (default
%% 60,000 ms). `drain_timeout': how long the pool of a replaced version
%% keeps serving the calls it has (default 30,000 ms).
-type call_option() :: wasm_runtime_nif:call_option() | {where, any | local | node()}.
%% `{where, any}' (the default): this node's pool if an instance is idle,
%% else another node's, else wait here. `local': this node only. A node:
%% that node only.
-type deployed() :: #{version := pos_integer(), nodes := [node()],
                      missed := [{node(), term()}]}.

-export_type([name/0, source/0, deploy_options/0, call_option/0, deployed/0]).

%%% Deploying

%% @doc {@link deploy/3} with default options.
-spec deploy(name(), source()) -> {ok, deployed()} | {error, term()}.
deploy(Name, Source) ->
    deploy(Name, Source, #{}).

%% @doc Serves the module `Source' as `Name' on every connected node,
%% replacing the version served before. Every node compiles it and starts
%% its pool before any node serves it; if any node cannot, none does, and
%% the result is `{error, {deploy_failed, [{Node, Reason}]}}'. Nodes that
%% did not answer are listed in `missed': they catch up when they next
%% connect. Once `deploy' returns, every node in `nodes' serves the new
%% version.
-spec deploy(name(), source(), deploy_options()) -> {ok, deployed()} | {error, term()}.
deploy(Name, Source, Options) when is_map(Options) ->
    Settings = settings(Options),
    case bytes(Source) of
        {ok, Bytes} ->
            {ok, _} = application:ensure_all_started(wasm_runtime_nif),
            locked(Name, fun() -> deploy_locked(Name, Bytes, Settings) end);
        {error, _} = Error ->
            Error
    end;
deploy(Name, Source, Options) ->
    erlang:error(badarg, [Name, Source, Options], ?ERROR_INFO).

deploy_locked(Name, Bytes, #{timeout := Timeout} = Settings) ->
    Nodes = managers(),
    Version = next_version(Name, Nodes, Timeout),
    Prepared = lists:zip(Nodes, erpc:multicall(Nodes, ?SERVER, prepare,
                                               [Name, Version, Bytes, Settings], Timeout)),
    Failed = [{Node, Reason} || {Node, {ok, {error, Reason}}} <- Prepared],
    Ready = [Node || {Node, {ok, ok}} <- Prepared],
    Missed = [{Node, Why} || {Node, {Class, Why}} <- Prepared, Class =/= ok],
    case Failed of
        [] ->
            Committed = lists:zip(Ready, erpc:multicall(Ready, ?SERVER, commit, [Name, Version], Timeout)),
            Serving = [Node || {Node, {ok, ok}} <- Committed],
            NotCommitted = Missed ++ [{Node, Why} || {Node, {Class, Why}} <- Committed, Class =/= ok],
            case Serving of
                [] -> {error, {deploy_failed, NotCommitted}};
                _ -> {ok, #{version => Version, nodes => Serving, missed => NotCommitted}}
            end;
        _ ->
            %% Every node asked, not only those that answered: one that
            %% timed out may have prepared since.
            _ = erpc:multicall(Nodes, ?SERVER, abort, [Name, Version], Timeout),
            {error, {deploy_failed, Failed}}
    end.

%% @doc Stops serving `Name' on every connected node; nodes that connect
%% later do not bring it back.
-spec undeploy(name()) -> ok.
undeploy(Name) ->
    {ok, _} = application:ensure_all_started(wasm_runtime_nif),
    locked(Name, fun() ->
                         Nodes = managers(),
                         Version = next_version(Name, Nodes, 60000),
                         _ = erpc:multicall(Nodes, ?SERVER, undeploy, [Name, Version], 60000),
                         ok
                 end).

%% Deploys of one name run one at a time in the whole cluster, so that
%% each gets a version above every node's. A lock held elsewhere too long
%% (a deploy stuck on an unanswering node) is `{error, locked}'.
locked(Name, Fun) ->
    case global:trans({{?MODULE, Name}, self()}, Fun, [node() | nodes()], ?LOCK_RETRIES) of
        aborted -> {error, locked};
        Result -> Result
    end.

managers() ->
    lists:usort([node() | [node(Pid) || Pid <- pg:get_members(?SCOPE, ?MANAGERS)]]).

next_version(Name, Nodes, Timeout) ->
    1 + lists:max([0 | [V || {ok, V} <- erpc:multicall(Nodes, ?SERVER, versions, [Name], Timeout)]]).

bytes({bytes, Bytes}) when is_binary(Bytes) ->
    {ok, Bytes};
bytes(Path) ->
    case file:read_file(Path) of
        {ok, Bytes} -> {ok, Bytes};
        {error, Reason} -> {error, {file, Path, Reason}}
    end.

settings(Options) ->
    Settings = maps:merge(#{pool => #{}, compile => [], timeout => 60000, drain_timeout => 30000},
                          Options),
    #{pool := Pool, compile := Compile, timeout := Timeout, drain_timeout := Drain} = Settings,
    _ = wasm_runtime_nif_options:pool(Pool),
    _ = wasm_runtime_nif_options:compile(Compile, <<>>),
    case is_integer(Timeout) andalso Timeout > 0
        andalso is_integer(Drain) andalso Drain >= 0
        andalso map_size(Settings) =:= 4 of
        true -> Settings;
        false -> erlang:error({bad_option, Options})
    end.

%%% Calling

%% @doc {@link wasm_runtime_nif:call/3} on the service `Name'.
-spec call(name(), wasm_runtime_nif:func_name(), [term()]) -> term().
call(Name, Function, Args) ->
    try routed(Name, call, Function, Args, [])
    catch error:{?NOT_RUN, Reason} -> erlang:error(Reason, [Name, Function, Args], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call/4} on the service `Name', with
%% `{where, any | local | Node}' besides the call's options. The errors of
%% a pool call, and: `{no_service, Name}'; `{nodedown, Node}' (the node
%% went down or could not be reached: the call may or may not have run
%% there); `{remote_timeout, Node}' (no answer in the call's timeout and a
%% second: it may have run); `{remote_exit, Node, Reason}' (the process
%% running it there was killed); `{not_run, Node, Reason}' (it did not run,
%% and may be tried again). An error of the call itself (a trap, a bad
%% argument) is raised as it is, wherever it ran.
-spec call(name(), wasm_runtime_nif:func_name(), [term()], [call_option()]) -> term().
call(Name, Function, Args, Options) ->
    try routed(Name, call, Function, Args, Options)
    catch error:{?NOT_RUN, Reason} -> erlang:error(Reason, [Name, Function, Args, Options], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call_raw/3} on the service `Name'.
-spec call_raw(name(), wasm_runtime_nif:func_name(), [wasm_runtime_nif:value()]) -> term().
call_raw(Name, Function, Args) ->
    try routed(Name, call_raw, Function, Args, [])
    catch error:{?NOT_RUN, Reason} -> erlang:error(Reason, [Name, Function, Args], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call_raw/4} on the service `Name', as
%% {@link call/4}.
-spec call_raw(name(), wasm_runtime_nif:func_name(), [wasm_runtime_nif:value()],
               [call_option()]) -> term().
call_raw(Name, Function, Args, Options) ->
    try routed(Name, call_raw, Function, Args, Options)
    catch error:{?NOT_RUN, Reason} -> erlang:error(Reason, [Name, Function, Args, Options], ?ERROR_INFO)
    end.

%% The service's own errors come tagged ?NOT_RUN, for the API function to
%% raise with its arguments; the call's pass as they are.
routed(Name, Kind, Function, Args, Options) ->
    {Where, CallOptions} = where(Options),
    route(Where, Name, Kind, Function, Args, deadline(CallOptions), ?RETRIES).

%% A call's options with its timeout as a deadline, so that a call looked
%% up again after its version was replaced gets only the time left.
deadline(Options) ->
    case lists:keyfind(timeout, 1, Options) of
        {timeout, T} when is_integer(T) ->
            {Options, erlang:monotonic_time(millisecond) + T};
        _ ->
            {Options, infinity}
    end.

%% The options to call with now.
left({Options, infinity}) ->
    Options;
left({Options, Deadline}) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    [{timeout, Left} | [Option || Option <- Options, not is_tuple(Option) orelse element(1, Option) =/= timeout]].

where([]) ->
    {any, []};
where(Options) when is_list(Options) ->
    case lists:partition(fun(Option) -> is_tuple(Option) andalso element(1, Option) =:= where end,
                         Options) of
        {[], Rest} -> {any, Rest};
        {[{where, Where} = Option], Rest} when is_atom(Where) ->
            case Where =:= any orelse Where =:= local orelse lists:member($@, atom_to_list(Where)) of
                true -> {Where, Rest};
                false -> erlang:error({?NOT_RUN, {bad_option, Option}})
            end;
        {[Bad | _], _} -> erlang:error({?NOT_RUN, {bad_option, Bad}})
    end;
where(Options) ->
    erlang:error({?NOT_RUN, {bad_option, Options}}).

route(Where, Name, Kind, Function, Args, Options, Tries) ->
    Local = local_pool(Name),
    Here = node(),
    case Where of
        any when Local =/= none ->
            try wasm_runtime_nif_pool:call_if_idle(Local, Kind, Function, Args, left(Options)) of
                {ok, Value} -> Value;
                busy ->
                    case remote_nodes(Name) of
                        [] -> here(Name, Local, Kind, Function, Args, Options, Tries);
                        Nodes -> remote(pick(Nodes), Name, Kind, Function, Args, Options)
                    end
            catch
                error:Reason:Stack ->
                    case wasm_runtime_nif_pool:failure(Reason) of
                        %% Its version was replaced meanwhile: nothing ran.
                        {true, {Gone, _}} when (Gone =:= pool_stopped orelse Gone =:= no_pool),
                                               Tries > 0 ->
                            route(Where, Name, Kind, Function, Args, Options, Tries - 1);
                        {true, Failure} -> erlang:error({?NOT_RUN, Failure});
                        false -> erlang:raise(error, Reason, Stack)
                    end
            end;
        any ->
            case remote_nodes(Name) of
                [] -> erlang:error({?NOT_RUN, {no_service, Name}});
                Nodes -> remote(pick(Nodes), Name, Kind, Function, Args, Options)
            end;
        Node when Node =:= local; Node =:= Here ->
            case Local of
                none -> erlang:error({?NOT_RUN, {no_service, Name}});
                _ -> here(Name, Local, Kind, Function, Args, Options, Tries)
            end;
        Node ->
            remote(Node, Name, Kind, Function, Args, Options)
    end.

%% On this node's pool, waiting for an instance if need be.
here(Name, Pool, Kind, Function, Args, Options, Tries) ->
    try
        case Kind of
            call -> wasm_runtime_nif_pool:call(Pool, Function, Args, left(Options));
            call_raw -> wasm_runtime_nif_pool:call_raw(Pool, Function, Args, left(Options))
        end
    catch
        error:{Gone, Pool} when Gone =:= pool_stopped; Gone =:= no_pool ->
            %% Replaced by a newer version while we waited: nothing ran.
            case Tries > 0 of
                true -> route(local, Name, Kind, Function, Args, Options, Tries - 1);
                false -> erlang:error({?NOT_RUN, {no_service, Name}})
            end
    end.

%% The nodes other than this one serving the newest version of `Name'.
remote_nodes(Name) ->
    Here = node(),
    Groups = [{Version, Group} || {wasm_runtime_nif_service, N, Version} = Group
                                      <- pg:which_groups(?SCOPE), N =:= Name],
    case lists:reverse(lists:sort(Groups)) of
        [{_, Group} | _] -> lists:usort([node(Pid) || Pid <- pg:get_members(?SCOPE, Group)]) -- [Here];
        [] -> []
    end.

%% Any of them: the load is spread by chance, and a node's own queue
%% absorbs the rest.
pick(Nodes) ->
    lists:nth(rand:uniform(length(Nodes)), Nodes).

%% The call on `Node', through erpc: never retried, and every way it can
%% end said apart (docs/clusters.md, "Failures").
remote(Node, Name, Kind, Function, Args, {_, Deadline} = Options) ->
    Given = left(Options),
    Timeout = case Deadline of
                  infinity -> infinity;
                  _ -> proplists:get_value(timeout, Given) + ?ERPC_GRACE_MS
              end,
    try
        erpc:call(Node, ?MODULE, run_here, [Name, Kind, Function, Args, Given], Timeout)
    catch
        error:{exception, {?NOT_RUN, Reason}, _} -> erlang:error({?NOT_RUN, {not_run, Node, Reason}});
        error:{exception, Reason, Stack} -> erlang:raise(error, Reason, Stack);
        exit:{exception, Reason} -> exit(Reason);
        throw:Thrown -> throw(Thrown);
        error:{erpc, noconnection} -> erlang:error({?NOT_RUN, {nodedown, Node}});
        error:{erpc, timeout} -> erlang:error({?NOT_RUN, {remote_timeout, Node}});
        exit:{signal, Reason} -> erlang:error({?NOT_RUN, {remote_exit, Node, Reason}});
        error:{erpc, Reason} -> erlang:error({?NOT_RUN, {not_run, Node, Reason}})
    end.

%% @private The call, on this node's pool of `Name', for a caller
%% elsewhere.
-spec run_here(name(), call | call_raw, wasm_runtime_nif:func_name(), list(), list()) -> term().
run_here(Name, Kind, Function, Args, Options) ->
    case local_pool(Name) of
        none -> erlang:error({?NOT_RUN, {no_service, Name}});
        Pool -> here(Name, Pool, Kind, Function, Args, deadline(Options), ?RETRIES)
    end.

%% The pool serving `Name' here, or `none' (the application not started
%% counts as none).
local_pool(Name) ->
    try ets:lookup(?TABLE, Name) of
        [{Name, _Version, Pool}] -> Pool;
        [] -> none
    catch
        error:badarg -> none
    end.

%%% Facts

%% @doc What this node knows of `Name': the version it serves, the nodes
%% serving that version, and this node's pool (`undefined' while its
%% supervisor starts it again).
-spec info(name()) -> #{version := pos_integer(), nodes := [node()],
                        pool := wasm_runtime_nif_pool:pool_info() | undefined} | undefined.
info(Name) ->
    case catch ets:lookup(?TABLE, Name) of
        [{Name, Version, Pool}] ->
            Members = pg:get_members(?SCOPE, {wasm_runtime_nif_service, Name, Version}),
            PoolInfo = try wasm_runtime_nif_pool:info(Pool)
                       catch error:_ -> undefined
                       end,
            #{version => Version, nodes => lists:usort([node(P) || P <- Members]),
              pool => PoolInfo};
        _ ->
            undefined
    end.

%% @doc The services this node serves, with their versions.
-spec which_services() -> [{name(), pos_integer()}].
which_services() ->
    try ets:tab2list(?TABLE) of
        Rows -> lists:sort([{Name, Version} || {Name, Version, _} <- Rows])
    catch
        error:badarg -> []
    end.
