%% @private
%% @doc Events for the rare, interesting moments (compile, instantiate, a
%% call ended by a trap, a timeout or `interrupt/1', release), emitted
%% through `telemetry' when it is loaded at run time. There is no
%% compile-time dependency: without `telemetry' nothing is emitted and
%% nothing is measured. The events and their contents are listed in
%% docs/telemetry.md.
-module(wasm_runtime_nif_telemetry).

-export([timed/3, call_failed/4, emit/3]).

-define(PREFIX, wasm_runtime_nif).

%% Whether anyone could be listening: `telemetry' is loaded.
enabled() ->
    erlang:function_exported(telemetry, execute, 3).

%% @doc Emits `[wasm_runtime_nif | Event]' if `telemetry' is loaded.
-spec emit([atom()], #{atom() => number()}, #{atom() => term()}) -> ok.
emit(Event, Measurements, Metadata) ->
    case enabled() of
        true ->
            %% Through apply/3: dialyzer must not ask for a module the
            %% library does not depend on.
            _ = erlang:apply(telemetry, execute, [[?PREFIX | Event], Measurements, Metadata]),
            ok;
        false ->
            ok
    end.

%% @doc Runs `Run' and, if `telemetry' is loaded, emits `Event' with its
%% duration (native time units) and the metadata `Describe' makes of the
%% result.
-spec timed([atom()], fun(() -> Result), fun((Result) -> {#{atom() => number()}, #{atom() => term()}})) ->
          Result.
timed(Event, Run, Describe) ->
    case enabled() of
        false ->
            Run();
        true ->
            Started = erlang:monotonic_time(),
            Result = Run(),
            Duration = erlang:monotonic_time() - Started,
            {Measurements, Metadata} = Describe(Result),
            emit(Event, Measurements#{duration => Duration}, Metadata),
            Result
    end.

%% @doc A call of `Function' on `Instance' raised `Reason' (raised by the
%% library, not by an import fun): a trap, a timeout or an interrupt is an
%% event; any other error (a bad argument, a busy instance) is not.
-spec call_failed(wasm_runtime_nif:instance(), term(), term(), erlang:stacktrace()) -> ok.
call_failed(Instance, Function, {trap, Kind, Message}, Stack) ->
    case wasm_runtime_nif_error:raised_here(Stack) of
        true ->
            Event = case Kind of
                        timeout -> timeout;
                        interrupted -> interrupted;
                        _ -> trap
                    end,
            emit([call, Event], #{system_time => erlang:system_time()},
                 #{instance => Instance, function => Function, kind => Kind, message => Message});
        false ->
            ok
    end;
call_failed(_Instance, _Function, _Reason, _Stack) ->
    ok.
