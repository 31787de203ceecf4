%% What a pool's callers and its server share (docs/design.md, "Pools:
%% check-out without a hop"). The handle is written once, when the server
%% starts, under ?HANDLE_KEY(Name) in persistent_term.

-record(pool, {name :: atom(),
               server :: pid(),
               %% The header and one cache line of words per slot.
               slots :: atomics:atomics_ref(),
               %% {Slot, Instance}, written by the server only.
               table :: ets:tid(),
               %% Callers waiting for a slot: {Ticket, Pid, Alias, Held,
               %% waiting | {granted, Slot}}, in arrival order; written by
               %% callers.
               queue :: ets:tid(),
               size :: pos_integer(),
               %% size + max_overflow.
               max :: pos_integer(),
               %% Tells this start of the pool from an earlier one.
               incarnation :: reference(),
               checkout_timeout :: timeout(),
               max_waiters :: non_neg_integer() | infinity}).

-define(HANDLE_KEY(Name), {wasm_runtime_nif_pool, Name}).
%% A caller's process dictionary: {Handle, Held, Generation, Instances},
%% the handle, the word it writes in the slots it holds, and its copy of
%% the table (a tuple by slot).
-define(LENDER_KEY(Name), {wasm_runtime_nif_pool, Name}).

%% The header: the last owner id handed out, the generation of the table of
%% instances (raised by the server after each instance it puts in, before
%% the slot can be claimed: it tells a caller its copy is stale), and the
%% last ticket of the queue.
-define(LAST_OWNER, 1).
-define(GENERATION, 2).
-define(LAST_TICKET, 3).
-define(HEADER_WORDS, 8).
%% A slot's words sit on a cache line of their own (8 x 8 bytes), so that
%% callers claiming neighbouring slots do not slow each other down.
-define(SLOT_WORDS, 8).
-define(SLOTS_SIZE(Max), (?HEADER_WORDS + ?SLOT_WORDS * (Max))).
%% Who holds slot S (one of the words below).
-define(HOLDER(S), (?HEADER_WORDS + ?SLOT_WORDS * ((S) - 1) + 1)).
%% When an overflow slot was last given back (monotonic milliseconds).
-define(LAST_USED(S), (?HEADER_WORDS + ?SLOT_WORDS * ((S) - 1) + 2)).

%% A holder word: a state, or a process's owner id above them, with two
%% flags on top.
%% An instance ready for the first caller that claims it (never flagged).
-define(IDLE, 0).
%% No instance: an overflow slot not grown, or an instance that failed.
-define(EMPTY, 1).
%% Held by the server: an instance being made, or taken back.
-define(MAKING, 2).
%% The word of the process with owner id N.
-define(HELD(N), ((N) + 16)).
%% A queued caller wants this slot when its holder is done: the holder
%% hands it over instead of making it idle.
-define(WANTED, (1 bsl 56)).
%% Handed to a queued caller, which has not taken it yet.
-define(GRANTED, (1 bsl 55)).
%% The word without its flags.
-define(UNFLAGGED(W), ((W) band (?GRANTED - 1))).
