/* The examples of docs/c-guests.md, one per area, as a module that builds
 * (the guide quotes them from here). Build it like any guest:
 *
 *   clang --target=wasm32 -nostdlib -O2 -Iinclude -Wl,--no-entry \
 *         -Wl,--export-dynamic -Wl,--allow-undefined \
 *         guests/guide_examples.c -o guide_examples.wasm
 *
 * and call the exports with wasm_runtime_nif:call(Instance, Name, Args).
 */
#include "erl_nif_wasm.h"

/* ---- numbers ------------------------------------------------------------ */

/* scale(X, Factor) -> X * Factor as a float; X an integer or a float. */
ERL_NIF_WASM_EXPORT(scale)
ERL_NIF_TERM scale(ErlNifEnv* env, ERL_NIF_TERM x, ERL_NIF_TERM factor) {
    int64_t i;
    double d, f;
    if (!enif_wasm_get_double(env, factor, &f)) return enif_wasm_make_badarg(env);
    if (enif_wasm_get_int64(env, x, &i))
        d = (double)i;
    else if (!enif_wasm_get_double(env, x, &d))
        return enif_wasm_make_badarg(env);
    /* An infinite product gives the badarg exception term: returned, the
     * call raises badarg. */
    return enif_wasm_make_double(env, d * f);
}

/* ---- atoms -------------------------------------------------------------- */

/* is_ok(T) -> true if T is the atom ok, else false. */
ERL_NIF_WASM_EXPORT(is_ok)
ERL_NIF_TERM is_ok(ErlNifEnv* env, ERL_NIF_TERM t) {
    char name[256];
    int n = enif_wasm_get_atom(env, t, name, sizeof name, ERL_NIF_LATIN1);
    int yes = n == 3 && name[0] == 'o' && name[1] == 'k';
    return yes ? enif_wasm_make_atom_len(env, "true", 4) : enif_wasm_make_atom_len(env, "false", 5);
}

/* ---- strings ------------------------------------------------------------ */

/* shout("hello") -> "HELLO", for Latin-1 strings of up to 255 characters. */
ERL_NIF_WASM_EXPORT(shout)
ERL_NIF_TERM shout(ErlNifEnv* env, ERL_NIF_TERM s) {
    char buf[256];
    int n = enif_wasm_get_string(env, s, buf, sizeof buf, ERL_NIF_LATIN1);
    if (n <= 0) return enif_wasm_make_badarg(env); /* 0: not a string; < 0: too long */
    for (int i = 0; i < n - 1; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 32);
    return enif_wasm_make_string_len(env, buf, (uint32_t)(n - 1), ERL_NIF_LATIN1);
}

/* ---- tuples ------------------------------------------------------------- */

/* swap({X, Y}) -> {Y, X} */
ERL_NIF_WASM_EXPORT(swap)
ERL_NIF_TERM swap(ErlNifEnv* env, ERL_NIF_TERM t) {
    int32_t arity;
    ERL_NIF_TERM e[2], out[2];
    if (!enif_wasm_get_tuple(env, t, &arity, e, 2) || arity != 2) return enif_wasm_make_badarg(env);
    out[0] = e[1];
    out[1] = e[0];
    return enif_wasm_make_tuple_from_array(env, out, 2);
}

/* ---- lists -------------------------------------------------------------- */

/* squares([1, 2, 3]) -> [1, 4, 9], for a proper list of int32s. */
ERL_NIF_WASM_EXPORT(squares)
ERL_NIF_TERM squares(ErlNifEnv* env, ERL_NIF_TERM list) {
    ERL_NIF_TERM head, tail, out;
    ERL_NIF_TERM acc = enif_wasm_make_list_from_array(env, 0, 0); /* [] */
    int32_t x;
    while (enif_wasm_get_list_cell(env, list, &head, &tail)) {
        if (!enif_wasm_get_int(env, head, &x)) return enif_wasm_make_badarg(env);
        acc = enif_wasm_make_list_cell(env, enif_wasm_make_int64(env, (int64_t)x * x), acc);
        list = tail;
    }
    if (!enif_wasm_is_empty_list(env, list)) return enif_wasm_make_badarg(env); /* improper */
    enif_wasm_make_reverse_list(env, acc, &out);
    return out;
}

/* ---- binaries and iolists ----------------------------------------------- */

static unsigned char chunk[4096];

/* checksum(IoData) -> a 32-bit checksum of its bytes, read 4 KiB at a time. */
ERL_NIF_WASM_EXPORT(checksum)
ERL_NIF_TERM checksum(ErlNifEnv* env, ERL_NIF_TERM io) {
    ERL_NIF_TERM bin;
    uint32_t size, sum = 0;
    if (!enif_wasm_inspect_iolist_as_binary(env, io, &bin) || !enif_wasm_get_binary_size(env, bin, &size))
        return enif_wasm_make_badarg(env);
    for (uint32_t off = 0; off < size; off += sizeof chunk) {
        uint32_t n = size - off < sizeof chunk ? size - off : (uint32_t)sizeof chunk;
        enif_wasm_get_binary_bytes(env, bin, off, n, chunk);
        for (uint32_t i = 0; i < n; i++) sum = sum * 31 + chunk[i];
    }
    return enif_wasm_make_uint(env, sum);
}

/* prefix(Bin, N) -> the first N bytes of Bin, sharing its memory. */
ERL_NIF_WASM_EXPORT(prefix)
ERL_NIF_TERM prefix(ErlNifEnv* env, ERL_NIF_TERM bin, ERL_NIF_TERM n_term) {
    uint32_t n, size;
    /* Check first: make_sub_binary traps on a range past the end. */
    if (!enif_wasm_get_uint(env, n_term, &n) || !enif_wasm_get_binary_size(env, bin, &size) || n > size)
        return enif_wasm_make_badarg(env);
    return enif_wasm_make_sub_binary(env, bin, 0, n);
}

/* ---- external term format ----------------------------------------------- */

static unsigned char ext[65536];

/* decode(Bin) -> {binary_to_term(Bin), BytesUsed}, for up to 64 KiB. */
ERL_NIF_WASM_EXPORT(decode)
ERL_NIF_TERM decode(ErlNifEnv* env, ERL_NIF_TERM bin) {
    uint32_t size, used;
    ERL_NIF_TERM t, pair[2];
    if (!enif_wasm_get_binary_size(env, bin, &size) || size > sizeof ext ||
        !enif_wasm_get_binary_bytes(env, bin, 0, size, ext))
        return enif_wasm_make_badarg(env);
    used = enif_wasm_binary_to_term(env, ext, size, &t, ERL_NIF_BIN2TERM_SAFE);
    if (used == 0) return enif_wasm_make_badarg(env); /* invalid, or an atom that does not exist */
    pair[0] = t;
    pair[1] = enif_wasm_make_uint(env, used);
    return enif_wasm_make_tuple_from_array(env, pair, 2);
}

/* ---- maps and iteration ------------------------------------------------- */

/* sum_values(#{a => 1, b => 2}) -> 3 */
ERL_NIF_WASM_EXPORT(sum_values)
ERL_NIF_TERM sum_values(ErlNifEnv* env, ERL_NIF_TERM map) {
    ErlNifMapIterator it;
    ERL_NIF_TERM key, value;
    int64_t v, sum = 0;
    if (!enif_wasm_map_iterator_create(env, map, &it, ERL_NIF_MAP_ITERATOR_FIRST))
        return enif_wasm_make_badarg(env);
    while (enif_wasm_map_iterator_get_pair(env, &it, &key, &value)) {
        if (!enif_wasm_get_int64(env, value, &v)) return enif_wasm_make_badarg(env);
        sum += v;
        enif_wasm_map_iterator_next(env, &it);
    }
    enif_wasm_map_iterator_destroy(env, &it);
    return enif_wasm_make_int64(env, sum);
}

/* bump(Counts, Key) -> Counts#{Key => N + 1}, N being 0 if Key is absent. */
ERL_NIF_WASM_EXPORT(bump)
ERL_NIF_TERM bump(ErlNifEnv* env, ERL_NIF_TERM map, ERL_NIF_TERM key) {
    ERL_NIF_TERM old, out;
    int64_t n = 0;
    if (enif_wasm_get_map_value(env, map, key, &old) && !enif_wasm_get_int64(env, old, &n))
        return enif_wasm_make_badarg(env);
    if (!enif_wasm_make_map_put(env, map, key, enif_wasm_make_int64(env, n + 1), &out))
        return enif_wasm_make_badarg(env); /* not a map */
    return out;
}

/* ---- type tests and comparison ------------------------------------------ */

/* term_max(A, B) -> the greater in Erlang's term order (A if equal). */
ERL_NIF_WASM_EXPORT(term_max)
ERL_NIF_TERM term_max(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    return enif_wasm_compare(env, a, b) >= 0 ? a : b;
}

/* is_container(T) -> true for lists, tuples and maps. */
ERL_NIF_WASM_EXPORT(is_container)
ERL_NIF_TERM is_container(ErlNifEnv* env, ERL_NIF_TERM t) {
    switch (enif_wasm_term_type(env, t)) {
    case ERL_NIF_TERM_TYPE_LIST:
    case ERL_NIF_TERM_TYPE_TUPLE:
    case ERL_NIF_TERM_TYPE_MAP:
        return enif_wasm_make_atom_len(env, "true", 4);
    default:
        return enif_wasm_make_atom_len(env, "false", 5);
    }
}

/* ---- exceptions --------------------------------------------------------- */

/* fetch(Map, Key) -> the value, or raises error:{not_found, Key}. */
ERL_NIF_WASM_EXPORT(fetch)
ERL_NIF_TERM fetch(ErlNifEnv* env, ERL_NIF_TERM map, ERL_NIF_TERM key) {
    ERL_NIF_TERM v, reason[2];
    if (enif_wasm_get_map_value(env, map, key, &v)) return v;
    reason[0] = enif_wasm_make_atom_len(env, "not_found", 9);
    reason[1] = key;
    return enif_wasm_raise_exception(env, enif_wasm_make_tuple_from_array(env, reason, 2));
}

/* ---- processes and references ------------------------------------------- */

/* progress(N) -> done, after sending {progress, Ref, I} for I in 1..N to
 * the caller, Ref a new reference. */
ERL_NIF_WASM_EXPORT(progress)
ERL_NIF_TERM progress(ErlNifEnv* env, ERL_NIF_TERM n_term) {
    uint32_t n;
    ERL_NIF_TERM msg[3];
    ERL_NIF_TERM caller = enif_wasm_self(env);
    if (!enif_wasm_get_uint(env, n_term, &n)) return enif_wasm_make_badarg(env);
    msg[0] = enif_wasm_make_atom_len(env, "progress", 8);
    msg[1] = enif_wasm_make_ref(env);
    for (uint32_t i = 1; i <= n; i++) {
        msg[2] = enif_wasm_make_uint(env, i);
        if (!enif_wasm_send(env, caller, enif_wasm_make_tuple_from_array(env, msg, 3)))
            return enif_wasm_make_badarg(env);
    }
    return enif_wasm_make_atom_len(env, "done", 4);
}
