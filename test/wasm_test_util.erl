%% Helpers shared by the Common Test suites.
-module(wasm_test_util).

-export([load/2, instance/2, instance/3, fixture/2, load_fixture/2, raised/1,
         call_in_new_process/1, wait_until/2, new_instance/1, call/3, expect_trap/4,
         quickcheck/2, remote_pid/0, dead_pid/0, a_port/0, on_peer/5]).

-include_lib("common_test/include/ct.hrl").

%% The module in the suite's data directory.
load(Config, File) ->
    {ok, Module} = wasm_runtime_nif:load(filename:join(?config(data_dir, Config), File)),
    Module.

%% A guest that lives beside another suite.
fixture(Suite, File) ->
    filename:join([filename:dirname(code:which(Suite)), atom_to_list(Suite) ++ "_data", File]).

load_fixture(Suite, File) ->
    {ok, Module} = wasm_runtime_nif:load(fixture(Suite, File)),
    Module.

instance(Config, File) ->
    instance(Config, File, []).

instance(Config, File, Options) ->
    {ok, Instance} = wasm_runtime_nif:instantiate(load(Config, File), Options),
    Instance.

%% The reason of the error raised by Fun, or {no_error, Result}.
raised(Fun) ->
    try Fun() of
        Result -> {no_error, Result}
    catch
        error:Reason -> Reason
    end.

%% Runs Fun in a fresh process and returns what it returned or raised.
call_in_new_process(Fun) ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({done, raised(Fun)}) end),
    receive
        {'DOWN', Ref, process, Pid, {done, Result}} -> Result
    after 10000 ->
        exit(Pid, kill),
        error(timeout)
    end.

%% Polls Check every 20 ms until it returns true, for at most Ms.
wait_until(Check, Ms) when Ms =< 0 ->
    Check();
wait_until(Check, Ms) ->
    case Check() of
        true -> true;
        false ->
            timer:sleep(20),
            wait_until(Check, Ms - 20)
    end.

%% A new instance of the suite's module, `?config(module)'.
new_instance(Config) ->
    {ok, Instance} = wasm_runtime_nif:instantiate(?config(module, Config)),
    Instance.

%% call/3 on the test case's instance, `?config(instance)'.
call(Config, Name, Args) ->
    wasm_runtime_nif:call(?config(instance, Config), Name, Args).

%% The trap the call raises, {trap, Kind, Message} with Kind in Kinds; the
%% case fails on anything else.
expect_trap(Instance, Kinds, Name, Args) ->
    case raised(fun() -> wasm_runtime_nif:call(Instance, Name, Args) end) of
        {trap, Kind, Message} = Trap when is_binary(Message) ->
            lists:member(Kind, Kinds) orelse
                ct:fail({unexpected_trap_kind, Name, Kind, Kinds, Message}),
            Trap;
        Other ->
            ct:fail({expected_trap, Name, Kinds, Other})
    end.

%% Runs a PropEr property; a counterexample fails the case.
quickcheck(Property, NumTests) ->
    case proper:quickcheck(Property, [{numtests, NumTests}, quiet]) of
        true -> ok;
        _ -> ct:fail({counterexample, proper:counterexample()})
    end.

%% A pid of another node, made without distribution (NEW_PID_EXT).
remote_pid() ->
    Node = <<"wasm_test_remote@nohost">>,
    binary_to_term(<<131, 88, 119, (byte_size(Node)), Node/binary, 1:32, 0:32, 1:32>>).

%% The pid of a process that has exited.
dead_pid() ->
    {Pid, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, Pid, _} -> Pid end.

a_port() ->
    hd(erlang:ports()).

%% Module:Function(Args...) run on a fresh peer node started with the
%% emulator arguments ExtraArgs and this node's code path for the library,
%% the test helpers and Module; the peer is stopped afterwards. A peer that
%% dies (a VM crash) fails the caller: the peer is linked to it.
on_peer(ExtraArgs, Module, Function, Args, Timeout) ->
    Paths = lists:usort([filename:dirname(code:which(M))
                         || M <- [wasm_runtime_nif, ?MODULE, Module]]),
    {ok, Peer, _} = peer:start_link(#{connection => standard_io,
                                      args => ExtraArgs ++ lists:append([["-pa", P] || P <- Paths])}),
    try
        peer:call(Peer, Module, Function, Args, Timeout)
    after
        catch peer:stop(Peer)
    end.
