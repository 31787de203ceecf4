%% call_raw/3: every numeric type in and out, range checks, arity, names.
-module(wasm_runtime_nif_call_raw_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([i32_values/1, i64_values/1, f32_values/1, f64_values/1, non_finite_floats/1,
         no_results_is_void/1, several_results_are_a_tuple/1, many_params/1,
         out_of_range_is_badarg/1, wrong_type_is_badarg/1, wrong_arity/1,
         undefined_functions/1, names_as_binaries/1, unsupported_signatures/1,
         bad_arguments/1, term_functions_take_numbers_too/1, big_integers_as_floats/1,
         prop_integers_round_to_the_nearest_float/1, names_beyond_latin1/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("proper/include/proper.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [i32_values, i64_values, f32_values, f64_values, non_finite_floats, no_results_is_void,
     several_results_are_a_tuple, many_params, out_of_range_is_badarg, wrong_type_is_badarg,
     wrong_arity, undefined_functions, names_as_binaries, unsupported_signatures,
     bad_arguments, term_functions_take_numbers_too, big_integers_as_floats,
     prop_integers_round_to_the_nearest_float, names_beyond_latin1].

init_per_suite(Config) ->
    [{instance, wasm_test_util:instance(Config, "numbers.wat")} | Config].

end_per_suite(_Config) ->
    ok.

call(Config, Name, Args) ->
    wasm_runtime_nif:call_raw(?config(instance, Config), Name, Args).

i32_values(Config) ->
    [?assertEqual(V, call(Config, id_i32, [V]))
     || V <- [0, 1, -1, 16#7fffffff, -16#80000000, 12345]],
    %% Unsigned spellings are accepted and come back signed, as wasm reads them.
    ?assertEqual(-1, call(Config, id_i32, [16#ffffffff])),
    ?assertEqual(-16#80000000, call(Config, id_i32, [16#80000000])),
    %% Arithmetic wraps like wasm's.
    ?assertEqual(-16#80000000, call(Config, add_i32, [16#7fffffff, 1])).

i64_values(Config) ->
    [?assertEqual(V, call(Config, id_i64, [V]))
     || V <- [0, -1, 1 bsl 40, 16#7fffffffffffffff, -16#8000000000000000]],
    ?assertEqual(-1, call(Config, id_i64, [16#ffffffffffffffff])),
    ?assertEqual(-16#8000000000000000, call(Config, constant, [])).

f32_values(Config) ->
    ?assertEqual(1.5, call(Config, id_f32, [1.5])),
    ?assertEqual(-0.25, call(Config, id_f32, [-0.25])),
    ?assertEqual(3.0, call(Config, id_f32, [3])),
    %% f32 rounds: 0.1 comes back as the nearest f32.
    Tenth = call(Config, id_f32, [0.1]),
    ?assert(abs(Tenth - 0.1) < 1.0e-8 andalso Tenth =/= 0.1),
    ?assertEqual(3.4028234663852886e38, call(Config, id_f32, [3.4028234663852886e38])).

f64_values(Config) ->
    [?assertEqual(V, call(Config, id_f64, [V]))
     || V <- [0.0, -1.5, 1.0e300, 5.0e-324, 0.1]],
    ?assertEqual(7.0, call(Config, id_f64, [7])),
    ?assertEqual(1.8446744073709552e19, call(Config, id_f64, [1 bsl 64 - 1])).

non_finite_floats(Config) ->
    ?assertEqual(infinity, call(Config, div_f64, [1.0, 0.0])),
    ?assertEqual(neg_infinity, call(Config, div_f64, [-1.0, 0.0])),
    ?assertEqual(nan, call(Config, div_f64, [0.0, 0.0])),
    ?assertEqual(infinity, call(Config, div_f32, [1.0, 0.0])),
    ?assertEqual(nan, call(Config, id_f64, [nan])),
    ?assertEqual(infinity, call(Config, id_f32, [infinity])),
    ?assertEqual(neg_infinity, call(Config, id_f64, [neg_infinity])),
    ?assertEqual(0.0, call(Config, div_f64, [1.0, infinity])).

no_results_is_void(Config) ->
    ?assertEqual(void, call(Config, nothing, [])),
    ?assertEqual(void, call(Config, ignore_all, [1, 2, 3.0, 4.0])).

several_results_are_a_tuple(Config) ->
    ?assertEqual({1 bsl 40, 7}, call(Config, swap, [7, 1 bsl 40])),
    ?assertEqual({4.5, 3.0, -2, 1}, call(Config, mixed, [1, -2, 3.0, 4.5])).

many_params(Config) ->
    ?assertEqual(36, call(Config, sum8, [1, 2, 3, 4, 5, 6, 7, 8])).

out_of_range_is_badarg(Config) ->
    [?assertEqual(badarg, raised(fun() -> call(Config, Name, [V]) end))
     || {Name, V} <- [{id_i32, 1 bsl 32}, {id_i32, -(1 bsl 31) - 1},
                      {id_i64, 1 bsl 64}, {id_i64, -(1 bsl 63) - 1},
                      {id_f32, 1.0e39}, {id_f32, -1.0e300}, {id_f32, 1 bsl 200}]].

wrong_type_is_badarg(Config) ->
    [?assertEqual(badarg, raised(fun() -> call(Config, Name, [V]) end))
     || {Name, V} <- [{id_i32, 1.0}, {id_i32, a}, {id_i32, "1"}, {id_i64, <<1>>},
                      {id_i64, nan}, {id_f64, foo}, {id_f32, [1.0]}, {id_f64, {1.0}}]].

wrong_arity(Config) ->
    ?assertEqual({badarity, add_i32, 2, 1}, raised(fun() -> call(Config, add_i32, [1]) end)),
    ?assertEqual({badarity, add_i32, 2, 3}, raised(fun() -> call(Config, add_i32, [1, 2, 3]) end)),
    ?assertEqual({badarity, nothing, 0, 1}, raised(fun() -> call(Config, nothing, [1]) end)).

undefined_functions(Config) ->
    ?assertEqual({undefined_function, nope}, raised(fun() -> call(Config, nope, []) end)),
    ?assertEqual({undefined_function, <<"nope">>}, raised(fun() -> call(Config, <<"nope">>, []) end)),
    %% Exports that are not functions.
    ?assertEqual({undefined_function, memory}, raised(fun() -> call(Config, memory, []) end)),
    ?assertEqual({undefined_function, a_global}, raised(fun() -> call(Config, a_global, []) end)),
    %% The instance still works.
    ?assertEqual(3, call(Config, add_i32, [1, 2])).

names_as_binaries(Config) ->
    ?assertEqual(3, call(Config, <<"add_i32">>, [1, 2])),
    ?assertEqual(3, call(Config, add_i32, [1, 2])),
    ?assertEqual(3, call(Config, <<"add_i32">>, [1, 2])).

unsupported_signatures(Config) ->
    ?assertEqual({unsupported_signature, takes_v128, <<"(v128) -> (i32)">>},
                 raised(fun() -> call(Config, takes_v128, [0]) end)),
    ?assertEqual({unsupported_signature, gives_funcref, <<"() -> (funcref)">>},
                 raised(fun() -> call(Config, gives_funcref, []) end)).

bad_arguments(Config) ->
    I = ?config(instance, Config),
    [?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call_raw(Inst, Name, Args) end))
     || {Inst, Name, Args} <- [{make_ref(), add_i32, [1, 2]},
                               {not_an_instance, add_i32, [1, 2]},
                               {I, "add_i32", [1, 2]},
                               {I, 42, [1, 2]},
                               {I, <<255, 0>>, [1, 2]},
                               {I, add_i32, {1, 2}},
                               {I, add_i32, [1 | 2]},
                               {I, add_i32, not_a_list}]],
    %% A module is not an instance.
    Module = wasm_test_util:load(Config, "numbers.wat"),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call_raw(Module, add_i32, [1, 2]) end)).

term_functions_take_numbers_too(_Config) ->
    %% call_raw/3 passes numbers straight through, even to a term-ABI
    %% function: the guest then holds no valid env or handle.
    {ok, M} = wasm_runtime_nif:compile(
                <<"(module"
                  " (func (export \"echo\") (param i32 i64) (result i64) (local.get 1))"
                  " (func (export \"five\") (param i32 i64) (result i64) (i64.const 5)))">>),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I, echo, [0, 5])),
    ?assertEqual(x, wasm_runtime_nif:call(I, echo, [x])),
    ?assertEqual({bad_result_handle, five, 5}, raised(fun() -> wasm_runtime_nif:call(I, five, [x]) end)).

%% A float parameter takes any integer within the float's range: before,
%% integers outside -2^63..2^64-1 raised badarg.
big_integers_as_floats(Config) ->
    ?assertEqual(1.8446744073709552e19, call(Config, id_f64, [1 bsl 64])),
    ?assertEqual(-1.2676506002282294e30, call(Config, id_f64, [-(1 bsl 100)])),
    ?assertEqual(8.98846567431158e307, call(Config, id_f64, [1 bsl 1023])),
    ?assertEqual(1.7976931348623157e308, call(Config, id_f64, [(1 bsl 1024) - (1 bsl 971)])),
    %% Just below the tie between the largest float and 2^1024.
    ?assertEqual(1.7976931348623157e308, call(Config, id_f64, [(1 bsl 1024) - (1 bsl 970) - 1])),
    ?assertEqual(1.2676506002282294e30, call(Config, id_f32, [1 bsl 100])),
    ?assertEqual(1.7014118346046923e38, call(Config, id_f32, [1 bsl 127])),
    %% Past the range, as for floats: badarg rather than infinity.
    [?assertEqual(badarg, raised(fun() -> call(Config, Name, [V]) end))
     || {Name, V} <- [{id_f64, 1 bsl 1024}, {id_f64, -(1 bsl 2000)}, {id_f32, 1 bsl 128},
                      {id_f32, -(1 bsl 129)}, {id_f64, (1 bsl 1024) - (1 bsl 970)}]],
    ?assertEqual({1.8446744073709552e19, 1.8446744073709552e19},
                 call(Config, mixed_floats, [1 bsl 64, 1 bsl 64])).

%% Integers of any size round to the nearest float, ties to even, as the
%% IEEE conversion of the exact value does (Erlang's float/1 may differ in
%% the last place above 2^64; it rounds more than once).
prop_integers_round_to_the_nearest_float(Config) ->
    %% Found by the property: an integer that an f64 holds only as a tie
    %% must not round twice on its way to an f32.
    ?assert(check(Config, (1 bsl 53) + (1 bsl 30) + (1 bsl 29) - 1)),
    Property = ?FORALL({Magnitude, Keep, Near, Sign},
                       {big_natural(), range(1, 60), oneof([exact, tie, below, above]),
                        oneof([1, -1])},
                       check(Config, Sign * near_a_tie(Magnitude, Keep, Near))),
    wasm_test_util:quickcheck(Property, 3000).

%% Naturals of up to 1,120 bits.
big_natural() ->
    ?LET(Bytes, ?LET(N, range(1, 140), vector(N, range(0, 255))),
         binary:decode_unsigned(list_to_binary(Bytes))).

%% X, or X cut to its Keep high bits and then exactly between two numbers
%% of Keep bits, or next to that: where rounding errors show.
near_a_tie(X, _, exact) ->
    X;
near_a_tie(X, Keep0, Near) ->
    Len = bit_length(X),
    Keep = min(Len, Keep0),
    Low = Len - Keep,
    Tie = ((X bsr Low) bsl Low) bor (case Low of 0 -> 0; _ -> 1 bsl (Low - 1) end),
    case Near of
        tie -> Tie;
        below -> max(0, Tie - 1);
        above -> Tie + 1
    end.

check(Config, X) ->
    F64 = raised(fun() -> call(Config, id_f64, [X]) end),
    F32 = raised(fun() -> call(Config, id_f32, [X]) end),
    F64 =:= expected(rounded(X, 53, 1024)) andalso F32 =:= expected(rounded(X, 24, 128)).

expected(badarg) -> badarg;
expected(Float) -> {no_error, Float}.

%% The float with Precision bits nearest to X (ties to even), or badarg
%% when that is 2^MaxExp or more.
rounded(X, Precision, MaxExp) when X < 0 ->
    case rounded(-X, Precision, MaxExp) of
        badarg -> badarg;
        F -> -F
    end;
rounded(X, Precision, MaxExp) ->
    Len = bit_length(X),
    Shift = max(0, Len - Precision),
    M = X bsr Shift,
    Rest = X - (M bsl Shift),
    Half = case Shift of 0 -> 1; _ -> 1 bsl (Shift - 1) end,
    Up = Shift > 0 andalso (Rest > Half orelse (Rest =:= Half andalso M band 1 =:= 1)),
    Mantissa = case Up of true -> M + 1; false -> M end,
    case bit_length(Mantissa) + Shift > MaxExp of
        true -> badarg;
        false -> exact_float(Mantissa, Shift)
    end.

exact_float(Mantissa, Shift) when Shift > 900 ->
    exact_float(Mantissa, Shift - 900) * math:pow(2, 900);
exact_float(Mantissa, Shift) ->
    float(Mantissa bsl Shift).

bit_length(0) -> 0;
bit_length(X) -> length(integer_to_list(X, 2)).

%% Export names are atoms or UTF-8 binaries, whatever their characters:
%% before, atoms above U+00FF raised badarg though print_func found them.
names_beyond_latin1(_Config) ->
    {ok, M} = wasm_runtime_nif:compile(
                <<"(module (func (export \"\\u{3bb}\") (result i32) (i32.const 7))"
                  " (func (export \"caf\\u{e9}\") (result i32) (i32.const 8)))">>),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Lambda = binary_to_atom(<<"λ"/utf8>>, utf8),
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, Lambda, [])),
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, Lambda, [])),
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, <<"λ"/utf8>>, [])),
    ?assertEqual(8, wasm_runtime_nif:call_raw(I, binary_to_atom(<<"café"/utf8>>, utf8), [])),
    ?assertEqual({undefined_function, binary_to_atom(<<"μ"/utf8>>, utf8)},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, binary_to_atom(<<"μ"/utf8>>, utf8), []) end)).
