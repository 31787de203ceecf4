%% Imports implemented by Erlang funs, run in the calling process.
-module(wasm_runtime_nif_erlang_imports_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([fun_result_resumes_the_guest/1, fun_runs_in_the_calling_process/1,
         many_host_calls/1, every_value_type/1, several_results/1, no_result/1,
         fun_exceptions_are_reraised/1, wrong_result_type_fails_cleanly/1,
         nested_calls_into_other_instances/1, reentrant_call_is_an_error/1,
         fun_may_send_and_receive/1, terms_survive_host_calls_and_slices/1,
         missing_and_mistyped_imports/1, bad_imports_option/1,
         start_function_cannot_call_imports/1, killed_in_a_fun_cancels_the_call/1,
         timeout_counts_time_in_funs/1, shared_instance_with_imports/1,
         big_integer_results_for_floats/1, one_name_imported_twice/1,
         funs_are_copied_once_per_call/1, large_closures_hold_no_scheduler/1]).
%% Run on a peer node.
-export([ticks_during_calls_with_a_large_closure/1]).

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
     shared_instance_with_imports, big_integer_results_for_floats, one_name_imported_twice,
     funs_are_copied_once_per_call, large_closures_hold_no_scheduler].

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

%% A fun's result for a float is taken as call_raw/3 takes arguments: any
%% integer in the float's range (before, 1 bsl 64 failed the call).
big_integer_results_for_floats(Config) ->
    I = instance(Config, #{{<<"erlang">>, fmul} => fun(_, _) -> 1 bsl 64 end}),
    ?assertEqual(1.8446744073709552e19, wasm_runtime_nif:call_raw(I, call_fmul, [1.0, 2.0])),
    J = instance(Config, #{{<<"erlang">>, fmul} => fun(_, _) -> 1 bsl 1024 end}),
    ?assertMatch({trap, bad_host_result, _}, raised(fun() -> wasm_runtime_nif:call_raw(J, call_fmul, [1.0, 2.0]) end)).

%% Before, a module importing one name twice compiled but could never be
%% instantiated ("already defined").
one_name_imported_twice(Config) ->
    M = wasm_test_util:load(Config, "twice.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, next} => fun(X) -> X + 1 end}}]),
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, both, [5])),
    %% The same name with two types: no one fun can be both.
    ?assertEqual({error, {import_type_conflict, <<"env">>, <<"next">>,
                          <<"(i32) -> (i32)">>, <<"(i64) -> (i64)">>}},
                 wasm_runtime_nif:compile(<<"(module (import \"env\" \"next\" (func (param i32) (result i32)))"
                                            " (import \"env\" \"next\" (func (param i64) (result i64))))">>)).

%% A fun reaches the caller's heap once per call, however many times the
%% guest calls it: the closure it applies is the same term every time.
%% Before, every guest call copied the fun with its whole closure.
funs_are_copied_once_per_call(Config) ->
    [begin
         Data = lists:seq(1, Length),
         Fun = fun(X) ->
                       case get(closure) of
                           undefined -> put(closure, Data);
                           Earlier -> erts_debug:same(Earlier, Data) orelse put(copied, true)
                       end,
                       X + 1
               end,
         I = instance(Config, #{{<<"env">>, <<"add_one">>} => Fun}),
         Self = self(),
         Runner = spawn_link(fun() ->
                                     Result = wasm_runtime_nif:call_raw(I, add_n, [0, 100]),
                                     Self ! {done, Result, get(copied)}
                             end),
         receive
             {done, Sum, Copied} ->
                 ?assertEqual({Length, 100, undefined}, {Length, Sum, Copied})
         end,
         unlink(Runner)
     end || Length <- [10, 100000]].

%% A fun closing over 4,000,000 elements: before, each guest call copied
%% them in the NIF, holding a +S 1 scheduler for tens of ms each time. Now such a
%% fun is decoded in Erlang, which yields; a ticker on the one scheduler
%% goes on.
large_closures_hold_no_scheduler(Config) ->
    Fixture = filename:join(?config(data_dir, Config), "host.wat"),
    {Results, MaxLateMs} = wasm_test_util:on_peer(["+S", "1"], ?MODULE,
                                                 ticks_during_calls_with_a_large_closure,
                                                 [Fixture], 120000),
    ct:log("max lateness of a 10 ms ticker: ~p ms", [MaxLateMs]),
    ?assertEqual(lists:duplicate(5, 10), Results),
    ?assert(MaxLateMs < 50).

ticks_during_calls_with_a_large_closure(Fixture) ->
    {ok, M} = wasm_runtime_nif:load(Fixture),
    Big = lists:seq(1, 4000000),
    Add = fun(X) -> X + 1 + (length(Big) - 4000000) end,
    Imports = #{{env, add_one} => Add, {erlang, log} => fun(_, _) -> ok end,
                {erlang, pair} => fun(X) -> {X, X} end, {erlang, fmul} => fun(A, B) -> A * B end},
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, Imports}]),
    Self = self(),
    Ticker = spawn(fun() -> tick(Self, erlang:monotonic_time(millisecond), 0) end),
    Results = [wasm_runtime_nif:call_raw(I, add_n, [0, 10]) || _ <- lists:seq(1, 5)],
    Ticker ! stop,
    receive {late, MaxLate} -> {Results, MaxLate} end.

tick(Parent, Last, MaxLate) ->
    receive
        stop -> Parent ! {late, MaxLate}
    after 10 ->
        Now = erlang:monotonic_time(millisecond),
        tick(Parent, Now, max(MaxLate, Now - Last - 10))
    end.
