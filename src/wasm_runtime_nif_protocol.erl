%% @private
%% @doc The Erlang side of the NIFs' requests: a NIF that needs the calling
%% process to act raises `{wasm_runtime_nif_request, Request}', served here
%% (docs/design.md, "Requests to the Erlang side"):
%%
%% <ul>
%% <li>`{turn, Id, Timeout}': the instance is busy and we are queued; wait
%%     for `{wasm_runtime_nif_turn, Id}' and make the call again.</li>
%% <li>`{import, Call, Carried, Index, Fun, Args}': the guest called an
%%     Erlang import; apply the fun here and hand its result to
%%     `call_reply/3'.</li>
%% <li>`{raise, Class, Reason, Stack}': raise it.</li>
%% <li>`{output, Bytes, Left, Then}': write what the guest printed to our
%%     group leader, then `Then': `{return, Value}' or another request.</li>
%% <li>`{stream, Fun, Bytes, Reply, Then}': hand what a WASI program wrote
%%     to a streamed output to `Fun', then `Then'; should it raise, tell
%%     `Reply' (`{Call, Carried}') through `call_reply/3', or raise when it
%%     is `none'.</li>
%% <li>`{resume, Call, Carried}': run the call's next slice,
%%     `call_resume/2'.</li>
%% <li>`{wait, Work, Carried, Id, Timeout}': the guest waits for a file or
%%     a clock (WASI); wait for `{wasm_runtime_nif_woken, Id}', at most
%%     `Timeout' ms, then run the next slice of the call or instantiation
%%     with `call_resume/2'.</li>
%% </ul>
%%
%% A NIF's value is the call's own result: never looked at here.
-module(wasm_runtime_nif_protocol).

-export([call_raw/4, call/4, resource_drop/3, run/1, access/3]).

-define(REQUEST, wasm_runtime_nif_request).
-define(TURN, wasm_runtime_nif_turn).
-define(WOKEN, wasm_runtime_nif_woken).

%% call_raw/4 and call/4 of the API: the call NIF, called directly (the
%% path of every call), and its requests served. A busy instance has
%% queued us: wait for our turn, then call again with what is left of the
%% timeout.
-spec call_raw(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(), list(), map()) ->
          term().
call_raw(Instance, Name, Args, Limits) ->
    try
        wasm_runtime_nif_nif:instance_call_raw(Instance, Name, Args, Limits)
    catch
        error:{?REQUEST, Request} -> served(Request, call_raw, Instance, Name, Args, Limits)
    end.

-spec call(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(), list(), map()) -> term().
call(Instance, Name, Args, Limits) ->
    try
        wasm_runtime_nif_nif:instance_call(Instance, Name, Args, Limits)
    catch
        error:{?REQUEST, Request} -> served(Request, call, Instance, Name, Args, Limits)
    end.

served({turn, Id, Timeout}, Kind, Instance, Name, Args, Limits) ->
    Left = await_turn(Instance, Id, Timeout),
    case Kind of
        call_raw -> call_raw(Instance, Name, Args, Limits#{timeout => Left});
        call -> call(Instance, Name, Args, Limits#{timeout => Left})
    end;
served(Request, _Kind, _Instance, _Name, _Args, _Limits) ->
    serve(Request, #{}).

%% resource_drop/2,3 of the API: a call of the resource's instance.
-spec resource_drop(wasm_runtime_nif:instance(), wasm_runtime_nif:resource(), map()) -> ok.
resource_drop(Instance, Resource, Limits) ->
    try
        wasm_runtime_nif_nif:instance_resource_drop(Instance, Resource, Limits)
    catch
        error:{?REQUEST, {turn, Id, Timeout}} ->
            Left = await_turn(Instance, Id, Timeout),
            resource_drop(Instance, Resource, Limits#{timeout => Left});
        error:{?REQUEST, Request} ->
            serve(Request, #{})
    end.

%% An access of the embedding API, on a dirty scheduler when it copies
%% many bytes, once the instance is idle: a busy instance has queued us.
-spec access(wasm_runtime_nif:instance(), tuple(), boolean()) -> term().
access(Instance, Access, Dirty) ->
    try
        case Dirty of
            true -> wasm_runtime_nif_nif:instance_access_dirty(Instance, Access);
            false -> wasm_runtime_nif_nif:instance_access(Instance, Access)
        end
    catch
        error:{?REQUEST, {turn, Id, Timeout}} ->
            _ = await_turn(Instance, Id, Timeout),
            access(Instance, Access, Dirty)
    end.

%% Runs a NIF that may ask for output to be written, and serves it.
-spec run(fun(() -> Result)) -> Result.
run(Nif) ->
    try
        Nif()
    catch
        error:{?REQUEST, Request} -> serve(Request, #{})
    end.

%% Funs is the import funs this call has had, by import index: the NIF
%% hands each over once per call.
serve({import, Call, Carried, Index, Given, Args}, Funs0) ->
    {Fun, Funs} = import_fun(Index, Given, Funs0),
    Reply = try
                {ok, erlang:apply(Fun, Args)}
            catch
                Class:Reason:Stack -> {raised, Class, Reason, Stack}
            end,
    try
        wasm_runtime_nif_nif:call_reply(Call, Carried, Reply)
    catch
        error:{?REQUEST, Request} -> serve(Request, Funs)
    end;
serve({raise, Class, Reason, Stack}, _) ->
    erlang:raise(Class, Reason, Stack);
serve({output, Bytes, Left, Then}, Funs) ->
    print(Bytes, Left),
    then(Then, Funs);
serve({stream, Fun, Bytes, Reply, Then}, Funs) ->
    try Fun(Bytes) of
        _ -> then(Then, Funs)
    catch
        Class:Reason:Stack when Reply =/= none ->
            {Call, Carried} = Reply,
            try
                wasm_runtime_nif_nif:call_reply(Call, Carried, {raised, Class, Reason, Stack})
            catch
                error:{?REQUEST, Request} -> serve(Request, Funs)
            end
    end;
serve({resume, Call, Carried}, Funs) ->
    try
        wasm_runtime_nif_nif:call_resume(Call, Carried)
    catch
        error:{?REQUEST, Request} -> serve(Request, Funs)
    end;
serve({wait, Work, Carried, Id, Timeout}, Funs) ->
    receive
        {?WOKEN, Id} -> serve({resume, Work, Carried}, Funs)
    after Timeout ->
        %% The next slice ends the work, past its deadline; a wake that
        %% came meanwhile is dropped.
        try
            serve({resume, Work, Carried}, Funs)
        after
            receive {?WOKEN, Id} -> ok after 0 -> ok end
        end
    end.

%% The step after an output request: a value to return or a request.
then({return, Value}, _) -> Value;
then(Request, Funs) -> serve(Request, Funs).

import_fun(Index, cached, Funs) ->
    {maps:get(Index, Funs), Funs};
import_fun(Index, {encoded, Encoded}, Funs) ->
    %% binary_to_term/1 yields on large input, unlike a copy in a NIF.
    Fun = binary_to_term(Encoded),
    {Fun, Funs#{Index => Fun}};
import_fun(Index, Fun, Funs) ->
    {Fun, Funs#{Index => Fun}}.

%% Writes what a guest printed to the calling process's group leader, as
%% io:put_chars/1 would: UTF-8 when it is, Latin-1 bytes otherwise. The
%% request is made by a process of its own so that the wait can be bounded:
%% past Left milliseconds, or when the group leader is gone, the call goes
%% on and the output may be lost.
print(Bytes, Left) ->
    Encoding = case unicode:characters_to_binary(Bytes) of
                   Bytes -> unicode;
                   _ -> latin1
               end,
    Caller = self(),
    Leader = group_leader(),
    {Writer, Ref} = spawn_monitor(fun() -> write(Caller, Leader, {put_chars, Encoding, Bytes}) end),
    receive
        {'DOWN', Ref, process, Writer, _} -> ok
    after Left ->
        exit(Writer, kill),
        receive {'DOWN', Ref, process, Writer, _} -> ok end
    end.

%% One I/O request, as io:request/2 makes it, given up when the caller it
%% writes for dies, so that no writer outlives its caller.
write(Caller, Leader, Request) ->
    CallerRef = erlang:monitor(process, Caller),
    LeaderRef = erlang:monitor(process, Leader),
    Leader ! {io_request, self(), LeaderRef, Request},
    receive
        {io_reply, LeaderRef, _} -> ok;
        {'DOWN', LeaderRef, process, _, _} -> ok;
        {'DOWN', CallerRef, process, _, _} -> ok
    end.

%% Waits, without holding a scheduler, for the message saying the instance
%% is ours, and returns what is left of the timeout; raises timeout when it
%% runs out first.
await_turn(_Instance, Id, infinity) ->
    receive
        {?TURN, Id} -> infinity
    end;
await_turn(Instance, Id, Timeout) ->
    Start = erlang:monotonic_time(millisecond),
    receive
        {?TURN, Id} ->
            case Timeout - (erlang:monotonic_time(millisecond) - Start) of
                Left when Left > 0 ->
                    Left;
                _ ->
                    %% Our turn came too late to run anything: a call
                    %% started now would time out at once and invalidate
                    %% the instance for everyone. Pass the turn on.
                    wasm_runtime_nif_nif:instance_leave_queue(Instance),
                    erlang:error(timeout)
            end
    after Timeout ->
        wasm_runtime_nif_nif:instance_leave_queue(Instance),
        %% The turn may have come just as we gave up: drop the message.
        receive {?TURN, Id} -> ok after 0 -> ok end,
        erlang:error(timeout)
    end.
