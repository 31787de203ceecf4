%% The embedding API: memories read, written, measured and grown, globals
%% read and set, fuel burned, at every edge (offsets past the end, lengths
%% past 4 GiB, exports of the wrong kind, constant globals), on idle, busy,
%% released and invalidated instances.
-module(wasm_runtime_nif_embedding_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([memory_is_read/1, memory_is_written/1, reads_and_writes_stay_in_bounds/1,
         memory_size_and_growth/1, growth_stays_within_max_memory/1,
         exports_of_the_wrong_kind_are_refused/1, globals_are_read/1, globals_are_set/1,
         bad_values_are_refused/1, fuel_burned_by_the_last_call/1,
         a_busy_instance_is_waited_for/1, released_and_invalidated_instances_raise/1,
         large_copies_are_whole/1, bad_arguments_are_badarg/1]).

all() ->
    [memory_is_read, memory_is_written, reads_and_writes_stay_in_bounds,
     memory_size_and_growth, growth_stays_within_max_memory,
     exports_of_the_wrong_kind_are_refused, globals_are_read, globals_are_set,
     bad_values_are_refused, fuel_burned_by_the_last_call, a_busy_instance_is_waited_for,
     released_and_invalidated_instances_raise, large_copies_are_whole,
     bad_arguments_are_badarg].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "state.wat")} | Config].

end_per_suite(Config) ->
    Config.

init_per_testcase(_, Config) ->
    [{instance, wasm_test_util:new_instance(Config)} | Config].

end_per_testcase(_, Config) ->
    Config.

-define(PAGE, 65536).

memory_is_read(Config) ->
    I = ?config(instance, Config),
    {ok, <<"hello">>} = wasm_runtime_nif:memory_read(I, 16, 5),
    {ok, <<"hello">>} = wasm_runtime_nif:memory_read(I, <<"memory">>, 16, 5),
    {ok, <<>>} = wasm_runtime_nif:memory_read(I, 0, 0),
    {ok, <<0, 0>>} = wasm_runtime_nif:memory_read(I, other, 2 * ?PAGE - 2, 2).

memory_is_written(Config) ->
    I = ?config(instance, Config),
    ok = wasm_runtime_nif:memory_write(I, 100, <<200, 1>>),
    200 = wasm_runtime_nif:call_raw(I, load8, [100]),
    1 = wasm_runtime_nif:call_raw(I, load8, [101]),
    ok = wasm_runtime_nif:memory_write(I, ?PAGE - 1, <<9>>),
    9 = wasm_runtime_nif:call_raw(I, load8, [?PAGE - 1]),
    ok = wasm_runtime_nif:memory_write(I, other, 0, <<"x">>),
    {ok, <<"x">>} = wasm_runtime_nif:memory_read(I, other, 0, 1),
    {ok, <<0>>} = wasm_runtime_nif:memory_read(I, 0, 1).

reads_and_writes_stay_in_bounds(Config) ->
    I = ?config(instance, Config),
    Max = 1 bsl 64 - 1,
    OutOfBounds = [{?PAGE, 1}, {?PAGE - 1, 2}, {0, ?PAGE + 1}, {0, 1 bsl 32 + 1},
                   {1 bsl 32, 1}, {Max, 1}, {1, Max}, {Max, Max}, {?PAGE + 1, 0}],
    [{error, {out_of_bounds, Offset, Length, ?PAGE}} =
         wasm_runtime_nif:memory_read(I, Offset, Length) || {Offset, Length} <- OutOfBounds],
    {ok, <<>>} = wasm_runtime_nif:memory_read(I, ?PAGE, 0),
    {error, {out_of_bounds, ?PAGE, 1, ?PAGE}} = wasm_runtime_nif:memory_write(I, ?PAGE, <<1>>),
    {error, {out_of_bounds, Max, 2, ?PAGE}} = wasm_runtime_nif:memory_write(I, Max, <<1, 2>>),
    %% A write that does not fit writes nothing.
    {error, {out_of_bounds, _, _, _}} = wasm_runtime_nif:memory_write(I, ?PAGE - 1, <<5, 5>>),
    0 = wasm_runtime_nif:call_raw(I, load8, [?PAGE - 1]).

memory_size_and_growth(Config) ->
    I = ?config(instance, Config),
    {ok, ?PAGE} = wasm_runtime_nif:memory_size(I),
    {ok, 1} = wasm_runtime_nif:memory_grow(I, 2),
    {ok, 3 * ?PAGE} = wasm_runtime_nif:memory_size(I, memory),
    3 = wasm_runtime_nif:call_raw(I, pages, []),
    {ok, 3} = wasm_runtime_nif:memory_grow(I, 0),
    %% Past the memory's own maximum of 4 pages.
    {error, {cannot_grow, _}} = wasm_runtime_nif:memory_grow(I, 2),
    {error, {cannot_grow, _}} = wasm_runtime_nif:memory_grow(I, 1 bsl 64 - 1),
    {ok, 3 * ?PAGE} = wasm_runtime_nif:memory_size(I),
    {ok, <<0>>} = wasm_runtime_nif:memory_read(I, 3 * ?PAGE - 1, 1),
    {ok, 2 * ?PAGE} = wasm_runtime_nif:memory_size(I, other).

growth_stays_within_max_memory(Config) ->
    %% 3 pages of memory and 2 of other are 5 pages: more than 4 allowed.
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config), [{max_memory, 4 * ?PAGE}]),
    {ok, 1} = wasm_runtime_nif:memory_grow(I, 1),
    {error, {cannot_grow, _}} = wasm_runtime_nif:memory_grow(I, 1),
    {ok, 2 * ?PAGE} = wasm_runtime_nif:memory_size(I).

exports_of_the_wrong_kind_are_refused(Config) ->
    I = ?config(instance, Config),
    {error, {not_a_memory, <<"bump">>}} = wasm_runtime_nif:memory_read(I, bump, 0, 1),
    {error, {not_a_memory, <<"counter">>}} = wasm_runtime_nif:memory_size(I, counter),
    {error, {undefined_memory, <<"nothing">>}} = wasm_runtime_nif:memory_write(I, nothing, 0, <<>>),
    {error, {undefined_memory, <<"nothing">>}} = wasm_runtime_nif:memory_grow(I, nothing, 1),
    {error, {not_a_global, <<"memory">>}} = wasm_runtime_nif:global_get(I, memory),
    {error, {not_a_global, <<"bump">>}} = wasm_runtime_nif:global_set(I, bump, 1),
    {error, {undefined_global, <<"nothing">>}} = wasm_runtime_nif:global_get(I, nothing).

globals_are_read(Config) ->
    I = ?config(instance, Config),
    {ok, 7} = wasm_runtime_nif:global_get(I, counter),
    8 = wasm_runtime_nif:call_raw(I, bump, []),
    {ok, 8} = wasm_runtime_nif:global_get(I, <<"counter">>),
    {ok, 42} = wasm_runtime_nif:global_get(I, answer),
    {ok, 0.5} = wasm_runtime_nif:global_get(I, ratio),
    {ok, 1.5} = wasm_runtime_nif:global_get(I, small),
    {error, {unsupported_type, <<"vector">>, v128}} = wasm_runtime_nif:global_get(I, vector).

globals_are_set(Config) ->
    I = ?config(instance, Config),
    ok = wasm_runtime_nif:global_set(I, counter, 100),
    101 = wasm_runtime_nif:call_raw(I, bump, []),
    %% i32 takes the unsigned range too, and comes back signed.
    ok = wasm_runtime_nif:global_set(I, counter, 16#ffffffff),
    {ok, -1} = wasm_runtime_nif:global_get(I, counter),
    ok = wasm_runtime_nif:global_set(I, ratio, 3),
    {ok, 3.0} = wasm_runtime_nif:global_get(I, ratio),
    [begin
         ok = wasm_runtime_nif:global_set(I, ratio, Special),
         {ok, Special} = wasm_runtime_nif:global_get(I, ratio)
     end || Special <- [nan, infinity, neg_infinity]],
    {error, {immutable_global, <<"answer">>}} = wasm_runtime_nif:global_set(I, answer, 1),
    {ok, 42} = wasm_runtime_nif:global_get(I, answer),
    {error, {unsupported_type, <<"vector">>, v128}} = wasm_runtime_nif:global_set(I, vector, 1).

bad_values_are_refused(Config) ->
    I = ?config(instance, Config),
    [?assertError(badarg, wasm_runtime_nif:global_set(I, counter, Bad))
     || Bad <- [1 bsl 32, -(1 bsl 31) - 1, 1.5, foo, <<>>]],
    ?assertError(badarg, wasm_runtime_nif:global_set(I, small, 1.0e300)),
    {ok, 7} = wasm_runtime_nif:global_get(I, counter).

fuel_burned_by_the_last_call(Config) ->
    {error, no_fuel} = wasm_runtime_nif:fuel_burned(?config(instance, Config)),
    {ok, Bytes} = file:read_file(filename:join(?config(data_dir, Config), "state.wat")),
    {ok, Metered} = wasm_runtime_nif:compile(Bytes, [fuel]),
    {ok, I} = wasm_runtime_nif:instantiate(Metered),
    {ok, 0} = wasm_runtime_nif:fuel_burned(I),
    1000 = wasm_runtime_nif:call_raw(I, spin, [1000]),
    {ok, Small} = wasm_runtime_nif:fuel_burned(I),
    100000 = wasm_runtime_nif:call_raw(I, spin, [100000]),
    {ok, Large} = wasm_runtime_nif:fuel_burned(I),
    ?assert(Small > 1000 andalso Large > 50 * Small),
    %% Deterministic: the same call burns the same fuel.
    1000 = wasm_runtime_nif:call_raw(I, spin, [1000]),
    {ok, Small} = wasm_runtime_nif:fuel_burned(I),
    %% A call that ran out burned what it was given.
    {ok, J} = wasm_runtime_nif:instantiate(Metered),
    ?assertError({trap, out_of_fuel, _}, wasm_runtime_nif:call_raw(J, spin, [1000000], [{fuel, 5000}])),
    {ok, 5000} = wasm_runtime_nif:fuel_burned(J).

a_busy_instance_is_waited_for(_Config) ->
    %% A call holds the instance inside an Erlang import until told to go
    %% on, then sets the global: an access made meanwhile must come after.
    {ok, M} = wasm_runtime_nif:compile(
                <<"(module (import \"env\" \"block\" (func $block))"
                  " (global (export \"counter\") (mut i32) (i32.const 0))"
                  " (func (export \"run\") (call $block) (global.set 0 (i32.const 1000))))">>),
    Self = self(),
    Block = fun() -> Self ! {holding, self()}, receive go -> ok end end,
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, block} => Block}}]),
    Caller = spawn_link(fun() -> Self ! {ran, wasm_runtime_nif:call_raw(I, run, [])} end),
    receive {holding, Caller} -> ok end,
    Accessor = spawn_link(fun() -> Self ! {set, wasm_runtime_nif:global_set(I, counter, 1)} end),
    %% The accessor is queued, not refused: it waits as a caller would.
    true = wasm_test_util:wait_until(
             fun() -> process_info(Accessor, status) =:= {status, waiting} end, 5000),
    Caller ! go,
    receive {ran, void} -> ok end,
    receive {set, ok} -> ok end,
    {ok, 1} = wasm_runtime_nif:global_get(I, counter).

released_and_invalidated_instances_raise(Config) ->
    I = ?config(instance, Config),
    ?assertError({trap, unreachable, _}, wasm_runtime_nif:call_raw(I, trap, [])),
    ?assertError({instance_invalidated, _}, wasm_runtime_nif:memory_read(I, 0, 1)),
    ?assertError({instance_invalidated, _}, wasm_runtime_nif:global_get(I, counter)),
    J = wasm_test_util:new_instance(Config),
    ok = wasm_runtime_nif:release(J),
    ?assertError(instance_released, wasm_runtime_nif:memory_size(J)),
    ?assertError(instance_released, wasm_runtime_nif:global_set(J, counter, 1)),
    %% fuel_burned reads what the instance kept: it works on any state.
    {error, no_fuel} = wasm_runtime_nif:fuel_burned(J).

large_copies_are_whole(Config) ->
    I = ?config(instance, Config),
    {ok, 1} = wasm_runtime_nif:memory_grow(I, 3),
    Bytes = crypto:strong_rand_bytes(4 * ?PAGE - 10),
    ok = wasm_runtime_nif:memory_write(I, 10, Bytes),
    {ok, Bytes} = wasm_runtime_nif:memory_read(I, 10, byte_size(Bytes)),
    {ok, <<0:80>>} = wasm_runtime_nif:memory_read(I, 0, 10).

bad_arguments_are_badarg(Config) ->
    I = ?config(instance, Config),
    Calls = [fun() -> wasm_runtime_nif:memory_read(I, -1, 1) end,
             fun() -> wasm_runtime_nif:memory_read(I, 0, 1 bsl 64) end,
             fun() -> wasm_runtime_nif:memory_read(I, "memory", 0, 1) end,
             fun() -> wasm_runtime_nif:memory_write(I, 0, "text") end,
             fun() -> wasm_runtime_nif:memory_grow(I, -1) end,
             fun() -> wasm_runtime_nif:global_get(I, 1) end,
             fun() -> wasm_runtime_nif:memory_size(make_ref()) end,
             fun() -> wasm_runtime_nif:fuel_burned(not_an_instance) end],
    [?assertError(badarg, Call()) || Call <- Calls],
    ok.
