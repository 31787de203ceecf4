%% @private
%% @doc The application: a supervisor for the pools started with
%% wasm_runtime_nif_pool:start/3. Nothing else needs the application
%% started: modules and instances work without it.
-module(wasm_runtime_nif_app).
-behaviour(application).

-export([start/2, stop/1]).

-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_Type, _Args) ->
    wasm_runtime_nif_sup:start_link().

-spec stop(term()) -> ok.
stop(_State) ->
    ok.
