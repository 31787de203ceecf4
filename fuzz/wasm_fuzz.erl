%% @doc The fuzzing campaign: random modules from `wasm_fuzz' (the Rust
%% generator and reference, native/wasm_runtime_nif/src/bin/wasm_fuzz.rs)
%% run through the library, batch by batch, each batch in a VM of its own.
%% See docs/fuzzing.md.
%%
%% A batch compiles and instantiates every module (its imports given as
%% funs) and calls every planned export. Two thirds of the modules run as
%% the plan did, and each outcome must be the reference's (values bit for
%% bit, or the same trap kind); the rest run in chaos: fuel and short
%% timeouts, callers killed mid-call, two callers at once, small limits,
%% where only the library's own rules are checked (a well-formed result
%% or error, never a crash, hang or leak). A VM that dies, hangs or
%% leaks fails the campaign.
-module(wasm_fuzz).

-export([campaign/1, main/1, batch_main/1]).

-define(DEFAULT_BATCH, 250).
%% A batch VM that takes longer than this is stuck.
-define(BATCH_TIMEOUT_MS, 15 * 60 * 1000).
%% Resident memory a batch may gain between its first and last tenth, in
%% KiB, once everything is released: more is a leak.
-define(MAX_GROWTH_KB, 64 * 1024).

%% The campaign, from the command line (`make fuzz'): `modules=N',
%% `seconds=S', `seed=S', `batch=N', `dir=Dir', `tool=Path', and
%% `terms=N' programs for the term-ABI fuzzer's `interp=Path', and
%% `components=N' steps of the component fuzzer on `echo=Path'.
main(Args) ->
    Opts = maps:from_list([parse_arg(A) || A <- Args]),
    Report = components(Opts, terms(Opts, campaign(Opts))),
    io:format("~s", [format_report(Report)]),
    case failed(Report) of
        false -> erlang:halt(0);
        true -> erlang:halt(1)
    end.

parse_arg(Arg) ->
    [Key, Value] = string:split(Arg, "="),
    K = list_to_atom(Key),
    case lists:member(K, [dir, tool, interp, echo]) of
        true -> {K, Value};
        false -> {K, list_to_integer(Value)}
    end.

%% The term-ABI fuzzer's programs, in this VM (wasm_fuzz_terms).
terms(#{terms := N, interp := Interp, seed := Seed}, Totals) when N > 0 ->
    {ok, Module} = wasm_runtime_nif:load(Interp),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module),
    {Ran, Mismatches} = wasm_fuzz_terms:run(Instance, Seed, N),
    Totals#{term_programs => Ran,
            mismatches := [{term_program, M} || M <- Mismatches] ++ maps:get(mismatches, Totals)};
terms(_, Totals) ->
    Totals.

%% The component fuzzer's steps, in this VM (wasm_fuzz_components).
components(#{components := N, echo := Echo, seed := Seed}, Totals) when N > 0 ->
    {ok, Module} = wasm_runtime_nif:load(Echo),
    {Ran, Mismatches} = wasm_fuzz_components:run(Module, Seed, N),
    Totals#{component_steps => Ran,
            mismatches := [{component_step, M} || M <- Mismatches] ++ maps:get(mismatches, Totals)};
components(_, Totals) ->
    Totals.

%% Runs batches until `modules' modules or `seconds' seconds, whichever
%% comes first, and returns the totals.
campaign(Opts0) ->
    Opts = maps:merge(#{modules => 1000, seconds => 3600, seed => erlang:system_time(second),
                        batch => ?DEFAULT_BATCH, dir => "fuzz/_build/campaign",
                        tool => "native/wasm_runtime_nif/target/release/wasm_fuzz"},
                      Opts0),
    #{dir := Dir} = Opts,
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Deadline = erlang:monotonic_time(second) + maps:get(seconds, Opts),
    batches(Opts, 0, Deadline, empty_totals()).

%% Batches until the goal or the deadline; a batch that fails (its VM died,
%% the generator failed) counts as run, so that a campaign always ends.
batches(#{modules := Goal} = Opts, Index, Deadline, Totals) ->
    Attempted = Index * maps:get(batch, Opts),
    case Attempted >= Goal orelse erlang:monotonic_time(second) >= Deadline of
        true ->
            Totals;
        false ->
            Count = min(maps:get(batch, Opts), Goal - Attempted),
            Seed = maps:get(seed, Opts) + Index,
            BatchDir = filename:join(maps:get(dir, Opts), "batch" ++ integer_to_list(Index)),
            Result = one_batch(Opts, Seed, Count, BatchDir),
            batches(Opts, Index + 1, Deadline, add(Totals, Result, BatchDir))
    end.

%% The tool links the NIF library, whose enif_* symbols only the BEAM has:
%% it runs under the runner that gives it stand-ins, as unit tests do.
one_batch(#{tool := Tool}, Seed, Count, Dir) ->
    _ = file:del_dir_r(Dir),
    Runner = filename:join([filename:dirname(filename:dirname(filename:dirname(Tool))),
                            "scripts", "enif-stubs-runner"]),
    Generate = [Runner, Tool, "batch", integer_to_list(Seed), integer_to_list(Count), Dir],
    case run(Generate, ?BATCH_TIMEOUT_MS) of
        {0, _} ->
            Erl = os:find_executable("erl"),
            Paths = lists:usort([filename:dirname(code:which(M)) || M <- [wasm_runtime_nif, ?MODULE]]),
            Args = ["-noshell"] ++ lists:append([["-pa", P] || P <- Paths])
                ++ ["-run", atom_to_list(?MODULE), "batch_main", Dir],
            {Status, Output} = run([Erl | Args], ?BATCH_TIMEOUT_MS),
            case {Status, file:consult(filename:join(Dir, "summary.eterm"))} of
                {0, {ok, [Summary]}} ->
                    Summary#{seed => Seed};
                {_, _} ->
                    #{seed => Seed, vm_death => {Status, tail(Output)}}
            end;
        {Status, Output} ->
            #{seed => Seed, generator_failed => {Status, tail(Output)}}
    end.

tail(Output) ->
    lists:sublist(Output, max(1, length(Output) - 2000), 2000).

%% Runs a program, with a timeout, and returns its exit status and output.
run([Program | Args], Timeout) ->
    Port = open_port({spawn_executable, Program},
                     [{args, Args}, exit_status, stderr_to_stdout, binary, hide]),
    collect(Port, erlang:monotonic_time(millisecond) + Timeout, []).

collect(Port, Deadline, Acc) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {Port, {data, Data}} -> collect(Port, Deadline, [Data | Acc]);
        {Port, {exit_status, Status}} -> {Status, binary_to_list(iolist_to_binary(lists:reverse(Acc)))}
    after Left ->
        {os_pid, OsPid} = erlang:port_info(Port, os_pid),
        _ = os:cmd("kill -9 " ++ integer_to_list(OsPid)),
        catch port_close(Port),
        {timeout, binary_to_list(iolist_to_binary(lists:reverse(Acc)))}
    end.

empty_totals() ->
    #{batches => 0, modules => 0, wasi => 0, invalid => 0, by_design => 0, calls => 0, compared => 0,
      kills => 0, timeouts => 0, concurrent => 0, traps => #{}, mismatches => [], vm_deaths => [],
      generator_failures => [], leaks => [], max_growth_kb => 0, rss_kb => []}.

add(Totals, #{vm_death := Death, seed := Seed}, Dir) ->
    maps:update_with(vm_deaths, fun(L) -> [{Seed, Dir, Death} | L] end, Totals);
add(Totals, #{generator_failed := Failure, seed := Seed}, _Dir) ->
    maps:update_with(generator_failures, fun(L) -> [{Seed, Failure} | L] end, Totals);
add(Totals, Summary, Dir) ->
    Sum = fun(Key) -> maps:get(Key, Totals) + maps:get(Key, Summary) end,
    Traps = maps:fold(fun(K, N, Acc) -> maps:update_with(K, fun(M) -> M + N end, N, Acc) end,
                      maps:get(traps, Totals), maps:get(traps, Summary)),
    Mismatches = maps:get(mismatches, Summary),
    Leaks = [{maps:get(seed, Summary), Leak} || Leak <- maps:get(leaks, Summary)],
    %% A clean batch leaves nothing behind.
    [_ = file:del_dir_r(Dir) || Mismatches =:= [], Leaks =:= []],
    Totals#{batches := maps:get(batches, Totals) + 1,
            modules := Sum(modules), wasi := Sum(wasi), invalid := Sum(invalid), by_design := Sum(by_design),
            calls := Sum(calls),
            compared := Sum(compared), kills := Sum(kills), timeouts := Sum(timeouts),
            concurrent := Sum(concurrent), traps := Traps,
            mismatches := [{maps:get(seed, Summary), Dir, M} || M <- Mismatches]
                ++ maps:get(mismatches, Totals),
            leaks := Leaks ++ maps:get(leaks, Totals),
            max_growth_kb := max(maps:get(max_growth_kb, Totals), maps:get(growth_kb, Summary)),
            rss_kb := maps:get(rss_kb, Totals) ++ [maps:get(rss_kb, Summary)]}.

rss_range([]) -> "-";
rss_range(Kb) -> io_lib:format("~p..~p", [lists:min(Kb), lists:max(Kb)]).

failed(#{mismatches := M, vm_deaths := D, generator_failures := G, leaks := L}) ->
    M =/= [] orelse D =/= [] orelse G =/= [] orelse L =/= [].

format_report(#{traps := Traps} = R) ->
    io_lib:format("fuzz: ~p batches, ~p modules (~p calling WASI, ~p invalid, ~p refused by design), ~p calls "
                  "(~p compared with plain Wasmtime), ~p callers killed, ~p timeouts, "
                  "~p concurrent calls, ~p term-ABI programs, ~p component steps~n"
                  "fuzz: traps ~p~n"
                  "fuzz: VM deaths ~p, mismatches ~p, leaks ~p, generator failures ~p, "
                  "largest memory growth within a batch ~p KiB, resident memory at the end of "
                  "each batch ~s KiB~n~s",
                  [maps:get(batches, R), maps:get(modules, R), maps:get(wasi, R), maps:get(invalid, R),
                   maps:get(by_design, R),
                   maps:get(calls, R), maps:get(compared, R), maps:get(kills, R),
                   maps:get(timeouts, R), maps:get(concurrent, R), maps:get(term_programs, R, 0),
                   maps:get(component_steps, R, 0),
                   lists:sort(maps:to_list(Traps)),
                   length(maps:get(vm_deaths, R)), length(maps:get(mismatches, R)),
                   length(maps:get(leaks, R)), length(maps:get(generator_failures, R)),
                   maps:get(max_growth_kb, R), rss_range(maps:get(rss_kb, R)),
                   [io_lib:format("fuzz: ~P~n", [F, 40])
                    || F <- lists:sublist(maps:get(vm_deaths, R) ++ maps:get(mismatches, R)
                                          ++ maps:get(leaks, R) ++ maps:get(generator_failures, R), 10)]]).

%%% ------------------------------------------------------------------
%%% One batch, in a VM of its own
%%% ------------------------------------------------------------------

%% `erl -run wasm_fuzz batch_main Dir': runs the batch in Dir and writes
%% Dir/summary.eterm.
batch_main([Dir]) ->
    Summary = run_batch(Dir),
    ok = file:write_file(filename:join(Dir, "summary.eterm"), io_lib:format("~p.~n", [Summary])),
    erlang:halt(0).

run_batch(Dir) ->
    Plans = lists:sort(filelib:wildcard(filename:join(Dir, "m*.plan"))),
    rand:seed(exsss, erlang:phash2(Dir)),
    Checkpoints = max(1, length(Plans) div 10),
    Totals0 = #{modules => 0, wasi => 0, invalid => 0, by_design => 0, calls => 0, compared => 0, kills => 0,
                timeouts => 0, concurrent => 0, traps => #{}, mismatches => [], rss => []},
    {Totals, _} = lists:foldl(
                    fun(Plan, {Acc, N}) ->
                            Acc1 = run_module(Plan, Acc),
                            Acc2 = case N rem Checkpoints of
                                       0 -> Acc1#{rss := [settled_rss() | maps:get(rss, Acc1)]};
                                       _ -> Acc1
                                   end,
                            {Acc2, N + 1}
                    end, {Totals0, 1}, Plans),
    Final = settled_rss(),
    [First | _] = lists:reverse([Final | maps:get(rss, Totals)]),
    Live = wasm_runtime_nif:live_counts(),
    Leaks = [{live, Live} || not (maps:get(instances, Live) =:= 0 andalso maps:get(calls, Live) =:= 0
                                  andalso maps:get(mappings, Live) =:= 0)]
        ++ [{growth_kb, Final - First} || Final - First > ?MAX_GROWTH_KB],
    maps:remove(rss, Totals#{leaks => Leaks, growth_kb => Final - First, rss_kb => Final,
                             mismatches := lists:reverse(maps:get(mismatches, Totals))}).

%% Resident memory once every process has been collected and the reaper
%% has freed what it was given.
settled_rss() ->
    [erlang:garbage_collect(P) || P <- processes()],
    wait_for_no_instances(100),
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_, Resident | _] = binary:split(Statm, <<" ">>, [global]),
    binary_to_integer(Resident) * 4.

wait_for_no_instances(0) ->
    ok;
wait_for_no_instances(N) ->
    case wasm_runtime_nif:live_counts() of
        #{instances := 0, mappings := 0} -> ok;
        _ -> timer:sleep(20), wait_for_no_instances(N - 1)
    end.

run_module(PlanFile, Totals) ->
    Wasm = filename:rootname(PlanFile) ++ ".wasm",
    {ok, Plan} = file:consult(PlanFile),
    {ok, Bytes} = file:read_file(Wasm),
    Mode = case rand:uniform(3) of 3 -> chaos; _ -> compare end,
    Module = filename:basename(Wasm),
    T1 = bump(modules, Totals),
    try
        case {Mode, Plan} of
            {_, [{module, _, invalid}]} ->
                check_invalid(Module, Bytes, bump(invalid, T1));
            {_, [{module, _, valid}, wasi | Steps]} ->
                wasi_module(Module, Bytes, Steps, bump(wasi, T1));
            {compare, [{module, _, valid} | Steps]} ->
                compare_module(Module, Bytes, Steps, T1);
            {chaos, [{module, _, valid} | Steps]} ->
                chaos_module(Module, Bytes, Steps, T1)
        end
    catch
        Class:Reason:Stack ->
            mismatch(T1, Module, {driver_crashed, Class, Reason, lists:sublist(Stack, 5)})
    after
        erlang:garbage_collect()
    end.

bump(Key, Totals) ->
    bump(Key, 1, Totals).

bump(Key, N, Totals) ->
    maps:update_with(Key, fun(V) -> V + N end, Totals).

mismatch(Totals, Module, What) ->
    Totals#{mismatches := [{Module, What} | maps:get(mismatches, Totals)]}.

trap(Kind, Totals) ->
    Totals#{traps := maps:update_with(Kind, fun(V) -> V + 1 end, 1, maps:get(traps, Totals))}.

%% Plain Wasmtime refused it; so must the library.
check_invalid(Module, Bytes, Totals) ->
    case wasm_runtime_nif:compile(Bytes) of
        {error, {invalid_module, _}} -> Totals;
        Other -> mismatch(Totals, Module, {accepted_invalid, Other})
    end.

%%% Compare mode: the library must do what the plan says.

compare_module(Module, Bytes, Steps, T0) ->
    case wasm_runtime_nif:compile(Bytes) of
        {ok, Mod} ->
            Opts = [{imports, import_funs(Steps)}, {timeout, 10000}],
            compare_steps(Module, Mod, Opts, [S || S <- Steps, element(1, S) =/= import], none, T0);
        Refused ->
            refused(Module, Refused, T0)
    end.

%% A valid module the library refuses: only for what it cannot provide by
%% design (imports of memories, tables, globals or tags, imports with
%% reference or vector types, one import name with two types), which
%% corrupted modules sometimes ask for.
refused(_Module, {error, {unsupported_import_signature, _, _, _}}, T) -> bump(by_design, T);
refused(_Module, {error, {unknown_import, _, _, Kind}}, T) when Kind =/= func -> bump(by_design, T);
refused(_Module, {error, {import_type_conflict, _, _, _, _}}, T) -> bump(by_design, T);
refused(Module, Refused, T) -> mismatch(T, Module, {refused_valid, Refused}).

%% Instance is the current instance, `none' before the start, or `lost'
%% once the library and the plan may differ (a limit of ours, a start
%% function calling an import): then nothing is compared until the plan
%% starts a fresh instance.
compare_steps(_Module, _Mod, _Opts, [], _Instance, T) ->
    T;
compare_steps(Module, Mod, Opts, [{Start, Expected} | Rest], _, T)
  when Start =:= start; Start =:= fresh ->
    {Instance, T1} = compare_start(Module, Mod, Opts, Expected, T),
    compare_steps(Module, Mod, Opts, Rest, Instance, T1);
compare_steps(Module, Mod, Opts, [{call, Name, Args, Expected} | Rest], Instance, T) ->
    T1 = bump(calls, T),
    case Instance of
        _ when Instance =:= lost; Expected =:= exhausted ->
            %% Plain Wasmtime ran out of fuel: the call may well be endless.
            compare_steps(Module, Mod, Opts, Rest, lost, T1);
        _ ->
            Got = outcome(fun() -> wasm_runtime_nif:call_raw(Instance, Name, [arg(A) || A <- Args]) end),
            T2 = count_trap(Got, T1),
            case agree(Expected, Got) of
                true -> compare_steps(Module, Mod, Opts, Rest, Instance, bump(compared, T2));
                inconclusive -> compare_steps(Module, Mod, Opts, Rest, lost, T2);
                false ->
                    T3 = mismatch(T2, Module, {call, Name, Args, Expected, Got}),
                    compare_steps(Module, Mod, Opts, Rest, lost, T3)
            end
    end.

compare_start(_Module, _Mod, _Opts, exhausted, T) ->
    {lost, T};
compare_start(Module, Mod, Opts, Expected, T) ->
    case {Expected, wasm_runtime_nif:instantiate(Mod, Opts)} of
        {ok, {ok, I}} -> {I, T};
        {{trap, Kind}, {error, {trap, Kind, _}}} -> {lost, trap(Kind, T)};
        %% Refused alike: a memory or table larger than the limits the
        %% reference shares with the library.
        {{error, Message}, {error, {instantiation_failed, Message}}} -> {lost, T};
        {_, {error, {instantiation_failed, <<"the start function called an Erlang import", _/binary>>}}} ->
            {lost, T};
        {_, {error, {trap, Kind, _}}} when Kind =:= timeout; Kind =:= stack_overflow;
                                            Kind =:= gc_heap_out_of_memory ->
            {lost, trap(Kind, T)};
        {_, Got} ->
            {lost, mismatch(T, Module, {start, Expected, Got})}
    end.

%% What a call did: {ok, Value}, {trap, Kind}, {raised, Class, Reason}.
outcome(Fun) ->
    try Fun() of
        Value -> {ok, Value}
    catch
        error:{trap, Kind, Message} when is_atom(Kind), is_binary(Message) -> {trap, Kind};
        Class:Reason -> {raised, Class, Reason}
    end.

count_trap({trap, Kind}, T) -> trap(Kind, T);
count_trap(_, T) -> T.

%% true, false, or inconclusive where the library's limits make it differ
%% from plain Wasmtime by design.
agree({ok, Values}, {ok, Got}) ->
    %% Bit for bit: 0.0 =:= -0.0 in Erlang, not in their encodings.
    term_to_binary(results(Values)) =:= term_to_binary(Got);
agree({trap, Kind}, {trap, Kind}) ->
    true;
agree({error, _}, {raised, error, fuzz_import_raised}) ->
    true;
agree(exhausted, _) ->
    inconclusive;
agree(_, {trap, Kind}) when Kind =:= timeout; Kind =:= stack_overflow;
                            Kind =:= gc_heap_out_of_memory ->
    inconclusive;
agree({trap, stack_overflow}, _) ->
    inconclusive;
agree(_, _) ->
    false.

results([]) -> void;
results([One]) -> arg(One);
results(Many) -> list_to_tuple([arg(V) || V <- Many]).

%% A plan's value as call_raw/3 takes and returns it.
arg({f32, Bits}) -> float_of(<<Bits:32>>, 8, 23);
arg({f64, Bits}) -> float_of(<<Bits:64>>, 11, 52);
arg(Int) when is_integer(Int) -> Int.

float_of(Bits, ExpBits, FracBits) ->
    <<Sign:1, Exp:ExpBits, Frac:FracBits>> = Bits,
    Max = (1 bsl ExpBits) - 1,
    case {Exp, Frac, Sign} of
        {Max, 0, 0} -> infinity;
        {Max, 0, 1} -> neg_infinity;
        {Max, _, _} -> nan;
        _ ->
            Size = ExpBits + FracBits + 1,
            <<F:Size/float>> = Bits,
            F
    end.

%% The funs for a module's imports (the plan's `import' steps), answering
%% as the reference's do (`answer' in wasm_fuzz.rs); those of module
%% "host" raise. The generator's import list fixes their types.
import_funs(Steps) ->
    maps:from_list([{{M, N}, import_fun(M, length(P), R)} || {import, M, N, P, R} <- Steps]).

import_fun(<<"host">>, 1, _) -> fun(_) -> erlang:error(fuzz_import_raised) end;
import_fun(_, 0, R) -> fun() -> answer([], R) end;
import_fun(_, 1, R) -> fun(A) -> answer([A], R) end;
import_fun(_, 4, R) -> fun(A, B, C, D) -> answer([A, B, C, D], R) end;
import_fun(_, 6, R) -> fun(A, B, C, D, E, F) -> answer([A, B, C, D, E, F], R) end.

%% Result k from the first argument: integers give `first + k', wrapped to
%% the result's width; anything else gives `k + 1'.
answer(Args, Results) ->
    First = case Args of
                [A | _] when is_integer(A) -> A;
                _ -> none
            end,
    Values = [result(Type, First, K) || {Type, K} <- lists:zip(Results, lists:seq(0, length(Results) - 1))],
    case Values of
        [] -> ok;
        [One] -> One;
        Many -> list_to_tuple(Many)
    end.

result(i32, none, K) -> K + 1;
result(i64, none, K) -> K + 1;
result(i32, First, K) -> wrap(First + K, 32);
result(i64, First, K) -> wrap(First + K, 64);
result(_, _, K) -> float(K + 1).

wrap(X, Bits) ->
    <<Signed:Bits/signed>> = <<X:Bits>>,
    Signed.

%%% Chaos mode: limits, timeouts, kills and concurrent callers; only the
%%% library's own rules are checked.

chaos_module(Module, Bytes, Steps, T0) ->
    chaos_module(Module, Bytes, Steps, [], T0).

%% A module calling WASI functions with whatever its code computes, in
%% chaos, given a directory of its own to do what it likes in (removed
%% after), a stdin, and small output ceilings.
wasi_module(Module, Bytes, Steps, T0) ->
    Dir = filename:join(os:getenv("TMPDIR", "/tmp"),
                        "wasm_fuzz_wasi_" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = filelib:ensure_path(Dir),
    Wasi = #{args => ["fuzz", "-x"], env => [{<<"FUZZ">>, <<"1">>}],
             stdin => rand:bytes(rand:uniform(4096)),
             preopens => [{Dir, "/", read_write}],
             stdout => {capture, rand:uniform(65536)}, stderr => discard},
    try
        chaos_module(Module, Bytes, Steps, [{wasi, Wasi}], T0)
    after
        file:del_dir_r(Dir)
    end.

chaos_module(Module, Bytes, Steps, Extra, T0) ->
    Metered = rand:uniform(2) =:= 1,
    case wasm_runtime_nif:compile(Bytes, [fuel || Metered]) of
        {ok, Mod} ->
            %% Always a timeout: plain Wasmtime found some calls endless.
            Limits = [{max_memory, 65536 * rand:uniform(64)} || rand:uniform(3) =:= 1]
                ++ [{max_table_elements, rand:uniform(1000)} || rand:uniform(3) =:= 1]
                ++ [{fuel, rand:uniform(1000000)} || Metered, rand:uniform(2) =:= 1]
                ++ [{timeout, rand:uniform(500)}],
            Opts = [{imports, import_funs(Steps)} | Extra ++ Limits],
            Calls = [{Name, [arg(A) || A <- Args]} || {call, Name, Args, _} <- Steps],
            chaos_calls(Mod, Opts, Metered, Calls, instantiate(Mod, Opts), T0);
        Refused ->
            refused(Module, Refused, T0)
    end.

instantiate(Mod, Opts) ->
    case wasm_runtime_nif:instantiate(Mod, Opts) of
        {ok, I} -> I;
        {error, Reason} -> check_error(Reason), none
    end.

%% Errors are the library's own, well formed; `host_error' (what the runtime
%% reported with no kind of its own) never comes from a well-behaved run.
check_error({trap, host_error, _} = Error) -> erlang:error({host_error, Error});
check_error({instance_invalidated, Trap}) -> check_error(Trap);
check_error({trap, Kind, Message}) when is_atom(Kind), is_binary(Message) -> ok;
check_error({instantiation_failed, Message}) when is_binary(Message) -> ok;
check_error({system_limit, Message}) when is_binary(Message) -> ok;
check_error({too_many, _, _, _}) -> ok;
check_error(fuzz_import_raised) -> ok;
check_error({exit, Status}) when is_integer(Status) -> ok;
check_error(timeout) -> ok;
check_error(Other) -> erlang:error({malformed_error, Other}).

chaos_calls(_Mod, _Opts, _Metered, [], _Instance, T) ->
    T;
chaos_calls(Mod, Opts, Metered, Calls, none, T) ->
    %% The start function failed: nothing to call, but try once more.
    case instantiate(Mod, Opts) of
        none -> T;
        I -> chaos_calls(Mod, Opts, Metered, Calls, I, T)
    end;
chaos_calls(Mod, Opts, Metered, [{Name, Args} | Rest], Instance, T) ->
    CallOpts = [{timeout, rand:uniform(50)} || rand:uniform(4) =:= 1]
        ++ [{fuel, rand:uniform(100000)} || Metered, rand:uniform(3) =:= 1],
    Call = fun() -> wasm_runtime_nif:call_raw(Instance, Name, Args, CallOpts) end,
    T1 = bump(calls, T),
    {Outcome, T2} =
        case rand:uniform(10) of
            1 -> {killed(Call), bump(kills, T1)};
            2 -> {concurrently(Call), bump(concurrent, T1)};
            _ -> {outcome(Call), T1}
        end,
    T3 = count_trap(Outcome, T2),
    T4 = case Outcome of {trap, timeout} -> bump(timeouts, T3); _ -> T3 end,
    case Outcome of
        {trap, host_error} -> erlang:error({host_error, Name});
        {ok, _} -> chaos_calls(Mod, Opts, Metered, Rest, Instance, T4);
        killed -> chaos_calls(Mod, Opts, Metered, Rest, instantiate(Mod, Opts), T4);
        {raised, error, Reason} -> check_error(Reason), chaos_calls(Mod, Opts, Metered, Rest, instantiate(Mod, Opts), T4);
        {trap, _} -> chaos_calls(Mod, Opts, Metered, Rest, instantiate(Mod, Opts), T4);
        {raised, Class, Reason} -> erlang:error({unexpected_exception, Class, Reason})
    end.

%% The call, from a process killed after a moment.
killed(Call) ->
    {Pid, Ref} = spawn_monitor(fun() -> outcome(Call) end),
    timer:sleep(rand:uniform(3) - 1),
    exit(Pid, kill),
    receive {'DOWN', Ref, process, Pid, _} -> killed end.

%% The call from two processes at once: both end, one way or another.
concurrently(Call) ->
    Self = self(),
    Pids = [spawn(fun() -> Self ! {self(), outcome(Call)} end) || _ <- [1, 2]],
    Outcomes = [receive {Pid, O} -> O after 60000 -> erlang:error(concurrent_call_hangs) end
                || Pid <- Pids],
    case [O || {trap, _} = O <- Outcomes] of
        [Trap | _] -> Trap;
        [] -> hd(Outcomes)
    end.
