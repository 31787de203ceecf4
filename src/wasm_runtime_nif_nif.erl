%% @private
%% @doc The NIF library's functions: stubs that loading the library
%% replaces. Nothing else lives here, so that `wasm_runtime_nif', which
%% holds all the logic, can be reloaded like any module; this module can
%% only be reloaded by a VM restart or after it is purged (see
%% docs/design.md, "Reloading").
-module(wasm_runtime_nif_nif).

%% The one list of the NIFs, each `<concept>_<verb>', in the order of
%% lib.rs.
-export([module_compile/2, module_file_read/2, module_exports/1, module_describe/1, module_imports/1,
         instance_new/3, instance_new_dirty/3, instance_call_raw/4, instance_call/4, instance_resource_drop/3,
         instance_leave_queue/1, instance_interrupt/1, instance_describe/1,
         instance_release/1, instance_release_dirty/1, instance_wasi_output/1, instance_access/2,
         instance_access_dirty/2, instance_fuel_burned/1, call_reply/3, call_resume/2,
         runtime_counts/0]).

-on_load(load/0).

%% The engine is configured once, when the library loads, from the
%% application environment (sys.config, or `-wasm_runtime_nif Key Value' on
%% the command line): `max_wasm_stack' (bytes of guest stack),
%% `instance_pool_size' (use the pooling allocator with that many slots) and
%% `max_instance_mappings' (the VM memory mappings live instances may
%% reserve; by default half of vm.max_map_count). `test_hooks' (true) is
%% for the library's own tests only: it lets guests import a function that
%% panics, to check that a panic ends only the call's instance.
load() ->
    whereis(application_controller) =/= undefined andalso application:load(wasm_runtime_nif),
    Counts = [max_wasm_stack, instance_pool_size, max_instance_mappings],
    Info = maps:from_list([{Key, Value} || Key <- Counts,
                                           {ok, Value} <- [application:get_env(wasm_runtime_nif, Key)],
                                           is_integer(Value), Value > 0]
                          ++ [{test_hooks, true} || {ok, true} <- [application:get_env(wasm_runtime_nif, test_hooks)]]),
    case erlang:load_nif(filename:join(priv_dir(), "libwasm_runtime_nif"), Info) of
        ok ->
            ok;
        {error, {upgrade, _}} ->
            %% Rustler cannot hand its resource types to a second copy of
            %% the library: keep the loaded code, which goes on working.
            {error, {reload_refused, "the wasm_runtime_nif NIF library is loaded already; "
                                     "this module cannot be replaced until the VM restarts "
                                     "or the loaded copy is purged"}};
        {error, _} = Error ->
            Error
    end.

priv_dir() ->
    case code:priv_dir(wasm_runtime_nif) of
        {error, bad_name} -> erlang:error({no_priv_dir, wasm_runtime_nif});
        Dir -> Dir
    end.

%% Options cross as maps read by key, each key optional (see
%% wasm_runtime_nif_options, which builds them, and options.rs, which reads
%% them and holds the defaults).
-type options() :: #{atom() => term()}.

-spec module_compile(binary(), options()) ->
          {ok, wasm_runtime_nif:wasm_module()} | {error, wasm_runtime_nif:compile_error()}.
module_compile(_Bytes, _Options) ->
    erlang:nif_error(nif_not_loaded).

-spec module_file_read(binary(), options()) ->
          {ok, binary()} | {error, wasm_runtime_nif:file_error()}.
module_file_read(_Path, _Options) ->
    erlang:nif_error(nif_not_loaded).

-spec module_describe(wasm_runtime_nif:wasm_module()) -> #{atom() => term()}.
module_describe(_Module) ->
    erlang:nif_error(nif_not_loaded).

-spec module_exports(wasm_runtime_nif:wasm_module() | wasm_runtime_nif:instance()) ->
          [wasm_runtime_nif:export()].
module_exports(_ModuleOrInstance) ->
    erlang:nif_error(nif_not_loaded).

-spec module_imports(wasm_runtime_nif:wasm_module() | wasm_runtime_nif:instance()) ->
          [wasm_runtime_nif:import()].
module_imports(_ModuleOrInstance) ->
    erlang:nif_error(nif_not_loaded).

%% The NIFs below may raise {wasm_runtime_nif_request, Request}, which
%% wasm_runtime_nif_protocol serves (docs/design.md, "Requests to the
%% Erlang side").

-spec instance_new(wasm_runtime_nif:wasm_module(), options(),
                   [{binary(), binary(), function() | {encoded, binary()}, arity()}]) ->
          {ok, wasm_runtime_nif:instance()} | {error, wasm_runtime_nif:instantiate_error()}.
instance_new(_Module, _Options, _Imports) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_new_dirty(wasm_runtime_nif:wasm_module(), options(),
                   [{binary(), binary(), function() | {encoded, binary()}, arity()}]) ->
          {ok, wasm_runtime_nif:instance()} | {error, wasm_runtime_nif:instantiate_error()}.
instance_new_dirty(_Module, _Options, _Imports) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_call_raw(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(),
                        [wasm_runtime_nif:value()], options()) -> term().
instance_call_raw(_Instance, _Name, _Args, _Limits) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_call(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(), [term()],
                    options()) -> term().
instance_call(_Instance, _Name, _Args, _Limits) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_resource_drop(wasm_runtime_nif:instance(), wasm_runtime_nif:resource(),
                             options()) -> ok.
instance_resource_drop(_Instance, _Resource, _Limits) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_leave_queue(wasm_runtime_nif:instance()) -> ok.
instance_leave_queue(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_interrupt(wasm_runtime_nif:instance()) -> boolean().
instance_interrupt(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_describe(term()) -> #{atom() => term()} | undefined.
instance_describe(_MaybeInstance) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_release(wasm_runtime_nif:instance()) -> ok | dirty.
instance_release(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_release_dirty(wasm_runtime_nif:instance()) -> ok.
instance_release_dirty(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec call_reply(reference(), tuple(),
                 {ok, term()} | {raised, error | exit | throw, term(), list()}) -> term().
call_reply(_Call, _Carried, _Reply) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_wasi_output(reference()) ->
          #{stdout := binary(), stderr := binary()} | {error, not_wasi}.
instance_wasi_output(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_access(reference(), tuple()) -> term().
instance_access(_Instance, _Access) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_access_dirty(reference(), tuple()) -> term().
instance_access_dirty(_Instance, _Access) ->
    erlang:nif_error(nif_not_loaded).

-spec instance_fuel_burned(reference()) -> {ok, non_neg_integer()} | {error, no_fuel}.
instance_fuel_burned(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec call_resume(reference(), tuple()) -> term().
call_resume(_Call, _Carried) ->
    erlang:nif_error(nif_not_loaded).

-spec runtime_counts() -> #{atom() => non_neg_integer() | infinity}.
runtime_counts() ->
    erlang:nif_error(nif_not_loaded).
