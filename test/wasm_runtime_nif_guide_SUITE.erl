%% The examples of docs/c-guests.md, as built from guests/guide_examples.c
%% into priv/guide_examples.wasm: one case per export, with concrete results,
%% the error cases (badarg, exceptions, traps), and what the guide's text
%% promises about each example.
-module(wasm_runtime_nif_guide_SUITE).

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([scale/1, is_ok/1, shout/1, swap/1, squares/1, checksum/1, prefix/1, decode/1,
         sum_values/1, bump/1, term_max/1, is_container/1, fetch/1, progress/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, new_instance/1, call/3, expect_trap/4, a_port/0]).

-define(INT32_MIN, -16#80000000).
-define(INT32_MAX, 16#7fffffff).
-define(UINT32_MAX, 16#ffffffff).
-define(INT64_MIN, -16#8000000000000000).
-define(INT64_MAX, 16#7fffffffffffffff).
%% A call may hold at most 2^20 term handles, arguments included.
-define(HANDLES, 1048576).

suite() ->
    [{timetrap, {minutes, 5}}].

all() ->
    [scale, is_ok, shout, swap, squares, checksum, prefix, decode, sum_values, bump,
     term_max, is_container, fetch, progress].

init_per_suite(Config) ->
    Path = filename:join(code:priv_dir(wasm_runtime_nif), "guide_examples.wasm"),
    {ok, Module} = wasm_runtime_nif:load(Path),
    [{module, Module} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{instance, new_instance(Config)} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

%% ---------------------------------------------------------------------------
%% Helpers
%% ---------------------------------------------------------------------------

%% The reason of the error the call raises (see wasm_test_util:raised/1).
err(Config, Name, Args) ->
    raised(fun() -> call(Config, Name, Args) end).

%% Each call raises badarg.
badargs(Config, Name, ArgLists) ->
    [?assertEqual({Name, Args, badarg}, {Name, Args, err(Config, Name, Args)}) || Args <- ArgLists],
    ok.

%% A trap ends the call with error:{trap, Kind, Message} and invalidates
%% the instance: later calls raise {instance_invalidated, Trap}.
assert_trap(Kind, Instance, Name, Args) ->
    Trap = expect_trap(Instance, [Kind], Name, Args),
    ?assertEqual({instance_invalidated, Trap},
                 raised(fun() -> wasm_runtime_nif:call(Instance, is_container, [[]]) end)),
    Trap.
%% Runs Fun in a new process (a mailbox of its own) and returns what it
%% returned; a crash fails the case. No timeout: the timetrap bounds it.
in_new_process(Fun) ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({done, Fun()}) end),
    receive
        {'DOWN', Ref, process, Pid, {done, Result}} -> Result;
        {'DOWN', Ref, process, Pid, Crash} -> ct:fail({process_crashed, Crash})
    end.

%% Nothing is waiting in the mailbox.
assert_no_message() ->
    receive Msg -> ct:fail({unexpected_message, Msg}) after 0 -> ok end.

%% checksum/1 in Erlang: sum = sum * 31 + byte, modulo 2^32.
ref_checksum(Bin) ->
    lists:foldl(fun(B, Sum) -> (Sum * 31 + B) band ?UINT32_MAX end, 0, binary_to_list(Bin)).

%% N bytes that are not all alike.
bytes(N) ->
    << <<((I * 7919 + I div 251) band 255)>> || I <- lists:seq(1, N) >>.

%% A term that reaches 2^(Depth+1) - 1 tuples and 2^Depth lists, sharing
%% each level, so small in memory.
shared_tree(0) -> [leaf];
shared_tree(Depth) ->
    T = shared_tree(Depth - 1),
    {T, T}.

%% An atom name that exists nowhere (the binary itself creates no atom).
missing_atom_name() ->
    Name = iolist_to_binary(["guide_suite_no_such_atom_",
                             integer_to_list(erlang:unique_integer([positive]))]),
    ?assertError(badarg, binary_to_existing_atom(Name, utf8)),
    Name.

%% ---------------------------------------------------------------------------
%% Numbers: scale(X, Factor) -> X * Factor as a float; X an integer or a
%% float, Factor a float.
%% ---------------------------------------------------------------------------

scale(Config) ->
    ?assertEqual(3.0, call(Config, scale, [2, 1.5])),
    ?assertEqual(4.0, call(Config, scale, [2.0, 2.0])),
    ?assertEqual(-7.5, call(Config, scale, [-5, 1.5])),
    ?assertEqual(0.0, call(Config, scale, [0, 2.5])),
    ?assertEqual(0.25, call(Config, scale, [0.5, 0.5])),
    ?assertEqual(1.0e-300, call(Config, scale, [1, 1.0e-300])),
    %% Every int64 is read as an integer, then converted.
    ?assertEqual(float(?INT64_MAX), call(Config, scale, [?INT64_MAX, 1.0])),
    ?assertEqual(-float(?INT64_MIN), call(Config, scale, [?INT64_MIN, -1.0])),
    %% The result is always a float, even for an integral product.
    ?assert(is_float(call(Config, scale, [3, 1.0]))),
    badargs(Config, scale,
            [%% get_double reads floats only: 1 is not a float.
             [2, 2], [2.0, 2], [2, 1 bsl 70],
             %% Bignums fail every getter, and X must be a number.
             [1 bsl 64, 1.0], [-(1 bsl 64), 1.0], [a, 1.0], ["2", 1.0], [<<2>>, 1.0],
             [2, a], [2, "1.0"],
             %% make_double of an infinity returns the badarg exception term.
             [1.0e308, 10.0], [-1.0e308, 10.0], [?INT64_MAX, 1.0e300],
             [1.7976931348623157e308, 1.0000000000000002]]),
    %% Raising badarg is not a trap: the instance goes on.
    ?assertEqual(1.0, call(Config, scale, [1, 1.0])).

%% ---------------------------------------------------------------------------
%% Atoms: is_ok(T) -> true if T is the atom ok, else false.
%% ---------------------------------------------------------------------------

is_ok(Config) ->
    ?assertEqual(true, call(Config, is_ok, [ok])),
    [?assertEqual({T, false}, {T, call(Config, is_ok, [T])})
     || T <- [okay, o, k, 'OK', 'ko', 'ok ', '', error, true, false,
              %% A name of 255 characters fits the 256-byte buffer.
              list_to_atom(lists:duplicate(255, $o)),
              %% get_atom answers 0 for an atom with a character above 255.
              list_to_atom([$o, 16#100]), list_to_atom([16#3b1, $k]),
              %% Not atoms: get_atom answers 0.
              "ok", <<"ok">>, {ok}, [ok], 0, 1.0, self(), make_ref(), #{ok => ok}]],
    %% true and false come back as the atoms themselves.
    ?assertEqual(true, call(Config, is_ok, [list_to_atom("ok")])).

%% ---------------------------------------------------------------------------
%% Strings: shout("hello") -> "HELLO", for Latin-1 strings of up to 255
%% characters.
%% ---------------------------------------------------------------------------

shout(Config) ->
    ?assertEqual("HELLO", call(Config, shout, ["hello"])),
    ?assertEqual("HELLO, WORLD 42!", call(Config, shout, ["Hello, World 42!"])),
    ?assertEqual("", call(Config, shout, [""])),
    %% Only a..z change: Latin-1 letters above 127 are left alone.
    ?assertEqual([$C, $A, $F, 16#e9, 16#ff, 16#80], call(Config, shout, [[$c, $a, $f, 16#e9, 16#ff, 16#80]])),
    %% make_string_len makes a charlist of any bytes, NULs included.
    ?assertEqual([$A, 0, $B, 0], call(Config, shout, [[$a, 0, $b, 0]])),
    %% 255 characters and the NUL fill the buffer exactly.
    ?assertEqual(lists:duplicate(255, $Z), call(Config, shout, [lists:duplicate(255, $z)])),
    badargs(Config, shout,
            [%% 256 characters: get_string answers -256 (buffer too small).
             [lists:duplicate(256, $z)], [lists:duplicate(1000, $z)],
             %% Not a Latin-1 string: get_string answers 0.
             [[16#100]], [[$a, 16#3b1]], [[-1]], [[$a | $b]], [[$a, b]], [<<"hello">>],
             [hello], [42], [{"hello"}]]),
    ?assertEqual("OK", call(Config, shout, ["ok"])).

%% ---------------------------------------------------------------------------
%% Tuples: swap({X, Y}) -> {Y, X}
%% ---------------------------------------------------------------------------

swap(Config) ->
    ?assertEqual({2, 1}, call(Config, swap, [{1, 2}])),
    ?assertEqual({{b, [c]}, a}, call(Config, swap, [{a, {b, [c]}}])),
    ?assertEqual({#{k => v}, <<"bin">>}, call(Config, swap, [{<<"bin">>, #{k => v}}])),
    Self = self(),
    Ref = make_ref(),
    ?assertEqual({Ref, Self}, call(Config, swap, [{Self, Ref}])),
    Big = lists:seq(1, 10000),
    ?assertEqual({x, Big}, call(Config, swap, [{Big, x}])),
    %% Swapping twice gives the tuple back.
    ?assertEqual({1.5, "s"}, call(Config, swap, [call(Config, swap, [{1.5, "s"}])])),
    badargs(Config, swap,
            [[{}], [{1}], [{1, 2, 3}], [[1, 2]], [12], [<<1, 2>>], [#{1 => 2}],
             %% Larger than 65,536 elements: get_tuple answers 0.
             [erlang:make_tuple(70000, t)]]),
    ?assertEqual({b, a}, call(Config, swap, [{a, b}])).

%% ---------------------------------------------------------------------------
%% Lists: squares([1, 2, 3]) -> [1, 4, 9], for a proper list of int32s.
%% ---------------------------------------------------------------------------

squares(Config) ->
    ?assertEqual([1, 4, 9], call(Config, squares, [[1, 2, 3]])),
    ?assertEqual([], call(Config, squares, [[]])),
    ?assertEqual([9, 0, 9], call(Config, squares, [[-3, 0, 3]])),
    %% The square of an int32 is made as an int64.
    ?assertEqual([?INT32_MIN * ?INT32_MIN, ?INT32_MAX * ?INT32_MAX],
                 call(Config, squares, [[?INT32_MIN, ?INT32_MAX]])),
    %% Walked in a loop, not by recursion: lists can be long.
    Long = lists:seq(1, 100000),
    ?assertEqual([X * X || X <- Long], call(Config, squares, [Long])),
    badargs(Config, squares,
            [[[?INT32_MAX + 1]], [[?INT32_MIN - 1]], [[1 bsl 64]], [[1.0]], [[1, a]],
             %% Improper lists, and anything that is not a list.
             [[1 | 2]], [[1, 2 | 3]], [[1, 2 | [3 | x]]], [not_a_list], [<<1, 2>>], [{1, 2}]]),
    ?assertEqual([4], call(Config, squares, [[2]])),
    %% Every term an import returns takes a handle, so a loop that makes terms
    %% counts them all: per element the head and tail that get_list_cell
    %% stores, the square and the new cell, 4 handles of the 2^20 a call may
    %% hold. (Beyond the argument, [] and the reversed list, a list walk that
    %% spans time slices, as make_reverse_list's does, keeps 2 more, so the
    %% exact edge is 262,142 elements rather than (2^20 - 3) div 4 = 262,143:
    %% keep clear of it.)
    ?assertEqual(lists:duplicate(200000, 9), call(Config, squares, [lists:duplicate(200000, 3)])),
    assert_trap(term_limit, ?config(instance, Config), squares, [lists:duplicate(300000, 3)]).

%% ---------------------------------------------------------------------------
%% Binaries and iolists: checksum(IoData) -> a 32-bit checksum of its
%% bytes, read 4 KiB at a time.
%% ---------------------------------------------------------------------------

checksum(Config) ->
    ?assertEqual(0, call(Config, checksum, [<<>>])),
    ?assertEqual(0, call(Config, checksum, [[]])),
    %% 97, then 97 * 31 + 98 = 3105, then 3105 * 31 + 99 = 96354.
    ?assertEqual(96354, call(Config, checksum, [<<"abc">>])),
    ?assertEqual(96354, ref_checksum(<<"abc">>)),
    %% Any iodata is flattened first: deep lists of bytes and binaries, and a
    %% binary as the tail.
    Abcd = ref_checksum(<<"abcd">>),
    ?assertEqual(Abcd, call(Config, checksum, [["ab", <<"c">>, [[$d]], <<>>, []]])),
    ?assertEqual(Abcd, call(Config, checksum, [[$a, $b | <<"cd">>]])),
    ?assertEqual(Abcd, call(Config, checksum, ["abcd"])),
    %% Around the 4 KiB chunk, and many chunks; the sum wraps at 32 bits and
    %% the static buffer carries nothing from one call to the next.
    [begin
         Bin = bytes(N),
         ?assertEqual({N, ref_checksum(Bin)}, {N, call(Config, checksum, [Bin])})
     end || N <- [1, 4095, 4096, 4097, 8192, 10000, 100000]],
    Ones = binary:copy(<<255>>, 50000),
    Sum = call(Config, checksum, [Ones]),
    ?assertEqual(ref_checksum(Ones), Sum),
    ?assert(Sum >= 0 andalso Sum =< ?UINT32_MAX),
    %% An iolist of many pieces spanning chunks.
    Pieces = [[bytes(N rem 700), [N rem 256]] || N <- lists:seq(1, 100)],
    ?assertEqual(ref_checksum(iolist_to_binary(Pieces)), call(Config, checksum, [Pieces])),
    badargs(Config, checksum,
            [[[256]], [[-1]], [[$a, a]], [[$a | b]], [<<1:3>>], [[<<"a">>, <<1:3>>]], [atom],
             [1], [{<<"a">>}], [#{}]]),
    ?assertEqual(97, call(Config, checksum, [<<"a">>])).

%% ---------------------------------------------------------------------------
%% prefix(Bin, N) -> the first N bytes of Bin, sharing its memory.
%% ---------------------------------------------------------------------------

prefix(Config) ->
    ?assertEqual(<<"he">>, call(Config, prefix, [<<"hello">>, 2])),
    ?assertEqual(<<>>, call(Config, prefix, [<<"hello">>, 0])),
    ?assertEqual(<<"hello">>, call(Config, prefix, [<<"hello">>, 5])),
    ?assertEqual(<<>>, call(Config, prefix, [<<>>, 0])),
    <<_, Sub:5/binary, _/binary>> = <<"xabcdefg">>,
    ?assertEqual(<<"abc">>, call(Config, prefix, [Sub, 3])),
    %% make_sub_binary shares the binary's memory: the prefix of a 1000-byte
    %% binary refers to all 1000 bytes.
    Big = binary:copy(<<"0123456789">>, 100),
    Prefix = call(Config, prefix, [Big, 10]),
    ?assertEqual(<<"0123456789">>, Prefix),
    ?assertEqual(1000, binary:referenced_byte_size(Prefix)),
    ?assertEqual(Big, call(Config, prefix, [Big, 1000])),
    %% The length is checked first, so a range past the end raises badarg
    %% rather than trapping in make_sub_binary.
    badargs(Config, prefix,
            [[<<"hello">>, 6], [<<>>, 1], [Big, 1001], [<<"hello">>, -1],
             [<<"hello">>, ?UINT32_MAX + 1], [<<"hello">>, 2.0], [<<"hello">>, two],
             ["hello", 2], [hello, 0],
             %% Bitstrings whose size is not whole bytes are not binaries.
             [<<1:3>>, 0], [<<"ab", 1:3>>, 1]]),
    %% Raising is not a trap: the instance goes on.
    ?assertEqual(<<"hel">>, call(Config, prefix, [<<"hello">>, 3])).

%% ---------------------------------------------------------------------------
%% External term format: decode(Bin) -> {binary_to_term(Bin), BytesUsed},
%% for up to 64 KiB.
%% ---------------------------------------------------------------------------

decode(Config) ->
    Terms = [a, ok, 42, -1, 1 bsl 70, -(1 bsl 100), 3.5, "str", <<"bin">>, [], {}, #{},
             {t, [1, 2.0], #{k => <<"v">>}}, [a | b], self(), make_ref(),
             list_to_atom([16#3b1]), lists:seq(1, 1000)],
    [begin
         Ext = term_to_binary(T),
         ?assertEqual({T, byte_size(Ext)}, call(Config, decode, [Ext]))
     end || T <- Terms],
    %% Bytes after the term are not read: BytesUsed counts the term only.
    Ext = term_to_binary({a, 1}),
    ?assertEqual({{a, 1}, byte_size(Ext)}, call(Config, decode, [<<Ext/binary, "junk">>])),
    ?assertEqual({{a, 1}, byte_size(Ext)}, call(Config, decode, [<<Ext/binary, Ext/binary>>])),
    %% Up to 64 KiB: a 65,530-byte binary encodes in exactly 65,536 bytes.
    Fits = binary:copy(<<7>>, 65530),
    ?assertEqual(65536, byte_size(term_to_binary(Fits))),
    ?assertEqual({Fits, 65536}, call(Config, decode, [term_to_binary(Fits)])),
    %% An existing atom decodes (SMALL_ATOM_UTF8_EXT)...
    ?assertEqual({ok, 5}, call(Config, decode, [<<131, 119, 2, "ok">>])),
    %% ...but always as with ERL_NIF_BIN2TERM_SAFE: an atom that does not
    %% exist fails, and the guest has not created it.
    Missing = missing_atom_name(),
    MissingExt = <<131, 119, (byte_size(Missing)), Missing/binary>>,
    ?assertEqual(badarg, err(Config, decode, [MissingExt])),
    ?assertEqual(badarg, err(Config, decode, [<<131, 104, 2, 97, 1, 119, (byte_size(Missing)),
                                               Missing/binary>>])),
    ?assertError(badarg, binary_to_existing_atom(Missing, utf8)),
    %% Compressed input is refused.
    Compressed = term_to_binary(binary:copy(<<0>>, 1000), [compressed]),
    ?assertMatch(<<131, 80, _/binary>>, Compressed),
    ?assertEqual(binary:copy(<<0>>, 1000), binary_to_term(Compressed)),
    Truncated = binary:part(term_to_binary({a, [1, 2, 3]}), 0, 8),
    badargs(Config, decode,
            [[Compressed], [Truncated], [<<>>], [<<131>>], [<<1, 2, 3>>], [<<131, 255>>],
             [<<131, 97>>],
             %% Over 64 KiB.
             [term_to_binary(binary:copy(<<7>>, 65531))],
             [<<(term_to_binary(Fits))/binary, 0>>],
             %% Not a binary.
             [[131, 97, 1]], [not_a_binary], [<<131, 97, 1, 0:3>>]]),
    ?assertEqual({1, 3}, call(Config, decode, [<<131, 97, 1>>])).

%% ---------------------------------------------------------------------------
%% Maps and iteration: sum_values(#{a => 1, b => 2}) -> 3
%% ---------------------------------------------------------------------------

sum_values(Config) ->
    ?assertEqual(3, call(Config, sum_values, [#{a => 1, b => 2}])),
    ?assertEqual(0, call(Config, sum_values, [#{}])),
    ?assertEqual(0, call(Config, sum_values, [#{x => -5, y => 5}])),
    ?assertEqual(?INT64_MAX, call(Config, sum_values, [#{a => ?INT64_MAX}])),
    ?assertEqual(-1, call(Config, sum_values, [#{a => ?INT64_MIN, b => ?INT64_MAX}])),
    ?assertEqual(42, call(Config, sum_values, [#{{k, [1]} => 40, <<"k">> => 2}])),
    %% Flat maps (up to 32 keys) and hash maps, up to a large one: every pair
    %% is visited once.
    [begin
         Map = maps:from_list([{K, K} || K <- lists:seq(1, N)]),
         ?assertEqual({N, N * (N + 1) div 2}, {N, call(Config, sum_values, [Map])})
     end || N <- [1, 31, 32, 33, 1000, 100000]],
    badargs(Config, sum_values,
            [[#{a => 1.0}], [#{a => 1, b => x}], [#{a => 1 bsl 64}], [#{a => [1]}],
             [[]], [[{a, 1}]], [not_a_map], [{}]]),
    ?assertEqual(6, call(Config, sum_values, [#{1 => 1, 2 => 2, 3 => 3}])).

%% ---------------------------------------------------------------------------
%% bump(Counts, Key) -> Counts#{Key => N + 1}, N being 0 if Key is absent.
%% ---------------------------------------------------------------------------

bump(Config) ->
    ?assertEqual(#{a => 1}, call(Config, bump, [#{}, a])),
    ?assertEqual(#{a => 2}, call(Config, bump, [#{a => 1}, a])),
    ?assertEqual(#{a => 1, b => 8}, call(Config, bump, [#{a => 1, b => 7}, b])),
    ?assertEqual(#{a => 0}, call(Config, bump, [#{a => -1}, a])),
    ?assertEqual(#{a => ?INT64_MIN + 1}, call(Config, bump, [#{a => ?INT64_MIN}, a])),
    ?assertEqual(#{{k, [1]} => 2}, call(Config, bump, [#{{k, [1]} => 1}, {k, [1]}])),
    %% Counting words.
    Counts = lists:foldl(fun(W, M) -> call(Config, bump, [M, W]) end, #{},
                         [the, cat, the, hat, the]),
    ?assertEqual(#{the => 3, cat => 1, hat => 1}, Counts),
    %% Keys match exactly: 1 and 1.0 are different keys.
    ?assertEqual(#{1 => 5, 1.0 => 1}, call(Config, bump, [#{1 => 5}, 1.0])),
    ?assertEqual(#{1.0 => 6}, call(Config, bump, [#{1.0 => 5}, 1.0])),
    %% A hash map keeps its other keys.
    Big = maps:from_list([{K, K} || K <- lists:seq(1, 1000)]),
    ?assertEqual(Big#{500 := 501, new => 1},
                 call(Config, bump, [call(Config, bump, [Big, 500]), new])),
    badargs(Config, bump,
            [[#{a => x}, a], [#{a => 1.0}, a], [#{a => 1 bsl 64}, a], [#{a => [1]}, a],
             %% Not a map: make_map_put answers 0.
             [not_a_map, a], [[], a], [[{a, 1}], a]]),
    ?assertEqual(#{a => 1, b => x}, call(Config, bump, [#{b => x}, a])).

%% ---------------------------------------------------------------------------
%% Type tests and comparison: term_max(A, B) -> the greater in Erlang's
%% term order (A if equal).
%% ---------------------------------------------------------------------------

term_max(Config) ->
    ?assertEqual(2, call(Config, term_max, [1, 2])),
    ?assertEqual(2, call(Config, term_max, [2, 1])),
    %% compare uses == equality: 1 equals 1.0, and then A comes back.
    ?assertMatch(1, call(Config, term_max, [1, 1.0])),
    ?assertMatch(1.0, call(Config, term_max, [1.0, 1])),
    ?assert(is_integer(call(Config, term_max, [1, 1.0]))),
    ?assert(is_float(call(Config, term_max, [1.0, 1]))),
    ?assertEqual(2.5, call(Config, term_max, [2, 2.5])),
    ?assertEqual(1 bsl 100, call(Config, term_max, [1 bsl 100, ?INT64_MAX])),
    %% Erlang's order: number < atom < reference < fun < port < pid < tuple
    %% < map < [] < list < bitstring.
    Fun = fun() -> ok end,
    Ordered = [-1.0e300, 0, 1 bsl 200, '', a, zz, make_ref(), Fun, a_port(), self(), {},
               {9}, {1, 1}, {1, 2}, #{}, #{a => 1}, [], [1], [1, 2], [2], "abc", "abd",
               <<>>, <<1>>, <<1, 0>>, <<2>>, <<1:3>>],
    %% (Strictly increasing in Erlang itself.)
    Pairs = lists:zip(lists:droplast(Ordered), tl(Ordered)),
    [?assert(Lo < Hi) || {Lo, Hi} <- Pairs],
    [begin
         Expected = case A >= B of true -> A; false -> B end,
         ?assertEqual({A, B, Expected}, {A, B, call(Config, term_max, [A, B])})
     end || A <- Ordered, B <- Ordered],
    [?assert(call(Config, term_max, [Lo, Hi]) =:= Hi andalso
             call(Config, term_max, [Hi, Lo]) =:= Hi) || {Lo, Hi} <- Pairs],
    %% Equal terms: A comes back.
    Tuple = {1, [2.0, <<"3">>]},
    ?assertEqual(Tuple, call(Config, term_max, [Tuple, {1, [2.0, <<"3">>]}])),
    ?assert(call(Config, term_max, [{1, [2, x]}, {1.0, [2.0, x]}]) =:= {1, [2, x]}),
    %% Terms the caller passed are compared as Erlang compares them, shared
    %% subterms and all (2^23 leaves here); only terms a guest makes are
    %% bounded (erl_nif_wasm.h). Checked with =:= so that a failure does not
    %% print the flattened tree.
    Deep = shared_tree(23),
    ?assert(call(Config, term_max, [Deep, shared_tree(23)]) =:= Deep),
    Small = shared_tree(10),
    ?assertEqual(Small, call(Config, term_max, [Small, shared_tree(10)])).

%% ---------------------------------------------------------------------------
%% is_container(T) -> true for lists, tuples and maps.
%% ---------------------------------------------------------------------------

is_container(Config) ->
    Containers = [[], [1], [1 | 2], "abc", lists:seq(1, 1000), {}, {a, b},
                  erlang:make_tuple(70000, t), #{}, #{a => 1},
                  maps:from_list([{K, K} || K <- lists:seq(1, 100)])],
    NotContainers = [0, -1, 1 bsl 70, 1.5, a, true, '', <<>>, <<"xyz">>, <<1:3>>,
                     self(), make_ref(), fun() -> ok end, fun lists:sum/1, a_port()],
    [?assertEqual({T, true}, {T, call(Config, is_container, [T])}) || T <- Containers],
    [?assertEqual({T, false}, {T, call(Config, is_container, [T])}) || T <- NotContainers].

%% ---------------------------------------------------------------------------
%% Exceptions: fetch(Map, Key) -> the value, or raises error:{not_found, Key}.
%% ---------------------------------------------------------------------------

fetch(Config) ->
    ?assertEqual(1, call(Config, fetch, [#{a => 1}, a])),
    ?assertEqual({v, [1]}, call(Config, fetch, [#{k => {v, [1]}, j => 2}, k])),
    Big = maps:from_list([{K, {value, K}} || K <- lists:seq(1, 1000)]),
    ?assertEqual({value, 777}, call(Config, fetch, [Big, 777])),
    %% A missing key raises error:{not_found, Key}: class error, not a trap.
    Missing = try call(Config, fetch, [#{a => 1}, b]) of
                  Result -> {no_exception, Result}
              catch
                  Class:Reason -> {Class, Reason}
              end,
    ?assertEqual({error, {not_found, b}}, Missing),
    %% Keys match exactly.
    ?assertEqual({not_found, 1.0}, err(Config, fetch, [#{1 => x}, 1.0])),
    ?assertEqual(x, call(Config, fetch, [#{1.0 => x}, 1.0])),
    ?assertEqual({not_found, 1001}, err(Config, fetch, [Big, 1001])),
    %% The key in the reason is the key given, whatever it is.
    Key = {k, [1, <<"b">>], #{c => 2.5}},
    ?assertEqual({not_found, Key}, err(Config, fetch, [#{}, Key])),
    %% get_map_value answers 0 for something that is not a map.
    ?assertEqual({not_found, k}, err(Config, fetch, [not_a_map, k])),
    ?assertEqual({not_found, a}, err(Config, fetch, [[{a, 1}], a])),
    %% Raising is not a trap: the instance stays usable.
    ?assertEqual(1, call(Config, fetch, [#{a => 1}, a])).

%% ---------------------------------------------------------------------------
%% Processes and references: progress(N) -> done, after sending
%% {progress, Ref, I} for I in 1..N to the caller, Ref a new reference.
%% ---------------------------------------------------------------------------

progress(Config) ->
    assert_no_message(),
    ?assertEqual(done, call(Config, progress, [3])),
    Ref = receive {progress, R, 1} -> R end,
    ?assert(is_reference(Ref)),
    receive {progress, Ref, 2} = M2 -> M2 end,
    receive {progress, Ref, 3} = M3 -> M3 end,
    assert_no_message(),
    %% Messages arrive in order, all with the same reference.
    ?assertEqual(done, call(Config, progress, [5])),
    Ref2 = receive {progress, R2, 1} -> R2 end,
    ?assertEqual([2, 3, 4, 5], [receive {progress, Ref2, I} -> I end || _ <- lists:seq(2, 5)]),
    assert_no_message(),
    %% A new reference each call.
    ?assertNotEqual(Ref, Ref2),
    ?assertEqual(done, call(Config, progress, [0])),
    assert_no_message(),
    badargs(Config, progress, [[-1], [?UINT32_MAX + 1], [a], [1.0], ["1"]]),
    assert_no_message(),
    %% The messages go to the process that makes the call.
    Instance = ?config(instance, Config),
    Parent = self(),
    Child = in_new_process(
              fun() ->
                      done = wasm_runtime_nif:call(Instance, progress, [2]),
                      Got = [receive {progress, _, _} = M -> M end || _ <- [1, 2]],
                      {self(), Got}
              end),
    {ChildPid, [{progress, ChildRef, 1}, {progress, ChildRef, 2}]} = Child,
    ?assertNotEqual(Parent, ChildPid),
    ?assert(is_reference(ChildRef)),
    assert_no_message(),
    %% Each iteration makes two terms, so a call can send about 500,000
    %% messages before it runs out of handles: the argument, self(), the atom
    %% progress and the reference take 4, each message 2, and done 1, so
    %% (2^20 - 5) div 2 = 524,285 messages fit.
    Most = (?HANDLES - 5) div 2,
    ?assertEqual(524285, Most),
    ?assertEqual({done, Most}, in_new_process(fun() -> send_and_count(Config, Most) end)),
    %% Asked for more, the call traps with term_limit once the handles are
    %% gone; the messages sent by then (all 524,286 that fit) stay sent.
    {{trap, term_limit, _}, Sent} = in_new_process(fun() -> send_and_count(Config, 600000) end),
    ?assertEqual(Most + 1, Sent),
    assert_no_message().

%% Calls progress(N) on a new instance, then takes the messages it sent
%% (checking their order and reference) and returns {Result, Count}. A trap
%% also invalidates the instance.
send_and_count(Config, N) ->
    Instance = new_instance(Config),
    Result = case raised(fun() -> wasm_runtime_nif:call(Instance, progress, [N]) end) of
                 {no_error, done} ->
                     done;
                 {trap, _Kind, Message} = Trap when is_binary(Message) ->
                     ?assertEqual({instance_invalidated, Trap},
                                  raised(fun() -> wasm_runtime_nif:call(Instance, progress, [0]) end)),
                     Trap;
                 Other ->
                     ct:fail({progress, N, Other})
             end,
    Count = receive
                {progress, Ref, 1} when is_reference(Ref) -> count_progress(Ref, 2)
            after 0 -> 0
            end,
    receive Msg -> ct:fail({unexpected_message, Msg}) after 0 -> ok end,
    {Result, Count}.

count_progress(Ref, I) ->
    receive
        {progress, Ref, I} -> count_progress(Ref, I + 1)
    after 0 ->
        I - 1
    end.
