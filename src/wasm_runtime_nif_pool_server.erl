%% @private
%% @doc A pool's server: what callers do not do themselves. It owns the
%% table of instances and the slots' handle, queues callers that found
%% every instance busy and grants them slots in arrival order, replaces the
%% instances calls ended, grows the pool while callers wait and shrinks it
%% back, and takes back the slots of callers that died holding them.
%% docs/design.md, "Pools: check-out without a hop", has the protocol.
%%
%% Messages from callers (wasm_runtime_nif_pool), none of them per call:
%% <ul>
%% <li>`{register, Pid, Owner}': once per process: monitored from now on.</li>
%% <li>`{wait, Pid, Ref, Owner}': queue me; answered `{Ref, {granted, Slot}}'
%%     (the slot already holds `Owner').</li>
%% <li>`{cancel, Ref}': I gave up; answered `{Ref, cancelled}' while the
%%     caller is still queued, else its grant is on the way.</li>
%% <li>`{handoff, Slot}': an idle slot for the queue.</li>
%% <li>`{replace, Slot}': its instance is no longer idle.</li>
%% </ul>
-module(wasm_runtime_nif_pool_server).
-behaviour(gen_server).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-include("wasm_runtime_nif_pool.hrl").

%% How often the slots of a dead holder whose instance is still busy (its
%% call not yet cancelled) are looked at again, and how many times before
%% the instance is replaced all the same.
-define(RECLAIM_AGAIN_MS, 10).
-define(RECLAIM_TRIES, 500).
%% Backoff between attempts to make a core instance that failed.
-define(RETRY_FIRST_MS, 100).
-define(RETRY_MAX_MS, 5000).

-record(state, {pool :: #pool{},
                module :: wasm_runtime_nif:wasm_module(),
                instance_options :: [wasm_runtime_nif:instance_option()],
                shrink_after :: pos_integer(),
                %% {Pid, Ref, Owner} in arrival order.
                queue = queue:new() :: queue:queue({pid(), reference(), pos_integer()}),
                %% Monitor => owner id of every process that used the pool.
                owners = #{} :: #{reference() => pos_integer()},
                %% Maker process => slot.
                makers = #{} :: #{pid() => pos_integer()},
                %% Core slot => the next wait before it is made again.
                backoff = #{} :: #{pos_integer() => pos_integer()},
                counts = #{replaced => 0, grown => 0, shrunk => 0, instantiate_failed => 0}
                    :: #{atom() => non_neg_integer()}}).

-spec init({wasm_runtime_nif_pool:name(), wasm_runtime_nif:wasm_module(),
            [wasm_runtime_nif:instance()], map()}) -> {ok, #state{}}.
init({Name, Module, Instances, Config}) ->
    process_flag(trap_exit, true),
    #{size := Size, max_overflow := Overflow, checkout_timeout := Bound,
      max_waiters := MaxWaiters, instance := InstanceOptions, shrink_after := ShrinkAfter} = Config,
    Max = Size + Overflow,
    Slots = atomics:new(?SLOTS_SIZE(Max), [{signed, true}]),
    %% Read only when a caller's copy of it is stale.
    Table = ets:new(?MODULE, [set, protected]),
    lists:foreach(fun(Slot) -> atomics:put(Slots, ?HOLDER(Slot), ?EMPTY) end,
                  lists:seq(Size + 1, Max)),
    lists:foldl(fun(Instance, Slot) ->
                        true = ets:insert(Table, {Slot, Instance}),
                        Slot + 1
                end, 1, Instances),
    Pool = #pool{name = Name, server = self(), slots = Slots, table = Table, size = Size,
                 max = Max, incarnation = make_ref(), checkout_timeout = Bound,
                 max_waiters = MaxWaiters},
    %% Written once per start: persistent_term makes every process look at
    %% its heap when a term is replaced, which a long-lived pool can afford.
    persistent_term:put(?HANDLE_KEY(Name), Pool),
    shrink_later(Pool, ShrinkAfter),
    {ok, #state{pool = Pool, module = Module, instance_options = InstanceOptions,
                shrink_after = ShrinkAfter}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call(info, _From, State) ->
    {reply, info(State), State};
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Request, State) ->
    {noreply, State}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({register, Pid, Owner}, #state{owners = Owners} = State) ->
    {noreply, State#state{owners = Owners#{erlang:monitor(process, Pid) => Owner}}};
handle_info({wait, Pid, Ref, Owner}, #state{pool = #pool{slots = Slots}, queue = Queue} = State) ->
    %% Counted before looking for an idle slot: see give_back in
    %% wasm_runtime_nif_pool.
    _ = atomics:add_get(Slots, ?WAITERS, 1),
    {noreply, dispatch(State#state{queue = queue:in({Pid, Ref, Owner}, Queue)})};
handle_info({cancel, Ref}, #state{pool = #pool{slots = Slots}, queue = Queue} = State) ->
    case lists:keyfind(Ref, 2, queue:to_list(Queue)) of
        {Pid, Ref, _} ->
            atomics:sub(Slots, ?WAITERS, 1),
            Pid ! {Ref, cancelled},
            {noreply, State#state{queue = queue:filter(fun({_, R, _}) -> R =/= Ref end, Queue)}};
        false ->
            {noreply, State}
    end;
handle_info({handoff, Slot}, State) ->
    {noreply, given(Slot, State)};
handle_info({replace, Slot}, State) ->
    {noreply, replace(Slot, State)};
handle_info({made, Slot, Maker, Result}, #state{makers = Makers} = State) ->
    {noreply, made(Slot, Result, State#state{makers = maps:remove(Maker, Makers)})};
handle_info({'EXIT', Maker, Reason}, #state{makers = Makers} = State) ->
    case maps:take(Maker, Makers) of
        {Slot, Rest} when Reason =/= normal ->
            {noreply, made(Slot, {error, {maker_exited, Reason}}, State#state{makers = Rest})};
        _ ->
            {noreply, State}
    end;
handle_info({'DOWN', Monitor, process, Pid, _}, #state{owners = Owners} = State) ->
    case maps:take(Monitor, Owners) of
        {Owner, Rest} -> {noreply, owner_died(Pid, Owner, State#state{owners = Rest})};
        error -> {noreply, State}
    end;
handle_info({reclaim, Slot, Owner, Tries}, State) ->
    {noreply, reclaim(Slot, Owner, Tries, State)};
handle_info({retry, Slot}, #state{pool = #pool{slots = Slots}} = State) ->
    case atomics:compare_exchange(Slots, ?HOLDER(Slot), ?EMPTY, ?MAKING) of
        ok -> {noreply, start_maker(Slot, State)};
        _ -> {noreply, State}
    end;
handle_info(shrink, #state{pool = Pool, shrink_after = ShrinkAfter} = State) ->
    State1 = shrink(State),
    shrink_later(Pool, ShrinkAfter),
    {noreply, State1};
handle_info(_Message, State) ->
    {noreply, State}.

%% Calls running finish (release/1 waits for them); queued callers see
%% the server go down and raise `{pool_stopped, Name}'.
-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, #state{pool = #pool{name = Name, table = Table, incarnation = Incarnation}}) ->
    case persistent_term:get(?HANDLE_KEY(Name), undefined) of
        #pool{incarnation = Incarnation} -> _ = persistent_term:erase(?HANDLE_KEY(Name));
        _ -> ok
    end,
    ets:foldl(fun({_Slot, Instance}, ok) -> wasm_runtime_nif:release(Instance) end, ok, Table).

%%% Granting slots

%% Grants idle slots to queued callers, first come first served, and grows
%% the pool for those left.
dispatch(#state{pool = Pool, queue = Queue} = State) ->
    case queue:peek(Queue) of
        {value, {_Pid, _Ref, Owner}} ->
            case wasm_runtime_nif_pool:claim(Pool, Owner) of
                none -> grow(State);
                Slot -> dispatch(granted(Slot, State))
            end;
        empty ->
            State
    end.

%% The first queued caller gets `Slot', which it holds already.
granted(Slot, #state{pool = #pool{slots = Slots}, queue = Queue} = State) ->
    {{value, {Pid, Ref, _Owner}}, Rest} = queue:out(Queue),
    atomics:sub(Slots, ?WAITERS, 1),
    Pid ! {Ref, {granted, Slot}},
    State#state{queue = Rest}.

%% `Slot', held by the server (handed off, made, or taken back), goes to
%% the first queued caller, or becomes idle.
given(Slot, #state{pool = #pool{slots = Slots}, queue = Queue} = State) ->
    case queue:peek(Queue) of
        {value, {_Pid, _Ref, Owner}} ->
            atomics:put(Slots, ?HOLDER(Slot), Owner),
            granted(Slot, State);
        empty ->
            atomics:put(Slots, ?HOLDER(Slot), ?IDLE),
            State
    end.

%%% Making instances

%% An overflow instance for each queued caller no maker works for yet.
grow(#state{pool = #pool{slots = Slots, size = Size, max = Max}, queue = Queue,
            makers = Makers} = State) ->
    case queue:len(Queue) > map_size(Makers) andalso empty_slot(Slots, Size + 1, Max) of
        Slot when is_integer(Slot) ->
            atomics:put(Slots, ?HOLDER(Slot), ?MAKING),
            grow(counted(grown, #{slot => Slot}, start_maker(Slot, State)));
        _ ->
            State
    end.

empty_slot(_Slots, Slot, Max) when Slot > Max ->
    none;
empty_slot(Slots, Slot, Max) ->
    case atomics:get(Slots, ?HOLDER(Slot)) of
        ?EMPTY -> Slot;
        _ -> empty_slot(Slots, Slot + 1, Max)
    end.

%% `Slot' (held by the server: MAKING) gets a new instance in place of one
%% a call ended.
replace(Slot, #state{pool = #pool{table = Table}} = State) ->
    case ets:take(Table, Slot) of
        [{Slot, Old}] -> ok = wasm_runtime_nif:release(Old);
        [] -> ok
    end,
    counted(replaced, #{slot => Slot}, start_maker(Slot, State)).

%% Instantiation runs start functions, which may take long: in a process
%% of its own, so that the server goes on granting slots meanwhile.
start_maker(Slot, #state{module = Module, instance_options = Options, makers = Makers} = State) ->
    Server = self(),
    Maker = spawn_link(fun() ->
                               Result = try wasm_runtime_nif:instantiate(Module, Options)
                                        catch Class:Reason -> {error, {Class, Reason}}
                                        end,
                               Server ! {made, Slot, self(), Result}
                       end),
    State#state{makers = Makers#{Maker => Slot}}.

made(Slot, {ok, Instance}, #state{pool = #pool{slots = Slots, table = Table, size = Size}} = State) ->
    true = ets:insert(Table, {Slot, Instance}),
    %% Before the slot can be claimed: wasm_runtime_nif_pool:instance/4.
    _ = atomics:add_get(Slots, ?GENERATION, 1),
    case Slot > Size of
        true -> atomics:put(Slots, ?LAST_USED(Slot), erlang:monotonic_time(millisecond));
        false -> ok
    end,
    dispatch(given(Slot, State#state{backoff = maps:remove(Slot, State#state.backoff)}));
made(Slot, {error, Reason}, #state{pool = #pool{slots = Slots, table = Table, size = Size},
                                   backoff = Backoff} = State) ->
    true = ets:delete(Table, Slot),
    atomics:put(Slots, ?HOLDER(Slot), ?EMPTY),
    State1 = counted(instantiate_failed, #{slot => Slot, reason => Reason}, State),
    case Slot =< Size of
        true ->
            %% A core instance is made again, later; callers wait meanwhile
            %% (and time out if it never succeeds).
            Wait = maps:get(Slot, Backoff, ?RETRY_FIRST_MS),
            _ = erlang:send_after(Wait, self(), {retry, Slot}),
            State1#state{backoff = Backoff#{Slot => min(2 * Wait, ?RETRY_MAX_MS)}};
        false ->
            %% Not made again until a caller queues: a module that fails
            %% every time must not keep a maker busy.
            State1
    end.

%%% Callers that died

%% A process that used the pool died: it waits no more, and the slots it
%% held come back.
owner_died(Pid, Owner, #state{pool = #pool{slots = Slots, max = Max}, queue = Queue} = State) ->
    {Gone, Kept} = lists:partition(fun({P, _, _}) -> P =:= Pid end, queue:to_list(Queue)),
    _ = [atomics:sub(Slots, ?WAITERS, 1) || _ <- Gone],
    Held = [Slot || Slot <- lists:seq(1, Max), atomics:get(Slots, ?HOLDER(Slot)) =:= Owner],
    lists:foldl(fun(Slot, S) -> reclaim(Slot, Owner, ?RECLAIM_TRIES, S) end,
                State#state{queue = queue:from_list(Kept)}, Held).

%% `Slot', held by the dead `Owner': its instance comes back as it is when
%% the holder died outside a call; a call it died in is cancelled (its
%% instance invalidated), and the instance replaced.
reclaim(Slot, Owner, Tries, #state{pool = #pool{slots = Slots, table = Table}} = State) ->
    case atomics:get(Slots, ?HOLDER(Slot)) of
        Owner ->
            Instance = ets:lookup_element(Table, Slot, 2),
            case wasm_runtime_nif_nif:instance_describe(Instance) of
                #{state := idle} ->
                    given(Slot, State);
                #{state := busy} when Tries > 0 ->
                    _ = erlang:send_after(?RECLAIM_AGAIN_MS, self(), {reclaim, Slot, Owner, Tries - 1}),
                    State;
                _ ->
                    atomics:put(Slots, ?HOLDER(Slot), ?MAKING),
                    replace(Slot, State)
            end;
        _ ->
            State
    end.

%%% Shrinking

shrink_later(#pool{size = Size, max = Max}, _ShrinkAfter) when Max =:= Size ->
    ok;
shrink_later(_Pool, ShrinkAfter) ->
    _ = erlang:send_after(max(ShrinkAfter div 2, 10), self(), shrink),
    ok.

%% Overflow instances idle for `shrink_after' are released.
shrink(#state{pool = #pool{slots = Slots, table = Table, size = Size, max = Max},
              shrink_after = ShrinkAfter} = State) ->
    Now = erlang:monotonic_time(millisecond),
    lists:foldl(
      fun(Slot, S) ->
              Idle = Now - atomics:get(Slots, ?LAST_USED(Slot)) >= ShrinkAfter,
              case Idle andalso atomics:compare_exchange(Slots, ?HOLDER(Slot), ?IDLE, ?EMPTY) of
                  ok ->
                      [{Slot, Instance}] = ets:take(Table, Slot),
                      ok = wasm_runtime_nif:release(Instance),
                      counted(shrunk, #{slot => Slot}, S);
                  _ ->
                      S
              end
      end, State, lists:seq(Size + 1, Max)).

%%% Facts

counted(What, Metadata, #state{pool = #pool{name = Name}, counts = Counts} = State) ->
    wasm_runtime_nif_telemetry:emit([pool, What], #{system_time => erlang:system_time()},
                                    Metadata#{pool => Name}),
    State#state{counts = maps:update_with(What, fun(N) -> N + 1 end, Counts)}.

info(#state{pool = #pool{slots = Slots, size = Size, max = Max, table = Table}, module = Module,
            queue = Queue, counts = Counts}) ->
    Holders = [atomics:get(Slots, ?HOLDER(Slot)) || Slot <- lists:seq(1, Max)],
    Count = fun(Pred) -> length([H || H <- Holders, Pred(H)]) end,
    Counts#{size => Size,
            max_overflow => Max - Size,
            instances => ets:info(Table, size),
            idle => Count(fun(H) -> H =:= ?IDLE end),
            busy => Count(fun(H) -> H > 0 orelse H =:= ?HANDOFF end),
            making => Count(fun(H) -> H =:= ?MAKING end),
            waiting => queue:len(Queue),
            module => Module}.
