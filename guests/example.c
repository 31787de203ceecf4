/* The example module bundled in priv/example.wasm and loaded by init/0: the
 * functions of the seed README's session and a few more to try. */
#include "erl_nif_wasm.h"

/* ---- plain numbers, for call_raw/3 ---- */

ERL_NIF_WASM_EXPORT(add_I32) int32_t add_I32(int32_t a, int32_t b) { return a + b; }
ERL_NIF_WASM_EXPORT(add_I64) int64_t add_I64(int64_t a, int64_t b) { return a + b; }
ERL_NIF_WASM_EXPORT(add_F32) float add_F32(float a, float b) { return a + b; }
ERL_NIF_WASM_EXPORT(add_F64) double add_F64(double a, double b) { return a + b; }

ERL_NIF_WASM_EXPORT(fib) int64_t fib(int32_t n) {
    int64_t a = 0, b = 1;
    for (int32_t i = 0; i < n; i++) {
        int64_t next = a + b;
        a = b;
        b = next;
    }
    return a;
}

/* ---- terms, for call/3 ---- */

ERL_NIF_WASM_EXPORT(add_terms)
ERL_NIF_TERM add_terms(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    int32_t x, y;
    if (!enif_wasm_get_int32(env, a, &x) || !enif_wasm_get_int32(env, b, &y))
        return enif_wasm_make_badarg(env);
    return enif_wasm_make_int32(env, x + y);
}

ERL_NIF_WASM_EXPORT(add_list_terms)
ERL_NIF_TERM add_list_terms(ErlNifEnv* env, ERL_NIF_TERM list) {
    int32_t sum = 0, value;
    ERL_NIF_TERM head, tail;
    while (enif_wasm_get_list_cell(env, list, &head, &tail)) {
        if (!enif_wasm_get_int32(env, head, &value))
            return enif_wasm_make_badarg(env);
        sum += value;
        list = tail;
    }
    if (!enif_wasm_is_empty_list(env, list))
        return enif_wasm_make_badarg(env);
    return enif_wasm_make_int32(env, sum);
}

/* Sums the integer values of a map, walking it with a map iterator. */
ERL_NIF_WASM_EXPORT(sum_map_values)
ERL_NIF_TERM sum_map_values(ErlNifEnv* env, ERL_NIF_TERM map) {
    ErlNifMapIterator iter;
    ERL_NIF_TERM key, value;
    int64_t sum = 0, v;
    if (!enif_wasm_map_iterator_create(env, map, &iter, ERL_NIF_MAP_ITERATOR_FIRST))
        return enif_wasm_make_badarg(env);
    while (enif_wasm_map_iterator_get_pair(env, &iter, &key, &value)) {
        if (!enif_wasm_get_int64(env, value, &v))
            return enif_wasm_make_badarg(env);
        sum += v;
        enif_wasm_map_iterator_next(env, &iter);
    }
    enif_wasm_map_iterator_destroy(env, &iter);
    return enif_wasm_make_int64(env, sum);
}

/* {ok, Term}: atoms and tuples. */
ERL_NIF_WASM_EXPORT(tag_ok)
ERL_NIF_TERM tag_ok(ErlNifEnv* env, ERL_NIF_TERM term) {
    ERL_NIF_TERM pair[2] = {enif_wasm_make_atom_len(env, "ok", 2), term};
    return enif_wasm_make_tuple_from_array(env, pair, 2);
}

/* Scratch space above the static data, grown on demand. */
extern unsigned char __heap_base;

static unsigned char* scratch(uint32_t size) {
    uintptr_t base = (uintptr_t)&__heap_base;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536;
    if (base + size > have) {
        uintptr_t pages = (base + size - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (uintptr_t)-1)
            return 0;
    }
    return (unsigned char*)base;
}

ERL_NIF_WASM_EXPORT(binary_reverse)
ERL_NIF_TERM binary_reverse(ErlNifEnv* env, ERL_NIF_TERM bin) {
    uint32_t size;
    if (!enif_wasm_get_binary_size(env, bin, &size))
        return enif_wasm_make_badarg(env);
    unsigned char* buf = scratch(size);
    if (!buf || !enif_wasm_get_binary_bytes(env, bin, 0, size, buf))
        return enif_wasm_make_badarg(env);
    for (uint32_t i = 0, j = size; i + 1 < j; i++, j--) {
        unsigned char t = buf[i];
        buf[i] = buf[j - 1];
        buf[j - 1] = t;
    }
    return enif_wasm_make_binary(env, buf, size);
}

ERL_NIF_WASM_EXPORT(hello)
ERL_NIF_TERM hello(ErlNifEnv* env, ERL_NIF_TERM n) {
    int32_t value;
    if (!enif_wasm_get_int32(env, n, &value))
        return enif_wasm_make_badarg(env);
    enif_printf_I("hello from wasm, you passed %d\n", value);
    return enif_wasm_make_int32(env, value);
}
