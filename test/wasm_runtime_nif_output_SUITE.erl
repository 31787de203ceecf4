%% Guest output: what enif_printf_* prints goes to the calling process's
%% group leader, bounded per call, and never blocks a scheduler.
-module(wasm_runtime_nif_output_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([printf_reaches_the_group_leader/1, output_comes_before_what_follows/1,
         output_is_bounded_per_call/1, start_function_output/1,
         undrained_stdout_blocks_no_scheduler/1, a_stuck_group_leader_cannot_stop_a_timeout/1]).
%% Run in a VM of its own.
-export([print_into_a_full_pipe/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-import(wasm_test_util, [raised/1]).

-define(MAX_OUTPUT, 1048576).

all() ->
    [printf_reaches_the_group_leader, output_comes_before_what_follows,
     output_is_bounded_per_call, start_function_output, undrained_stdout_blocks_no_scheduler,
     a_stuck_group_leader_cannot_stop_a_timeout].

init_per_suite(Config) ->
    [{module, wasm_test_util:load(Config, "print.wat")} | Config].

end_per_suite(_Config) ->
    ok.

%% Runs Fun in a new process whose group leader keeps what it is sent, and
%% returns {What Fun returned or raised, [{Encoding, Chars}] in order}.
captured(Fun) ->
    Leader = spawn_link(fun() -> leader([]) end),
    Result = wasm_test_util:call_in_new_process(
               fun() ->
                       group_leader(Leader, self()),
                       Fun()
               end),
    Leader ! {get, self()},
    receive {printed, Printed} -> {Result, Printed} end.

leader(Acc) ->
    receive
        {io_request, From, ReplyAs, {put_chars, Encoding, Chars}} ->
            From ! {io_reply, ReplyAs, ok},
            leader([{Encoding, iolist_to_binary(Chars)} | Acc]);
        {io_request, From, ReplyAs, _} ->
            From ! {io_reply, ReplyAs, {error, request}},
            leader(Acc);
        {get, Pid} ->
            Pid ! {printed, lists:reverse(Acc)}
    end.

text(Printed) ->
    iolist_to_binary([Chars || {_, Chars} <- Printed]).

%% Before, guest output went to the OS's stdout: no group leader (ExUnit's
%% capture_io, a remote shell) ever saw it.
printf_reaches_the_group_leader(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    ?assertEqual({no_error, 14}, element(1, captured(fun() -> wasm_runtime_nif:call_raw(I, lines, [2]) end))),
    {_, Lines} = captured(fun() -> wasm_runtime_nif:call_raw(I, lines, [3]) end),
    ?assertEqual(<<"line 0\nline 1\nline 2\n">>, text(Lines)),
    %% UTF-8 as such; other bytes as Latin-1, byte for byte.
    {_, Utf8} = captured(fun() -> wasm_runtime_nif:call_raw(I, utf8, []) end),
    ?assertEqual([{unicode, <<"✓ 1\n"/utf8>>}], Utf8),
    {_, Latin1} = captured(fun() -> wasm_runtime_nif:call_raw(I, latin1, []) end),
    ?assertEqual([{latin1, <<255, 254, " 2\n">>}], Latin1),
    %% call/3 guests too: the bundled example's hello/1.
    ok = wasm_runtime_nif:init(),
    E = wasm_runtime_nif:new(),
    ?assertEqual({{no_error, 42}, [{unicode, <<"hello from wasm, you passed 42\n">>}]},
                 captured(fun() -> wasm_runtime_nif:call(E, hello, [42]) end)).

%% Output printed before a long call ends, or before it traps, is written
%% first, and the call's result or exception follows.
output_comes_before_what_follows(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    %% About 50 ms of spinning: several slices.
    {Result, Printed} = captured(fun() -> wasm_runtime_nif:call_raw(I, print_then_spin, [50000000]) end),
    ?assertEqual({no_error, 7}, Result),
    ?assertEqual(<<"line 1\nline 2\n">>, text(Printed)),
    ?assert(length(Printed) >= 2),
    {Trap, Before} = captured(fun() -> wasm_runtime_nif:call_raw(I, print_then_trap, []) end),
    ?assertMatch({trap, unreachable, _}, Trap),
    ?assertEqual(<<"line 3\n">>, text(Before)),
    %% A guest whose result looks like our output request gets it back.
    {ok, T} = wasm_runtime_nif:instantiate(
                wasm_test_util:load_fixture(wasm_runtime_nif_call_SUITE, "hostile.wat")),
    Lookalike = {wasm_runtime_nif_output, <<"x">>, {wasm_runtime_nif_resume, a, b}},
    ?assertEqual({{no_error, Lookalike}, []},
                 captured(fun() -> wasm_runtime_nif:call(T, echo, [Lookalike]) end)),
    %% And so does one that prints before it returns such a result.
    {ok, P} = wasm_runtime_nif:instantiate(?config(module, Config)),
    [?assertEqual({{no_error, Echoed}, [{unicode, <<"line 4\n">>}]},
                  captured(fun() -> wasm_runtime_nif:call(P, print_and_echo, [Echoed]) end))
     || Echoed <- [Lookalike, {wasm_runtime_nif_resume, a, b},
                   {wasm_runtime_nif_output, <<>>, ok, infinity}, {wasm_runtime_nif_value, 1}]].

%% One printf of a 4 KiB format can ask for 38 MB; before, it was written
%% in one go, whatever the call's timeout. A call prints at most 1 MiB,
%% after which printf returns -1 and a note says the output was cut.
output_is_bounded_per_call(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    {Wide, Printed} = captured(fun() -> wasm_runtime_nif:call_raw(I, wide, []) end),
    ?assertEqual({no_error, -1}, Wide),
    Text = text(Printed),
    ?assert(byte_size(Text) =< ?MAX_OUTPUT + 100),
    ?assertMatch({_, _}, binary:match(Text, <<"output was cut at 1 MiB">>)),
    %% The allowance is per call: the next call prints again.
    %% lines/1 sums what printf returned: -1 once cut.
    {{no_error, Sum}, Again} = captured(fun() -> wasm_runtime_nif:call_raw(I, lines, [200000]) end),
    ?assert(Sum < ?MAX_OUTPUT),
    ?assert(byte_size(text(Again)) =< ?MAX_OUTPUT + 100),
    ?assertMatch(<<"line 0\nline 1\n", _/binary>>, text(Again)),
    {_, Small} = captured(fun() -> wasm_runtime_nif:call_raw(I, lines, [1]) end),
    ?assertEqual(<<"line 0\n">>, text(Small)).

start_function_output(Config) ->
    M = wasm_test_util:load(Config, "print_start.wat"),
    {Result, Printed} = captured(fun() -> wasm_runtime_nif:instantiate(M) end),
    ?assertMatch({no_error, {ok, _}}, Result),
    ?assertEqual(<<"started 9\n">>, text(Printed)).

%% With the VM's stdout a pipe nobody reads for a while, a guest printing
%% a lot blocks its caller (in receive, as io:format would) and nothing
%% else: a process ticking on the only scheduler goes on, and once the pipe
%% is read all the output arrives. Before, a scheduler wrote it to stdout
%% itself: on a full pipe, a blocking one froze the VM, a non-blocking one
%% (as the BEAM leaves it) lost all but the first 64 KiB. The VM runs under
%% a shell that pipes its stdout into a reader that waits 3 s.
undrained_stdout_blocks_no_scheduler(Config) ->
    Priv = ?config(priv_dir, Config),
    Report = filename:join(Priv, "pipe_report"),
    Out = filename:join(Priv, "pipe_out"),
    Paths = lists:usort([filename:dirname(code:which(M)) || M <- [wasm_runtime_nif, ?MODULE]]),
    Command = lists:flatten(
                ["timeout -k 5 60 sh -c '", os:find_executable("erl"), " +S 1 -noshell",
                 [[" -pa ", P] || P <- Paths],
                 " -run ", atom_to_list(?MODULE), " print_into_a_full_pipe ",
                 filename:join(?config(data_dir, Config), "print.wat"), " ", Report,
                 " | (sleep 3; cat > ", Out, ")'"]),
    _ = file:delete(Report),
    Port = open_port({spawn, Command}, [exit_status]),
    receive {Port, {exit_status, Status}} -> ?assertEqual(0, Status) after 60000 -> ct:fail(hung) end,
    {ok, [{Ticks, Printed}]} = file:consult(Report),
    ct:log("ticks while the guest's output waited for the pipe: ~p", [Ticks]),
    ?assert(Ticks >= 50),
    %% The call finished; lines/1 sums what printf returned (-1 once cut).
    ?assert(is_integer(Printed) andalso Printed < ?MAX_OUTPUT),
    {ok, Text} = file:read_file(Out),
    ?assertMatch(<<"line 0\nline 1\n", _/binary>>, Text),
    ?assert(byte_size(Text) >= ?MAX_OUTPUT),
    ?assertMatch({_, _}, binary:match(Text, <<"output was cut at 1 MiB">>)).

print_into_a_full_pipe([Path, Report]) ->
    {ok, M} = wasm_runtime_nif:load(Path),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Self = self(),
    Ticker = spawn(fun() -> tick(Self, 0) end),
    %% 1 MiB of output, more than a pipe holds: the call waits for it.
    {Caller, Ref} = spawn_monitor(fun() -> exit({printed, wasm_runtime_nif:call_raw(I, lines, [200000])}) end),
    timer:sleep(2000),
    Ticker ! stop,
    receive {ticks, Ticks} -> ok end,
    Printed = receive {'DOWN', Ref, process, Caller, {printed, Sum}} -> Sum end,
    ok = file:write_file(Report, io_lib:format("~p.~n", [{Ticks, Printed}])),
    erlang:halt(0).

%% A group leader that never answers holds up output, never the call's
%% timeout: a call that prints and then runs on ends with {trap, timeout, _}
%% on time. Before, the call waited for the group leader with the instance
%% parked, for ever.
a_stuck_group_leader_cannot_stop_a_timeout(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(module, Config)),
    Stuck = spawn_link(fun() -> receive never -> ok end end),
    Result = wasm_test_util:call_in_new_process(
               fun() ->
                       group_leader(Stuck, self()),
                       wasm_runtime_nif:call_raw(I, print_then_spin, [1 bsl 40], [{timeout, 300}])
               end),
    ?assertMatch({trap, timeout, _}, Result),
    unlink(Stuck),
    exit(Stuck, kill).

tick(Parent, N) ->
    receive
        stop -> Parent ! {ticks, N}
    after 10 ->
        tick(Parent, N + 1)
    end.
