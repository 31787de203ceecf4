%% Imports implemented by Erlang funs, run in the calling process.
-module(wasm_runtime_nif_host_fun_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([fun_result_resumes_the_guest/1, fun_runs_in_the_calling_process/1,
         many_host_calls/1, every_value_type/1, several_results/1, no_result/1,
         fun_exceptions_are_reraised/1, wrong_result_type_fails_cleanly/1,
         nested_calls_into_other_instances/1, reentrant_call_is_an_error/1,
         fun_may_send_and_receive/1, terms_survive_host_calls_and_slices/1,
         missing_and_mistyped_imports/1, bad_imports_option/1,
         start_function_cannot_call_imports/1, killed_in_a_fun_cancels_the_call/1,
         timeout_counts_time_in_funs/1, shared_instance_with_imports/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [fun_result_resumes_the_guest, fun_runs_in_the_calling_process, many_host_calls,
     every_value_type, several_results, no_result, fun_exceptions_are_reraised,
     wrong_result_type_fails_cleanly, nested_calls_into_other_instances,
     reentrant_call_is_an_error, fun_may_send_and_receive, terms_survive_host_calls_and_slices,
     missing_and_mistyped_imports, bad_imports_option, start_function_cannot_call_imports,
     killed_in_a_fun_cancels_the_call, timeout_counts_time_in_funs,
     shared_instance_with_imports].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "host.wat")} | Config].

end_per_suite(_Config) ->
    ok.

imports() ->
    imports(#{}).

imports(Overrides) ->
    maps:merge(#{{<<"env">>, <<"add_one">>} => fun(X) -> X + 1 end,
                 {erlang, log} => fun(_, _) -> ok end,
                 {erlang, pair} => fun(X) -> {X, X * 1000} end,
                 {<<"erlang">>, fmul} => fun(A, B) -> A * B end},
               Overrides).

instance(Config, Overrides) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [{imports, imports(Overrides)}]),
    I.

fun_result_resumes_the_guest(Config) ->
    I = instance(Config, #{}),
    ?assertEqual(42, wasm_runtime_nif:call_raw(I, call_add_one, [41])),
    %% Results are taken as call_raw/3 takes arguments: 2^31 is an i32 too.
    ?assertEqual(-2147483648, wasm_runtime_nif:call_raw(I, call_add_one, [2147483647])),
    ?assertEqual(6, wasm_runtime_nif:call(I, slow_term_add_one, [5, 0])).

fun_runs_in_the_calling_process(Config) ->
    Self = self(),
    I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(X) -> Self ! {ran_in, self()}, X + 1 end}),
    ?assertEqual(2, wasm_runtime_nif:call_raw(I, call_add_one, [1])),
    receive {ran_in, Pid} -> ?assertEqual(Self, Pid) end,
    Other = spawn_link(fun() -> Self ! {other, wasm_runtime_nif:call_raw(I, call_add_one, [2])} end),
    receive {ran_in, Pid2} -> ?assertEqual(Other, Pid2) end,
    receive {other, R} -> ?assertEqual(3, R) end.

many_host_calls(Config) ->
    I = instance(Config, #{}),
    ?assertEqual(100000, wasm_runtime_nif:call_raw(I, add_n, [0, 100000])).

every_value_type(Config) ->
    I = instance(Config, #{}),
    ?assertEqual(7.5, wasm_runtime_nif:call_raw(I, call_fmul, [2.5, 3.0])),
    J = instance(Config, #{{<<"erlang">>, fmul} => fun(_, _) -> infinity end}),
    ?assertEqual(infinity, wasm_runtime_nif:call_raw(J, call_fmul, [1.0, 1.0])).

several_results(Config) ->
    I = instance(Config, #{}),
    ?assertEqual(7007, wasm_runtime_nif:call_raw(I, call_pair, [7])),
    J = instance(Config, #{{erlang, pair} => fun(_) -> {1, 2, 3} end}),
    ?assertMatch({trap, bad_host_result, _}, raised(fun() -> wasm_runtime_nif:call_raw(J, call_pair, [7]) end)).

no_result(Config) ->
    Self = self(),
    I = instance(Config, #{{erlang, log} => fun(A, B) -> Self ! {logged, A, B}, ignored end}),
    ?assertEqual(void, wasm_runtime_nif:call_raw(I, call_log, [1, 1 bsl 40])),
    receive {logged, 1, Big} -> ?assertEqual(1 bsl 40, Big) end.

fun_exceptions_are_reraised(Config) ->
    [begin
         I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(_) -> erlang:raise(Class, boom, []) end}),
         ?assertEqual({Class, boom},
                      try wasm_runtime_nif:call_raw(I, call_add_one, [1]) of
                          R -> {no_exception, R}
                      catch
                          C:Reason -> {C, Reason}
                      end),
         %% The guest was interrupted: the instance is invalidated.
         ?assertMatch({instance_invalidated, {trap, import_raised, _}},
                      raised(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1]) end))
     end || Class <- [error, exit, throw]],
    %% The fun's stack trace comes with the exception.
    J = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(X) -> list_to_atom(X) end}),
    try wasm_runtime_nif:call_raw(J, call_add_one, [1]) of
        _ -> ct:fail(no_exception)
    catch
        error:badarg:Stack -> ?assertMatch([{erlang, list_to_atom, _, _} | _], Stack)
    end.

wrong_result_type_fails_cleanly(Config) ->
    [begin
         I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(_) -> Bad end}),
         {trap, bad_host_result, Message} = raised(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1]) end),
         ?assert(binary:match(Message, <<"env.add_one">>) =/= nomatch)
     end || Bad <- [ok, 1.5, 1 bsl 40, "1", {1}, []]].

nested_calls_into_other_instances(Config) ->
    ok = wasm_runtime_nif:init(),
    Other = wasm_runtime_nif:new(),
    Inner = instance(Config, #{}),
    I = instance(Config, #{{<<"env">>, <<"add_one">>} =>
                               fun(X) ->
                                   Y = wasm_runtime_nif:call_raw(Other, add_I32, [X, 1]),
                                   wasm_runtime_nif:call_raw(Inner, call_add_one, [Y]) - 1
                               end}),
    ?assertEqual(11, wasm_runtime_nif:call_raw(I, call_add_one, [10])),
    ?assertEqual(20, wasm_runtime_nif:call_raw(I, add_n, [10, 10])).

reentrant_call_is_an_error(Config) ->
    Self = self(),
    Fun = fun(X) ->
              [{instance, I}] = ets:lookup(reentrant, instance),
              Self ! {inner, raised(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [X]) end)},
              X + 1
          end,
    ets:new(reentrant, [named_table, public]),
    try
        I = instance(Config, #{{<<"env">>, <<"add_one">>} => Fun}),
        ets:insert(reentrant, {instance, I}),
        ?assertEqual(2, wasm_runtime_nif:call_raw(I, call_add_one, [1])),
        receive {inner, Inner} -> ?assertEqual(reentrant_call, Inner) end
    after
        ets:delete(reentrant)
    end.

fun_may_send_and_receive(Config) ->
    I = instance(Config, #{{<<"env">>, <<"add_one">>} =>
                               fun(X) ->
                                   self() ! {echo, X},
                                   receive {echo, Y} -> Y + 1 end
                               end}),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I, add_n, [0, 5])).

terms_survive_host_calls_and_slices(Config) ->
    Self = self(),
    Collector = spawn_link(fun Loop() -> erlang:garbage_collect(Self), timer:sleep(1), Loop() end),
    try
        I = instance(Config, #{{<<"env">>, <<"add_one">>} =>
                                   fun(X) -> erlang:garbage_collect(), X + 1 end}),
        ?assertEqual(100, wasm_runtime_nif:call(I, slow_term_add_one, [99, 200]))
    after
        unlink(Collector),
        exit(Collector, kill)
    end.

missing_and_mistyped_imports(Config) ->
    M = ?config(module, Config),
    ?assertEqual({error, {unknown_import, <<"erlang">>, <<"log">>, func}},
                 wasm_runtime_nif:instantiate(M, [{imports, maps:remove({erlang, log}, imports())}])),
    ?assertEqual({error, {unknown_import, <<"env">>, <<"add_one">>, func}},
                 wasm_runtime_nif:instantiate(M, [])),
    ?assertEqual({error, {import_arity_mismatch, <<"env">>, <<"add_one">>, 1, 2}},
                 wasm_runtime_nif:instantiate(M, [{imports, imports(#{{<<"env">>, <<"add_one">>} => fun(A, B) -> A + B end})}])),
    %% Funs for imports the module does not have are ignored.
    {ok, _} = wasm_runtime_nif:instantiate(M, [{imports, imports(#{{env, unused} => fun() -> ok end})}]),
    %% A module without Erlang imports ignores them too.
    {ok, Plain} = wasm_runtime_nif:compile(<<"(module)">>),
    {ok, _} = wasm_runtime_nif:instantiate(Plain, [{imports, imports()}]).

bad_imports_option(Config) ->
    M = ?config(module, Config),
    [?assertMatch({bad_option, _}, raised(fun() -> wasm_runtime_nif:instantiate(M, [Option]) end))
     || Option <- [{imports, [{{env, add_one}, fun(X) -> X end}]},
                   {imports, #{add_one => fun(X) -> X end}},
                   {imports, #{{env, add_one} => not_a_fun}},
                   {imports, #{{"env", add_one} => fun(X) -> X end}},
                   {imports, #{{env, <<255>>} => fun(X) -> X end}}]],
    ?assertEqual({bad_option, {imports, {duplicate, <<"env">>, <<"f">>}}},
                 raised(fun() -> wasm_runtime_nif:instantiate(M, [{imports, #{{env, f} => fun() -> 1 end,
                                                                               {<<"env">>, <<"f">>} => fun() -> 2 end}}])
                        end)).

start_function_cannot_call_imports(Config) ->
    M = wasm_test_util:load(Config, "start_calls_import.wat"),
    {error, {instantiation_failed, Message}} =
        wasm_runtime_nif:instantiate(M, [{imports, #{{env, hello} => fun() -> ok end}}]),
    ?assert(binary:match(Message, <<"start function">>) =/= nomatch).

killed_in_a_fun_cancels_the_call(Config) ->
    Self = self(),
    I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(_) -> Self ! inside, receive never -> 0 end end}),
    Pid = spawn(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1]) end),
    receive inside -> ok end,
    exit(Pid, kill),
    ?assert(wasm_test_util:wait_until(
              fun() ->
                  case raised(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1]) end) of
                      {instance_invalidated, {trap, cancelled, _}} -> true;
                      _ -> false
                  end
              end, 5000)).

timeout_counts_time_in_funs(Config) ->
    I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(X) -> timer:sleep(100), X + 1 end}),
    ?assertMatch({trap, timeout, _},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1], [{timeout, 20}]) end)).

shared_instance_with_imports(Config) ->
    I = instance(Config, #{{<<"env">>, <<"add_one">>} => fun(X) -> erlang:yield(), X + 1 end}),
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {done, self(), wasm_runtime_nif:call_raw(I, add_n, [N, 1000])} end)
            || N <- lists:seq(1, 8)],
    [receive {done, Pid, R} -> ?assert(R > 1000) end || Pid <- Pids].
