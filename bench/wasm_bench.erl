%% The benchmark: one table of figures, each the median of several rounds,
%% with ratios to baselines measured in the same run. `make bench` runs it
%% and also writes the table as CSV (bench/_build/results.csv).
-module(wasm_bench).

-export([main/0, main/1, latency/2, instance_creation/0, pools/0, cluster/0]).

-define(ROUNDS, 7).

%% A measured row: group, name, value, unit, and optionally the baseline it
%% is compared with and the target ratio from issue 5.
-record(row, {group, name, value, unit, baseline = "", ratio = undefined, target = ""}).

main() ->
    main(#{}).

main(Options) ->
    Dir = filename:dirname(code:which(?MODULE)),
    ok = wasm_runtime_nif:init(),
    io:format("wasm_runtime_nif benchmark: ~s, OTP ~s, ~b schedulers~n~n",
              [cpu_model(), erlang:system_info(otp_release), erlang:system_info(schedulers_online)]),
    Rows = lists:append([calls(), terms(), instances(Dir), host_calls(Dir), kernels(Dir),
                         wasi(Dir), components(Dir), throughput(), pools(), cluster(),
                         latency_rows(Dir, Options),
                         memory()]),
    print(Rows),
    Csv = filename:join(Dir, "results.csv"),
    ok = file:write_file(Csv, csv(Rows)),
    io:format("~nwritten to ~s~n", [Csv]).

%%% ------------------------------------------------------------------
%%% Measuring
%%% ------------------------------------------------------------------

%% Median over ?ROUNDS rounds of the time per call of Fun, in ns.
per_call(Fun, N) ->
    Fun(),
    median([round_ns(Fun, N) / N || _ <- lists:seq(1, ?ROUNDS)]).

%% Each round starts from a collected heap, once the instances an earlier
%% round dropped are freed (by the reaper thread) and have given back their
%% share of the VM's mappings.
round_ns(Fun, N) ->
    erlang:garbage_collect(),
    settle(wasm_runtime_nif:live_counts(), 250),
    T0 = erlang:monotonic_time(nanosecond),
    loop(N, Fun),
    erlang:monotonic_time(nanosecond) - T0.

settle(_, 0) ->
    ok;
settle(#{mappings := Before}, Tries) ->
    timer:sleep(20),
    case wasm_runtime_nif:live_counts() of
        #{mappings := Before} = Now -> Now;
        Now -> settle(Now, Tries - 1)
    end.

loop(0, _) -> ok;
loop(N, Fun) -> Fun(), loop(N - 1, Fun).

median(Values) ->
    Sorted = lists:sort(Values),
    lists:nth((length(Sorted) + 1) div 2, Sorted).

percentile(Sorted, P) ->
    lists:nth(max(1, min(length(Sorted), round(P * length(Sorted)))), Sorted).

row(Group, Name, Value, Unit) ->
    #row{group = Group, name = Name, value = Value, unit = Unit}.

row(Group, Name, Value, Unit, {BaseName, BaseValue}, Target) ->
    #row{group = Group, name = Name, value = Value, unit = Unit, baseline = BaseName,
         ratio = Value / BaseValue, target = Target}.

%%% ------------------------------------------------------------------
%%% The rows
%%% ------------------------------------------------------------------

calls() ->
    I = wasm_runtime_nif:new(),
    N = 200000,
    Nop = per_call(fun() -> wasm_bench_native:nop() end, N),
    NifAdd = per_call(fun() -> wasm_bench_native:add(4, 7) end, N),
    ErlAdd = per_call(fun() -> add(4, 7) end, N),
    Raw = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_I32, [4, 7]) end, N),
    [row(call, "empty NIF call (C)", Nop, ns),
     row(call, "NIF add (C)", NifAdd, ns),
     row(call, "pure Erlang add", ErlAdd, ns),
     row(call, "call_raw add_I32", Raw, ns, {"empty NIF", Nop}, "<= 4x"),
     row(call, "call_raw add_I32 vs Erlang add", Raw, ns, {"Erlang add", ErlAdd}, "")].

add(A, B) -> A + B.

terms() ->
    I = wasm_runtime_nif:new(),
    N = 200000,
    Raw = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_I32, [4, 7]) end, N),
    Terms = per_call(fun() -> wasm_runtime_nif:call(I, add_terms, [4, 7]) end, N),
    List = lists:seq(1, 1000),
    Sum = per_call(fun() -> wasm_runtime_nif:call(I, add_list_terms, [List]) end, 2000),
    ErlSum = per_call(fun() -> lists:sum(List) end, 2000),
    Small = crypto:strong_rand_bytes(100),
    Big = crypto:strong_rand_bytes(65536),
    Rev100 = per_call(fun() -> wasm_runtime_nif:call(I, binary_reverse, [Small]) end, 50000),
    Rev64k = per_call(fun() -> wasm_runtime_nif:call(I, binary_reverse, [Big]) end, 500),
    Map = maps:from_list([{K, K} || K <- List]),
    MapSum = per_call(fun() -> wasm_runtime_nif:call(I, sum_map_values, [Map]) end, 2000),
    ErlMapSum = per_call(fun() -> maps:fold(fun(_, V, A) -> V + A end, 0, Map) end, 2000),
    Tag = per_call(fun() -> wasm_runtime_nif:call(I, tag_ok, [x]) end, N),
    [row(terms, "call add_terms", Terms, ns, {"call_raw add_I32", Raw}, "<= 2x"),
     row(terms, "sum 1,000-element list in guest", Sum / 1000, us, {"lists:sum/1", ErlSum / 1000}, "< 30 us"),
     row(terms, "binary_reverse 100 B", Rev100 / 1000, us, {"target 1 us", 1.0}, "<= 1x"),
     row(terms, "binary_reverse 64 KiB", Rev64k / 1000, us),
     row(terms, "sum values of a 1,000-key map in guest", MapSum / 1000, us,
         {"maps:fold/3", ErlMapSum / 1000}, ""),
     row(terms, "call tag_ok (make atom and tuple)", Tag, ns, {"call add_terms", Terms}, "")
     | rust_sdk(List, Sum)].

%% The Rust SDK's example guest, built by the test build, against the C one.
rust_sdk(List, CSum) ->
    Path = "test/wasm_runtime_nif_rust_sdk_SUITE_data/rust_guest.wasm",
    case filelib:is_regular(Path) of
        false ->
            [];
        true ->
            {ok, Module} = wasm_runtime_nif:load(Path),
            {ok, I} = wasm_runtime_nif:instantiate(Module),
            Iter = per_call(fun() -> wasm_runtime_nif:call(I, sum_iter, [List]) end, 2000),
            Vec = per_call(fun() -> wasm_runtime_nif:call(I, sum_list, [List]) end, 2000),
            [row(terms, "sum 1,000-element list, Rust SDK, lazy iterator", Iter / 1000, us,
                 {"C guest", CSum / 1000}, ""),
             row(terms, "sum 1,000-element list, Rust SDK, decoded to Vec<i64>", Vec / 1000, us,
                 {"C guest", CSum / 1000}, "")]
    end.

instances(Dir) ->
    {ok, Bytes} = file:read_file(filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm")),
    {ok, Module} = wasm_runtime_nif:compile(Bytes),
    Create = per_call(fun() -> {ok, _} = wasm_runtime_nif:instantiate(Module) end, 2000),
    {Released, PoolReleased} = instance_creation_both(),
    Compile = per_call(fun() -> {ok, _} = wasm_runtime_nif:compile(Bytes) end, 20),
    {ok, KBytes} = file:read_file(filename:join(Dir, "kernels.wasm")),
    CompileK = per_call(fun() -> {ok, _} = wasm_runtime_nif:compile(KBytes) end, 20),
    Cache = filename:join(Dir, "module_cache"),
    {ok, _} = wasm_runtime_nif:compile(KBytes, [{cache, Cache}]),
    Cached = per_call(fun() -> {ok, _} = wasm_runtime_nif:compile(KBytes, [{cache, Cache}]) end, 20),
    erlang:garbage_collect(),
    [row(instance, "instance creation (and drop by GC)", Create / 1000, us),
     row(instance, "instance creation and release/1", Released / 1000, us, {"target 5 us", 5.0}, "<= 1x"),
     row(instance, "... with the pooling allocator (instance_pool_size)", PoolReleased / 1000, us,
         {"target 5 us", 5.0}, "<= 1x"),
     row(instance, "compile example.wasm (1.8 KB)", Compile / 1000, us),
     row(instance, "compile kernels.wasm", CompileK / 1000, us),
     row(instance, "load kernels.wasm from the compiled-module cache", Cached / 1000, us,
         {"compile", CompileK / 1000}, "")].

%% Instance creation with release/1, here and on a peer node using the
%% pooling allocator.
instance_creation_both() ->
    Paths = [filename:dirname(code:which(M)) || M <- [wasm_runtime_nif, ?MODULE]],
    {ok, Peer, _} = peer:start_link(#{connection => standard_io,
                                      args => ["-wasm_runtime_nif", "instance_pool_size", "1000"]
                                              ++ lists:append([["-pa", P] || P <- Paths])}),
    try
        {instance_creation(), peer:call(Peer, ?MODULE, instance_creation, [], 120000)}
    after
        peer:stop(Peer)
    end.

instance_creation() ->
    {ok, Module} = wasm_runtime_nif:load(filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm")),
    per_call(fun() ->
                 {ok, I} = wasm_runtime_nif:instantiate(Module),
                 ok = wasm_runtime_nif:release(I)
             end, 5000).

host_calls(Dir) ->
    {ok, M} = wasm_runtime_nif:load(filename:join(Dir, "host.wat")),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, add_one} => fun(X) -> X + 1 end}}]),
    Raw = per_call(fun() -> wasm_runtime_nif:call_raw(I, call_add_one, [1]) end, 20000),
    Thousand = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_n, [0, 1000]) end, 50),
    Plain = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_n, [0, 0]) end, 20000),
    [row(host, "call with one Erlang import call", Raw / 1000, us),
     row(host, "Erlang import round trip (1,000 in one call)", (Thousand - Plain) / 1000 / 1000, us,
         {"target 1 us", 1.0}, "<= 1x")].

kernels(Dir) ->
    {ok, M} = wasm_runtime_nif:load(filename:join(Dir, "kernels.wasm")),
    {ok, I} = wasm_runtime_nif:instantiate(M),
    Kernels = [{"fib(1,000,000) iterative", fib, [1000000], 20},
               {"CRC-32 of 64 KiB", crc32_64k, [7], 20},
               {"mandelbrot 100x100", mandelbrot, [100], 20}],
    Rows = [kernel(I, K) || K <- Kernels],
    Ratios = [R#row.ratio || R = #row{name = Name} <- lists:append(Rows),
                             lists:suffix(" in wasm", Name)],
    GeoMean = math:exp(lists:sum([math:log(R) || R <- Ratios]) / length(Ratios)),
    lists:append(Rows) ++ [#row{group = kernel, name = "wasm / native, geometric mean", value = GeoMean,
                                unit = x, target = "<= 1.3"}].

kernel(I, {Label, Name, Args, N}) ->
    Wasm = per_call(fun() -> wasm_runtime_nif:call_raw(I, Name, Args) end, N),
    Native = per_call(fun() -> apply(wasm_bench_native, Name, Args) end, N),
    Erlang = per_call(fun() -> apply(fun erl_kernel/2, [Name, Args]) end, max(1, N div 10)),
    Same = [wasm_runtime_nif:call_raw(I, Name, Args) band 16#ffffffff,
            apply(wasm_bench_native, Name, Args) band 16#ffffffff,
            erl_kernel(Name, Args) band 16#ffffffff],
    [_] = lists:usort(Same),
    [row(kernel, Label ++ " in wasm", Wasm / 1000, us, {"native", Native / 1000}, "<= 1.3x"),
     row(kernel, Label ++ " in pure Erlang", Erlang / 1000, us, {"native", Native / 1000}, "")].

%% WASI: a whole run of a hello-world command; instantiation with WASI
%% (the kernels built as a wasi-libc reactor) and without (the plain
%% kernels); a kernel in the WASI build against the plain one; captured
%% stdout; the 1 ms ticker during a long WASI run.
wasi(Dir) ->
    {ok, Program} = wasm_runtime_nif:load(filename:join(Dir, "wasi_program.wasm")),
    {ok, #{stdout := <<"hello, world\n">>}} = wasm_runtime_nif:run_wasi(Program, #{}),
    Run = per_call(fun() -> {ok, #{exit_code := 0}} = wasm_runtime_nif:run_wasi(Program, #{}) end,
                   2000),
    {ok, Plain} = wasm_runtime_nif:load(filename:join(Dir, "kernels.wasm")),
    {ok, Wasi} = wasm_runtime_nif:load(filename:join(Dir, "wasi_kernels.wasm")),
    Instantiate = fun(M, Options) ->
                          fun() ->
                                  {ok, I} = wasm_runtime_nif:instantiate(M, Options),
                                  ok = wasm_runtime_nif:release(I)
                          end
                  end,
    WithWasi = per_call(Instantiate(Wasi, [{wasi, #{}}]), 2000),
    Without = per_call(Instantiate(Plain, []), 2000),
    {ok, PlainI} = wasm_runtime_nif:instantiate(Plain),
    {ok, WasiI} = wasm_runtime_nif:instantiate(Wasi, [{wasi, #{}}]),
    Same = wasm_runtime_nif:call_raw(PlainI, crc32_64k, [7]),
    Same = wasm_runtime_nif:call_raw(WasiI, crc32_64k, [7]),
    PlainK = per_call(fun() -> wasm_runtime_nif:call_raw(PlainI, crc32_64k, [7]) end, 20),
    WasiK = per_call(fun() -> wasm_runtime_nif:call_raw(WasiI, crc32_64k, [7]) end, 20),
    Bytes = 64 * 1024 * 1024,
    Write = per_call(fun() ->
                             {ok, #{stdout := Out}} =
                                 wasm_runtime_nif:run_wasi(Program, #{args => ["p", "write", integer_to_list(Bytes)],
                                                                      stdout => {capture, Bytes}}),
                             Bytes = byte_size(Out)
                     end, 3),
    Hello = Run / 1000,
    [row(wasi, "run_wasi of hello world (load excluded)", Hello, us),
     row(wasi, "instantiate and release, with WASI", WithWasi / 1000, us,
         {"without", Without / 1000}, ""),
     row(wasi, "CRC-32 of 64 KiB in a WASI build", WasiK / 1000, us,
         {"plain module", PlainK / 1000}, "~1x"),
     row(wasi, "stdout captured (64 MiB in 64 KiB writes)", Bytes / (1024 * 1024) / (Write / 1.0e9),
         'MiB/s')].

erl_kernel(fib, [N]) -> erl_fib(N, 0, 1);
erl_kernel(crc32_64k, [Seed]) -> erl_crc32(Seed);
erl_kernel(mandelbrot, [Size]) -> erl_mandelbrot(Size).

erl_fib(0, A, _) -> A;
erl_fib(N, A, B) -> erl_fib(N - 1, B, wrap64(A + B)).

wrap64(X) ->
    U = X band 16#ffffffffffffffff,
    case U >= 1 bsl 63 of true -> U - (1 bsl 64); false -> U end.

erl_crc32(Seed) ->
    Crc = lists:foldl(fun(I, Crc0) -> crc_byte(Crc0 bxor ((I * 31 + Seed) band 255), 8) end,
                      16#ffffffff, lists:seq(0, 65535)),
    Crc bxor 16#ffffffff.

crc_byte(Crc, 0) -> Crc;
crc_byte(Crc, K) ->
    Next = case Crc band 1 of
               1 -> (Crc bsr 1) bxor 16#EDB88320;
               0 -> Crc bsr 1
           end,
    crc_byte(Next, K - 1).

erl_mandelbrot(Size) ->
    lists:sum([mandel_point(2.5 * X / Size - 2.0, 2.0 * Y / Size - 1.0, 0.0, 0.0, 0)
               || Y <- lists:seq(0, Size - 1), X <- lists:seq(0, Size - 1)]).

mandel_point(_, _, _, _, 100) -> 100;
mandel_point(Cr, Ci, Zr, Zi, N) when Zr * Zr + Zi * Zi =< 4.0 ->
    mandel_point(Cr, Ci, Zr * Zr - Zi * Zi + Cr, 2.0 * Zr * Zi + Ci, N + 1);
mandel_point(_, _, _, _, N) -> N.

%% Calls per second with P processes, each on its own instance or all on one.
%% Components (docs/components.md), built by the test build, against the
%% term ABI doing the same work on the same terms (bench/terms.c).
components(Dir) ->
    Data = "test/wasm_runtime_nif_component_SUITE_data/",
    case filelib:is_regular(Data ++ "bare.wasm") of
        false -> [];
        true -> components(Dir, Data)
    end.

components(Dir, Data) ->
    {ok, Bare} = wasm_runtime_nif:load(Data ++ "bare.wasm"),
    {ok, Echo} = wasm_runtime_nif:load(Data ++ "echo.wasm"),
    {ok, Terms} = wasm_runtime_nif:load(filename:join(Dir, "terms.wasm")),
    {ok, BareI} = wasm_runtime_nif:instantiate(Bare),
    {ok, EchoI} = wasm_runtime_nif:instantiate(Echo),
    {ok, TermsI} = wasm_runtime_nif:instantiate(Terms),
    I = wasm_runtime_nif:new(),
    N = 200000,
    Point = #{x => 3, y => 4},
    Label = <<"a label">>,
    14 = wasm_runtime_nif:call(BareI, measure, [Point, Label]),
    14 = wasm_runtime_nif:call(TermsI, measure, [Point, Label]),
    Raw = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_I32, [4, 7]) end, N),
    Add = per_call(fun() -> wasm_runtime_nif:call(BareI, add, [4, 7]) end, N),
    Measure = per_call(fun() -> wasm_runtime_nif:call(BareI, measure, [Point, Label]) end, N),
    TermMeasure = per_call(fun() -> wasm_runtime_nif:call(TermsI, measure, [Point, Label]) end, N),
    Greet = per_call(fun() -> wasm_runtime_nif:call(EchoI, greet, [Label]) end, N div 4),
    List = lists:seq(1, 1000),
    500500 = wasm_runtime_nif:call(EchoI, <<"test:echo/types#sum">>, [List]),
    Sum = per_call(fun() -> wasm_runtime_nif:call(EchoI, <<"test:echo/types#sum">>, [List]) end,
                   2000),
    TermSum = per_call(fun() -> wasm_runtime_nif:call(I, add_list_terms, [List]) end, 2000),
    Instantiate = fun(M, Options) ->
                          fun() ->
                                  {ok, Made} = wasm_runtime_nif:instantiate(M, Options),
                                  ok = wasm_runtime_nif:release(Made)
                          end
                  end,
    %% What NORMAL_SCHEDULER_LIFT_FROM_MEMORY allows a normal scheduler: a
    %% 2 MiB string result, made by the guest, lifted and converted.
    {ok, Repeater} = wasm_runtime_nif:instantiate(Echo),
    Repeat = fun() -> wasm_runtime_nif:call(Repeater, <<"test:echo/control#repeat">>,
                                           [<<"ab">>, 1 bsl 20])
             end,
    Big = Repeat(),
    TwoMiB = per_call(Repeat, 50),
    Copy = per_call(fun() -> binary:copy(Big) end, 50),
    ok = wasm_runtime_nif:release(Repeater),
    WithoutWasi = per_call(Instantiate(Bare, []), 2000),
    WithWasi = per_call(Instantiate(Echo, []), 2000),
    {ok, Plain} = wasm_runtime_nif:load(filename:join(Dir, "kernels.wasm")),
    Module = per_call(Instantiate(Plain, []), 2000),
    [row(component, "component add(s32, s32)", Add, ns, {"call_raw add_I32", Raw}, ""),
     row(component, "component measure(record, string)", Measure, ns,
         {"call/3 of the same, term ABI", TermMeasure}, ""),
     row(component, "component measure(record, string) vs call_raw", Measure, ns,
         {"call_raw add_I32", Raw}, ""),
     row(component, "component greet(string) -> string", Greet, ns,
         {"measure, same component kind", Measure}, ""),
     row(component, "a 2 MiB string result (made, lifted, converted)", TwoMiB / 1000, us,
         {"binary:copy/1 of 2 MiB", Copy / 1000}, ""),
     row(component, "sum of a 1,000-element list<s64>", Sum / 1000, us,
         {"term-ABI list walk", TermSum / 1000}, ""),
     row(component, "instantiate and release, component without WASI", WithoutWasi / 1000, us,
         {"core module", Module / 1000}, ""),
     row(component, "instantiate and release, component with WASI (p2)", WithWasi / 1000, us,
         {"component without WASI", WithoutWasi / 1000}, "")].

throughput() ->
    Shared = wasm_runtime_nif:new(),
    Rows = [[row(throughput, io_lib:format("~b process(es), own instances", [P]),
                 rate(P, fun() -> wasm_runtime_nif:new() end), 'Mcalls/s'),
             row(throughput, io_lib:format("~b process(es), one shared instance", [P]),
                 rate(P, fun() -> Shared end), 'Mcalls/s')]
            || P <- [1, 2, 8]],
    lists:append(Rows).

rate(P, GetInstance) ->
    Calls = 100000,
    Self = self(),
    T0 = erlang:monotonic_time(nanosecond),
    Pids = [spawn_link(fun() ->
                           I = GetInstance(),
                           loop(Calls, fun() -> wasm_runtime_nif:call_raw(I, add_I32, [4, 7]) end),
                           Self ! {done, self()}
                       end) || _ <- lists:seq(1, P)],
    [receive {done, Pid} -> ok end || Pid <- Pids],
    Elapsed = erlang:monotonic_time(nanosecond) - T0,
    P * Calls / Elapsed * 1000.

%% A pool's call against a call on the caller's own instance, and calls/s
%% of P callers sharing a pool of 2 or 8 instances against P callers with
%% an instance each, 400,000 calls in all.
pools() ->
    {ok, _} = application:ensure_all_started(wasm_runtime_nif),
    Module = wasm_runtime_nif:default_module(),
    {ok, _} = wasm_runtime_nif_pool:start(bench_pool, Module, #{size => 2}),
    {ok, _} = wasm_runtime_nif_pool:start(bench_pool_8, Module, #{size => 8}),
    I = wasm_runtime_nif:new(),
    N = 200000,
    try
        Raw = per_call(fun() -> wasm_runtime_nif:call_raw(I, add_I32, [4, 7]) end, N),
        PoolRaw = per_call(fun() -> wasm_runtime_nif_pool:call_raw(bench_pool, add_I32, [4, 7]) end, N),
        Call = per_call(fun() -> wasm_runtime_nif:call(I, add_terms, [4, 7]) end, N),
        PoolCall = per_call(fun() -> wasm_runtime_nif_pool:call(bench_pool, add_terms, [4, 7]) end, N),
        Total = 400000,
        Own = fun(I1, F, A) -> wasm_runtime_nif:call_raw(I1, F, A) end,
        Rates = [begin
                     Base = pool_rate(P, Total, fun() -> wasm_runtime_nif:new() end, Own),
                     [row(pool, io_lib:format("~b caller(s), own instances", [P]), Base, 'Mcalls/s')
                      | [row(pool, io_lib:format("~b caller(s), pool of ~b", [P, Size]),
                             pool_rate(P, Total, fun() -> Name end,
                                       fun(Pool, F, A) -> wasm_runtime_nif_pool:call_raw(Pool, F, A) end),
                             'Mcalls/s', {"own instances", Base}, "")
                         || {Size, Name} <- [{2, bench_pool}, {8, bench_pool_8}]]]
                 end || P <- [1, 2, 8, 64]],
        [row(pool, "pool call_raw add_I32", PoolRaw, ns, {"own instance", Raw}, "<= 2x"),
         row(pool, "pool call add_terms", PoolCall, ns, {"own instance", Call}, "<= 2x")
         | lists:append(Rates)]
    after
        ok = wasm_runtime_nif_pool:stop(bench_pool),
        ok = wasm_runtime_nif_pool:stop(bench_pool_8)
    end.

%% A service called by name on this node and on a peer node, against a
%% call on the pool underneath and against an erpc round trip that does
%% nothing (the floor of any remote call). Needs distribution (epmd); the
%% rows are left out without it.
cluster() ->
    _ = os:cmd("epmd -daemon"),
    Alive = node() =/= nonode@nohost orelse
        element(1, net_kernel:start([list_to_atom("wasm_bench_" ++ os:getpid() ++ "@127.0.0.1"),
                                     longnames])) =:= ok,
    case Alive of
        false ->
            io:format("cluster rows left out: no distribution~n"),
            [];
        true ->
            %% The application's service server follows nodes from its start:
            %% started again now that this node is distributed.
            _ = application:stop(wasm_runtime_nif),
            {ok, _} = application:ensure_all_started(wasm_runtime_nif),
            Paths = lists:usort([filename:dirname(code:which(M)) || M <- [wasm_runtime_nif, ?MODULE]]),
            {ok, Peer, Node} = peer:start(#{name => list_to_atom("wasm_bench_peer_" ++ os:getpid()),
                                            host => "127.0.0.1", longnames => true,
                                            args => ["-setcookie", atom_to_list(erlang:get_cookie())
                                                     | lists:append([["-pa", P] || P <- Paths])]}),
            try
                {ok, _} = erpc:call(Node, application, ensure_all_started, [wasm_runtime_nif]),
                Example = filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm"),
                {ok, #{version := V}} = wasm_runtime_nif_service:deploy(bench_service, Example,
                                                                        #{pool => #{size => 2}}),
                Pool = {wasm_runtime_nif_service, bench_service, V},
                N = 100000,
                PoolCall = per_call(fun() -> wasm_runtime_nif_pool:call_raw(Pool, add_I32, [4, 7]) end, N),
                Local = per_call(fun() -> wasm_runtime_nif_service:call_raw(bench_service, add_I32, [4, 7],
                                                                            [{where, local}]) end, N),
                Remote = per_call(fun() -> wasm_runtime_nif_service:call_raw(bench_service, add_I32, [4, 7],
                                                                             [{where, Node}]) end, 20000),
                Floor = per_call(fun() -> erpc:call(Node, erlang, abs, [1]) end, 20000),
                ok = wasm_runtime_nif_service:undeploy(bench_service),
                [row(cluster, "service call_raw by name, local", Local, ns, {"its pool", PoolCall}, ""),
                 row(cluster, "service call_raw by name, on the peer", Remote, ns, {"erpc round trip", Floor}, "<= 1.3x"),
                 row(cluster, "service call_raw by name, on the peer vs local", Remote, ns, {"local", Local}, "")]
            after
                peer:stop(Peer)
            end
    end.

pool_rate(P, Total, Target, Call) ->
    Calls = Total div P,
    Self = self(),
    Pids = [spawn_link(fun() ->
                               T = Target(),
                               receive go -> ok end,
                               loop(Calls, fun() -> Call(T, add_I32, [4, 7]) end),
                               Self ! {done, self()}
                       end) || _ <- lists:seq(1, P)],
    T0 = erlang:monotonic_time(nanosecond),
    [Pid ! go || Pid <- Pids],
    [receive {done, Pid} -> ok end || Pid <- Pids],
    Elapsed = erlang:monotonic_time(nanosecond) - T0,
    P * Calls / Elapsed * 1000.

%% Lateness of a 1 ms ticker on a one-scheduler node, idle, during a 5 s
%% guest loop and during a 5 s WASI run.
latency_rows(Dir, Options) ->
    Seconds = maps:get(latency_seconds, Options, 5),
    Paths = [filename:dirname(code:which(M)) || M <- [wasm_runtime_nif, ?MODULE]],
    {ok, Peer, _} = peer:start_link(#{connection => standard_io,
                                      args => ["+S", "1"] ++ lists:append([["-pa", P] || P <- Paths])}),
    try
        {Idle, Busy, Wasi} = peer:call(Peer, ?MODULE, latency, [Dir, Seconds], 60000 + Seconds * 8000),
        lateness_rows("idle", Idle)
            ++ lateness_rows(io_lib:format("during a ~b s guest loop", [Seconds]), Busy)
            ++ lateness_rows(io_lib:format("during a ~b s WASI run", [Seconds]), Wasi)
    after
        peer:stop(Peer)
    end.

lateness_rows(Label, {P50, P99, Max}) ->
    [row(latency, io_lib:format("1 ms ticker lateness on +S 1, ~s, ~s", [Label, Stat]), Value, ms)
     || {Stat, Value} <- [{"p50", P50}, {"p99", P99}, {"max", Max}]].

latency(Dir, Seconds) ->
    {ok, M} = wasm_runtime_nif:load(filename:join(Dir, "host.wat")),
    {ok, I} = wasm_runtime_nif:instantiate(M, [{imports, #{{env, add_one} => fun(X) -> X + 1 end}}]),
    Idle = ticker_during(fun() -> timer:sleep(Seconds * 1000) end),
    %% About Seconds of spinning, from a quick calibration.
    {Us, _} = timer:tc(fun() -> wasm_runtime_nif:call_raw(I, spin, [100000000]) end),
    Iterations = round(100000000 * Seconds * 1000000 / max(Us, 1)),
    Busy = ticker_during(fun() -> wasm_runtime_nif:call_raw(I, spin, [Iterations]) end),
    {ok, Program} = wasm_runtime_nif:load(filename:join(Dir, "wasi_program.wasm")),
    Spin = fun(N) -> #{args => ["p", "spin", integer_to_list(N)]} end,
    {WasiUs, _} = timer:tc(fun() -> wasm_runtime_nif:run_wasi(Program, Spin(100000000)) end),
    WasiIterations = round(100000000 * Seconds * 1000000 / max(WasiUs, 1)),
    Wasi = ticker_during(fun() -> {ok, _} = wasm_runtime_nif:run_wasi(Program, Spin(WasiIterations)) end),
    {Idle, Busy, Wasi}.

ticker_during(Work) ->
    Self = self(),
    Ticker = spawn(fun() -> tick(Self, erlang:monotonic_time(microsecond), []) end),
    Work(),
    Ticker ! stop,
    receive
        {lateness, Samples} ->
            Sorted = lists:sort(Samples),
            {percentile(Sorted, 0.5), percentile(Sorted, 0.99), lists:last(Sorted)}
    end.

tick(Parent, Last, Acc) ->
    receive
        stop -> Parent ! {lateness, Acc}
    after 1 ->
        Now = erlang:monotonic_time(microsecond),
        tick(Parent, Now, [max(0, Now - Last - 1000) / 1000 | Acc])
    end.

%% Resident memory per idle instance of the example module.
memory() ->
    {ok, M} = wasm_runtime_nif:load(filename:join(code:priv_dir(wasm_runtime_nif), "example.wasm")),
    erlang:garbage_collect(),
    Before = rss_kb(),
    Instances = [element(2, wasm_runtime_nif:instantiate(M)) || _ <- lists:seq(1, 1000)],
    After = rss_kb(),
    length(Instances) =:= 1000 orelse error(instances),
    [row(memory, "resident memory per idle instance (1,000 instances)", (After - Before) / 1000, 'KiB')].

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+(\\d+)", [{capture, all_but_first, binary}]),
    binary_to_integer(Kb).

%%% ------------------------------------------------------------------
%%% Output
%%% ------------------------------------------------------------------

print(Rows) ->
    io:format("~-10s ~-66s ~12s ~-9s ~-20s ~9s ~s~n",
              ["group", "measurement", "value", "unit", "baseline", "ratio", "target"]),
    [io:format("~-10s ~-66s ~12s ~-9s ~-20s ~9s ~s~n",
               [G, N, value(V), atom_to_list(U), B, ratio(R), T])
     || #row{group = G, name = N, value = V, unit = U, baseline = B, ratio = R, target = T} <- Rows],
    ok.

value(V) when is_float(V), V >= 100 -> integer_to_list(round(V));
value(V) when is_float(V), V >= 1 -> io_lib:format("~.2f", [V]);
value(V) when is_float(V) -> io_lib:format("~.3f", [V]);
value(V) -> io_lib:format("~p", [V]).

ratio(undefined) -> "";
ratio(R) -> io_lib:format("~.2fx", [R]).

csv(Rows) ->
    Header = "group,measurement,value,unit,baseline,ratio,target\n",
    [Header | [io_lib:format("~s,\"~s\",~s,~s,\"~s\",~s,\"~s\"~n",
                             [G, N, value(V), U, B, case R of undefined -> ""; _ -> io_lib:format("~.4f", [R]) end, T])
               || #row{group = G, name = N, value = V, unit = U, baseline = B, ratio = R, target = T} <- Rows]].

cpu_model() ->
    case file:read_file("/proc/cpuinfo") of
        {ok, Info} ->
            case re:run(Info, "model name\\s*:\\s*(.*)", [{capture, all_but_first, list}]) of
                {match, [Model]} -> Model;
                nomatch -> "unknown CPU"
            end;
        _ -> "unknown CPU"
    end.
