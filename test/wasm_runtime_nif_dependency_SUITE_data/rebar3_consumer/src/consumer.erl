%% What a new user writes first: the bundled example, called with numbers
%% and with terms.
-module(consumer).

-export([add/2, reverse/1]).

-spec add(integer(), integer()) -> integer().
add(A, B) ->
    ok = wasm_runtime_nif:init(),
    Instance = wasm_runtime_nif:new(),
    wasm_runtime_nif:call_raw(Instance, add_I32, [A, B]).

-spec reverse(binary()) -> binary().
reverse(Bytes) ->
    ok = wasm_runtime_nif:init(),
    wasm_runtime_nif:call(wasm_runtime_nif:new(), binary_reverse, [Bytes]).
