%% The benchmark's native baselines (bench_native.c): an empty NIF, a NIF
%% add, and the kernels of kernels.c as machine code.
-module(wasm_bench_native).

-export([nop/0, add/2, fib/1, crc32_64k/1, mandelbrot/1]).

-on_load(load/0).

load() ->
    Dir = filename:dirname(code:which(?MODULE)),
    erlang:load_nif(filename:join(Dir, "wasm_bench_native"), 0).

-spec nop() -> ok.
nop() -> erlang:nif_error(nif_not_loaded).

-spec add(integer(), integer()) -> integer().
add(_, _) -> erlang:nif_error(nif_not_loaded).

-spec fib(integer()) -> integer().
fib(_) -> erlang:nif_error(nif_not_loaded).

-spec crc32_64k(non_neg_integer()) -> non_neg_integer().
crc32_64k(_) -> erlang:nif_error(nif_not_loaded).

-spec mandelbrot(integer()) -> integer().
mandelbrot(_) -> erlang:nif_error(nif_not_loaded).
