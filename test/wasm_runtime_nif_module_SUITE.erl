%% Modules: compile from wasm or WAT, load from files, several at once,
%% exports, imports, print_func, and the errors of each.
-module(wasm_runtime_nif_module_SUITE).

-export([all/0]).
-export([compile_wat_and_wasm/1, load_files/1, several_modules_at_once/1,
         instances_have_their_own_state/1, exports_with_types/1,
         imports_with_types_and_providers/1, print_func_output/1,
         compile_errors/1, import_errors/1, module_outlives_its_binary/1,
         modules_are_freed_by_gc/1, any_bytes_are_safe/1, compiled_module_cache/1,
         cache_survives_damage/1, cache_entries_are_checked_before_use/1,
         cache_entry_rewritten_while_in_use/1, only_regular_files_are_read/1]).
%% Run on peer nodes.
-export([rewrite_entries_in_place/1, read_special_files/3]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [compile_wat_and_wasm, load_files, several_modules_at_once, instances_have_their_own_state,
     exports_with_types, imports_with_types_and_providers, print_func_output, compile_errors, import_errors,
     module_outlives_its_binary, modules_are_freed_by_gc, any_bytes_are_safe,
     compiled_module_cache, cache_survives_damage, cache_entries_are_checked_before_use,
     cache_entry_rewritten_while_in_use, only_regular_files_are_read].

-define(ADD_WAT, <<"(module (func (export \"add\") (param i32 i32) (result i32)"
                   " (i32.add (local.get 0) (local.get 1))))">>).

%% The same module as ?ADD_WAT, in the binary format.
add_wasm() ->
    <<0, "asm", 1, 0, 0, 0,
      1, 7, 1, 16#60, 2, 16#7f, 16#7f, 1, 16#7f,     % type: (i32, i32) -> i32
      3, 2, 1, 0,                                    % func 0 has type 0
      7, 7, 1, 3, "add", 0, 0,                       % export "add" = func 0
      10, 9, 1, 7, 0, 16#20, 0, 16#20, 1, 16#6a, 16#0b>>. % local.get 0 1, i32.add

compile_wat_and_wasm(_Config) ->
    {ok, FromText} = wasm_runtime_nif:compile(?ADD_WAT),
    {ok, FromBinary} = wasm_runtime_nif:compile(add_wasm()),
    [begin
         {ok, I} = wasm_runtime_nif:instantiate(M),
         ?assertEqual(5, wasm_runtime_nif:call_raw(I, add, [2, 3]))
     end || M <- [FromText, FromBinary]],
    ?assertEqual(wasm_runtime_nif:exports(FromText), wasm_runtime_nif:exports(FromBinary)).

load_files(Config) ->
    Priv = ?config(priv_dir, Config),
    WasmFile = filename:join(Priv, "add.wasm"),
    ok = file:write_file(WasmFile, add_wasm()),
    {ok, M} = wasm_runtime_nif:load(WasmFile),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I, add, [2, 3])),
    %% WAT files, with paths as binaries.
    {ok, _} = wasm_runtime_nif:load(list_to_binary(filename:join(?config(data_dir, Config), "counter.wat"))),
    ?assertEqual({error, {file, "/nonexistent/x.wasm", enoent}}, wasm_runtime_nif:load("/nonexistent/x.wasm")).

several_modules_at_once(Config) ->
    {ok, Add} = wasm_runtime_nif:compile(?ADD_WAT),
    Counter = wasm_test_util:load(Config, "counter.wat"),
    ok = wasm_runtime_nif:init(),
    {ok, A} = wasm_runtime_nif:instantiate(Add),
    {ok, C} = wasm_runtime_nif:instantiate(Counter),
    D = wasm_runtime_nif:new(),
    ?assertEqual(5, wasm_runtime_nif:call_raw(A, add, [2, 3])),
    ?assertEqual(1, wasm_runtime_nif:call_raw(C, next, [])),
    ?assertEqual(11, wasm_runtime_nif:call_raw(D, add_I32, [4, 7])),
    ?assertEqual({undefined_function, next}, raised(fun() -> wasm_runtime_nif:call_raw(A, next, []) end)).

instances_have_their_own_state(Config) ->
    Counter = wasm_test_util:load(Config, "counter.wat"),
    {ok, A} = wasm_runtime_nif:instantiate(Counter),
    {ok, B} = wasm_runtime_nif:instantiate(Counter),
    [1, 2, 3] = [wasm_runtime_nif:call_raw(A, next, []) || _ <- [1, 2, 3]],
    ?assertEqual(1, wasm_runtime_nif:call_raw(B, next, [])),
    ?assertEqual(4, wasm_runtime_nif:call_raw(A, next, [])).

exports_with_types(_Config) ->
    Numbers = wasm_test_util:load_fixture(wasm_runtime_nif_call_raw_SUITE, "numbers.wat"),
    Exports = wasm_runtime_nif:exports(Numbers),
    ?assertEqual({<<"add_i32">>, {func, [i32, i32], [i32]}}, lists:keyfind(<<"add_i32">>, 1, Exports)),
    ?assertEqual({<<"mixed">>, {func, [i32, i64, f32, f64], [f64, f32, i64, i32]}},
                 lists:keyfind(<<"mixed">>, 1, Exports)),
    ?assertEqual({<<"nothing">>, {func, [], []}}, lists:keyfind(<<"nothing">>, 1, Exports)),
    ?assertEqual({<<"takes_v128">>, {func, [v128], [i32]}}, lists:keyfind(<<"takes_v128">>, 1, Exports)),
    ?assertEqual({<<"gives_funcref">>, {func, [], [funcref]}}, lists:keyfind(<<"gives_funcref">>, 1, Exports)),
    ?assertEqual({<<"memory">>, memory}, lists:keyfind(<<"memory">>, 1, Exports)),
    ?assertEqual({<<"a_global">>, global}, lists:keyfind(<<"a_global">>, 1, Exports)),
    ?assertEqual({<<"a_table">>, table}, lists:keyfind(<<"a_table">>, 1, Exports)),
    %% An instance answers for its module.
    {ok, I} = wasm_runtime_nif:instantiate(Numbers),
    ?assertEqual(Exports, wasm_runtime_nif:exports(I)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:exports(make_ref()) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:exports(not_a_module) end)).

imports_with_types_and_providers(_Config) ->
    %% One import of each provider: the term ABI, WASI, and a fun.
    Wat = <<"(module"
            " (import \"env\" \"enif_wasm_make_int64\" (func (param i32 i64) (result i64)))"
            " (import \"wasi_snapshot_preview1\" \"proc_exit\" (func (param i32)))"
            " (import \"host\" \"now\" (func (result i64)))"
            " (memory (export \"memory\") 1))">>,
    {ok, M} = wasm_runtime_nif:compile(Wat),
    ?assertEqual([{<<"env">>, <<"enif_wasm_make_int64">>, {func, [i32, i64], [i64]}, term_abi},
                  {<<"wasi_snapshot_preview1">>, <<"proc_exit">>, {func, [i32], []}, wasi},
                  {<<"host">>, <<"now">>, {func, [], [i64]}, erlang}],
                 wasm_runtime_nif:imports(M)),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{<<"host">>, <<"now">>} => fun() -> 7 end}}]),
    ?assertEqual(wasm_runtime_nif:imports(M), wasm_runtime_nif:imports(I)),
    {ok, Plain} = wasm_runtime_nif:compile(?ADD_WAT),
    ?assertEqual([], wasm_runtime_nif:imports(Plain)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:imports(make_ref()) end)).

print_func_output(_Config) ->
    Numbers = wasm_test_util:load_fixture(wasm_runtime_nif_call_raw_SUITE, "numbers.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(Numbers),
    ?assertEqual("add_i32(i32, i32) -> i32\n", captured(fun() -> wasm_runtime_nif:print_func(I, add_i32) end)),
    ?assertEqual("nothing() -> void\n", captured(fun() -> wasm_runtime_nif:print_func(I, <<"nothing">>) end)),
    ?assertEqual("swap(i32, i64) -> (i64, i32)\n", captured(fun() -> wasm_runtime_nif:print_func(Numbers, swap) end)),
    ?assertEqual({undefined_function, nope}, raised(fun() -> wasm_runtime_nif:print_func(I, nope) end)),
    ?assertEqual({undefined_function, memory}, raised(fun() -> wasm_runtime_nif:print_func(I, memory) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:print_func(I, "add_i32") end)).

%% What Fun prints through io, with its result checked to be ok.
captured(Fun) ->
    {ok, Device} = file:open([], [ram, read, write, binary]),
    Old = group_leader(),
    Capture = spawn_link(fun() -> capture_loop([]) end),
    group_leader(Capture, self()),
    try
        ok = Fun()
    after
        group_leader(Old, self())
    end,
    ok = file:close(Device),
    Capture ! {get, self()},
    receive {text, Text} -> Text end.

capture_loop(Acc) ->
    receive
        {io_request, From, ReplyAs, {put_chars, Encoding, Chars}} ->
            From ! {io_reply, ReplyAs, ok},
            capture_loop([unicode:characters_to_list(Chars, Encoding) | Acc]);
        {io_request, From, ReplyAs, {put_chars, Encoding, M, F, A}} ->
            From ! {io_reply, ReplyAs, ok},
            capture_loop([unicode:characters_to_list(apply(M, F, A), Encoding) | Acc]);
        {io_request, From, ReplyAs, _} ->
            From ! {io_reply, ReplyAs, {error, enotsup}},
            capture_loop(Acc);
        {get, Pid} ->
            Pid ! {text, lists:flatten(lists:reverse(Acc))}
    end.

compile_errors(_Config) ->
    [?assertMatch({error, {invalid_module, Msg}} when is_binary(Msg), wasm_runtime_nif:compile(Bytes))
     || Bytes <- [<<>>, <<"garbage">>, <<0, "asm">>, <<0, "asm", 2, 0, 0, 0>>,
                  <<"(module (func (result i32)))">>,            % type error
                  <<"(module (func (export \"f\") (call 5)))">>, % unknown function
                  binary:part(add_wasm(), 0, 20)]],              % truncated
    [?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:compile(Bad) end))
     || Bad <- ["(module)", 42, undefined, [<<"(module)">>]]].

import_errors(_Config) ->
    %% Function imports outside the term ABI are Erlang imports: the module
    %% compiles, and instantiating it without the funs names the import.
    Unprovided = fun(Wat) ->
                         {ok, M} = wasm_runtime_nif:compile(Wat),
                         wasm_runtime_nif:instantiate(M)
                 end,
    ?assertEqual({error, {unknown_import, <<"env">>, <<"nope">>, func}},
                 Unprovided(<<"(module (import \"env\" \"nope\" (func)))">>)),
    %% WASI preview 1 is provided; a name it does not have is an Erlang
    %% import like any other.
    ?assertMatch({ok, _},
                 Unprovided(<<"(module (import \"wasi_snapshot_preview1\" \"fd_write\""
                              " (func (param i32 i32 i32 i32) (result i32))))">>)),
    ?assertEqual({error, {unknown_import, <<"wasi_snapshot_preview1">>, <<"no_such_call">>, func}},
                 Unprovided(<<"(module (import \"wasi_snapshot_preview1\" \"no_such_call\""
                              " (func (param i32) (result i32))))">>)),
    ?assertEqual({error, {unknown_import, <<"erlang">>, <<"enif_wasm_make_int32">>, func}},
                 Unprovided(<<"(module (import \"erlang\" \"enif_wasm_make_int32\""
                              " (func (param i32 i32) (result i64))))">>)),
    %% What no fun can provide is refused at compile time.
    ?assertEqual({error, {unknown_import, <<"env">>, <<"memory">>, memory}},
                 wasm_runtime_nif:compile(<<"(module (import \"env\" \"memory\" (memory 1)))">>)),
    ?assertEqual({error, {unknown_import, <<"env">>, <<"g">>, global}},
                 wasm_runtime_nif:compile(<<"(module (import \"env\" \"g\" (global i32)))">>)),
    ?assertEqual({error, {unsupported_import_signature, <<"m">>, <<"f">>, <<"(v128) -> ()">>}},
                 wasm_runtime_nif:compile(<<"(module (import \"m\" \"f\" (func (param v128))))">>)),
    ?assertEqual({error, {import_type_mismatch, <<"enif_wasm_make_int32">>,
                          <<"(i32, i32) -> (i64)">>, <<"(i32) -> (i64)">>}},
                 wasm_runtime_nif:compile(<<"(module (import \"env\" \"enif_wasm_make_int32\""
                                            " (func (param i32) (result i64))))">>)).

module_outlives_its_binary(_Config) ->
    {ok, M} = wasm_runtime_nif:compile(binary:copy(?ADD_WAT)),
    erlang:garbage_collect(),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I, add, [2, 3])).

modules_are_freed_by_gc(_Config) ->
    erlang:garbage_collect(),
    #{modules := Before} = wasm_runtime_nif:live_counts(),
    Self = self(),
    Pid = spawn(fun() ->
                    Ms = [element(2, wasm_runtime_nif:compile(?ADD_WAT)) || _ <- lists:seq(1, 20)],
                    Is = [element(2, wasm_runtime_nif:instantiate(M)) || M <- Ms],
                    Self ! {counts, wasm_runtime_nif:live_counts(), length(Is)}
                end),
    receive {counts, #{modules := During}, 20} -> ?assert(During >= Before + 20) end,
    MRef = monitor(process, Pid),
    receive {'DOWN', MRef, process, Pid, _} -> ok end,
    ?assert(wasm_test_util:wait_until(
              fun() -> maps:get(modules, wasm_runtime_nif:live_counts()) =< Before end, 5000)).

%% Random and mutated bytes never crash the VM: compile either fails with a
%% reason or gives a module whose instantiation succeeds or fails cleanly.
any_bytes_are_safe(_Config) ->
    rand:seed(exsss, {1, 2, 3}),
    Valid = add_wasm(),
    Inputs = [crypto:strong_rand_bytes(rand:uniform(200)) || _ <- lists:seq(1, 200)]
        ++ [mutate(Valid) || _ <- lists:seq(1, 500)],
    [case wasm_runtime_nif:compile(Bytes) of
         {error, _} -> ok;
         {ok, M} ->
             case wasm_runtime_nif:instantiate(M) of
                 {ok, _} -> ok;
                 {error, _} -> ok
             end
     end || Bytes <- Inputs],
    ok.

mutate(Bin) ->
    Pos = rand:uniform(byte_size(Bin)) - 1,
    <<Before:Pos/binary, _, After/binary>> = Bin,
    <<Before/binary, (rand:uniform(256) - 1), After/binary>>.

-define(SUB_WAT, <<"(module (func (export \"add\") (param i32 i32) (result i32)"
                   " (i32.sub (local.get 0) (local.get 1))))">>).

cache_files(Dir) ->
    lists:sort(filelib:wildcard(filename:join(Dir, "*.cwasm"))).

compiled_module_cache(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "cache"),
    {ok, M1} = wasm_runtime_nif:compile(?ADD_WAT, [{cache, Dir}]),
    [Entry] = cache_files(Dir),
    {ok, I1} = wasm_runtime_nif:instantiate(M1),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I1, add, [2, 3])),
    %% The same bytes again: served from the entry, which stays as it was.
    {ok, Info} = file:read_file_info(Entry),
    {ok, M2} = wasm_runtime_nif:compile(?ADD_WAT, [{cache, Dir}]),
    {ok, I2} = wasm_runtime_nif:instantiate(M2),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I2, add, [2, 3])),
    ?assertEqual({ok, Info}, file:read_file_info(Entry)),
    %% An entry copied under another module's name is not that module's:
    %% it is found out, and the module compiled and written anew.
    {ok, _} = wasm_runtime_nif:compile(?SUB_WAT, [{cache, Dir}]),
    [SubEntry] = cache_files(Dir) -- [Entry],
    {ok, _} = file:copy(Entry, SubEntry),
    {ok, Swapped} = wasm_runtime_nif:compile(?SUB_WAT, [{cache, Dir}]),
    {ok, I3} = wasm_runtime_nif:instantiate(Swapped),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I3, add, [2, 3])),
    ?assertNotEqual(file:read_file(Entry), file:read_file(SubEntry)),
    %% Metered code is kept apart, and load/2 takes the same options.
    Path = filename:join(?config(priv_dir, Config), "sub.wat"),
    ok = file:write_file(Path, ?SUB_WAT),
    {ok, Metered} = wasm_runtime_nif:load(Path, [fuel, {cache, Dir}]),
    ?assertEqual(3, length(cache_files(Dir))),
    {ok, I4} = wasm_runtime_nif:instantiate(Metered, [{fuel, 1000}]),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I4, add, [2, 3])),
    ?assertEqual({bad_option, {cache, 42}}, raised(fun() -> wasm_runtime_nif:compile(?ADD_WAT, [{cache, 42}]) end)).

cache_survives_damage(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "damaged"),
    {ok, _} = wasm_runtime_nif:compile(?ADD_WAT, [{cache, Dir}]),
    [Entry] = cache_files(Dir),
    [begin
         ok = file:write_file(Entry, Junk),
         {ok, M} = wasm_runtime_nif:compile(?ADD_WAT, [{cache, Dir}]),
         {ok, I} = wasm_runtime_nif:instantiate(M),
         ?assertEqual(5, wasm_runtime_nif:call_raw(I, add, [2, 3])),
         %% Compiled afresh and written back.
         ?assertNotEqual({ok, Junk}, file:read_file(Entry))
     end || Junk <- [<<>>, <<"not an ELF file">>, crypto:strong_rand_bytes(4096)]],
    %% A cache that cannot be written costs only the cache.
    {ok, M2} = wasm_runtime_nif:compile(?ADD_WAT, [{cache, "/proc/no/such/dir"}]),
    {ok, I2} = wasm_runtime_nif:instantiate(M2),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I2, add, [2, 3])).

-define(FIB_WAT, <<"(module (func $fib (export \"fib\") (param i32) (result i32)"
                   " (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))"
                   "  (then (local.get 0))"
                   "  (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))"
                   "                 (call $fib (i32.sub (local.get 0) (i32.const 2))))))))">>).

%% Whatever happens to an entry's bytes, a module from the cache computes
%% what the module computes: every damaged entry is found out before
%% Wasmtime sees it (before, random single-byte flips crashed the VM or
%% gave fib(20) = 520). Some flips land in the header, most in the code.
cache_entries_are_checked_before_use(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "flips"),
    {ok, _} = wasm_runtime_nif:compile(?FIB_WAT, [{cache, Dir}]),
    [Entry] = cache_files(Dir),
    {ok, Intact} = file:read_file(Entry),
    Flips = 400,
    [begin
         Pos = rand:uniform(byte_size(Intact)) - 1,
         <<Before:Pos/binary, Byte, After/binary>> = Intact,
         Flipped = Byte bxor (1 bsl (rand:uniform(8) - 1)),
         ok = file:write_file(Entry, <<Before/binary, Flipped, After/binary>>),
         {ok, M} = wasm_runtime_nif:compile(?FIB_WAT, [{cache, Dir}]),
         {ok, I} = wasm_runtime_nif:instantiate(M),
         ?assertEqual({Pos, 6765}, {Pos, wasm_runtime_nif:call_raw(I, fib, [20])}),
         %% Written anew, intact.
         ?assertEqual({Pos, true}, {Pos, {ok, Intact} =:= file:read_file(Entry)})
     end || _ <- lists:seq(1, Flips)],
    %% Cut short, or grown, likewise.
    [begin
         ok = file:write_file(Entry, Damaged),
         {ok, M} = wasm_runtime_nif:compile(?FIB_WAT, [{cache, Dir}]),
         {ok, I} = wasm_runtime_nif:instantiate(M),
         ?assertEqual(6765, wasm_runtime_nif:call_raw(I, fib, [20]))
     end || Damaged <- [binary:part(Intact, 0, byte_size(Intact) div 2),
                        binary:part(Intact, 0, 60), <<Intact/binary, 0>>]].

%% A module loaded from the cache keeps working while its entry is
%% rewritten in place (truncated, overwritten with other bytes of the same
%% size, overwritten byte by byte), and so do its instances. Before, the
%% code ran from the file's pages: SIGBUS or SIGSEGV. On a node of its own,
%% so that a crash fails this case only.
cache_entry_rewritten_while_in_use(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "in_place"),
    ?assertEqual(ok, wasm_test_util:on_peer([], ?MODULE, rewrite_entries_in_place, [Dir], 60000)).

rewrite_entries_in_place(Dir) ->
    {ok, _} = wasm_runtime_nif:compile(?FIB_WAT, [{cache, Dir}]),
    [Entry] = cache_files(Dir),
    {ok, Intact} = file:read_file(Entry),
    {ok, Cached} = wasm_runtime_nif:compile(?FIB_WAT, [{cache, Dir}]),
    {ok, Before} = wasm_runtime_nif:instantiate(Cached),
    6765 = wasm_runtime_nif:call_raw(Before, fib, [20]),
    Rewrites = [fun() -> ok = file:write_file(Entry, <<>>) end,
                fun() -> ok = file:write_file(Entry, binary:copy(<<16#cc>>, byte_size(Intact))) end,
                fun() ->
                        {ok, F} = file:open(Entry, [read, write, raw, binary]),
                        [ok = file:pwrite(F, Pos, <<0>>) || Pos <- lists:seq(0, byte_size(Intact) - 1, 7)],
                        ok = file:close(F)
                end],
    [begin
         Rewrite(),
         6765 = wasm_runtime_nif:call_raw(Before, fib, [20]),
         {ok, After} = wasm_runtime_nif:instantiate(Cached),
         6765 = wasm_runtime_nif:call_raw(After, fib, [20]),
         ok = file:write_file(Entry, Intact)
     end || Rewrite <- Rewrites],
    ok.

%% load/1,2 and init/1 read regular files only, and no more than the
%% ceiling. Before, /dev/zero grew the VM until the OOM killer ended it and
%% a FIFO without a writer blocked the VM's file server for good. On a node
%% of its own, so that a failure cannot take this one with it.
only_regular_files_are_read(Config) ->
    Priv = ?config(priv_dir, Config),
    Fifo = filename:join(Priv, "no_writer"),
    _ = file:delete(Fifo),
    "" = os:cmd("mkfifo " ++ Fifo),
    Large = filename:join(Priv, "large.wasm"),
    ok = file:write_file(Large, add_wasm()),
    Results = wasm_test_util:on_peer([], ?MODULE, read_special_files, [Fifo, Large, Priv], 60000),
    ct:log("~p", [Results]),
    ?assertEqual([{error, {file, "/dev/zero", {not_a_regular_file, character_device}}},
                  {error, {file, <<"/dev/urandom">>, {not_a_regular_file, character_device}}},
                  {error, {file, Fifo, {not_a_regular_file, fifo}}},
                  {error, {file, Priv, eisdir}},
                  {error, {file, Large, {too_large, byte_size(add_wasm()), 10}}},
                  {error, {file, "/dev/zero", {not_a_regular_file, character_device}}},
                  {error, {file, Fifo, {not_a_regular_file, fifo}}},
                  ok,
                  {ok, add_wasm()}],
                 Results),
    ?assertEqual({bad_option, {max_file_size, -1}},
                 raised(fun() -> wasm_runtime_nif:load(Large, [{max_file_size, -1}]) end)),
    ?assertEqual({error, {file, [$a | $b], badarg}}, wasm_runtime_nif:load([$a | $b])).

read_special_files(Fifo, Large, Priv) ->
    Loads = [wasm_runtime_nif:load("/dev/zero"),
             wasm_runtime_nif:load(<<"/dev/urandom">>),
             wasm_runtime_nif:load(Fifo),
             wasm_runtime_nif:load(Priv),
             wasm_runtime_nif:load(Large, [{max_file_size, 10}]),
             wasm_runtime_nif:init("/dev/zero"),
             wasm_runtime_nif:init(Fifo),
             element(1, wasm_runtime_nif:load(Large, [{max_file_size, byte_size(add_wasm())}]))],
    %% The VM's file server is not stuck behind the FIFO.
    Loads ++ [file:read_file(Large)].
