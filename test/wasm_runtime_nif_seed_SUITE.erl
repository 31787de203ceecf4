%% Every line of the seed README's session, on the bundled example module.
-module(wasm_runtime_nif_seed_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([init_loads_the_bundled_module/1, call_raw_add/1, call_add_terms/1,
         call_add_list_terms/1, call_binary_reverse/1, process_bound_instance/1,
         default_instances_serve_any_process/1, init_with_a_path/1,
         init_errors_are_tuples/1, init_replaces_the_default_module/1,
         example_module_extras/1, bad_terms_give_badarg/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, call_in_new_process/1]).

all() ->
    [init_loads_the_bundled_module, call_raw_add, call_add_terms, call_add_list_terms,
     call_binary_reverse, process_bound_instance, default_instances_serve_any_process,
     init_with_a_path, init_errors_are_tuples, init_replaces_the_default_module,
     example_module_extras, bad_terms_give_badarg].

init_per_suite(Config) ->
    ok = wasm_runtime_nif:init(),
    Config.

end_per_suite(_Config) ->
    ok = wasm_runtime_nif:init().

example_path() ->
    filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm").

init_loads_the_bundled_module(_Config) ->
    ?assertEqual(ok, wasm_runtime_nif:init()),
    M = wasm_runtime_nif:new(),
    ?assert(is_reference(M)).

call_raw_add(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(11, wasm_runtime_nif:call_raw(M, add_I32, [4, 7])).

call_add_terms(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(11, wasm_runtime_nif:call(M, add_terms, [4, 7])).

call_add_list_terms(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(25, wasm_runtime_nif:call(M, add_list_terms, [[4, 6, 3, 7, 5]])),
    ?assertEqual(0, wasm_runtime_nif:call(M, add_list_terms, [[]])).

call_binary_reverse(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(<<5, 4, 3, 2, 1>>, wasm_runtime_nif:call(M, binary_reverse, [<<1, 2, 3, 4, 5>>])),
    ?assertEqual(<<>>, wasm_runtime_nif:call(M, binary_reverse, [<<>>])),
    Big = crypto:strong_rand_bytes(200000),
    Reversed = list_to_binary(lists:reverse(binary_to_list(Big))),
    ?assertEqual(Reversed, wasm_runtime_nif:call(M, binary_reverse, [Big])).

process_bound_instance(_Config) ->
    Mb = wasm_runtime_nif:new([process_bound]),
    ?assertEqual(11, wasm_runtime_nif:call(Mb, add_terms, [4, 7])),
    ?assertEqual(11, wasm_runtime_nif:call_raw(Mb, add_I32, [4, 7])),
    %% The seed crashes its shell to get a new process; any other process will do.
    ?assertEqual("called by wrong process",
                 call_in_new_process(fun() -> wasm_runtime_nif:call(Mb, add_terms, [4, 7]) end)),
    ?assertEqual("called by wrong process",
                 call_in_new_process(fun() -> wasm_runtime_nif:call_raw(Mb, add_I32, [4, 7]) end)),
    %% The owner is still served afterwards.
    ?assertEqual(11, wasm_runtime_nif:call(Mb, add_terms, [4, 7])).

default_instances_serve_any_process(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual({no_error, 11},
                 call_in_new_process(fun() -> wasm_runtime_nif:call(M, add_terms, [4, 7]) end)).

init_with_a_path(_Config) ->
    ?assertEqual(ok, wasm_runtime_nif:init(example_path())),
    ?assertEqual(ok, wasm_runtime_nif:init(list_to_binary(example_path()))),
    ?assertEqual(11, wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [4, 7])).

init_errors_are_tuples(Config) ->
    Priv = ?config(priv_dir, Config),
    Missing = filename:join(Priv, "missing.wasm"),
    ?assertEqual({error, {file, Missing, enoent}}, wasm_runtime_nif:init(Missing)),
    ?assertMatch({error, {file, Priv, eisdir}}, wasm_runtime_nif:init(Priv)),
    Garbage = filename:join(Priv, "garbage.wasm"),
    ok = file:write_file(Garbage, <<0, "asm", 1, 0, 0, 0, "not really wasm">>),
    {error, {invalid_module, Message}} = wasm_runtime_nif:init(Garbage),
    ?assert(is_binary(Message) andalso byte_size(Message) > 0),
    Text = filename:join(Priv, "text.txt"),
    ok = file:write_file(Text, <<"hello, world">>),
    ?assertMatch({error, {invalid_module, _}}, wasm_runtime_nif:init(Text)),
    %% A failed init leaves the previous default module in place.
    ?assertEqual(11, wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [4, 7])).

init_replaces_the_default_module(Config) ->
    Priv = ?config(priv_dir, Config),
    Other = filename:join(Priv, "other.wat"),
    ok = file:write_file(Other, <<"(module (func (export \"add_I32\") (param i32 i32) (result i32)"
                                  " (i32.sub (local.get 0) (local.get 1))))">>),
    Before = wasm_runtime_nif:new(),
    ok = wasm_runtime_nif:init(Other),
    After = wasm_runtime_nif:new(),
    ?assertEqual(-3, wasm_runtime_nif:call_raw(After, add_I32, [4, 7])),
    %% Instances made before keep their module.
    ?assertEqual(11, wasm_runtime_nif:call_raw(Before, add_I32, [4, 7])),
    ok = wasm_runtime_nif:init().

example_module_extras(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(1 bsl 40, wasm_runtime_nif:call_raw(M, add_I64, [1 bsl 39, 1 bsl 39])),
    ?assertEqual(4.0, wasm_runtime_nif:call_raw(M, add_F32, [1.5, 2.5])),
    ?assertEqual(0.75, wasm_runtime_nif:call_raw(M, add_F64, [0.5, 0.25])),
    ?assertEqual(12586269025, wasm_runtime_nif:call_raw(M, fib, [50])),
    ?assertEqual(42, wasm_runtime_nif:call(M, hello, [42])).

bad_terms_give_badarg(_Config) ->
    M = wasm_runtime_nif:new(),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(M, add_terms, [a, 7]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(M, add_terms, [1 bsl 31, 7]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(M, add_list_terms, [[1, x]]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(M, add_list_terms, [[1 | 2]]) end)),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:call(M, binary_reverse, ["abc"]) end)),
    %% A guest's badarg does not invalidate the instance.
    ?assertEqual(11, wasm_runtime_nif:call(M, add_terms, [4, 7])).
