%% @private
%% @doc The NIF library's functions: stubs that loading the library
%% replaces. Nothing else lives here, so that `wasm_runtime_nif', which
%% holds all the logic, can be reloaded like any module; this module can
%% only be reloaded by a VM restart or after it is purged (see
%% docs/design.md, "Reloading").
-module(wasm_runtime_nif_nif).

-export([compile_module/3, instantiate_module/3, call_raw/4, call/4, host_return/3, resume/2,
         release/1, leave_queue/1, module_exports/1, live_counts/0, read_module_file/2]).

-on_load(load/0).

%% The engine is configured once, when the library loads, from the
%% application environment (sys.config, or `-wasm_runtime_nif Key Value' on
%% the command line): `max_wasm_stack' (bytes of guest stack),
%% `instance_pool_size' (use the pooling allocator with that many slots) and
%% `max_instance_mappings' (the VM memory mappings live instances may
%% reserve; by default half of vm.max_map_count).
load() ->
    whereis(application_controller) =/= undefined andalso application:load(wasm_runtime_nif),
    Keys = [max_wasm_stack, instance_pool_size, max_instance_mappings],
    Info = maps:from_list([{Key, Value} || Key <- Keys,
                                           {ok, Value} <- [application:get_env(wasm_runtime_nif, Key)],
                                           is_integer(Value), Value > 0]),
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

-type limits() :: default | {timeout() | default, non_neg_integer() | infinity | default}.

-spec compile_module(binary(), boolean(), undefined | {binary(), binary()}) ->
          {ok, wasm_runtime_nif:wasm_module()} | {error, wasm_runtime_nif:compile_error()}.
compile_module(_Bytes, _Fuel, _Cache) ->
    erlang:nif_error(nif_not_loaded).

-spec instantiate_module(wasm_runtime_nif:wasm_module(), #{atom() => term()},
                         [{binary(), binary(), function() | {encoded, binary()}, arity()}]) ->
          {ok, wasm_runtime_nif:instance()} | {error, wasm_runtime_nif:instantiate_error()}
          | {wasm_runtime_nif_output, binary(), term(), timeout()}.
instantiate_module(_Module, _Settings, _Imports) ->
    erlang:nif_error(nif_not_loaded).

-spec call_raw(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(),
               [wasm_runtime_nif:value()], limits()) -> term().
call_raw(_Instance, _Name, _Args, _Limits) ->
    erlang:nif_error(nif_not_loaded).

-spec call(wasm_runtime_nif:instance(), wasm_runtime_nif:func_name(), [term()], limits()) ->
          term().
call(_Instance, _Name, _Args, _Limits) ->
    erlang:nif_error(nif_not_loaded).

-spec host_return(reference(), tuple() | undefined,
                  {ok, term()} | {raised, error | exit | throw, term(), list()}) -> term().
host_return(_Call, _Carried, _Reply) ->
    erlang:nif_error(nif_not_loaded).

-spec resume(reference(), tuple()) -> term().
resume(_Call, _Carried) ->
    erlang:nif_error(nif_not_loaded).

-spec release(wasm_runtime_nif:instance()) -> ok.
release(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec leave_queue(wasm_runtime_nif:instance()) -> ok.
leave_queue(_Instance) ->
    erlang:nif_error(nif_not_loaded).

-spec module_exports(wasm_runtime_nif:wasm_module() | wasm_runtime_nif:instance()) ->
          [wasm_runtime_nif:export()].
module_exports(_ModuleOrInstance) ->
    erlang:nif_error(nif_not_loaded).

-spec live_counts() -> #{atom() => non_neg_integer()}.
live_counts() ->
    erlang:nif_error(nif_not_loaded).

-spec read_module_file(binary(), non_neg_integer()) ->
          {ok, binary()} | {error, wasm_runtime_nif:file_error()}.
read_module_file(_Path, _MaxBytes) ->
    erlang:nif_error(nif_not_loaded).
