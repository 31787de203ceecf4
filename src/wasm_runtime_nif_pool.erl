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
-export([claim/2]).

-include("wasm_runtime_nif_pool.hrl").

-define(ERROR_INFO, [{error_info, #{module => wasm_runtime_nif_error}}]).
%% The tag of the pool's own errors on their way to the API function.
-define(FAILED, '$wasm_runtime_nif_pool_failed').
%% How many times a caller that found every instance busy yields and looks
%% again before it queues.
-define(CLAIM_RETRIES, 3).

-type name() :: atom().
%% A pool's registered name.
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
    _ = wasm_runtime_nif_options:pool(Options),
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
start_link(Name, Source, Options) when is_atom(Name) ->
    Config = wasm_runtime_nif_options:pool(Options),
    case is_reference(Source) andalso wasm_runtime_nif_nif:instance_describe(Source) of
        #{} -> erlang:error(badarg, [Name, Source, Options], ?ERROR_INFO);
        _ -> ok
    end,
    case whereis(Name) of
        undefined ->
            case loaded(Source, Config) of
                {ok, Module} ->
                    case made(Module, Config) of
                        {ok, Instances} ->
                            gen_server:start_link({local, Name}, wasm_runtime_nif_pool_server,
                                                  {Name, Module, Instances, Config}, []);
                        {error, _} = Error ->
                            Error
                    end;
                {error, _} = Error ->
                    Error
            end;
        Pid ->
            {error, {already_started, Pid}}
    end;
start_link(Name, Source, Options) ->
    erlang:error(badarg, [Name, Source, Options], ?ERROR_INFO).

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
stop(Name) when is_atom(Name) ->
    case whereis(Name) of
        undefined ->
            {error, not_found};
        Pid ->
            case whereis(wasm_runtime_nif_pool_sup) =/= undefined
                andalso supervisor:terminate_child(wasm_runtime_nif_pool_sup, Pid) of
                ok -> ok;
                _ -> gen_server:stop(Pid)
            end
    end;
stop(Name) ->
    erlang:error(badarg, [Name], ?ERROR_INFO).

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
    {P, Slot, Owner, Instance} =
        try
            {Lent, Owner0, _, _} = Lender = lender(Pool),
            {Slot0, _} = checkout(Lent, Owner0, Options),
            {Lent, Slot0, Owner0, instance(Lent, Slot0, Lender)}
        catch
            error:{?FAILED, Why} -> erlang:error(Why, [Pool, Fun, Options], ?ERROR_INFO)
        end,
    try Fun(Instance) of
        Value ->
            give_back_after(P, Slot, Owner, Instance),
            Value
    catch
        Class:Reason:Stack ->
            give_back_after(P, Slot, Owner, Instance),
            erlang:raise(Class, Reason, Stack)
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

%%% The path of every call: claim a slot, call, give it back.

lent(Pool, Kind, Function, Args, Options) ->
    {P, Owner, _, _} = Lender = lender(Pool),
    {Slot, Given} = checkout(P, Owner, Options),
    Instance = instance(P, Slot, Lender),
    try
        case {Kind, Given} of
            {call_raw, []} -> wasm_runtime_nif:call_raw(Instance, Function, Args);
            {call_raw, _} -> wasm_runtime_nif:call_raw(Instance, Function, Args, Given);
            {call, []} -> wasm_runtime_nif:call(Instance, Function, Args);
            {call, _} -> wasm_runtime_nif:call(Instance, Function, Args, Given)
        end
    of
        Value ->
            give_back(P, Slot, Owner),
            Value
    catch
        Class:Reason:Stack ->
            give_back_after(P, Slot, Owner, Instance),
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

%% What the calling process keeps of the pool: its owner id, the word it
%% writes in the slots it holds, and its copy of the table of instances.
%% The server learns the id once per process and monitors the process, to
%% take back the slots of one that dies holding them.
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
    Owner = atomics:add_get(Slots, ?LAST_OWNER, 1),
    Lender = {P, Owner, -1, {}},
    put(?LENDER_KEY(Name), Lender),
    Server ! {register, self(), Owner},
    Lender.

%% A slot held by `Owner', and the call options with what is left of the
%% call's timeout after the wait.
%% The queue is not looked at first: while callers are queued, every slot
%% given back goes to them (give_back/3), so a caller that finds one idle
%% took it in the instant between its release and its hand-off.
checkout(P, Owner, Options) ->
    case claim(P, Owner) of
        none -> checkout_again(P, Owner, Options, ?CLAIM_RETRIES);
        Slot -> {Slot, Options}
    end.

%% Every instance is busy, most often with a call that ends in a moment or
%% with a holder the scheduler put aside between its claim and its call:
%% let the others run and look again, a few times, before queueing (a
%% round trip through the server). Once callers are queued, every slot
%% given back goes to them: queue at once.
checkout_again(#pool{slots = Slots} = P, Owner, Options, Retries) when Retries > 0 ->
    erlang:yield(),
    case atomics:get(Slots, ?WAITERS) =:= 0 andalso claim(P, Owner) of
        Slot when is_integer(Slot) -> {Slot, Options};
        none -> checkout_again(P, Owner, Options, Retries - 1);
        false -> wait(P, Owner, Options)
    end;
checkout_again(P, Owner, Options, _) ->
    wait(P, Owner, Options).

%% @private Claims an idle slot for `Owner': the core slots from one chosen
%% by the scheduler (so that callers on different schedulers try different
%% slots first), then the overflow slots in order.
-spec claim(#pool{}, pos_integer()) -> pos_integer() | none.
claim(#pool{slots = Slots, size = Size, max = Max}, Owner) ->
    First = (erlang:system_info(scheduler_id) - 1) rem Size + 1,
    case claim_core(Slots, Owner, First, Size, Size) of
        none when Max > Size -> claim_overflow(Slots, Owner, Size + 1, Max);
        Claimed -> Claimed
    end.

claim_core(_Slots, _Owner, _Slot, _Size, 0) ->
    none;
claim_core(Slots, Owner, Slot, Size, Left) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, Owner) of
        ok -> Slot;
        _ -> claim_core(Slots, Owner, Slot rem Size + 1, Size, Left - 1)
    end.

claim_overflow(_Slots, _Owner, Slot, Max) when Slot > Max ->
    none;
claim_overflow(Slots, Owner, Slot, Max) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, Owner) of
        ok -> Slot;
        _ -> claim_overflow(Slots, Owner, Slot + 1, Max)
    end.

%% Every instance is busy: queue in the server and wait for it to grant a
%% slot (docs/design.md has the protocol and why no grant is lost).
wait(#pool{name = Name, server = Server, slots = Slots, checkout_timeout = Bound,
           max_waiters = MaxWaiters} = P, Owner, Options) ->
    Limits = try wasm_runtime_nif_options:call(Options)
             catch error:Bad -> failed(Bad)
             end,
    case MaxWaiters =/= infinity andalso atomics:get(Slots, ?WAITERS) >= MaxWaiters of
        true -> failed({pool_full, Name});
        false -> ok
    end,
    CallTimeout = maps:get(timeout, Limits, infinity),
    Started = erlang:monotonic_time(millisecond),
    Ref = erlang:monitor(process, Server),
    Server ! {wait, self(), Ref, Owner},
    Slot = receive
               {Ref, {granted, Granted}} ->
                   Granted;
               {'DOWN', Ref, process, _, _} ->
                   failed({pool_stopped, Name})
           after min(CallTimeout, Bound) ->
                   Server ! {cancel, Ref},
                   receive
                       {Ref, {granted, Granted}} ->
                           give_back(P, Granted, Owner),
                           failed(timeout);
                       {Ref, cancelled} ->
                           failed(timeout);
                       {'DOWN', Ref, process, _, _} ->
                           failed(timeout)
                   end
           end,
    erlang:demonitor(Ref, [flush]),
    case CallTimeout of
        infinity ->
            {Slot, Options};
        _ ->
            case CallTimeout - (erlang:monotonic_time(millisecond) - Started) of
                Left when Left > 0 ->
                    {Slot, [{timeout, Left} | [Option || {Key, _} = Option <- Options,
                                                         Key =/= timeout]]};
                _ ->
                    give_back(P, Slot, Owner),
                    failed(timeout)
            end
    end.

%% The instance in `Slot', from the caller's copy of the table unless the
%% server changed the table since it was made. The slot was claimed before
%% the generation is read, and the server raises the generation before a
%% new instance's slot can be claimed: a copy of this generation has it.
instance(#pool{slots = Slots, table = Table, name = Name, max = Max} = P, Slot,
         {P, Owner, Generation, Instances}) ->
    case atomics:get(Slots, ?GENERATION) of
        Generation ->
            element(Slot, Instances);
        Now ->
            %% A pool stopped meanwhile has dropped its table.
            Rows = try ets:tab2list(Table)
                   catch error:badarg ->
                           give_back(P, Slot, Owner),
                           failed({pool_stopped, Name})
                   end,
            Copy = erlang:make_tuple(Max, undefined, Rows),
            put(?LENDER_KEY(Name), {P, Owner, Now, Copy}),
            element(Slot, Copy)
    end.

%% Gives `Slot' back, idle, and passes it to the server if callers are
%% queued. The order matters: the slot is made idle before the queue is
%% looked at, while the server counts a caller in before it looks for idle
%% slots, so that one of the two sees the other.
give_back(#pool{slots = Slots, size = Size, server = Server}, Slot, Owner) ->
    case Slot > Size of
        true -> atomics:put(Slots, ?LAST_USED(Slot), erlang:monotonic_time(millisecond));
        false -> ok
    end,
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), Owner, ?IDLE) of
        ok ->
            case atomics:get(Slots, ?WAITERS) of
                0 ->
                    ok;
                _ ->
                    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, ?HANDOFF) of
                        ok -> Server ! {handoff, Slot}, ok;
                        _ -> ok
                    end
            end;
        _ ->
            ok
    end.

%% Gives `Slot' back after a call that raised (or a lent instance's fun):
%% an instance no longer idle (trapped, timed out, interrupted, released)
%% goes to the server to be replaced; the caller does not wait for that.
give_back_after(#pool{slots = Slots, server = Server} = P, Slot, Owner, Instance) ->
    case instance_state(Instance) of
        idle ->
            give_back(P, Slot, Owner);
        _ ->
            case atomics:compare_exchange(Slots, ?HOLDER(Slot), Owner, ?MAKING) of
                ok -> Server ! {replace, Slot}, ok;
                _ -> ok
            end
    end.

instance_state(Instance) ->
    case wasm_runtime_nif_nif:instance_describe(Instance) of
        #{state := State} -> State;
        _ -> released
    end.

%% An error of the pool rather than of the call: raised again by the API
%% function, with its arguments, for error info to describe.
-spec failed(term()) -> no_return().
failed(Reason) ->
    erlang:error({?FAILED, Reason}).
