%% @private
%% @doc Options as users give them (proplists) checked and turned into the
%% maps the NIFs read by key. Only the options given are passed: a missing
%% key takes its default in the NIF (`limits.rs'), the one place defaults
%% are kept. A malformed option raises `{bad_option, Option}'.
-module(wasm_runtime_nif_options).

-export([compile/2, load/1, instance/1, call/1, run_wasi/1, pool/1]).

%% The longest wait `receive ... after' accepts, in milliseconds.
-define(MAX_TIMEOUT, 16#ffffffff).
-define(IS_TIMEOUT(T), (T =:= infinity orelse (is_integer(T) andalso T >= 0 andalso T =< ?MAX_TIMEOUT))).
%% A byte count or a number of things, as the NIF takes it (64 bits).
-define(IS_COUNT(N), (is_integer(N) andalso N >= 0 andalso N < 1 bsl 64)).
-define(IS_FUEL(F), (F =:= infinity orelse ?IS_COUNT(F))).
%% The largest import fun, in external format, that the NIF copies into the
%% caller's heap (a few microseconds); larger ones are decoded in Erlang.
-define(MAX_COPIED_FUN, 4096).
%% The keys of run_wasi/2's options that the `wasi' instance option takes.
-define(WASI_KEYS, [args, env, stdin, preopens, stdout, stderr]).
%% The most instances a pool may hold (size and overflow): its atomics take
%% 64 bytes a slot.
-define(MAX_POOL_SLOTS, 65536).

%% `#{fuel => true, cache => {Dir, Sha256Hex}}' for the module `Bytes'.
-spec compile([wasm_runtime_nif:compile_option()], binary()) -> #{atom() => term()}.
compile(Options, Bytes) ->
    case compile_options(Options, #{}) of
        #{cache := Dir} = Map -> Map#{cache := {Dir, binary:encode_hex(crypto:hash(sha256, Bytes))}};
        Map -> Map
    end.

compile_options([], Map) ->
    Map;
compile_options([fuel | Rest], Map) ->
    compile_options(Rest, Map#{fuel => true});
compile_options([{cache, Dir} = Option | Rest], Map)
  when is_list(Dir); is_binary(Dir); is_atom(Dir) ->
    try unicode:characters_to_binary(filename:absname(Dir)) of
        Path when is_binary(Path) -> compile_options(Rest, Map#{cache => Path});
        _ -> erlang:error({bad_option, Option})
    catch
        error:_ -> erlang:error({bad_option, Option})
    end;
compile_options([Bad | _], _) ->
    erlang:error({bad_option, Bad});
compile_options(Bad, _) ->
    erlang:error({bad_option, Bad}).

%% The file options (`#{max_file_size => Bytes}') and the compile options
%% of load/2's options, the latter checked already.
-spec load([wasm_runtime_nif:load_option()]) ->
          {#{atom() => term()}, [wasm_runtime_nif:compile_option()]}.
load(Options) ->
    {File, CompileOptions} = load_options(Options, #{}, []),
    _ = compile_options(CompileOptions, #{}),
    {File, CompileOptions}.

load_options([{max_file_size, Max} | Rest], File, Acc) when ?IS_COUNT(Max) ->
    load_options(Rest, File#{max_file_size => Max}, Acc);
load_options([Other | Rest], File, Acc) ->
    load_options(Rest, File, [Other | Acc]);
load_options(Tail, File, Acc) ->
    %% An improper tail is compile_options/2's to refuse.
    {File, lists:reverse(Acc, Tail)}.

%% The instance options as a map, and the imports offered, as the NIF takes
%% them: `[{Module, Name, Fun, Arity}]'.
-spec instance([wasm_runtime_nif:instance_option()]) ->
          {#{atom() => term()}, [{binary(), binary(), function() | {encoded, binary()}, arity()}]}.
instance(Options) when is_list(Options) ->
    instance_options(Options, #{}, []);
instance(Options) ->
    erlang:error({bad_option, Options}).

instance_options([], Map, Imports) ->
    {Map, Imports};
instance_options([process_bound | Rest], Map, Imports) ->
    instance_options(Rest, Map#{process_bound => true}, Imports);
instance_options([{Key, N} | Rest], Map, Imports)
  when (Key =:= max_memory andalso ?IS_COUNT(N) andalso N > 0);
       ((Key =:= max_table_elements orelse Key =:= max_memories orelse Key =:= max_tables)
        andalso ?IS_COUNT(N)) ->
    instance_options(Rest, Map#{Key => N}, Imports);
instance_options([{imports, Funs} = Option | Rest], Map, _) when is_map(Funs) ->
    Imports = [import_entry(Key, Fun, Option) || {Key, Fun} <- maps:to_list(Funs)],
    %% #{{env, f} => F, {<<"env">>, <<"f">>} => G} names one import twice.
    Names = [{Module, Name} || {Module, Name, _, _} <- Imports],
    case Names -- lists:usort(Names) of
        [] -> instance_options(Rest, Map, Imports);
        [{Module, Name} | _] -> erlang:error({bad_option, {imports, {duplicate, Module, Name}}})
    end;
instance_options([{wasi, Wasi} | Rest], Map, Imports) ->
    instance_options(Rest, Map#{wasi => wasi(Wasi)}, Imports);
instance_options([Option | Rest], Map, Imports) ->
    instance_options(Rest, limit(Option, Map), Imports);
instance_options(Improper, _, _) ->
    erlang:error({bad_option, Improper}).

%% A call's limits as a map: `#{timeout => Ms | infinity, fuel => Units |
%% infinity}', each key only when given.
-spec call([wasm_runtime_nif:call_option()]) -> #{atom() => term()}.
call(Options) ->
    call(Options, #{}).

call([], Map) ->
    Map;
call([Option | Rest], Map) ->
    call(Rest, limit(Option, Map));
call(Improper, _) ->
    erlang:error({bad_option, Improper}).

%% A limit of a call, or of every call of an instance.
limit({timeout, T}, Map) when ?IS_TIMEOUT(T) -> Map#{timeout => T};
limit({fuel, F}, Map) when ?IS_FUEL(F) -> Map#{fuel => F};
limit(Bad, _) -> erlang:error({bad_option, Bad}).

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

%% run_wasi/2's options split into what the program gets (the `wasi'
%% instance option), the instance's other options, the call's, and the
%% compile options a program given as a path needs.
-spec run_wasi(map()) ->
          {map(), [wasm_runtime_nif:instance_option()], [wasm_runtime_nif:call_option()],
           [wasm_runtime_nif:compile_option()]}.
run_wasi(Options) when is_map(Options) ->
    {Wasi, Rest} = maps:fold(
                     fun(Key, Value, {W, R}) ->
                             case lists:member(Key, ?WASI_KEYS) of
                                 true -> {W#{Key => Value}, R};
                                 false -> {W, [{Key, Value} | R]}
                             end
                     end, {#{}, []}, Options),
    Call = [Option || {Key, _} = Option <- Rest, Key =:= timeout orelse Key =:= fuel],
    %% The limits bound instantiation (a start function, _initialize) too.
    Instance = [{wasi, Wasi} | [Option || {Key, _} = Option <- Rest, Key =:= max_memory]] ++ Call,
    case [Option || {Key, _} = Option <- Rest, not lists:member(Key, [max_memory, timeout, fuel])] of
        [] -> ok;
        [Bad | _] -> erlang:error({bad_option, Bad})
    end,
    %% Checked here, so that a bad one is refused before anything is read.
    _ = instance(Instance),
    _ = call(Call),
    Compile = [fuel || {fuel, _} <- Call],
    {Wasi, Instance, Call, Compile};
run_wasi(Options) ->
    erlang:error({bad_option, Options}).

%% A pool's options (wasm_runtime_nif_pool:options()) with every default
%% filled in. The instance and compile options are checked here, so that a
%% bad one is refused before anything is started.
-spec pool(map()) -> #{size := pos_integer(), max_overflow := non_neg_integer(),
                       shrink_after := pos_integer(), checkout_timeout := timeout(),
                       max_waiters := non_neg_integer() | infinity,
                       instance := [wasm_runtime_nif:instance_option()],
                       compile := [wasm_runtime_nif:load_option()]}.
pool(Options) when is_map(Options) ->
    Defaults = #{size => erlang:system_info(schedulers_online), max_overflow => 0,
                 shrink_after => 10000, checkout_timeout => 5000, max_waiters => infinity,
                 instance => [], compile => []},
    Config = maps:fold(fun pool_option/3, Defaults, Options),
    #{size := Size, max_overflow := Overflow} = Config,
    case Size + Overflow =< ?MAX_POOL_SLOTS of
        true -> Config;
        false -> erlang:error({bad_option, {max_overflow, Overflow}})
    end;
pool(Options) ->
    erlang:error({bad_option, Options}).

pool_option(size, N, Map) when is_integer(N), N > 0, N =< ?MAX_POOL_SLOTS ->
    Map#{size => N};
pool_option(max_overflow, N, Map) when is_integer(N), N >= 0, N =< ?MAX_POOL_SLOTS ->
    Map#{max_overflow => N};
pool_option(shrink_after, T, Map) when is_integer(T), T > 0, T =< ?MAX_TIMEOUT ->
    Map#{shrink_after => T};
pool_option(checkout_timeout, T, Map) when ?IS_TIMEOUT(T) ->
    Map#{checkout_timeout => T};
pool_option(max_waiters, N, Map) when N =:= infinity; is_integer(N), N >= 0 ->
    Map#{max_waiters => N};
pool_option(instance, Options, Map) ->
    %% One process may call a pool's instance now, another next.
    _ = instance(Options),
    case lists:member(process_bound, Options) of
        true -> erlang:error({bad_option, process_bound});
        false -> ok
    end,
    Map#{instance => Options};
pool_option(compile, Options, Map) ->
    _ = load(Options),
    Map#{compile => Options};
pool_option(Key, Value, _) ->
    erlang:error({bad_option, {Key, Value}}).

%% The `wasi' option as the NIF reads it: `#{args => [Bin], env =>
%% [{Bin, Bin}], stdin => Bin, preopens => [{HostPath, GuestPath,
%% Writable}], stdout => Output, stderr => Output}', each key only when
%% given, `Output' being `discard', `{capture, Bytes}' or `{stream, Fun}'.
wasi(Options) when is_map(Options) ->
    maps:fold(fun(Key, Value, Map) -> wasi_option(Key, Value, Map) end, #{}, Options);
wasi(Options) ->
    erlang:error({bad_option, {wasi, Options}}).

wasi_option(args, Args, Map) ->
    Map#{args => [text(Arg, {args, Args}) || Arg <- proper(Args, {args, Args})]};
wasi_option(env, Env, Map) when is_map(Env) ->
    wasi_option(env, maps:to_list(Env), Map);
wasi_option(env, Env, Map) ->
    Map#{env => [variable(Pair, Env) || Pair <- proper(Env, {env, Env})]};
wasi_option(stdin, Stdin, Map) ->
    try iolist_to_binary(Stdin) of
        Bytes -> Map#{stdin => Bytes}
    catch
        error:badarg -> erlang:error({bad_option, {stdin, Stdin}})
    end;
wasi_option(preopens, Preopens, Map) ->
    Map#{preopens => [preopen(Preopen) || Preopen <- proper(Preopens, {preopens, Preopens})]};
wasi_option(Stream, capture, Map) when Stream =:= stdout; Stream =:= stderr ->
    Map;
wasi_option(Stream, {capture, Max} = Output, Map)
  when (Stream =:= stdout orelse Stream =:= stderr) andalso ?IS_COUNT(Max) ->
    Map#{Stream => Output};
wasi_option(Stream, discard, Map) when Stream =:= stdout; Stream =:= stderr ->
    Map#{Stream => discard};
wasi_option(Stream, Fun, Map) when (Stream =:= stdout orelse Stream =:= stderr), is_function(Fun, 1) ->
    Map#{Stream => {stream, Fun}};
wasi_option(Key, Value, _) ->
    erlang:error({bad_option, {Key, Value}}).

%% `List' when it is a proper list.
proper(List, Option) ->
    try length(List) of
        _ -> List
    catch
        error:badarg -> erlang:error({bad_option, Option})
    end.

%% A string the guest sees: UTF-8 without NUL, which C strings cannot hold.
text(Text, Option) ->
    case catch unicode:characters_to_binary(Text) of
        Bin when is_binary(Bin) ->
            case binary:match(Bin, <<0>>) of
                nomatch -> Bin;
                _ -> erlang:error({bad_option, Option})
            end;
        _ ->
            erlang:error({bad_option, Option})
    end.

variable({Name, Value}, Env) ->
    Key = text(Name, {env, Env}),
    case Key =:= <<>> orelse binary:match(Key, <<"=">>) =/= nomatch of
        true -> erlang:error({bad_option, {env, Env}});
        false -> {Key, text(Value, {env, Env})}
    end;
variable(_, Env) ->
    erlang:error({bad_option, {env, Env}}).

preopen({Host, Guest, Access} = Preopen) when Access =:= read; Access =:= read_write ->
    %% A binary is the OS's bytes for the name, as file:name_all() allows
    %% (filename:absname/1 keeps a binary's bytes).
    HostPath = try filename:absname(Host) of
                   Path when is_binary(Path) -> Path;
                   Path -> native_name(Path, Preopen)
               catch
                   error:_ -> erlang:error({bad_option, {preopens, Preopen}})
               end,
    {HostPath, text(Guest, {preopens, Preopen}), Access =:= read_write};
preopen(Preopen) ->
    erlang:error({bad_option, {preopens, Preopen}}).

native_name(Path, Preopen) ->
    try unicode:characters_to_binary(Path, unicode, file:native_name_encoding()) of
        Name when is_binary(Name) -> Name;
        _ -> erlang:error({bad_option, {preopens, Preopen}})
    catch
        error:_ -> erlang:error({bad_option, {preopens, Preopen}})
    end.
