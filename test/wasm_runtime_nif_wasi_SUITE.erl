%% WASI preview 1: commands run with run_wasi/2, reactors instantiated with
%% the `wasi' option, every option, exit statuses, failures that keep the
%% output written before them, the output ceiling, preopens and escapes
%% from them, waits on clocks and files that hold no scheduler, killed
%% callers, concurrent runs, bad options, and a crates.io program whose
%% output is compared with its native build.
-module(wasm_runtime_nif_wasi_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([args_are_the_full_argv/1, only_the_given_variables_are_seen/1,
         stdin_is_read_to_its_end/1, exit_statuses_are_returned/1,
         stderr_is_captured_apart/1, a_trap_keeps_the_output_before_it/1,
         a_timeout_keeps_the_output_before_it/1, fuel_ends_a_spinning_program/1,
         output_past_its_ceiling_fails_the_write/1, discarded_output_is_not_kept/1,
         a_flood_of_output_times_out/1, a_huge_write_to_stdout_is_short/1,
         streamed_output_reaches_a_fun_in_order/1,
         a_raising_stream_fun_ends_the_run/1, a_reactor_streams_to_a_fun/1,
         preopens_are_read_and_written/1, read_only_preopens_refuse_writes/1,
         nothing_outside_a_preopen_is_reachable/1, symlinks_inside_a_preopen_work/1,
         huge_reads_and_writes_are_short/1, too_many_subscriptions_are_refused/1,
         too_many_open_files_give_emfile/1, refused_wasi_calls_trap_with_a_kind/1,
         a_missing_preopen_fails_instantiation/1,
         a_sleeping_program_holds_no_scheduler/1, a_sleep_past_the_timeout_times_out/1,
         a_killed_caller_ends_its_run/1, clocks_and_random_work/1,
         many_programs_run_at_once/1, bad_options_are_refused/1,
         a_module_is_run_as_often_as_asked/1,
         a_crates_io_program_matches_its_native_build/1,
         a_rust_panic_is_on_stderr/1,
         a_reactor_is_initialized_and_called/1, a_reactor_mixes_wasi_terms_and_funs/1,
         a_reactor_that_exits_is_invalidated/1, output_is_read_and_cleared/1,
         an_instance_without_wasi_has_no_output/1,
         a_wasi_module_without_options_gets_nothing/1]).

all() ->
    [args_are_the_full_argv, only_the_given_variables_are_seen, stdin_is_read_to_its_end,
     exit_statuses_are_returned, stderr_is_captured_apart, a_trap_keeps_the_output_before_it,
     a_timeout_keeps_the_output_before_it, fuel_ends_a_spinning_program,
     output_past_its_ceiling_fails_the_write, discarded_output_is_not_kept,
     a_flood_of_output_times_out, a_huge_write_to_stdout_is_short, streamed_output_reaches_a_fun_in_order,
     a_raising_stream_fun_ends_the_run, a_reactor_streams_to_a_fun,
     preopens_are_read_and_written, read_only_preopens_refuse_writes,
     nothing_outside_a_preopen_is_reachable, symlinks_inside_a_preopen_work,
     huge_reads_and_writes_are_short, too_many_subscriptions_are_refused,
     too_many_open_files_give_emfile, refused_wasi_calls_trap_with_a_kind,
     a_missing_preopen_fails_instantiation,
     a_sleeping_program_holds_no_scheduler, a_sleep_past_the_timeout_times_out,
     a_killed_caller_ends_its_run, clocks_and_random_work, many_programs_run_at_once,
     bad_options_are_refused, a_module_is_run_as_often_as_asked,
     a_crates_io_program_matches_its_native_build, a_rust_panic_is_on_stderr,
     a_reactor_is_initialized_and_called, a_reactor_mixes_wasi_terms_and_funs,
     a_reactor_that_exits_is_invalidated, output_is_read_and_cleared,
     an_instance_without_wasi_has_no_output, a_wasi_module_without_options_gets_nothing].

init_per_suite(Config) ->
    {ok, Tool} = wasm_runtime_nif:load(data(Config, "wasi_tool.wasm")),
    [{tool, Tool} | Config].

end_per_suite(Config) ->
    Config.

%% Each case gets a directory of its own to preopen.
init_per_testcase(Case, Config) ->
    Dir = filename:join(?config(priv_dir, Config), Case),
    ok = filelib:ensure_path(Dir),
    [{dir, Dir} | Config].

end_per_testcase(_, Config) ->
    Config.

data(Config, Name) ->
    filename:join(?config(data_dir, Config), Name).

%% run_wasi/2 of the tool with `Args' (argv[0] added) and `Options'.
tool(Config, Args, Options) ->
    wasm_runtime_nif:run_wasi(?config(tool, Config), Options#{args => ["wasi_tool" | Args]}).

ok(Config, Args, Options) ->
    {ok, Result} = tool(Config, Args, Options),
    Result.

%%% ------------------------------------------------------------------
%%% Commands
%%% ------------------------------------------------------------------

args_are_the_full_argv(Config) ->
    #{exit_code := 0, stdout := Out, stderr := <<>>} =
        ok(Config, ["args", "two words", <<"ünï"/utf8>>, ""], #{}),
    ?assertEqual(<<"wasi_tool\nargs\ntwo words\n", "ünï"/utf8, "\n\n">>, Out),
    %% No argv at all, not even argv[0], unless given.
    {ok, #{exit_code := 2, stderr := <<"usage", _/binary>>}} =
        wasm_runtime_nif:run_wasi(?config(tool, Config), #{}).

only_the_given_variables_are_seen(Config) ->
    %% The VM's own environment (HOME, PATH...) is not inherited.
    #{stdout := <<>>} = ok(Config, ["env"], #{}),
    #{stdout := FromMap} = ok(Config, ["env"], #{env => #{"A" => "1", <<"B">> => <<"x=y">>}}),
    ?assertEqual([<<"A=1">>, <<"B=x=y">>], lists:sort(binary:split(FromMap, <<"\n">>, [global, trim]))),
    #{stdout := FromList} = ok(Config, ["env"], #{env => [{"LANG", "C"}]}),
    ?assertEqual(<<"LANG=C\n">>, FromList).

stdin_is_read_to_its_end(Config) ->
    Input = binary:copy(<<"0123456789abcdef">>, 100000),
    #{exit_code := 0, stdout := Out} = ok(Config, ["cat", "-"], #{stdin => Input}),
    ?assertEqual(Input, Out),
    #{stdout := <<"ab">>} = ok(Config, ["cat", "-"], #{stdin => [$a, <<"b">>]}),
    %% No stdin given: the program reads end of file at once.
    #{exit_code := 0, stdout := <<>>} = ok(Config, ["cat", "-"], #{}).

exit_statuses_are_returned(Config) ->
    #{exit_code := 0, stdout := <<"exiting with 0\n">>} = ok(Config, ["exit", "0"], #{}),
    #{exit_code := 3} = ok(Config, ["exit", "3"], #{}),
    #{exit_code := 200} = ok(Config, ["exit", "200"], #{}),
    %% As a POSIX shell sees it: the low 8 bits.
    #{exit_code := 255} = ok(Config, ["exit", "-1"], #{}),
    #{exit_code := 0} = ok(Config, ["exit", "256"], #{}).

stderr_is_captured_apart(Config) ->
    #{exit_code := 0, stdout := <<>>, stderr := <<"to stderr">>} =
        ok(Config, ["stderr", "to stderr"], #{}).

a_trap_keeps_the_output_before_it(Config) ->
    {error, #{reason := {trap, unreachable, _}, stdout := <<"before the trap\n">>}} =
        tool(Config, ["trap"], #{}).

a_timeout_keeps_the_output_before_it(Config) ->
    {error, #{reason := {trap, timeout, _}, stdout := <<"spinning\n">>}} =
        tool(Config, ["spin"], #{timeout => 200}).

fuel_ends_a_spinning_program(Config) ->
    %% A path is compiled with fuel metering when fuel is asked for.
    {error, #{reason := {trap, out_of_fuel, _}, stdout := <<"spinning\n">>}} =
        wasm_runtime_nif:run_wasi(data(Config, "wasi_tool.wasm"),
                                  #{args => ["wasi_tool", "spin"], fuel => 10000000}),
    %% A module compiled without metering cannot take fuel.
    ?assertError({bad_option, {fuel, 1000}}, tool(Config, ["spin"], #{fuel => 1000})).

output_past_its_ceiling_fails_the_write(Config) ->
    #{exit_code := 3, stdout := Out, stderr := Err} =
        ok(Config, ["flood"], #{stdout => {capture, 100000}}),
    ?assertEqual(100000, byte_size(Out)),
    ?assertMatch(<<"stdout failed after ", _/binary>>, Err).

discarded_output_is_not_kept(Config) ->
    #{exit_code := 0, stdout := <<>>, stderr := <<>>} =
        ok(Config, ["args", "x"], #{stdout => discard, stderr => discard}),
    #{exit_code := 0, stdout := <<>>, stderr := <<"kept">>} =
        ok(Config, ["stderr", "kept"], #{stdout => discard}).

a_flood_of_output_times_out(Config) ->
    %% Discarded output never fills: the program writes until its timeout.
    {error, #{reason := {trap, timeout, _}, stdout := <<>>}} =
        tool(Config, ["flood"], #{stdout => discard, timeout => 300}).

a_huge_write_to_stdout_is_short(Config) ->
    %% One write of 8 MiB moves 1 MiB (wasi/bounded.rs); the program
    %% writes the rest, as every libc does after a short count.
    #{exit_code := 0, stdout := Out, stderr := <<"write 1048576\n">>} =
        ok(Config, ["bigout", "8"], #{}),
    ?assertEqual(binary:copy(<<"o">>, 8 bsl 20), Out).

streamed_output_reaches_a_fun_in_order(Config) ->
    Self = self(),
    Input = << <<(I rem 251)>> || I <- lists:seq(1, 1000000) >>,
    #{exit_code := 0, stdout := <<>>, stderr := <<>>} =
        ok(Config, ["cat", "-"], #{stdin => Input, stdout => fun(B) -> Self ! {out, self(), B} end,
                                   stderr => fun(_) -> ok end}),
    Chunks = drain(out),
    ?assertEqual(Input, iolist_to_binary(Chunks)),
    ?assert(length(Chunks) >= 1000000 div 65536),
    [?assert(byte_size(C) =< 65536) || C <- Chunks],
    #{exit_code := 0} =
        ok(Config, ["stderr", "to stderr"], #{stderr => fun(B) -> Self ! {err, self(), B} end}),
    [<<"to stderr">>] = drain(err).

%% What the fun sent, in order; each from the calling process.
drain(Tag) ->
    Self = self(),
    receive {Tag, Self, Bytes} -> [Bytes | drain(Tag)] after 0 -> [] end.

a_raising_stream_fun_ends_the_run(Config) ->
    %% A flood never ends by itself: the fun's exception ends it.
    ?assertError(full, tool(Config, ["flood"], #{stdout => fun(_) -> error(full) end})),
    ?assertThrow(enough, tool(Config, ["args", "x"], #{stdout => fun(_) -> throw(enough) end})),
    %% Also when the program exits after its last write.
    ?assertThrow(enough, tool(Config, ["exit", "3"], #{stdout => fun(_) -> throw(enough) end})).

a_reactor_streams_to_a_fun(Config) ->
    Self = self(),
    Fun = fun(B) -> Self ! {out, self(), B} end,
    I = reactor(Config, [{wasi, #{stdout => Fun}}]),
    101 = wasm_runtime_nif:call_raw(I, bump, [1]),
    %% Handed over before the call returned.
    receive {out, Self, <<"counter 101\n">>} -> ok after 0 -> ct:fail(not_streamed) end,
    {ok, #{stdout := <<>>}} = wasm_runtime_nif:wasi_output(I),
    %% A fun that raises: the call raises its exception and the instance
    %% is invalidated, whether the output was handed over between two
    %% slices or after the guest returned (as the epoch tick fell).
    [begin
         J = reactor(Config, [{wasi, #{stdout => fun(_) -> exit(stop) end}}]),
         ?assertExit(stop, wasm_runtime_nif:call_raw(J, bump, [1])),
         ?assertError({instance_invalidated, {trap, import_raised, _}},
                      wasm_runtime_nif:call_raw(J, greeting_length, []))
     end || _ <- lists:seq(1, 20)],
    %% The same for output written in a call that spans many slices.
    K = reactor(Config, [{wasi, #{stdout => fun(_) -> throw(full) end}}]),
    ?assertThrow(full, wasm_runtime_nif:call_raw(K, chatter, [1000000])),
    ?assertError({instance_invalidated, {trap, import_raised, _}},
                 wasm_runtime_nif:call_raw(K, bump, [1])),
    %% A fun that returns leaves the instance as it was.
    L = reactor(Config, [{wasi, #{stdout => fun(_) -> ok end}}]),
    101 = wasm_runtime_nif:call_raw(L, bump, [1]),
    102 = wasm_runtime_nif:call_raw(L, bump, [1]).

%%% ------------------------------------------------------------------
%%% Files
%%% ------------------------------------------------------------------

preopens_are_read_and_written(Config) ->
    Dir = ?config(dir, Config),
    ok = file:write_file(filename:join(Dir, "in.txt"), <<"from the host\n">>),
    Preopens = #{preopens => [{Dir, "/work", read_write}]},
    #{exit_code := 0, stdout := <<"from the host\n">>} = ok(Config, ["cat", "/work/in.txt"], Preopens),
    #{exit_code := 0} = ok(Config, ["write", "/work/out.txt", "from the guest"], Preopens),
    {ok, <<"from the guest">>} = file:read_file(filename:join(Dir, "out.txt")),
    #{stdout := Listing} = ok(Config, ["ls", "/work"], Preopens),
    ?assertEqual([<<"in.txt">>, <<"out.txt">>],
                 lists:sort(binary:split(Listing, <<"\n">>, [global, trim]))),
    %% Relative guest paths resolve in the preopens too, and host paths may
    %% be binaries.
    #{stdout := <<"from the host\n">>} =
        ok(Config, ["cat", "in.txt"], #{preopens => [{list_to_binary(Dir), ".", read}]}).

read_only_preopens_refuse_writes(Config) ->
    Dir = ?config(dir, Config),
    #{exit_code := 1, stderr := <<"open /ro/new.txt: ", _/binary>>} =
        ok(Config, ["write", "/ro/new.txt", "x"], #{preopens => [{Dir, "/ro", read}]}),
    ?assertEqual({error, enoent}, file:read_file(filename:join(Dir, "new.txt"))).

nothing_outside_a_preopen_is_reachable(Config) ->
    Dir = ?config(dir, Config),
    Inner = filename:join(Dir, "inner"),
    ok = filelib:ensure_path(Inner),
    ok = file:write_file(filename:join(Dir, "secret.txt"), <<"secret">>),
    ok = file:make_symlink(filename:join(Dir, "secret.txt"), filename:join(Inner, "out_link")),
    ok = file:make_symlink("../secret.txt", filename:join(Inner, "relative_link")),
    Preopens = #{preopens => [{Inner, "/sandbox", read_write}]},
    Escapes = ["/sandbox/../secret.txt", "/sandbox/out_link", "/sandbox/relative_link",
               "/etc/passwd", "../secret.txt", "/sandbox/../../../../etc/passwd"],
    [begin
         #{exit_code := 1, stdout := <<>>, stderr := <<"open ", _/binary>>} =
             ok(Config, ["cat", Path], Preopens)
     end || Path <- Escapes],
    %% Writing through an escape fails as well, and creates nothing.
    #{exit_code := 1} = ok(Config, ["write", "/sandbox/../planted.txt", "x"], Preopens),
    ?assertEqual({error, enoent}, file:read_file(filename:join(Dir, "planted.txt"))),
    %% With no preopen at all, nothing is reachable.
    #{exit_code := 1} = ok(Config, ["ls", "/"], #{}).

symlinks_inside_a_preopen_work(Config) ->
    Dir = ?config(dir, Config),
    ok = file:write_file(filename:join(Dir, "target.txt"), <<"inside">>),
    ok = file:make_symlink("target.txt", filename:join(Dir, "link")),
    #{exit_code := 0, stdout := <<"inside">>} =
        ok(Config, ["cat", "/d/link"], #{preopens => [{Dir, "/d", read}]}).

huge_reads_and_writes_are_short(Config) ->
    %% Each of write, read, pwrite and pread is asked for 4 MiB at once
    %% and moves at most 1 MiB (pread 64 KiB, as wasmtime-wasi reads at
    %% offsets); the loops after them move the rest intact.
    Dir = ?config(dir, Config),
    #{exit_code := 0, stdout := Out} =
        ok(Config, ["bigio", "/d/big", "4"], #{preopens => [{Dir, "/d", read_write}]}),
    {match, [W, R, PW, PR]} =
        re:run(Out, "^write (\\d+) read (\\d+) pwrite (\\d+) pread (\\d+) intact 1\n$",
               [{capture, all_but_first, list}]),
    ?assert(list_to_integer(PR) >= 1 andalso list_to_integer(PR) =< 1 bsl 20),
    ?assertEqual(["1048576", "1048576", "1048576"], [W, R, PW]),
    {ok, Bytes} = file:read_file(filename:join(Dir, "big")),
    ?assertEqual(<< <<(I rem 251)>> || I <- lists:seq(0, 4 bsl 20 - 1) >>, Bytes).

too_many_subscriptions_are_refused(Config) ->
    %% Up to 1024 subscriptions are waited on; more give EINVAL (28), as
    %% poll(2) past its limit, instead of a setup that holds the scheduler.
    #{stdout := <<"errno 0 ready 1024\n">>} = ok(Config, ["poll", "1024"], #{}),
    #{stdout := <<"errno 28 ready 0\n">>} = ok(Config, ["poll", "1025"], #{}),
    #{stdout := <<"errno 28 ready 0\n">>} = ok(Config, ["poll", "1000000"], #{}).

too_many_open_files_give_emfile(Config) ->
    %% Each open file is a descriptor of the VM's: a program has at most
    %% 1024, its preopens included, and open(2) fails past them.
    Dir = ?config(dir, Config),
    ok = file:write_file(filename:join(Dir, "f"), <<"x">>),
    Preopens = [{Dir, "/d", read}],
    #{stdout := <<"opened 1023\n">>} = ok(Config, ["open", "/d/f", "5000"], #{preopens => Preopens}),
    %% Closed files are given back: every run starts afresh, and a program
    %% that closes what it opens never meets the limit.
    #{stdout := <<"opened 1000\n">>} = ok(Config, ["open", "/d/f", "1000"], #{preopens => Preopens}),
    #{exit_code := 0, stdout := <<"x">>} = ok(Config, ["cat", "/d/f"], #{preopens => Preopens}).

refused_wasi_calls_trap_with_a_kind(Config) ->
    %% Arguments WASI cannot take are the guest's doing, told apart from
    %% the runtime's own errors (host_error).
    {ok, M} = wasm_runtime_nif:load(data(Config, "wasi_hostile.wat")),
    Call = fun(Name, Args) ->
                   {ok, I} = wasm_runtime_nif:instantiate(M, [{wasi, #{}}]),
                   try wasm_runtime_nif:call_raw(I, Name, Args) catch error:Reason -> Reason end
           end,
    ?assertMatch({trap, invalid_wasi_call, <<"Invalid flag value", _/binary>>},
                 Call(bad_flags, [])),
    ?assertMatch({trap, invalid_wasi_call, <<"Pointer out of bounds", _/binary>>},
                 Call(bad_pointer, [])),
    ?assertEqual(0, Call(random, [1 bsl 20])),
    ?assertEqual({trap, wasi_limit, <<"random_get of 1048577 bytes: at most 1048576 at once">>},
                 Call(random, [1 bsl 20 + 1])).

a_missing_preopen_fails_instantiation(Config) ->
    Missing = filename:join(?config(dir, Config), "missing"),
    {error, {preopen_failed, Host, _Message}} =
        tool(Config, ["ls", "/x"], #{preopens => [{Missing, "/x", read}]}),
    ?assertEqual(list_to_binary(Missing), Host).

%%% ------------------------------------------------------------------
%%% Waits, kills, concurrency
%%% ------------------------------------------------------------------

a_sleeping_program_holds_no_scheduler(Config) ->
    %% Many programs sleeping at once: their callers wait in receive, not
    %% on a scheduler (held, or rescheduled again and again).
    N = 4 * erlang:system_info(schedulers_online),
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), tool(Config, ["sleep", "1000"], #{})} end)
            || _ <- lists:seq(1, N)],
    true = wasm_test_util:wait_until(
             fun() -> lists:all(fun(P) -> process_info(P, status) =:= {status, waiting} end, Pids) end,
             5000),
    Sampled = [[process_info(P, status) || P <- Pids] || _ <- lists:seq(1, 5), ok =:= timer:sleep(20)],
    ?assertEqual([{status, waiting}], lists:usort(lists:append(Sampled))),
    [receive {Pid, {ok, #{exit_code := 0, stdout := <<"slept 1000 ms\n">>}}} -> ok end
     || Pid <- Pids].

a_sleep_past_the_timeout_times_out(Config) ->
    {error, #{reason := {trap, timeout, _}}} = tool(Config, ["sleep", "60000"], #{timeout => 100}),
    %% Sleeps that end about when their timeout does: however each run
    %% ends, no wake is left in the caller's mailbox.
    [case tool(Config, ["sleep", "20"], #{timeout => 20 + I rem 3}) of
         {ok, #{exit_code := 0}} -> ok;
         {error, #{reason := {trap, timeout, _}}} -> ok
     end || I <- lists:seq(1, 60)],
    timer:sleep(100),
    {messages, []} = process_info(self(), messages).

a_killed_caller_ends_its_run(Config) ->
    Before = wasm_runtime_nif:live_counts(),
    Runs = [{Command, spawn(fun() -> tool(Config, [Command | Args], #{}) end)}
            || {Command, Args} <- [{"spin", []}, {"sleep", ["60000"]}, {"flood", []},
                                   {"cat", ["-"]}]],
    timer:sleep(200),
    [exit(Pid, kill) || {_, Pid} <- Runs],
    %% The runs' instances and suspended calls are freed with their callers.
    #{instances := Instances, calls := Calls} = Before,
    Freed = fun() ->
                    erlang:garbage_collect(),
                    #{instances := I, calls := C} = wasm_runtime_nif:live_counts(),
                    I =< Instances andalso C =< Calls
            end,
    true = wasm_test_util:wait_until(Freed, 5000),
    %% The VM is fine: another program runs.
    #{exit_code := 0} = ok(Config, ["args"], #{}).

clocks_and_random_work(Config) ->
    #{stdout := Clock} = ok(Config, ["clock"], #{}),
    [Real, _Mono] = [binary_to_integer(T) || T <- binary:split(Clock, [<<" ">>, <<"\n">>], [global, trim])],
    ?assert(abs(Real - erlang:system_time(second)) < 5),
    #{stdout := R1} = ok(Config, ["random"], #{}),
    #{stdout := R2} = ok(Config, ["random"], #{}),
    ?assertEqual(33, byte_size(R1)),
    ?assertNotEqual(R1, R2).

many_programs_run_at_once(Config) ->
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), I, ok(Config, ["args", integer_to_list(I)], #{})} end)
            || I <- lists:seq(1, 200)],
    [receive
         {Pid, I, #{exit_code := 0, stdout := Out}} ->
             ?assertEqual(iolist_to_binary(["wasi_tool\nargs\n", integer_to_list(I), "\n"]), Out)
     end || {Pid, I} <- lists:zip(Pids, lists:seq(1, 200))],
    ok.

bad_options_are_refused(Config) ->
    Tool = ?config(tool, Config),
    Bad = [#{args => "not a list of strings"}, #{args => [1]}, #{args => [<<0>>]},
           #{env => #{"A=B" => "1"}}, #{env => [{"", "x"}]}, #{env => [x]}, #{env => 3},
           #{stdin => atom}, #{preopens => [{"/tmp", "/t", write}]}, #{preopens => x},
           #{stdout => {capture, -1}}, #{stderr => keep}, #{timeout => -1},
           #{fuel => x}, #{max_memory => 0}, #{unknown => 1}],
    [?assertError({bad_option, _}, wasm_runtime_nif:run_wasi(Tool, Options)) || Options <- Bad],
    ?assertError({bad_option, _}, wasm_runtime_nif:run_wasi(Tool, [])),
    ?assertError({bad_option, _}, wasm_runtime_nif:instantiate(Tool, [{wasi, [args]}])),
    {error, {file, "/nonexistent.wasm", enoent}} =
        wasm_runtime_nif:run_wasi("/nonexistent.wasm", #{}),
    %% A timeout bounds the whole run, instantiation included.
    {ok, Looping} = wasm_runtime_nif:compile(
                      <<"(module (import \"wasi_snapshot_preview1\" \"sched_yield\" (func (result i32)))"
                        " (memory (export \"memory\") 1) (func $loop (loop $l (br $l))) (start $loop)"
                        " (func (export \"_start\")))">>),
    {error, {trap, timeout, _}} = wasm_runtime_nif:run_wasi(Looping, #{timeout => 100}),
    %% A module without WASI runs too, with no output.
    {ok, Plain} = wasm_runtime_nif:compile(<<"(module (func (export \"_start\")))">>),
    {ok, #{exit_code := 0, stdout := <<>>, stderr := <<>>}} = wasm_runtime_nif:run_wasi(Plain, #{}),
    [?assertError({bad_option, _}, wasm_runtime_nif:run_wasi(Tool, #{Key => ["a" | b]}))
     || Key <- [args, env, preopens]],
    %% A module that cannot be instantiated, and one that is no command.
    {ok, Reactor} = wasm_runtime_nif:load(data(Config, "wasi_reactor.wasm")),
    {error, {unknown_import, <<"env">>, <<"host_add">>, func}} =
        wasm_runtime_nif:run_wasi(Reactor, #{}),
    {ok, NoStart} = wasm_runtime_nif:compile(
                      <<"(module (import \"wasi_snapshot_preview1\" \"sched_yield\" (func (result i32)))"
                        " (memory (export \"memory\") 1))">>),
    {error, #{reason := {undefined_function, '_start'}, stdout := <<>>}} =
        wasm_runtime_nif:run_wasi(NoStart, #{}),
    %% A WASI function imported with the wrong type is refused at compile.
    {error, {import_type_mismatch, <<"wasi_snapshot_preview1.sched_yield">>, _, _}} =
        wasm_runtime_nif:compile(<<"(module (import \"wasi_snapshot_preview1\" \"sched_yield\" (func)))">>).

a_module_is_run_as_often_as_asked(Config) ->
    [#{exit_code := 0} = ok(Config, ["args"], #{}) || _ <- lists:seq(1, 50)],
    ok.

%%% ------------------------------------------------------------------
%%% A program from crates.io
%%% ------------------------------------------------------------------

a_crates_io_program_matches_its_native_build(Config) ->
    {ok, Markdown} = file:read_file(data(Config, "sample.md")),
    Native = native_output(data(Config, "markdown.native"), Markdown),
    {ok, #{exit_code := 0, stdout := Html, stderr := <<>>}} =
        wasm_runtime_nif:run_wasi(data(Config, "markdown.wasm"),
                                  #{args => ["markdown"], stdin => Markdown}),
    ?assertMatch(<<"<h1>WASI on the BEAM</h1>", _/binary>>, Html),
    ?assertEqual(Native, Html).

a_rust_panic_is_on_stderr(Config) ->
    {error, #{reason := {trap, unreachable, _}, stdout := <<"<p>x</p>\n">>, stderr := Err}} =
        wasm_runtime_nif:run_wasi(data(Config, "markdown.wasm"),
                                  #{args => ["markdown", "--panic"], stdin => "x"}),
    ?assertMatch({_, _}, binary:match(Err, <<"asked to panic after 9 bytes of HTML">>)).

%% The native program's stdout when it reads `Input' from a file.
native_output(Program, Input) ->
    File = filename:join(filename:dirname(Program), "markdown_input.md"),
    ok = file:write_file(File, Input),
    Port = open_port({spawn_executable, "/bin/sh"},
                     [{args, ["-c", "exec \"$0\" < \"$1\"", Program, File]},
                      binary, exit_status, stream]),
    collect(Port, <<>>).

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, <<Acc/binary, Data/binary>>);
        {Port, {exit_status, 0}} -> Acc
    after 10000 -> ct:fail(native_program_hung)
    end.

%%% ------------------------------------------------------------------
%%% Reactors
%%% ------------------------------------------------------------------

reactor(Config, Options) ->
    {ok, Module} = wasm_runtime_nif:load(data(Config, "wasi_reactor.wasm")),
    Imports = {imports, #{{env, host_add} => fun(A, B) -> A + B end}},
    {ok, Instance} = wasm_runtime_nif:instantiate(Module, [Imports | Options]),
    Instance.

a_reactor_is_initialized_and_called(Config) ->
    I = reactor(Config, [{wasi, #{env => #{"GREETING" => "hello"}}}]),
    %% _initialize ran once: the counter starts at 100.
    101 = wasm_runtime_nif:call_raw(I, bump, [1]),
    103 = wasm_runtime_nif:call_raw(I, bump, [2]),
    5 = wasm_runtime_nif:call_raw(I, greeting_length, []),
    {ok, #{stdout := <<"counter 101\ncounter 103\n">>, stderr := <<>>}} =
        wasm_runtime_nif:wasi_output(I).

a_reactor_mixes_wasi_terms_and_funs(Config) ->
    I = reactor(Config, [{wasi, #{}}]),
    42 = wasm_runtime_nif:call_raw(I, add_via_host, [40, 2]),
    {tagged, [1, 2]} = wasm_runtime_nif:call(I, tag, [[1, 2]]),
    %% A copy large enough to yield inside the term ABI goes on at once.
    Big = binary:copy(<<"0123456789abcdef">>, 256 * 1024),
    Big = wasm_runtime_nif:call(I, echo_binary, [Big], [{timeout, 60000}]),
    101 = wasm_runtime_nif:call_raw(I, bump, [1]).

a_reactor_that_exits_is_invalidated(Config) ->
    I = reactor(Config, [{wasi, #{}}]),
    101 = wasm_runtime_nif:call_raw(I, bump, [1]),
    ?assertError({exit, 7}, wasm_runtime_nif:call_raw(I, quit, [7])),
    ?assertError({instance_invalidated, _}, wasm_runtime_nif:call_raw(I, bump, [1])),
    %% What it wrote before is still there.
    {ok, #{stdout := <<"counter 101\n">>}} = wasm_runtime_nif:wasi_output(I).

output_is_read_and_cleared(Config) ->
    I = reactor(Config, [{wasi, #{stdout => {capture, 24}}}]),
    101 = wasm_runtime_nif:call_raw(I, bump, [1]),
    void = wasm_runtime_nif:call_raw(I, complain, []),
    {ok, #{stdout := <<"counter 101\n">>, stderr := <<"something is off\n">>}} =
        wasm_runtime_nif:wasi_output(I),
    {ok, #{stdout := <<>>, stderr := <<>>}} = wasm_runtime_nif:wasi_output(I),
    %% Reading made room under the 24-byte ceiling again.
    102 = wasm_runtime_nif:call_raw(I, bump, [1]),
    103 = wasm_runtime_nif:call_raw(I, bump, [1]),
    {ok, #{stdout := <<"counter 102\ncounter 103\n">>}} = wasm_runtime_nif:wasi_output(I).

an_instance_without_wasi_has_no_output(_Config) ->
    {ok, Module} = wasm_runtime_nif:compile(<<"(module (func (export \"f\")))">>),
    {ok, I} = wasm_runtime_nif:instantiate(Module, [{wasi, #{args => ["ignored"]}}]),
    {error, not_wasi} = wasm_runtime_nif:wasi_output(I).

a_wasi_module_without_options_gets_nothing(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(tool, Config)),
    %% No args: main sees argc 0 and prints its usage.
    ?assertError({exit, 2}, wasm_runtime_nif:call_raw(I, '_start', [])),
    {ok, #{stdout := <<>>, stderr := <<"usage", _/binary>>}} = wasm_runtime_nif:wasi_output(I).
