%% EUnit tests of the Erlang facade: option parsing, names, printing.
-module(wasm_runtime_nif_tests).

-include_lib("eunit/include/eunit.hrl").

setup() ->
    ok = wasm_runtime_nif:init().

api_test_() ->
    {setup, fun setup/0, fun(_) -> ok end,
     [?_assertEqual(11, wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [4, 7])),
      ?_assertEqual(11, wasm_runtime_nif:call(wasm_runtime_nif:new([]), add_terms, [4, 7])),
      ?_assertEqual(11, wasm_runtime_nif:call(wasm_runtime_nif:new([process_bound]), add_terms, [4, 7])),
      ?_assertEqual(11, wasm_runtime_nif:call_raw(wasm_runtime_nif:new([process_bound, process_bound]),
                                                  add_I32, [4, 7])),
      ?_assertError({instantiation_failed, _}, wasm_runtime_nif:new([{max_memory, 1}])),
      ?_assertError({bad_option, {max_memory, 0}}, wasm_runtime_nif:new([{max_memory, 0}])),
      ?_assertError({bad_option, {timeout, -1}}, wasm_runtime_nif:new([{timeout, -1}])),
      ?_assertError({bad_option, {timeout, 1.5}}, wasm_runtime_nif:new([{timeout, 1.5}])),
      ?_assertError({bad_option, {max_table_elements, x}}, wasm_runtime_nif:new([{max_table_elements, x}])),
      ?_assertError({bad_option, {timeout, x}},
                    wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [1, 2], [{timeout, x}])),
      ?_assertError({bad_option, not_a_list},
                    wasm_runtime_nif:call(wasm_runtime_nif:new(), add_terms, [1, 2], not_a_list)),
      ?_assertEqual(3, wasm_runtime_nif:call(wasm_runtime_nif:new(), add_terms, [1, 2], [{timeout, 100}])),
      ?_assertEqual(3, wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [1, 2], [{timeout, infinity}])),
      ?_assertError({bad_option, "process_bound"}, wasm_runtime_nif:new(["process_bound"])),
      ?_assertError(badarg, wasm_runtime_nif:new(process_bound)),
      ?_assert(is_reference(wasm_runtime_nif:default_module())),
      ?_assertMatch(#{modules := M, instances := I} when M >= 1 andalso I >= 0,
                    wasm_runtime_nif:live_counts())]}.

compile_test_() ->
    [?_assertMatch({ok, _}, wasm_runtime_nif:compile(<<"(module)">>)),
     ?_assertMatch({error, {invalid_module, _}}, wasm_runtime_nif:compile(<<"(module">>)),
     ?_assertError(badarg, wasm_runtime_nif:compile("(module)")),
     ?_assertMatch({error, {file, "/nonexistent", enoent}}, wasm_runtime_nif:load("/nonexistent"))].

exports_of_an_empty_module_test() ->
    {ok, M} = wasm_runtime_nif:compile(<<"(module)">>),
    ?assertEqual([], wasm_runtime_nif:exports(M)).

instantiate_equals_instantiate_with_no_options_test() ->
    {ok, M} = wasm_runtime_nif:compile(<<"(module (func (export \"f\") (result i32) (i32.const 3)))">>),
    {ok, A} = wasm_runtime_nif:instantiate(M),
    {ok, B} = wasm_runtime_nif:instantiate(M, []),
    ?assertEqual(wasm_runtime_nif:call_raw(A, f, []), wasm_runtime_nif:call_raw(B, f, [])).

%% Every stub of wasm_runtime_nif_nif is replaced by the library: called
%% with arguments of the wrong type, none raises nif_not_loaded.
every_stub_is_a_nif_test() ->
    ok = wasm_runtime_nif:init(),
    Stubs = [{F, A} || {F, A} <- wasm_runtime_nif_nif:module_info(exports), F =/= module_info],
    ?assertEqual(22, length(Stubs)),
    [begin
         Args = lists:duplicate(A, not_a_valid_argument),
         Raised = try apply(wasm_runtime_nif_nif, F, Args) of
                      _ -> returned
                  catch
                      error:Reason -> Reason
                  end,
         ?assertNotEqual({F, A, nif_not_loaded}, {F, A, Raised})
     end || {F, A} <- Stubs].
