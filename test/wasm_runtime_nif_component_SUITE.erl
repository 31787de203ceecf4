%% Components: loaded and cached like modules, called by name with terms
%% converted by WIT type (every type, both directions, and every wrong
%% shape), resources as references (methods, own and borrow, explicit
%% drops, drops after garbage collection, use after drop, other
%% instances), imports implemented by Erlang funs, WASI preview 2, and the
%% limits every call has (traps, timeouts, fuel, memory, killed callers,
%% concurrent callers). Guests: components/ (Rust, wasm32-wasip2,
%% wit-bindgen), built by the Makefile.
-module(wasm_runtime_nif_component_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([a_component_is_recognised/1, exports_list_wit_signatures/1,
         print_func_prints_the_signature/1, functions_are_named_with_or_without_version/1,
         unknown_functions_and_arities_are_refused/1, the_cache_keeps_a_component/1,
         text_components_compile/1,
         integers_round_trip_at_their_limits/1, integers_out_of_range_are_refused/1,
         floats_round_trip_with_specials/1, chars_are_code_points/1,
         strings_are_binaries_or_code_point_lists/1, byte_lists_are_binaries/1,
         lists_and_tuples_round_trip/1, records_are_maps_with_atom_keys/1,
         variants_enums_and_flags_are_atoms/1, options_and_results_are_tagged/1,
         nested_values_round_trip/1, several_parameters_and_no_result/1,
         wrong_shapes_name_the_parameter_and_type/1,
         call_raw_calls_a_component_too/1, large_values_cross_on_dirty_schedulers/1,
         results_lift_on_normal_schedulers_while_memory_is_small/1,
         resources_are_references/1, an_own_argument_is_moved/1,
         resources_are_dropped_explicitly/1, collected_resources_are_dropped/1,
         resources_of_another_instance_are_refused/1,
         erlang_funs_implement_imports/1, imports_are_named_with_or_without_version/1,
         missing_imports_are_named/1, imports_list_what_instantiation_needs/1,
         a_raising_import_fun_invalidates/1,
         a_bad_import_result_traps/1,
         wasi_output_args_and_env/1, wasi_preopens_read_and_write/1,
         wasi_streams_reach_a_fun/1, wasi_stdin_is_read_whole_in_bounded_reads/1,
         a_poll_of_too_many_pollables_traps/1, a_crates_io_command_is_a_component/1,
         a_trap_invalidates_the_instance/1, a_timeout_ends_a_spinning_call/1,
         fuel_ends_a_spinning_call/1, memory_is_limited/1, recursion_overflows_the_stack/1,
         a_killed_caller_cancels_the_call/1, concurrent_callers_take_turns/1,
         memory_access_finds_nothing/1,
         every_type_round_trips/1, nested_values_round_trip_arbitrarily/1,
         wrong_shapes_never_reach_the_guest/1,
         a_component_may_import_nothing/1, a_result_outside_memory_traps/1,
         too_many_names_are_refused/1, imported_resources_are_refused/1]).

all() ->
    [{group, loading}, {group, values}, {group, properties}, {group, resources},
     {group, imports}, {group, wasi}, {group, limits}, {group, hostile}].

groups() ->
    [{loading, [], [a_component_is_recognised, exports_list_wit_signatures,
                    print_func_prints_the_signature, functions_are_named_with_or_without_version,
                    unknown_functions_and_arities_are_refused, the_cache_keeps_a_component,
                    text_components_compile]},
     {values, [], [integers_round_trip_at_their_limits, integers_out_of_range_are_refused,
                   floats_round_trip_with_specials, chars_are_code_points,
                   strings_are_binaries_or_code_point_lists, byte_lists_are_binaries,
                   lists_and_tuples_round_trip, records_are_maps_with_atom_keys,
                   variants_enums_and_flags_are_atoms, options_and_results_are_tagged,
                   nested_values_round_trip, several_parameters_and_no_result,
                   wrong_shapes_name_the_parameter_and_type, call_raw_calls_a_component_too,
                   large_values_cross_on_dirty_schedulers,
                   results_lift_on_normal_schedulers_while_memory_is_small]},
     {properties, [], [every_type_round_trips, nested_values_round_trip_arbitrarily,
                       wrong_shapes_never_reach_the_guest]},
     {resources, [], [resources_are_references, an_own_argument_is_moved,
                      resources_are_dropped_explicitly, collected_resources_are_dropped,
                      resources_of_another_instance_are_refused]},
     {imports, [], [erlang_funs_implement_imports, imports_are_named_with_or_without_version,
                    missing_imports_are_named, imports_list_what_instantiation_needs,
                    a_raising_import_fun_invalidates,
                    a_bad_import_result_traps]},
     {wasi, [], [wasi_output_args_and_env, wasi_preopens_read_and_write,
                 wasi_streams_reach_a_fun, wasi_stdin_is_read_whole_in_bounded_reads,
                 a_poll_of_too_many_pollables_traps, a_crates_io_command_is_a_component]},
     {limits, [], [a_trap_invalidates_the_instance, a_timeout_ends_a_spinning_call,
                   fuel_ends_a_spinning_call, memory_is_limited, recursion_overflows_the_stack,
                   a_killed_caller_cancels_the_call, concurrent_callers_take_turns,
                   memory_access_finds_nothing]},
     {hostile, [], [a_component_may_import_nothing, a_result_outside_memory_traps,
                    too_many_names_are_refused, imported_resources_are_refused]}].

-define(TYPES, "test:echo/types#").

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(wasm_runtime_nif),
    Echo = wasm_test_util:load(Config, "echo.wasm"),
    [{echo, Echo} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    {ok, Instance} = wasm_runtime_nif:instantiate(?config(echo, Config)),
    [{instance, Instance} | Config].

end_per_testcase(_Case, _Config) ->
    ok.

%% A function of the echo component's `types' interface.
types(Name) ->
    <<?TYPES, Name/binary>>.

echo(Config, Name, Value) ->
    wasm_runtime_nif:call(?config(instance, Config), types(Name), [Value]).

round_trips(Config, Name, Values) ->
    [?assertEqual(V, echo(Config, Name, V)) || V <- Values],
    ok.

%% The error a call raises.
raised(Config, Name, Args) ->
    wasm_test_util:raised(fun() -> wasm_runtime_nif:call(?config(instance, Config), Name, Args) end).

%%% ------------------------------------------------------------------
%%% Loading

a_component_is_recognised(Config) ->
    Bytes = read(Config, "echo.wasm"),
    <<0, "asm", 16#0d, 0, 1, 0, _/binary>> = Bytes,
    {ok, Module} = wasm_runtime_nif:compile(Bytes),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module),
    <<"Hello, BEAM!">> = wasm_runtime_nif:call(Instance, greet, [<<"BEAM">>]),
    ok = wasm_runtime_nif:release(Instance).

exports_list_wit_signatures(Config) ->
    Exports = wasm_runtime_nif:exports(?config(echo, Config)),
    Exports = wasm_runtime_nif:exports(?config(instance, Config)),
    {_, {component_func, <<"func(name: string) -> string">>}} = lists:keyfind(<<"greet">>, 1, Exports),
    {_, {component_func, <<"func(v: record {x: s32, y: s32}) -> record {x: s32, y: s32}">>}} =
        lists:keyfind(<<"test:echo/types@0.1.0#echo-point">>, 1, Exports),
    {_, {component_func, <<"func(self: borrow<counter>, by: s64) -> s64">>}} =
        lists:keyfind(<<"test:echo/types@0.1.0#[method]counter.bump">>, 1, Exports),
    {_, {component_func, <<"func(c: counter) -> s64">>}} =
        lists:keyfind(<<"test:echo/types@0.1.0#consume">>, 1, Exports),
    {_, {component_func, <<"func(v: result<_, string>) -> result<_, string>">>}} =
        lists:keyfind(<<"test:echo/types@0.1.0#echo-err-only">>, 1, Exports),
    {_, {component_func, <<"func()">>}} =
        lists:keyfind(<<"test:echo/types@0.1.0#nothing">>, 1, Exports),
    ok.

print_func_prints_the_signature(Config) ->
    Printed = capture(fun() -> wasm_runtime_nif:print_func(?config(echo, Config),
                                                           <<?TYPES, "echo-option">>) end),
    <<"test:echo/types@0.1.0#echo-option: func(v: option<option<u32>>) -> option<option<u32>>\n">> =
        Printed,
    {undefined_function, nope} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:print_func(?config(echo, Config), nope) end),
    ok.

functions_are_named_with_or_without_version(Config) ->
    I = ?config(instance, Config),
    3 = wasm_runtime_nif:call(I, <<"test:echo/types@0.1.0#echo-u8">>, [3]),
    3 = wasm_runtime_nif:call(I, <<"test:echo/types#echo-u8">>, [3]),
    3 = wasm_runtime_nif:call(I, 'test:echo/types#echo-u8', [3]),
    <<"Hello, a!">> = wasm_runtime_nif:call(I, <<"greet">>, [<<"a">>]),
    ok.

unknown_functions_and_arities_are_refused(Config) ->
    {undefined_function, <<"test:echo/types#nope">>} = raised(Config, types(<<"nope">>), []),
    {undefined_function, <<"test:echo/other#echo-u8">>} =
        raised(Config, <<"test:echo/other#echo-u8">>, [1]),
    {badarity, <<"test:echo/types#echo-u8">>, 1, 2} = raised(Config, types(<<"echo-u8">>), [1, 2]),
    badarg = raised(Config, "greet", [<<"a">>]),
    badarg = raised(Config, greet, not_a_list),
    %% The instance is as it was.
    <<"Hello, b!">> = wasm_runtime_nif:call(?config(instance, Config), greet, [<<"b">>]),
    ok.

the_cache_keeps_a_component(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "component_cache"),
    Bytes = read(Config, "echo.wasm"),
    {ok, First} = wasm_runtime_nif:compile(Bytes, [{cache, Dir}]),
    [_] = filelib:wildcard(filename:join(Dir, "*")),
    {ok, Second} = wasm_runtime_nif:compile(Bytes, [{cache, Dir}]),
    true = wasm_runtime_nif:exports(First) =:= wasm_runtime_nif:exports(Second),
    {ok, Instance} = wasm_runtime_nif:instantiate(Second),
    <<"Hello, cache!">> = wasm_runtime_nif:call(Instance, greet, [<<"cache">>]),
    ok.

text_components_compile(_Config) ->
    Wat = <<"(component
               (core module $m (func (export \"seven\") (result i32) i32.const 7))
               (core instance $i (instantiate $m))
               (func (export \"seven\") (result u32) (canon lift (core func $i \"seven\"))))">>,
    {ok, Module} = wasm_runtime_nif:compile(Wat),
    [{<<"seven">>, {component_func, <<"func() -> u32">>}}] = wasm_runtime_nif:exports(Module),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module),
    7 = wasm_runtime_nif:call(Instance, seven, []),
    {error, {invalid_module, _}} = wasm_runtime_nif:compile(<<0, "asm", 16#0d, 0, 1, 0, 1, 2, 3>>),
    ok.

%%% ------------------------------------------------------------------
%%% Values

integers_round_trip_at_their_limits(Config) ->
    Limits = [{<<"echo-s8">>, -128, 127}, {<<"echo-u8">>, 0, 255},
              {<<"echo-s16">>, -32768, 32767}, {<<"echo-u16">>, 0, 65535},
              {<<"echo-s32">>, -1 bsl 31, (1 bsl 31) - 1}, {<<"echo-u32">>, 0, (1 bsl 32) - 1},
              {<<"echo-s64">>, -1 bsl 63, (1 bsl 63) - 1}, {<<"echo-u64">>, 0, (1 bsl 64) - 1}],
    [round_trips(Config, Name, [Min, Max, 0, Max div 2]) || {Name, Min, Max} <- Limits],
    round_trips(Config, <<"echo-bool">>, [true, false]),
    ok.

integers_out_of_range_are_refused(Config) ->
    Cases = [{<<"echo-s8">>, [-129, 128], <<"s8">>}, {<<"echo-u8">>, [-1, 256], <<"u8">>},
             {<<"echo-s16">>, [-32769, 32768], <<"s16">>}, {<<"echo-u16">>, [-1, 65536], <<"u16">>},
             {<<"echo-s32">>, [-1 bsl 31 - 1, 1 bsl 31], <<"s32">>},
             {<<"echo-u32">>, [-1, 1 bsl 32], <<"u32">>},
             {<<"echo-s64">>, [-1 bsl 63 - 1, 1 bsl 63], <<"s64">>},
             {<<"echo-u64">>, [-1, 1 bsl 64], <<"u64">>},
             {<<"echo-bool">>, [0, nil], <<"bool">>}],
    [begin
         Expected = <<"v must be a ", Type/binary>>,
         {bad_argument, _, <<"v">>, Expected} = raised(Config, types(Name), [V])
     end || {Name, Values, Type} <- Cases, V <- Values],
    ok.

floats_round_trip_with_specials(Config) ->
    round_trips(Config, <<"echo-f64">>, [0.0, -1.5, 1.7976931348623157e308, 5.0e-324,
                                         nan, infinity, neg_infinity]),
    round_trips(Config, <<"echo-f32">>, [0.0, -1.5, 3.4028234663852886e38, nan, infinity,
                                         neg_infinity]),
    %% Integers are taken as floats, as call_raw/3 takes them.
    2.0 = echo(Config, <<"echo-f64">>, 2),
    %% An f64 an f32 cannot hold is refused, not turned into infinity.
    {bad_argument, _, <<"v">>, <<"v must be a f32">>} = raised(Config, types(<<"echo-f32">>), [1.0e300]),
    {bad_argument, _, <<"v">>, _} = raised(Config, types(<<"echo-f64">>), [<<"1.0">>]),
    ok.

chars_are_code_points(Config) ->
    round_trips(Config, <<"echo-char">>, [0, $a, 16#3bb, 16#d7ff, 16#e000, 16#10ffff]),
    [{bad_argument, _, <<"v">>, <<"v must be a char">>} = raised(Config, types(<<"echo-char">>), [C])
     || C <- [16#d800, 16#dfff, 16#110000, -1, "a"]],
    ok.

strings_are_binaries_or_code_point_lists(Config) ->
    round_trips(Config, <<"echo-string">>, [<<>>, <<"plain">>, <<"λ→∀ 🦀"/utf8>>,
                                            binary:copy(<<"x">>, 100000)]),
    <<"λx"/utf8>> = echo(Config, <<"echo-string">>, [16#3bb, $x]),
    <<>> = echo(Config, <<"echo-string">>, []),
    [{bad_argument, _, <<"v">>, <<"v must be a string">>} = raised(Config, types(<<"echo-string">>), [S])
     || S <- [<<255, 254>>, [16#d800], atom, [a]]],
    ok.

byte_lists_are_binaries(Config) ->
    round_trips(Config, <<"echo-bytes">>, [<<>>, <<0, 1, 255>>, crypto:strong_rand_bytes(5000)]),
    %% A list of bytes is taken too; a binary comes back.
    <<1, 2, 3>> = echo(Config, <<"echo-bytes">>, [1, 2, 3]),
    {bad_argument, _, <<"v">>, <<"v[1] must be a u8">>} =
        raised(Config, types(<<"echo-bytes">>), [[1, 256]]),
    ok.

lists_and_tuples_round_trip(Config) ->
    round_trips(Config, <<"echo-list">>, [[], [1], [-1 bsl 63, (1 bsl 63) - 1], lists:seq(1, 3000)]),
    round_trips(Config, <<"echo-strings">>, [[], [<<>>, <<"a">>, <<"λ"/utf8>>]]),
    round_trips(Config, <<"echo-tuple">>, [{0, <<>>, 0.0}, {255, <<"s">>, nan}]),
    {bad_argument, _, <<"v">>, <<"v must be a tuple<u8, string, f64>">>} =
        raised(Config, types(<<"echo-tuple">>), [{1, <<"s">>}]),
    {bad_argument, _, <<"v">>, <<"v{2} must be a string">>} =
        raised(Config, types(<<"echo-tuple">>), [{1, 2, 3.0}]),
    {bad_argument, _, <<"v">>, _} = raised(Config, types(<<"echo-list">>), [[1 | 2]]),
    ok.

records_are_maps_with_atom_keys(Config) ->
    round_trips(Config, <<"echo-point">>, [#{x => 0, y => 0}, #{x => -5, y => 1 bsl 30}]),
    Point = <<"record {x: s32, y: s32}">>,
    Expected = <<"v must be a ", Point/binary>>,
    [{bad_argument, _, <<"v">>, Expected} = raised(Config, types(<<"echo-point">>), [P])
     || P <- [#{x => 1}, #{x => 1, y => 2, z => 3}, #{<<"x">> => 1, <<"y">> => 2}, {1, 2}]],
    {bad_argument, _, <<"v">>, <<"v.y must be a s32">>} =
        raised(Config, types(<<"echo-point">>), [#{x => 1, y => 1.0}]),
    ok.

variants_enums_and_flags_are_atoms(Config) ->
    round_trips(Config, <<"echo-shape">>, [{circle, 1.5}, {rectangle, #{x => 1, y => 2}}, empty]),
    round_trips(Config, <<"echo-color">>, [red, green, deep_blue]),
    round_trips(Config, <<"echo-perms">>, [[], [read], [read, write, exec], [write, exec]]),
    %% Flags come back in their declared order, whatever the order given.
    [read, exec] = echo(Config, <<"echo-perms">>, [exec, read]),
    Shape = <<"variant {circle(f64), rectangle(record {x: s32, y: s32}), empty}">>,
    [{bad_argument, _, <<"v">>, <<"v must be a ", Shape/binary>>} =
         raised(Config, types(<<"echo-shape">>), [S])
     || S <- [circle, {empty, 1}, square, {circle, 1.0, 2.0}]],
    {bad_argument, _, <<"v">>, <<"v{circle} must be a f64">>} =
        raised(Config, types(<<"echo-shape">>), [{circle, <<"r">>}]),
    [{bad_argument, _, <<"v">>, <<"v must be a enum {red, green, deep-blue}">>} =
         raised(Config, types(<<"echo-color">>), [C])
     || C <- ['deep-blue', blue, 0]],
    [{bad_argument, _, <<"v">>, <<"v must be a flags {read, write, exec}">>} =
         raised(Config, types(<<"echo-perms">>), [F])
     || F <- [[read, read], [delete], read]],
    ok.

options_and_results_are_tagged(Config) ->
    round_trips(Config, <<"echo-option">>, [none, {some, none}, {some, {some, 0}},
                                            {some, {some, (1 bsl 32) - 1}}]),
    round_trips(Config, <<"echo-result">>, [{ok, <<"fine">>}, {error, 42}]),
    round_trips(Config, <<"echo-bare-result">>, [ok, error]),
    round_trips(Config, <<"echo-ok-only">>, [{ok, 7}, error]),
    round_trips(Config, <<"echo-err-only">>, [ok, {error, <<"why">>}]),
    [{bad_argument, _, <<"v">>, _} = raised(Config, types(<<"echo-option">>), [O])
     || O <- [undefined, {some, 1}, {some, {some, -1}}, {some}]],
    [{bad_argument, _, <<"v">>, _} = raised(Config, types(<<"echo-bare-result">>), [R])
     || R <- [{ok, 1}, {error, 1}, true]],
    [{bad_argument, _, <<"v">>, _} = raised(Config, types(<<"echo-ok-only">>), [R])
     || R <- [ok, {error, 1}]],
    ok.

nested_values_round_trip(Config) ->
    Nest = #{name => <<"outer">>, shapes => [{circle, 0.5}, empty, {rectangle, #{x => 1, y => -1}}],
             tag => {some, deep_blue}, perms => [write], pairs => [{0, <<>>}, {255, <<"z">>}]},
    round_trips(Config, <<"echo-nest">>, [[], [Nest], [Nest, Nest#{tag => none, shapes => []}]]),
    {bad_argument, _, <<"v">>, <<"v[1].shapes[2]{rectangle}.x must be a s32">>} =
        raised(Config, types(<<"echo-nest">>),
               [[Nest, Nest#{shapes => [empty, empty, {rectangle, #{x => a, y => 1}}]}]]),
    ok.

several_parameters_and_no_result(Config) ->
    I = ?config(instance, Config),
    Many = {1, -2, <<"c">>, #{x => 3, y => 4}},
    Many = wasm_runtime_nif:call(I, types(<<"many">>), tuple_to_list(Many)),
    {bad_argument, _, <<"c">>, <<"c must be a string">>} =
        raised(Config, types(<<"many">>), [1, -2, 3, #{x => 3, y => 4}]),
    ok = wasm_runtime_nif:call(I, types(<<"nothing">>), []),
    Described = wasm_runtime_nif:call(I, types(<<"describe">>), [#{x => 1, y => 2}, empty]),
    {match, _} = re:run(Described, "x: 1, y: 2.*Empty"),
    500500 = wasm_runtime_nif:call(I, types(<<"sum">>), [lists:seq(1, 1000)]),
    ok.

wrong_shapes_name_the_parameter_and_type(Config) ->
    %% One wrong shape of every type, each named in the message.
    Cases = [{<<"echo-bool">>, 1, <<"bool">>}, {<<"echo-s64">>, 1.0, <<"s64">>},
             {<<"echo-f64">>, <<"1.0">>, <<"f64">>}, {<<"echo-char">>, <<"a">>, <<"char">>},
             {<<"echo-string">>, 1, <<"string">>}, {<<"echo-bytes">>, <<"x">>, skip},
             {<<"echo-list">>, <<"x">>, <<"list<s64>">>},
             {<<"echo-tuple">>, [1, <<>>, 1.0], <<"tuple<u8, string, f64>">>},
             {<<"echo-point">>, [], <<"record {x: s32, y: s32}">>},
             {<<"echo-color">>, "red", <<"enum {red, green, deep-blue}">>},
             {<<"echo-perms">>, #{}, <<"flags {read, write, exec}">>},
             {<<"echo-option">>, nil, <<"option<option<u32>>">>},
             {<<"echo-result">>, {oops, 1}, <<"result<string, u32>">>}],
    [case Type of
         skip -> <<"x">> = echo(Config, Name, V);
         _ ->
             Message = <<"v must be a ", Type/binary>>,
             {bad_argument, _, <<"v">>, Message} = raised(Config, types(Name), [V])
     end || {Name, V, Type} <- Cases],
    %% Refused before anything ran: the instance goes on.
    true = echo(Config, <<"echo-bool">>, true),
    ok.

call_raw_calls_a_component_too(Config) ->
    I = ?config(instance, Config),
    -5 = wasm_runtime_nif:call_raw(I, types(<<"echo-s32">>), [-5]),
    nan = wasm_runtime_nif:call_raw(I, types(<<"echo-f64">>), [nan]),
    ok.

large_values_cross_on_dirty_schedulers(Config) ->
    %% Past what a normal scheduler converts at once the call continues on
    %% a dirty one, arguments and result alike.
    Long = lists:seq(1, 200000),
    Long = echo(Config, <<"echo-list">>, Long),
    Sum = lists:sum(Long),
    Sum = wasm_runtime_nif:call(?config(instance, Config), types(<<"sum">>), [Long]),
    %% A long list is walked to its end before its elements are converted:
    %% an improper one is refused as a whole.
    Improper = lists:foldl(fun(X, Tail) -> [X | Tail] end, tail, Long),
    {bad_argument, _, <<"v">>, ImproperMessage} =
        raised(Config, types(<<"echo-list">>), [Improper]),
    {match, _} = re:run(ImproperMessage, "^v must be a list<s64>$"),
    Bytes = crypto:strong_rand_bytes(1 bsl 20),
    Bytes = echo(Config, <<"echo-bytes">>, Bytes),
    %% Past what one call may pass (each byte of a list<u8> is a value of
    %% its own), an argument is refused before anything is made of it.
    Huge = crypto:strong_rand_bytes(16 bsl 20),
    {bad_argument, _, <<"v">>, Message} = raised(Config, types(<<"echo-bytes">>), [Huge]),
    {match, _} = re:run(Message, "holds more than the [0-9]+ values a call may pass"),
    true = echo(Config, <<"echo-bool">>, true),
    ok.

results_lift_on_normal_schedulers_while_memory_is_small(Config) ->
    %% A string result costs to lift at most in proportion to the memory it
    %% is read from: while that is small the call stays on normal
    %% schedulers, and a call that grows it past the bound moves to dirty
    %% ones before its result is lifted.
    {ok, I} = wasm_runtime_nif:instantiate(?config(echo, Config)),
    Greet = fun() ->
                    [<<"Hello, you!">> = wasm_runtime_nif:call(I, <<"greet">>, [<<"you">>])
                     || _ <- lists:seq(1, 200)],
                    ok
            end,
    0 = dirty_cpu_time(Greet),
    Control = fun(F) -> <<"test:echo/control#", F/binary>> end,
    Repeat = fun() ->
                     Big = wasm_runtime_nif:call(I, Control(<<"repeat">>), [<<"ab">>, 8 bsl 20]),
                     16 bsl 20 = byte_size(Big),
                     <<"abab">> = binary:part(Big, byte_size(Big) - 4, 4),
                     ok
             end,
    %% A call that grows the memory past the bound yields on the growth
    %% and goes on on dirty schedulers, where its result is lifted.
    GrowThenGreet = fun() ->
                            <<"grown">> = wasm_runtime_nif:call(I, Control(<<"grow-then-greet">>), [8]),
                            ok
                    end,
    true = dirty_cpu_time(GrowThenGreet) > 0,
    %% Its memory is past the bound now: such calls start on dirty ones,
    %% and a large result is made, lifted and converted there.
    ok = Repeat(),
    true = dirty_cpu_time(Greet) > 0,
    ok = wasm_runtime_nif:release(I).

%% Microseconds the dirty CPU schedulers were awake while `Run` ran.
dirty_cpu_time(Run) ->
    _ = msacc:start(),
    ok = Run(),
    Stats = msacc:stats(),
    msacc:stop(),
    msacc:reset(),
    lists:sum([Time || #{type := dirty_cpu_scheduler, counters := Counters} <- Stats,
                       {State, Time} <- maps:to_list(Counters), State =/= sleep]).

%%% ------------------------------------------------------------------
%%% Properties: arbitrary values of every type go in and come back
%%% identical; arbitrary wrong terms are refused before the guest runs.

%% {Function, Generator} for every echo function of the types interface.
typed() ->
    [{<<"echo-bool">>, boolean()},
     {<<"echo-s8">>, integer(-128, 127)}, {<<"echo-u8">>, integer(0, 255)},
     {<<"echo-s16">>, integer(-32768, 32767)}, {<<"echo-u16">>, integer(0, 65535)},
     {<<"echo-s32">>, integer(-1 bsl 31, (1 bsl 31) - 1)},
     {<<"echo-u32">>, integer(0, (1 bsl 32) - 1)},
     {<<"echo-s64">>, integer(-1 bsl 63, (1 bsl 63) - 1)},
     {<<"echo-u64">>, integer(0, (1 bsl 64) - 1)},
     {<<"echo-f32">>, f32()}, {<<"echo-f64">>, f64()},
     {<<"echo-char">>, code_point()}, {<<"echo-string">>, utf8()},
     {<<"echo-bytes">>, binary()}, {<<"echo-list">>, list(integer(-1 bsl 63, (1 bsl 63) - 1))},
     {<<"echo-strings">>, list(utf8())},
     {<<"echo-tuple">>, {integer(0, 255), utf8(), f64()}},
     {<<"echo-point">>, point()}, {<<"echo-shape">>, shape()}, {<<"echo-color">>, color()},
     {<<"echo-perms">>, perms()},
     {<<"echo-option">>, oneof([none, {some, none}, {some, {some, integer(0, (1 bsl 32) - 1)}}])},
     {<<"echo-result">>, oneof([{ok, utf8()}, {error, integer(0, (1 bsl 32) - 1)}])},
     {<<"echo-bare-result">>, oneof([ok, error])},
     {<<"echo-ok-only">>, oneof([{ok, integer(0, 65535)}, error])},
     {<<"echo-err-only">>, oneof([ok, {error, utf8()}])},
     {<<"echo-nest">>, list(nest())}].

f64() ->
    oneof([float(), nan, infinity, neg_infinity,
           ?LET(Bits, integer(0, (1 bsl 64) - 1), bits_float(<<Bits:64>>))]).

%% Any float an f32 holds exactly: its bits, or a special.
f32() ->
    ?LET(Bits, integer(0, (1 bsl 32) - 1), bits_float(<<Bits:32>>)).

bits_float(<<F:32/float>>) -> F;
bits_float(<<F:64/float>>) -> F;
bits_float(<<0:1, 16#ff:8, 0:23>>) -> infinity;
bits_float(<<1:1, 16#ff:8, 0:23>>) -> neg_infinity;
bits_float(<<0:1, 16#7ff:11, 0:52>>) -> infinity;
bits_float(<<1:1, 16#7ff:11, 0:52>>) -> neg_infinity;
bits_float(_) -> nan.

code_point() ->
    oneof([integer(0, 16#d7ff), integer(16#e000, 16#10ffff)]).

point() ->
    ?LET({X, Y}, {integer(-1 bsl 31, (1 bsl 31) - 1), integer(-1 bsl 31, (1 bsl 31) - 1)},
         #{x => X, y => Y}).

shape() ->
    oneof([{circle, f64()}, {rectangle, point()}, empty]).

color() ->
    oneof([red, green, deep_blue]).

%% A set of flags, in their declared order.
perms() ->
    ?LET(Set, list(oneof([read, write, exec])),
         [Flag || Flag <- [read, write, exec], lists:member(Flag, Set)]).

nest() ->
    ?LET({Name, Shapes, Tag, Perms, Pairs},
         {utf8(), list(shape()), oneof([none, {some, color()}]), perms(),
          list({integer(0, 255), utf8()})},
         #{name => Name, shapes => Shapes, tag => Tag, perms => Perms, pairs => Pairs}).

every_type_round_trips(Config) ->
    I = ?config(instance, Config),
    [wasm_test_util:quickcheck(
       ?FORALL(Value, Generator,
               ?WHENFAIL(ct:pal("~ts: ~p~n", [Name, Value]),
                         wasm_runtime_nif:call(I, types(Name), [Value]) =:= Value)),
       200)
     || {Name, Generator} <- typed()],
    ok.

nested_values_round_trip_arbitrarily(Config) ->
    I = ?config(instance, Config),
    wasm_test_util:quickcheck(
      ?FORALL(Nests, resize(30, list(nest())),
              wasm_runtime_nif:call(I, types(<<"echo-nest">>), [Nests]) =:= Nests), 300).

%% Any term that is not of the type is refused with bad_argument, and the
%% instance goes on. A term that is taken comes back as it was, or in the
%% canonical form of what was taken for it (a float for an integer, a
%% binary for a charlist or a list of bytes, flags in their declared
%% order), which itself comes back as it is.
wrong_shapes_never_reach_the_guest(Config) ->
    I = ?config(instance, Config),
    Functions = [Name || {Name, _} <- typed()],
    Call = fun(Name, Term) -> wasm_runtime_nif:call(I, types(Name), [Term]) end,
    wasm_test_util:quickcheck(
      ?FORALL({Name, Term}, {oneof(Functions), any()},
              case wasm_test_util:raised(fun() -> Call(Name, Term) end) of
                  {no_error, Back} -> Back =:= Term orelse Call(Name, Back) =:= Back;
                  {bad_argument, _, <<"v">>, Message} -> is_binary(Message)
              end), 2000),
    true = wasm_runtime_nif:call(I, types(<<"echo-bool">>), [true]),
    ok.

%%% ------------------------------------------------------------------
%%% Resources

resources_are_references(Config) ->
    I = ?config(instance, Config),
    Counter = wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [10]),
    true = is_reference(Counter),
    15 = wasm_runtime_nif:call(I, types(<<"[method]counter.bump">>), [Counter, 5]),
    15 = wasm_runtime_nif:call(I, types(<<"[method]counter.get">>), [Counter]),
    Other = wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [100]),
    Merged = wasm_runtime_nif:call(I, types(<<"[static]counter.merge">>), [Counter, Other]),
    115 = wasm_runtime_nif:call(I, types(<<"[method]counter.get">>), [Merged]),
    3 = wasm_runtime_nif:call(I, types(<<"live-counters">>), []),
    {bad_argument, _, <<"self">>, <<"self must be a borrow<counter>">>} =
        raised(Config, types(<<"[method]counter.get">>), [make_ref()]),
    ok.

an_own_argument_is_moved(Config) ->
    I = ?config(instance, Config),
    Counter = wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [7]),
    7 = wasm_runtime_nif:call(I, types(<<"consume">>), [Counter]),
    0 = wasm_runtime_nif:call(I, types(<<"live-counters">>), []),
    {bad_argument, _, <<"self">>, <<"self: the resource was given to the guest (passed as own)">>} =
        raised(Config, types(<<"[method]counter.get">>), [Counter]),
    {bad_resource, _} = wasm_test_util:raised(fun() -> wasm_runtime_nif:resource_drop(I, Counter) end),
    %% Borrowed twice in one call is fine.
    Twice = wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [1]),
    Doubled = wasm_runtime_nif:call(I, types(<<"[static]counter.merge">>), [Twice, Twice]),
    2 = wasm_runtime_nif:call(I, types(<<"[method]counter.get">>), [Doubled]),
    ok.

resources_are_dropped_explicitly(Config) ->
    I = ?config(instance, Config),
    Counter = wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [1]),
    1 = wasm_runtime_nif:call(I, types(<<"live-counters">>), []),
    ok = wasm_runtime_nif:resource_drop(I, Counter),
    0 = wasm_runtime_nif:call(I, types(<<"live-counters">>), []),
    {bad_resource, <<"the resource was dropped">>} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:resource_drop(I, Counter) end),
    {bad_argument, _, <<"self">>, <<"self: the resource was dropped">>} =
        raised(Config, types(<<"[method]counter.get">>), [Counter]),
    badarg = wasm_test_util:raised(fun() -> wasm_runtime_nif:resource_drop(I, make_ref()) end),
    %% None of it harmed the instance.
    true = echo(Config, <<"echo-bool">>, true),
    ok.

collected_resources_are_dropped(Config) ->
    I = ?config(instance, Config),
    Made = fun(Count) ->
                   fun() ->
                           [wasm_runtime_nif:call(I, types(<<"[constructor]counter">>), [N])
                            || N <- lists:seq(1, Count)],
                           ok
                   end
           end,
    Live = fun() -> wasm_runtime_nif:call(I, types(<<"live-counters">>), [], [{timeout, 2000}]) end,
    %% Made in another process, whose heap goes when it exits.
    {no_error, ok} = wasm_test_util:call_in_new_process(Made(50)),
    %% The next call drops them first, once the VM ran their destructors.
    true = wasm_test_util:wait_until(fun() -> Live() =:= 0 end, 2000),
    %% More than one slice drops: the call yields between its drops.
    {no_error, ok} = wasm_test_util:call_in_new_process(Made(600)),
    timer:sleep(500),
    0 = Live(),
    ok.

resources_of_another_instance_are_refused(Config) ->
    I = ?config(instance, Config),
    {ok, Other} = wasm_runtime_nif:instantiate(?config(echo, Config)),
    Counter = wasm_runtime_nif:call(Other, types(<<"[constructor]counter">>), [1]),
    {bad_argument, _, <<"self">>, <<"self: the resource belongs to another instance">>} =
        raised(Config, types(<<"[method]counter.get">>), [Counter]),
    {bad_resource, <<"the resource belongs to another instance">>} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:resource_drop(I, Counter) end),
    1 = wasm_runtime_nif:call(Other, types(<<"[method]counter.get">>), [Counter]),
    true = echo(Config, <<"echo-bool">>, true),
    ok.

%%% ------------------------------------------------------------------
%%% Imports

plugin_imports(Self) ->
    #{{<<"test:plugin/host">>, <<"log">>} =>
          fun(Level, Message) -> Self ! {logged, Level, Message} end,
      {<<"test:plugin/host">>, <<"lookup">>} =>
          fun(<<"missing">>) -> none;
             (Key) -> {some, #{key => Key, value => byte_size(Key)}}
          end,
      {'', now} => fun() -> 1700000000 end}.

plugin(Config, Options) ->
    Module = wasm_test_util:load(Config, "plugin.wasm"),
    {ok, Instance} = wasm_runtime_nif:instantiate(Module, Options),
    Instance.

erlang_funs_implement_imports(Config) ->
    I = plugin(Config, [{imports, plugin_imports(self())}]),
    6 = wasm_runtime_nif:call(I, total, [[<<"ab">>, <<"missing">>, <<"abcd">>]]),
    {logged, info, <<"ab = 2">>} = next_message(),
    {logged, warning, <<"no missing">>} = next_message(),
    {logged, info, <<"abcd = 4">>} = next_message(),
    1700000000 = wasm_runtime_nif:call(I, stamp, []),
    ok.

imports_are_named_with_or_without_version(Config) ->
    Imports = maps:fold(fun({<<"test:plugin/host">>, Name}, Fun, Acc) ->
                                Acc#{{<<"test:plugin/host@0.1.0">>, Name} => Fun};
                           (Key, Fun, Acc) -> Acc#{Key => Fun}
                        end, #{}, plugin_imports(self())),
    I = plugin(Config, [{imports, Imports}]),
    1700000000 = wasm_runtime_nif:call(I, stamp, []),
    ok.

missing_imports_are_named(Config) ->
    Module = wasm_test_util:load(Config, "plugin.wasm"),
    {error, {unknown_import, <<"test:plugin/host@0.1.0">>, <<"log">>, func}} =
        wasm_runtime_nif:instantiate(Module),
    Imports = plugin_imports(self()),
    {error, {unknown_import, <<>>, <<"now">>, func}} =
        wasm_runtime_nif:instantiate(Module, [{imports, maps:remove({'', now}, Imports)}]),
    {error, {import_arity_mismatch, <<"test:plugin/host@0.1.0">>, <<"log">>, 2, 1}} =
        wasm_runtime_nif:instantiate(
          Module, [{imports, Imports#{{<<"test:plugin/host">>, <<"log">>} => fun(_) -> ok end}}]),
    ok.

imports_list_what_instantiation_needs(Config) ->
    %% The interface's functions and the world's own, for funs; WASI's, by
    %% the library.
    Module = wasm_test_util:load(Config, "plugin.wasm"),
    Imports = wasm_runtime_nif:imports(Module),
    Host = <<"test:plugin/host@0.1.0">>,
    %% Types are structural: a signature spells out its records and enums.
    [{Host, <<"log">>, {component_func, <<"func(level: enum {info, warning}, message: string)">>},
      erlang},
     {Host, <<"lookup">>,
      {component_func, <<"func(key: string) -> option<record {key: string, value: s64}>">>}, erlang},
     {<<>>, <<"now">>, {component_func, <<"func() -> u64">>}, erlang}] =
        [Import || {_, _, _, erlang} = Import <- Imports],
    Wasi = [{Interface, Name} || {<<"wasi:", _/binary>> = Interface, Name, {component_func, _}, wasi}
                                      <- Imports],
    true = length(Wasi) =:= length(Imports) - 3,
    true = lists:any(fun({<<"wasi:cli/stdout@", _/binary>>, <<"get-stdout">>}) -> true;
                        (_) -> false
                     end, Wasi),
    Imports = wasm_runtime_nif:imports(plugin(Config, [{imports, plugin_imports(self())}])),
    %% A component without imports lists none.
    [] = wasm_runtime_nif:imports(wasm_test_util:load(Config, "bare.wasm")),
    ok.

a_raising_import_fun_invalidates(Config) ->
    Imports = (plugin_imports(self()))#{{'', now} => fun() -> erlang:error(clock_broken) end},
    I = plugin(Config, [{imports, Imports}]),
    clock_broken = wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, stamp, []) end),
    {instance_invalidated, _} = wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, stamp, []) end),
    ok.

a_bad_import_result_traps(Config) ->
    Imports = (plugin_imports(self()))#{{<<"test:plugin/host">>, <<"lookup">>} => fun(_) -> 42 end},
    I = plugin(Config, [{imports, Imports}]),
    {trap, bad_host_result, Message} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, total, [[<<"a">>]]) end),
    {match, _} = re:run(Message, "test:plugin/host@0.1.0#lookup returned a value that is not"),
    {instance_invalidated, _} = wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, stamp, []) end),
    ok.

%%% ------------------------------------------------------------------
%%% WASI preview 2

wasi_output_args_and_env(Config) ->
    I = plugin(Config, [{imports, plugin_imports(self())},
                        {wasi, #{args => ["plugin", "--flag"], env => #{"KEY" => "value"}}}]),
    ok = wasm_runtime_nif:call(I, print, [<<"to stdout">>]),
    {ok, #{stdout := <<"to stdout">>, stderr := <<"logged 9 bytes">>}} = wasm_runtime_nif:wasi_output(I),
    [<<"plugin">>, <<"--flag">>] = wasm_runtime_nif:call(I, arguments, []),
    [{<<"KEY">>, <<"value">>}] = wasm_runtime_nif:call(I, variables, []),
    %% Without options a component gets nothing.
    Bare = plugin(Config, [{imports, plugin_imports(self())}]),
    [] = wasm_runtime_nif:call(Bare, arguments, []),
    [] = wasm_runtime_nif:call(Bare, variables, []),
    {error, _} = wasm_runtime_nif:call(Bare, 'read-file', [<<"/etc/passwd">>]),
    ok.

wasi_preopens_read_and_write(Config) ->
    Dir = filename:join(?config(priv_dir, Config), "component_preopen"),
    ok = filelib:ensure_path(Dir),
    ok = file:write_file(filename:join(Dir, "in.txt"), <<"from the host">>),
    I = plugin(Config, [{imports, plugin_imports(self())},
                        {wasi, #{preopens => [{Dir, "/data", read_write}]}}]),
    {ok, <<"from the host">>} = wasm_runtime_nif:call(I, 'read-file', [<<"/data/in.txt">>]),
    {ok, 5} = wasm_runtime_nif:call(I, 'write-file', [<<"/data/out.txt">>, <<"hello">>]),
    {ok, <<"hello">>} = file:read_file(filename:join(Dir, "out.txt")),
    {error, _} = wasm_runtime_nif:call(I, 'read-file', [<<"/data/../../etc/passwd">>]),
    ReadOnly = plugin(Config, [{imports, plugin_imports(self())},
                               {wasi, #{preopens => [{Dir, "/data", read}]}}]),
    {error, _} = wasm_runtime_nif:call(ReadOnly, 'write-file', [<<"/data/no.txt">>, <<"x">>]),
    false = filelib:is_file(filename:join(Dir, "no.txt")),
    ok.

wasi_streams_reach_a_fun(Config) ->
    Self = self(),
    I = plugin(Config, [{imports, plugin_imports(Self)},
                        {wasi, #{stdout => fun(Bytes) -> Self ! {out, Bytes} end, stderr => discard}}]),
    ok = wasm_runtime_nif:call(I, print, [<<"streamed">>]),
    {out, <<"streamed">>} = next_message(),
    ok.

%% A program nobody wrote for this library (pulldown-cmark, from
%% crates.io), built for wasm32-wasip2: a command component, whose
%% wasi:cli/run interface is WASI's own WIT. It writes what its preview 1
%% build writes.
a_crates_io_command_is_a_component(_Config) ->
    Fixture = fun(File) -> wasm_test_util:fixture(wasm_runtime_nif_wasi_SUITE, File) end,
    {ok, Markdown} = file:read_file(Fixture("sample.md")),
    {ok, Component} = wasm_runtime_nif:load(Fixture("markdown.component.wasm")),
    [{<<"wasi:cli/run@0.2.0#run">>, {component_func, <<"func() -> result">>}}] =
        wasm_runtime_nif:exports(Component),
    {ok, I} = wasm_runtime_nif:instantiate(
                Component, [{wasi, #{args => ["markdown"], stdin => Markdown}}]),
    ok = wasm_runtime_nif:call(I, <<"wasi:cli/run#run">>, []),
    {ok, #{stdout := Html, stderr := <<>>}} = wasm_runtime_nif:wasi_output(I),
    {ok, #{exit_code := 0, stdout := Html}} =
        wasm_runtime_nif:run_wasi(Fixture("markdown.wasm"), #{args => ["markdown"], stdin => Markdown}),
    true = byte_size(Html) > 100,
    ok.

%% A read of stdin moves at most 1 MiB, however much the guest asks for:
%% std reads on until the end.
wasi_stdin_is_read_whole_in_bounded_reads(Config) ->
    Stdin = crypto:strong_rand_bytes(3 bsl 20 + 17),
    I = plugin(Config, [{imports, plugin_imports(self())}, {wasi, #{stdin => Stdin}}]),
    Stdin = wasm_runtime_nif:call(I, 'read-stdin', []),
    ok.

%% Setting up a poll grows with its pollables: at most 1,024, as preview
%% 1's subscriptions.
a_poll_of_too_many_pollables_traps(Config) ->
    I = plugin(Config, [{imports, plugin_imports(self())}]),
    10 = wasm_runtime_nif:call(I, 'poll-clocks', [10]),
    1024 = wasm_runtime_nif:call(I, 'poll-clocks', [1024]),
    {trap, wasi_limit, _} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, 'poll-clocks', [1025]) end),
    ok.

%%% ------------------------------------------------------------------
%%% Limits

a_trap_invalidates_the_instance(Config) ->
    I = ?config(instance, Config),
    {trap, unreachable, _} = raised(Config, <<"test:echo/control#fail">>, [<<"boom">>]),
    {instance_invalidated, {trap, unreachable, _}} = raised(Config, greet, [<<"a">>]),
    {instance_invalidated, _} = wasm_test_util:raised(fun() -> wasm_runtime_nif:resource_drop(I, make_ref()) end),
    ok.

a_timeout_ends_a_spinning_call(Config) ->
    I = ?config(instance, Config),
    {trap, timeout, _} = wasm_test_util:raised(
                           fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [0],
                                                          [{timeout, 100}]) end),
    {instance_invalidated, _} = raised(Config, greet, [<<"a">>]),
    ok.

fuel_ends_a_spinning_call(Config) ->
    {ok, Module} = wasm_runtime_nif:compile(read(Config, "echo.wasm"), [fuel]),
    {ok, I} = wasm_runtime_nif:instantiate(Module),
    100 = wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [100], [{fuel, 1000000}]),
    {trap, out_of_fuel, _} = wasm_test_util:raised(
                               fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [0],
                                                              [{fuel, 1000000}]) end),
    ok.

memory_is_limited(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(?config(echo, Config), [{max_memory, 32 * 1024 * 1024}]),
    _ = wasm_runtime_nif:call(I, <<"test:echo/control#grow">>, [4]),
    {trap, _, _} = wasm_test_util:raised(
                     fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#grow">>, [64]) end),
    ok.

recursion_overflows_the_stack(Config) ->
    {trap, stack_overflow, _} = raised(Config, <<"test:echo/control#recurse">>, [0]),
    ok.

a_killed_caller_cancels_the_call(Config) ->
    I = ?config(instance, Config),
    Pid = spawn(fun() -> wasm_runtime_nif:call(I, <<"test:echo/control#spin">>, [0]) end),
    timer:sleep(100),
    exit(Pid, kill),
    true = wasm_test_util:wait_until(
             fun() ->
                     case raised(Config, greet, [<<"a">>]) of
                         {instance_invalidated, {trap, cancelled, _}} -> true;
                         _ -> false
                     end
             end, 5000),
    ok.

concurrent_callers_take_turns(Config) ->
    I = ?config(instance, Config),
    Self = self(),
    Pids = [spawn_link(fun() ->
                               Results = [wasm_runtime_nif:call(I, types(<<"sum">>), [lists:seq(1, N)])
                                          || _ <- lists:seq(1, 50)],
                               Self ! {self(), lists:usort(Results)}
                       end) || N <- lists:seq(1, 20)],
    [receive {Pid, [Sum]} -> Sum = N * (N + 1) div 2 end
     || {Pid, N} <- lists:zip(Pids, lists:seq(1, 20))],
    ok.

memory_access_finds_nothing(Config) ->
    I = ?config(instance, Config),
    {error, {undefined_memory, <<"memory">>}} = wasm_runtime_nif:memory_read(I, 0, 4),
    ok.

%%% ------------------------------------------------------------------
%%% Components nobody would build on purpose

a_component_may_import_nothing(Config) ->
    {ok, I} = wasm_runtime_nif:instantiate(wasm_test_util:load(Config, "bare.wasm")),
    11 = wasm_runtime_nif:call(I, add, [4, 7]),
    14 = wasm_runtime_nif:call(I, measure, [#{x => 3, y => 4}, <<"a label">>]),
    {error, not_wasi} = wasm_runtime_nif:wasi_output(I),
    ok.

%% A string whose pointer and length lie outside the guest's memory.
a_result_outside_memory_traps(_Config) ->
    Wat = <<"(component
               (core module $m
                 (memory (export \"memory\") 1)
                 (func (export \"realloc\") (param i32 i32 i32 i32) (result i32) i32.const 8)
                 (func (export \"f\") (result i32) i32.const 16)
                 (data (i32.const 16) \"\\f0\\ff\\00\\00\\ff\\ff\\ff\\00\"))
               (core instance $i (instantiate $m))
               (func (export \"f\") (result string)
                 (canon lift (core func $i \"f\") (memory (core memory $i \"memory\"))
                             (realloc (core func $i \"realloc\")))))">>,
    {ok, Module} = wasm_runtime_nif:compile(Wat),
    {ok, I} = wasm_runtime_nif:instantiate(Module),
    {trap, host_error, <<"string pointer/length out of bounds of memory">>} =
        wasm_test_util:raised(fun() -> wasm_runtime_nif:call(I, f, []) end),
    ok.

%% Every name a component's types use becomes an atom: their number is
%% bounded.
too_many_names_are_refused(_Config) ->
    Component = fun(Enums) ->
                        Types = [io_lib:format(
                                   "(type $e~b' (enum ~s)) (export $e~b \"e~b\" (type $e~b')) "
                                   "(func $f~b (param \"v\" $e~b) (result $e~b) "
                                   "(canon lift (core func $i \"f\"))) (export \"f~b\" (func $f~b))~n",
                                   [T, lists:join(" ", [io_lib:format("\"n~b-~b\"", [T, C])
                                                        || C <- lists:seq(1, 500)]),
                                    T, T, T, T, T, T, T, T])
                                 || T <- lists:seq(1, Enums)],
                        iolist_to_binary(
                          ["(component (core module $m (func (export \"f\") (param i32) (result i32) local.get 0))"
                           " (core instance $i (instantiate $m)) ", Types, ")"])
                end,
    {ok, Few} = wasm_runtime_nif:compile(Component(1)),
    {ok, I} = wasm_runtime_nif:instantiate(Few),
    'n1_7' = wasm_runtime_nif:call(I, f1, ['n1_7']),
    %% Atoms are never freed: all guests of the VM may create 10,000, and a
    %% component that needs more makes none.
    {error, {invalid_module, Message}} = wasm_runtime_nif:compile(Component(21)),
    {match, _} = re:run(Message, "more new atoms than guests may still create"),
    {ok, _} = wasm_runtime_nif:compile(Component(2)),
    ok.

imported_resources_are_refused(_Config) ->
    Wat = <<"(component (import \"test:x/host\" (instance (export \"r\" (type (sub resource))))))">>,
    {error, {unsupported_import_signature, <<"test:x/host">>, <<"r">>, _}} =
        wasm_runtime_nif:compile(Wat),
    ok.

%%% ------------------------------------------------------------------

read(Config, File) ->
    {ok, Bytes} = file:read_file(filename:join(?config(data_dir, Config), File)),
    Bytes.

next_message() ->
    receive Message -> Message after 5000 -> ct:fail(no_message) end.

%% What Fun printed with io:format.
capture(Fun) ->
    ct:capture_start(),
    try Fun() after ct:capture_stop() end,
    iolist_to_binary(ct:capture_get()).
