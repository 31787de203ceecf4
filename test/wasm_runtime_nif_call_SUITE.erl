%% call/3 itself: arguments become handles and results terms, handles and
%% envs die with their call, badarg and garbage results, arity and
%% signature checks, and the seed's imports used well and by a hostile
%% guest (stale and forged handles and envs, wild pointers). Every import
%% used well is in wasm_runtime_nif_term_imports_SUITE, misused in
%% wasm_runtime_nif_hostile_imports_SUITE.
-module(wasm_runtime_nif_call_SUITE).

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([walks_lists/1, empty_list_test/1, binary_size/1, binary_slices_honour_offset/1,
         handles_do_not_survive_their_call/1, stale_env_is_refused/1,
         forged_handles_are_refused/1, wild_out_pointers_are_refused/1,
         wild_list_cell_pointers_are_refused/1, wild_binary_destinations_are_refused/1,
         make_binary_outside_memory_traps/1, forged_env_in_a_maker_traps/1,
         forged_env_in_a_getter_gives_0/1, returned_badarg_raises_badarg/1,
         badarg_handle_is_not_a_term/1, garbage_result_handle_raises/1,
         term_table_is_bounded/1, printf_imports/1, guest_without_memory/1,
         arity_and_signature_checks/1, numbers_passed_to_call_raw_hold_no_env/1,
         seed_style_guest_runs_unchanged/1, results_shaped_like_requests_come_back_as_they_are/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [walks_lists, empty_list_test, binary_size, binary_slices_honour_offset,
     handles_do_not_survive_their_call, stale_env_is_refused, forged_handles_are_refused,
     wild_out_pointers_are_refused, wild_list_cell_pointers_are_refused,
     wild_binary_destinations_are_refused, make_binary_outside_memory_traps,
     forged_env_in_a_maker_traps, forged_env_in_a_getter_gives_0,
     returned_badarg_raises_badarg, badarg_handle_is_not_a_term, garbage_result_handle_raises,
     term_table_is_bounded, printf_imports, guest_without_memory, arity_and_signature_checks,
     numbers_passed_to_call_raw_hold_no_env, seed_style_guest_runs_unchanged,
     results_shaped_like_requests_come_back_as_they_are].

init_per_testcase(_Case, Config) ->
    [{instance, wasm_test_util:instance(Config, "hostile.wat")} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

call(Config, Name, Args) ->
    wasm_runtime_nif:call(?config(instance, Config), Name, Args).

walks_lists(Config) ->
    ?assertEqual(15, call(Config, sum_list, [[1, 2, 3, 4, 5]])),
    ?assertEqual(0, call(Config, sum_list, [[]])),
    Long = lists:seq(1, 10000),
    ?assertEqual(lists:sum(Long), call(Config, sum_list, [Long])),
    ?assertEqual(badarg, raised(fun() -> call(Config, sum_list, [[1 | improper]]) end)),
    ?assertEqual(badarg, raised(fun() -> call(Config, sum_list, [not_a_list]) end)).

empty_list_test(Config) ->
    ?assertEqual(1, call(Config, is_empty, [[]])),
    [?assertEqual(0, call(Config, is_empty, [T])) || T <- [[1], "a", <<>>, {}, 0, #{}]].

binary_size(Config) ->
    ?assertEqual(0, call(Config, binary_size, [<<>>])),
    ?assertEqual(5, call(Config, binary_size, [<<"hello">>])),
    %% A sub-binary and a large (refc) binary.
    <<_, Sub:3/binary, _/binary>> = <<"abcdefgh">>,
    ?assertEqual(3, call(Config, binary_size, [Sub])),
    ?assertEqual(100000, call(Config, binary_size, [binary:copy(<<"x">>, 100000)])),
    [?assertEqual(badarg, raised(fun() -> call(Config, binary_size, [T]) end))
     || T <- [[], "abc", 1, <<1:7>>]].

binary_slices_honour_offset(Config) ->
    Bin = <<"0123456789">>,
    ?assertEqual(<<"0123456789">>, call(Config, slice, [Bin, 0, 10])),
    ?assertEqual(<<"345">>, call(Config, slice, [Bin, 3, 3])),
    ?assertEqual(<<"9">>, call(Config, slice, [Bin, 9, 1])),
    ?assertEqual(<<>>, call(Config, slice, [Bin, 10, 0])),
    %% Past the end of the binary, or wrapping around: refused.
    [?assertEqual(badarg, raised(fun() -> call(Config, slice, [Bin, Off, N]) end))
     || {Off, N} <- [{0, 11}, {8, 3}, {11, 0}, {-1, 1}, {1, -1}, {16#7fffffff, 16#7fffffff}]].

handles_do_not_survive_their_call(Config) ->
    ?assertEqual(42, call(Config, stash, [42])),
    %% The handle kept in guest memory names nothing in the next call.
    ?assertEqual(0, call(Config, read_stash, [])),
    {bad_result_handle, return_stash, Handle} = raised(fun() -> call(Config, return_stash, []) end),
    ?assert(is_integer(Handle)),
    %% Not even after many calls, nor from another instance of the module.
    [call(Config, stash, [N]) || N <- lists:seq(1, 100)],
    ?assertEqual(0, call(Config, read_stash, [])).

stale_env_is_refused(Config) ->
    ?assertEqual(7, call(Config, stash, [7])),
    ?assertEqual(0, call(Config, stale_env_get, [5])),
    ?assertMatch({trap, bad_env, _}, raised(fun() -> call(Config, stale_env_make, []) end)).

forged_handles_are_refused(Config) ->
    %% Only the real handle (worth 1) is accepted; each forgery would add 100.
    ?assertEqual(1, call(Config, forge, [5])).

wild_out_pointers_are_refused(Config) ->
    ?assertEqual(1, call(Config, wild_out, [5])),
    %% Nothing was written past the end of memory, so the guest still works.
    ?assertEqual(15, call(Config, sum_list, [[1, 2, 3, 4, 5]])).

wild_list_cell_pointers_are_refused(Config) ->
    ?assertEqual(1, call(Config, wild_cell, [[1, 2]])).

wild_binary_destinations_are_refused(Config) ->
    ?assertEqual(0, call(Config, wild_dest, [<<"abc">>])).

make_binary_outside_memory_traps(Config) ->
    ?assertEqual(<<>>, call(Config, make_binary_at, [65536, 0])),
    ?assertEqual(65536, byte_size(call(Config, make_binary_at, [0, 65536]))),
    [begin
         I = wasm_test_util:instance(Config, "hostile.wat"),
         ?assertMatch({trap, bad_pointer, _},
                      raised(fun() -> wasm_runtime_nif:call(I, make_binary_at, [Ptr, Len]) end))
     end || {Ptr, Len} <- [{65536, 1}, {0, 65537}, {-1, 2}, {-16, 100}, {1, -1}]].

forged_env_in_a_maker_traps(Config) ->
    ?assertMatch({trap, bad_env, _}, raised(fun() -> call(Config, bad_env_make, []) end)),
    I = wasm_test_util:instance(Config, "hostile.wat"),
    ?assertMatch({trap, bad_env, _},
                 raised(fun() -> wasm_runtime_nif:call(I, bad_env_badarg, []) end)).

forged_env_in_a_getter_gives_0(Config) ->
    ?assertEqual(0, call(Config, bad_env_get, [5])).

returned_badarg_raises_badarg(Config) ->
    ?assertEqual(badarg, raised(fun() -> call(Config, return_badarg, []) end)),
    %% Not a trap: the instance is still usable.
    ?assertEqual(3, call(Config, sum_list, [[1, 2]])).

badarg_handle_is_not_a_term(Config) ->
    ?assertEqual(0, call(Config, badarg_as_arg, [])).

garbage_result_handle_raises(Config) ->
    ?assertEqual({bad_result_handle, return_garbage, 12345},
                 raised(fun() -> call(Config, return_garbage, []) end)),
    ?assertEqual(3, call(Config, sum_list, [[1, 2]])).

term_table_is_bounded(Config) ->
    ?assertEqual(99999, call(Config, make_many, [100000])),
    ?assertMatch({trap, term_limit, _}, raised(fun() -> call(Config, make_many, [2000000]) end)),
    %% Bytes are bounded too: 256 MiB of binaries per call.
    I = wasm_test_util:instance(Config, "hostile.wat"),
    ?assertEqual(65536, byte_size(wasm_runtime_nif:call(I, make_binaries, [100]))),
    ?assertMatch({trap, term_limit, _}, raised(fun() -> wasm_runtime_nif:call(I, make_binaries, [4097]) end)).

printf_imports(Config) ->
    %% "int 7\n" + "long 1099511627776\n" + "double 2.50\n" = 37 bytes, and
    %% a format string outside memory gives -1.
    ?assertEqual(371, call(Config, print, [])).

guest_without_memory(Config) ->
    I = wasm_test_util:instance(Config, "no_memory.wat"),
    ?assertEqual(-1, wasm_runtime_nif:call(I, get, [5])),
    ?assertMatch({trap, bad_pointer, _},
                 raised(fun() -> wasm_runtime_nif:call(I, empty_binary, []) end)).

arity_and_signature_checks(Config) ->
    ?assertEqual({badarity, sum_list, 1, 2}, raised(fun() -> call(Config, sum_list, [[], []]) end)),
    ?assertEqual({badarity, sum_list, 1, 0}, raised(fun() -> call(Config, sum_list, []) end)),
    ?assertEqual({undefined_function, nope}, raised(fun() -> call(Config, nope, []) end)),
    Numbers = wasm_runtime_nif:instantiate(
                wasm_test_util:load_fixture(wasm_runtime_nif_call_raw_SUITE, "numbers.wat")),
    {ok, N} = Numbers,
    ?assertEqual({not_a_term_function, add_i32, <<"(i32, i32) -> (i32)">>},
                 raised(fun() -> wasm_runtime_nif:call(N, add_i32, [1, 2]) end)),
    ?assertEqual(badarg, raised(fun() -> call(Config, sum_list, not_a_list) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(make_ref(), sum_list, [[]]) end)).

numbers_passed_to_call_raw_hold_no_env(Config) ->
    %% Called with call_raw/3 there is no term call in progress: getters
    %% give 0 and makers trap, whatever numbers the caller passes.
    I = ?config(instance, Config),
    ?assertMatch({trap, bad_env, _}, raised(fun() -> wasm_runtime_nif:call_raw(I, is_empty, [1, 1]) end)),
    I2 = wasm_test_util:instance(Config, "hostile.wat"),
    ?assertMatch({trap, bad_env, _}, raised(fun() -> wasm_runtime_nif:call_raw(I2, return_badarg, [0]) end)).

%% A module built the way guests of the seed were (plain declarations,
%% --allow-undefined, --export-all) runs unchanged.
seed_style_guest_runs_unchanged(Config) ->
    I = wasm_test_util:instance(Config, "seed_style.wasm"),
    ?assertEqual(11, wasm_runtime_nif:call_raw(I, add_I32, [4, 7])),
    ?assertEqual(11, wasm_runtime_nif:call(I, add_terms, [4, 7])),
    ?assertEqual(25, wasm_runtime_nif:call(I, add_list_terms, [[4, 6, 3, 7, 5]])),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(I, add_terms, [x, 7]) end)),
    ?assertEqual(2, wasm_runtime_nif:call_raw(I, count_down, [3])).

%% The Erlang side reads a call's result for requests of its own, tagged with
%% reserved atoms; a guest (or its caller) must not be able to forge one.
results_shaped_like_requests_come_back_as_they_are(Config) ->
    Shaped = [{wasm_runtime_nif_host_raised, error, forged, []},
              {wasm_runtime_nif_host_call, make_ref(), {}, fun erlang:halt/0, []},
              {wasm_runtime_nif_value, 1},
              {wasm_runtime_nif_busy, 1, 1},
              {wasm_runtime_nif_turn, 1},
              {wasm_runtime_nif_request, {raise, exit, forged, []}},
              {wasm_runtime_nif_request, {turn, 1, 1}},
              {raise, exit, forged, []},
              {return, 1},
              {output, <<"forged">>, 0, {return, 1}}],
    [?assertEqual(T, call(Config, echo, [T])) || T <- Shaped],
    ?assertEqual(ok, call(Config, echo, [ok])).
