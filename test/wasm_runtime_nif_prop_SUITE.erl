%% Properties: guest results agree with Erlang reference implementations.
-module(wasm_runtime_nif_prop_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([add_i64_wraps_like_wasm/1, add_terms_agrees/1, list_sum_agrees/1,
         binary_reverse_agrees/1, f64_round_trips/1]).

-include_lib("common_test/include/ct.hrl").

-import(wasm_test_util, [quickcheck/2]).
-include_lib("proper/include/proper.hrl").

all() ->
    [add_i64_wraps_like_wasm, add_terms_agrees, list_sum_agrees, binary_reverse_agrees,
     f64_round_trips].

init_per_suite(Config) ->
    ok = wasm_runtime_nif:init(),
    Config.

end_per_suite(_Config) ->
    ok.


int32() -> integer(-16#80000000, 16#7fffffff).
int64() -> integer(-16#8000000000000000, 16#7fffffffffffffff).

wrap(Bits, N) ->
    Unsigned = N band ((1 bsl Bits) - 1),
    case Unsigned >= 1 bsl (Bits - 1) of
        true -> Unsigned - (1 bsl Bits);
        false -> Unsigned
    end.

add_i64_wraps_like_wasm(_Config) ->
    I = wasm_runtime_nif:new(),
    quickcheck(?FORALL({A, B}, {int64(), int64()},
                  wasm_runtime_nif:call_raw(I, add_I64, [A, B]) =:= wrap(64, A + B)), 500).

add_terms_agrees(_Config) ->
    I = wasm_runtime_nif:new(),
    quickcheck(?FORALL({A, B}, {int32(), int32()},
                  wasm_runtime_nif:call(I, add_terms, [A, B]) =:= wrap(32, A + B)), 500).

list_sum_agrees(_Config) ->
    I = wasm_runtime_nif:new(),
    quickcheck(?FORALL(L, list(int32()),
                  wasm_runtime_nif:call(I, add_list_terms, [L]) =:= wrap(32, lists:sum(L))), 500).

binary_reverse_agrees(_Config) ->
    I = wasm_runtime_nif:new(),
    quickcheck(?FORALL(B, binary(),
                  wasm_runtime_nif:call(I, binary_reverse, [B])
                      =:= list_to_binary(lists:reverse(binary_to_list(B)))), 500).

f64_round_trips(_Config) ->
    I = wasm_runtime_nif:new(),
    quickcheck(?FORALL({A, B}, {float(), float()},
                  wasm_runtime_nif:call_raw(I, add_F64, [A, B]) =:= A + B), 500).
