%% Traps: every kind raises {trap, Kind, Message}, invalidates that instance
%% only, and never harms the VM. Errors print as sentences (error info).
-module(wasm_runtime_nif_trap_SUITE).

-export([all/0]).
-export([every_trap_kind/1, trapped_instance_is_invalidated/1,
         other_instances_are_unaffected/1, stack_overflow_on_every_scheduler/1,
         start_function_trap_fails_instantiation/1, memory_growth_is_capped/1,
         trapping_in_a_loop_does_not_leak/1, runtime_failures_have_kinds/1,
         start_function_failures_are_traps/1, a_panic_ends_only_its_instance/1,
         errors_print_as_sentences/1, an_import_funs_error_is_left_alone/1]).
-export([panics_on_peer/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

all() ->
    [every_trap_kind, trapped_instance_is_invalidated, other_instances_are_unaffected,
     stack_overflow_on_every_scheduler, start_function_trap_fails_instantiation,
     memory_growth_is_capped, trapping_in_a_loop_does_not_leak, runtime_failures_have_kinds,
     start_function_failures_are_traps, a_panic_ends_only_its_instance,
     errors_print_as_sentences, an_import_funs_error_is_left_alone].

traps() ->
    [{unreachable, unreachable, []},
     {memory_out_of_bounds, out_of_bounds, []},
     {integer_divide_by_zero, divide, [1, 0]},
     {integer_overflow, divide, [-16#80000000, -1]},
     {bad_conversion_to_integer, bad_conversion, [nan]},
     {integer_overflow, bad_conversion, [1.0e10]},
     {stack_overflow, recurse, [0]},
     {indirect_call_to_null, call_null, []},
     {bad_signature, bad_signature, []},
     {table_out_of_bounds, table_out_of_bounds, []}].

every_trap_kind(Config) ->
    [begin
         I = wasm_test_util:instance(Config, "traps.wat"),
         {trap, Kind, Message} = raised(fun() -> wasm_runtime_nif:call_raw(I, Name, Args) end),
         ?assertEqual(Expected, Kind),
         ?assert(is_binary(Message) andalso byte_size(Message) > 0)
     end || {Expected, Name, Args} <- traps()].

trapped_instance_is_invalidated(Config) ->
    I = wasm_test_util:instance(Config, "traps.wat"),
    ?assertEqual(42, wasm_runtime_nif:call_raw(I, ok, [])),
    Trap = raised(fun() -> wasm_runtime_nif:call_raw(I, unreachable, []) end),
    ?assertMatch({trap, unreachable, _}, Trap),
    %% Later calls, of any function and either kind, name the original trap.
    ?assertEqual({instance_invalidated, Trap}, raised(fun() -> wasm_runtime_nif:call_raw(I, ok, []) end)),
    ?assertEqual({instance_invalidated, Trap}, raised(fun() -> wasm_runtime_nif:call(I, ok, []) end)),
    ?assertEqual({instance_invalidated, Trap}, raised(fun() -> wasm_runtime_nif:call_raw(I, divide, [1, 0]) end)).

other_instances_are_unaffected(Config) ->
    Module = wasm_test_util:load(Config, "traps.wat"),
    {ok, A} = wasm_runtime_nif:instantiate(Module),
    {ok, B} = wasm_runtime_nif:instantiate(Module),
    ?assertMatch({trap, _, _}, raised(fun() -> wasm_runtime_nif:call_raw(A, recurse, [0]) end)),
    ?assertEqual(42, wasm_runtime_nif:call_raw(B, ok, [])),
    {ok, C} = wasm_runtime_nif:instantiate(Module),
    ?assertEqual(42, wasm_runtime_nif:call_raw(C, ok, [])).

%% Guest recursion runs on its own fiber stack, so it traps the same way
%% whatever kind of scheduler thread the calling code happens to be on.
stack_overflow_on_every_scheduler(Config) ->
    Module = wasm_test_util:load(Config, "traps.wat"),
    Run = fun() ->
              {ok, I} = wasm_runtime_nif:instantiate(Module),
              raised(fun() -> wasm_runtime_nif:call_raw(I, recurse, [0]) end)
          end,
    ?assertMatch({trap, stack_overflow, _}, Run()),
    %% Many processes at once, on all normal schedulers.
    Parent = self(),
    Pids = [spawn_link(fun() -> Parent ! {self(), Run()} end)
            || _ <- lists:seq(1, 4 * erlang:system_info(schedulers_online))],
    [receive {Pid, Result} -> ?assertMatch({trap, stack_overflow, _}, Result) end || Pid <- Pids],
    %% And the VM is still fine.
    ?assertEqual(2, 1 + 1).

start_function_trap_fails_instantiation(Config) ->
    Module = wasm_test_util:load(Config, "start_traps.wat"),
    ?assertMatch({error, {trap, unreachable, _}}, wasm_runtime_nif:instantiate(Module)).

memory_growth_is_capped(Config) ->
    I = wasm_test_util:instance(Config, "traps.wat"),
    %% One page to start with; 256 MiB (4096 pages) is the default ceiling.
    ?assertEqual(1, wasm_runtime_nif:call_raw(I, grow, [1])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow, [5000])),
    ?assertEqual(-1, wasm_runtime_nif:call_raw(I, grow, [65536])),
    ?assertEqual(2, wasm_runtime_nif:call_raw(I, grow, [0])),
    %% Refusing growth is not a trap.
    ?assertEqual(42, wasm_runtime_nif:call_raw(I, ok, [])).

trapping_in_a_loop_does_not_leak(Config) ->
    Module = wasm_test_util:load(Config, "traps.wat"),
    erlang:garbage_collect(),
    #{instances := Before} = wasm_runtime_nif:live_counts(),
    [begin
         {ok, I} = wasm_runtime_nif:instantiate(Module),
         {trap, _, _} = raised(fun() -> wasm_runtime_nif:call_raw(I, out_of_bounds, []) end)
     end || _ <- lists:seq(1, 2000)],
    erlang:garbage_collect(),
    ?assert(wasm_test_util:wait_until(
              fun() -> maps:get(instances, wasm_runtime_nif:live_counts()) =< Before end, 5000)).

%% What ends a call without being a wasm trap has a kind of its own too
%% (these were all host_error before).
runtime_failures_have_kinds(Config) ->
    Module = wasm_test_util:load(Config, "runtime_failures.wat"),
    {ok, I} = wasm_runtime_nif:instantiate(Module),
    ?assertEqual(7, wasm_runtime_nif:call_raw(I, throw_caught, [])),
    ?assertMatch({trap, uncaught_exception, _},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, throw_uncaught, []) end)),
    %% The GC heap counts against max_memory, with the linear memories.
    {ok, J} = wasm_runtime_nif:instantiate(Module, [{max_memory, 1 bsl 20}]),
    ?assertEqual(1000, wasm_runtime_nif:call_raw(J, hoard, [1000])),
    ?assertMatch({trap, gc_heap_out_of_memory, _},
                 raised(fun() -> wasm_runtime_nif:call_raw(J, hoard, [1000000]) end)).

%% A start function fails the way a call does: {trap, Kind, Message}, not
%% {instantiation_failed, _}.
start_function_failures_are_traps(Config) ->
    ?assertMatch({error, {trap, uncaught_exception, _}},
                 wasm_runtime_nif:instantiate(wasm_test_util:load(Config, "start_throws.wat"))),
    ?assertMatch({error, {trap, bad_env, _}},
                 wasm_runtime_nif:instantiate(wasm_test_util:load(Config, "start_calls_term_abi.wat"))).

%% A panic anywhere in a call (forced here by the import that the
%% test_hooks setting defines) raises nif_panicked in the caller and
%% invalidates that instance, whose queued callers are told; nothing else
%% is affected. Without test_hooks the import is an ordinary Erlang import.
a_panic_ends_only_its_instance(Config) ->
    Fixture = filename:join(?config(data_dir, Config), "panic.wat"),
    {ok, Plain} = wasm_runtime_nif:load(Fixture),
    ?assertEqual({error, {unknown_import, <<"env">>, <<"wasm_runtime_nif_test_panic">>, func}},
                 wasm_runtime_nif:instantiate(Plain)),
    ?assertEqual(ok, wasm_test_util:on_peer(["-wasm_runtime_nif", "test_hooks", "true"],
                                            ?MODULE, panics_on_peer, [Fixture], 60000)).

panics_on_peer(Fixture) ->
    {ok, Module} = wasm_runtime_nif:load(Fixture),
    %% In the first slice.
    {ok, Now} = wasm_runtime_nif:instantiate(Module),
    nif_panicked = raised(fun() -> wasm_runtime_nif:call_raw(Now, panic_now, []) end),
    {instance_invalidated, {trap, panic, _}} =
        raised(fun() -> wasm_runtime_nif:call_raw(Now, add, [1, 2]) end),
    %% In a later slice, with a caller queued behind.
    {ok, Later} = wasm_runtime_nif:instantiate(Module),
    Self = self(),
    Spinner = spawn(fun() ->
                            Self ! {spinner, raised(fun() ->
                                                            wasm_runtime_nif:call_raw(
                                                              Later, spin_then_panic, [400000000])
                                                    end)}
                    end),
    wait_until_busy(Later),
    Waiter = spawn(fun() ->
                           Self ! {waiter, raised(fun() ->
                                                          wasm_runtime_nif:call_raw(Later, add, [1, 2])
                                                  end)}
                   end),
    receive {spinner, nif_panicked} -> ok after 30000 -> error({spinner, Spinner}) end,
    receive
        {waiter, {instance_invalidated, {trap, panic, _}}} -> ok
    after 30000 -> error({waiter_not_told, Waiter})
    end,
    %% The VM and other instances go on.
    {ok, Fresh} = wasm_runtime_nif:instantiate(Module),
    3 = wasm_runtime_nif:call_raw(Fresh, add, [1, 2]),
    true = wasm_test_util:wait_until(fun() -> maps:get(calls, wasm_runtime_nif:live_counts()) =:= 0 end,
                                   5000),
    ok.

%% Until a call holds the instance: a call with a zero timeout then waits
%% in the queue and gives up.
wait_until_busy(Instance) ->
    case raised(fun() -> wasm_runtime_nif:call_raw(Instance, add, [1, 2], [{timeout, 0}]) end) of
        timeout -> ok;
        {no_error, 3} -> timer:sleep(1), wait_until_busy(Instance)
    end.

%% The raised term is the one the docs list; the shell (erl_error) adds a
%% sentence from wasm_runtime_nif_error:format_error/2.
errors_print_as_sentences(Config) ->
    I = wasm_test_util:instance(Config, "traps.wat"),
    Printed = fun(Expected, Call) ->
                      try Call() of
                          Value -> ct:fail("returned ~p", [Value])
                      catch
                          error:Reason:Stack ->
                              ?assertEqual(Expected, Reason),
                              Text = erl_error:format_exception(error, Reason, Stack),
                              unicode:characters_to_binary(Text)
                      end
              end,
    Contains = fun(Text, Part) ->
                       ?assertNotEqual(nomatch, string:find(Text, Part), Text)
               end,
    Trap = {trap, integer_divide_by_zero, <<"wasm trap: integer divide by zero">>},
    Contains(Printed(Trap, fun() -> wasm_runtime_nif:call_raw(I, divide, [1, 0]) end),
             <<"the guest trapped in divide: integer divide by zero">>),
    Contains(Printed({instance_invalidated, Trap},
                     fun() -> wasm_runtime_nif:call(I, divide, [1, 2]) end),
             <<"the instance cannot be called any more">>),
    J = wasm_test_util:instance(Config, "traps.wat"),
    Contains(Printed({badarity, divide, 2, 1}, fun() -> wasm_runtime_nif:call_raw(J, divide, [1]) end),
             <<"divide takes 2 arguments, not 1">>),
    Contains(Printed({undefined_function, nope}, fun() -> wasm_runtime_nif:call_raw(J, nope, []) end),
             <<"the module exports no function nope">>),
    Contains(Printed(badarg, fun() -> wasm_runtime_nif:call_raw(not_an_instance, divide, [1, 2]) end),
             <<"argument 1: not an instance">>),
    Contains(Printed({bad_option, bogus}, fun() -> wasm_runtime_nif:call_raw(J, divide, [1, 2], [bogus]) end),
             <<"bad option: bogus">>),
    {ok, Spinner} = wasm_runtime_nif:compile(<<"(module (func (export \"spin\") (loop (br 0))))">>),
    {ok, S} = wasm_runtime_nif:instantiate(Spinner),
    Contains(Printed({trap, timeout, <<"the call did not finish within 1 ms">>},
                     fun() -> wasm_runtime_nif:call_raw(S, spin, [], [{timeout, 1}]) end),
             <<"the call of spin timed out">>),
    ok.

%% An import fun's own error keeps its stack and gets no words of ours.
an_import_funs_error_is_left_alone(_Config) ->
    {ok, M} = wasm_runtime_nif:compile(<<"(module (import \"host\" \"f\" (func))"
                                         " (func (export \"g\") call 0))">>),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{<<"host">>, <<"f">>} =>
                                                               fun() -> erlang:error(my_own) end}}]),
    try wasm_runtime_nif:call_raw(I, g, []) of
        Value -> ct:fail("returned ~p", [Value])
    catch
        error:my_own:Stack ->
            [{_, _, _, Info} | _] = Stack,
            false = lists:keymember(error_info, 1, Info)
    end.
