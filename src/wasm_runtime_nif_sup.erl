%% @private
%% @doc The application's supervision tree: `wasm_runtime_nif_sup' over
%% `wasm_runtime_nif_pool_sup' (the pools started with
%% wasm_runtime_nif_pool:start/3, the services' among them) and a
%% supervisor of the services' part: the `pg' scope `wasm_runtime_nif_pg'
%% and `wasm_runtime_nif_service_server' (this node's services).
-module(wasm_runtime_nif_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, top).

-spec init(top | pools | services) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init(top) ->
    Pools = #{id => wasm_runtime_nif_pool_sup,
              start => {supervisor, start_link, [{local, wasm_runtime_nif_pool_sup}, ?MODULE, pools]},
              type => supervisor,
              shutdown => infinity},
    Services = #{id => wasm_runtime_nif_services_sup,
                 start => {supervisor, start_link, [?MODULE, services]},
                 type => supervisor,
                 shutdown => infinity},
    %% The services' part starts its pools under the pools' supervisor: it
    %% is started again when that one is (and so finds its pools gone).
    {ok, {#{strategy => rest_for_one, intensity => 3, period => 10}, [Pools, Services]}};
init(pools) ->
    %% Each pool is a child of its own, restarted alone when it fails; past
    %% 10 restarts in 10 s (of all pools together) this supervisor gives up,
    %% and is started again empty.
    Pool = #{id => wasm_runtime_nif_pool,
             start => {wasm_runtime_nif_pool, start_link, []},
             restart => transient,
             shutdown => 5000,
             modules => [wasm_runtime_nif_pool_server]},
    {ok, {#{strategy => simple_one_for_one, intensity => 10, period => 10}, [Pool]}};
init(services) ->
    %% The pg scope of the services, then this node's service server, which
    %% needs it.
    Scope = #{id => wasm_runtime_nif_pg,
              start => {pg, start_link, [wasm_runtime_nif_pg]}},
    Server = #{id => wasm_runtime_nif_service_server,
               start => {wasm_runtime_nif_service_server, start_link, []}},
    {ok, {#{strategy => rest_for_one, intensity => 3, period => 10}, [Scope, Server]}}.
