%% A bounded fuzzing campaign (docs/fuzzing.md): random modules through the
%% library against plain Wasmtime, with chaos, and random term-ABI programs
%% against a model, and random values and terms through a component with
%% resources, timeouts and killed callers. `make fuzz' runs the same for as
%% long as asked.
-module(wasm_runtime_nif_fuzz_SUITE).

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([random_modules/1, term_abi_programs/1, component_values/1]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

%% Fixed seeds: the campaign of `make test' is the same every run; `make
%% fuzz' picks new ones.
-define(SEED, 20261202).
-define(MODULES, 3000).
-define(TERM_PROGRAMS, 20000).
-define(COMPONENT_STEPS, 5000).

all() ->
    [random_modules, term_abi_programs, component_values].

%% The repository: two levels above this suite's source.
init_per_suite(Config) ->
    Source = proplists:get_value(source, ?MODULE:module_info(compile)),
    Root = filename:dirname(filename:dirname(Source)),
    Tool = filename:join([Root, "native", "wasm_runtime_nif", "target", "release", "wasm_fuzz"]),
    Interp = filename:join([Root, "fuzz", "_build", "term_interp.wasm"]),
    Echo = filename:join([Root, "test", "wasm_runtime_nif_component_SUITE_data", "echo.wasm"]),
    case lists:all(fun filelib:is_regular/1, [Tool, Interp, Echo]) of
        true -> [{tool, Tool}, {interp, Interp}, {echo, Echo} | Config];
        false -> {fail, {not_built, "run `make fuzz-tools` (make test does)"}}
    end.

end_per_suite(_Config) ->
    ok.

random_modules(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "campaign"),
    Report = wasm_fuzz:campaign(#{modules => ?MODULES, seconds => 1200, seed => ?SEED,
                                  batch => 500, dir => Dir, tool => ?config(tool, Config)}),
    ct:log("~p", [Report]),
    #{modules := Modules, calls := Calls, compared := Compared, vm_deaths := Deaths,
      mismatches := Mismatches, leaks := Leaks, generator_failures := Failures} = Report,
    ?assertEqual([], Deaths),
    ?assertEqual([], Failures),
    ?assertEqual([], Mismatches),
    ?assertEqual([], Leaks),
    ?assertEqual(?MODULES, Modules),
    %% Most modules have something to call, and most calls compare.
    ?assert(Calls > 5 * ?MODULES),
    ?assert(Compared > Calls div 3).

term_abi_programs(Config) ->
    {ok, Module} = wasm_runtime_nif:load(?config(interp, Config)),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module),
    {Ran, Mismatches} = wasm_fuzz_terms:run(Instance, ?SEED, ?TERM_PROGRAMS),
    ct:log("~p programs, mismatches: ~p", [Ran, Mismatches]),
    ?assertEqual([], Mismatches).

component_values(Config) ->
    {ok, Module} = wasm_runtime_nif:load(?config(echo, Config)),
    {Ran, Mismatches} = wasm_fuzz_components:run(Module, ?SEED, ?COMPONENT_STEPS),
    ct:log("~p steps, mismatches: ~p", [Ran, Mismatches]),
    ?assertEqual([], Mismatches).
