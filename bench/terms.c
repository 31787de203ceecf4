/* The term-ABI equivalents of the benchmark's component functions
 * (test/wasm_runtime_nif_component_SUITE_data/components/bare): the same
 * work on the same terms, so that a component call and a call/3 compare. */
#include "erl_nif_wasm.h"

/* x + y + the label's size, for #{x := X, y := Y} and a binary. */
ERL_NIF_WASM_EXPORT(measure)
ERL_NIF_TERM measure(ErlNifEnv* env, ERL_NIF_TERM point, ERL_NIF_TERM label) {
    ERL_NIF_TERM xv, yv;
    int32_t x, y;
    uint32_t size;
    if (!enif_wasm_get_map_value(env, point, enif_wasm_make_atom_len(env, "x", 1), &xv) ||
        !enif_wasm_get_map_value(env, point, enif_wasm_make_atom_len(env, "y", 1), &yv) ||
        !enif_wasm_get_int32(env, xv, &x) || !enif_wasm_get_int32(env, yv, &y) ||
        !enif_wasm_get_binary_size(env, label, &size))
        return enif_wasm_make_badarg(env);
    return enif_wasm_make_int64(env, (int64_t)x + y + size);
}
