%% The term API of erl_nif_wasm.h used well: every import, from a C guest
%% (terms.c beside this suite), with concrete values at the edges, and
%% PropEr properties that guest results agree with Erlang's own functions.
%% Misuse by hostile guests is in wasm_runtime_nif_hostile_imports_SUITE.
-module(wasm_runtime_nif_term_imports_SUITE).

-export([all/0, groups/0, suite/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([numbers/1, number_getters_at_the_edges/1, number_makers/1,
         nan_and_infinity_raise_badarg/1, bignums/1, atoms/1, atom_buffers/1,
         existing_and_new_atoms/1, atom_length_limit/1, strings/1, string_buffers/1,
         tuples/1, lists/1, improper_lists/1, binaries/1, sub_binaries/1, iolists/1,
         external_term_format/1, maps/1, map_iteration/1, large_map_iteration/1,
         type_tests/1, compare_and_identical/1, exceptions/1, pending_exceptions/1,
         processes/1, refs/1, printf/1, rebuild_examples/1, rebuild_limits/1,
         array_limits/1]).
-export([prop_rebuild/1, prop_external_format/1, prop_sum/1, prop_double_all/1,
         prop_upcase/1, prop_map_incr/1, prop_reverse/1, prop_compare/1,
         prop_map_iteration/1, prop_strings_and_atoms/1, prop_tuples_and_lists/1,
         prop_sub_binary_and_iolists/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").

-import(wasm_test_util, [raised/1, new_instance/1, call/3, expect_trap/4, quickcheck/2,
                         remote_pid/0, dead_pid/0, a_port/0]).

-define(INT32_MIN, -16#80000000).
-define(INT32_MAX, 16#7fffffff).
-define(UINT32_MAX, 16#ffffffff).
-define(INT64_MIN, -16#8000000000000000).
-define(INT64_MAX, 16#7fffffffffffffff).
-define(UINT64_MAX, 16#ffffffffffffffff).
-define(BIN2TERM_SAFE, 16#20000000).
%% ErlNifTermType
-define(T_ATOM, 1).
-define(T_BITSTRING, 2).
-define(T_FLOAT, 3).
-define(T_FUN, 4).
-define(T_INTEGER, 5).
-define(T_LIST, 6).
-define(T_MAP, 7).
-define(T_PID, 8).
-define(T_PORT, 9).
-define(T_REFERENCE, 10).
-define(T_TUPLE, 11).

suite() ->
    [{timetrap, {minutes, 5}}].

all() ->
    [{group, examples}, {group, properties}].

groups() ->
    [{examples, [],
      [numbers, number_getters_at_the_edges, number_makers, nan_and_infinity_raise_badarg,
       bignums, atoms, atom_buffers, existing_and_new_atoms, atom_length_limit, strings,
       string_buffers, tuples, lists, improper_lists, binaries, sub_binaries, iolists,
       external_term_format, maps, map_iteration, large_map_iteration, type_tests,
       compare_and_identical, exceptions, pending_exceptions, processes, refs, printf,
       rebuild_examples, rebuild_limits, array_limits]},
     {properties, [],
      [prop_rebuild, prop_external_format, prop_sum, prop_double_all, prop_upcase,
       prop_map_incr, prop_reverse, prop_compare, prop_map_iteration, prop_strings_and_atoms,
       prop_tuples_and_lists, prop_sub_binary_and_iolists]}].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "terms.wasm")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{instance, new_instance(Config)} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

%% ---------------------------------------------------------------------------
%% Helpers
%% ---------------------------------------------------------------------------

err(Config, Name, Args) ->
    raised(fun() -> call(Config, Name, Args) end).

%% The trap a call raises on an instance of its own (a trap invalidates the
%% instance); fails unless it is {trap, Kind, Message} with Kind in Kinds.
trap(Config, Kinds, Name, Args) ->
    expect_trap(new_instance(Config), Kinds, Name, Args).
%% The instance still answers (used after exceptions that are not traps).
still_works(Config) ->
    ?assertEqual(6, call(Config, sum, [[1, 2, 3]])).

received(Pattern) ->
    receive
        Msg -> ?assertEqual(Pattern, Msg)
    after 2000 ->
        ct:fail({nothing_received, Pattern})
    end.

%% A term nested in N one-element lists.
nested(0, Leaf) -> Leaf;
nested(N, Leaf) -> [nested(N - 1, Leaf)].

latin1_atom(Codes) -> list_to_atom(Codes).

a255() -> list_to_atom(lists:duplicate(255, $x)).

%% An atom name that exists nowhere yet (the binary itself creates no atom).
new_atom_name() ->
    iolist_to_binary(["term_api_new_atom_", integer_to_list(erlang:unique_integer([positive])),
                      "_", integer_to_list(erlang:system_time())]).

%% ---------------------------------------------------------------------------
%% Numbers
%% ---------------------------------------------------------------------------

numbers(Config) ->
    RoundTrips =
        [{int_roundtrip, [0, 1, -1, ?INT32_MIN, ?INT32_MAX],
          [?INT32_MIN - 1, ?INT32_MAX + 1, 1.0, a, "1", 1 bsl 64]},
         {uint_roundtrip, [0, 1, ?INT32_MAX + 1, ?UINT32_MAX],
          [-1, ?UINT32_MAX + 1, 1.0, a]},
         {int64_roundtrip, [0, -1, ?INT32_MIN - 1, ?INT64_MIN, ?INT64_MAX],
          [?INT64_MIN - 1, ?INT64_MAX + 1, 1.0, 1 bsl 100, <<1>>]},
         {uint64_roundtrip, [0, ?UINT32_MAX + 1, ?INT64_MAX + 1, ?UINT64_MAX],
          [-1, ?UINT64_MAX + 1, -(1 bsl 100), 2.0]},
         {double_roundtrip, [0.0, -1.5, 1.0e308, -1.0e-308, 5.0e-324, 1.7976931348623157e308],
          [0, 1, 1 bsl 70, a, "1.0"]}],
    [begin
         [?assertEqual({Name, X}, {Name, call(Config, Name, [X])}) || X <- Good],
         [?assertEqual({Name, X, badarg}, {Name, X, err(Config, Name, [X])}) || X <- Bad]
     end || {Name, Good, Bad} <- RoundTrips],
    %% Exact: an integer is not a float, and a float is not read as an integer.
    ?assertEqual(badarg, err(Config, int64_roundtrip, [1.0])),
    ?assertEqual(badarg, err(Config, double_roundtrip, [1])),
    %% Sum over int64 (wrapping like C), and errors on anything else.
    ?assertEqual(6, call(Config, sum, [[1, 2, 3]])),
    ?assertEqual(0, call(Config, sum, [[]])),
    ?assertEqual(5000050000, call(Config, sum, [lists:seq(1, 100000)])),
    ?assertEqual(?INT64_MIN, call(Config, sum, [[?INT64_MAX, 1]])),
    [?assertEqual(badarg, err(Config, sum, [L]))
     || L <- [[1 | 2], [1, a], [1.0], [1 bsl 64], not_a_list, <<"12">>]],
    ?assertEqual([2, -4, 3.0, 0, -0.0], call(Config, double_all, [[1, -2, 1.5, 0, -0.0]])),
    ?assertEqual([], call(Config, double_all, [[]])),
    ?assertEqual([2 * X || X <- lists:seq(1, 70000)], call(Config, double_all, [lists:seq(1, 70000)])),
    ?assertEqual([-(1 bsl 63), (1 bsl 63) - 2],
                 call(Config, double_all, [[-(1 bsl 62), (1 bsl 62) - 1]])),
    [?assertEqual(badarg, err(Config, double_all, [L]))
     || L <- [[a], [1 | 2], [1 bsl 62], [-(1 bsl 62) - 1], [1.0e308], [1 bsl 64], x]],
    still_works(Config).

%% What each getter reads at and just past the bounds of its type.
number_getters_at_the_edges(Config) ->
    Edges = [0, 1, -1, ?INT32_MIN - 1, ?INT32_MIN, ?INT32_MAX, ?INT32_MAX + 1, ?UINT32_MAX,
             ?UINT32_MAX + 1, ?INT64_MIN - 1, ?INT64_MIN, ?INT64_MAX, ?INT64_MAX + 1,
             ?UINT64_MAX, ?UINT64_MAX + 1, 1 bsl 200, -(1 bsl 200), 0.0, 1.5, -1.0e300,
             5.0e-324, a, "1", <<1>>, {1}, []],
    [?assertEqual({X, expected_read(X)}, {X, call(Config, read_number, [X])}) || X <- Edges].

%% {get_int32, get_int, get_uint, get_int64, get_uint64, get_double}
expected_read(X) ->
    {in(X, ?INT32_MIN, ?INT32_MAX), in(X, ?INT32_MIN, ?INT32_MAX), in(X, 0, ?UINT32_MAX),
     in(X, ?INT64_MIN, ?INT64_MAX), in(X, 0, ?UINT64_MAX),
     case is_float(X) of true -> X; false -> false end}.

in(X, Low, High) when is_integer(X), X >= Low, X =< High -> X;
in(_, _, _) -> false.

number_makers(Config) ->
    Made = call(Config, make_numbers, []),
    ?assertEqual({?INT32_MIN, ?INT32_MAX, ?UINT32_MAX, ?INT64_MIN, ?INT64_MAX, ?UINT64_MAX, 0,
                  -1.5, 1.7976931348623157e308, 5.0e-324, -0.0},
                 Made),
    %% Each is the exact type and value, and -0.0 keeps its sign.
    ?assert(lists:all(fun erlang:is_integer/1, [element(N, Made) || N <- lists:seq(1, 7)])),
    ?assert(lists:all(fun erlang:is_float/1, [element(N, Made) || N <- lists:seq(8, 11)])),
    <<Sign:1, _:63>> = <<(element(11, Made))/float>>,
    ?assertEqual(1, Sign).

nan_and_infinity_raise_badarg(Config) ->
    [?assertEqual(badarg, err(Config, Name, [])) || Name <- [make_nan, make_inf, make_neg_inf]],
    %% make_double(NaN) made the badarg exception: pending, with reason badarg.
    ?assertEqual(badarg, err(Config, nan_pending, [])),
    received({nan_pending, 1, 1, badarg}),
    %% An exception, not a trap: the instance goes on.
    still_works(Config).

bignums(Config) ->
    Big = [1 bsl 64, ?UINT64_MAX + 1, ?INT64_MIN - 1, -(1 bsl 64), 1 bsl 1000, -(1 bsl 1000) + 7,
           (1 bsl 4096) - 1],
    %% Getters refuse them; the external term format carries their digits.
    [?assertEqual({false, false, false, false, false, false}, call(Config, read_number, [B]))
     || B <- Big],
    [?assertEqual(B, call(Config, rebuild, [B])) || B <- Big],
    [?assertEqual(term_to_binary(B), call(Config, t2b, [B])) || B <- Big],
    [?assertEqual(?T_INTEGER, call(Config, type_of, [B])) || B <- Big],
    ?assertEqual(badarg, err(Config, int64_roundtrip, [1 bsl 64])),
    ?assertEqual(badarg, err(Config, uint64_roundtrip, [1 bsl 64])).

%% ---------------------------------------------------------------------------
%% Atoms and strings
%% ---------------------------------------------------------------------------

atoms(Config) ->
    Latin1 = [latin1_atom([$h, 16#e9, $l, $l, $o]), latin1_atom(lists:seq(1, 255)),
              latin1_atom([0, 255])],
    Good = ['', a, ok, 'hello world', true, a255()] ++ Latin1,
    [?assertEqual(A, call(Config, atom_roundtrip, [A])) || A <- Good],
    [?assertEqual(length(atom_to_list(A)), call(Config, atom_length, [A])) || A <- Good],
    ?assertEqual(255, call(Config, atom_length, [a255()])),
    ?assertEqual(0, call(Config, atom_length, [''])),
    ?assertEqual(5, call(Config, atom_length, [latin1_atom([$h, 16#e9, $l, $l, $o])])),
    %% Atoms with a character above 255 cannot be read in Latin-1.
    Unicode = list_to_atom([16#3b1, $b]),
    ?assertEqual(badarg, err(Config, atom_roundtrip, [Unicode])),
    ?assertEqual(badarg, err(Config, atom_length, [Unicode])),
    [?assertEqual(badarg, err(Config, atom_roundtrip, [T])) || T <- ["abc", <<"abc">>, 1, {a}]],
    [?assertEqual(badarg, err(Config, atom_length, [T])) || T <- ["abc", <<"abc">>, 1, {a}]].

%% get_atom writes the name and a NUL, and refuses a buffer without room for
%% both; nothing is written then (the buffer starts as 0xAA bytes).
atom_buffers(Config) ->
    Fill = fun(N) -> binary:copy(<<16#aa>>, N) end,
    ?assertEqual({6, <<"hello", 0>>}, call(Config, get_atom_sized, [hello, 6])),
    {6, Wide} = call(Config, get_atom_sized, [hello, 10]),
    ?assertEqual(<<"hello", 0>>, binary:part(Wide, 0, 6)),
    ?assertEqual({0, Fill(5)}, call(Config, get_atom_sized, [hello, 5])),
    ?assertEqual({0, Fill(1)}, call(Config, get_atom_sized, [hello, 1])),
    ?assertEqual({0, <<>>}, call(Config, get_atom_sized, [hello, 0])),
    ?assertEqual({1, <<0>>}, call(Config, get_atom_sized, ['', 1])),
    ?assertEqual({0, <<>>}, call(Config, get_atom_sized, ['', 0])),
    ?assertEqual({6, <<$h, 16#e9, "llo", 0>>},
                 call(Config, get_atom_sized, [latin1_atom([$h, 16#e9, $l, $l, $o]), 6])),
    Name = list_to_binary(lists:duplicate(255, $x)),
    ?assertEqual({256, <<Name/binary, 0>>}, call(Config, get_atom_sized, [a255(), 256])),
    ?assertEqual({0, Fill(255)}, call(Config, get_atom_sized, [a255(), 255])),
    [?assertEqual({0, Fill(16)}, call(Config, get_atom_sized, [T, 16]))
     || T <- ["hello", <<"hello">>, 1, list_to_atom([16#3b1])]].

existing_and_new_atoms(Config) ->
    ?assertEqual(ok, call(Config, existing_atom, [<<"ok">>])),
    ?assertEqual('', call(Config, existing_atom, [<<>>])),
    Cafe = latin1_atom([$c, $a, $f, 16#e9]),
    ?assertEqual(Cafe, call(Config, existing_atom, [<<"caf", 16#e9>>])),
    Name = new_atom_name(),
    ?assertEqual(false, call(Config, existing_atom, [Name])),
    ?assertError(badarg, binary_to_existing_atom(Name, latin1)),
    %% make_atom_len creates it.
    New = call(Config, make_atom, [Name]),
    ?assert(is_atom(New)),
    ?assertEqual(New, binary_to_existing_atom(Name, latin1)),
    ?assertEqual(New, call(Config, existing_atom, [Name])),
    %% Latin-1 bytes are characters 0..255.
    ?assertEqual([$n, 16#e9, 0, 255], atom_to_list(call(Config, make_atom, [<<"n", 16#e9, 0, 255>>]))),
    ?assertEqual('', call(Config, make_atom, [<<>>])),
    ?assertEqual(badarg, err(Config, make_atom, [not_a_binary])),
    ?assertEqual(badarg, err(Config, existing_atom, [not_a_binary])).

%% 255 characters is the longest atom; 256 traps with bad_argument, and no
%% atom of 256 characters can exist.
atom_length_limit(Config) ->
    N255 = binary:copy(<<"y">>, 255),
    A = call(Config, make_atom, [N255]),
    ?assertEqual(binary_to_atom(N255, latin1), A),
    ?assertEqual(255, call(Config, atom_length, [A])),
    ?assertEqual(A, call(Config, existing_atom, [N255])),
    N256 = binary:copy(<<"y">>, 256),
    ?assertEqual(false, call(Config, existing_atom, [N256])),
    trap(Config, [bad_argument], make_atom, [N256]),
    trap(Config, [bad_argument], make_atom, [binary:copy(<<"z">>, 70000)]),
    still_works(Config).

strings(Config) ->
    Good = ["", "hello", [16#e9, 0, 255, 1], lists:duplicate(65536, $z), lists:seq(0, 255)],
    [?assertEqual(S, call(Config, string_roundtrip, [S])) || S <- Good],
    [?assertEqual(badarg, err(Config, string_roundtrip, [T]))
     || T <- [[256], [-1], [a], [$a | $b], <<"abc">>, abc, [[$a]], [1.0]]],
    ?assertEqual("abc", call(Config, make_string, [<<"abc">>])),
    ?assertEqual([], call(Config, make_string, [<<>>])),
    ?assertEqual([16#e9, 0, 255], call(Config, make_string, [<<16#e9, 0, 255>>])),
    ?assertEqual(lists:duplicate(65536, $q), call(Config, make_string, [binary:copy(<<"q">>, 65536)])),
    %% make_string_len makes at most 65,536 cells in one go.
    trap(Config, [term_limit], make_string, [binary:copy(<<"q">>, 65537)]),
    trap(Config, [term_limit], string_roundtrip, [lists:duplicate(65537, $z)]).

%% get_string: bytes written NUL included, -Size when truncated (still
%% NUL-terminated), 0 for anything that is not a Latin-1 string.
string_buffers(Config) ->
    Fill = fun(N) -> binary:copy(<<16#aa>>, N) end,
    ?assertEqual({4, <<"abc", 0>>}, call(Config, get_string_sized, ["abc", 4])),
    {4, Wide} = call(Config, get_string_sized, ["abc", 10]),
    ?assertEqual(<<"abc", 0>>, binary:part(Wide, 0, 4)),
    ?assertEqual({-3, <<"ab", 0>>}, call(Config, get_string_sized, ["abc", 3])),
    {-4, Trunc} = call(Config, get_string_sized, ["abcdef", 4]),
    ?assertEqual(<<"abc", 0>>, Trunc),
    ?assertEqual({-1, <<0>>}, call(Config, get_string_sized, ["abc", 1])),
    ?assertEqual({0, <<>>}, call(Config, get_string_sized, ["abc", 0])),
    ?assertEqual({1, <<0>>}, call(Config, get_string_sized, ["", 1])),
    ?assertEqual({3, <<16#e9, 255, 0>>}, call(Config, get_string_sized, [[16#e9, 255], 3])),
    [?assertEqual({T, {0, Fill(10)}}, {T, call(Config, get_string_sized, [T, 10])})
     || T <- [[256], [$a, -1], [$a | $b], not_a_list, <<"abc">>, [a]]].

%% ---------------------------------------------------------------------------
%% Tuples and lists
%% ---------------------------------------------------------------------------

tuples(Config) ->
    ?assertEqual({b, a}, call(Config, tuple_swap, [{a, b}])),
    ?assertEqual({[2], {1}}, call(Config, tuple_swap, [{{1}, [2]}])),
    [?assertEqual(badarg, err(Config, tuple_swap, [T])) || T <- [{}, {a}, {a, b, c}, [a, b], a]],
    %% Capacity 0 asks for the arity: 1 only for {} (it fits), else 0.
    ?assertEqual({1, 0}, call(Config, tuple_arity, [{}])),
    ?assertEqual({0, 1}, call(Config, tuple_arity, [{a}])),
    ?assertEqual({0, 3}, call(Config, tuple_arity, [{a, b, c}])),
    ?assertEqual({0, 70000}, call(Config, tuple_arity, [erlang:make_tuple(70000, x)])),
    [?assertEqual({0, -1}, call(Config, tuple_arity, [T])) || T <- [[a], a, #{}, <<>>]],
    ?assertEqual([], call(Config, tuple_to_list, [{}])),
    ?assertEqual([1, "a", {b}], call(Config, tuple_to_list, [{1, "a", {b}}])),
    ?assertEqual({}, call(Config, list_to_tuple, [[]])),
    ?assertEqual({1, [2], {3}}, call(Config, list_to_tuple, [[1, [2], {3}]])),
    Big = list_to_tuple(lists:seq(1, 65536)),
    ?assertEqual(tuple_to_list(Big), call(Config, tuple_to_list, [Big])),
    ?assertEqual(Big, call(Config, list_to_tuple, [tuple_to_list(Big)])),
    ?assertEqual(badarg, err(Config, tuple_to_list, [[a]])),
    ?assertEqual(badarg, err(Config, list_to_tuple, [{a}])),
    ?assertEqual(badarg, err(Config, list_to_tuple, [[a | b]])).

lists(Config) ->
    ?assertEqual(0, call(Config, list_len, [[]])),
    ?assertEqual(3, call(Config, list_len, [[1, 2, 3]])),
    ?assertEqual(3, call(Config, list_len, ["abc"])),
    ?assertEqual(100000, call(Config, list_len, [lists:seq(1, 100000)])),
    ?assertEqual([3, 2, 1], call(Config, reverse, [[1, 2, 3]])),
    ?assertEqual([], call(Config, reverse, [[]])),
    ?assertEqual([[b], a], call(Config, reverse, [[a, [b]]])),
    ?assertEqual(lists:seq(100000, 1, -1), call(Config, reverse, [lists:seq(1, 100000)])),
    ?assertEqual([a], call(Config, cons, [a, []])),
    ?assertEqual([[] | []], call(Config, cons, [[], []])),
    ?assertEqual([1, 2, 3], call(Config, cons, [1, [2, 3]])),
    ?assertEqual([], call(Config, tuple_to_list, [{}])).

improper_lists(Config) ->
    %% A tail need not be a list.
    ?assertEqual([1 | 2], call(Config, cons, [1, 2])),
    ?assertEqual([a | <<"b">>], call(Config, cons, [a, <<"b">>])),
    ?assertEqual([[] | {}], call(Config, cons, [[], {}])),
    Improper = [[1 | 2], [a, b | c], [[x | y] | z], [1, 2, 3 | #{k => v}], "ab" ++ <<"c">>],
    [begin
         ?assertEqual(badarg, err(Config, list_len, [L])),
         ?assertEqual(badarg, err(Config, reverse, [L])),
         ?assertEqual(badarg, err(Config, sum, [L])),
         ?assertEqual(L, call(Config, rebuild, [L])),
         ?assertEqual(?T_LIST, call(Config, type_of, [L])),
         ?assertEqual([list], call(Config, is_checks, [L]))
     end || L <- Improper],
    Long = lists:foldr(fun(X, Acc) -> [X | Acc] end, tail, lists:seq(1, 100000)),
    ?assertEqual(Long, call(Config, rebuild, [Long])).

%% ---------------------------------------------------------------------------
%% Binaries, iolists, external term format
%% ---------------------------------------------------------------------------

binaries(Config) ->
    ?assertEqual(<<>>, call(Config, upcase, [<<>>])),
    ?assertEqual(<<"HELLO, WORLD! 123 {}">>, call(Config, upcase, [<<"Hello, world! 123 {}">>])),
    ?assertEqual(<<16#e9, 0, 255, "@[`{">>, call(Config, upcase, [<<16#e9, 0, 255, "@[`{">>])),
    <<_, Sub:5/binary, _/binary>> = <<"xabcdefg">>,
    ?assertEqual(<<"ABCDE">>, call(Config, upcase, [Sub])),
    %% Larger than the guest's 4 MiB arena: copied through grown memory.
    Large = binary:copy(<<"ab">>, 3 bsl 20),
    ?assertEqual(binary:copy(<<"AB">>, 3 bsl 20), call(Config, upcase, [Large])),
    [?assertEqual(badarg, err(Config, upcase, [T])) || T <- [<<1:7>>, <<"ab", 1:1>>, "ab", ab, 1]],
    %% Bitstrings that are not binaries: a bitstring type, not a binary.
    ?assertEqual(?T_BITSTRING, call(Config, type_of, [<<1:7>>])),
    ?assertEqual(?T_BITSTRING, call(Config, type_of, [<<>>])),
    ?assertEqual([], call(Config, is_checks, [<<1:7>>])),
    ?assertEqual([binary], call(Config, is_checks, [<<>>])),
    [?assertEqual(B, call(Config, rebuild, [B])) || B <- [<<>>, <<"abc">>, Sub, Large, <<1:7>>,
                                                      <<"abc", 5:3>>]].

sub_binaries(Config) ->
    B = <<"hello world">>,
    ?assertEqual(<<"world">>, call(Config, sub_binary, [B, 6, 5])),
    ?assertEqual(<<"hello">>, call(Config, sub_binary, [B, 0, 5])),
    ?assertEqual(B, call(Config, sub_binary, [B, 0, 11])),
    ?assertEqual(<<>>, call(Config, sub_binary, [B, 0, 0])),
    ?assertEqual(<<>>, call(Config, sub_binary, [B, 11, 0])),
    <<_, Sub:5/binary, _/binary>> = <<"xabcdefg">>,
    ?assertEqual(<<"bcd">>, call(Config, sub_binary, [Sub, 1, 3])),
    Large = binary:copy(<<"0123456789">>, 100000),
    ?assertEqual(binary:part(Large, 500000, 12345), call(Config, sub_binary, [Large, 500000, 12345])),
    %% Past the end, or not a binary: bad_argument, as the header says.
    [trap(Config, [bad_argument], sub_binary, Args)
     || Args <- [[B, 12, 0], [B, 6, 6], [B, 0, 12], [B, ?UINT32_MAX, 2], [B, 2, ?UINT32_MAX],
                 [<<>>, 0, 1], [not_a_binary, 0, 0], ["abc", 0, 1], [<<1:7>>, 0, 0]]].

iolists(Config) ->
    Deep = lists:foldl(fun(_, Acc) -> [Acc] end, <<"x">>, lists:seq(1, 10000)),
    Good = [[], <<>>, <<"abc">>, "abc", [$a, [<<"bc">>, []], <<"d">> | <<"ef">>],
            [[[]], [[<<"x">>]]], Deep, lists:duplicate(100000, $y), [0, 255, <<1, 2>>]],
    [begin
         ?assertEqual(iolist_size(Io), call(Config, iolist_size, [Io])),
         ?assertEqual(iolist_to_binary(Io), call(Config, iolist_to_binary, [Io]))
     end || Io <- Good],
    [begin
         ?assertEqual(badarg, err(Config, iolist_size, [T])),
         ?assertEqual(badarg, err(Config, iolist_to_binary, [T]))
     end || T <- [[256], [-1], [a], a, 1, [$a | $b], [<<1:7>>], <<1:7>>, [1.0], {<<"a">>}]].

external_term_format(Config) ->
    Terms = [a, 1, -1, 1 bsl 100, 1.5, "abc", <<"x">>, {a, [b]}, #{a => 1}, [], {}, self(),
             make_ref(), <<1:7>>, latin1_atom([16#e9])],
    [begin
         Enc = term_to_binary(T),
         ?assertEqual(Enc, call(Config, t2b, [T])),
         ?assertEqual({T, byte_size(Enc)}, call(Config, b2t, [Enc, 0])),
         ?assertEqual({T, byte_size(Enc)}, call(Config, b2t, [Enc, ?BIN2TERM_SAFE])),
         %% Bytes after the term are not read.
         ?assertEqual({T, byte_size(Enc)}, call(Config, b2t, [<<Enc/binary, "trailing">>, 0]))
     end || T <- Terms],
    %% Compressed input is refused (docs/guest-abi.md).
    Compressed = term_to_binary(lists:duplicate(1000, abc), [compressed]),
    ?assertEqual(badarg, err(Config, b2t, [Compressed, 0])),
    %% Not an encoding, or a truncated one: 0, so badarg here.
    Enc = term_to_binary({a, <<"bc">>, [1, 2]}),
    [?assertEqual(badarg, err(Config, b2t, [Bad, 0]))
     || Bad <- [<<>>, <<131>>, <<1, 2, 3>>, binary:part(Enc, 0, byte_size(Enc) - 1),
                <<131, 108, 255, 255, 255, 255>>, <<131, 119, 5, "ab">>]],
    %% Decoding is always safe: an atom that does not exist is not made.
    Name = new_atom_name(),
    NewAtom = <<131, 119, (byte_size(Name)), Name/binary>>,
    ?assertError(badarg, binary_to_term(NewAtom, [safe])),
    ?assertEqual(badarg, err(Config, b2t, [NewAtom, 0])),
    ?assertEqual(badarg, err(Config, b2t, [NewAtom, ?BIN2TERM_SAFE])),
    <<131, AtomExt/binary>> = NewAtom,
    InList = <<131, 108, 1:32, AtomExt/binary, 106>>,
    ?assertEqual(badarg, err(Config, b2t, [InList, 0])),
    ?assertError(badarg, binary_to_existing_atom(Name, utf8)),
    still_works(Config).

%% ---------------------------------------------------------------------------
%% Maps
%% ---------------------------------------------------------------------------

maps(Config) ->
    ?assertEqual(#{}, call(Config, new_map, [])),
    ?assertEqual(0, call(Config, map_size, [#{}])),
    ?assertEqual(2, call(Config, map_size, [#{a => 1, b => 2}])),
    Big = maps:from_list([{K, K} || K <- lists:seq(1, 1000)]),
    ?assertEqual(1000, call(Config, map_size, [Big])),
    [?assertEqual(badarg, err(Config, map_size, [T])) || T <- [[], {}, a, [{a, 1}]]],
    ?assertEqual({ok, 1}, call(Config, map_get, [#{a => 1}, a])),
    ?assertEqual(error, call(Config, map_get, [#{a => 1}, b])),
    ?assertEqual({ok, 500}, call(Config, map_get, [Big, 500])),
    %% Keys match exactly (=:=): 1.0 is not 1.
    ?assertEqual(error, call(Config, map_get, [#{1 => x}, 1.0])),
    ?assertEqual({ok, y}, call(Config, map_get, [#{1 => x, 1.0 => y}, 1.0])),
    ?assertEqual(badarg, err(Config, map_get, [[{a, 1}], a])),
    ?assertEqual(#{k => v}, call(Config, map_put, [#{}, k, v])),
    ?assertEqual(#{k => 2}, call(Config, map_put, [#{k => 1}, k, 2])),
    ?assertEqual(Big#{x => y}, call(Config, map_put, [Big, x, y])),
    ?assertEqual(badarg, err(Config, map_put, [a, k, v])),
    ?assertEqual(#{k => 2, j => 0}, call(Config, map_update, [#{k => 1, j => 0}, k, 2])),
    ?assertEqual(badarg, err(Config, map_update, [#{}, k, 1])),
    ?assertEqual(badarg, err(Config, map_update, [#{1 => a}, 1.0, b])),
    ?assertEqual(badarg, err(Config, map_update, [a, k, 1])),
    ?assertEqual(#{b => 2}, call(Config, map_remove, [#{a => 1, b => 2}, a])),
    ?assertEqual(#{a => 1}, call(Config, map_remove, [#{a => 1}, b])),
    ?assertEqual(#{}, call(Config, map_remove, [#{}, a])),
    ?assertEqual(maps:remove(7, Big), call(Config, map_remove, [Big, 7])),
    ?assertEqual(badarg, err(Config, map_remove, [a, a])),
    ?assertEqual(#{k => 1}, call(Config, map_incr, [#{}, k])),
    ?assertEqual(#{k => 42, j => 0}, call(Config, map_incr, [#{k => 41, j => 0}, k])),
    ?assertEqual(#{k => ?INT64_MIN + 1}, call(Config, map_incr, [#{k => ?INT64_MIN}, k])),
    ?assertEqual(badarg, err(Config, map_incr, [#{k => x}, k])),
    ?assertEqual(badarg, err(Config, map_incr, [[], k])),
    ?assertEqual(#{a => 1, b => 2}, call(Config, map_from_lists, [[a, b], [1, 2]])),
    ?assertEqual(#{}, call(Config, map_from_lists, [[], []])),
    ?assertEqual(#{1 => a, 1.0 => b}, call(Config, map_from_lists, [[1, 1.0], [a, b]])),
    ?assertEqual(Big, call(Config, map_from_lists, [maps:keys(Big), maps:values(Big)])),
    %% A duplicate key: the import answers 0, whatever the size. Before,
    %% past 32 pairs OTP 25 made a malformed map holding both (equal to the
    %% right map with ==, not with =:=, lookups missing keys).
    ?assertEqual(badarg, err(Config, map_from_lists, [[a, b, a], [1, 2, 3]])),
    [begin
         Keys = lists:seq(1, N) ++ [Dup],
         ?assertEqual({N, Dup, badarg},
                      {N, Dup, err(Config, map_from_lists, [Keys, lists:seq(1, N + 1)])})
     end || N <- [32, 33, 100, 2047], Dup <- [1, N div 2, N]],
    [?assertEqual(badarg, err(Config, map_from_lists, [Keys, lists:seq(1, length(Keys))]))
     || Keys <- [[{k, I} || I <- lists:seq(1, 40)] ++ [{k, 40}],
                 [<<I:64>> || I <- lists:seq(1, 64)] ++ [<<1:64>>],
                 [[I] || I <- lists:seq(1, 50)] ++ [[50]]]],
    %% Equal but not the same key is no duplicate, at any size.
    Mixed = lists:seq(1, 40) ++ [float(I) || I <- lists:seq(1, 40)],
    Made = call(Config, map_from_lists, [Mixed, Mixed]),
    ?assertEqual(maps:from_list([{K, K} || K <- Mixed]), Made),
    ?assertEqual(80, map_size(Made)),
    ?assertEqual(badarg, err(Config, map_from_lists, [[a], [1, 2]])),
    [?assertEqual(M, call(Config, rebuild, [M]))
     || M <- [#{}, #{a => #{b => [1]}}, Big, #{{k} => [v], <<"k">> => 1.5, 1 => 1, 1.0 => 2}]].

%% Iteration walks the pairs in erl_nif's order: for a map of at most 32
%% keys that is the order of maps:keys/1 and maps:to_list/1.
map_iteration(Config) ->
    Small = [#{}, #{a => 1}, #{b => 2, a => 1, c => 3},
             maps:from_list([{K, -K} || K <- lists:seq(1, 32)]),
             #{1 => a, 1.0 => b, x => c, "s" => d, <<"b">> => e, {t} => f}],
    [begin
         ?assertEqual(maps:keys(M), call(Config, map_keys, [M])),
         ?assertEqual(lists:reverse(maps:keys(M)), call(Config, map_keys_backward, [M])),
         ?assertEqual(maps:to_list(M), call(Config, map_pairs, [M]))
     end || M <- Small],
    %% Larger maps: every key once, and backward is forward reversed.
    [begin
         M = maps:from_list([{K, K} || K <- lists:seq(1, N)]),
         Forward = call(Config, map_keys, [M]),
         ?assertEqual(lists:seq(1, N), lists:sort(Forward)),
         ?assertEqual(lists:reverse(Forward), call(Config, map_keys_backward, [M])),
         ?assertEqual(lists:sort(maps:to_list(M)), lists:sort(call(Config, map_pairs, [M])))
     end || N <- [33, 100, 1000, 70000]],
    [?assertEqual(badarg, err(Config, Name, [T]))
     || Name <- [map_keys, map_keys_backward, map_pairs], T <- [[], {}, [{a, 1}]]].

%% Sequential steps cost O(1) in either direction, and a walk goes on across
%% slices: 200,000 keys each way (a quadratic walk would take hours).
large_map_iteration(Config) ->
    N = 200000,
    M = maps:from_list([{K, K} || K <- lists:seq(1, N)]),
    {Us, {Forward, Backward}} =
        timer:tc(fun() -> {call(Config, map_keys, [M]), call(Config, map_keys_backward, [M])} end),
    ct:log("~p keys forward and backward: ~p ms", [N, Us div 1000]),
    ?assertEqual(lists:seq(1, N), lists:sort(Forward)),
    ?assertEqual(lists:reverse(Forward), Backward).

%% ---------------------------------------------------------------------------
%% Type tests and comparison
%% ---------------------------------------------------------------------------

type_tests(Config) ->
    Port = a_port(),
    Table = [{a, ?T_ATOM, [atom]}, {true, ?T_ATOM, [atom]}, {'', ?T_ATOM, [atom]},
             {<<"b">>, ?T_BITSTRING, [binary]}, {<<>>, ?T_BITSTRING, [binary]},
             {<<1:7>>, ?T_BITSTRING, []},
             {1.5, ?T_FLOAT, [number]}, {fun() -> ok end, ?T_FUN, ['fun']},
             {fun lists:sum/1, ?T_FUN, ['fun']}, {1, ?T_INTEGER, [number]},
             {1 bsl 100, ?T_INTEGER, [number]}, {[], ?T_LIST, [list]}, {[a], ?T_LIST, [list]},
             {[a | b], ?T_LIST, [list]}, {"abc", ?T_LIST, [list]}, {#{}, ?T_MAP, [map]},
             {#{a => 1}, ?T_MAP, [map]}, {self(), ?T_PID, [pid]}, {remote_pid(), ?T_PID, [pid]},
             {Port, ?T_PORT, [port]}, {make_ref(), ?T_REFERENCE, [ref]}, {{}, ?T_TUPLE, [tuple]},
             {{a, b}, ?T_TUPLE, [tuple]}],
    [begin
         ?assertEqual({T, Type}, {T, call(Config, type_of, [T])}),
         ?assertEqual({T, Checks}, {T, call(Config, is_checks, [T])})
     end || {T, Type, Checks} <- Table],
    %% The exception term is no term: type 0, and only is_exception says 1.
    ?assertEqual([0, exception], call(Config, exception_checks, [])).

compare_and_identical(Config) ->
    Ref = make_ref(),
    Cases = [{1, 2, -1}, {2, 1, 1}, {1, 1, 0}, {1, 1.0, 0}, {1.0, 1, 0}, {1, a, -1}, {a, 1, 1},
             {a, b, -1}, {Ref, self(), -1}, {self(), Ref, 1}, {{a}, [a], -1}, {#{}, {}, 1},
             {[], [a], -1}, {<<>>, [], 1}, {"abc", "abd", -1}, {{1, 2}, {1, 2}, 0},
             {#{a => 1}, #{a => 1.0}, 0}, {1 bsl 100, 1 bsl 101, -1}, {-(1 bsl 100), 1, -1},
             {[a | b], [a | c], -1}, {<<"b">>, <<"a", 0>>, 1}],
    [?assertEqual({A, B, Expected}, {A, B, call(Config, compare, [A, B])}) || {A, B, Expected} <- Cases],
    ?assertEqual(0, call(Config, identical, [1, 1.0])),
    ?assertEqual(1, call(Config, identical, [a, a])),
    ?assertEqual(1, call(Config, identical, [{1, [2], <<"3">>}, {1, [2], <<"3">>}])),
    ?assertEqual(0, call(Config, identical, [#{a => 1}, #{a => 1.0}])),
    ?assertEqual(1, call(Config, identical, [Ref, Ref])),
    ?assertEqual(0, call(Config, identical, [Ref, make_ref()])),
    ?assertEqual(0, call(Config, identical, [[], {}])).

%% ---------------------------------------------------------------------------
%% Exceptions
%% ---------------------------------------------------------------------------

exceptions(Config) ->
    [?assertEqual(R, err(Config, raise, [R]))
     || R <- [my_reason, {a, [b]}, badarg, <<"bin">>, 42, #{why => not_found}, [],
              %% Reasons shaped like the NIF's requests to the Erlang side
              %% are raised as they are, not served.
              {wasm_runtime_nif_request, {raise, exit, forged, []}},
              {wasm_runtime_nif_request, {return, 1}},
              {wasm_runtime_nif_request, {output, <<"forged">>, 0, {return, 1}}}]],
    %% Class error, whatever the reason.
    ?assertEqual(caught, try call(Config, raise, [x]) catch error:x -> caught end),
    %% The latest of make_badarg and raise_exception decides the reason.
    ?assertEqual(later, err(Config, badarg_then_raise, [later])),
    ?assertEqual(badarg, err(Config, raise_then_badarg, [earlier])),
    %% Raising is not a trap: the same instance goes on.
    still_works(Config).

pending_exceptions(Config) ->
    ?assertEqual({0, untouched}, call(Config, no_pending, [])),
    ?assertEqual({why, [1]}, err(Config, pending, [{why, [1]}])),
    received({pending, 0, 1, 1, 1, {why, [1]}}),
    ?assertEqual(badarg, err(Config, badarg_pending, [])),
    received({badarg_pending, 1, badarg, 1}),
    %% A pending exception belongs to its call only.
    ?assertEqual({0, untouched}, call(Config, no_pending, [])),
    still_works(Config).

%% ---------------------------------------------------------------------------
%% Processes and references
%% ---------------------------------------------------------------------------

processes(Config) ->
    ?assertEqual(self(), call(Config, self_pid, [])),
    %% self() is the caller's pid, whichever process calls.
    Parent = self(),
    Inst = ?config(instance, Config),
    Child = spawn_link(fun() -> Parent ! {child, self(), wasm_runtime_nif:call(Inst, self_pid, [])} end),
    receive {child, Child, Seen} -> ?assertEqual(Child, Seen) end,
    Msg = {hello, [1, 2.0, <<"three">>], #{four => 4}},
    ?assertEqual(1, call(Config, send_to, [self(), Msg])),
    received(Msg),
    Big = binary:copy(<<"z">>, 100000),
    ?assertEqual(1, call(Config, send_to, [self(), Big])),
    received(Big),
    %% A message may reach 65,536 terms: 30,000 cells (60,001 terms) go,
    %% 1,000,000 trap.
    Long = lists:seq(1, 30000),
    ?assertEqual(1, call(Config, send_to, [self(), Long])),
    received(Long),
    trap(Config, [term_limit], send_to, [self(), lists:seq(1, 1000000)]),
    receive Unexpected when is_list(Unexpected) -> ct:fail(too_large_a_message_arrived) after 100 -> ok end,
    Echo = spawn_link(fun() -> receive M -> Parent ! {echo, M} end end),
    ?assertEqual(1, call(Config, send_to, [Echo, ping])),
    received({echo, ping}),
    ?assertEqual(1000, call(Config, send_n, [self(), tick, 1000])),
    [received(tick) || _ <- lists:seq(1, 1000)],
    %% Not sent: a dead process, something that is not a pid, a remote pid.
    register(wasm_term_api_registered, self()),
    NotSent = [dead_pid(), wasm_term_api_registered, remote_pid(), a_port(), "pid", {self()}],
    [?assertEqual({To, 0}, {To, call(Config, send_to, [To, lost])}) || To <- NotSent],
    unregister(wasm_term_api_registered),
    receive lost -> ct:fail(message_sent_to_a_non_pid) after 100 -> ok end,
    ?assertEqual(1, call(Config, is_alive, [self()])),
    Waiting = spawn_link(fun() -> receive stop -> ok end end),
    ?assertEqual(1, call(Config, is_alive, [Waiting])),
    Waiting ! stop,
    [?assertEqual({P, 0}, {P, call(Config, is_alive, [P])})
     || P <- [dead_pid(), remote_pid(), a, a_port(), make_ref()]].

refs(Config) ->
    R1 = call(Config, make_ref, []),
    R2 = call(Config, make_ref, []),
    ?assert(is_reference(R1)),
    ?assert(is_reference(R2)),
    ?assertNotEqual(R1, R2),
    ?assertNotEqual(R1, make_ref()),
    ?assertEqual(?T_REFERENCE, call(Config, type_of, [R1])),
    ?assertEqual(R1, call(Config, rebuild, [R1])),
    ?assertEqual(1, call(Config, identical, [R1, R1])),
    ?assertEqual(0, call(Config, identical, [R1, R2])),
    %% A reference made by the guest works as any other: in a message, as a key.
    ?assertEqual(1, call(Config, send_to, [self(), {R1, reply}])),
    receive {R1, reply} -> ok after 2000 -> ct:fail(no_reply) end,
    ?assertEqual(#{R2 => x}, call(Config, map_put, [#{}, R2, x])),
    %% Refs made in a loop are all distinct.
    Refs = [call(Config, make_ref, []) || _ <- lists:seq(1, 1000)],
    ?assertEqual(1000, length(lists:usort(Refs))).

printf(Config) ->
    Lines = ["terms.c: int 7\n", "terms.c: long 7000000000\n", "terms.c: double 3.5\n"],
    ?assertEqual(iolist_size(Lines), call(Config, print, [7])).

%% ---------------------------------------------------------------------------
%% rebuild/1 and the limits of the array imports
%% ---------------------------------------------------------------------------

rebuild_examples(Config) ->
    <<_, Sub:5/binary, _/binary>> = <<"xabcdefg">>,
    Terms = [0, -1, 42, ?INT32_MIN, ?UINT32_MAX, ?INT64_MIN, ?INT64_MAX, ?UINT64_MAX,
             ?UINT64_MAX + 1, -(1 bsl 64) - 1, 1 bsl 1000, 1.5, -0.0, 1.0e300, 5.0e-324,
             a, '', latin1_atom([$h, 16#e9, $l, $l, $o]), a255(), list_to_atom([16#3b1, 16#3b2]),
             <<>>, <<"abc">>, Sub, binary:copy(<<"L">>, 1 bsl 20), <<1:7>>,
             [], [1 | 2], [a, [b, [c | d]] | e], "string", lists:seq(1, 100000),
             {}, {a, {b, {}}}, erlang:make_tuple(65536, t),
             #{}, #{a => #{b => [1]}}, maps:from_list([{K, {K}} || K <- lists:seq(1, 100)]),
             maps:from_list([{K, K} || K <- lists:seq(1, 70000)]),
             self(), remote_pid(), make_ref(), fun() -> ok end, fun lists:sum/1, a_port(),
             {self(), [make_ref(), #{[] => <<>>}], -0.5}],
    [?assertEqual(T, call(Config, rebuild, [T])) || T <- Terms],
    <<Sign:1, _:63>> = <<(call(Config, rebuild, [-0.0]))/float>>,
    ?assertEqual(1, Sign).

rebuild_limits(Config) ->
    ?assertEqual(nested(256, leaf), call(Config, rebuild, [nested(256, leaf)])),
    ?assertEqual(badarg, err(Config, rebuild, [nested(257, leaf)])),
    ?assertEqual(badarg, err(Config, rebuild, [nested(100000, leaf)])),
    ?assertEqual(badarg, err(Config, rebuild, [erlang:make_tuple(65537, t)])),
    still_works(Config).

%% 65,536 terms per array import; more traps the call (the header names no
%% kind for that: bad_argument or term_limit is accepted).
array_limits(Config) ->
    L65536 = lists:seq(1, 65536),
    ?assertEqual(list_to_tuple(L65536), call(Config, list_to_tuple, [L65536])),
    trap(Config, [bad_argument, term_limit], list_to_tuple, [lists:seq(1, 65537)]),
    %% make_map_from_arrays takes 2,048 pairs, and answers 0 past them.
    L2048 = lists:seq(1, 2048),
    M = call(Config, map_from_lists, [L2048, L2048]),
    ?assertEqual(2048, map_size(M)),
    ?assertEqual(badarg, err(Config, map_from_lists, [lists:seq(1, 2049), lists:seq(1, 2049)])),
    %% Beyond 65,536 elements the guest builds lists cell by cell instead.
    ?assertEqual([2 * X || X <- lists:seq(1, 65537)], call(Config, double_all, [lists:seq(1, 65537)])),
    still_works(Config).

%% ---------------------------------------------------------------------------
%% Properties
%% ---------------------------------------------------------------------------

int32() -> integer(?INT32_MIN, ?INT32_MAX).
int64() -> integer(?INT64_MIN, ?INT64_MAX).
uint64() -> integer(0, ?UINT64_MAX).

bignum() ->
    ?LET({Sign, High, Low}, {elements([1, -1]), integer(1, 1 bsl 40), integer(0, ?UINT64_MAX)},
         Sign * ((High bsl 64) + Low)).

latin1_atom() ->
    ?LET(Codes, list(choose(0, 255)), list_to_atom(lists:sublist(Codes, 255))).

leaf() ->
    oneof([integer(), int64(), uint64(), bignum(), float(), latin1_atom(), binary(), bitstring(),
           elements([self(), make_ref(), fun lists:sum/1, [], {}, #{}])]).

improper(Items, Tail) ->
    lists:foldr(fun(X, Acc) -> [X | Acc] end, Tail, Items).

%% Any term of the kinds above: collections hold fewer and smaller terms the
%% deeper they are (at most 6 at the top), nested up to 5 levels.
any_term() ->
    ?SIZED(Size, any_term(min(Size, 27))).

any_term(Size) when Size =< 1 ->
    leaf();
any_term(Size) ->
    Sub = ?LAZY(any_term(Size div 2)),
    Count = choose(0, min(Size div 3, 6)),
    Items = ?LET(N, Count, vector(N, Sub)),
    frequency([{6, leaf()},
               {1, Items},
               {1, ?LET({L, Tail}, {Items, Sub}, improper(L, Tail))},
               {1, ?LET(L, Items, list_to_tuple(L))},
               {1, ?LET(N, Count, ?LET(Pairs, vector(N, {Sub, Sub}), maps:from_list(Pairs)))}]).

%% A short list of such terms (generating long ones costs PropEr seconds).
term_list() ->
    resize(15, list(any_term())).

prop_rebuild(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(T, any_term(), wasm_runtime_nif:call(I, rebuild, [T]) =:= T), 500).

prop_external_format(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(T, any_term(),
                  begin
                      Enc = wasm_runtime_nif:call(I, t2b, [T]),
                      Enc =:= term_to_binary(T) andalso
                          wasm_runtime_nif:call(I, b2t, [Enc, 0]) =:= {T, byte_size(Enc)}
                  end), 300).

prop_sum(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(L, list(int32()), wasm_runtime_nif:call(I, sum, [L]) =:= lists:sum(L)), 500),
    quickcheck(?FORALL({L, Bad}, {list(int32()), oneof([float(), latin1_atom(), binary(), bignum()])},
                  raised(fun() -> wasm_runtime_nif:call(I, sum, [L ++ [Bad]]) end) =:= badarg), 300).

prop_double_all(Config) ->
    I = ?config(instance, Config),
    Elem = oneof([int32(), integer(-(1 bsl 62), (1 bsl 62) - 1), float(-1.0e300, 1.0e300)]),
    quickcheck(?FORALL(L, list(Elem),
                  wasm_runtime_nif:call(I, double_all, [L]) =:= lists:map(fun(X) -> 2 * X end, L)),
          500).

prop_upcase(Config) ->
    I = ?config(instance, Config),
    Ref = fun(B) -> << <<(if C >= $a, C =< $z -> C - 32; true -> C end)>> || <<C>> <= B >> end,
    quickcheck(?FORALL(B, binary(), wasm_runtime_nif:call(I, upcase, [B]) =:= Ref(B)), 500),
    %% On ASCII text it is string:uppercase/1.
    Ascii = list(choose(0, 127)),
    quickcheck(?FORALL(S, Ascii,
                  wasm_runtime_nif:call(I, upcase, [list_to_binary(S)])
                      =:= list_to_binary(string:uppercase(S))), 300).

prop_map_incr(Config) ->
    I = ?config(instance, Config),
    Key = oneof([integer(0, 10), elements([a, b, c, <<"k">>, {k}, 1.0])]),
    Map = ?LET(Pairs, list({Key, int32()}), maps:from_list(Pairs)),
    quickcheck(?FORALL({M, K}, {Map, Key},
                  wasm_runtime_nif:call(I, map_incr, [M, K])
                      =:= maps:update_with(K, fun(V) -> V + 1 end, 1, M)),
          500).

prop_reverse(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(L, term_list(), wasm_runtime_nif:call(I, reverse, [L]) =:= lists:reverse(L)), 300),
    quickcheck(?FORALL(L, list(int32()), wasm_runtime_nif:call(I, list_len, [L]) =:= length(L)), 300).

prop_compare(Config) ->
    I = ?config(instance, Config),
    Order = fun(A, B) when A < B -> -1;
               (A, B) when A == B -> 0;
               (_, _) -> 1
            end,
    quickcheck(?FORALL({A, B}, {any_term(), any_term()},
                  wasm_runtime_nif:call(I, compare, [A, B]) =:= Order(A, B) andalso
                      wasm_runtime_nif:call(I, compare, [A, A]) =:= 0 andalso
                      wasm_runtime_nif:call(I, identical, [A, B]) =:= bool(A =:= B) andalso
                      wasm_runtime_nif:call(I, identical, [A, A]) =:= 1), 300),
    %% Numbers compare by value across types.
    quickcheck(?FORALL({A, B}, {oneof([int32(), float(), bignum()]), oneof([int32(), float(), bignum()])},
                  wasm_runtime_nif:call(I, compare, [A, B]) =:= Order(A, B)), 300).

bool(true) -> 1;
bool(false) -> 0.

prop_map_iteration(Config) ->
    I = ?config(instance, Config),
    Map = ?LET(Pairs, resize(15, list({any_term(), any_term()})), maps:from_list(Pairs)),
    AsSet = fun(Keys) -> maps:from_list([{K, true} || K <- Keys]) end,
    quickcheck(?FORALL(M, Map,
                  begin
                      Forward = wasm_runtime_nif:call(I, map_keys, [M]),
                      length(Forward) =:= map_size(M) andalso
                          AsSet(Forward) =:= AsSet(maps:keys(M)) andalso
                          wasm_runtime_nif:call(I, map_keys_backward, [M]) =:= lists:reverse(Forward) andalso
                          maps:from_list(wasm_runtime_nif:call(I, map_pairs, [M])) =:= M andalso
                          wasm_runtime_nif:call(I, map_size, [M]) =:= map_size(M)
                  end), 300),
    %% Small maps walk in the order of maps:keys/1.
    Small = ?LET(Pairs, list({integer(), latin1_atom()}), maps:from_list(lists:sublist(Pairs, 32))),
    quickcheck(?FORALL(M, Small, wasm_runtime_nif:call(I, map_keys, [M]) =:= maps:keys(M)), 300).

prop_strings_and_atoms(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(S, list(choose(0, 255)), wasm_runtime_nif:call(I, string_roundtrip, [S]) =:= S), 300),
    quickcheck(?FORALL(S, list(choose(0, 255)),
                  wasm_runtime_nif:call(I, make_string, [list_to_binary(S)]) =:= S), 300),
    quickcheck(?FORALL(A, latin1_atom(),
                  wasm_runtime_nif:call(I, atom_roundtrip, [A]) =:= A andalso
                      wasm_runtime_nif:call(I, atom_length, [A]) =:= length(atom_to_list(A)) andalso
                      wasm_runtime_nif:call(I, existing_atom, [atom_to_binary(A, latin1)]) =:= A), 300),
    %% A buffer too small by any amount: -Size and a truncated, NUL-terminated copy.
    quickcheck(?FORALL({S, Short}, {non_empty(list(choose(1, 255))), integer(1, 300)},
                  begin
                      Size = max(1, min(Short, length(S))),
                      {R, Buf} = wasm_runtime_nif:call(I, get_string_sized, [S, Size]),
                      R =:= -Size andalso
                          Buf =:= <<(list_to_binary(lists:sublist(S, Size - 1)))/binary, 0>>
                  end), 300).

prop_tuples_and_lists(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL(L, term_list(),
                  wasm_runtime_nif:call(I, list_to_tuple, [L]) =:= list_to_tuple(L) andalso
                      wasm_runtime_nif:call(I, tuple_to_list, [list_to_tuple(L)]) =:= L), 300),
    quickcheck(?FORALL({A, B}, {any_term(), any_term()},
                  wasm_runtime_nif:call(I, tuple_swap, [{A, B}]) =:= {B, A} andalso
                      wasm_runtime_nif:call(I, cons, [A, B]) =:= [A | B]), 300).

prop_sub_binary_and_iolists(Config) ->
    I = ?config(instance, Config),
    quickcheck(?FORALL({B, X, Y}, {binary(), non_neg_integer(), non_neg_integer()},
                  begin
                      Pos = min(X, byte_size(B)),
                      Len = min(Y, byte_size(B) - Pos),
                      wasm_runtime_nif:call(I, sub_binary, [B, Pos, Len]) =:= binary:part(B, Pos, Len)
                  end), 300),
    IoList = ?SIZED(Size, iolist(min(Size, 20))),
    quickcheck(?FORALL(Io, IoList,
                  wasm_runtime_nif:call(I, iolist_to_binary, [Io]) =:= iolist_to_binary(Io) andalso
                      wasm_runtime_nif:call(I, iolist_size, [Io]) =:= iolist_size(Io)), 300).

iolist(Size) when Size =< 1 ->
    list(oneof([byte(), binary()]));
iolist(Size) ->
    Sub = ?LAZY(iolist(Size div 2)),
    ?LET({N, Tail}, {choose(0, min(Size, 8)), oneof([[], binary()])},
         ?LET(Items, vector(N, oneof([byte(), binary(), Sub])), improper(Items, Tail))).
