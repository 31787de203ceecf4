%% @doc The component fuzzer: random values of every WIT type, and random
%% terms of no particular type, through the echo component
%% (test/wasm_runtime_nif_component_SUITE_data/echo.wasm), mixed with
%% resources made, dropped and forgotten, calls that time out, and callers
%% killed mid-call. A value of the type must come back identical; any
%% other term must be refused with `bad_argument' or come back in a
%% canonical form that itself comes back identical; a resource's guest
%% object must be gone once its handle is dropped or collected; a timed
%% out or cancelled call must invalidate only its instance. See
%% docs/fuzzing.md.
-module(wasm_fuzz_components).

-export([run/3]).

-define(TYPES, "test:echo/types#").

%% Runs N random steps on instances of Module (echo.wasm), seeded with
%% Seed; returns {Steps, Mismatches} with the first mismatches.
run(Module, Seed, N) ->
    rand:seed(exsss, Seed),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module),
    {_, Mismatches} =
        lists:foldl(fun(_, {I, Acc}) ->
                            {Next, Found} = step(Module, I),
                            {Next, case Found of
                                       ok -> Acc;
                                       _ when length(Acc) < 10 -> [Found | Acc];
                                       _ -> Acc
                                   end}
                    end, {Instance, []}, lists:seq(1, N)),
    {N, lists:reverse(Mismatches)}.

step(Module, I) ->
    case rand:uniform(100) of
        R when R =< 60 -> {I, typed(I)};
        R when R =< 85 -> {I, untyped(I)};
        R when R =< 93 -> {I, resources(I)};
        R when R =< 97 -> interrupted(Module, I, timeout);
        _ -> interrupted(Module, I, killed)
    end.

%% A value of the function's type comes back identical.
typed(I) ->
    {Name, Value} = value(),
    case call(I, Name, [Value]) of
        {ok, Value} -> ok;
        Other -> {typed, Name, Value, Other}
    end.

%% A term of no particular type is refused before the guest runs, or comes
%% back in a canonical form that comes back as it is.
untyped(I) ->
    {Name, _} = value(),
    Term = case wasm_fuzz_terms:inputs(1) of [T] -> T end,
    case call(I, Name, [Term]) of
        {error, {bad_argument, _, <<"v">>, Message}} when is_binary(Message) -> ok;
        {ok, Term} -> ok;
        {ok, Back} ->
            case call(I, Name, [Back]) of
                {ok, Back} -> ok;
                Other -> {canonical, Name, Term, Back, Other}
            end;
        Other -> {untyped, Name, Term, Other}
    end.

%% Counters made, bumped, dropped explicitly or forgotten; once each is
%% gone, the guest holds none of them.
resources(I) ->
    Made = [wasm_runtime_nif:call(I, <<?TYPES, "[constructor]counter">>, [K])
            || K <- lists:seq(1, rand:uniform(20))],
    [case rand:uniform(3) of
         1 -> ok = wasm_runtime_nif:resource_drop(I, C);
         2 -> _ = wasm_runtime_nif:call(I, <<?TYPES, "consume">>, [C]);
         3 -> _ = wasm_runtime_nif:call(I, <<?TYPES, "[method]counter.bump">>, [C, 1])
     end || C <- Made],
    %% The forgotten ones go with this process's garbage; the VM may run
    %% their destructors a moment after the collection.
    erlang:garbage_collect(),
    none_left(I, 100).

none_left(I, Tries) ->
    case call(I, <<?TYPES, "live-counters">>, []) of
        {ok, 0} -> ok;
        {ok, Live} when Tries =:= 0 -> {resources_left, Live};
        {ok, _} ->
            timer:sleep(10),
            erlang:garbage_collect(),
            none_left(I, Tries - 1);
        Other -> {resources, Other}
    end.

%% A call that times out, or whose caller is killed, invalidates its
%% instance and nothing else: the next one is made afresh.
interrupted(Module, I, How) ->
    Spin = fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [0],
                                          [{timeout, rand:uniform(20)}]) end,
    Result = case How of
                 timeout -> outcome(Spin);
                 killed ->
                     Parent = self(),
                     %% Its call may time out before the kill: no crash report.
                     Pid = spawn(fun() -> Parent ! {calling, self()}, catch Spin() end),
                     receive {calling, Pid} -> ok end,
                     timer:sleep(rand:uniform(5)),
                     exit(Pid, kill),
                     wait_invalidated(I, 200)
             end,
    {ok, Fresh} = wasm_runtime_nif:instantiate(Module),
    Found = case {How, Result, call(I, greet, [<<"x">>])} of
                {timeout, {error, {trap, timeout, _}}, {error, {instance_invalidated, _}}} -> ok;
                {killed, invalidated, _} -> ok;
                Other -> {interrupted, How, Other}
            end,
    {Fresh, Found}.

wait_invalidated(_, 0) ->
    still_valid;
wait_invalidated(I, Tries) ->
    case call(I, greet, [<<"x">>]) of
        {error, {instance_invalidated, _}} -> invalidated;
        _ ->
            timer:sleep(5),
            wait_invalidated(I, Tries - 1)
    end.

call(I, Name, Args) ->
    outcome(fun() -> wasm_runtime_nif:call(I, Name, Args) end).

outcome(Fun) ->
    try Fun() of
        Value -> {ok, Value}
    catch
        error:Reason -> {error, Reason}
    end.

%%% ------------------------------------------------------------------
%%% Values of every type the echo component's functions take
%%% ------------------------------------------------------------------

value() ->
    {Name, Gen} = lists:nth(rand:uniform(length(generators())), generators()),
    {<<?TYPES, Name/binary>>, Gen()}.

generators() ->
    [{<<"echo-bool">>, fun() -> rand:uniform(2) =:= 1 end},
     {<<"echo-s8">>, int(-128, 127)}, {<<"echo-u8">>, int(0, 255)},
     {<<"echo-s16">>, int(-32768, 32767)}, {<<"echo-u16">>, int(0, 65535)},
     {<<"echo-s32">>, int(-1 bsl 31, (1 bsl 31) - 1)}, {<<"echo-u32">>, int(0, (1 bsl 32) - 1)},
     {<<"echo-s64">>, int(-1 bsl 63, (1 bsl 63) - 1)}, {<<"echo-u64">>, int(0, (1 bsl 64) - 1)},
     {<<"echo-f32">>, fun f32/0}, {<<"echo-f64">>, fun f64/0},
     {<<"echo-char">>, fun code_point/0}, {<<"echo-string">>, fun string/0},
     {<<"echo-bytes">>, fun() -> crypto:strong_rand_bytes(rand:uniform(300) - 1) end},
     {<<"echo-list">>, list(int(-1 bsl 63, (1 bsl 63) - 1))},
     {<<"echo-strings">>, list(fun string/0)},
     {<<"echo-tuple">>, fun() -> {(int(0, 255))(), string(), f64()} end},
     {<<"echo-point">>, fun point/0}, {<<"echo-shape">>, fun shape/0},
     {<<"echo-color">>, fun color/0}, {<<"echo-perms">>, fun perms/0},
     {<<"echo-option">>, one_of([fun() -> none end, fun() -> {some, none} end,
                                 fun() -> {some, {some, (int(0, (1 bsl 32) - 1))()}} end])},
     {<<"echo-result">>, one_of([fun() -> {ok, string()} end,
                                 fun() -> {error, (int(0, (1 bsl 32) - 1))()} end])},
     {<<"echo-bare-result">>, one_of([fun() -> ok end, fun() -> error end])},
     {<<"echo-ok-only">>, one_of([fun() -> {ok, (int(0, 65535))()} end, fun() -> error end])},
     {<<"echo-err-only">>, one_of([fun() -> ok end, fun() -> {error, string()} end])},
     {<<"echo-nest">>, list(fun nest/0)}].

int(Min, Max) ->
    fun() ->
            case rand:uniform(4) of
                1 -> Min;
                2 -> Max;
                _ -> Min + rand:uniform(Max - Min + 1) - 1
            end
    end.

list(Gen) ->
    fun() -> [Gen() || _ <- lists:seq(1, rand:uniform(8) - 1)] end.

one_of(Gens) ->
    fun() -> (lists:nth(rand:uniform(length(Gens)), Gens))() end.

f64() ->
    <<Bits:64>> = crypto:strong_rand_bytes(8),
    float_of(<<Bits:64>>).

f32() ->
    <<Bits:32>> = crypto:strong_rand_bytes(4),
    float_of(<<Bits:32>>).

float_of(<<F:32/float>>) -> F;
float_of(<<F:64/float>>) -> F;
float_of(<<0:1, 16#ff:8, 0:23>>) -> infinity;
float_of(<<1:1, 16#ff:8, 0:23>>) -> neg_infinity;
float_of(<<0:1, 16#7ff:11, 0:52>>) -> infinity;
float_of(<<1:1, 16#7ff:11, 0:52>>) -> neg_infinity;
float_of(_) -> nan.

code_point() ->
    case rand:uniform(2) of
        1 -> rand:uniform(16#d800) - 1;
        2 -> 16#e000 + rand:uniform(16#110000 - 16#e000) - 1
    end.

string() ->
    unicode:characters_to_binary([code_point() || _ <- lists:seq(1, rand:uniform(12) - 1)]).

point() ->
    #{x => (int(-1 bsl 31, (1 bsl 31) - 1))(), y => (int(-1 bsl 31, (1 bsl 31) - 1))()}.

shape() ->
    (one_of([fun() -> {circle, f64()} end, fun() -> {rectangle, point()} end,
             fun() -> empty end]))().

color() ->
    lists:nth(rand:uniform(3), [red, green, deep_blue]).

perms() ->
    [Flag || Flag <- [read, write, exec], rand:uniform(2) =:= 1].

nest() ->
    #{name => string(), shapes => (list(fun shape/0))(),
      tag => (one_of([fun() -> none end, fun() -> {some, color()} end]))(),
      perms => perms(), pairs => (list(fun() -> {(int(0, 255))(), string()} end))()}.
