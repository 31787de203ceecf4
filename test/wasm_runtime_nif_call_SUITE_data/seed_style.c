/* A guest written the way modules were compiled against the seed's
 * erl_nif_wasm.h: plain declarations, which --allow-undefined turns into
 * imports from "env", and every function exported by --export-all. Built
 * with the exact command of the guest ABI document (see the Makefile). */
#include <stdint.h>

typedef uintptr_t ErlNifEnv;
typedef uint64_t ERL_NIF_TERM;

int enif_wasm_get_int32(ErlNifEnv* env, ERL_NIF_TERM term, int32_t* ip);
ERL_NIF_TERM enif_wasm_make_int32(ErlNifEnv* env, int32_t value);
ERL_NIF_TERM enif_wasm_make_badarg(ErlNifEnv* env);
int enif_wasm_get_list_cell(ErlNifEnv* env, ERL_NIF_TERM list, ERL_NIF_TERM* head, ERL_NIF_TERM* tail);
int enif_wasm_is_empty_list(ErlNifEnv* env, ERL_NIF_TERM term);
int32_t enif_printf_I(const char* fmt, int32_t value);

int32_t add_I32(int32_t a, int32_t b) { return a + b; }

ERL_NIF_TERM add_terms(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    int32_t x, y;
    if (!enif_wasm_get_int32(env, a, &x) || !enif_wasm_get_int32(env, b, &y))
        return enif_wasm_make_badarg(env);
    return enif_wasm_make_int32(env, x + y);
}

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

int32_t count_down(int32_t n) {
    enif_printf_I("seed-style guest counting down from %d\n", n);
    return n - 1;
}
