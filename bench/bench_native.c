/* The benchmark's native baselines: an empty NIF, and the kernels of
 * kernels.c compiled to machine code. */
#include <erl_nif.h>
#include <stdint.h>

int64_t fib(int32_t n);
uint32_t crc32_64k(uint32_t seed);
int32_t mandelbrot(int32_t size);

static ERL_NIF_TERM atom_ok;

static int load(ErlNifEnv* env, void** priv, ERL_NIF_TERM info) {
    (void)priv;
    (void)info;
    atom_ok = enif_make_atom(env, "ok");
    return 0;
}

static ERL_NIF_TERM nop(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
    (void)env;
    (void)argc;
    (void)argv;
    return atom_ok;
}

static ERL_NIF_TERM add(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
    int a, b;
    (void)argc;
    if (!enif_get_int(env, argv[0], &a) || !enif_get_int(env, argv[1], &b))
        return enif_make_badarg(env);
    return enif_make_int(env, a + b);
}

static ERL_NIF_TERM nif_fib(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
    int n;
    (void)argc;
    if (!enif_get_int(env, argv[0], &n))
        return enif_make_badarg(env);
    return enif_make_int64(env, fib(n));
}

static ERL_NIF_TERM nif_crc32(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
    unsigned seed;
    (void)argc;
    if (!enif_get_uint(env, argv[0], &seed))
        return enif_make_badarg(env);
    return enif_make_uint(env, crc32_64k(seed));
}

static ERL_NIF_TERM nif_mandelbrot(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
    int size;
    (void)argc;
    if (!enif_get_int(env, argv[0], &size))
        return enif_make_badarg(env);
    return enif_make_int(env, mandelbrot(size));
}

static ErlNifFunc funcs[] = {
    {"nop", 0, nop, 0},
    {"add", 2, add, 0},
    {"fib", 1, nif_fib, 0},
    {"crc32_64k", 1, nif_crc32, 0},
    {"mandelbrot", 1, nif_mandelbrot, 0},
};

ERL_NIF_INIT(wasm_bench_native, funcs, load, NULL, NULL, NULL)
