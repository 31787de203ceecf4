#!/usr/bin/env escript
%%! -noshell -pa _build/default/lib/wasm_runtime_nif/ebin
%% Replays the seed README's shell session on the bundled example module:
%% each line is parsed and evaluated as the shell would, and its result or
%% exception printed the way the shell prints it. Run from the repository
%% root after a build: `make demo`.
-mode(compile).

main(_) ->
    Steps = [
        "wasm_runtime_nif:init().",
        "M = wasm_runtime_nif:new().",
        "wasm_runtime_nif:call_raw(M, add_I32, [4,7]).",
        "wasm_runtime_nif:call(M, add_terms, [4,7]).",
        "wasm_runtime_nif:call(M, add_list_terms, [[4,6,3,7,5]]).",
        "wasm_runtime_nif:call(M, binary_reverse, [<<1,2,3,4,5>>]).",
        "Mb = wasm_runtime_nif:new([process_bound]).",
        "wasm_runtime_nif:call(Mb, add_terms, [4,7]).",
        "self().",
        "1=2.",
        %% The shell restarts its evaluator process after an exception; the
        %% session goes on in a new process, as in the seed README.
        "self().",
        "wasm_runtime_nif:call(Mb, add_terms, [4,7]).",
        %% Beyond the seed: the module's functions, and a trap.
        "wasm_runtime_nif:print_func(M, add_list_terms).",
        "wasm_runtime_nif:call_raw(M, fib, [90]).",
        "{ok, Mod} = wasm_runtime_nif:compile(<<\"(module (func (export \\\"div\\\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))\">>).",
        "{ok, D} = wasm_runtime_nif:instantiate(Mod).",
        "wasm_runtime_nif:call_raw(D, 'div', [7, 0]).",
        "wasm_runtime_nif:call_raw(D, 'div', [7, 2])."
    ],
    Final = lists:foldl(fun step/2, {1, erl_eval:new_bindings(), spawn_evaluator()}, Steps),
    {_, _, Evaluator} = Final,
    exit(Evaluator, kill),
    io:format("~nDemo finished: the seed session ran on the bundled module.~n").

step(Line, {N, Bindings, Evaluator}) ->
    io:format("~b> ~ts~n", [N, Line]),
    Evaluator ! {eval, self(), Line, Bindings},
    receive
        {value, Value, NewBindings} ->
            io:format("~tp~n", [Value]),
            {N + 1, NewBindings, Evaluator};
        {exception, Class, Reason, Stack} ->
            %% Formatted as the shell formats it, less the stack trace.
            Text = erl_error:format_exception(Class, Reason, lists:sublist(Stack, 0)),
            io:format("** ~ts~n", [Text]),
            {N + 1, Bindings, spawn_evaluator()}
    after 30000 ->
        io:format("** no answer within 30 s~n"),
        halt(1)
    end.

%% Evaluates lines in its own process, like the shell's evaluator, and
%% dies with the exception when one is raised.
spawn_evaluator() ->
    spawn(fun evaluator/0).

evaluator() ->
    receive
        {eval, From, Line, Bindings} ->
            {ok, Tokens, _} = erl_scan:string(Line),
            {ok, Exprs} = erl_parse:parse_exprs(Tokens),
            try erl_eval:exprs(Exprs, Bindings) of
                {value, Value, NewBindings} ->
                    From ! {value, Value, NewBindings},
                    evaluator()
            catch
                Class:Reason:Stack ->
                    From ! {exception, Class, Reason, Stack}
            end
    end.
