%% What a pool's callers and its server share (docs/design.md, "Pools:
%% check-out without a hop"). The handle is written once, when the server
%% starts, under ?HANDLE_KEY(Name) in persistent_term.

-record(pool, {name :: atom(),
               server :: pid(),
               %% The header and one cache line of words per slot.
               slots :: atomics:atomics_ref(),
               %% {Slot, Instance}, written by the server only.
               table :: ets:tid(),
               size :: pos_integer(),
               %% size + max_overflow.
               max :: pos_integer(),
               %% Tells this start of the pool from an earlier one: the key
               %% of a caller's owner id.
               incarnation :: reference(),
               checkout_timeout :: timeout(),
               max_waiters :: non_neg_integer() | infinity}).

-define(HANDLE_KEY(Name), {wasm_runtime_nif_pool, Name}).
%% A caller's process dictionary: {Handle, Owner, Generation, Instances},
%% the handle, its owner id and its copy of the table (a tuple by slot).
-define(LENDER_KEY(Name), {wasm_runtime_nif_pool, Name}).

%% The header: callers queued in the server (written by the server only),
%% the last owner id handed out, and the generation of the table of
%% instances (raised by the server after each instance it puts in, before
%% the slot can be claimed), which tells a caller its copy is stale.
-define(WAITERS, 1).
-define(LAST_OWNER, 2).
-define(GENERATION, 3).
-define(HEADER_WORDS, 8).
%% A slot's words sit on a cache line of their own (8 x 8 bytes), so that
%% callers claiming neighbouring slots do not slow each other down.
-define(SLOT_WORDS, 8).
-define(SLOTS_SIZE(Max), (?HEADER_WORDS + ?SLOT_WORDS * (Max))).
%% Who holds slot S: an owner id (> 0) or one of the states below.
-define(HOLDER(S), (?HEADER_WORDS + ?SLOT_WORDS * ((S) - 1) + 1)).
%% When an overflow slot was last given back (monotonic milliseconds).
-define(LAST_USED(S), (?HEADER_WORDS + ?SLOT_WORDS * ((S) - 1) + 2)).

%% An instance ready for the first caller that claims it.
-define(IDLE, 0).
%% No instance: an overflow slot not grown, or an instance that failed.
-define(EMPTY, -1).
%% An instance being made, by a maker process of the server.
-define(MAKING, -2).
%% An idle instance passed to the server by the caller that gave it back,
%% for a queued caller.
-define(HANDOFF, -3).
