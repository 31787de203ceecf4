%% The Rust guest SDK (sdk/rust/erl_nif_wasm): every export of the guest in
%% wasm_runtime_nif_rust_sdk_SUITE_data/rust_guest, with concrete cases and
%% PropEr properties. The Makefile builds the guest into
%% wasm_runtime_nif_rust_sdk_SUITE_data/rust_guest.wasm.
-module(wasm_runtime_nif_rust_sdk_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([exports_have_the_term_signature/1, add/1, sum_list/1, sum_iter/1, double_all/1,
         reverse_bytes/1, upcase/1, map_incr/1, rebuild/1, rebuild_large_terms/1,
         tagged_and_safe_div/1, fail_with/1, badarg_if_negative/1, send_self/1, describe/1,
         codec/1, errors_leave_the_instance_usable/1,
         prop_rebuild_is_identity/1, prop_sum_list_agrees/1, prop_sum_iter_agrees/1,
         prop_double_all_agrees/1, prop_reverse_bytes_agrees/1, prop_map_incr_agrees/1,
         prop_describe_agrees/1]).

-include_lib("common_test/include/ct.hrl").

-import(wasm_test_util, [call/3, quickcheck/2]).
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").

-define(INT64_MIN, -16#8000000000000000).
-define(INT64_MAX, 16#7fffffffffffffff).

all() ->
    [exports_have_the_term_signature, add, sum_list, sum_iter, double_all, reverse_bytes,
     upcase, map_incr, rebuild, rebuild_large_terms, tagged_and_safe_div, fail_with,
     badarg_if_negative, send_self, describe, codec, errors_leave_the_instance_usable,
     prop_rebuild_is_identity, prop_sum_list_agrees, prop_sum_iter_agrees,
     prop_double_all_agrees, prop_reverse_bytes_agrees, prop_map_incr_agrees,
     prop_describe_agrees].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "rust_guest.wasm")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{instance, wasm_test_util:new_instance(Config)} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

%% The value of call/3, or {raised, Reason} for error:Reason.
outcome(Config, Name, Args) ->
    try
        call(Config, Name, Args)
    catch
        error:Reason -> {raised, Reason}
    end.

%% ------------------------------------------------------------------
%% Concrete cases
%% ------------------------------------------------------------------

%% nif! exports (i32 env, i64 x N) -> i64, N the Erlang arity.
exports_have_the_term_signature(Config) ->
    Exports = wasm_runtime_nif:exports(?config(module, Config)),
    Arities = [{add, 2}, {sum_list, 1}, {sum_iter, 1}, {double_all, 1}, {reverse_bytes, 1},
               {upcase, 1}, {map_incr, 2}, {rebuild, 1}, {tagged, 1}, {safe_div, 2},
               {fail_with, 1}, {badarg_if_negative, 1}, {send_self, 1}, {describe, 1},
               {negate, 1}, {greet, 1}, {maybe_double, 1}, {swap, 1}, {histogram, 1},
               {total, 1}],
    [?assertEqual({Name, {func, [i32 | lists:duplicate(Arity, i64)], [i64]}},
                  {Name, proplists:get_value(atom_to_binary(Name, utf8), Exports)})
     || {Name, Arity} <- Arities],
    ?assertEqual(memory, proplists:get_value(<<"memory">>, Exports)).

add(Config) ->
    ?assertEqual(3, call(Config, add, [1, 2])),
    ?assertEqual(-5, call(Config, add, [-7, 2])),
    ?assertEqual(?INT64_MIN, call(Config, add, [?INT64_MAX, 1])),
    ?assertEqual({raised, badarg}, outcome(Config, add, [1 bsl 64, 1])),
    ?assertEqual({raised, badarg}, outcome(Config, add, [1.0, 2])),
    ?assertEqual({raised, badarg}, outcome(Config, add, [one, 2])).

sum_list(Config) ->
    check_sum(Config, sum_list).

sum_iter(Config) ->
    check_sum(Config, sum_iter).

check_sum(Config, Name) ->
    ?assertEqual(15, call(Config, Name, [[1, 2, 3, 4, 5]])),
    ?assertEqual(0, call(Config, Name, [[]])),
    Long = lists:seq(1, 100000),
    ?assertEqual(lists:sum(Long), call(Config, Name, [Long])),
    %% Partial sums may leave 64 bits as long as the total does not.
    ?assertEqual(?INT64_MAX, call(Config, Name, [[?INT64_MAX, 1, -1]])),
    ?assertEqual({raised, overflow}, outcome(Config, Name, [[?INT64_MAX, 1]])),
    ?assertEqual({raised, overflow}, outcome(Config, Name, [[?INT64_MIN, -1]])),
    [?assertEqual({raised, badarg}, outcome(Config, Name, [Bad]))
     || Bad <- [[1 | 2], [1, 2 | improper], not_a_list, <<"abc">>, [1, a], [1 bsl 64], [1.5]]].

double_all(Config) ->
    ?assertEqual([2, 4, -6], call(Config, double_all, [[1, 2, -3]])),
    ?assertEqual([], call(Config, double_all, [[]])),
    %% More elements than one array import takes (65536).
    Long = lists:seq(1, 100000),
    ?assertEqual([2 * X || X <- Long], call(Config, double_all, [Long])),
    ?assertEqual({raised, overflow}, outcome(Config, double_all, [[1, ?INT64_MAX]])),
    [?assertEqual({raised, badarg}, outcome(Config, double_all, [Bad]))
     || Bad <- [[1 | 2], x, [x], #{}]].

reverse_bytes(Config) ->
    ?assertEqual(<<>>, call(Config, reverse_bytes, [<<>>])),
    ?assertEqual(<<"cba">>, call(Config, reverse_bytes, [<<"abc">>])),
    <<_, Sub:4/binary, _/binary>> = <<"012345">>,
    ?assertEqual(<<"4321">>, call(Config, reverse_bytes, [Sub])),
    Big = crypto:strong_rand_bytes(1000000),
    ?assertEqual(reverse(Big), call(Config, reverse_bytes, [Big])),
    [?assertEqual({raised, badarg}, outcome(Config, reverse_bytes, [Bad]))
     || Bad <- ["abc", <<1:7>>, 1, abc]].

upcase(Config) ->
    ?assertEqual(<<"HELLO, WORLD 42!">>, call(Config, upcase, [<<"Hello, world 42!">>])),
    ?assertEqual(<<>>, call(Config, upcase, [<<>>])),
    %% Only ASCII letters change.
    ?assertEqual(<<"ÉTÉ"/utf8>>, call(Config, upcase, [<<"ÉtÉ"/utf8>>])),
    ?assertEqual({raised, badarg}, outcome(Config, upcase, ["abc"])).

map_incr(Config) ->
    ?assertEqual(#{a => 2}, call(Config, map_incr, [#{a => 1}, a])),
    ?assertEqual(#{a => 1, b => 1}, call(Config, map_incr, [#{a => 1}, b])),
    ?assertEqual(#{{k, [1]} => 1}, call(Config, map_incr, [#{}, {k, [1]}])),
    %% Keys compare with =:=, so 1.0 is another key than 1.
    ?assertEqual(#{1 => 5, 1.0 => 1}, call(Config, map_incr, [#{1 => 5}, 1.0])),
    Big = maps:from_list([{N, N} || N <- lists:seq(1, 1000)]),
    ?assertEqual(Big#{500 := 501}, call(Config, map_incr, [Big, 500])),
    ?assertEqual({raised, overflow}, outcome(Config, map_incr, [#{a => ?INT64_MAX}, a])),
    [?assertEqual({raised, badarg}, outcome(Config, map_incr, Bad))
     || Bad <- [[[], a], [{}, a], [#{a => x}, a], [#{a => 1.0}, a]]].

rebuild(Config) ->
    Port = hd(erlang:ports()),
    Terms = [0, -1, ?INT64_MAX, ?INT64_MIN, ?INT64_MAX + 1, ?INT64_MIN - 1,
             1 bsl 64, (1 bsl 64) - 1, 1 bsl 1000, -(1 bsl 1000),
             0.0, -1.5, 1.0e300, 5.0e-324,
             ok, '', 'with space', 'Ünïcödé', list_to_atom(lists:duplicate(255, $a)),
             list_to_atom([16#3b1, 16#3b2]),
             <<>>, <<"bin">>, <<0:7>>, <<1:1>>, binary:copy(<<"x">>, 100000),
             [], "string", [1 | 2], [a, b | <<"tail">>], [[[]]],
             {}, {1}, {a, {b, {c}}}, list_to_tuple(lists:seq(1, 100)),
             #{}, #{a => 1}, #{[1] => #{{}=> []}}, #{1 => a, 1.0 => b},
             self(), make_ref(), Port, fun() -> ok end, fun lists:map/2,
             {[1, 2.0, <<"3">>, four, {5}, #{six => [7 | 8]}], self()}],
    [?assertEqual({T, true}, {T, T =:= call(Config, rebuild, [T])}) || T <- Terms].

%% Terms past the stack buffers (32 handles) and past what one array import
%% copies (65536 handles).
rebuild_large_terms(Config) ->
    Same = fun(T) -> ?assert(T =:= call(Config, rebuild, [T])) end,
    Same(lists:seq(1, 70000)),
    Same(list_to_tuple(lists:seq(1, 30000))),
    Same(maps:from_list([{N, -N} || N <- lists:seq(1, 40)])),
    Same(maps:from_list([{N, -N} || N <- lists:seq(1, 70000)])),
    Same(lists:foldl(fun(N, Acc) -> [N | Acc] end, nested, lists:seq(1, 1000))),
    %% Tuples over 65,536 elements go through the external term format, and
    %% one import decodes at most 256 KiB of it (the trap ends the instance).
    Huge = list_to_tuple(lists:seq(1, 70000)),
    ?assertMatch({trap, term_limit, _},
                 wasm_test_util:raised(fun() -> call(Config, rebuild, [Huge]) end)).

tagged_and_safe_div(Config) ->
    ?assertEqual({ok, x}, call(Config, tagged, [x])),
    ?assertEqual({ok, {nested, [1]}}, call(Config, tagged, [{nested, [1]}])),
    ?assertEqual({ok, 3}, call(Config, safe_div, [7, 2])),
    ?assertEqual({ok, -3}, call(Config, safe_div, [-7, 2])),
    ?assertEqual({error, division_by_zero}, call(Config, safe_div, [7, 0])),
    %% i64::MIN / -1 overflows.
    ?assertEqual({error, division_by_zero}, call(Config, safe_div, [?INT64_MIN, -1])).

fail_with(Config) ->
    [?assertEqual({raised, Reason}, outcome(Config, fail_with, [Reason]))
     || Reason <- [oops, badarg, {my, reason, [1, 2]}, #{why => <<"because">>}, 42, []]],
    %% Of class error, as erlang:error/1.
    ?assertEqual({error, {custom, 1}},
                 try call(Config, fail_with, [{custom, 1}]) catch Class:Reason -> {Class, Reason} end).

badarg_if_negative(Config) ->
    ?assertEqual(0, call(Config, badarg_if_negative, [0])),
    ?assertEqual(7, call(Config, badarg_if_negative, [7])),
    ?assertEqual({raised, badarg}, outcome(Config, badarg_if_negative, [-1])),
    ?assertEqual({raised, badarg}, outcome(Config, badarg_if_negative, [?INT64_MIN])),
    ?assertEqual({raised, badarg}, outcome(Config, badarg_if_negative, [seven])).

send_self(Config) ->
    Ref = call(Config, send_self, [hello]),
    ?assert(is_reference(Ref)),
    receive
        Message -> ?assertEqual({from_rust, hello}, Message)
    after 5000 ->
        ct:fail(no_message)
    end,
    Msg = {self(), [1, 2, 3], #{k => <<"v">>}},
    Ref2 = call(Config, send_self, [Msg]),
    ?assertNotEqual(Ref, Ref2),
    receive
        {from_rust, Got} -> ?assertEqual(Msg, Got)
    after 5000 ->
        ct:fail(no_message)
    end.

describe(Config) ->
    Port = hd(erlang:ports()),
    Cases = [{atom, ok}, {bitstring, <<"bin">>}, {bitstring, <<1:3>>}, {float, 1.5},
             {'fun', fun() -> ok end}, {integer, 1}, {integer, 1 bsl 100}, {list, []},
             {list, [1 | 2]}, {map, #{}}, {pid, self()}, {port, Port},
             {reference, make_ref()}, {tuple, {}}],
    [?assertEqual({T, Type}, {T, call(Config, describe, [T])}) || {Type, T} <- Cases].

%% The other conversions of the SDK, through small exports.
codec(Config) ->
    %% bool <-> true | false
    ?assertEqual(false, call(Config, negate, [true])),
    ?assertEqual(true, call(Config, negate, [false])),
    ?assertEqual({raised, badarg}, outcome(Config, negate, [yes])),
    %% String <-> UTF-8 binary
    ?assertEqual(<<"Hello, wörld!"/utf8>>, call(Config, greet, [<<"wörld"/utf8>>])),
    ?assertEqual({raised, badarg}, outcome(Config, greet, [<<255, 0>>])),
    ?assertEqual({raised, badarg}, outcome(Config, greet, ["charlist"])),
    %% Option <-> nil | value
    ?assertEqual(nil, call(Config, maybe_double, [nil])),
    ?assertEqual(42, call(Config, maybe_double, [21])),
    ?assertEqual(-16#100000000, call(Config, maybe_double, [-16#80000000])),
    ?assertEqual({raised, badarg}, outcome(Config, maybe_double, [16#80000000])),
    %% 2-tuples
    ?assertEqual({b, a}, call(Config, swap, [{a, b}])),
    [?assertEqual({raised, badarg}, outcome(Config, swap, [Bad])) || Bad <- [{a}, {a, b, c}, [a, b]]],
    %% BTreeMap <-> map
    ?assertEqual(#{$a => 2, $b => 1}, call(Config, histogram, [<<"aba">>])),
    ?assertEqual(#{}, call(Config, histogram, [<<>>])),
    ?assertEqual(256, map_size(call(Config, histogram, [list_to_binary(lists:seq(0, 255))]))),
    ?assertEqual(6, call(Config, total, [#{<<"a">> => 1, <<"b">> => 2, <<"c">> => 3}])),
    ?assertEqual(0, call(Config, total, [#{}])),
    ?assertEqual({raised, badarg}, outcome(Config, total, [#{a => 1}])),
    ?assertEqual({raised, badarg}, outcome(Config, total, [[{<<"a">>, 1}]])).

%% Raising is not trapping: the instance keeps working.
errors_leave_the_instance_usable(Config) ->
    ?assertEqual({raised, badarg}, outcome(Config, sum_list, [x])),
    ?assertEqual({raised, {a, b}}, outcome(Config, fail_with, [{a, b}])),
    ?assertEqual({raised, overflow}, outcome(Config, double_all, [[?INT64_MAX]])),
    ?assertEqual(3, call(Config, add, [1, 2])).

%% ------------------------------------------------------------------
%% Properties
%% ------------------------------------------------------------------

prop_rebuild_is_identity(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(T, any_term(),
                  T =:= wasm_runtime_nif:call(I, rebuild, [T])), 500).

prop_sum_list_agrees(Config) ->
    sum_agrees(Config, sum_list).

prop_sum_iter_agrees(Config) ->
    sum_agrees(Config, sum_iter).

sum_agrees(Config, Name) ->
    quickcheck(?FORALL(L, list(some_int64()),
                  outcome(Config, Name, [L]) =:= in_int64(lists:sum(L))), 300).

prop_double_all_agrees(Config) ->
    quickcheck(?FORALL(L, list(some_int64()),
                  outcome(Config, double_all, [L])
                      =:= case lists:all(fun(X) -> in_int64(2 * X) =:= 2 * X end, L) of
                              true -> lists:map(fun(X) -> 2 * X end, L);
                              false -> {raised, overflow}
                          end), 300).

prop_reverse_bytes_agrees(Config) ->
    quickcheck(?FORALL(B, oneof([binary(), ?LET(N, integer(0, 100000), binary(N))]),
                  call(Config, reverse_bytes, [B]) =:= reverse(B)), 300).

prop_map_incr_agrees(Config) ->
    quickcheck(?FORALL({Pairs, Fresh, Pick}, {list({small_term(), integer()}), small_term(), integer()},
                  begin
                      Map = maps:from_list(Pairs),
                      Key = case Pairs of
                                [] -> Fresh;
                                _ when Pick rem 3 =:= 0 -> Fresh;
                                _ -> element(1, lists:nth(1 + abs(Pick) rem length(Pairs), Pairs))
                            end,
                      outcome(Config, map_incr, [Map, Key])
                          =:= maps:update_with(Key, fun(V) -> V + 1 end, 1, Map)
                  end), 300).

prop_describe_agrees(Config) ->
    quickcheck(?FORALL(T, any_term(), call(Config, describe, [T]) =:= type_of(T)), 300).

%% ------------------------------------------------------------------
%% Helpers and generators
%% ------------------------------------------------------------------

reverse(Bin) ->
    list_to_binary(lists:reverse(binary_to_list(Bin))).

%% What a guest returning a 64-bit result gives for N.
in_int64(N) when N >= ?INT64_MIN, N =< ?INT64_MAX -> N;
in_int64(_) -> {raised, overflow}.

type_of(T) when is_atom(T) -> atom;
type_of(T) when is_bitstring(T) -> bitstring;
type_of(T) when is_float(T) -> float;
type_of(T) when is_function(T) -> 'fun';
type_of(T) when is_integer(T) -> integer;
type_of(T) when is_list(T) -> list;
type_of(T) when is_map(T) -> map;
type_of(T) when is_pid(T) -> pid;
type_of(T) when is_port(T) -> port;
type_of(T) when is_reference(T) -> reference;
type_of(T) when is_tuple(T) -> tuple.

%% Mostly small integers, sometimes near the ends of the 64-bit range.
some_int64() ->
    frequency([{5, integer()},
               {2, integer(?INT64_MIN, ?INT64_MAX)},
               {1, oneof([?INT64_MIN, ?INT64_MAX, ?INT64_MAX div 2 + 1])}]).

%% Any integer, bignums included.
any_integer() ->
    oneof([integer(),
           integer(?INT64_MIN, ?INT64_MAX),
           ?LET({N, Shift}, {integer(), integer(60, 300)}, (N bsl Shift) + N),
           oneof([?INT64_MAX + 1, ?INT64_MIN - 1, 1 bsl 64, (1 bsl 64) - 1])]).

%% Atoms of Latin-1 characters (atoms with characters above 255 have no
%% Latin-1 name; rebuild copies them through the external format).
latin1_atom() ->
    ?LET(Chars, list(integer(0, 255)), list_to_atom(Chars)).

leaf() ->
    oneof([any_integer(), float(), latin1_atom(), binary(), bitstring(), [], {}, #{},
           exactly(self()), ?LET(_, integer(), make_ref())]).

small_term() ->
    oneof([integer(), latin1_atom(), binary(), float(), ?LAZY(tuple([integer(), atom()]))]).

any_term() ->
    ?SIZED(Size, any_term(Size)).

any_term(Size) when Size =< 1 ->
    leaf();
any_term(Size) ->
    Smaller = ?LAZY(any_term(Size div 3)),
    frequency([{4, leaf()},
               {1, list(Smaller)},
               {1, ?LET({L, Tail}, {non_empty(list(Smaller)), non_list_leaf()}, L ++ Tail)},
               {1, ?LET(L, list(Smaller), list_to_tuple(L))},
               {1, ?LET(Pairs, list({Smaller, Smaller}), maps:from_list(Pairs))}]).

%% A leaf that is not a list: the tail of an improper list.
non_list_leaf() ->
    oneof([any_integer(), float(), latin1_atom(), binary(), {}, #{}]).
