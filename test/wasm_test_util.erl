%% Helpers shared by the Common Test suites.
-module(wasm_test_util).

-export([load/2, instance/2, instance/3, fixture/2, load_fixture/2, raised/1,
         call_in_new_process/1, wait_until/2]).

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
