%% Reloading code: the API module reloads like any module while instances
%% live and calls run; the NIF module refuses a second copy cleanly and
%% keeps the loaded one working. Each case runs in a VM of its own, since
%% it replaces code that every other suite uses.
-module(wasm_runtime_nif_reload_SUITE).

-export([all/0]).
-export([api_module_reloads/1, nif_module_refuses_a_second_copy/1,
         nif_module_loads_again_once_purged/1]).
%% Run on peer nodes.
-export([reload_api_module/0, reload_nif_module/0, purge_and_load_nif_module/0]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

all() ->
    [api_module_reloads, nif_module_refuses_a_second_copy, nif_module_loads_again_once_purged].

on_peer(Function) ->
    wasm_test_util:on_peer([], ?MODULE, Function, [], 60000).

%% Before, reloading wasm_runtime_nif failed its on_load and left calls
%% raising badfun, then crashing the VM.
api_module_reloads(_Config) ->
    ?assertEqual(#{before => 3, reload => {module, wasm_runtime_nif}, after_reload => 3,
                   new_instance => 11, again => {module, wasm_runtime_nif}, last => 3},
                 on_peer(reload_api_module)).

reload_api_module() ->
    ok = wasm_runtime_nif:init(),
    I = wasm_runtime_nif:new(),
    Before = wasm_runtime_nif:call_raw(I, add_I32, [1, 2]),
    Reload = code:load_file(wasm_runtime_nif),
    After = wasm_runtime_nif:call_raw(I, add_I32, [1, 2]),
    New = wasm_runtime_nif:call(wasm_runtime_nif:new(), add_terms, [4, 7]),
    _ = code:soft_purge(wasm_runtime_nif),
    Again = code:load_file(wasm_runtime_nif),
    #{before => Before, reload => Reload, after_reload => After, new_instance => New,
      again => Again, last => wasm_runtime_nif:call_raw(I, add_I32, [1, 2])}.

nif_module_refuses_a_second_copy(_Config) ->
    ?assertEqual(#{reload => {error, on_load_failure}, after_reload => 3, new_instance => 11},
                 on_peer(reload_nif_module)).

reload_nif_module() ->
    ok = wasm_runtime_nif:init(),
    I = wasm_runtime_nif:new(),
    3 = wasm_runtime_nif:call_raw(I, add_I32, [1, 2]),
    Reload = code:load_file(wasm_runtime_nif_nif),
    #{reload => Reload, after_reload => wasm_runtime_nif:call_raw(I, add_I32, [1, 2]),
      new_instance => wasm_runtime_nif:call(wasm_runtime_nif:new(), add_terms, [4, 7])}.

%% With nothing of the library alive, the NIF module can be deleted,
%% purged and loaded again, and works as before.
nif_module_loads_again_once_purged(_Config) ->
    ?assertEqual(#{load => {module, wasm_runtime_nif_nif}, call => 3}, on_peer(purge_and_load_nif_module)).

purge_and_load_nif_module() ->
    {ok, _} = wasm_runtime_nif:compile(<<"(module)">>),
    erlang:garbage_collect(),
    true = code:delete(wasm_runtime_nif_nif),
    _ = code:purge(wasm_runtime_nif_nif),
    Load = code:load_file(wasm_runtime_nif_nif),
    {ok, M} = wasm_runtime_nif:load(code:priv_dir(wasm_runtime_nif) ++ "/example.wasm"),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    #{load => Load, call => wasm_runtime_nif:call_raw(I, add_I32, [1, 2], [{timeout, 1000}])}.
