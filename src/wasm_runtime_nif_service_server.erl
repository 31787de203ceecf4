%% @private
%% @doc A node's part of the cluster's services (wasm_runtime_nif_service):
%% which services this node serves, at which version, from which pool. One
%% per node, member of the `pg' group of managers. It owns the table the
%% callers read (`{Name, Version, Pool}'), keeps each service's bytes for
%% nodes that join later, retires the pool of a version a newer one
%% replaced, and exchanges the list of services with the other nodes when
%% they come up and every few seconds: the newest version of each wins
%% everywhere, and an undeployed service stays undeployed
%% (docs/clusters.md). Nothing long runs in it: compiles, instantiations,
%% pool stops and fetches run in processes of their own.
-module(wasm_runtime_nif_service_server).
-behaviour(gen_server).

-export([start_link/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
%% Called by erpc from the node that deploys, or from a node catching up.
-export([versions/1, prepare/4, commit/2, abort/2, undeploy/2, services/0, bytes/2]).

-include("wasm_runtime_nif_pool.hrl").

-define(SERVER, ?MODULE).
-define(TABLE, wasm_runtime_nif_services).
-define(SCOPE, wasm_runtime_nif_pg).
-define(MANAGERS, wasm_runtime_nif_managers).
%% How often a retired version's pool is looked at while it drains.
-define(DRAIN_POLL_MS, 100).
%% How often this node compares its services with every other node's.
-define(SYNC_MS, 5000).
%% How long a version prepared for a deploy that never committed or
%% aborted (its deployer died or timed out) is kept.
-define(PREPARED_MAX_AGE_MS, 600000).
%% How often, and how many times, the pool of a served version restarted
%% by its supervisor is looked for to join its group again.
-define(REJOIN_MS, 100).
-define(REJOIN_TRIES, 50).

-record(service, {version :: pos_integer(),
                  %% `undeployed' for a tombstone: the version that removed it.
                  pool :: term() | undeployed,
                  %% `undefined' for a pool adopted after a restart.
                  bytes :: binary() | undefined,
                  options :: map(),
                  %% The pool server's monitor, while it serves.
                  monitor :: reference() | undefined}).

-record(state, {services = #{} :: #{term() => #service{}},
                %% Prepared, not yet committed: {Name, Version} => {When, #service{}}.
                prepared = #{} :: #{{term(), pos_integer()} => {integer(), #service{}}},
                %% Versions being fetched from another node.
                fetching = #{} :: #{{term(), pos_integer()} => true}}).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?SERVER}, ?MODULE, [], []).

%%% Called on this node by the deploying node (through erpc)

%% @doc The highest version of `Name' this node has seen: served,
%% undeployed or prepared; 0 if none.
-spec versions(term()) -> non_neg_integer().
versions(Name) ->
    gen_server:call(?SERVER, {version, Name}, infinity).

%% @doc Compiles `Bytes' here (with this node's cache directory when
%% configured) and starts the version's pool, not yet serving. One version
%% of a name is always the same bytes (deploys of a name take turns, and
%% each takes a version above every one seen), so a pool already started
%% for it is the one wanted.
-spec prepare(term(), pos_integer(), binary(), map()) -> ok | {error, term()}.
prepare(Name, Version, Bytes, Options) ->
    #{pool := PoolOptions, compile := CompileOptions} = Options,
    case wasm_runtime_nif:compile(Bytes, with_cache(CompileOptions)) of
        {ok, Module} ->
            Pool = {wasm_runtime_nif_service, Name, Version},
            Service = #service{version = Version, pool = Pool, bytes = Bytes, options = Options},
            case wasm_runtime_nif_pool:start(Pool, Module, PoolOptions) of
                {ok, _} -> gen_server:call(?SERVER, {prepared, Name, Service}, infinity);
                {error, {already_started, _}} -> gen_server:call(?SERVER, {prepared, Name, Service}, infinity);
                {error, Reason} -> {error, {instantiate, Reason}}
            end;
        {error, Reason} ->
            {error, {compile, Reason}}
    end.

%% @doc Serves the prepared `Version' from now on, if it is newer.
-spec commit(term(), pos_integer()) -> ok.
commit(Name, Version) ->
    gen_server:call(?SERVER, {commit, Name, Version}, infinity).

%% @doc Drops the prepared `Version' (a deploy that failed elsewhere).
-spec abort(term(), pos_integer()) -> ok.
abort(Name, Version) ->
    gen_server:call(?SERVER, {abort, Name, Version}, infinity).

%% @doc Stops serving `Name' and remembers that `Version' removed it.
-spec undeploy(term(), pos_integer()) -> ok.
undeploy(Name, Version) ->
    gen_server:call(?SERVER, {undeploy, Name, Version}, infinity).

%% @doc Every service this node knows, `{Name, Version, serving | undeployed}'.
-spec services() -> [{term(), pos_integer(), serving | undeployed}].
services() ->
    gen_server:call(?SERVER, services, infinity).

%% @doc The bytes of `Name' at `Version', for a node catching up.
-spec bytes(term(), pos_integer()) -> {ok, binary(), map()} | {error, gone}.
bytes(Name, Version) ->
    gen_server:call(?SERVER, {bytes, Name, Version}, infinity).

%%% The server

-spec init([]) -> {ok, #state{}}.
init([]) ->
    process_flag(trap_exit, true),
    ?TABLE = ets:new(?TABLE, [named_table, protected, {read_concurrency, true}]),
    ok = pg:join(?SCOPE, ?MANAGERS, self()),
    ok = net_kernel:monitor_nodes(true),
    State = adopt(#state{}),
    %% Catch up with the nodes connected already; each node that comes up
    %% later is caught up with when it does, and all of them every few
    %% seconds (a node that missed a deploy while connected).
    lists:foreach(fun catch_up_later/1, nodes()),
    _ = erlang:send_after(?SYNC_MS, self(), sync),
    {ok, State}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({version, Name}, _From, #state{services = Services, prepared = Prepared} = State) ->
    Seen = [V || {{N, V}, _} <- maps:to_list(Prepared), N =:= Name]
        ++ [V || #{Name := #service{version = V}} <- [Services]],
    {reply, lists:max([0 | Seen]), State};
handle_call({prepared, Name, #service{version = Version} = Service}, _From,
            #state{prepared = Prepared} = State) ->
    When = erlang:monotonic_time(millisecond),
    {reply, ok, State#state{prepared = Prepared#{{Name, Version} => {When, Service}}}};
handle_call({commit, Name, Version}, _From, State) ->
    {reply, ok, committed(Name, Version, State)};
handle_call({abort, Name, Version}, _From, #state{prepared = Prepared} = State) ->
    case maps:take({Name, Version}, Prepared) of
        {{_, #service{pool = Pool}}, Rest} ->
            stop_later(Pool),
            {reply, ok, State#state{prepared = Rest}};
        error ->
            {reply, ok, State}
    end;
handle_call({undeploy, Name, Version}, _From, State) ->
    {reply, ok, undeployed(Name, Version, State)};
handle_call(services, _From, #state{services = Services} = State) ->
    {reply, [{Name, Version, case Pool of undeployed -> undeployed; _ -> serving end}
             || {Name, #service{version = Version, pool = Pool}} <- maps:to_list(Services)],
     State};
handle_call({bytes, Name, Version}, _From, #state{services = Services} = State) ->
    case Services of
        #{Name := #service{version = Version, pool = Pool, bytes = Bytes, options = Options}}
          when Pool =/= undeployed, is_binary(Bytes) ->
            {reply, {ok, Bytes, Options}, State};
        _ ->
            {reply, {error, gone}, State}
    end;
handle_call({fetch, Name, Version}, _From, #state{fetching = Fetching} = State) ->
    %% One fetch of a version at a time, and none of a version not newer.
    case Fetching of
        #{{Name, Version} := _} -> {reply, false, State};
        _ ->
            case seen(Name, State) < Version of
                true -> {reply, true, State#state{fetching = Fetching#{{Name, Version} => true}}};
                false -> {reply, false, State}
            end
    end;
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({fetched, Name, Version}, #state{fetching = Fetching} = State) ->
    {noreply, State#state{fetching = maps:remove({Name, Version}, Fetching)}};
handle_cast(_Request, State) ->
    {noreply, State}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({nodeup, Node}, State) ->
    catch_up_later(Node),
    {noreply, State};
handle_info(sync, State) ->
    Here = node(),
    lists:foreach(fun catch_up_later/1,
                  lists:usort([node(Pid) || Pid <- pg:get_members(?SCOPE, ?MANAGERS)]) -- [Here]),
    _ = erlang:send_after(?SYNC_MS, self(), sync),
    {noreply, forget_stale_prepared(State)};
handle_info({'DOWN', Monitor, process, _, _}, #state{services = Services} = State) ->
    %% A served version's pool stopped: its supervisor starts it again (a
    %% new server, to put in the group in its place).
    case [Name || {Name, #service{monitor = M}} <- maps:to_list(Services), M =:= Monitor] of
        [Name] -> {noreply, rejoin(Name, ?REJOIN_TRIES, State)};
        [] -> {noreply, State}
    end;
handle_info({rejoin, Name, Tries}, State) ->
    {noreply, rejoin(Name, Tries, State)};
handle_info(_Message, State) ->
    {noreply, State}.

%%% Versions

%% The highest version of `Name' served or undeployed here.
seen(Name, #state{services = Services}) ->
    case Services of
        #{Name := #service{version = Version}} -> Version;
        _ -> 0
    end.

%% `Version' of `Name' serves from now on here if it is newer than what
%% this node has; the pool of the version it replaces retires.
committed(Name, Version, #state{services = Services, prepared = Prepared} = State) ->
    case maps:take({Name, Version}, Prepared) of
        {{_, #service{pool = Pool, options = Options} = Service}, Rest} ->
            case seen(Name, State) < Version of
                true ->
                    true = ets:insert(?TABLE, {Name, Version, Pool}),
                    retire(Name, Services, maps:get(drain_timeout, Options, 30000)),
                    rejoin(Name, ?REJOIN_TRIES,
                           State#state{services = Services#{Name => Service}, prepared = Rest});
                false ->
                    stop_later(Pool),
                    State#state{prepared = Rest}
            end;
        error ->
            State
    end.

undeployed(Name, Version, #state{services = Services} = State) ->
    case seen(Name, State) < Version of
        true ->
            true = ets:delete(?TABLE, Name),
            retire(Name, Services, 30000),
            Tombstone = #service{version = Version, pool = undeployed, bytes = <<>>, options = #{}},
            State#state{services = Services#{Name => Tombstone}};
        false ->
            State
    end.

%% Callers elsewhere find a version's pools through its pg group, which
%% holds the pool's server, monitored: a pool restarted joins again.
serve(Name, #service{version = Version, pool = Pool} = Service) ->
    case pool_server(Pool) of
        undefined ->
            Service#service{monitor = undefined};
        Server ->
            ok = pg:join(?SCOPE, group(Name, Version), Server),
            Service#service{monitor = erlang:monitor(process, Server)}
    end.

rejoin(Name, Tries, #state{services = Services} = State) ->
    case Services of
        #{Name := #service{pool = Pool} = Service} when Pool =/= undeployed ->
            case serve(Name, Service) of
                #service{monitor = undefined} when Tries > 0 ->
                    _ = erlang:send_after(?REJOIN_MS, self(), {rejoin, Name, Tries - 1}),
                    State;
                Served ->
                    State#state{services = Services#{Name => Served}}
            end;
        _ ->
            State
    end.

group(Name, Version) ->
    {wasm_runtime_nif_service, Name, Version}.

pool_server(Pool) ->
    wasm_runtime_nif_pool:server(Pool).

%% The version being replaced leaves its group at once (calls by name stop
%% going to it) and its pool stops once its calls are done, or after
%% `DrainTimeout': calls still waiting then get pool_stopped, which the
%% service answers by calling the new version (nothing ran).
retire(Name, Services, DrainTimeout) ->
    case Services of
        #{Name := #service{version = Version, pool = Pool, monitor = Monitor}} when Pool =/= undeployed ->
            _ = Monitor =/= undefined andalso erlang:demonitor(Monitor, [flush]),
            case pool_server(Pool) of
                undefined -> ok;
                Server -> _ = pg:leave(?SCOPE, group(Name, Version), Server), ok
            end,
            Until = erlang:monotonic_time(millisecond) + DrainTimeout,
            _ = spawn(fun() -> drain(Pool, Until) end),
            ok;
        _ ->
            ok
    end.

drain(Pool, Until) ->
    Idle = try wasm_runtime_nif_pool:info(Pool) of
               #{busy := 0, waiting := 0} -> true;
               _ -> false
           catch
               error:_ -> true
           end,
    case Idle orelse erlang:monotonic_time(millisecond) >= Until of
        true ->
            _ = wasm_runtime_nif_pool:stop(Pool),
            ok;
        false ->
            receive after ?DRAIN_POLL_MS -> ok end,
            drain(Pool, Until)
    end.

%% Stopping a pool waits for the pools' supervisor, which may be starting
%% another: never in this server.
stop_later(Pool) ->
    _ = spawn(fun() -> wasm_runtime_nif_pool:stop(Pool) end),
    ok.

forget_stale_prepared(#state{prepared = Prepared} = State) ->
    Now = erlang:monotonic_time(millisecond),
    {Stale, Kept} = maps:fold(fun(_Key, {When, _} = Entry, {S, K}) when Now - When > ?PREPARED_MAX_AGE_MS ->
                                      {[Entry | S], K};
                                 (Key, Entry, {S, K}) ->
                                      {S, K#{Key => Entry}}
                              end, {[], #{}}, Prepared),
    lists:foreach(fun({_, #service{pool = Pool}}) -> stop_later(Pool) end, Stale),
    State#state{prepared = Kept}.

%% After a restart of this server, the service pools still running (their
%% supervisor was not restarted) serve again: the newest of each name;
%% the others stop. Their bytes are gone with the old server: nodes that
%% join get them from another node.
adopt(State) ->
    Running = [{Name, Version, Pool} || {?HANDLE_KEY({wasm_runtime_nif_service, Name, Version} = Pool), _}
                                            <- persistent_term:get(),
                                        pool_server(Pool) =/= undefined],
    Newest = lists:foldl(fun({Name, Version, Pool}, Acc) ->
                                 case Acc of
                                     #{Name := {V, _}} when V >= Version -> stop_later(Pool), Acc;
                                     #{Name := {_, Older}} -> stop_later(Older), Acc#{Name => {Version, Pool}};
                                     _ -> Acc#{Name => {Version, Pool}}
                                 end
                         end, #{}, Running),
    maps:fold(fun(Name, {Version, Pool}, #state{services = Services} = S) ->
                      true = ets:insert(?TABLE, {Name, Version, Pool}),
                      Service = #service{version = Version, pool = Pool, bytes = undefined,
                                         options = #{}},
                      S#state{services = Services#{Name => serve(Name, Service)}}
              end, State, Newest).

%%% Catching up

%% Asks `Node' which services it has and takes those it has newer: the
%% bytes once, from that node, compiled here. In a process of its own, so
%% that this node's server goes on serving meanwhile.
catch_up_later(Node) ->
    _ = spawn_link(fun() -> catch_up(Node) end),
    ok.

catch_up(Node) ->
    Theirs = try erpc:call(Node, ?MODULE, services, [], 30000)
             catch _:_ -> []
             end,
    %% Not running there yet: that node catches up with us when its server
    %% starts.
    lists:foreach(fun(Service) -> catch_up(Node, Service) end, Theirs).

catch_up(Node, {Name, Version, What}) ->
    try gen_server:call(?SERVER, {fetch, Name, Version}, infinity) of
        false ->
            ok;
        true ->
            try
                fetch(Node, Name, Version, What)
            catch
                Class:Reason ->
                    logger:warning("wasm_runtime_nif: service ~tp version ~b from ~p: ~tp",
                                   [Name, Version, Node, {Class, Reason}])
            after
                gen_server:cast(?SERVER, {fetched, Name, Version})
            end
    catch
        exit:_ -> ok
    end.

fetch(_Node, Name, Version, undeployed) ->
    undeploy(Name, Version);
fetch(Node, Name, Version, serving) ->
    case erpc:call(Node, ?MODULE, bytes, [Name, Version], 60000) of
        {ok, Bytes, Options} ->
            case prepare(Name, Version, Bytes, Options) of
                ok -> commit(Name, Version);
                {error, Reason} -> error({cannot_serve, Reason})
            end;
        {error, gone} ->
            ok
    end.

%% The compile options, with this node's cache directory (the application
%% variable `service_cache') unless a cache is given.
with_cache(Options) ->
    case lists:keymember(cache, 1, Options) of
        true ->
            Options;
        false ->
            case application:get_env(wasm_runtime_nif, service_cache) of
                {ok, Dir} -> [{cache, Dir} | Options];
                undefined -> Options
            end
    end.
