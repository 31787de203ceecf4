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
         exports/1, imports/1, info/1, default_module/0, live_counts/0, release/1, interrupt/1,
         run_wasi/2, wasi_output/1,
         memory_read/3, memory_read/4, memory_write/3, memory_write/4,
         memory_size/1, memory_size/2, memory_grow/2, memory_grow/3,
         global_get/2, global_set/3, fuel_burned/1,
         resource_drop/2, resource_drop/3]).

%% Bytes past which a memory read or write is copied on a dirty scheduler.
-define(DIRTY_COPY, 65536).
-define(IS_U64(N), (is_integer(N) andalso N >= 0 andalso N < 1 bsl 64)).
-define(IS_NAME(N), (is_atom(N) orelse is_binary(N))).

-define(DEFAULT_MODULE_KEY, {?MODULE, default_module}).

%% Errors raised with words for the shell and Elixir (wasm_runtime_nif_error).
-define(ERROR_INFO, [{error_info, #{module => wasm_runtime_nif_error}}]).
%% An error of the API function it is written in, with `Args': raised again
%% with error info when the library raised it; an import fun's, as it was.
%% A macro, since erlang:error/3 names the function it is called from.
-define(RERAISE(Reason, Stack, Args),
        case wasm_runtime_nif_error:raised_here(Stack) of
            true -> erlang:error(Reason, Args, ?ERROR_INFO);
            false -> erlang:raise(error, Reason, Stack)
        end).

%% A call's error: an event when the guest failed (wasm_runtime_nif_telemetry),
%% then raised again as ?RERAISE does.
-define(CALL_FAILED(Instance, Function, Reason, Stack, Args),
        begin
            wasm_runtime_nif_telemetry:call_failed(Instance, Function, Reason, Stack),
            ?RERAISE(Reason, Stack, Args)
        end).

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
                   | {component_func, WitSignature :: binary()}
                   | memory | table | global | tag}.
%% A module's export, or a component's function with its WIT signature
%% (docs/components.md).
-type import() :: {Module :: binary(), Name :: binary(),
                   {func, Params :: [value_type()], Results :: [value_type()]}
                   | {component_func, WitSignature :: binary()},
                   ProvidedBy :: term_abi | wasi | erlang}.
%% `ProvidedBy': the guest term ABI and WASI are provided by the library;
%% an `erlang' import needs a fun at instantiation (see {@link
%% instantiate/2}). A component's imports are the functions of its imported
%% interfaces (`Module' is the interface, `<<>>' for a function its world
%% imports itself).
-type resource() :: reference().
%% A resource a component instance handed out (an `own<R>' result): dropped
%% by {@link resource_drop/2}, or by the instance's next call once the
%% garbage collector freed every reference to it.
-type instance_option() :: process_bound
                         | {imports, #{{import_name(), import_name()} => function()}}
                         | {max_memory, pos_integer()}
                         | {max_table_elements, non_neg_integer()}
                         | {max_memories, non_neg_integer()}
                         | {max_tables, non_neg_integer()}
                         | {timeout, timeout()}
                         | {fuel, non_neg_integer() | infinity}
                         | {wasi, wasi_options()}.
%% `process_bound': only the creating process may call. `imports': Erlang
%% funs implementing the module's imports, by module and name (see
%% {@link instantiate/2}). `max_memory': bytes of linear memory the
%% instance may grow to, all its memories together (default 256 MiB).
%% `max_table_elements': elements all its tables together may grow to
%% (default 1,000,000). `max_memories' and `max_tables': how many memories
%% (default 16) and tables (default 100) its module may define.
%% `timeout': default wall-clock limit of each call in milliseconds
%% (default `infinity'). `fuel': default fuel of each call (default
%% `infinity'; only for modules compiled with `[fuel]'). `wasi': what a
%% module that imports WASI preview 1 gets (see {@link run_wasi/2}); without
%% it, such a module gets nothing (no arguments, no variables, an empty
%% stdin, no directories) and its output is captured.
-type import_name() :: binary() | atom().
-type wasi_options() :: #{args => [unicode:chardata()],
                          env => #{unicode:chardata() => unicode:chardata()}
                               | [{unicode:chardata(), unicode:chardata()}],
                          stdin => iodata(),
                          preopens => [{HostDir :: file:name_all(), GuestDir :: unicode:chardata(),
                                        read | read_write}],
                          stdout => wasi_output(),
                          stderr => wasi_output()}.
%% What a WASI program gets; docs/wasi.md has the details and the security
%% model. `args': the full argv, argv[0] included. `env': the variables,
%% nothing of the VM's own. `stdin': what the program reads (then end of
%% file). `preopens': host directories the program sees at `GuestDir', read
%% only or read and write; nothing else of the file system is reachable.
%% `stdout', `stderr': see {@link wasi_output()}.
-type wasi_output() :: capture | {capture, MaxBytes :: non_neg_integer()} | discard
                     | fun((binary()) -> term()).
%% `capture' (the default) keeps what the program writes, at most 16 MiB
%% unread (`{capture, MaxBytes}' to choose); past it writes fail with
%% `EIO', as on a full disk. `discard' throws it away. A fun is called in
%% the calling process with each chunk (at most 64 KiB) the program wrote,
%% in order, between slices and before the call returns; the program's
%% writes wait while a full chunk is handed over. Should the fun raise, the
%% call raises its exception (docs/wasi.md says when the instance is then
%% invalidated).
-type run_wasi_options() :: #{args => [unicode:chardata()],
                              env => #{unicode:chardata() => unicode:chardata()}
                                   | [{unicode:chardata(), unicode:chardata()}],
                              stdin => iodata(),
                              preopens => [{file:name_all(), unicode:chardata(), read | read_write}],
                              stdout => wasi_output(),
                              stderr => wasi_output(),
                              timeout => timeout(),
                              fuel => non_neg_integer() | infinity,
                              max_memory => pos_integer()}.
%% {@link wasi_options()} and the limits of the run.
-type export_name() :: atom() | binary().
-type access_error() :: {undefined_memory | not_a_memory | undefined_global | not_a_global
                         | immutable_global, Name :: binary()}
                      | {out_of_bounds, Offset :: non_neg_integer(), Length :: non_neg_integer(),
                         Size :: non_neg_integer()}
                      | {cannot_grow, Message :: binary()}
                      | {cannot_set, Message :: binary()}
                      | {unsupported_type, Name :: binary(), value_type()}.
%% Why the embedding API refused: the export is missing or of another
%% kind, the bytes are not all within the memory, the memory cannot grow
%% that much, or the global is constant or not a number.
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
-type module_info() :: #{kind := module | component,
                         size := non_neg_integer(),
                         compiled_size := non_neg_integer(),
                         fuel := boolean(),
                         wasi := boolean(),
                         imports := [import()],
                         exports := [export()]}.
%% What {@link info/1} tells of a module: whether it is a core module or a
%% component, the bytes of its wasm binary (of a WAT text once assembled)
%% and of the code and data it was compiled to, whether it was compiled
%% with `[fuel]', whether it imports WASI, and its imports and exports.
-type instance_info() :: #{state := idle | busy | released
                                  | {invalidated, trap_reason() | {exit, integer()}},
                           queue := non_neg_integer(),
                           memory := non_neg_integer(),
                           table_elements := non_neg_integer(),
                           fuel_burned := non_neg_integer() | undefined,
                           module := wasm_module(),
                           process_bound := pid() | false}.
%% What {@link info/1} tells of an instance. `state': `busy' while a call
%% holds it; `{invalidated, Reason}' after the trap, timeout, interrupt or
%% cancellation that ended it. `queue': callers waiting for their turn.
%% `memory' (bytes, all memories together) and `table_elements' (all
%% tables together): what the instance holds as its last call left it,
%% what `max_memory' and `max_table_elements' bound; 0 once it is
%% invalidated or released. `fuel_burned': by the last call that ran to
%% its end or trapped (a call stopped by its timeout, by {@link interrupt/1}
%% or by its caller's death leaves the figure before it; `undefined' for a
%% module compiled without `[fuel]'). `process_bound': the only
%% process that may call it, or `false'.
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
                              Expected :: non_neg_integer(), Given :: non_neg_integer()}
                           | {preopen_failed, HostDir :: binary(), Message :: binary()}
                           | {exit, Status :: integer()}.

-export_type([module_info/0, instance_info/0, wasm_module/0, instance/0, func_name/0, value/0, value_type/0, export/0, import/0,
              instance_option/0, call_option/0, compile_option/0, load_option/0, trap_reason/0,
              load_error/0, file_error/0, compile_error/0, instantiate_error/0,
              wasi_options/0, wasi_output/0, run_wasi_options/0, export_name/0,
              access_error/0, resource/0]).

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
        {error, Reason} -> erlang:error(Reason, [Options], ?ERROR_INFO)
    end.

%% @doc Calls the exported function `Name' with plain numbers.
%%
%% Each argument must fit its parameter type: i32 takes -2^31..2^32-1, i64
%% takes -2^63..2^64-1 (both come back signed), f32 and f64 take numbers.
%% Returns `void' for no result, the value for one, a tuple for several.
%% Raises `badarg' for a bad argument, `{badarity, Name, Expected, Given}',
%% `{undefined_function, Name}', and `{trap, Kind, Message}' when the guest
%% traps, after which the instance raises `{instance_invalidated, Trap}'.
%% On a component's instance it is the same as {@link call/3}.
-spec call_raw(instance(), func_name(), [value()]) -> void | value() | tuple().
call_raw(Instance, Name, Args) ->
    try wasm_runtime_nif_protocol:call_raw(Instance, Name, Args, #{})
    catch error:Reason:Stack -> ?CALL_FAILED(Instance, Name, Reason, Stack, [Instance, Name, Args])
    end.

%% @doc {@link call_raw/3} with options: `[{timeout, Ms | infinity},
%% {fuel, Units | infinity}]', each overriding the instance's.
%%
%% A call still running when its timeout expires is stopped and raises
%% `{trap, timeout, Message}'; like a trap, that invalidates the instance.
%% A call still waiting for a busy instance when it expires raises
%% `timeout' and leaves the instance alone. `fuel', for a module compiled
%% with `[fuel]', bounds the call to about that many wasm instructions: a
%% call that burns it all raises `{trap, out_of_fuel, Message}' and
%% invalidates the instance; on a module compiled without it, `{fuel, N}'
%% raises `{bad_option, {fuel, N}}'.
-spec call_raw(instance(), func_name(), [value()], [call_option()]) -> void | value() | tuple().
call_raw(Instance, Name, Args, Options) ->
    try
        Limits = wasm_runtime_nif_options:call(Options),
        wasm_runtime_nif_protocol:call_raw(Instance, Name, Args, Limits)
    catch error:Reason:Stack -> ?CALL_FAILED(Instance, Name, Reason, Stack, [Instance, Name, Args, Options])
    end.

%% @doc Calls the exported term-ABI function `Name' with Erlang terms.
%%
%% `Name' must have the wasm type `(i32, i64 x N) -> i64', the C signature
%% `ERL_NIF_TERM name(ErlNifEnv*, ERL_NIF_TERM...)'. Returns the term the
%% guest returns; raises `badarg' when the guest returns
%% `enif_wasm_make_badarg(env)', and as {@link call_raw/3} otherwise.
%%
%% On a component's instance, `Name' is `name' or `interface#name' and the
%% arguments and result are converted by their WIT types
%% (docs/components.md); a wrong shape raises `{bad_argument, Name,
%% Parameter, Message}' before the guest runs.
-spec call(instance(), func_name(), [term()]) -> term().
call(Instance, Name, Args) ->
    try wasm_runtime_nif_protocol:call(Instance, Name, Args, #{})
    catch error:Reason:Stack -> ?CALL_FAILED(Instance, Name, Reason, Stack, [Instance, Name, Args])
    end.

%% @doc {@link call/3} with options, as {@link call_raw/4}.
-spec call(instance(), func_name(), [term()], [call_option()]) -> term().
call(Instance, Name, Args, Options) ->
    try
        Limits = wasm_runtime_nif_options:call(Options),
        wasm_runtime_nif_protocol:call(Instance, Name, Args, Limits)
    catch error:Reason:Stack -> ?CALL_FAILED(Instance, Name, Reason, Stack, [Instance, Name, Args, Options])
    end.

%% @doc Prints the signature of the exported function `Name', as
%% `add_I32(i32, i32) -> i32'.
%% For a component's function, prints its WIT signature, as
%% `test:echo/types@0.1.0#echo-point: func(v: record {x: s32, y: s32}) ->
%% record {x: s32, y: s32}'.
-spec print_func(instance() | wasm_module(), func_name()) -> ok.
print_func(ModuleOrInstance, Name) ->
    case function_type(ModuleOrInstance, Name) of
        {component, FullName, Signature} ->
            io:format("~ts: ~ts~n", [FullName, Signature]);
        {Params, Results} ->
            io:format("~ts(~ts) -> ~ts~n",
                      [name_binary(Name), join_types(Params), result_types(Results)])
    end.

%% @equiv resource_drop(Instance, Resource, [])
-spec resource_drop(instance(), resource()) -> ok.
resource_drop(Instance, Resource) ->
    resource_drop(Instance, Resource, []).

%% @doc Drops `Resource', which `Instance' (a component's) handed out: its
%% destructor runs in a call of the instance, with the call options of
%% {@link call/4}. A resource dropped already, given to the guest (passed
%% as `own'), or of another instance raises `{bad_resource, Message}' and
%% leaves the instance as it was.
-spec resource_drop(instance(), resource(), [call_option()]) -> ok.
resource_drop(Instance, Resource, Options) ->
    try
        Limits = wasm_runtime_nif_options:call(Options),
        wasm_runtime_nif_protocol:resource_drop(Instance, Resource, Limits)
    catch error:Reason:Stack -> ?CALL_FAILED(Instance, resource_drop, Reason, Stack, [Instance, Resource, Options])
    end.

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
    {FileOptions, CompileOptions} = wasm_runtime_nif_options:load(Options),
    Read = case native_name(Path) of
               {ok, Name} -> wasm_runtime_nif_nif:module_file_read(Name, FileOptions);
               error -> {error, badarg}
           end,
    case Read of
        {ok, Bytes} -> compile(Bytes, CompileOptions);
        {error, Reason} -> {error, {file, Path, Reason}}
    end.

%% The metadata of a compile event.
compiled({ok, Module}) -> #{module => Module};
compiled({error, Reason}) -> #{error => Reason}.

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
%% Imports are checked here: functions of module `"env"' named as in the
%% guest term ABI must have its types, and every other import must be a
%% function of numbers, for an Erlang fun to implement at instantiation
%% (see {@link instantiate/2}); anything else is an error.
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
    Settings = wasm_runtime_nif_options:compile(Options, Bytes),
    wasm_runtime_nif_telemetry:timed(
      [compile], fun() -> wasm_runtime_nif_nif:module_compile(Bytes, Settings) end,
      fun(Result) ->
              {#{size => byte_size(Bytes)},
               (compiled(Result))#{cache => maps:is_key(cache, Settings)}}
      end);
compile(Bytes, Options) ->
    erlang:error(badarg, [Bytes, Options]).

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
    {Settings, Imports} = wasm_runtime_nif_options:instance(Options),
    New = case Settings of
              %% Directories to open, or a large stdin to copy: on a dirty
              %% scheduler.
              #{wasi := #{preopens := [_ | _]}} -> instance_new_dirty;
              #{wasi := #{stdin := Stdin}} when byte_size(Stdin) > ?DIRTY_COPY -> instance_new_dirty;
              _ -> instance_new
          end,
    wasm_runtime_nif_telemetry:timed(
      [instantiate],
      fun() ->
              wasm_runtime_nif_protocol:run(fun() -> wasm_runtime_nif_nif:New(Module, Settings, Imports) end)
      end,
      fun({ok, Instance}) -> {#{}, #{module => Module, instance => Instance}};
         ({error, Reason}) -> {#{}, #{module => Module, error => Reason}}
      end);
instantiate(Module, Options) ->
    erlang:error(badarg, [Module, Options]).

%% @doc The exports of a module, or of an instance's module, with the types
%% of the functions.
-spec exports(wasm_module() | instance()) -> [export()].
exports(ModuleOrInstance) ->
    wasm_runtime_nif_nif:module_exports(ModuleOrInstance).

%% @doc The imports of a module, or of an instance's module, with their
%% types and what provides each: all that instantiating it needs, and the
%% funs it must be given (those provided by `erlang').
-spec imports(wasm_module() | instance()) -> [import()].
imports(ModuleOrInstance) ->
    wasm_runtime_nif_nif:module_imports(ModuleOrInstance).

%% @doc What a module or an instance is, right now: {@link module_info()}
%% for a module, {@link instance_info()} for an instance (its `module' key
%% leads to the other). Cheap enough to poll: nothing is copied but the
%% lists of a module's imports and exports.
-spec info(wasm_module() | instance()) -> module_info() | instance_info().
info(ModuleOrInstance) ->
    case wasm_runtime_nif_nif:instance_describe(ModuleOrInstance) of
        undefined ->
            try wasm_runtime_nif_nif:module_describe(ModuleOrInstance) of
                Facts -> Facts#{imports => imports(ModuleOrInstance),
                                exports => exports(ModuleOrInstance)}
            catch
                error:badarg -> erlang:error(badarg, [ModuleOrInstance], ?ERROR_INFO)
            end;
        Facts ->
            Facts
    end.

%% @doc The module that {@link new/0} instantiates; raises
%% `no_default_module' before {@link init/0} or {@link init/1}.
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
    ok = case wasm_runtime_nif_nif:instance_release(Instance) of
             ok -> ok;
             %% A store of many MiB is unmapped on a dirty scheduler.
             dirty -> wasm_runtime_nif_nif:instance_release_dirty(Instance)
         end,
    wasm_runtime_nif_telemetry:emit([release], #{system_time => erlang:system_time()},
                                    #{instance => Instance}).

%% @doc Stops the call running on `Instance', from any process (the
%% instance's owner included, for a `process_bound' one). The call raises
%% `{trap, interrupted, Message}' in its caller before its next slice
%% (about one epoch tick, 200 µs, of guest code later; host work that
%% cannot yield, such as converting a component's large value, finishes
%% first), and, as after a timeout, the instance is invalidated: callers
%% waiting for it raise `{instance_invalidated, {trap, interrupted,
%% Message}}'. A call waiting for a WASI clock or file stops at once; one
%% waiting for an import fun stops when the fun returns (and raises the
%% fun's exception if it raised). Returns whether something held the
%% instance: `false' for an idle, invalidated or released instance, which
%% is left as it was. `true' is no promise that a call stops: a call that
%% returns first, one that runs in one go (a function that provably
%% finishes quickly, called with {@link call_raw/3}), an access of the
%% embedding API ({@link memory_read/3} and the like) and a call whose
%% guest has returned and whose output or result is being handed over
%% all end as usual; the next call is not affected.
-spec interrupt(instance()) -> boolean().
interrupt(Instance) ->
    try wasm_runtime_nif_nif:instance_interrupt(Instance) of
        Held ->
            wasm_runtime_nif_telemetry:emit([interrupt], #{system_time => erlang:system_time()},
                                            #{instance => Instance, held => Held}),
            Held
    catch
        error:badarg -> erlang:error(badarg, [Instance], ?ERROR_INFO)
    end.

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
    wasm_runtime_nif_nif:runtime_counts().

%%% ------------------------------------------------------------------
%%% WASI
%%% ------------------------------------------------------------------

%% @doc Runs a WASI preview 1 command (a program with `_start': what
%% wasi-libc, Rust's `wasm32-wasip1' and others build) to its end, as a
%% shell would, and returns its exit status and output.
%%
%% `Program' is a module or the path of a wasm file. `Options' is a map of
%% {@link wasi_options()} (arguments, variables, stdin, directories, what
%% becomes of the output) and of limits: `timeout' (ms) and `fuel' for the
%% run (a path is then compiled with `[fuel]'), `max_memory' for the
%% instance. Nothing is given by default: no arguments (not even argv[0]),
%% no variables, an empty stdin, no directories.
%%
%% A program that returns from `main' or calls `exit(Status)' gives
%% `{ok, #{exit_code => Status, stdout => Bytes, stderr => Bytes}}'. One
%% that traps (a Rust panic: its message is on stderr), runs out of time or
%% fuel gives `{error, #{reason => Reason, stdout => Bytes, stderr =>
%% Bytes}}' with what it wrote before; the exception of a fun given as
%% `stdout' or `stderr' is raised as it came. A program that cannot be loaded or
%% instantiated gives `{error, Reason}' as {@link load/1} and
%% {@link instantiate/2} do; a bad option raises `{bad_option, Option}'.
%% The run happens in the calling process, sliced like any call: it never
%% holds a scheduler, and it ends with the process.
-spec run_wasi(wasm_module() | file:name_all(), run_wasi_options()) ->
          {ok, #{exit_code := integer(), stdout := binary(), stderr := binary()}}
        | {error, #{reason := term(), stdout := binary(), stderr := binary()}}
        | {error, load_error() | instantiate_error()}.
run_wasi(Program, Options) ->
    Started = erlang:monotonic_time(millisecond),
    {_Wasi, InstanceOptions, CallOptions, CompileOptions} =
        wasm_runtime_nif_options:run_wasi(Options),
    Loaded = case is_reference(Program) of
                 true -> {ok, Program};
                 false -> load(Program, CompileOptions)
             end,
    case Loaded of
        {ok, Module} ->
            case instantiate(Module, InstanceOptions) of
                {ok, Instance} -> run_command(Instance, left(CallOptions, Started));
                {error, _} = Error -> Error
            end;
        {error, _} = Error ->
            Error
    end.

run_command(Instance, CallOptions) ->
    try call_raw(Instance, '_start', [], CallOptions) of
        _ -> {ok, (output(Instance))#{exit_code => 0}}
    catch
        error:{exit, Status} -> {ok, (output(Instance))#{exit_code => Status}};
        error:{trap, _, _} = Reason -> {error, (output(Instance))#{reason => Reason}};
        error:{undefined_function, _} = Reason -> {error, (output(Instance))#{reason => Reason}}
        %% Anything else (a bad option, the exception of an output's fun)
        %% is the caller's, raised as it came.
    after
        release(Instance)
    end.

%% The timeout covers the whole run: the call gets what instantiation left.
left(CallOptions, Started) ->
    [case Option of
         {timeout, T} when is_integer(T) ->
             {timeout, max(0, T - (erlang:monotonic_time(millisecond) - Started))};
         _ ->
             Option
     end || Option <- CallOptions].

%% What the program wrote; nothing for a module that does not import WASI.
output(Instance) ->
    case wasi_output(Instance) of
        {ok, Output} -> Output;
        {error, not_wasi} -> #{stdout => <<>>, stderr => <<>>}
    end.

%% @doc What the WASI program of `Instance' wrote to its captured stdout
%% and stderr since the last time, which frees room under the ceiling. Works
%% in any state of the instance, so that what a program wrote before it
%% failed can be read. `{error, not_wasi}' for an instance of a module that
%% does not import WASI.
-spec wasi_output(instance()) -> {ok, #{stdout := binary(), stderr := binary()}}
                                   | {error, not_wasi}.
wasi_output(Instance) ->
    case wasm_runtime_nif_nif:instance_wasi_output(Instance) of
        #{} = Output -> {ok, Output};
        {error, _} = Error -> Error
    end.

%%% ------------------------------------------------------------------
%%% The embedding API
%%% ------------------------------------------------------------------
%%% Each waits for the instance to be idle, as a call does, and raises as
%%% a call does for a released or invalidated instance (and `badarg' for an
%%% argument of the wrong type). Memories and globals are the module's
%%% exports, by name; the memory is `memory' unless named.

%% @equiv memory_read(Instance, memory, Offset, Length)
-spec memory_read(instance(), non_neg_integer(), non_neg_integer()) ->
          {ok, binary()} | {error, access_error()}.
memory_read(Instance, Offset, Length) ->
    memory_read(Instance, memory, Offset, Length).

%% @doc The `Length' bytes at `Offset' of the exported memory `Memory'.
%% `{error, {out_of_bounds, Offset, Length, Size}}' when they are not all
%% within its current `Size'.
-spec memory_read(instance(), export_name(), non_neg_integer(), non_neg_integer()) ->
          {ok, binary()} | {error, access_error()}.
memory_read(Instance, Memory, Offset, Length)
  when ?IS_NAME(Memory), ?IS_U64(Offset), ?IS_U64(Length) ->
    wasm_runtime_nif_protocol:access(Instance, {memory_read, Memory, Offset, Length},
                                     Length > ?DIRTY_COPY);
memory_read(Instance, Memory, Offset, Length) ->
    erlang:error(badarg, [Instance, Memory, Offset, Length]).

%% @equiv memory_write(Instance, memory, Offset, Bytes)
-spec memory_write(instance(), non_neg_integer(), binary()) -> ok | {error, access_error()}.
memory_write(Instance, Offset, Bytes) ->
    memory_write(Instance, memory, Offset, Bytes).

%% @doc Writes `Bytes' at `Offset' of the exported memory `Memory'; writes
%% nothing when they do not all fit (`{error, {out_of_bounds, ...}}').
-spec memory_write(instance(), export_name(), non_neg_integer(), binary()) ->
          ok | {error, access_error()}.
memory_write(Instance, Memory, Offset, Bytes)
  when ?IS_NAME(Memory), ?IS_U64(Offset), is_binary(Bytes) ->
    wasm_runtime_nif_protocol:access(Instance, {memory_write, Memory, Offset, Bytes},
                                     byte_size(Bytes) > ?DIRTY_COPY);
memory_write(Instance, Memory, Offset, Bytes) ->
    erlang:error(badarg, [Instance, Memory, Offset, Bytes]).

%% @equiv memory_size(Instance, memory)
-spec memory_size(instance()) -> {ok, non_neg_integer()} | {error, access_error()}.
memory_size(Instance) ->
    memory_size(Instance, memory).

%% @doc The size in bytes of the exported memory `Memory' (a multiple of
%% its page size, 65,536 bytes for most memories).
-spec memory_size(instance(), export_name()) -> {ok, non_neg_integer()} | {error, access_error()}.
memory_size(Instance, Memory) when ?IS_NAME(Memory) ->
    wasm_runtime_nif_protocol:access(Instance, {memory_size, Memory}, false);
memory_size(Instance, Memory) ->
    erlang:error(badarg, [Instance, Memory]).

%% @equiv memory_grow(Instance, memory, Pages)
-spec memory_grow(instance(), non_neg_integer()) ->
          {ok, non_neg_integer()} | {error, access_error()}.
memory_grow(Instance, Pages) ->
    memory_grow(Instance, memory, Pages).

%% @doc Grows the exported memory `Memory' by `Pages' pages, as the
%% guest's `memory.grow' would, within the instance's `max_memory' and the
%% memory's own maximum; returns the size it had, in pages, or
%% `{error, {cannot_grow, Message}}'.
-spec memory_grow(instance(), export_name(), non_neg_integer()) ->
          {ok, non_neg_integer()} | {error, access_error()}.
memory_grow(Instance, Memory, Pages) when ?IS_NAME(Memory), ?IS_U64(Pages) ->
    wasm_runtime_nif_protocol:access(Instance, {memory_grow, Memory, Pages}, false);
memory_grow(Instance, Memory, Pages) ->
    erlang:error(badarg, [Instance, Memory, Pages]).

%% @doc The value of the exported global `Global', as {@link call_raw/3}
%% returns numbers.
-spec global_get(instance(), export_name()) -> {ok, value()} | {error, access_error()}.
global_get(Instance, Global) when ?IS_NAME(Global) ->
    wasm_runtime_nif_protocol:access(Instance, {global_get, Global}, false);
global_get(Instance, Global) ->
    erlang:error(badarg, [Instance, Global]).

%% @doc Sets the exported mutable global `Global' to `Value', which must
%% fit its type as a {@link call_raw/3} argument must (else `badarg');
%% `{error, {immutable_global, Name}}' for a constant one.
-spec global_set(instance(), export_name(), value()) -> ok | {error, access_error()}.
global_set(Instance, Global, Value) when ?IS_NAME(Global) ->
    wasm_runtime_nif_protocol:access(Instance, {global_set, Global, Value}, false);
global_set(Instance, Global, Value) ->
    erlang:error(badarg, [Instance, Global, Value]).

%% @doc The fuel the instance's last call burned (0 before its first), for
%% a module compiled with `[fuel]'; `{error, no_fuel}' otherwise.
-spec fuel_burned(instance()) -> {ok, non_neg_integer()} | {error, no_fuel}.
fuel_burned(Instance) ->
    wasm_runtime_nif_nif:instance_fuel_burned(Instance).

%%% ------------------------------------------------------------------
%%% Internals
%%% ------------------------------------------------------------------

function_type(ModuleOrInstance, Name) ->
    Exports = exports(ModuleOrInstance),
    Wanted = name_binary(Name),
    case lists:keyfind(Wanted, 1, Exports) of
        {_, {func, Params, Results}} -> {Params, Results};
        {Full, {component_func, Signature}} -> {component, Full, Signature};
        _ ->
            %% A component's interface may be named without its version.
            case [Export || {Full, {component_func, _}} = Export <- Exports,
                            unversioned(Full) =:= Wanted] of
                [{Full, {component_func, Signature}}] -> {component, Full, Signature};
                _ -> erlang:error({undefined_function, Name})
            end
    end.

unversioned(Name) ->
    case binary:split(Name, <<"#">>) of
        [Interface, Function] ->
            [Bare | _] = binary:split(Interface, <<"@">>),
            <<Bare/binary, "#", Function/binary>>;
        _ -> Name
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
