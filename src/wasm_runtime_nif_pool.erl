%% @doc A pool of instances of one module: many processes call it at once,
%% each call on an instance of its own.
%%
%% An instance runs one call at a time. A pool holds `size' instances of a
%% module, made with the same options, and lends one to each call: the call
%% runs in the caller's process, as every call does, and the instance goes
%% back to the pool when it returns. Taking an idle instance costs a few
%% atomic operations and sends no message; only a caller that finds every
%% instance busy asks the pool's server, and waits its turn in arrival
%% order. An instance a call ended (a trap, a timeout, an interrupt, its
%% caller's death) is replaced; the pool can grow by `max_overflow'
%% instances while callers wait, and shrinks back when they are idle.
%%
%% ```
%% {ok, _} = wasm_runtime_nif_pool:start(plugins, "priv/plugin.wasm", #{size => 8}),
%% 3 = wasm_runtime_nif_pool:call_raw(plugins, add, [1, 2]).
%% '''
%%
%% docs/pools.md is the guide: the options, the errors, and what a pool
%% does when its instances fail.
-module(wasm_runtime_nif_pool).

-export([start/3, start_link/3, stop/1, child_spec/3,
         call/3, call/4, call_raw/3, call_raw/4, with_instance/2, with_instance/3, info/1]).
%% For the pool's server.
-export([hand/3, rewrite/4, call_if_idle/5, failure/1, server/1]).

-include("wasm_runtime_nif_pool.hrl").

-define(ERROR_INFO, [{error_info, #{module => wasm_runtime_nif_error}}]).
%% The options with their defaults, for a source that is not an instance:
%% checked before anything starts, by start/3 too (a supervisor would turn
%% the exception into an error tuple). A macro, so that badarg is raised
%% by the API function itself.
-define(CHECKED(Name, Source, Options),
        case is_reference(Source) andalso wasm_runtime_nif_nif:instance_describe(Source) of
            #{} -> erlang:error(badarg, [Name, Source, Options], ?ERROR_INFO);
            _ -> wasm_runtime_nif_options:pool(Options)
        end).
%% The tag of the pool's own errors on their way to the API function.
-define(FAILED, '$wasm_runtime_nif_pool_failed').
%% How many times a caller that found every instance busy yields and looks
%% again before it queues.
-define(CLAIM_RETRIES, 30).
%% How often a queued caller looks for a slot granted to it by a holder
%% killed before it could say so.
-define(GRANT_CHECK_MS, 100).

-type name() :: atom() | term().
%% A pool's name: an atom is also the pool server's registered name; any
%% other term names a pool that is not registered (a service's pools).
-type source() :: wasm_runtime_nif:wasm_module() | file:name_all().
%% The module a pool serves: compiled already, or a file to load.
-type options() :: #{size => pos_integer(),
                     max_overflow => non_neg_integer(),
                     shrink_after => pos_integer(),
                     checkout_timeout => timeout(),
                     max_waiters => non_neg_integer() | infinity,
                     instance => [wasm_runtime_nif:instance_option()],
                     compile => [wasm_runtime_nif:load_option()]}.
%% `size': the instances made at start and always kept (default: the
%% number of schedulers). `max_overflow': instances made on top of them
%% while callers wait (default 0), released once idle for `shrink_after'
%% milliseconds (default 10,000). `checkout_timeout': the longest a call
%% without a `timeout' waits for an instance, in milliseconds (default
%% 5,000). `max_waiters': past this many queued callers a call fails at
%% once with `{pool_full, Name}' (default `infinity'). `instance': the
%% options of every instance ({@link wasm_runtime_nif:instantiate/2}, but
%% not `process_bound'). `compile': the options {@link
%% wasm_runtime_nif:load/2} is given when the source is a file.
-type pool_info() :: #{size := pos_integer(),
                       max_overflow := non_neg_integer(),
                       instances := non_neg_integer(),
                       idle := non_neg_integer(),
                       busy := non_neg_integer(),
                       making := non_neg_integer(),
                       waiting := non_neg_integer(),
                       replaced := non_neg_integer(),
                       grown := non_neg_integer(),
                       shrunk := non_neg_integer(),
                       instantiate_failed := non_neg_integer(),
                       module := wasm_runtime_nif:wasm_module()}.
%% `instances': those that exist, idle or busy; `making': those being
%% made (a replacement or growth); `waiting': callers queued for one.
%% `replaced', `grown', `shrunk', `instantiate_failed': counts since the
%% pool started.

-export_type([name/0, source/0, options/0, pool_info/0]).

%%% Starting and stopping

%% @doc Starts a pool under the library's own supervisor (starting the
%% application if needed): the one line that serves a module from a pool.
%% The pool is restarted if its server fails; {@link stop/1} stops it.
-spec start(name(), source(), options()) ->
          {ok, pid()} | {error, {already_started, pid()}
                                | wasm_runtime_nif:load_error()
                                | wasm_runtime_nif:instantiate_error()}.
start(Name, Source, Options) ->
    _ = ?CHECKED(Name, Source, Options),
    {ok, _} = application:ensure_all_started(wasm_runtime_nif),
    supervisor:start_child(wasm_runtime_nif_pool_sup, [Name, Source, Options]).

%% @doc Starts a pool linked to the calling process (a supervisor's child:
%% see {@link child_spec/3}). The module is loaded and the `size' first
%% instances made before the pool's server starts, so a module that does
%% not load or instantiate is an error here. A bad option raises
%% `{bad_option, Option}'.
-spec start_link(name(), source(), options()) ->
          {ok, pid()} | {error, {already_started, pid()}
                                | wasm_runtime_nif:load_error()
                                | wasm_runtime_nif:instantiate_error()}.
start_link(Name, Source, Options) ->
    Config = ?CHECKED(Name, Source, Options),
    case server(Name) of
        undefined ->
            case loaded(Source, Config) of
                {ok, Module} ->
                    case made(Module, Config) of
                        {ok, Instances} ->
                            Args = {Name, Module, Instances, Config},
                            case is_atom(Name) of
                                true -> gen_server:start_link({local, Name}, wasm_runtime_nif_pool_server, Args, []);
                                false -> gen_server:start_link(wasm_runtime_nif_pool_server, Args, [])
                            end;
                        {error, _} = Error ->
                            Error
                    end;
                {error, _} = Error ->
                    Error
            end;
        Pid ->
            {error, {already_started, Pid}}
    end.

%% @private The server of the pool `Name' if it runs, else `undefined'.
-spec server(name()) -> pid() | undefined.
server(Name) when is_atom(Name) ->
    whereis(Name);
server(Name) ->
    case persistent_term:get(?HANDLE_KEY(Name), undefined) of
        #pool{server = Server} ->
            case is_process_alive(Server) of
                true -> Server;
                false -> undefined
            end;
        undefined ->
            undefined
    end.

%% @doc A child specification for a pool under the user's supervisor.
-spec child_spec(name(), source(), options()) -> supervisor:child_spec().
child_spec(Name, Source, Options) ->
    #{id => {?MODULE, Name},
      start => {?MODULE, start_link, [Name, Source, Options]},
      restart => permanent,
      shutdown => 5000,
      type => worker,
      modules => [wasm_runtime_nif_pool_server]}.

%% @doc Stops a pool started with {@link start/3}: callers waiting for an
%% instance get `{pool_stopped, Name}', calls running finish, and every
%% instance is released. A pool under the user's supervisor is stopped
%% through that supervisor; this stops it too, but its supervisor may start
%% it again.
-spec stop(name()) -> ok | {error, not_found}.
stop(Name) ->
    case server(Name) of
        undefined ->
            {error, not_found};
        Pid ->
            case whereis(wasm_runtime_nif_pool_sup) =/= undefined
                andalso supervisor:terminate_child(wasm_runtime_nif_pool_sup, Pid) of
                ok -> ok;
                _ -> gen_server:stop(Pid)
            end
    end.

%% The module: compiled already, or loaded from its file.
loaded(Source, _Config) when is_reference(Source) ->
    {ok, Source};
loaded(Source, #{compile := Options}) ->
    wasm_runtime_nif:load(Source, Options).

%% The pool's first `size' instances, or the first error (the instances
%% made before it are released).
made(Module, #{size := Size, instance := Options}) ->
    made(Module, Options, Size, []).

made(_Module, _Options, 0, Instances) ->
    {ok, Instances};
made(Module, Options, Left, Instances) ->
    case wasm_runtime_nif:instantiate(Module, Options) of
        {ok, Instance} ->
            made(Module, Options, Left - 1, [Instance | Instances]);
        {error, _} = Error ->
            lists:foreach(fun wasm_runtime_nif:release/1, Instances),
            Error
    end.

%%% Calls

%% @doc {@link wasm_runtime_nif:call/3} on an instance of the pool.
-spec call(name(), wasm_runtime_nif:func_name(), [term()]) -> term().
call(Pool, Function, Args) ->
    try lent(Pool, call, Function, Args, [])
    catch error:{?FAILED, Reason} -> erlang:error(Reason, [Pool, Function, Args], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call/4} on an instance of the pool. The
%% call's `timeout' covers the wait for an instance and the call; without
%% one, the wait is bounded by the pool's `checkout_timeout' and the call
%% by the instance's own limits.
%%
%% Besides the errors of a direct call: `timeout' when no instance was free
%% in time (nothing ran), `{no_pool, Name}', `{pool_stopped, Name}', and
%% `{pool_full, Name}' when `max_waiters' callers wait already. A trap
%% raises as it would on an own instance, and that instance is replaced:
%% the next call does not see `instance_invalidated'.
-spec call(name(), wasm_runtime_nif:func_name(), [term()], [wasm_runtime_nif:call_option()]) ->
          term().
call(Pool, Function, Args, Options) ->
    try lent(Pool, call, Function, Args, Options)
    catch error:{?FAILED, Reason} -> erlang:error(Reason, [Pool, Function, Args, Options], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call_raw/3} on an instance of the pool.
-spec call_raw(name(), wasm_runtime_nif:func_name(), [wasm_runtime_nif:value()]) ->
          void | wasm_runtime_nif:value() | tuple().
call_raw(Pool, Function, Args) ->
    try lent(Pool, call_raw, Function, Args, [])
    catch error:{?FAILED, Reason} -> erlang:error(Reason, [Pool, Function, Args], ?ERROR_INFO)
    end.

%% @doc {@link wasm_runtime_nif:call_raw/4} on an instance of the pool, as
%% {@link call/4}.
-spec call_raw(name(), wasm_runtime_nif:func_name(), [wasm_runtime_nif:value()],
               [wasm_runtime_nif:call_option()]) ->
          void | wasm_runtime_nif:value() | tuple().
call_raw(Pool, Function, Args, Options) ->
    try lent(Pool, call_raw, Function, Args, Options)
    catch error:{?FAILED, Reason} -> erlang:error(Reason, [Pool, Function, Args, Options], ?ERROR_INFO)
    end.

%% @doc Lends an instance to `Fun' for as long as it runs: several calls, or
%% the embedding API's reads and writes of its memory, with nothing else
%% running on it in between. The instance must not be used once `Fun'
%% returns. If `Fun' leaves it invalidated or released, it is replaced.
-spec with_instance(name(), fun((wasm_runtime_nif:instance()) -> Result)) -> Result.
with_instance(Pool, Fun) ->
    with_instance(Pool, Fun, []).

%% @doc {@link with_instance/2} waiting at most `{timeout, Ms}' for an
%% instance (default: the pool's `checkout_timeout').
-spec with_instance(name(), fun((wasm_runtime_nif:instance()) -> Result),
                    [{timeout, timeout()}]) -> Result.
with_instance(Pool, Fun, Options) when is_function(Fun, 1) ->
    {P, Slot, Held, Instance} =
        try
            wait_options(Options),
            {Lent, Held0, _, _} = Lender = lender(Pool),
            {Slot0, _} = checkout(Lent, Held0, Options),
            {Lent, Slot0, Held0, instance(Lent, Slot0, Lender)}
        catch
            error:{?FAILED, Why} -> erlang:error(Why, [Pool, Fun, Options], ?ERROR_INFO)
        end,
    try Fun(Instance) of
        Value ->
            give_back_after(P, Slot, Held, Instance),
            Value
    catch
        Class:Reason:Stack ->
            give_back_after(P, Slot, Held, Instance),
            case Reason =:= instance_released andalso not current(P) of
                true -> erlang:error({pool_stopped, Pool}, [Pool, Fun, Options], ?ERROR_INFO);
                false -> erlang:raise(Class, Reason, Stack)
            end
    end;
with_instance(Pool, Fun, Options) ->
    erlang:error(badarg, [Pool, Fun, Options], ?ERROR_INFO).

%% @doc What the pool holds and has done: see {@link pool_info()}.
-spec info(name()) -> pool_info().
info(Pool) ->
    try
        #pool{server = Server} = handle(Pool),
        try gen_server:call(Server, info)
        catch exit:_ -> failed({pool_stopped, Pool})
        end
    catch
        error:{?FAILED, Reason} -> erlang:error(Reason, [Pool], ?ERROR_INFO)
    end.

%% with_instance/3's options: a timeout for the wait, nothing else.
wait_options([]) ->
    ok;
wait_options(Options) ->
    try wasm_runtime_nif_options:call(Options) of
        #{fuel := Fuel} -> failed({bad_option, {fuel, Fuel}});
        _ -> ok
    catch
        error:Bad -> failed(Bad)
    end.

%%% The path of every call: claim a slot, call, give it back.

lent(Pool, Kind, Function, Args, Options) ->
    {P, Held, _, _} = Lender = lender(Pool),
    {Slot, Given} = checkout(P, Held, Options),
    lent(P, Slot, Lender, Kind, Function, Args, Given).

%% @private A call of `Kind' (call or call_raw) if an instance is idle now,
%% else `busy' (nothing ran): a service tries its node's pool so first.
%% The pool's own errors come tagged, as for the API functions.
-spec call_if_idle(name(), call | call_raw, wasm_runtime_nif:func_name(), list(),
                   [wasm_runtime_nif:call_option()]) -> {ok, term()} | busy.
call_if_idle(Pool, Kind, Function, Args, Options) ->
    {P, Held, _, _} = Lender = lender(Pool),
    case claim(P, Held) of
        none -> busy;
        Slot -> {ok, lent(P, Slot, Lender, Kind, Function, Args, Options)}
    end.

lent(#pool{name = Pool} = P, Slot, {P, Held, _, _} = Lender, Kind, Function, Args, Given) ->
    Instance = instance(P, Slot, Lender),
    try
        case {Kind, Given} of
            {call_raw, []} -> wasm_runtime_nif:call_raw(Instance, Function, Args);
            {call_raw, _} -> wasm_runtime_nif:call_raw(Instance, Function, Args, Given);
            {call, []} -> wasm_runtime_nif:call(Instance, Function, Args);
            {call, _} -> wasm_runtime_nif:call(Instance, Function, Args, Given)
        end
    of
        Value when Slot =< P#pool.size ->
            %% Given back here, not in a function: a function call is where
            %% the scheduler may put a process aside, and one put aside
            %% holding a slot keeps every waiter waiting.
            case atomics:compare_exchange(P#pool.slots, ?HOLDER(Slot), Held, ?IDLE) of
                ok -> Value;
                _ -> hand(P, Slot, Held), Value
            end;
        Value ->
            give_back(P, Slot, Held),
            Value
    catch
        Class:Reason:Stack ->
            give_back_after(P, Slot, Held, Instance),
            case Reason =:= instance_released andalso not current(P) of
                true -> failed({pool_stopped, Pool});
                false -> erlang:raise(Class, Reason, Stack)
            end
    end.

handle(Pool) ->
    case persistent_term:get(?HANDLE_KEY(Pool), undefined) of
        #pool{} = P -> P;
        undefined -> failed({no_pool, Pool})
    end.

%% Whether `P' is the pool running under its name now.
current(#pool{name = Name, incarnation = Incarnation}) ->
    case persistent_term:get(?HANDLE_KEY(Name), undefined) of
        #pool{incarnation = Incarnation, server = Server} -> is_process_alive(Server);
        _ -> false
    end.

%% What the calling process keeps of the pool: the word it writes in the
%% slots it holds (its owner id, handed out once per process and pool
%% start), and its copy of the table of instances. The server learns the
%% word once and monitors the process, to take back the slots of one that
%% dies holding them.
lender(Pool) ->
    case get(?LENDER_KEY(Pool)) of
        {#pool{server = Server}, _, _, _} = Lender ->
            %% A pool started again has a new server: the copy is stale.
            case is_process_alive(Server) of
                true -> Lender;
                false -> new_lender(Pool)
            end;
        _ ->
            new_lender(Pool)
    end.

new_lender(Pool) ->
    #pool{name = Name, server = Server, slots = Slots} = P = handle(Pool),
    case is_process_alive(Server) of
        true -> ok;
        false -> failed({pool_stopped, Name})
    end,
    Held = ?HELD(atomics:add_get(Slots, ?LAST_OWNER, 1)),
    Lender = {P, Held, -1, {}},
    put(?LENDER_KEY(Name), Lender),
    Server ! {register, self(), Held},
    Lender.

%% A slot held by the caller, and the call options with what is left of the
%% call's timeout after the wait.
checkout(P, Held, Options) ->
    case claim(P, Held) of
        none -> checkout_again(P, Held, Options, ?CLAIM_RETRIES);
        Slot -> {Slot, Options}
    end.

%% Every instance is busy, most often with a call that ends in a moment or
%% with a holder the scheduler put aside between its claim and its call:
%% let the others run and look again, a few times, before queueing. While
%% callers are queued, slots are handed to them rather than made idle, so
%% this takes none from them.
checkout_again(P, Held, Options, Retries) when Retries > 0 ->
    erlang:yield(),
    case claim(P, Held) of
        none -> checkout_again(P, Held, Options, Retries - 1);
        Slot -> {Slot, Options}
    end;
checkout_again(P, Held, Options, _) ->
    wait(P, Held, Options).

%% Claims an idle slot: the core slots from one chosen by the scheduler
%% (so that callers on different schedulers try different slots first),
%% then the overflow slots in order.
claim(#pool{slots = Slots, size = Size, max = Max}, Held) ->
    First = (erlang:system_info(scheduler_id) - 1) rem Size + 1,
    case claim_core(Slots, Held, First, Size, Size) of
        none when Max > Size -> claim_overflow(Slots, Held, Size + 1, Max);
        Claimed -> Claimed
    end.

claim_core(_Slots, _Held, _Slot, _Size, 0) ->
    none;
claim_core(Slots, Held, Slot, Size, Left) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, Held) of
        ok -> Slot;
        _ -> claim_core(Slots, Held, Slot rem Size + 1, Size, Left - 1)
    end.

claim_overflow(_Slots, _Held, Slot, Max) when Slot > Max ->
    none;
claim_overflow(Slots, Held, Slot, Max) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, Held) of
        ok -> Slot;
        _ -> claim_overflow(Slots, Held, Slot + 1, Max)
    end.

%% Every instance is busy: queue, mark every slot wanted, and wait for a
%% holder to hand one over (docs/design.md has the protocol and why no
%% hand-over is lost). No process stands between the holder and us.
wait(#pool{name = Name, slots = Slots, queue = Queue, checkout_timeout = Bound,
           max_waiters = MaxWaiters} = P, Held, Options) ->
    Limits = try wasm_runtime_nif_options:call(Options)
             catch error:Bad -> failed(Bad)
             end,
    CallTimeout = maps:get(timeout, Limits, infinity),
    Started = erlang:monotonic_time(millisecond),
    case MaxWaiters =/= infinity andalso queued(P) >= MaxWaiters of
        true -> failed({pool_full, Name});
        false -> ok
    end,
    Ticket = atomics:add_get(Slots, ?LAST_TICKET, 1),
    Alias = erlang:alias([explicit_unalias]),
    Slot = try
               try ets:insert(Queue, {Ticket, self(), Alias, Held, waiting})
               catch error:badarg -> failed({pool_stopped, Name})
               end,
               case claim_or_want(P, Held) of
                   none ->
                       ask_to_grow(P),
                       Wait = case CallTimeout of
                                  infinity -> Bound;
                                  _ -> CallTimeout
                              end,
                       await_slot(P, Ticket, Alias, Held, deadline(Started, Wait));
                   Claimed ->
                       %% Granted one meanwhile: that one goes back.
                       lists:foreach(fun(Granted) -> give_back(P, Granted, Held) end,
                                     leave(P, Ticket, Held)),
                       Claimed
               end
           after
               %% A grant sent to us from now on is dropped; one that came
               %% already was dealt with (leave/3).
               erlang:unalias(Alias),
               receive {Alias, granted, _} -> ok after 0 -> ok end
           end,
    case CallTimeout of
        infinity ->
            {Slot, Options};
        _ ->
            case CallTimeout - (erlang:monotonic_time(millisecond) - Started) of
                Left when Left > 0 ->
                    {Slot, [{timeout, Left} | [Option || {Key, _} = Option <- Options,
                                                         Key =/= timeout]]};
                _ ->
                    give_back(P, Slot, Held),
                    failed(timeout)
            end
    end.

queued(#pool{name = Name, queue = Queue}) ->
    case ets:info(Queue, size) of
        Size when is_integer(Size) -> Size;
        undefined -> failed({pool_stopped, Name})
    end.

deadline(_Started, infinity) -> infinity;
deadline(Started, Ms) -> Started + Ms.

%% Claims an idle slot, or marks each slot that is not idle wanted: its
%% holder, when done, hands it to the first queued caller instead of
%% making it idle. Our ticket is in the queue before any mark is set.
claim_or_want(#pool{slots = Slots, max = Max}, Held) ->
    claim_or_want(Slots, Held, 1, Max).

claim_or_want(_Slots, _Held, Slot, Max) when Slot > Max ->
    none;
claim_or_want(Slots, Held, Slot, Max) ->
    case atomics:get(Slots, ?HOLDER(Slot)) of
        ?IDLE ->
            case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, Held) of
                ok -> Slot;
                _ -> claim_or_want(Slots, Held, Slot, Max)
            end;
        Word when Word band ?WANTED =/= 0 ->
            claim_or_want(Slots, Held, Slot + 1, Max);
        Word ->
            case atomics:compare_exchange(Slots, ?HOLDER(Slot), Word, Word bor ?WANTED) of
                ok -> claim_or_want(Slots, Held, Slot + 1, Max);
                _ -> claim_or_want(Slots, Held, Slot, Max)
            end
    end.

%% Waits for a holder to hand us a slot, or for the pool to stop. A holder
%% marks the slot granted to us before it says so on our ticket and tells
%% us: one killed in between leaves a slot only the mark says is ours, so
%% we look for it now and then.
await_slot(#pool{server = Server} = P, Ticket, Alias, Held, Deadline) ->
    Monitor = erlang:monitor(process, Server),
    try
        await_slot(P, Ticket, Alias, Held, Deadline, Monitor)
    after
        erlang:demonitor(Monitor, [flush])
    end.

await_slot(#pool{name = Name, queue = Queue} = P, Ticket, Alias, Held, Deadline, Monitor) ->
    Now = erlang:monotonic_time(millisecond),
    Wait = case Deadline of
               infinity -> ?GRANT_CHECK_MS;
               _ -> max(0, min(?GRANT_CHECK_MS, Deadline - Now))
           end,
    receive
        {Alias, granted, Slot} ->
            _ = (catch ets:delete(Queue, Ticket)),
            taken(P, Slot, Held);
        {'DOWN', Monitor, process, _, _} ->
            failed({pool_stopped, Name})
    after Wait ->
            Late = Deadline =/= infinity andalso erlang:monotonic_time(millisecond) >= Deadline,
            case Late orelse marked_granted(P, Held) of
                true when Late ->
                    lists:foreach(fun(Granted) -> give_back(P, Granted, Held) end,
                                  leave(P, Ticket, Held)),
                    failed(timeout);
                true ->
                    case leave(P, Ticket, Held) of
                        [Slot | Others] ->
                            lists:foreach(fun(Granted) -> give_back(P, Granted, Held) end, Others),
                            Slot;
                        [] ->
                            %% Its holder took it back (it was alive and
                            %% found our ticket gone): queue again, in our
                            %% place.
                            true = ets:insert(Queue, {Ticket, self(), Alias, Held, waiting}),
                            case claim_or_want(P, Held) of
                                none ->
                                    await_slot(P, Ticket, Alias, Held, Deadline, Monitor);
                                Claimed ->
                                    lists:foreach(fun(Granted) -> give_back(P, Granted, Held) end,
                                                  leave(P, Ticket, Held)),
                                    Claimed
                            end
                    end;
                false ->
                    await_slot(P, Ticket, Alias, Held, Deadline, Monitor)
            end
    end.

%% Whether a slot is marked granted to us.
marked_granted(#pool{slots = Slots, max = Max}, Held) ->
    Granted = Held bor ?GRANTED bor ?WANTED,
    lists:any(fun(S) -> atomics:get(Slots, ?HOLDER(S)) =:= Granted end, lists:seq(1, Max)).

%% We stop waiting: our ticket leaves the queue. The slot granted on it,
%% if any, and any slot marked granted to us by a holder that did not get
%% to say so, are ours now: returned, for the caller to use or give back.
leave(#pool{queue = Queue, slots = Slots, max = Max} = P, Ticket, Held) ->
    Granted = case left_queue(Queue, Ticket) of
                  true -> [];
                  {granted, Slot} -> [taken(P, Slot, Held)]
              end,
    Marked = Held bor ?GRANTED bor ?WANTED,
    Granted ++ [S || S <- lists:seq(1, Max), atomics:get(Slots, ?HOLDER(S)) =:= Marked,
                     atomics:compare_exchange(Slots, ?HOLDER(S), Marked, Held bor ?WANTED) =:= ok].

%% Takes our ticket out of the queue unless a holder granted us a slot on
%% it first: then `{granted, Slot}' (the grant and the leaving are
%% compare-and-swaps on the ticket's row: one of them wins).
left_queue(Queue, Ticket) ->
    try ets:select_delete(Queue, [{{Ticket, '_', '_', '_', waiting}, [], [true]}]) of
        1 ->
            true;
        0 ->
            case ets:take(Queue, Ticket) of
                [{Ticket, _, _, _, Granted}] -> Granted;
                [] -> true
            end
    catch
        error:badarg -> true
    end.

%% A slot granted to us is ours: its mark stays wanted, so that whoever
%% still waits is handed it next.
taken(#pool{slots = Slots}, Slot, Held) ->
    ok = atomics:compare_exchange(Slots, ?HOLDER(Slot), Held bor ?GRANTED bor ?WANTED,
                                  Held bor ?WANTED),
    Slot.

%% A queued caller with the pool allowed to grow: tell the server.
ask_to_grow(#pool{slots = Slots, size = Size, max = Max, server = Server}) when Max > Size ->
    case lists:any(fun(S) -> ?UNFLAGGED(atomics:get(Slots, ?HOLDER(S))) =:= ?EMPTY end,
                   lists:seq(Size + 1, Max)) of
        true -> Server ! grow, ok;
        false -> ok
    end;
ask_to_grow(_) ->
    ok.

%% The instance in `Slot', from the caller's copy of the table unless the
%% server changed the table since it was made. The slot was claimed before
%% the generation is read, and the server raises the generation before a
%% new instance's slot can be claimed: a copy of this generation has it.
instance(#pool{slots = Slots, table = Table, name = Name, max = Max} = P, Slot,
         {P, Held, Generation, Instances}) ->
    case atomics:get(Slots, ?GENERATION) of
        Generation ->
            element(Slot, Instances);
        Now ->
            %% A pool stopped meanwhile has dropped its table.
            Rows = try ets:tab2list(Table)
                   catch error:badarg ->
                           give_back(P, Slot, Held),
                           failed({pool_stopped, Name})
                   end,
            Copy = erlang:make_tuple(Max, undefined, Rows),
            put(?LENDER_KEY(Name), {P, Held, Now, Copy}),
            element(Slot, Copy)
    end.

%% Gives `Slot' back: idle, unless a queued caller wants it.
give_back(#pool{slots = Slots, size = Size} = P, Slot, Held) ->
    case Slot > Size of
        true -> atomics:put(Slots, ?LAST_USED(Slot), erlang:monotonic_time(millisecond));
        false -> ok
    end,
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), Held, ?IDLE) of
        ok -> ok;
        _ -> hand(P, Slot, Held)
    end.

%% @private Hands `Slot', held with the word `Held' (a caller's, or the
%% server's ?MAKING), to the first queued caller, or makes it idle. The mark
%% is cleared before the queue is looked at: a caller queued after that
%% marks it again, which the last step (idle only if unmarked) sees. The
%% slot is marked granted to the caller before its ticket says so: a caller
%% that finds its ticket granted finds the slot its own.
-spec hand(#pool{}, pos_integer(), integer()) -> ok.
hand(#pool{slots = Slots, queue = Queue} = P, Slot, Held) ->
    _ = atomics:compare_exchange(Slots, ?HOLDER(Slot), Held bor ?WANTED, Held),
    case first_waiter(Queue) of
        {Ticket, _Pid, Alias, Waiter, waiting} ->
            Granted = Waiter bor ?GRANTED bor ?WANTED,
            rewrite(Slots, Slot, Held, Granted),
            case grant(Queue, Ticket, Slot) of
                true ->
                    Alias ! {Alias, granted, Slot},
                    ok;
                false ->
                    %% It left (its timeout), or died and the server
                    %% dropped its ticket: the next one. Unless the server
                    %% took the slot back already.
                    case atomics:compare_exchange(Slots, ?HOLDER(Slot), Granted, Held) of
                        ok -> hand(P, Slot, Held);
                        _ -> ok
                    end
            end;
        none ->
            case atomics:compare_exchange(Slots, ?HOLDER(Slot), Held, ?IDLE) of
                ok -> ok;
                _ -> hand(P, Slot, Held)
            end
    end.

%% The first ticket still waiting (granted ones wait for their caller to
%% take them out).
first_waiter(Queue) ->
    try ets:select(Queue, [{{'_', '_', '_', '_', waiting}, [], ['$_']}], 1) of
        {[Waiter], _} -> Waiter;
        '$end_of_table' -> none
    catch
        error:badarg -> none
    end.

grant(Queue, Ticket, Slot) ->
    Match = [{{Ticket, '$1', '$2', '$3', waiting}, [],
              [{{Ticket, '$1', '$2', '$3', {const, {granted, Slot}}}}]}],
    try ets:select_replace(Queue, Match) of
        1 -> true;
        0 -> false
    catch
        error:badarg -> false
    end.

%% @private Replaces the word of a slot held with `Held' (marked wanted or
%% not: only that mark can change under its holder) by `New'.
-spec rewrite(atomics:atomics_ref(), pos_integer(), integer(), integer()) -> ok.
rewrite(Slots, Slot, Held, New) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), Held, New) of
        ok ->
            ok;
        _ ->
            case atomics:compare_exchange(Slots, ?HOLDER(Slot), Held bor ?WANTED, New) of
                ok -> ok;
                _ -> rewrite(Slots, Slot, Held, New)
            end
    end.

%% Gives `Slot' back after a call that raised (or a lent instance's fun):
%% an instance no longer idle (trapped, timed out, interrupted, released)
%% goes to the server to be replaced; the caller does not wait for that.
give_back_after(#pool{server = Server} = P, Slot, Held, Instance) ->
    case instance_state(Instance) of
        idle ->
            give_back(P, Slot, Held);
        _ ->
            %% The server takes the slot (still ours until then): should we
            %% die now, the message is there before our 'DOWN'.
            Server ! {replace, Slot, Held},
            ok
    end.

instance_state(Instance) ->
    case wasm_runtime_nif_nif:instance_describe(Instance) of
        #{state := State} -> State;
        _ -> released
    end.

%% @private The pool's own error in an exception `call_if_idle/5'
%% raised, or `false' for any other (the call's).
-spec failure(term()) -> {true, term()} | false.
failure({?FAILED, Reason}) -> {true, Reason};
failure(_) -> false.

%% An error of the pool rather than of the call: raised again by the API
%% function, with its arguments, for error info to describe.
-spec failed(term()) -> no_return().
failed(Reason) ->
    erlang:error({?FAILED, Reason}).
