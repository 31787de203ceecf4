%% @private
%% @doc A node's part of the cluster's services (wasm_runtime_nif_service):
%% which services this node serves, at which version, from which pool. One
%% per node, member of the `pg' group of managers. It owns the table the
%% callers read (`{Name, Version, Pool}'), keeps each service's bytes for
%% nodes that join later, drains the pool of a version a newer one
%% replaced, and on each node that comes up exchanges the list of services
%% with its manager: the newest version of each wins everywhere, and an
%% undeployed service stays undeployed (docs/clusters.md).
-module(wasm_runtime_nif_service_server).
-behaviour(gen_server).

-export([start_link/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
%% Called by erpc from the node that deploys, or from a node syncing.
-export([versions/1, prepare/4, commit/2, abort/2, undeploy/2, services/0, bytes/2]).

-include("wasm_runtime_nif_pool.hrl").

-define(SERVER, ?MODULE).
-define(TABLE, wasm_runtime_nif_services).
-define(SCOPE, wasm_runtime_nif_pg).
-define(MANAGERS, wasm_runtime_nif_managers).
%% How often a replaced version's pool is looked at while it drains.
-define(DRAIN_POLL_MS, 100).

-record(service, {version :: pos_integer(),
                  %% `undeployed' for a tombstone: the version that removed it.
                  pool :: term() | undeployed,
                  bytes :: binary(),
                  options :: map()}).

-record(state, {services = #{} :: #{term() => #service{}},
                %% Prepared, not yet committed: {Name, Version} => #service{}.
                prepared = #{} :: #{{term(), pos_integer()} => #service{}}}).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?SERVER}, ?MODULE, [], []).

%%% Called on this node by the deploying node (through erpc)

%% @doc The version of `Name' here: 0 if this node never had it.
-spec versions(term()) -> non_neg_integer().
versions(Name) ->
    gen_server:call(?SERVER, {version, Name}, infinity).

%% @doc Compiles `Bytes' here (with this node's cache directory when
%% configured) and starts the version's pool, not yet serving.
-spec prepare(term(), pos_integer(), binary(), map()) -> ok | {error, term()}.
prepare(Name, Version, Bytes, Options) ->
    #{pool := PoolOptions, compile := CompileOptions} = Options,
    case wasm_runtime_nif:compile(Bytes, with_cache(CompileOptions)) of
        {ok, Module} ->
            Pool = {wasm_runtime_nif_service, Name, Version},
            case wasm_runtime_nif_pool:start(Pool, Module, PoolOptions) of
                {ok, _} ->
                    Service = #service{version = Version, pool = Pool, bytes = Bytes, options = Options},
                    gen_server:call(?SERVER, {prepared, Name, Service}, infinity);
                {error, {already_started, _}} ->
                    ok;
                {error, Reason} ->
                    {error, {instantiate, Reason}}
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
    ?TABLE = ets:new(?TABLE, [named_table, protected, {read_concurrency, true}]),
    ok = pg:join(?SCOPE, ?MANAGERS, self()),
    ok = net_kernel:monitor_nodes(true),
    %% Catch up with the nodes connected already; each node that comes up
    %% later is caught up with when it does.
    lists:foreach(fun sync_later/1, nodes()),
    {ok, #state{}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({version, Name}, _From, #state{services = Services} = State) ->
    case Services of
        #{Name := #service{version = Version}} -> {reply, Version, State};
        _ -> {reply, 0, State}
    end;
handle_call({prepared, Name, #service{version = Version} = Service}, _From,
            #state{prepared = Prepared} = State) ->
    {reply, ok, State#state{prepared = Prepared#{{Name, Version} => Service}}};
handle_call({commit, Name, Version}, _From, State) ->
    {reply, ok, committed(Name, Version, State)};
handle_call({abort, Name, Version}, _From, #state{prepared = Prepared} = State) ->
    case maps:take({Name, Version}, Prepared) of
        {#service{pool = Pool}, Rest} ->
            _ = wasm_runtime_nif_pool:stop(Pool),
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
          when Pool =/= undeployed ->
            {reply, {ok, Bytes, Options}, State};
        _ ->
            {reply, {error, gone}, State}
    end;
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Request, State) ->
    {noreply, State}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({nodeup, Node}, State) ->
    sync_later(Node),
    {noreply, State};
handle_info({drain, Pool, Until}, State) ->
    drain(Pool, Until),
    {noreply, State};
handle_info(_Message, State) ->
    {noreply, State}.

%%% Versions

%% `Version' of `Name' serves from now on here if it is newer than what
%% this node has; the pool of the version it replaces drains.
committed(Name, Version, #state{services = Services, prepared = Prepared} = State) ->
    case maps:take({Name, Version}, Prepared) of
        {#service{pool = Pool} = Service, Rest} ->
            case newer(Name, Version, Services) of
                true ->
                    true = ets:insert(?TABLE, {Name, Version, Pool}),
                    ok = join(Name, Version, Pool),
                    retire(Name, Services),
                    State#state{services = Services#{Name => Service}, prepared = Rest};
                false ->
                    _ = wasm_runtime_nif_pool:stop(Pool),
                    State#state{prepared = Rest}
            end;
        error ->
            State
    end.

undeployed(Name, Version, #state{services = Services} = State) ->
    case newer(Name, Version, Services) of
        true ->
            true = ets:delete(?TABLE, Name),
            retire(Name, Services),
            Tombstone = #service{version = Version, pool = undeployed, bytes = <<>>, options = #{}},
            State#state{services = Services#{Name => Tombstone}};
        false ->
            State
    end.

newer(Name, Version, Services) ->
    case Services of
        #{Name := #service{version = Current}} -> Version > Current;
        _ -> true
    end.

%% Callers elsewhere find a version's pools through its pg group.
join(Name, Version, Pool) ->
    case persistent_term:get(?HANDLE_KEY(Pool), undefined) of
        #pool{server = Server} -> pg:join(?SCOPE, {wasm_runtime_nif_service, Name, Version}, Server);
        undefined -> ok
    end.

%% The pool of the version being replaced stops once its calls are done,
%% or at the drain timeout: calls still waiting then get pool_stopped,
%% which the service answers by calling the new version (nothing ran).
retire(Name, Services) ->
    case Services of
        #{Name := #service{pool = Pool, options = Options}} when Pool =/= undeployed ->
            Until = erlang:monotonic_time(millisecond) + maps:get(drain_timeout, Options, 30000),
            drain(Pool, Until);
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
        true -> _ = wasm_runtime_nif_pool:stop(Pool), ok;
        false -> _ = erlang:send_after(?DRAIN_POLL_MS, self(), {drain, Pool, Until}), ok
    end.

%%% Catching up

%% Asks `Node' which services it has and takes those it has newer: the
%% bytes once, from that node, compiled here. In a process of its own, so
%% that this node's server goes on serving meanwhile.
sync_later(Node) ->
    _ = spawn(fun() -> sync(Node) end),
    ok.

sync(Node) ->
    try erpc:call(Node, ?MODULE, services, [], 30000) of
        Theirs ->
            lists:foreach(fun(Service) -> catch_up(Node, Service) end, Theirs)
    catch
        _:_ ->
            %% Not running there yet: that node catches up with us when
            %% its server starts.
            ok
    end.

catch_up(Node, {Name, Version, What}) ->
    case versions(Name) < Version of
        true when What =:= undeployed ->
            undeploy(Name, Version);
        true ->
            case erpc:call(Node, ?MODULE, bytes, [Name, Version], 60000) of
                {ok, Bytes, Options} ->
                    case prepare(Name, Version, Bytes, Options) of
                        ok -> commit(Name, Version);
                        {error, Reason} ->
                            logger:warning("wasm_runtime_nif: service ~tp version ~b from ~p "
                                           "could not start here: ~tp",
                                           [Name, Version, Node, Reason])
                    end;
                {error, gone} ->
                    ok
            end;
        false ->
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
