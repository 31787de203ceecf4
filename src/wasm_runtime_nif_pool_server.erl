%% @private
%% @doc A pool's server: what callers do not do themselves. Callers claim,
%% queue for and hand over slots among themselves (wasm_runtime_nif_pool);
%% the server owns the table of instances, the queue's table and the
%% slots' handle, replaces the instances calls ended, grows the pool while
%% callers wait and shrinks it back, and takes back the slots of callers
%% that died holding them. docs/design.md, "Pools: check-out without a
%% hop", has the protocol.
%%
%% Messages from callers, none of them per call:
%% <ul>
%% <li>`{register, Pid, Held}': once per process: monitored from now on.</li>
%% <li>`{replace, Slot, Held}': the instance in the slot `Held' holds is
%%     no longer idle: take the slot and make a new one.</li>
%% <li>`grow': a caller queued and an overflow slot is empty.</li>
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
                %% Monitor => holder word of every process that used the pool.
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
    Queue = ets:new(wasm_runtime_nif_pool_queue, [ordered_set, public, {write_concurrency, true}]),
    lists:foreach(fun(Slot) -> atomics:put(Slots, ?HOLDER(Slot), ?EMPTY) end,
                  lists:seq(Size + 1, Max)),
    lists:foldl(fun(Instance, Slot) ->
                        true = ets:insert(Table, {Slot, Instance}),
                        Slot + 1
                end, 1, Instances),
    Pool = #pool{name = Name, server = self(), slots = Slots, table = Table, queue = Queue,
                 size = Size, max = Max, incarnation = make_ref(), checkout_timeout = Bound,
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
handle_info({register, Pid, Held}, #state{owners = Owners} = State) ->
    {noreply, State#state{owners = Owners#{erlang:monitor(process, Pid) => Held}}};
handle_info({replace, Slot, Held}, #state{pool = #pool{slots = Slots}} = State) ->
    case take_from(Slots, Slot, Held) of
        true -> {noreply, replace(Slot, State)};
        false -> {noreply, State}
    end;
handle_info(grow, State) ->
    {noreply, grow(State)};
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
        {Held, Rest} -> {noreply, owner_died(Pid, Held, State#state{owners = Rest})};
        error -> {noreply, State}
    end;
handle_info({reclaim, Slot, Held, Tries}, State) ->
    {noreply, reclaim(Slot, Held, Tries, State)};
handle_info({retry, Slot}, #state{pool = #pool{slots = Slots}} = State) ->
    case taken_empty(Slots, Slot) of
        true -> {noreply, start_maker(Slot, State)};
        false -> {noreply, State}
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

%%% Making instances

%% An overflow instance for each queued caller no maker works for yet.
grow(#state{pool = #pool{slots = Slots, size = Size, max = Max, queue = Queue},
            makers = Makers} = State) ->
    case ets:info(Queue, size) > map_size(Makers) andalso empty_slot(Slots, Size + 1, Max) of
        Slot when is_integer(Slot) ->
            grow(counted(grown, #{slot => Slot}, start_maker(Slot, State)));
        _ ->
            State
    end.

%% An empty overflow slot, taken to be made (?MAKING).
empty_slot(_Slots, Slot, Max) when Slot > Max ->
    none;
empty_slot(Slots, Slot, Max) ->
    case taken_empty(Slots, Slot) of
        true -> Slot;
        false -> empty_slot(Slots, Slot + 1, Max)
    end.

taken_empty(Slots, Slot) ->
    case atomics:get(Slots, ?HOLDER(Slot)) of
        Word when ?UNFLAGGED(Word) =:= ?EMPTY ->
            ok =:= atomics:compare_exchange(Slots, ?HOLDER(Slot), Word, ?MAKING)
                orelse taken_empty(Slots, Slot);
        _ ->
            false
    end.

%% Takes `Slot' (?MAKING) from `Held', whatever its marks, if `Held' holds
%% it.
take_from(Slots, Slot, Held) ->
    Word = atomics:get(Slots, ?HOLDER(Slot)),
    ?UNFLAGGED(Word) =:= Held andalso
        (ok =:= atomics:compare_exchange(Slots, ?HOLDER(Slot), Word, ?MAKING)
         orelse take_from(Slots, Slot, Held)).

%% `Slot' (?MAKING) gets a new instance in place of one a call ended.
replace(Slot, #state{pool = #pool{table = Table}} = State) ->
    case ets:take(Table, Slot) of
        [{Slot, Old}] -> ok = wasm_runtime_nif:release(Old);
        [] -> ok
    end,
    counted(replaced, #{slot => Slot}, start_maker(Slot, State)).

%% Instantiation runs start functions, which may take long: in a process
%% of its own, so that the server goes on meanwhile.
start_maker(Slot, #state{module = Module, instance_options = Options, makers = Makers} = State) ->
    Server = self(),
    Maker = spawn_link(fun() ->
                               Result = try wasm_runtime_nif:instantiate(Module, Options)
                                        catch Class:Reason -> {error, {Class, Reason}}
                                        end,
                               Server ! {made, Slot, self(), Result}
                       end),
    State#state{makers = Makers#{Maker => Slot}}.

made(Slot, {ok, Instance}, #state{pool = #pool{slots = Slots, table = Table, size = Size} = Pool,
                                  backoff = Backoff} = State) ->
    true = ets:insert(Table, {Slot, Instance}),
    %% Before the slot can be claimed: wasm_runtime_nif_pool:instance/3.
    _ = atomics:add_get(Slots, ?GENERATION, 1),
    case Slot > Size of
        true -> atomics:put(Slots, ?LAST_USED(Slot), erlang:monotonic_time(millisecond));
        false -> ok
    end,
    ok = wasm_runtime_nif_pool:hand(Pool, Slot, ?MAKING),
    State#state{backoff = maps:remove(Slot, Backoff)};
made(Slot, {error, Reason}, #state{pool = #pool{slots = Slots, table = Table, size = Size},
                                   backoff = Backoff} = State) ->
    true = ets:delete(Table, Slot),
    ok = wasm_runtime_nif_pool:rewrite(Slots, Slot, ?MAKING, ?EMPTY),
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
%% held, or was being handed, come back.
owner_died(Pid, Held, #state{pool = #pool{slots = Slots, max = Max, queue = Queue}} = State) ->
    _ = ets:select_delete(Queue, [{{'_', Pid, '_', '_', '_'}, [], [true]}]),
    Slots1 = [Slot || Slot <- lists:seq(1, Max),
                      ?UNFLAGGED(atomics:get(Slots, ?HOLDER(Slot))) =:= Held],
    lists:foldl(fun(Slot, S) -> reclaim(Slot, Held, ?RECLAIM_TRIES, S) end, State, Slots1).

%% `Slot', held by the dead `Held': its instance comes back as it is when
%% the holder died outside a call; a call it died in is cancelled (its
%% instance invalidated), and the instance replaced.
reclaim(Slot, Held, Tries, #state{pool = #pool{slots = Slots, table = Table} = Pool} = State) ->
    Word = atomics:get(Slots, ?HOLDER(Slot)),
    case ?UNFLAGGED(Word) =:= Held of
        true ->
            Instance = ets:lookup_element(Table, Slot, 2),
            case wasm_runtime_nif_nif:instance_describe(Instance) of
                #{state := busy} when Tries > 0 ->
                    _ = erlang:send_after(?RECLAIM_AGAIN_MS, self(), {reclaim, Slot, Held, Tries - 1}),
                    State;
                Facts ->
                    %% Only marks can change the word meanwhile.
                    case atomics:compare_exchange(Slots, ?HOLDER(Slot), Word, ?MAKING) of
                        ok when map_get(state, Facts) =:= idle ->
                            ok = wasm_runtime_nif_pool:hand(Pool, Slot, ?MAKING),
                            State;
                        ok ->
                            replace(Slot, State);
                        _ ->
                            reclaim(Slot, Held, Tries, State)
                    end
            end;
        false ->
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

info(#state{pool = #pool{slots = Slots, size = Size, max = Max, table = Table, queue = Queue},
            module = Module, counts = Counts}) ->
    Holders = [?UNFLAGGED(atomics:get(Slots, ?HOLDER(Slot))) || Slot <- lists:seq(1, Max)],
    Count = fun(Pred) -> length([H || H <- Holders, Pred(H)]) end,
    Counts#{size => Size,
            max_overflow => Max - Size,
            instances => ets:info(Table, size),
            idle => Count(fun(H) -> H =:= ?IDLE end),
            busy => Count(fun(H) -> H >= ?HELD(1) end),
            making => Count(fun(H) -> H =:= ?MAKING end),
            waiting => ets:info(Queue, size),
            module => Module}.
