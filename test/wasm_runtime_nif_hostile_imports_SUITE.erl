%% Hostile guests against every import of erl_nif_wasm.h added after the
%% seed (hostile_api.wat and hostile_api_no_memory.wat beside this suite):
%% forged, stale and predicted handles, wrong envs, pointers and lengths
%% outside linear memory, a module without memory, huge counts, lying map
%% iterators, cyclic attempts and the atom table.
%%
%% The header's rules: imports that return an int answer 0 for anything
%% invalid and write nothing; imports that return a term trap the call with
%% {trap, Kind, Message}, Kind in bad_env | bad_handle | bad_pointer |
%% bad_argument | term_limit | atom_limit, which invalidates the instance.
%% After every trap the trapped instance stays invalidated and a fresh
%% instance of the same module works.
-module(wasm_runtime_nif_hostile_imports_SUITE).

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2,
         end_per_testcase/2]).
-export([number_getters/1, number_makers/1, atom_getters/1, make_atom_len/1, strings/1,
         tuples/1, lists/1, huge_array_counts/1, binaries_and_iolists/1,
         external_term_format/1, maps/1, map_iterators/1, type_tests_and_compare/1,
         exceptions/1, processes/1, stale_handles_and_envs/1,
         declared_buffers_past_memory/1, cyclic_attempts/1, guest_without_memory/1,
         unsupported_encodings_and_options/1, atom_limit/1]).
%% Run on a peer node.
-export([atom_limit_on_peer/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, expect_trap/4, remote_pid/0, dead_pid/0]).

%% The memory map of hostile_api.wat.
-define(OUT, 16).
-define(OUT2, 24).
-define(ITER, 16#200).
-define(BUF, 16#1000).
-define(ARR, 16#2000).
-define(KEYS, 16#2100).
-define(VALS, 16#2200).
-define(DATA, 16#3000).
-define(MEMEND, 16#200000).
-define(LATIN1, 1).
%% Bad envs (EK): env+1, 0, -1, the env of an earlier call, env xor 2^30.
-define(BAD_ENVS, [1, 2, 3, 4, 5]).

suite() ->
    [{timetrap, {minutes, 5}}].

all() ->
    [number_getters, number_makers, atom_getters, make_atom_len, strings, tuples, lists,
     huge_array_counts, binaries_and_iolists, external_term_format, maps, map_iterators,
     type_tests_and_compare, exceptions, processes, stale_handles_and_envs,
     declared_buffers_past_memory, cyclic_attempts, guest_without_memory,
     unsupported_encodings_and_options, atom_limit].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "hostile_api.wat")},
     {no_memory, wasm_test_util:load(Config, "hostile_api_no_memory.wat")} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    [{instance, fresh(Config)} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

%% ---------------------------------------------------------------------------
%% Helpers
%% ---------------------------------------------------------------------------

%% A new instance whose first call kept a handle (of a map) and its env in
%% wasm globals, for the stale cases (HK 6, EK 4).
fresh(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    #{stashed := true} = wasm_runtime_nif:call(I, stash, [#{stashed => true}]),
    I.

%% The arguments of the common signature, from a map of the ones that differ
%% from the defaults.
args(Opts) ->
    Defaults = #{ek => 0, hk => 0, pos => 0, n => 0, p1 => ?OUT, p2 => 0, p3 => 0, p4 => ?LATIN1,
                 a => 0, b => 0, c => 0},
    All = maps:merge(Defaults, Opts),
    [maps:get(K, All) || K <- [ek, hk, pos, n, p1, p2, p3, p4, a, b, c]].

%% A getter's answer: {Returned, mask of the sentinel regions written}.
g(I, Name, Opts) ->
    decode(wasm_runtime_nif:call(I, Name, args(Opts))).

decode(V) ->
    {V bsr 8, V band 16#ff}.

m(I, Name, Opts) ->
    wasm_runtime_nif:call(I, Name, args(Opts)).

%% The forged handles (HK) and the N they take: 1 zero, 2 -1, 3 a fixed
%% random value, 4 the newest handle + 1, 5 the env used as a term, 6 a
%% handle of an earlier call, 7 the badarg exception handle, 8 a valid
%% handle with a generation bit flipped, 9 the caller's N, 10 and 11 a valid
%% handle's slot in the next and previous generations.
forgeries() ->
    [{K, 0} || K <- [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]] ++
        [{9, N} || N <- [16#7fffffffffffffff, -16#8000000000000000, 16#123456789abcdef,
                         (1 bsl 40) + rand:uniform(1 bsl 60), -rand:uniform(1 bsl 62)]].

%% Pointers outside the 2 MiB of memory, or straddling its end: at its end,
%% one byte before it, -1, -8 and 2^31 (negative as an i32).
wild_pointers() ->
    [?MEMEND, ?MEMEND - 1, 16#ffffffff, 16#fffffff8, 16#80000000].

refused(I, Name, Opts) ->
    ?assertEqual({Name, Opts, {0, 0}}, {Name, Opts, g(I, Name, Opts)}).

%% A getter: the control answers Expect; each bad env, each forged handle at
%% each handle position and each wild pointer at each pointer position
%% answers 0 and writes nothing; and the control still answers the same.
getter(Config, Name, Control, Expect, HandlePositions, PointerKeys) ->
    I = ?config(instance, Config),
    ?assertEqual({Name, control, Expect}, {Name, control, g(I, Name, Control)}),
    [refused(I, Name, Control#{ek => EK}) || EK <- ?BAD_ENVS],
    [refused(I, Name, Control#{hk => HK, n => N, pos => Pos})
     || Pos <- HandlePositions, {HK, N} <- forgeries()],
    [refused(I, Name, Control#{P => Wild}) || P <- PointerKeys, Wild <- wild_pointers()],
    ?assertEqual({Name, control, Expect}, {Name, control, g(I, Name, Control)}).

%% A maker: the control gives Expect (a value, or a fun that checks the
%% result); each bad env traps with bad_env, each forged handle with
%% bad_handle, each wild pointer with bad_pointer.
maker(Config, Name, Control, Expect, HandlePositions, PointerKeys) ->
    Result = m(fresh(Config), Name, Control),
    case is_function(Expect, 1) of
        true -> ?assert(Expect(Result));
        false -> ?assertEqual({Name, Expect}, {Name, Result})
    end,
    [trap(Config, [bad_env], Name, Control#{ek => EK}) || EK <- ?BAD_ENVS],
    [trap(Config, [bad_handle], Name, Control#{hk => HK, n => N, pos => Pos})
     || Pos <- HandlePositions, {HK, N} <- forgeries()],
    [trap(Config, [bad_pointer], Name, Control#{P => Wild})
     || P <- PointerKeys, Wild <- wild_pointers()],
    ok.

%% Calls Name on a fresh instance and expects a trap of one of Kinds; then
%% the instance is invalidated, and a new one works.
trap(Config, Kinds, Name, Opts) ->
    trap_call(Config, Kinds, Name, args(Opts)).

trap_call(Config, Kinds, Name, Args) ->
    I = fresh(Config),
    Trap = expect_trap(I, Kinds, Name, Args),
    ?assertEqual({instance_invalidated, Trap}, raised(fun() -> wasm_runtime_nif:call(I, healthy, []) end)),
    healthy(Config),
    Trap.

%% A fresh instance of the module works, and so does the VM.
healthy(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    ?assertEqual({ok, 42}, wasm_runtime_nif:call(I, healthy, [])),
    ?assert(erlang:is_process_alive(whereis(code_server))).

poke(I, At, Bin) ->
    ?assertEqual(1, wasm_runtime_nif:call(I, poke, [At, Bin])).

no_messages() ->
    receive Msg -> ct:fail({unexpected_message, Msg}) after 50 -> ok end.

%% ---------------------------------------------------------------------------
%% Numbers
%% ---------------------------------------------------------------------------

number_getters(Config) ->
    [getter(Config, Name, #{a => A, p1 => ?OUT}, {1, 1}, [1], [p1])
     || {Name, A} <- [{g_get_int, 5}, {g_get_uint, 5}, {g_get_int64, 5}, {g_get_uint64, 5},
                      {g_get_double, 1.5}]],
    %% The right type and range, but no room for the answer: 4 and 8 bytes.
    I = ?config(instance, Config),
    refused(I, g_get_int, #{a => 5, p1 => ?MEMEND - 3}),
    refused(I, g_get_int64, #{a => 5, p1 => ?MEMEND - 7}),
    refused(I, g_get_double, #{a => 1.5, p1 => ?MEMEND - 4}),
    %% The last bytes of memory are memory.
    ?assertEqual({1, 4}, g(I, g_get_uint, #{a => 5, p1 => ?MEMEND - 4})),
    ?assertEqual({1, 4}, g(I, g_get_uint64, #{a => 5, p1 => ?MEMEND - 8})),
    healthy(Config).

number_makers(Config) ->
    [maker(Config, Name, #{n => N}, Expect, [], [])
     || {Name, N, Expect} <- [{m_make_int, -7, -7}, {m_make_uint, 16#ffffffff, 16#ffffffff},
                              {m_make_int64, -16#8000000000000000, -16#8000000000000000},
                              {m_make_uint64, -1, 16#ffffffffffffffff},
                              {m_make_double, 16#3ff8000000000000, 1.5}]],
    %% NaN and the infinities give the badarg exception: a raise, not a trap.
    I = fresh(Config),
    [?assertEqual(badarg, raised(fun() -> m(I, m_make_double, #{n => Bits}) end))
     || Bits <- [16#7ff8000000000000, 16#7ff0000000000000, -16#10000000000000, -1]],
    ?assertEqual({ok, 42}, wasm_runtime_nif:call(I, healthy, [])).

%% ---------------------------------------------------------------------------
%% Atoms and strings
%% ---------------------------------------------------------------------------

atom_getters(Config) ->
    I = ?config(instance, Config),
    getter(Config, g_get_atom, #{a => hello, p1 => ?BUF, p2 => 16}, {6, 2}, [1], [p1]),
    ?assertEqual(<<"hello", 0>>, wasm_runtime_nif:call(I, peek, [?BUF, 6])),
    getter(Config, g_get_atom_length, #{a => hello, p1 => ?OUT}, {1, 1}, [1], [p1]),
    poke(I, ?DATA, <<"hello">>),
    getter(Config, g_existing_atom, #{p1 => ?DATA, p2 => 5, p3 => ?OUT}, {1, 1}, [], [p1, p3]),
    %% The name and NUL exactly at the end of memory fit; one byte more does not.
    ?assertEqual({6, 4}, g(I, g_get_atom, #{a => hello, p1 => ?MEMEND - 6, p2 => 6})),
    refused(I, g_get_atom, #{a => hello, p1 => ?MEMEND - 5, p2 => 6}),
    %% No room for the NUL, or not an atom.
    refused(I, g_get_atom, #{a => hello, p1 => ?BUF, p2 => 5}),
    refused(I, g_get_atom, #{a => hello, p1 => ?BUF, p2 => 0}),
    [refused(I, Name, #{a => T, p1 => ?BUF, p2 => 16})
     || Name <- [g_get_atom, g_get_atom_length], T <- ["hello", <<"hello">>, 1, {hello}]],
    %% Names longer than 255 bytes name no atom, whatever their bytes.
    poke(I, ?DATA, binary:copy(<<"h">>, 300)),
    [refused(I, g_existing_atom, #{p1 => ?DATA, p2 => Len, p3 => ?OUT})
     || Len <- [256, 300, 65536, 16#ffffffff, 16#80000000]],
    %% A name running past the end of memory.
    refused(I, g_existing_atom, #{p1 => ?MEMEND - 3, p2 => 5, p3 => ?OUT}),
    %% '' is named by an empty range, even at the very end of memory.
    ?assertEqual({1, 1}, g(I, g_existing_atom, #{p1 => ?MEMEND, p2 => 0, p3 => ?OUT})),
    healthy(Config).

make_atom_len(Config) ->
    I = fresh(Config),
    poke(I, ?DATA, <<"hello">>),
    ?assertEqual(hello, m(I, m_make_atom, #{p1 => ?DATA, p2 => 5})),
    maker(Config, m_make_atom, #{p1 => ?DATA, p2 => 0}, '', [], []),
    [trap(Config, [bad_pointer], m_make_atom, #{p1 => P, p2 => 5})
     || P <- wild_pointers() ++ [?MEMEND - 4]],
    %% 255 bytes is the longest name; 256 traps with bad_argument (the bytes
    %% are in memory, so only the length is wrong).
    J = fresh(Config),
    poke(J, ?DATA, binary:copy(<<"w">>, 300)),
    ?assertEqual(binary_to_atom(binary:copy(<<"w">>, 255), latin1),
                 m(J, m_make_atom, #{p1 => ?DATA, p2 => 255})),
    [trap(Config, [bad_argument], m_make_atom, #{p1 => ?DATA, p2 => Len})
     || Len <- [256, 300, 65536]],
    %% Both too long and outside memory: either kind will do.
    [trap(Config, [bad_argument, bad_pointer], m_make_atom, #{p1 => ?DATA, p2 => Len})
     || Len <- [16#ffffffff, 16#80000000, ?MEMEND]],
    %% An empty name at the end of memory is inside it; one past is not.
    ?assertEqual('', m(fresh(Config), m_make_atom, #{p1 => ?MEMEND, p2 => 0})),
    trap(Config, [bad_pointer], m_make_atom, #{p1 => ?MEMEND + 1, p2 => 0}),
    trap(Config, [bad_pointer], m_make_atom, #{p1 => 16#ffffffff, p2 => 0}).

strings(Config) ->
    getter(Config, g_get_string, #{a => "abc", p1 => ?BUF, p2 => 16}, {4, 2}, [1], [p1]),
    I = ?config(instance, Config),
    ?assertEqual(<<"abc", 0>>, wasm_runtime_nif:call(I, peek, [?BUF, 4])),
    %% Truncated into the last two bytes of memory: "a" and a NUL.
    ?assertEqual({-2, 4}, g(I, g_get_string, #{a => "abc", p1 => ?MEMEND - 2, p2 => 2})),
    ?assertEqual(<<"a", 0>>, wasm_runtime_nif:call(I, peek, [?MEMEND - 2, 2])),
    refused(I, g_get_string, #{a => "abc", p1 => ?MEMEND - 2, p2 => 4}),
    refused(I, g_get_string, #{a => "abc", p1 => ?BUF, p2 => 0}),
    %% Not Latin-1 strings: nothing written, not even a prefix.
    [refused(I, g_get_string, #{a => T, p1 => ?BUF, p2 => 16})
     || T <- [[$a, 256], [$a, -1], [$a | $b], "abc" ++ [a], <<"abc">>, abc, [[$a]]]],
    J = fresh(Config),
    poke(J, ?DATA, <<"abc">>),
    ?assertEqual("abc", m(J, m_make_string, #{p1 => ?DATA, p2 => 3})),
    maker(Config, m_make_string, #{p1 => ?DATA, p2 => 0}, [], [], []),
    [trap(Config, [bad_pointer], m_make_string, #{p1 => P, p2 => 3})
     || P <- wild_pointers() ++ [?MEMEND - 2]],
    %% Past the end of memory, and over 65,536 characters: either kind.
    [trap(Config, [bad_pointer, term_limit], m_make_string, #{p1 => ?DATA, p2 => Len})
     || Len <- [16#ffffffff, 16#80000000, ?MEMEND]],
    ?assertEqual([], m(fresh(Config), m_make_string, #{p1 => ?MEMEND, p2 => 0})),
    %% In memory: at most 65,536 characters in one import.
    ?assertEqual(65536, length(m(fresh(Config), m_make_string, #{p1 => ?DATA, p2 => 65536}))),
    [trap(Config, [term_limit], m_make_string, #{p1 => 0, p2 => Len}) || Len <- [65537, ?MEMEND]].

%% ---------------------------------------------------------------------------
%% Tuples and lists
%% ---------------------------------------------------------------------------

tuples(Config) ->
    Control = #{a => {x, y}, p1 => ?OUT, p2 => ?BUF, p3 => 4},
    getter(Config, g_get_tuple, Control, {1, 3}, [1], [p1, p2]),
    I = ?config(instance, Config),
    %% Too small a capacity: only the arity is stored.
    ?assertEqual({0, 1}, g(I, g_get_tuple, Control#{p3 => 1})),
    ?assertEqual({0, 1}, g(I, g_get_tuple, Control#{p3 => 0})),
    ?assertEqual({1, 1}, g(I, g_get_tuple, Control#{a => {}, p3 => 0})),
    %% The last 8 bytes of memory hold a 1-tuple's element.
    ?assertEqual({1, 5}, g(I, g_get_tuple, Control#{a => {x}, p2 => ?MEMEND - 8, p3 => 1})),
    [refused(I, g_get_tuple, Control#{a => T}) || T <- [[x, y], x, #{x => y}, <<"xy">>]],
    %% Capacity 0 asks for the arity alone, with a NULL array.
    ?assertEqual({0, 1}, g(I, g_get_tuple, Control#{p2 => 0, p3 => 0})),
    ?assertEqual({1, 1}, g(I, g_get_tuple, Control#{a => {}, p2 => 0, p3 => 0})),
    %% At most 65,536 handles are copied: a larger tuple gives its arity only,
    %% even with room for all of them (0x10000 has room for 65,537).
    ?assertEqual({1, 1}, g(I, g_get_tuple, Control#{a => erlang:make_tuple(65536, t), p2 => 16#10000,
                                                     p3 => 65536})),
    ?assertEqual({0, 1}, g(I, g_get_tuple, Control#{a => erlang:make_tuple(65537, t), p2 => 16#10000,
                                                     p3 => 65537})),
    %% Makers: [A, B, C] in memory, Count of them read.
    TControl = #{a => x, b => y, c => z, p1 => ?ARR, p2 => 3},
    maker(Config, m_tuple, TControl, {x, y, z}, [1, 2, 3], [p1]),
    ?assertEqual({}, m(fresh(Config), m_tuple, TControl#{p2 => 0})),
    %% Only Count handles are read: a forged third one is not looked at.
    ?assertEqual({x, y}, m(fresh(Config), m_tuple, TControl#{p2 => 2, hk => 1, pos => 3})),
    %% A fourth slot holds no handle (zeroed memory).
    trap(Config, [bad_handle], m_tuple, TControl#{p2 => 4}),
    healthy(Config).

lists(Config) ->
    getter(Config, g_get_list_length, #{a => [1, 2], p1 => ?OUT}, {1, 1}, [1], [p1]),
    getter(Config, g_reverse_list, #{a => [1, 2], p1 => ?OUT}, {1, 1}, [1], [p1]),
    I = ?config(instance, Config),
    [refused(I, Name, #{a => T, p1 => ?OUT})
     || Name <- [g_get_list_length, g_reverse_list], T <- [[1 | 2], [1, 2 | x], x, {1, 2}, <<"12">>]],
    maker(Config, m_list_cell, #{a => x, b => y}, [x | y], [1, 2], []),
    maker(Config, m_list, #{a => x, b => y, c => z, p1 => ?ARR, p2 => 3}, [x, y, z], [1, 2, 3], [p1]),
    ?assertEqual([], m(fresh(Config), m_list, #{p1 => ?ARR, p2 => 0})),
    ?assertEqual([x], m(fresh(Config), m_list, #{a => x, p1 => ?ARR, p2 => 1, hk => 1, pos => 2})),
    trap(Config, [bad_handle], m_list, #{a => x, b => y, c => z, p1 => ?ARR, p2 => 4}),
    %% A cell whose tail is the handle it is about to get: that handle does
    %% not exist yet, so no cycle can be made.
    trap(Config, [bad_handle], m_list_cell, #{a => x, b => y, hk => 4, pos => 2}),
    trap(Config, [bad_handle], m_list_cell, #{a => x, b => y, hk => 4, pos => 1}),
    %% The badarg marker put in a list is named as the guest's author knows it.
    [begin
         {trap, bad_handle, Message} = trap(Config, [bad_handle], Name, Opts#{hk => 7}),
         ?assertNotEqual(nomatch, binary:match(Message, <<"enif_wasm_make_badarg">>))
     end || {Name, Opts} <- [{m_list, #{a => x, b => y, c => z, p1 => ?ARR, p2 => 3, pos => 2}},
                             {m_list_cell, #{a => x, b => y, pos => 1}}]],
    healthy(Config).

%% 65,536 handles per array import; more, or a count whose array runs past
%% memory, traps (the header names no kind for the count, so bad_argument
%% and term_limit are both accepted). The arrays at 0x10000 hold up to
%% 65,537 valid handles.
huge_array_counts(Config) ->
    ?assertEqual(65536, tuple_size(wasm_runtime_nif:call(fresh(Config), m_tuple_big, [t, 65536]))),
    ?assertEqual(65536, length(wasm_runtime_nif:call(fresh(Config), m_list_big, [t, 65536]))),
    [trap_call(Config, [bad_argument, term_limit], Name, [t, 65537]) || Name <- [m_tuple_big, m_list_big]],
    [trap_call(Config, [bad_argument, term_limit, bad_pointer], Name, [t, Count])
     || Name <- [m_tuple_big, m_list_big], Count <- [16#7fffffff, 16#ffffffff, 16#80000000, 16#20000000]],
    [trap(Config, [bad_argument, term_limit, bad_pointer], Name,
          #{a => x, b => y, c => z, p1 => ?ARR, p2 => Count})
     || Name <- [m_tuple, m_list], Count <- [16#7fffffff, 16#ffffffff]],
    %% make_map_from_arrays answers 0 instead, past its 2,048 pairs.
    I = ?config(instance, Config),
    ?assertEqual({1, 1}, decode(wasm_runtime_nif:call(I, g_map_big, [2048]))),
    [?assertEqual({Count, {0, 0}}, {Count, decode(wasm_runtime_nif:call(I, g_map_big, [Count]))})
     || Count <- [2049, 65537, 16#7fffffff, 16#ffffffff]],
    healthy(Config).

%% ---------------------------------------------------------------------------
%% Binaries, iolists, external term format
%% ---------------------------------------------------------------------------

binaries_and_iolists(Config) ->
    getter(Config, g_iolist, #{a => [<<"ab">>, $c], p1 => ?OUT}, {1, 1}, [1], [p1]),
    I = ?config(instance, Config),
    [refused(I, g_iolist, #{a => T, p1 => ?OUT}) || T <- [[256], [-1], [a], a, [$a | $b], <<1:7>>]],
    Bin = <<"hello">>,
    maker(Config, m_sub_binary, #{a => Bin, p1 => 1, p2 => 3}, <<"ell">>, [], []),
    %% A forged handle is both an invalid handle and not a binary.
    [trap(Config, [bad_handle, bad_argument], m_sub_binary, #{a => Bin, p1 => 1, p2 => 3, hk => HK, n => N, pos => 1})
     || {HK, N} <- forgeries()],
    [trap(Config, [bad_argument], m_sub_binary, #{a => A, p1 => Pos, p2 => Size})
     || {A, Pos, Size} <- [{Bin, 5, 1}, {Bin, 6, 0}, {Bin, 0, 6}, {Bin, 16#ffffffff, 2},
                           {Bin, 2, 16#ffffffff}, {Bin, 16#80000000, 16#80000000},
                           {5, 0, 0}, {"hello", 0, 1}, {<<1:7>>, 0, 0}]],
    ?assertEqual(<<>>, m(fresh(Config), m_sub_binary, #{a => Bin, p1 => 5, p2 => 0})).

external_term_format(Config) ->
    getter(Config, g_t2b, #{a => {x}, p1 => ?OUT}, {1, 1}, [1], [p1]),
    I = ?config(instance, Config),
    Enc = term_to_binary({x, [1, 2], <<"y">>}),
    Size = byte_size(Enc),
    poke(I, ?DATA, Enc),
    Control = #{p1 => ?DATA, p2 => Size, p3 => ?OUT, p4 => 0},
    getter(Config, g_b2t, Control, {Size, 1}, [], [p1, p3]),
    Refuse = fun(Bytes, Opts) -> poke(I, ?DATA, Bytes), refused(I, g_b2t, maps:merge(Control, Opts)) end,
    %% Sizes that run past the end of memory or past the encoding.
    [refused(I, g_b2t, Control#{p2 => Len}) || Len <- [0, 16#ffffffff, 16#80000000, ?MEMEND]],
    refused(I, g_b2t, Control#{p1 => ?MEMEND - 2, p2 => 4}),
    %% Not an encoding: garbage, truncated, a huge claimed length, an atom
    %% that does not exist (decoding is always safe).
    Refuse(<<1, 2, 3, 4>>, #{p2 => 4}),
    Refuse(Enc, #{p2 => Size - 1}),
    Refuse(<<131, 108, 255, 255, 255, 255, 106>>, #{p2 => 7}),
    Refuse(<<131, 109, 255, 255, 255, 255, "abc">>, #{p2 => 8}),
    Refuse(<<131, 80, 255, 255, 255, 255, 1, 2, 3>>, #{p2 => 9}),
    Name = iolist_to_binary(["hostile_api_no_such_atom_", integer_to_list(erlang:unique_integer([positive]))]),
    NewAtom = <<131, 119, (byte_size(Name)), Name/binary>>,
    Refuse(NewAtom, #{p2 => byte_size(NewAtom)}),
    Refuse(NewAtom, #{p2 => byte_size(NewAtom), p4 => 16#20000000}),
    ?assertError(badarg, binary_to_existing_atom(Name, utf8)),
    %% Deeply nested input decodes (or is refused) without harm.
    Deep = term_to_binary(lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 5000))),
    poke(I, ?DATA, Deep),
    ?assertEqual({byte_size(Deep), 1}, g(I, g_b2t, Control#{p2 => byte_size(Deep)})),
    healthy(Config).

%% ---------------------------------------------------------------------------
%% Maps
%% ---------------------------------------------------------------------------

maps(Config) ->
    M = #{k => 1},
    getter(Config, g_map_size, #{a => M, p1 => ?OUT}, {1, 1}, [1], [p1]),
    getter(Config, g_map_value, #{a => M, b => k, p1 => ?OUT}, {1, 1}, [1, 2], [p1]),
    getter(Config, g_map_put, #{a => M, b => j, c => 2, p1 => ?OUT}, {1, 1}, [1, 2, 3], [p1]),
    getter(Config, g_map_update, #{a => M, b => k, c => 2, p1 => ?OUT}, {1, 1}, [1, 2, 3], [p1]),
    getter(Config, g_map_remove, #{a => M, b => k, p1 => ?OUT}, {1, 1}, [1, 2], [p1]),
    getter(Config, g_map_from_arrays,
           #{a => k1, b => k2, c => v, p1 => ?KEYS, p2 => ?VALS, p3 => 2, p4 => ?OUT}, {1, 1},
           [1, 2, 3], [p1, p2, p4]),
    I = ?config(instance, Config),
    %% Not a map, or no such key for an update.
    [refused(I, Name, #{a => T, b => k, c => 2, p1 => ?OUT})
     || Name <- [g_map_size, g_map_value, g_map_put, g_map_update, g_map_remove],
        T <- [[{k, 1}], {k, 1}, k, <<"k">>]],
    refused(I, g_map_update, #{a => M, b => j, c => 2, p1 => ?OUT}),
    refused(I, g_map_value, #{a => M, b => j, p1 => ?OUT}),
    %% A duplicate key, a count past the handles written, a huge count.
    FromArrays = #{a => k1, b => k2, c => v, p1 => ?KEYS, p2 => ?VALS, p3 => 2, p4 => ?OUT},
    refused(I, g_map_from_arrays, FromArrays#{b => k1}),
    refused(I, g_map_from_arrays, FromArrays#{p3 => 3}),
    [refused(I, g_map_from_arrays, FromArrays#{p3 => Count})
     || Count <- [65537, 16#7fffffff, 16#ffffffff, 16#80000000]],
    ?assertEqual({1, 1}, g(I, g_map_from_arrays, FromArrays#{p3 => 0})),
    maker(Config, m_new_map, #{}, #{}, [], []),
    healthy(Config).

%% The iterator is guest memory: {map handle, size, index} at 0x200.
map_iterators(Config) ->
    Control = #{a => #{x => 1, y => 2}, p4 => 2, n => 0, p1 => ?ITER, p2 => ?OUT, p3 => ?OUT2},
    getter(Config, g_iter_pair, Control, {1, 1}, [1], [p1, p2, p3]),
    I = ?config(instance, Config),
    ?assertEqual({1, 1}, g(I, g_iter_pair, Control#{n => 1})),
    %% At the head, at the tail, or anywhere else outside the map.
    [refused(I, g_iter_pair, Control#{n => Index})
     || Index <- [-1, 2, 3, 100, -100, 16#7fffffff, -16#80000000]],
    %% A size that lies: there is no pair at index 50 of a map of 2.
    refused(I, g_iter_pair, Control#{p4 => 100, n => 50}),
    refused(I, g_iter_pair, Control#{p4 => 16#7fffffff, n => 5}),
    refused(I, g_iter_pair, Control#{p4 => -1, n => 2}),
    %% Not a map, or an empty one.
    [refused(I, g_iter_pair, Control#{a => T}) || T <- [5, [x], {x, 1}, <<"x">>]],
    refused(I, g_iter_pair, Control#{a => #{}, p4 => 0, n => 0}),
    %% The iterator itself past the end of memory: 16 bytes from MEMEND - 8.
    refused(I, g_iter_pair, Control#{p1 => ?MEMEND - 8}),
    %% An iterator of a big map, at its last pair.
    Big = maps:from_list([{K, K} || K <- lists:seq(1, 1000)]),
    ?assertEqual({1, 1}, g(I, g_iter_pair, Control#{a => Big, p4 => 1000, n => 999})),
    refused(I, g_iter_pair, Control#{a => Big, p4 => 1000, n => 1000}),
    %% The iterator is plain data that may be copied: a position set
    %% directly, far from both ends, names its pair as one reached step by
    %% step does (the header allows 0 only at head or tail, or for a map not
    %% of this call).
    Huge = maps:from_list([{K, K} || K <- lists:seq(1, 200000)]),
    [?assertEqual({index, N, {1, 1}}, {index, N, g(I, g_iter_pair, Control#{a => Huge, p4 => 200000, n => N})})
     || N <- [100000, 0, 199999, 100001, 70000]],
    healthy(Config).

%% ---------------------------------------------------------------------------
%% Type tests, comparison, exceptions, processes
%% ---------------------------------------------------------------------------

type_tests_and_compare(Config) ->
    I = ?config(instance, Config),
    Samples = [{0, a, 1}, {1, <<"b">>, 1}, {2, fun lists:sum/1, 1}, {3, [x], 1}, {4, #{}, 1},
               {5, 1.5, 1}, {6, self(), 1}, {7, hd(erlang:ports()), 1}, {8, make_ref(), 1},
               {9, {t}, 1}, {11, {t}, 11}, {11, a, 1}, {11, 7, 5}],
    [begin
         Control = #{a => T, p1 => Which},
         ?assertEqual({Which, T, {Expect, 0}}, {Which, T, g(I, g_is, Control)}),
         [refused(I, g_is, Control#{ek => EK}) || EK <- ?BAD_ENVS],
         [refused(I, g_is, Control#{hk => HK, n => N, pos => 1}) || {HK, N} <- forgeries()]
     end || {Which, T, Expect} <- Samples],
    %% is_exception: 1 for the badarg exception handle (HK 7) only.
    ?assertEqual({1, 0}, g(I, g_is, #{a => x, p1 => 10, hk => 7, pos => 1})),
    [refused(I, g_is, #{a => T, p1 => 10}) || T <- [x, badarg, {error, badarg}, []]],
    [refused(I, g_is, #{a => x, p1 => 10, hk => HK, n => N, pos => 1})
     || {HK, N} <- forgeries(), HK =/= 7],
    [refused(I, g_is, #{a => x, p1 => 10, hk => 7, pos => 1, ek => EK}) || EK <- ?BAD_ENVS],
    getter(Config, g_identical, #{a => x, b => x}, {1, 0}, [1, 2], []),
    %% compare has no failure value: a bad handle traps, a bad env too.
    maker(Config, m_compare, #{a => 1, b => 2}, -1, [1, 2], []),
    healthy(Config).

exceptions(Config) ->
    %% raise_exception of a valid term raises it; of anything else traps.
    ?assertEqual({why, [no]}, raised(fun() -> m(fresh(Config), m_raise, #{a => {why, [no]}}) end)),
    [trap(Config, [bad_env], m_raise, #{a => x, ek => EK}) || EK <- ?BAD_ENVS],
    [trap(Config, [bad_handle], m_raise, #{a => x, hk => HK, n => N, pos => 1}) || {HK, N} <- forgeries()],
    %% has_pending_exception: without an exception 0; with one 1, the reason
    %% written unless the pointer is NULL (0); a bad env or a wild pointer
    %% answers 0 and writes nothing. The answer comes as a message, since the
    %% call raises the exception.
    I = ?config(instance, Config),
    ?assertEqual({0, 0}, g(I, g_pending, #{p1 => ?OUT})),
    ?assertEqual({0, 0}, g(I, g_pending, #{p1 => 0})),
    Pending = fun(Opts) ->
                  ?assertEqual(badarg, raised(fun() -> m(I, g_pending, Opts#{p2 => 1}) end)),
                  receive V when is_integer(V) -> decode(V) after 2000 -> ct:fail(no_answer) end
              end,
    ?assertEqual({1, 1}, Pending(#{p1 => ?OUT})),
    ?assertEqual({1, 0}, Pending(#{p1 => 0})),
    [?assertEqual({ek, EK, {0, 0}}, {ek, EK, Pending(#{p1 => ?OUT, ek => EK})}) || EK <- ?BAD_ENVS],
    [?assertEqual({p1, P, {0, 0}}, {p1, P, Pending(#{p1 => P})}) || P <- wild_pointers()],
    %% Exceptions are not traps: the instance goes on.
    ?assertEqual({ok, 42}, wasm_runtime_nif:call(I, healthy, [])),
    healthy(Config).

processes(Config) ->
    getter(Config, g_send, #{a => self(), b => hello}, {1, 0}, [1, 2], []),
    %% The control sent hello twice; the refused sends sent nothing.
    receive hello -> ok after 2000 -> ct:fail(not_sent) end,
    receive hello -> ok after 2000 -> ct:fail(not_sent) end,
    no_messages(),
    I = ?config(instance, Config),
    register(wasm_hostile_api_registered, self()),
    NotPids = [dead_pid(), remote_pid(), wasm_hostile_api_registered, hd(erlang:ports()),
               make_ref(), "pid", {self()}, 0],
    [refused(I, g_send, #{a => To, b => lost}) || To <- NotPids],
    unregister(wasm_hostile_api_registered),
    no_messages(),
    getter(Config, g_alive, #{a => self()}, {1, 0}, [1], []),
    [refused(I, g_alive, #{a => P}) || P <- NotPids],
    %% A message may reach 65,536 terms: 30,000 cells (60,001 terms) go,
    %% 40,000 (80,001) trap.
    ?assertEqual({1, 0}, g(I, g_send, #{a => self(), b => lists:seq(1, 30000)})),
    receive L when is_list(L) -> ?assertEqual(30000, length(L)) after 2000 -> ct:fail(not_sent) end,
    trap(Config, [term_limit], g_send, #{a => self(), b => lists:seq(1, 40000)}),
    no_messages(),
    maker(Config, m_self, #{}, self(), [], []),
    maker(Config, m_make_ref, #{}, fun erlang:is_reference/1, [], []),
    healthy(Config).

%% Handles and envs of an earlier call, kept in wasm globals, name nothing
%% in a later call, however many calls later and whatever the handle's slot.
stale_handles_and_envs(Config) ->
    I = ?config(instance, Config),
    Ops = [{g_map_size, #{a => #{k => 1}}}, {g_get_int, #{a => 5}}, {g_get_list_length, #{a => [1]}},
           {g_is, #{a => #{}, p1 => 4}}, {g_identical, #{a => x, b => x}}],
    [begin
         [wasm_runtime_nif:call(I, stash, [#{round => Round}]) || Round <- lists:seq(1, Calls)],
         [begin
              refused(I, Name, Opts#{hk => 6, pos => 1}),
              refused(I, Name, Opts#{ek => 4})
          end || {Name, Opts} <- Ops]
     end || Calls <- [1, 2, 10, 100]],
    %% Makers trap: the stale handle with bad_handle, the stale env with bad_env.
    trap(Config, [bad_handle], m_list_cell, #{a => x, b => y, hk => 6, pos => 2}),
    trap(Config, [bad_env], m_new_map, #{ek => 4}),
    %% A stale handle returned as the result is refused too.
    J = fresh(Config),
    {bad_result_handle, return_stash, Handle} =
        raised(fun() -> wasm_runtime_nif:call(J, return_stash, []) end),
    ?assert(is_integer(Handle)),
    ?assertEqual({ok, 42}, wasm_runtime_nif:call(J, healthy, [])),
    healthy(Config).

%% The header's rule is about the buffer the guest declares: a (pointer,
%% size) that runs past memory is refused even where the answer would fit.
declared_buffers_past_memory(Config) ->
    I = ?config(instance, Config),
    [refused(I, Name, Opts)
     || {Name, Opts} <- [{g_get_atom, #{a => hello, p1 => ?BUF, p2 => 16#ffffffff}},
                         {g_get_atom, #{a => hello, p1 => ?BUF, p2 => 16#80000000}},
                         {g_get_atom, #{a => hello, p1 => ?MEMEND - 16, p2 => 32}},
                         {g_get_string, #{a => "abc", p1 => ?BUF, p2 => 16#ffffffff}},
                         {g_get_string, #{a => "abc", p1 => ?BUF, p2 => ?MEMEND}},
                         {g_get_string, #{a => "abc", p1 => ?MEMEND - 8, p2 => 16}},
                         {g_get_tuple, #{a => {x, y}, p1 => ?OUT, p2 => ?BUF, p3 => 16#7fffffff}},
                         {g_get_tuple, #{a => {x, y}, p1 => ?OUT, p2 => ?BUF, p3 => 16#ffffffff}},
                         {g_get_tuple, #{a => {x, y}, p1 => ?OUT, p2 => ?MEMEND - 16, p3 => 4}}]],
    healthy(Config).

%% There are no cycles to make: every cell and map is new, so building on
%% one handle terminates. The results share their parts; they are checked
%% against the same terms built in Erlang.
cyclic_attempts(Config) ->
    I = ?config(instance, Config),
    ?assertEqual([x | x], wasm_runtime_nif:call(I, cyc_list, [x, 0])),
    Shared = fun(K) -> lists:foldl(fun(_, L) -> [L | L] end, [x | x], lists:seq(1, K)) end,
    ?assertEqual(Shared(16), wasm_runtime_nif:call(I, cyc_list, [x, 16])),
    %% A map put into itself, 16 times: M = M#{I => M}.
    Maps = lists:foldl(fun(K, M) -> M#{K => M} end, #{}, lists:seq(0, 15)),
    ?assertEqual(Maps, wasm_runtime_nif:call(I, cyc_map, [16])),
    ?assertEqual(#{}, wasm_runtime_nif:call(I, cyc_map, [0])),
    %% A map as its own key and value.
    ?assertEqual({1, 1}, g(I, g_map_put, #{a => #{}, b => #{}, c => #{}, p1 => ?OUT})),
    %% Shared terms go through the imports that copy or walk them.
    ?assertEqual({1, 1}, g(I, g_t2b, #{a => Shared(12), p1 => ?OUT})),
    ?assertEqual({1, 0}, g(I, g_send, #{a => self(), b => Shared(12)})),
    receive Msg -> ?assert(Msg =:= Shared(12)) after 2000 -> ct:fail(not_sent) end,
    %% A message is as large as its copy, which shares nothing: 15 levels of
    %% cells reach 65,535 terms (sent), 20 levels about 2 million (over the
    %% 65,536 terms a message may reach).
    ?assertEqual(1, wasm_runtime_nif:call(I, cyc_send, [x, 14])),
    receive Shared14 -> ?assert(Shared14 =:= Shared(14)) after 2000 -> ct:fail(not_sent) end,
    trap_call(Config, [term_limit], cyc_send, [x, 19]),
    no_messages(),
    healthy(Config).

%% Without an exported memory every pointer is refused: getters answer 0,
%% makers that read memory trap with bad_pointer, and the imports that take
%% no pointer work.
guest_without_memory(Config) ->
    NoMem = ?config(no_memory, Config),
    {ok, I} = wasm_runtime_nif:instantiate(NoMem),
    [?assertEqual({T, 0}, {T, wasm_runtime_nif:call(I, refused, [T, K])})
     || {T, K} <- [{5, k}, {1.5, k}, {a, k}, {"abc", k}, {{a}, k}, {[1, 2], k}, {#{k => 1}, k},
                   {<<"x">>, k}, {[<<"x">>], k}]],
    Self = self(),
    [1, 2, 3, 4, 1.5, Empty, Self, GuestRef, [{t} | {t}], 11, 0, 0, 1, 1, 1] =
        wasm_runtime_nif:call(I, works, [{t}, []]),
    ?assertEqual(#{}, Empty),
    ?assert(is_reference(GuestRef)),
    receive {t} -> ok after 2000 -> ct:fail(not_sent) end,
    ?assertEqual(why, raised(fun() -> wasm_runtime_nif:call(I, raise, [why]) end)),
    [begin
         {ok, J} = wasm_runtime_nif:instantiate(NoMem),
         ?assertMatch({Name, {trap, bad_pointer, _}},
                      {Name, raised(fun() -> wasm_runtime_nif:call(J, Name, []) end)})
     end || Name <- [atom_1, string_1, tuple_1, list_1]],
    %% An empty range: the header does not say whether it needs a memory.
    [begin
         {ok, J} = wasm_runtime_nif:instantiate(NoMem),
         case raised(fun() -> wasm_runtime_nif:call(J, Name, []) end) of
             {trap, bad_pointer, _} -> ok;
             Empty -> ?assertEqual({Name, Expected}, {Name, Empty})
         end
     end || {Name, Expected} <- [{atom_0, ''}, {string_0, []}, {tuple_0, {}}, {list_0, []}]],
    {ok, Again} = wasm_runtime_nif:instantiate(NoMem),
    ?assertEqual(0, wasm_runtime_nif:call(Again, refused, [5, k])),
    healthy(Config).

%% Only Latin-1 (1) is supported: another encoding is invalid, so getters
%% answer 0 and makers trap with bad_argument (docs/guest-abi.md). What
%% binary_to_term does with options other than SAFE is not specified:
%% either answer is accepted.
unsupported_encodings_and_options(Config) ->
    I = ?config(instance, Config),
    poke(I, ?DATA, <<"hello">>),
    [begin
         refused(I, g_get_atom, #{a => hello, p1 => ?BUF, p2 => 16, p4 => Encoding}),
         refused(I, g_get_atom_length, #{a => hello, p1 => ?OUT, p4 => Encoding}),
         refused(I, g_existing_atom, #{p1 => ?DATA, p2 => 5, p3 => ?OUT, p4 => Encoding}),
         refused(I, g_get_string, #{a => "abc", p1 => ?BUF, p2 => 16, p4 => Encoding}),
         trap(Config, [bad_argument], m_make_string, #{p1 => ?DATA, p2 => 3, p4 => Encoding})
     end || Encoding <- [0, 2, 3, 16#ffffffff]],
    Enc = term_to_binary(ok),
    poke(I, ?DATA, Enc),
    [?assert(lists:member(g(I, g_b2t, #{p1 => ?DATA, p2 => byte_size(Enc), p3 => ?OUT, p4 => Opts}),
                          [{0, 0}, {byte_size(Enc), 1}]))
     || Opts <- [1, 16#ffffffff, 16#80000000, 16#20000000 bor 1]],
    healthy(Config).

%% Atoms are never freed, so guests together may create 10,000 new atoms
%% per VM (docs/guest-abi.md). On a node of its own (with a larger atom
%% table, so that a missing limit fails this test rather than the node),
%% batches of 1,000 new atoms are made until a call traps with atom_limit;
%% atoms that exist stay available, and the limit is not per instance.
atom_limit(Config) ->
    Fixture = filename:join(?config(data_dir, Config), "hostile_api.wat"),
    Report = wasm_test_util:on_peer(["+t", "2000000"], ?MODULE, atom_limit_on_peer, [Fixture], 240000),
    ct:log("~p", [Report]),
    #{made := Made, trap := Trap, existing := Existing, again := Again, first_exists := First,
      atom_count := Count, atom_limit := Limit, atoms_before := Before} = Report,
    ?assertMatch({trap, atom_limit, _}, Trap),
    ?assert(Made >= 9000 andalso Made =< 10000),
    ?assert(Count < Limit),
    ?assert(Count - Before =< 10000 + 2000),
    ?assertEqual({no_error, {ok, 42}}, Existing),
    ?assertMatch({trap, atom_limit, _}, Again),
    ?assert(First),
    healthy(Config).

atom_limit_on_peer(Fixture) ->
    {ok, M} = wasm_runtime_nif:load(Fixture),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Before = erlang:system_info(atom_count),
    {Trap, Made} = make_atoms(I, 0),
    {ok, J} = wasm_runtime_nif:instantiate(M),
    Existing = raised(fun() -> wasm_runtime_nif:call(J, healthy, []) end),
    {ok, K} = wasm_runtime_nif:instantiate(M),
    Again = raised(fun() -> wasm_runtime_nif:call(K, atoms, [16#7f000000, 1]) end),
    First = try binary_to_existing_atom(<<"hostile_api_atom_00000000">>, latin1) of
                _ -> true
            catch
                error:badarg -> false
            end,
    #{made => Made, trap => Trap, existing => Existing, again => Again, first_exists => First,
      atoms_before => Before, atom_count => erlang:system_info(atom_count),
      atom_limit => erlang:system_info(atom_limit)}.

%% Batches of 1,000 until one traps, or a million atoms were made.
make_atoms(_I, Made) when Made >= 1000000 ->
    {no_trap, Made};
make_atoms(I, Made) ->
    case raised(fun() -> wasm_runtime_nif:call(I, atoms, [Made, 1000]) end) of
        {no_error, 1000} -> make_atoms(I, Made + 1000);
        Other -> {Other, Made}
    end.
