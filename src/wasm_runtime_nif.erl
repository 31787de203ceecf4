%% @doc Load WebAssembly modules and call them inside the Erlang VM.
%%
%% A module is compiled once ({@link load/1}, {@link compile/1}, or
%% {@link init/1} for the default module) and instantiated as often as
%% needed ({@link new/1}, {@link instantiate/2}). An instance is a NIF
%% resource freed by the garbage collector. Functions that take and return
%% plain numbers are called with {@link call_raw/3}; functions written
%% against the guest term ABI (`erl_nif_wasm.h') read and build Erlang terms
%% and are called with {@link call/3}.
%%
%% Guest code runs in Wasmtime's sandbox: a trap raises
%% `{trap, Kind, Message}' and invalidates that instance only; bad handles
%% and pointers from the guest are refused, never followed.
-module(wasm_runtime_nif).

-export([init/0, init/1, new/0, new/1,
         call_raw/3, call_raw/4, call/3, call/4, print_func/2,
         load/1, load/2, compile/1, compile/2, instantiate/1, instantiate/2,
         exports/1, default_module/0, live_counts/0, release/1]).

-define(DEFAULT_MODULE_KEY, {?MODULE, default_module}).
%% Raised by the call NIFs when the instance is busy: the caller has been
%% queued and will receive {?TURN, Id} when it may try again.
-define(BUSY, wasm_runtime_nif_busy).
-define(TURN, wasm_runtime_nif_turn).
%% Returned by the call NIFs when the guest calls an Erlang import, and
%% when such a fun raised: see result/1.
-define(HOST_CALL, wasm_runtime_nif_host_call).
-define(HOST_RAISED, wasm_runtime_nif_host_raised).
%% A guest's result that starts with one of these tags comes wrapped in it.
-define(VALUE, wasm_runtime_nif_value).
%% What a guest printed, to write to the caller's group leader before going
%% on with what follows it: {?OUTPUT, Bytes, Then, Left}. Then is what the
%% NIF would have returned, or {?RESUME, Call, Carried} for a call to go
%% on; Left bounds the wait for the group leader (what is left of the
%% call's timeout while the call holds the instance, else infinity).
-define(OUTPUT, wasm_runtime_nif_output).
-define(RESUME, wasm_runtime_nif_resume).
%% The longest wait `receive ... after' accepts, in milliseconds.
-define(MAX_TIMEOUT, 16#ffffffff).
-define(IS_TIMEOUT(T), (T =:= infinity orelse (is_integer(T) andalso T >= 0 andalso T =< ?MAX_TIMEOUT))).
%% A byte count or a number of things, as the NIF takes it (64 bits).
-define(IS_COUNT(N), (is_integer(N) andalso N >= 0 andalso N < 1 bsl 64)).
-define(IS_FUEL(F), (F =:= infinity orelse ?IS_COUNT(F))).
%% The largest import fun, in external format, that the NIF copies into the
%% caller's heap (a few microseconds); larger ones are decoded in Erlang.
-define(MAX_COPIED_FUN, 4096).
%% The largest module file load/1,2 and init/1 read unless told otherwise.
-define(MAX_FILE_SIZE, (256 * 1024 * 1024)).

-type wasm_module() :: reference().
%% A compiled module: immutable, shareable between processes.
-type instance() :: reference().
%% An instance of a module with its own memory and state.
-type func_name() :: atom() | binary().
%% The name of an exported wasm function.
-type value() :: integer() | float() | nan | infinity | neg_infinity.
%% A wasm number: i32/i64 as integers, f32/f64 as floats (or the atoms for
%% the values Erlang floats cannot hold).
-type value_type() :: i32 | i64 | f32 | f64 | v128 | funcref | externref | ref.
-type export() :: {Name :: binary(),
                   {func, Params :: [value_type()], Results :: [value_type()]}
                   | memory | table | global | tag}.
-type instance_option() :: process_bound
                         | {imports, #{{import_name(), import_name()} => function()}}
                         | {max_memory, pos_integer()}
                         | {max_table_elements, non_neg_integer()}
                         | {max_memories, non_neg_integer()}
                         | {max_tables, non_neg_integer()}
                         | {timeout, timeout()}
                         | {fuel, non_neg_integer() | infinity}.
%% `process_bound': only the creating process may call. `imports': Erlang
%% funs implementing the module's imports, by module and name (see
%% {@link instantiate/2}). `max_memory': bytes of linear memory the
%% instance may grow to, all its memories together (default 256 MiB).
%% `max_table_elements': elements all its tables together may grow to
%% (default 1,000,000). `max_memories' and `max_tables': how many memories
%% (default 16) and tables (default 100) its module may define.
%% `timeout': default wall-clock limit of each call in milliseconds
%% (default `infinity'). `fuel': default fuel of each call (default
%% `infinity'; only for modules compiled with `[fuel]').
-type import_name() :: binary() | atom().
-type call_option() :: {timeout, timeout()} | {fuel, non_neg_integer() | infinity}.
%% `timeout': wall-clock limit of this call in milliseconds, including the
%% time spent waiting for a busy instance. `fuel': units of fuel the call
%% may burn (about one per wasm instruction), for modules compiled with
%% `[fuel]'. Both override the instance's.
-type compile_option() :: fuel | {cache, file:name_all()}.
-type load_option() :: compile_option() | {max_file_size, non_neg_integer()}.
%% `{max_file_size, Bytes}': the largest file {@link load/2} reads
%% (default 256 MiB); a larger one is `{error, {file, Path, {too_large,
%% Size, Max}}}'.
%% `fuel': compile with fuel metering, so that calls can be limited by
%% deterministic `fuel' rather than only by time. Metered code runs slower.
%% `{cache, Dir}': keep and reuse compiled code in `Dir'.
-type trap_reason() :: {trap, Kind :: atom(), Message :: binary()}.
-type load_error() :: {file, file:name_all(), file_error()} | compile_error().
-type file_error() :: file:posix() | changed_while_read
                    | {not_a_regular_file, fifo | character_device | block_device | socket | other}
                    | {too_large, Size :: non_neg_integer(), Max :: non_neg_integer()}.
%% Why a module file was not read: what the OS said, or that the path names
%% something other than a regular file, or a file larger than the ceiling
%% (`max_file_size').
-type compile_error() :: {invalid_module, Message :: binary()}
                       | {unknown_import, Module :: binary(), Name :: binary(), Kind :: atom()}
                       | {import_type_mismatch, Name :: binary(), Expected :: binary(), Actual :: binary()}
                       | {unsupported_import_signature, Module :: binary(), Name :: binary(),
                          Signature :: binary()}
                       | {import_type_conflict, Module :: binary(), Name :: binary(),
                          First :: binary(), Second :: binary()}
                       | {link_error, Message :: binary()}.
-type instantiate_error() :: trap_reason() | {instantiation_failed, Message :: binary()}
                           | {too_many, memories | tables, Defined :: non_neg_integer(),
                              Max :: non_neg_integer()}
                           | {system_limit, Message :: binary()}
                           | {unknown_import, Module :: binary(), Name :: binary(), func}
                           | {import_arity_mismatch, Module :: binary(), Name :: binary(),
                              Expected :: non_neg_integer(), Given :: non_neg_integer()}.

-export_type([wasm_module/0, instance/0, func_name/0, value/0, value_type/0, export/0,
              instance_option/0, call_option/0, compile_option/0, load_option/0, trap_reason/0,
              load_error/0, file_error/0, compile_error/0, instantiate_error/0]).

%%% ------------------------------------------------------------------
%%% The seed API
%%% ------------------------------------------------------------------

%% @doc Loads the example module bundled in `priv/example.wasm' as the
%% default module used by {@link new/0} and {@link new/1}.
-spec init() -> ok | {error, load_error()}.
init() ->
    init(filename:join(priv_dir(), "example.wasm")).

%% @doc Loads and compiles the wasm (or WAT) file `Path' as the default
%% module. Calling it again replaces the default module for later
%% {@link new/0} calls; instances already created keep theirs.
-spec init(file:name_all()) -> ok | {error, load_error()}.
init(Path) ->
    case load(Path) of
        {ok, Module} ->
            persistent_term:put(?DEFAULT_MODULE_KEY, Module),
            ok;
        {error, _} = Error ->
            Error
    end.

%% @equiv new([])
-spec new() -> instance().
new() ->
    new([]).

%% @doc Creates an instance of the default module (see {@link init/1}).
%%
%% By default, concurrent callers of one instance are served one at a time.
%% With `process_bound', only the calling process may use the instance;
%% any other raises `"called by wrong process"'. Raises `no_default_module'
%% before {@link init/1}, and the reason of {@link instantiate/2} if the
%% instance cannot be created.
-spec new([instance_option()]) -> instance().
new(Options) ->
    case instantiate(default_module(), Options) of
        {ok, Instance} -> Instance;
        {error, Reason} -> erlang:error(Reason, [Options])
    end.

%% @doc Calls the exported function `Name' with plain numbers.
%%
%% Each argument must fit its parameter type: i32 takes -2^31..2^32-1, i64
%% takes -2^63..2^64-1 (both come back signed), f32 and f64 take numbers.
%% Returns `void' for no result, the value for one, a tuple for several.
%% Raises `badarg' for a bad argument, `{badarity, Name, Expected, Given}',
%% `{undefined_function, Name}', and `{trap, Kind, Message}' when the guest
%% traps, after which the instance raises `{instance_invalidated, Trap}'.
-spec call_raw(instance(), func_name(), [value()]) -> void | value() | tuple().
call_raw(Instance, Name, Args) ->
    run(fun wasm_runtime_nif_nif:call_raw/4, Instance, Name, Args, default).

%% @doc {@link call_raw/3} with options: `[{timeout, Ms | infinity}]'.
%%
%% A call still running when its timeout expires is stopped and raises
%% `{trap, timeout, Message}'; like a trap, that invalidates the instance.
%% A call still waiting for a busy instance when it expires raises
%% `timeout' and leaves the instance alone.
-spec call_raw(instance(), func_name(), [value()], [call_option()]) -> void | value() | tuple().
call_raw(Instance, Name, Args, Options) ->
    run(fun wasm_runtime_nif_nif:call_raw/4, Instance, Name, Args, call_limits(Options, {default, default})).

%% @doc Calls the exported term-ABI function `Name' with Erlang terms.
%%
%% `Name' must have the wasm type `(i32, i64 x N) -> i64', the C signature
%% `ERL_NIF_TERM name(ErlNifEnv*, ERL_NIF_TERM...)'. Returns the term the
%% guest returns; raises `badarg' when the guest returns
%% `enif_wasm_make_badarg(env)', and as {@link call_raw/3} otherwise.
-spec call(instance(), func_name(), [term()]) -> term().
call(Instance, Name, Args) ->
    run(fun wasm_runtime_nif_nif:call/4, Instance, Name, Args, default).

%% @doc {@link call/3} with options, as {@link call_raw/4}.
-spec call(instance(), func_name(), [term()], [call_option()]) -> term().
call(Instance, Name, Args, Options) ->
    run(fun wasm_runtime_nif_nif:call/4, Instance, Name, Args, call_limits(Options, {default, default})).

%% @doc Prints the signature of the exported function `Name', as
%% `add_I32(i32, i32) -> i32'.
-spec print_func(instance() | wasm_module(), func_name()) -> ok.
print_func(ModuleOrInstance, Name) ->
    {Params, Results} = function_type(ModuleOrInstance, Name),
    io:format("~ts(~ts) -> ~ts~n", [name_binary(Name), join_types(Params), result_types(Results)]).

%%% ------------------------------------------------------------------
%%% Modules and instances
%%% ------------------------------------------------------------------

%% @doc Reads and compiles the wasm binary or WAT text file `Path'. Only a
%% regular file of at most 256 MiB is read: a directory, a device, a FIFO
%% or a larger file is `{error, {file, Path, Reason}}'.
-spec load(file:name_all()) -> {ok, wasm_module()} | {error, load_error()}.
load(Path) ->
    load(Path, []).

%% @doc {@link load/1} with compile options (see {@link compile/2}) and
%% `{max_file_size, Bytes}'.
-spec load(file:name_all(), [load_option()]) -> {ok, wasm_module()} | {error, load_error()}.
load(Path, Options) ->
    {MaxSize, CompileOptions} = load_options(Options, ?MAX_FILE_SIZE, []),
    _ = compile_options(CompileOptions, {false, undefined}),
    case read_module_file(Path, MaxSize) of
        {ok, Bytes} -> compile(Bytes, CompileOptions);
        {error, Reason} -> {error, {file, Path, Reason}}
    end.

read_module_file(Path, MaxSize) ->
    case native_name(Path) of
        {ok, Name} -> wasm_runtime_nif_nif:read_module_file(Name, MaxSize);
        error -> {error, badarg}
    end.

%% Splits max_file_size off the compile options; anything malformed is
%% compile_options/2's to refuse.
load_options([{max_file_size, Max} | Rest], _, Acc)
  when is_integer(Max), Max >= 0, Max < 1 bsl 64 ->
    load_options(Rest, Max, Acc);
load_options([Other | Rest], Max, Acc) ->
    load_options(Rest, Max, [Other | Acc]);
load_options(Tail, Max, Acc) ->
    {Max, lists:reverse(Acc, Tail)}.

%% The bytes of a file name as the OS takes them, as file:read_file/1
%% reads names; error for what is no name.
native_name(Path) when is_binary(Path) ->
    {ok, Path};
native_name(Path) ->
    try unicode:characters_to_binary(filename:flatten(Path), unicode,
                                     file:native_name_encoding()) of
        Name when is_binary(Name) -> {ok, Name};
        _ -> error
    catch
        error:_ -> error
    end.

%% @doc Compiles a wasm binary or WAT text. Runs on a dirty CPU scheduler.
%% Imports are checked here: a module may only import the guest term ABI
%% functions from module `"env"'.
-spec compile(binary()) -> {ok, wasm_module()} | {error, compile_error()}.
compile(Bytes) ->
    compile(Bytes, []).

%% @doc {@link compile/1} with options. `fuel' compiles with fuel
%% metering, so that instances and calls accept a `{fuel, Units}' limit.
%% `{cache, Dir}' keeps the compiled code in directory `Dir' and reuses it
%% when the same bytes are compiled again by a compatible VM, even after a
%% restart; the directory must be writable only by those trusted to run
%% native code in this VM.
-spec compile(binary(), [compile_option()]) -> {ok, wasm_module()} | {error, compile_error()}.
compile(Bytes, Options) when is_binary(Bytes) ->
    {Fuel, Cache} = compile_options(Options, {false, undefined}),
    Entry = case Cache of
                undefined -> undefined;
                Dir -> {Dir, binary:encode_hex(crypto:hash(sha256, Bytes))}
            end,
    wasm_runtime_nif_nif:compile_module(Bytes, Fuel, Entry);
compile(Bytes, Options) ->
    erlang:error(badarg, [Bytes, Options]).

compile_options([], Acc) ->
    Acc;
compile_options([fuel | Rest], {_, Cache}) ->
    compile_options(Rest, {true, Cache});
compile_options([{cache, Dir} = Option | Rest], {Fuel, _})
  when is_list(Dir); is_binary(Dir); is_atom(Dir) ->
    try unicode:characters_to_binary(filename:absname(Dir)) of
        Path when is_binary(Path) -> compile_options(Rest, {Fuel, Path});
        _ -> erlang:error({bad_option, Option})
    catch
        error:_ -> erlang:error({bad_option, Option})
    end;
compile_options([Bad | _], _) ->
    erlang:error({bad_option, Bad});
compile_options(Bad, _) ->
    erlang:error({bad_option, Bad}).

%% @equiv instantiate(Module, [])
-spec instantiate(wasm_module()) -> {ok, instance()} | {error, instantiate_error()}.
instantiate(Module) ->
    instantiate(Module, []).

%% @doc Creates an instance of `Module'; see {@link new/1} for the options.
%% Fails with the trap if the module's start function traps.
%%
%% A module may import functions besides the term ABI; each must be given
%% as an Erlang fun with `{imports, #{{Module, Name} => Fun}}', where the
%% fun's arity is the import's number of parameters. When the guest calls
%% one, the fun runs in the calling process with the arguments as numbers
%% (as {@link call_raw/3} returns them) and returns the result: anything for
%% an import without results, a number for one, a tuple for several. If the
%% fun raises, the call re-raises that exception; if it returns a value of
%% the wrong type the call raises `{trap, bad_host_result, Message}'. Either
%% way the guest was interrupted, so the instance is invalidated.
-spec instantiate(wasm_module(), [instance_option()]) ->
          {ok, instance()} | {error, instantiate_error()}.
instantiate(Module, Options) when is_list(Options) ->
    {Settings, Imports} = instance_options(Options, #{}, []),
    case wasm_runtime_nif_nif:instantiate_module(Module, Settings, Imports) of
        {?OUTPUT, Bytes, Result, Left} ->
            print(Bytes, Left),
            Result;
        Result ->
            Result
    end;
instantiate(Module, Options) ->
    erlang:error(badarg, [Module, Options]).

%% @doc The exports of a module, or of an instance's module, with the types
%% of the functions.
-spec exports(wasm_module() | instance()) -> [export()].
exports(ModuleOrInstance) ->
    wasm_runtime_nif_nif:module_exports(ModuleOrInstance).

%% @doc The module that {@link new/0} instantiates; raises
%% `no_default_module' before {@link init/0,1}.
-spec default_module() -> wasm_module().
default_module() ->
    case persistent_term:get(?DEFAULT_MODULE_KEY, undefined) of
        undefined -> erlang:error(no_default_module);
        Module -> Module
    end.

%% @doc Frees the instance's memory now instead of when the garbage
%% collector finds it unreferenced. A call in progress finishes first; later
%% calls, and callers waiting for the instance, raise `instance_released'.
%% Releasing twice is harmless.
-spec release(instance()) -> ok.
release(Instance) ->
    wasm_runtime_nif_nif:release(Instance).

%% @doc How many modules, instances and suspended calls (calls between two
%% slices) are alive in this VM. All are freed by the garbage collector once
%% no process refers to them; an instance keeps its module alive, and a
%% suspended call is freed when it finishes or its caller dies.
%%
%% `mappings' and `address_space' are what live instances have reserved of
%% the VM's memory mappings and address space, `max_mappings' and
%% `max_address_space' the ceilings past which instantiation fails with
%% `{system_limit, Message}' (`infinity' with the pooling allocator).
-spec live_counts() -> #{modules := non_neg_integer(), instances := non_neg_integer(),
                         calls := non_neg_integer(), mappings := non_neg_integer(),
                         address_space := non_neg_integer(),
                         max_mappings := non_neg_integer() | infinity,
                         max_address_space := non_neg_integer() | infinity}.
live_counts() ->
    wasm_runtime_nif_nif:live_counts().

%%% ------------------------------------------------------------------
%%% Internals
%%% ------------------------------------------------------------------

%% Runs a call NIF. A busy instance has queued us: wait for our turn, then
%% call again with what is left of the timeout.
run(Nif, Instance, Name, Args, Limits) ->
    try Nif(Instance, Name, Args, Limits) of
        Result -> result(Result, #{})
    catch
        error:{?BUSY, Id, Timeout} ->
            Fuel = case Limits of
                       {_, F} -> F;
                       default -> default
                   end,
            run(Nif, Instance, Name, Args, {await_turn(Instance, Id, Timeout), Fuel})
    end.

%% A call NIF returns the call's result, or asks us to run an Erlang import
%% for the guest (and resumes the guest with its result), or to re-raise the
%% exception such a fun raised, or to print what the guest printed first.
%% Funs is the import funs this call has had, by import index: the NIF
%% hands each over once per call.
result({?HOST_CALL, Call, Carried, Index, Given, Args}, Funs0) ->
    {Fun, Funs} = import_fun(Index, Given, Funs0),
    Reply = try
                {ok, erlang:apply(Fun, Args)}
            catch
                Class:Reason:Stack -> {raised, Class, Reason, Stack}
            end,
    result(wasm_runtime_nif_nif:host_return(Call, Carried, Reply), Funs);
result({?OUTPUT, Bytes, Then, Left}, Funs) ->
    print(Bytes, Left),
    case Then of
        {?RESUME, Call, Carried} -> result(wasm_runtime_nif_nif:resume(Call, Carried), Funs);
        _ -> result(Then, Funs)
    end;
result({?HOST_RAISED, Class, Reason, Stack}, _) ->
    erlang:raise(Class, Reason, Stack);
result({?VALUE, Result}, _) ->
    Result;
result(Result, _) ->
    Result.

import_fun(Index, cached, Funs) ->
    {maps:get(Index, Funs), Funs};
import_fun(Index, {encoded, Encoded}, Funs) ->
    %% binary_to_term/1 yields on large input, unlike a copy in a NIF.
    Fun = binary_to_term(Encoded),
    {Fun, Funs#{Index => Fun}};
import_fun(Index, Fun, Funs) ->
    {Fun, Funs#{Index => Fun}}.

%% Writes what a guest printed to the calling process's group leader, as
%% io:put_chars/1 would: UTF-8 when it is, Latin-1 bytes otherwise. The
%% request is made by a process of its own so that the wait can be bounded:
%% past Left milliseconds, or when the group leader is gone, the call goes
%% on and the output may be lost.
print(Bytes, Left) ->
    Encoding = case unicode:characters_to_binary(Bytes) of
                   Bytes -> unicode;
                   _ -> latin1
               end,
    Caller = self(),
    Leader = group_leader(),
    {Writer, Ref} = spawn_monitor(fun() -> write(Caller, Leader, {put_chars, Encoding, Bytes}) end),
    receive
        {'DOWN', Ref, process, Writer, _} -> ok
    after Left ->
        exit(Writer, kill),
        receive {'DOWN', Ref, process, Writer, _} -> ok end
    end.

%% One I/O request, as io:request/2 makes it, given up when the caller it
%% writes for dies, so that no writer outlives its caller.
write(Caller, Leader, Request) ->
    CallerRef = erlang:monitor(process, Caller),
    LeaderRef = erlang:monitor(process, Leader),
    Leader ! {io_request, self(), LeaderRef, Request},
    receive
        {io_reply, LeaderRef, _} -> ok;
        {'DOWN', LeaderRef, process, _, _} -> ok;
        {'DOWN', CallerRef, process, _, _} -> ok
    end.

%% Waits, without holding a scheduler, for the message saying the instance
%% is ours, and returns what is left of the timeout; raises timeout when it
%% runs out first.
await_turn(_Instance, Id, infinity) ->
    receive
        {?TURN, Id} -> infinity
    end;
await_turn(Instance, Id, Timeout) ->
    Start = erlang:monotonic_time(millisecond),
    receive
        {?TURN, Id} ->
            case Timeout - (erlang:monotonic_time(millisecond) - Start) of
                Left when Left > 0 ->
                    Left;
                _ ->
                    %% Our turn came too late to run anything: a call
                    %% started now would time out at once and invalidate
                    %% the instance for everyone. Pass the turn on.
                    wasm_runtime_nif_nif:leave_queue(Instance),
                    erlang:error(timeout)
            end
    after Timeout ->
        wasm_runtime_nif_nif:leave_queue(Instance),
        %% The turn may have come just as we gave up: drop the message.
        receive {?TURN, Id} -> ok after 0 -> ok end,
        erlang:error(timeout)
    end.

call_limits([], Limits) ->
    Limits;
call_limits([{timeout, T} | Rest], {_, Fuel}) when ?IS_TIMEOUT(T) ->
    call_limits(Rest, {T, Fuel});
call_limits([{fuel, F} | Rest], {Timeout, _}) when ?IS_FUEL(F) ->
    call_limits(Rest, {Timeout, F});
call_limits([Bad | _], _) ->
    erlang:error({bad_option, Bad});
call_limits(Bad, _) ->
    erlang:error({bad_option, Bad}).

instance_options([], Settings, Imports) ->
    {Settings, Imports};
instance_options([process_bound | Rest], Settings, Imports) ->
    instance_options(Rest, Settings#{process_bound => true}, Imports);
instance_options([{Key, N} | Rest], Settings, Imports)
  when (Key =:= max_memory andalso ?IS_COUNT(N) andalso N > 0);
       ((Key =:= max_table_elements orelse Key =:= max_memories orelse Key =:= max_tables)
        andalso ?IS_COUNT(N)) ->
    instance_options(Rest, Settings#{Key => N}, Imports);
instance_options([{timeout, T} | Rest], Settings, Imports) when ?IS_TIMEOUT(T) ->
    instance_options(Rest, Settings#{timeout => T}, Imports);
instance_options([{fuel, F} | Rest], Settings, Imports) when ?IS_FUEL(F) ->
    instance_options(Rest, Settings#{fuel => F}, Imports);
instance_options([{imports, Map} = Option | Rest], Settings, _) when is_map(Map) ->
    Imports = [import_entry(Key, Fun, Option) || {Key, Fun} <- maps:to_list(Map)],
    %% #{{env, f} => F, {<<"env">>, <<"f">>} => G} names one import twice.
    Names = [{Module, Name} || {Module, Name, _, _} <- Imports],
    case Names -- lists:usort(Names) of
        [] -> instance_options(Rest, Settings, Imports);
        [{Module, Name} | _] -> erlang:error({bad_option, {imports, {duplicate, Module, Name}}})
    end;
instance_options([Other | _], _, _) ->
    erlang:error({bad_option, Other});
instance_options(Improper, _, _) ->
    erlang:error({bad_option, Improper}).

import_entry({Module, Name}, Fun, Option) when is_function(Fun) ->
    {arity, Arity} = erlang:fun_info(Fun, arity),
    {import_name(Module, Option), import_name(Name, Option), kept_fun(Fun), Arity};
import_entry(_, _, Option) ->
    erlang:error({bad_option, Option}).

%% How the instance keeps an import's fun: as it is when it is small, for
%% the NIF to copy into the caller's heap once per call; encoded when its
%% closure is large, for the caller to decode (yielding, where a copy in
%% the NIF could not). term_to_binary/1 yields too.
kept_fun(Fun) ->
    case term_to_binary(Fun) of
        Encoded when byte_size(Encoded) > ?MAX_COPIED_FUN -> {encoded, Encoded};
        _ -> Fun
    end.

import_name(Name, _) when is_atom(Name) -> atom_to_binary(Name, utf8);
import_name(Name, Option) when is_binary(Name) ->
    case unicode:characters_to_binary(Name) of
        Name -> Name;
        _ -> erlang:error({bad_option, Option})
    end;
import_name(_, Option) -> erlang:error({bad_option, Option}).

function_type(ModuleOrInstance, Name) ->
    case lists:keyfind(name_binary(Name), 1, exports(ModuleOrInstance)) of
        {_, {func, Params, Results}} -> {Params, Results};
        _ -> erlang:error({undefined_function, Name})
    end.

name_binary(Name) when is_atom(Name) -> atom_to_binary(Name, utf8);
name_binary(Name) when is_binary(Name) -> Name;
name_binary(Name) -> erlang:error(badarg, [Name]).

join_types(Types) ->
    lists:join(", ", [atom_to_list(T) || T <- Types]).

result_types([]) -> "void";
result_types([One]) -> atom_to_list(One);
result_types(Many) -> ["(", join_types(Many), ")"].

priv_dir() ->
    case code:priv_dir(wasm_runtime_nif) of
        {error, bad_name} -> erlang:error({no_priv_dir, wasm_runtime_nif});
        Dir -> Dir
    end.
