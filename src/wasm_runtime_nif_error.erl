%% @doc Errors in words: the OTP error-info convention for the exceptions
%% the API raises. The reason raised stays the term the docs list; the
%% shell, `erl_error:format_exception/3' and Elixir print it as a sentence
%% ("the guest trapped in add_I32: integer divide by zero") from
%% {@link format_error/2}.
-module(wasm_runtime_nif_error).

-export([raised_here/1, format_error/2]).

%% Where the library raises: an error from anywhere else (an import fun's,
%% re-raised with its own stack) passes through untouched.
-define(RAISED_HERE, [wasm_runtime_nif_nif, wasm_runtime_nif_protocol, wasm_runtime_nif_options]).

%% @doc Whether the error with `Stack' was raised by the library rather
%% than by an import fun (re-raised with its own stack).
-spec raised_here(erlang:stacktrace()) -> boolean().
raised_here([{Module, _, _, _} | _]) ->
    lists:member(Module, ?RAISED_HERE);
raised_here(_) ->
    false.

%% @doc The words for an error of the API's function on top of `Stack'
%% (the error-info convention of `erl_error'): a `general' sentence, and
%% for `badarg' the argument at fault when it can be told.
-spec format_error(term(), erlang:stacktrace()) -> #{pos_integer() | general => binary()}.
format_error(Reason, [{wasm_runtime_nif_pool, Function, Args, _Info} | _]) when is_list(Args) ->
    case describe_pool(Reason, Function, Args) of
        Words when map_size(Words) > 0 -> Words;
        _ -> describe(Reason, Function, Args)
    end;
format_error(Reason, [{wasm_runtime_nif_service, Function, Args, _Info} | _]) when is_list(Args) ->
    case describe_service(Reason) of
        Words when map_size(Words) > 0 -> Words;
        _ -> describe_pool(Reason, Function, Args)
    end;
format_error(Reason, [{_Module, Function, Args, _Info} | _]) when is_list(Args) ->
    describe(Reason, Function, Args);
format_error(_Reason, _Stack) ->
    #{}.

describe(badarg, Function, [_]) when Function =:= info; Function =:= interrupt ->
    #{1 => case Function of
               info -> <<"not a module or an instance">>;
               interrupt -> <<"not an instance">>
           end};
describe(badarg, Function, [Instance | _]) when not is_reference(Instance) ->
    #{1 => case Function of
               new -> <<"not a list of instance options">>;
               _ -> <<"not an instance">>
           end};
describe(badarg, Function, [_, Name | _]) when (Function =:= call orelse Function =:= call_raw),
                                               not is_atom(Name), not is_binary(Name) ->
    #{2 => <<"not a function name (an atom or a binary)">>};
describe(badarg, Function, [_, _, Args | _]) when (Function =:= call orelse Function =:= call_raw),
                                                  not is_list(Args) ->
    #{3 => <<"not a list of arguments">>};
describe(badarg, call_raw, [_, Name | _]) ->
    general("an argument of ~ts does not fit its parameter's type", [name(Name)]);
describe(badarg, call, [_, Name | _]) ->
    general("~ts refused its arguments, or an argument is not a term the guest "
            "term ABI can pass", [name(Name)]);
describe({trap, Kind, Message}, _Function, [_, Name | _]) ->
    general("~ts", [trap(Kind, Message, name(Name))]);
describe({instance_invalidated, {trap, Kind, Message}}, _Function, _Args) ->
    general("the instance cannot be called any more: an earlier call ended it (~ts)",
            [trap(Kind, Message, "it")]);
describe({instance_invalidated, Why}, _Function, _Args) ->
    general("the instance cannot be called any more: ~tp", [Why]);
describe(instance_released, _Function, _Args) ->
    general("the instance was released", []);
describe(timeout, _Function, _Args) ->
    general("the instance stayed busy with other calls past this call's timeout", []);
describe({undefined_function, Name}, _Function, _Args) ->
    general("the module exports no function ~ts", [name(Name)]);
describe({badarity, Name, Expected, Given}, _Function, _Args) ->
    general("~ts takes ~b argument~ts, not ~b", [name(Name), Expected, plural(Expected), Given]);
describe({bad_argument, _Name, _Parameter, Message}, _Function, _Args) when is_binary(Message) ->
    general("bad argument: ~ts", [Message]);
describe({bad_resource, Message}, _Function, _Args) when is_binary(Message) ->
    general("bad resource: ~ts", [Message]);
describe({bad_option, Option}, _Function, _Args) ->
    general("bad option: ~tp", [Option]);
describe("called by wrong process", _Function, _Args) ->
    general("the instance is bound to another process (process_bound)", []);
describe(reentrant_call, _Function, _Args) ->
    general("an import fun called the instance that is calling it", []);
describe(_Reason, _Function, _Args) ->
    #{}.

%% The errors of a pool (wasm_runtime_nif_pool) rather than of its calls.
describe_pool(timeout, _Function, _Args) ->
    general("no instance of the pool was free before the timeout (nothing ran)", []);
describe_pool({no_pool, Name}, _Function, _Args) ->
    general("no pool is named ~tp", [Name]);
describe_pool({pool_stopped, Name}, _Function, _Args) ->
    general("the pool ~tp stopped", [Name]);
describe_pool({pool_full, Name}, _Function, _Args) ->
    general("the pool ~tp has max_waiters callers waiting already (nothing ran)", [Name]);
describe_pool(badarg, with_instance, [_, Fun, _]) when not is_function(Fun, 1) ->
    #{2 => <<"not a fun of one argument">>};
describe_pool(badarg, start_link, [_, _Source, _]) ->
    #{2 => <<"an instance, not a module">>};
describe_pool(_Reason, _Function, _Args) ->
    #{}.

%% The errors of a service (wasm_runtime_nif_service) rather than of its
%% calls.
describe_service({no_service, Name}) ->
    general("no node serves ~tp", [Name]);
describe_service({nodedown, Node}) ->
    general("the node ~tp went down or could not be reached: the call may or may not "
            "have run there", [Node]);
describe_service({remote_timeout, Node}) ->
    general("no answer from ~tp within the call's timeout: the call may have run there", [Node]);
describe_service({remote_exit, Node, Reason}) ->
    general("the process running the call on ~tp exited: ~tp", [Node, Reason]);
describe_service({not_run, Node, Reason}) ->
    general("the call did not run on ~tp: ~tp", [Node, Reason]);
describe_service(_Reason) ->
    #{}.

%% "the guest trapped in add_I32: integer divide by zero", and the like.
trap(timeout, Message, Name) ->
    io_lib:format("the call of ~ts timed out: ~ts", [Name, Message]);
trap(out_of_fuel, _Message, Name) ->
    io_lib:format("the call of ~ts ran out of fuel", [Name]);
trap(interrupted, _Message, Name) ->
    io_lib:format("the call of ~ts was interrupted (wasm_runtime_nif:interrupt/1)", [Name]);
trap(cancelled, Message, Name) ->
    io_lib:format("the call of ~ts was cancelled: ~ts", [Name, Message]);
trap(_Kind, Message, Name) ->
    io_lib:format("the guest trapped in ~ts: ~ts", [Name, plain(Message)]).

%% Wasmtime's messages start with "wasm trap: ".
plain(<<"wasm trap: ", Rest/binary>>) -> Rest;
plain(Message) when is_binary(Message) -> Message;
plain(Message) -> io_lib:format("~tp", [Message]).

name(Name) when is_atom(Name) -> atom_to_binary(Name, utf8);
name(Name) when is_binary(Name) -> Name;
name(Name) -> io_lib:format("~tp", [Name]).

plural(1) -> "";
plural(_) -> "s".

%% Binaries: Elixir takes nothing else.
general(Format, Args) ->
    #{general => unicode:characters_to_binary(io_lib:format(Format, Args))}.
