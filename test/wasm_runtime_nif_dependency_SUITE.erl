%% The library as other projects use it: a throwaway rebar3 project that
%% depends on a git clone of this checkout (its committed HEAD) with the
%% README's dependency line, compiles it, calls the bundled example,
%% captures its output in the project's EUnit tests and passes dialyzer;
%% and the Elixir project of examples/elixir_app, a mix path dependency,
%% whose ExUnit tests call a guest and capture its output. A dependency builds
%% the NIF, the bundled example and the doc chunks only, none of this
%% project's test guests; `h` shows the docs in both shells.
-module(wasm_runtime_nif_dependency_SUITE).

-include_lib("common_test/include/ct.hrl").

%% The first words of call/3's doc, as both shells print them.
-define(CALL_DOC, "Calls the exported term-ABI function").

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1]).
-export([a_rebar3_project_depends_on_a_git_clone/1,
         a_mix_project_depends_on_the_checkout/1, the_docs_are_chunks_h_shows/1]).

suite() ->
    %% A git clone builds the crate afresh (Wasmtime's crates are shared
    %% through CARGO_TARGET_DIR), and dialyzer builds the project's PLT.
    [{timetrap, {minutes, 40}}].

all() ->
    [the_docs_are_chunks_h_shows, a_rebar3_project_depends_on_a_git_clone,
     a_mix_project_depends_on_the_checkout].

init_per_suite(Config) ->
    %% This suite's beam is inside the checkout (in its _build).
    Here = filename:dirname(code:which(?MODULE)),
    Root = string:trim(os:cmd("git -C " ++ Here ++ " rev-parse --show-toplevel")),
    true = filelib:is_regular(filename:join(Root, "rebar.config")),
    [{root, Root} | Config].

end_per_suite(_Config) ->
    ok.

a_rebar3_project_depends_on_a_git_clone(Config) ->
    Root = ?config(root, Config),
    Project = filename:join(?config(priv_dir, Config), "consumer"),
    Commit = string:trim(run(Root, "git rev-parse HEAD", 60, Root)),
    ok = write_files(Project, consumer_project("file://" ++ Root, Commit)),
    _ = run(Project, "rebar3 compile", 1800, Root),
    Dependency = filename:join(Project, "_build/default/lib/wasm_runtime_nif"),
    %% The NIF and the bundled example are built in the clone ...
    true = filelib:is_regular(filename:join(Dependency, "priv/libwasm_runtime_nif.so")),
    true = filelib:is_regular(filename:join(Dependency, "priv/example.wasm")),
    %% ... and nothing the library's own tests need.
    [] = filelib:wildcard("test/*_SUITE_data/*.wasm", Dependency),
    [] = filelib:wildcard("priv/guide_examples.wasm", Dependency),
    false = filelib:is_dir(filename:join(Dependency, "sdk/rust/target")),
    Call = "erl -noshell -pa _build/default/lib/*/ebin -eval "
           "'io:format(\"~p ~p\", [consumer:add(4, 7), consumer:reverse(<<1,2,3>>)]), halt().'",
    "11 <<3,2,1>>" = run(Project, Call, 120, Root),
    Help = run(Project, "erl -noshell -pa _build/default/lib/*/ebin "
                        "-eval 'c:h(wasm_runtime_nif, call, 3), halt().'", 120, Root),
    {match, _} = re:run(Help, ?CALL_DOC),
    Tests = run(Project, "rebar3 eunit", 1200, Root),
    {match, _} = re:run(Tests, "2 tests, 0 failures"),
    _ = run(Project, "rebar3 dialyzer", 1200, Root),
    ok.

a_mix_project_depends_on_the_checkout(Config) ->
    Root = ?config(root, Config),
    App = filename:join(Root, "examples/elixir_app"),
    Output = run(App, "mix test", 1200, Root),
    %% ExUnit's summary: "N tests, 0 failures".
    {match, _} = re:run(Output, "[1-9][0-9]* tests?, 0 failures"),
    %% The checkout is compiled on every mix command; with nothing changed
    %% that runs neither cargo nor clang, and make prints nothing.
    Again = run(App, "mix test", 600, Root),
    nomatch = re:run(Again, "cargo|make"),
    Help = run(App, "mix run -e 'require IEx.Helpers; IEx.Helpers.h(:wasm_runtime_nif.call/3)'",
               600, Root),
    {match, _} = re:run(Help, ?CALL_DOC),
    ok.

the_docs_are_chunks_h_shows(_Config) ->
    %% This project's own build: every exported function of the API has a
    %% doc, and the documented options of call_raw/4 include fuel.
    {ok, {docs_v1, _, erlang, _, #{<<"en">> := _}, _, Docs}} = code:get_doc(wasm_runtime_nif),
    Exported = [{F, A} || {F, A} <- wasm_runtime_nif:module_info(exports),
                          F =/= module_info],
    Undocumented = [FA || FA <- Exported,
                          not lists:any(fun({{function, F, A}, _, _, #{<<"en">> := _}, _}) ->
                                                {F, A} =:= FA;
                                           (_) -> false
                                        end, Docs)],
    [] = Undocumented,
    [CallRaw4] = [Doc || {{function, call_raw, 4}, _, _, #{<<"en">> := Doc}, _} <- Docs],
    {match, _} = re:run(term_to_binary(CallRaw4), <<"out_of_fuel">>),
    ok.

%%% ------------------------------------------------------------------

%% The output of `Command` run in `Dir` by sh, bounded by `Seconds`; fails
%% the case, showing the output, unless it exits with 0. Variables rebar3
%% set for this run, and mix's, are not passed on; MIX_HOME is the
%% project's own. Cargo builds in the checkout's target directory, where
%% Wasmtime's crates are built already.
run(Dir, Command, Seconds, Root) ->
    Unset = [{Name, false} || Var <- os:getenv(),
                              [Name | _] <- [string:split(Var, "=")],
                              lists:prefix("REBAR_", Name) orelse lists:prefix("MIX_", Name)],
    Env = Unset ++ [{"MIX_HOME", filename:join(Dir, "_build/mix_home")},
                    {"MIX_REBAR3", os:find_executable("rebar3")},
                    {"HEX_OFFLINE", "1"},
                    {"CARGO_TARGET_DIR", filename:join(Root, "native/wasm_runtime_nif/target")}],
    Shell = io_lib:format("timeout -k 10 ~b sh -c '~s' 2>&1", [Seconds, escape(Command)]),
    Port = open_port({spawn_executable, "/bin/sh"},
                     [{args, ["-c", lists:flatten(Shell)]}, {cd, Dir}, {env, Env},
                      exit_status, binary, use_stdio, hide]),
    case collect(Port, []) of
        {0, Output} ->
            Output;
        {Status, Output} ->
            ct:fail("~s in ~s exited with ~p:~n~s", [Command, Dir, Status, Output])
    end.

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, [Data | Acc]);
        {Port, {exit_status, Status}} ->
            {Status, unicode:characters_to_list(lists:reverse(Acc))}
    end.

%% `Command` inside single quotes.
escape(Command) ->
    string:replace(Command, "'", "'\\''", all).

%% A new user's first project: the README's dependency line (on `Commit`
%% of the repository at `Url`), a module that calls the bundled example
%% with numbers and with terms, and EUnit tests, one of which captures
%% what the guest prints through a group leader of its own. Written here rather than kept as
%% fixture files: rebar3 eunit would take an .erl file under test/ for a
%% module of this project.
consumer_project(Url, Commit) ->
    [{"rebar.config",
      ["{erl_opts, [debug_info, warnings_as_errors]}.\n"
       "{deps, [{wasm_runtime_nif, {git, \"", Url, "\", {ref, \"", Commit, "\"}}}]}.\n"
       "{dialyzer, [{warnings, [unmatched_returns, error_handling]}]}.\n"]},
     {"src/consumer.app.src",
      "{application, consumer,\n"
      " [{description, \"A project that depends on wasm_runtime_nif\"},\n"
      "  {vsn, \"0.1.0\"},\n"
      "  {applications, [kernel, stdlib, wasm_runtime_nif]},\n"
      "  {env, []}]}.\n"},
     {"src/consumer.erl",
      "-module(consumer).\n"
      "-export([add/2, reverse/1]).\n"
      "\n"
      "-spec add(integer(), integer()) -> integer().\n"
      "add(A, B) ->\n"
      "    ok = wasm_runtime_nif:init(),\n"
      "    wasm_runtime_nif:call_raw(wasm_runtime_nif:new(), add_I32, [A, B]).\n"
      "\n"
      "-spec reverse(binary()) -> binary().\n"
      "reverse(Bytes) ->\n"
      "    ok = wasm_runtime_nif:init(),\n"
      "    wasm_runtime_nif:call(wasm_runtime_nif:new(), binary_reverse, [Bytes]).\n"},
     {"test/consumer_tests.erl",
      "-module(consumer_tests).\n"
      "-include_lib(\"eunit/include/eunit.hrl\").\n"
      "\n"
      "add_test() ->\n"
      "    ?assertEqual(11, consumer:add(4, 7)).\n"
      "\n"
      "guest_output_is_captured_test() ->\n"
      "    ok = wasm_runtime_nif:init(),\n"
      "    Instance = wasm_runtime_nif:new(),\n"
      "    Self = self(),\n"
      "    Capture = spawn_link(fun() -> capture(Self, []) end),\n"
      "    Leader = group_leader(),\n"
      "    group_leader(Capture, Self),\n"
      "    try ?assertEqual(7, wasm_runtime_nif:call(Instance, hello, [7]))\n"
      "    after group_leader(Leader, Self)\n"
      "    end,\n"
      "    Capture ! {done, Self},\n"
      "    receive {captured, Output} ->\n"
      "        ?assertEqual(<<\"hello from wasm, you passed 7\\n\">>, Output)\n"
      "    end.\n"
      "\n"
      "capture(Owner, Acc) ->\n"
      "    receive\n"
      "        {io_request, From, ReplyAs, {put_chars, Encoding, Chars}} ->\n"
      "            From ! {io_reply, ReplyAs, ok},\n"
      "            capture(Owner, [unicode:characters_to_binary(Chars, Encoding) | Acc]);\n"
      "        {done, Owner} ->\n"
      "            Owner ! {captured, iolist_to_binary(lists:reverse(Acc))}\n"
      "    end.\n"}].

write_files(Dir, Files) ->
    lists:foreach(fun({Name, Content}) ->
                          Path = filename:join(Dir, Name),
                          ok = filelib:ensure_dir(Path),
                          ok = file:write_file(Path, Content)
                  end, Files).
