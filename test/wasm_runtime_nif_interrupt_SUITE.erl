%% interrupt/1: another process stops the call running on an instance. The
%% call raises {trap, interrupted, _}, the instance is invalidated and its
%% queued callers are told; an idle instance is left alone.
-module(wasm_runtime_nif_interrupt_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([a_spinning_call_is_interrupted/1, queued_callers_are_told/1,
         an_idle_instance_is_left_alone/1, a_bound_instance_is_interrupted_by_another_process/1,
         a_sleeping_wasi_call_stops_at_once/1, a_call_waiting_for_an_import_fun_stops_when_it_returns/1,
         a_component_call_is_interrupted/1, interrupts_racing_short_calls_stop_only_held_calls/1,
         an_import_fun_interrupts_its_own_call/1, a_returned_call_handing_over_output_returns/1,
         an_interrupted_call_prints_in_words/1, bad_arguments/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1, wait_until/2]).

%% Spins until told otherwise: a call that never ends by itself.
-define(SPIN, <<"(module
  (import \"env\" \"tick\" (func $tick (result i32)))
  (func (export \"spin\") (loop $l (br $l)))
  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export \"ask\") (result i32) (call $tick)))">>).

all() ->
    [a_spinning_call_is_interrupted, queued_callers_are_told, an_idle_instance_is_left_alone,
     a_bound_instance_is_interrupted_by_another_process, a_sleeping_wasi_call_stops_at_once,
     a_call_waiting_for_an_import_fun_stops_when_it_returns, an_import_fun_interrupts_its_own_call,
     a_returned_call_handing_over_output_returns, a_component_call_is_interrupted,
     interrupts_racing_short_calls_stop_only_held_calls, an_interrupted_call_prints_in_words,
     bad_arguments].

init_per_suite(Config) ->
    {ok, Module} = wasm_runtime_nif:compile(?SPIN),
    [{module, Module} | Config].

end_per_suite(_Config) ->
    ok.

instance(Config) ->
    instance(Config, []).

instance(Config, Options) ->
    Tick = {imports, #{{env, tick} => fun() -> 1 end}},
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [Tick | Options]),
    I.

%% Runs Fun in a new process; the reply comes as {Ref, Result}.
async(Fun) ->
    Self = self(),
    Ref = make_ref(),
    spawn_link(fun() -> Self ! {Ref, raised(Fun)} end),
    Ref.

await(Ref) ->
    receive {Ref, Result} -> Result after 30000 -> error({no_reply, Ref}) end.

busy(I) ->
    true = wait_until(fun() -> maps:get(state, wasm_runtime_nif:info(I)) =:= busy end, 5000).

a_spinning_call_is_interrupted(Config) ->
    I = instance(Config),
    Call = async(fun() -> wasm_runtime_nif:call_raw(I, spin, []) end),
    busy(I),
    ?assert(wasm_runtime_nif:interrupt(I)),
    {trap, interrupted, Message} = await(Call),
    ?assertNotEqual(nomatch, binary:match(Message, <<"interrupt/1">>)),
    ?assertMatch(#{state := {invalidated, {trap, interrupted, _}}, memory := 0},
                 wasm_runtime_nif:info(I)),
    ?assertMatch({instance_invalidated, {trap, interrupted, _}},
                 raised(fun() -> wasm_runtime_nif:call_raw(I, add, [1, 2]) end)),
    %% Nothing is left to interrupt, and other instances never noticed.
    ?assertNot(wasm_runtime_nif:interrupt(I)),
    ?assertEqual(3, wasm_runtime_nif:call_raw(instance(Config), add, [1, 2])),
    true = wait_until(fun() -> maps:get(calls, wasm_runtime_nif:live_counts()) =:= 0 end, 5000).

queued_callers_are_told(Config) ->
    I = instance(Config),
    Running = async(fun() -> wasm_runtime_nif:call_raw(I, spin, []) end),
    busy(I),
    Queued = [async(fun() -> wasm_runtime_nif:call_raw(I, add, [N, 1]) end) || N <- lists:seq(1, 3)],
    true = wait_until(fun() -> maps:get(queue, wasm_runtime_nif:info(I)) =:= 3 end, 5000),
    ?assert(wasm_runtime_nif:interrupt(I)),
    ?assertMatch({trap, interrupted, _}, await(Running)),
    [?assertMatch({instance_invalidated, {trap, interrupted, _}}, await(Ref)) || Ref <- Queued],
    ?assertMatch(#{queue := 0}, wasm_runtime_nif:info(I)).

an_idle_instance_is_left_alone(Config) ->
    I = instance(Config),
    ?assertNot(wasm_runtime_nif:interrupt(I)),
    ?assertEqual(5, wasm_runtime_nif:call_raw(I, add, [2, 3])),
    ?assertMatch(#{state := idle}, wasm_runtime_nif:info(I)),
    ok = wasm_runtime_nif:release(I),
    ?assertNot(wasm_runtime_nif:interrupt(I)),
    ?assertMatch(#{state := released}, wasm_runtime_nif:info(I)).

%% process_bound limits who calls, not who stops a call.
a_bound_instance_is_interrupted_by_another_process(Config) ->
    Self = self(),
    Owner = spawn_link(fun() ->
                               I = instance(Config, [process_bound]),
                               Self ! {instance, I},
                               Self ! {spun, raised(fun() -> wasm_runtime_nif:call_raw(I, spin, []) end)}
                       end),
    I = receive {instance, Instance} -> Instance end,
    busy(I),
    ?assertMatch(#{process_bound := Owner}, wasm_runtime_nif:info(I)),
    ?assert(wasm_runtime_nif:interrupt(I)),
    receive {spun, Spun} -> ?assertMatch({trap, interrupted, _}, Spun) after 30000 -> error(no_reply) end.

%% The caller waits for a WASI clock in receive, not in a slice: it is
%% woken to stop rather than left to sleep out its ten minutes.
a_sleeping_wasi_call_stops_at_once(_Config) ->
    Module = wasm_test_util:load_fixture(wasm_runtime_nif_wasi_SUITE, "wasi_reactor.wasm"),
    {ok, I} = wasm_runtime_nif:instantiate(Module, [{imports, #{{env, host_add} => fun erlang:'+'/2}}]),
    Call = async(fun() -> wasm_runtime_nif:call_raw(I, snooze, [600000]) end),
    busy(I),
    ?assert(wasm_runtime_nif:interrupt(I)),
    ?assertMatch({trap, interrupted, _}, await(Call)).

%% An import fun runs in the caller, which cannot be stopped from outside
%% but by an exit signal: the call stops when the fun returns.
a_call_waiting_for_an_import_fun_stops_when_it_returns(Config) ->
    Self = self(),
    Tick = fun() -> Self ! {ticking, self()}, receive go_on -> 42 end end,
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [{imports, #{{env, tick} => Tick}}]),
    Call = async(fun() -> wasm_runtime_nif:call_raw(I, ask, []) end),
    Caller = receive {ticking, Pid} -> Pid after 5000 -> error(no_tick) end,
    ?assert(wasm_runtime_nif:interrupt(I)),
    Caller ! go_on,
    ?assertMatch({trap, interrupted, _}, await(Call)).

%% The fun interrupts its own call, then raises: the caller gets the fun's
%% exception, which stays the call's whatever stopped the guest after it.
an_import_fun_interrupts_its_own_call(Config) ->
    ?assertMatch({trap, interrupted, _}, interrupted_by_its_fun(Config, fun() -> 42 end)),
    ?assertEqual(my_own, interrupted_by_its_fun(Config, fun() -> error(my_own) end)).

interrupted_by_its_fun(Config, Then) ->
    Tick = fun() -> true = wasm_runtime_nif:interrupt(get(instance)), Then() end,
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [{imports, #{{env, tick} => Tick}}]),
    Result = wasm_test_util:call_in_new_process(fun() ->
                                                        put(instance, I),
                                                        wasm_runtime_nif:call_raw(I, ask, [])
                                                end),
    ?assertMatch(#{state := {invalidated, {trap, interrupted, _}}}, wasm_runtime_nif:info(I)),
    Result.

%% A call whose guest has returned, parked while a fun takes its streamed
%% output, returns its result: there is nothing left to stop. (A slice may
%% end between the write and the return, which an interrupt then stops:
%% one of a few tries returns.)
a_returned_call_handing_over_output_returns(_Config) ->
    ?assert(lists:any(fun(_) -> returned_after_interrupt() end, lists:seq(1, 5))).

returned_after_interrupt() ->
    Module = wasm_test_util:load_fixture(wasm_runtime_nif_wasi_SUITE, "wasi_reactor.wasm"),
    Self = self(),
    Out = fun(_Chunk) -> Self ! {writing, self()}, receive go_on -> ok end end,
    {ok, I} = wasm_runtime_nif:instantiate(Module, [{imports, #{{env, host_add} => fun erlang:'+'/2}},
                                                    {wasi, #{stdout => Out}}]),
    Call = async(fun() -> wasm_runtime_nif:call_raw(I, bump, [1]) end),
    Caller = receive {writing, Pid} -> Pid after 30000 -> error(no_output) end,
    ?assert(wasm_runtime_nif:interrupt(I)),
    Caller ! go_on,
    case await(Call) of
        {no_error, 101} -> true;
        {trap, interrupted, _} -> false
    end.

a_component_call_is_interrupted(_Config) ->
    Echo = wasm_test_util:load_fixture(wasm_runtime_nif_component_SUITE, "echo.wasm"),
    {ok, I} = wasm_runtime_nif:instantiate(Echo),
    Call = async(fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [0]) end),
    busy(I),
    ?assert(wasm_runtime_nif:interrupt(I)),
    ?assertMatch({trap, interrupted, _}, await(Call)),
    ?assertMatch(#{state := {invalidated, {trap, interrupted, _}}}, wasm_runtime_nif:info(I)).

%% Interrupts land at random among short calls: a call that returns gives
%% the right answer, a call stops only with `interrupted' and only after an
%% interrupt that found the instance held, and an interrupt that came too
%% late to stop a call leaves no trace for the next one.
interrupts_racing_short_calls_stop_only_held_calls(Config) ->
    Outcomes = [race(instance(Config), Round) || Round <- lists:seq(1, 200)],
    ct:log("outcomes: ~p", [maps:from_list([{O, length([x || X <- Outcomes, X =:= O])}
                                             || O <- lists:usort(Outcomes)])]).

race(I, Round) ->
    %% `add' runs in one go (it provably finishes quickly); `ask' calls an
    %% import fun, so it runs in slices and may stop.
    Caller = async(fun() -> [call(I, Round, N) || N <- lists:seq(1, 200)] end),
    Found = interrupt_until_found(I, Caller, Round rem 50),
    Interrupted = erlang:monotonic_time(),
    case await(Caller) of
        {no_error, Results} ->
            ?assertEqual([expected(Round, N) || N <- lists:seq(1, 200)], Results);
        {{trap, interrupted, _}, Started} ->
            %% The call an interrupt stopped was running when it came: a
            %% flag left over would stop a later call.
            ?assert(Found),
            ?assert(Started < Interrupted);
        {{instance_invalidated, {trap, interrupted, _}}, _} ->
            ?assert(Found)
    end,
    %% A late interrupt leaves no trace for the next call.
    State = case maps:get(state, wasm_runtime_nif:info(I)) of
                idle ->
                    ?assertEqual(1, wasm_runtime_nif:call_raw(I, ask, [])),
                    idle;
                {invalidated, {trap, interrupted, _}} ->
                    ?assert(Found),
                    interrupted
            end,
    {Found, State}.

%% Tries to interrupt until a call held the instance or the caller is done.
interrupt_until_found(I, Caller, Skip) ->
    receive
        {Caller, _} = Done -> self() ! Done, false
    after 0 ->
        case Skip > 0 orelse not wasm_runtime_nif:interrupt(I) of
            true -> erlang:yield(), interrupt_until_found(I, Caller, Skip - 1);
            false -> true
        end
    end.

%% A failed call raises its reason with the time it started.
call(I, Round, N) ->
    Started = erlang:monotonic_time(),
    try
        case N rem 2 of
            0 -> wasm_runtime_nif:call_raw(I, add, [Round, N]);
            1 -> wasm_runtime_nif:call_raw(I, ask, [])
        end
    catch
        error:Reason -> error({Reason, Started})
    end.

expected(Round, N) when N rem 2 =:= 0 -> Round + N;
expected(_Round, _N) -> 1.

an_interrupted_call_prints_in_words(Config) ->
    I = instance(Config),
    Self = self(),
    spawn_link(fun() ->
                       Result = try wasm_runtime_nif:call_raw(I, spin, [])
                                catch error:Reason:Stack -> erl_error:format_exception(error, Reason, Stack)
                                end,
                       Self ! {printed, unicode:characters_to_binary(Result)}
               end),
    busy(I),
    true = wasm_runtime_nif:interrupt(I),
    Printed = receive {printed, P} -> P after 30000 -> error(no_reply) end,
    ?assertNotEqual(nomatch, binary:match(Printed, <<"the call of spin was interrupted">>), Printed).

bad_arguments(_Config) ->
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:interrupt(not_an_instance) end)),
    {ok, Module} = wasm_runtime_nif:compile(<<"(module)">>),
    ?assertEqual(badarg, raised(fun() -> wasm_runtime_nif:interrupt(Module) end)).
