%% @private
%% @doc The application's supervision tree: `wasm_runtime_nif_sup' over
%% the `pg' scope `wasm_runtime_nif_pg', `wasm_runtime_nif_pool_sup' (the
%% pools started with wasm_runtime_nif_pool:start/3, a service's among
%% them) and `wasm_runtime_nif_service_server' (this node's services).
-module(wasm_runtime_nif_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, top).

-spec init(top | pools) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init(top) ->
    Pools = #{id => wasm_runtime_nif_pool_sup,
              start => {supervisor, start_link, [{local, wasm_runtime_nif_pool_sup}, ?MODULE, pools]},
              type => supervisor,
              shutdown => infinity},
    %% The pg scope of the services, the pools, and this node's manager of
    %% services, which needs both: started in this order, and restarted
    %% with what follows the one that failed.
    Scope = #{id => wasm_runtime_nif_pg,
              start => {pg, start_link, [wasm_runtime_nif_pg]}},
    Services = #{id => wasm_runtime_nif_service_server,
                 start => {wasm_runtime_nif_service_server, start_link, []}},
    {ok, {#{strategy => rest_for_one, intensity => 3, period => 10}, [Scope, Pools, Services]}};
init(pools) ->
    %% A pool restarted too often gives up rather than take its siblings
    %% with it: each is its own child, restarted on its own.
    Pool = #{id => wasm_runtime_nif_pool,
             start => {wasm_runtime_nif_pool, start_link, []},
             restart => transient,
             shutdown => 5000,
             modules => [wasm_runtime_nif_pool_server]},
    {ok, {#{strategy => simple_one_for_one, intensity => 10, period => 10}, [Pool]}}.
