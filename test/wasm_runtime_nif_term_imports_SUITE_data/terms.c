/* terms.c - the guest of wasm_runtime_nif_term_imports_SUITE: uses every import
 * of include/erl_nif_wasm.h the way a C author would.
 *
 * Every export is a term function, called as wasm_runtime_nif:call(I, Name,
 * Args). The comment above each says what it returns; "badarg" means it
 * returns enif_wasm_make_badarg(env), so the call raises error:badarg.
 *
 * Memory: a static 4 MiB arena used as a bump allocator, emptied at the
 * start of every export (nothing is kept between calls; handles would not
 * survive anyway). Binaries larger than what is left of the arena are copied
 * into scratch memory above __heap_base, grown with memory.grow. Limits that
 * follow, each answered with badarg:
 *  - a list, tuple or map whose element handles do not fit in the arena
 *    (about 500,000 of them); before that, rebuild/1 of a list of about
 *    250,000 elements reaches the host's 2^20 handles per call, which traps
 *    the call with term_limit;
 *  - tuples of more than 65,536 elements in rebuild/1 and tuple_to_list/1
 *    (enif_wasm_make_tuple_from_array takes at most that many);
 *  - charlists of more than 65,536 characters in string_roundtrip/1 and
 *    make_string/1 trap the call with term_limit: make_string_len makes at
 *    most that many cells;
 *  - terms nested more than MAX_DEPTH (256) levels deep in rebuild/1 (a
 *    term inside 256 lists is fine, inside 257 it is not): the C stack is
 *    wasm-ld's 64 KiB shadow stack, placed right above the arena with
 *    nothing to guard it, so recursion is bounded here (32 bytes a level)
 *    rather than left to overwrite static data.
 * No libc: the few helpers needed are below.
 */
#include "erl_nif_wasm.h"

#define EXPORT(name) ERL_NIF_WASM_EXPORT(name)
#define MAX_DEPTH 256
#define MAX_ARRAY 65536u
/* Most pairs make_map_from_arrays takes. */
#define MAX_MAP_PAIRS 2048u

/* ------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------ */

#define ARENA_BYTES (4u * 1024u * 1024u)
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(16)));
static uint32_t arena_used;

/* Every export starts with this: the arena is per call. */
static void begin(void) { arena_used = 0; }

/* bytes from the arena, 16-byte aligned, or 0 when it is full. */
static void* arena_alloc(uint32_t bytes) {
    if (bytes > ARENA_BYTES) return 0;
    uint32_t need = (bytes + 15u) & ~15u;
    if (need > ARENA_BYTES - arena_used) return 0;
    void* p = arena + arena_used;
    arena_used += need;
    return p;
}

static ERL_NIF_TERM* terms_alloc(uint32_t count) {
    if (count > ARENA_BYTES / sizeof(ERL_NIF_TERM)) return 0;
    return (ERL_NIF_TERM*)arena_alloc(count * (uint32_t)sizeof(ERL_NIF_TERM));
}

/* Scratch memory above the static data for large binaries, grown on demand
 * (as in guests/example.c). One user at a time: callers copy into it and
 * make the binary before anything else can ask for it. */
extern unsigned char __heap_base;

static unsigned char* heap_scratch(uint32_t size) {
    uintptr_t base = (uintptr_t)&__heap_base;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if ((uint64_t)base + size > (uint64_t)have) {
        uint64_t missing = (uint64_t)base + size - have;
        uintptr_t pages = (uintptr_t)((missing + 65535u) / 65536u);
        if (__builtin_wasm_memory_grow(0, pages) == (uintptr_t)-1) return 0;
    }
    return (unsigned char*)base;
}

/* A buffer of size bytes: the arena if it fits, else the heap scratch. The
 * caller resets arena_used to what it was before when it is done. */
static unsigned char* byte_buffer(uint32_t size) {
    unsigned char* p = (unsigned char*)arena_alloc(size);
    return p ? p : heap_scratch(size);
}

static uint32_t cstrlen(const char* s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

/* ------------------------------------------------------------------------
 * Small term helpers
 * ------------------------------------------------------------------------ */

static ERL_NIF_TERM badarg(ErlNifEnv* env) { return enif_wasm_make_badarg(env); }

/* An atom that already exists (all names used here do). */
static ERL_NIF_TERM atom(ErlNifEnv* env, const char* name) {
    return enif_wasm_make_atom_len(env, name, cstrlen(name));
}

static ERL_NIF_TERM tuple2(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    ERL_NIF_TERM* t = terms_alloc(2);
    if (!t) return badarg(env);
    t[0] = a;
    t[1] = b;
    return enif_wasm_make_tuple_from_array(env, t, 2);
}

/* An unsigned 32-bit argument; 0 if the term is not one. */
static int get_u32(ErlNifEnv* env, ERL_NIF_TERM t, uint32_t* out) {
    return enif_wasm_get_uint(env, t, out);
}

/* The n bytes of a binary in a fresh buffer, or 0. */
static unsigned char* binary_copy(ErlNifEnv* env, ERL_NIF_TERM bin, uint32_t* n) {
    uint32_t size;
    if (!enif_wasm_get_binary_size(env, bin, &size)) return 0;
    unsigned char* buf = byte_buffer(size);
    if (!buf || !enif_wasm_get_binary_bytes(env, bin, 0, size, buf)) return 0;
    *n = size;
    return buf;
}

/* Collects the heads of a proper list into the arena; 0 if it is not a
 * proper list or does not fit. */
static ERL_NIF_TERM* list_elements(ErlNifEnv* env, ERL_NIF_TERM list, uint32_t* count) {
    uint32_t len;
    if (!enif_wasm_get_list_length(env, list, &len)) return 0;
    ERL_NIF_TERM* items = terms_alloc(len);
    if (!items) return 0;
    for (uint32_t i = 0; i < len; i++) {
        ERL_NIF_TERM tail;
        if (!enif_wasm_get_list_cell(env, list, &items[i], &tail)) return 0;
        list = tail;
    }
    *count = len;
    return items;
}

/* A proper list of count handles: from the array when the host takes that
 * many at once, else cell by cell from the end. */
static ERL_NIF_TERM list_of(ErlNifEnv* env, const ERL_NIF_TERM* items, uint32_t count) {
    if (count <= MAX_ARRAY) return enif_wasm_make_list_from_array(env, items, count);
    ERL_NIF_TERM acc = enif_wasm_make_list_from_array(env, items, 0);
    for (uint32_t i = count; i-- > 0;) acc = enif_wasm_make_list_cell(env, items[i], acc);
    return acc;
}

/* ------------------------------------------------------------------------
 * rebuild/1: takes any term apart and builds it again from its parts.
 * Returns 0 (never a valid handle: generations start at 1) on failure.
 * ------------------------------------------------------------------------ */

static ERL_NIF_TERM rebuild_term(ErlNifEnv* env, ERL_NIF_TERM t, int depth);

/* Through the external term format: bignums, and atoms beyond Latin-1. */
static ERL_NIF_TERM via_external(ErlNifEnv* env, ERL_NIF_TERM t) {
    ERL_NIF_TERM bin, out;
    uint32_t size, mark = arena_used;
    if (!enif_wasm_term_to_binary(env, t, &bin)) return 0;
    unsigned char* buf = binary_copy(env, bin, &size);
    uint32_t read = buf ? enif_wasm_binary_to_term(env, buf, size, &out, ERL_NIF_BIN2TERM_SAFE) : 0;
    arena_used = mark;
    return read == size && read > 0 ? out : 0;
}

static ERL_NIF_TERM rebuild_integer(ErlNifEnv* env, ERL_NIF_TERM t) {
    int64_t i;
    uint64_t u;
    if (enif_wasm_get_int64(env, t, &i)) return enif_wasm_make_int64(env, i);
    if (enif_wasm_get_uint64(env, t, &u)) return enif_wasm_make_uint64(env, u);
    return via_external(env, t);
}

static ERL_NIF_TERM rebuild_atom(ErlNifEnv* env, ERL_NIF_TERM t) {
    uint32_t len, mark = arena_used;
    if (!enif_wasm_get_atom_length(env, t, &len, ERL_NIF_LATIN1)) return via_external(env, t);
    char* buf = (char*)arena_alloc(len + 1);
    ERL_NIF_TERM out = 0;
    if (buf && enif_wasm_get_atom(env, t, buf, len + 1, ERL_NIF_LATIN1) == (int)len + 1)
        out = enif_wasm_make_atom_len(env, buf, len);
    arena_used = mark;
    return out;
}

static ERL_NIF_TERM rebuild_bitstring(ErlNifEnv* env, ERL_NIF_TERM t) {
    uint32_t size, mark = arena_used;
    if (!enif_wasm_is_binary(env, t)) return t; /* a bitstring that is not a binary */
    unsigned char* buf = binary_copy(env, t, &size);
    ERL_NIF_TERM out = buf ? enif_wasm_make_binary(env, buf, size) : 0;
    arena_used = mark;
    return out;
}

/* Walks the list cell by cell (no recursion along the spine), then builds
 * it again from the end with make_list_cell, improper tail included. */
static ERL_NIF_TERM rebuild_list(ErlNifEnv* env, ERL_NIF_TERM t, int depth) {
    uint32_t mark = arena_used;
    ERL_NIF_TERM* heads = (ERL_NIF_TERM*)(arena + arena_used);
    uint32_t room = (ARENA_BYTES - arena_used) / sizeof(ERL_NIF_TERM);
    uint32_t n = 0;
    ERL_NIF_TERM head, tail, list = t;
    while (enif_wasm_get_list_cell(env, list, &head, &tail)) {
        if (n == room) return 0;
        heads[n++] = head;
        list = tail;
    }
    if (!terms_alloc(n)) return 0; /* claims the heads gathered above */
    ERL_NIF_TERM acc;
    if (enif_wasm_is_empty_list(env, list))
        acc = enif_wasm_make_list_from_array(env, heads, 0);
    else
        acc = rebuild_term(env, list, depth + 1);
    uint32_t above = arena_used;
    for (uint32_t i = n; acc && i-- > 0;) {
        ERL_NIF_TERM h = rebuild_term(env, heads[i], depth + 1);
        arena_used = above;
        acc = h ? enif_wasm_make_list_cell(env, h, acc) : 0;
    }
    arena_used = mark;
    return acc;
}

static ERL_NIF_TERM rebuild_tuple(ErlNifEnv* env, ERL_NIF_TERM t, int depth) {
    uint32_t mark = arena_used;
    int32_t arity = -1;
    enif_wasm_get_tuple(env, t, &arity, 0, 0); /* capacity 0: the arity alone */
    if (arity < 0 || (uint32_t)arity > MAX_ARRAY) return 0;
    ERL_NIF_TERM* elems = terms_alloc((uint32_t)arity);
    ERL_NIF_TERM out = 0;
    if (elems && enif_wasm_get_tuple(env, t, &arity, elems, (uint32_t)arity)) {
        uint32_t above = arena_used;
        int32_t i;
        for (i = 0; i < arity; i++) {
            elems[i] = rebuild_term(env, elems[i], depth + 1);
            arena_used = above;
            if (!elems[i]) break;
        }
        if (i == arity) out = enif_wasm_make_tuple_from_array(env, elems, (uint32_t)arity);
    }
    arena_used = mark;
    return out;
}

static ERL_NIF_TERM rebuild_map(ErlNifEnv* env, ERL_NIF_TERM t, int depth) {
    uint32_t size, n = 0, mark = arena_used;
    ErlNifMapIterator it;
    ERL_NIF_TERM out = 0;
    if (!enif_wasm_get_map_size(env, t, &size)) return 0;
    ERL_NIF_TERM* keys = terms_alloc(size);
    ERL_NIF_TERM* values = terms_alloc(size);
    if (!keys || !values || !enif_wasm_map_iterator_create(env, t, &it, ERL_NIF_MAP_ITERATOR_FIRST)) {
        arena_used = mark;
        return 0;
    }
    while (!enif_wasm_map_iterator_is_tail(env, &it)) {
        if (n >= size || !enif_wasm_map_iterator_get_pair(env, &it, &keys[n], &values[n])) break;
        n++;
        enif_wasm_map_iterator_next(env, &it);
    }
    enif_wasm_map_iterator_destroy(env, &it);
    if (n == size) {
        uint32_t above = arena_used, i;
        for (i = 0; i < n; i++) {
            keys[i] = rebuild_term(env, keys[i], depth + 1);
            arena_used = above;
            values[i] = keys[i] ? rebuild_term(env, values[i], depth + 1) : 0;
            arena_used = above;
            if (!values[i]) break;
        }
        if (i == n) {
            if (n <= MAX_MAP_PAIRS) {
                if (!enif_wasm_make_map_from_arrays(env, keys, values, n, &out)) out = 0;
            } else {
                out = enif_wasm_make_new_map(env);
                for (i = 0; out && i < n; i++)
                    if (!enif_wasm_make_map_put(env, out, keys[i], values[i], &out)) out = 0;
            }
        }
    }
    arena_used = mark;
    return out;
}

static ERL_NIF_TERM rebuild_term(ErlNifEnv* env, ERL_NIF_TERM t, int depth) {
    if (depth > MAX_DEPTH) return 0;
    switch (enif_wasm_term_type(env, t)) {
    case ERL_NIF_TERM_TYPE_INTEGER:
        return rebuild_integer(env, t);
    case ERL_NIF_TERM_TYPE_FLOAT: {
        double d;
        return enif_wasm_get_double(env, t, &d) ? enif_wasm_make_double(env, d) : 0;
    }
    case ERL_NIF_TERM_TYPE_ATOM:
        return rebuild_atom(env, t);
    case ERL_NIF_TERM_TYPE_BITSTRING:
        return rebuild_bitstring(env, t);
    case ERL_NIF_TERM_TYPE_LIST:
        return rebuild_list(env, t, depth);
    case ERL_NIF_TERM_TYPE_TUPLE:
        return rebuild_tuple(env, t, depth);
    case ERL_NIF_TERM_TYPE_MAP:
        return rebuild_map(env, t, depth);
    case ERL_NIF_TERM_TYPE_FUN:
    case ERL_NIF_TERM_TYPE_PID:
    case ERL_NIF_TERM_TYPE_PORT:
    case ERL_NIF_TERM_TYPE_REFERENCE:
        return t; /* opaque: handed back as they are */
    default:
        return 0;
    }
}

/* rebuild(T) =:= T for any term within the limits above, else badarg. */
EXPORT(rebuild) ERL_NIF_TERM rebuild(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    ERL_NIF_TERM out = rebuild_term(env, t, 0);
    return out ? out : badarg(env);
}

/* ------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------ */

/* get_int + make_int: X for an integer in int32 range, else badarg. */
EXPORT(int_roundtrip) ERL_NIF_TERM int_roundtrip(ErlNifEnv* env, ERL_NIF_TERM t) {
    int32_t v;
    return enif_wasm_get_int(env, t, &v) ? enif_wasm_make_int(env, v) : badarg(env);
}

/* get_uint + make_uint: X in 0..2^32-1, else badarg. */
EXPORT(uint_roundtrip) ERL_NIF_TERM uint_roundtrip(ErlNifEnv* env, ERL_NIF_TERM t) {
    uint32_t v;
    return enif_wasm_get_uint(env, t, &v) ? enif_wasm_make_uint(env, v) : badarg(env);
}

/* get_int64 + make_int64: X in -2^63..2^63-1, else badarg. */
EXPORT(int64_roundtrip) ERL_NIF_TERM int64_roundtrip(ErlNifEnv* env, ERL_NIF_TERM t) {
    int64_t v;
    return enif_wasm_get_int64(env, t, &v) ? enif_wasm_make_int64(env, v) : badarg(env);
}

/* get_uint64 + make_uint64: X in 0..2^64-1, else badarg. */
EXPORT(uint64_roundtrip) ERL_NIF_TERM uint64_roundtrip(ErlNifEnv* env, ERL_NIF_TERM t) {
    uint64_t v;
    return enif_wasm_get_uint64(env, t, &v) ? enif_wasm_make_uint64(env, v) : badarg(env);
}

/* get_double + make_double: X for a float (not an integer), else badarg. */
EXPORT(double_roundtrip) ERL_NIF_TERM double_roundtrip(ErlNifEnv* env, ERL_NIF_TERM t) {
    double d;
    return enif_wasm_get_double(env, t, &d) ? enif_wasm_make_double(env, d) : badarg(env);
}

/* {Int32, Int, Uint, Int64, Uint64, Double}: what each getter read from X
 * (made again with the matching maker), or false where it answered 0.
 * Int32 is the seed's enif_wasm_get_int32 / enif_wasm_make_int32. */
EXPORT(read_number) ERL_NIF_TERM read_number(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    double d;
    ERL_NIF_TERM* e = terms_alloc(6);
    ERL_NIF_TERM no = atom(env, "false");
    e[0] = enif_wasm_get_int32(env, t, &i32) ? enif_wasm_make_int32(env, i32) : no;
    e[1] = enif_wasm_get_int(env, t, &i32) ? enif_wasm_make_int(env, i32) : no;
    e[2] = enif_wasm_get_uint(env, t, &u32) ? enif_wasm_make_uint(env, u32) : no;
    e[3] = enif_wasm_get_int64(env, t, &i64) ? enif_wasm_make_int64(env, i64) : no;
    e[4] = enif_wasm_get_uint64(env, t, &u64) ? enif_wasm_make_uint64(env, u64) : no;
    e[5] = enif_wasm_get_double(env, t, &d) ? enif_wasm_make_double(env, d) : no;
    return enif_wasm_make_tuple_from_array(env, e, 6);
}

/* {-2147483648, 2147483647, 4294967295, -9223372036854775808,
 *  9223372036854775807, 18446744073709551615, 0, -1.5, 1.7976931348623157e308,
 *  5.0e-324, -0.0} */
EXPORT(make_numbers) ERL_NIF_TERM make_numbers(ErlNifEnv* env) {
    begin();
    ERL_NIF_TERM* e = terms_alloc(11);
    e[0] = enif_wasm_make_int(env, (int32_t)0x80000000u);
    e[1] = enif_wasm_make_int(env, 0x7fffffff);
    e[2] = enif_wasm_make_uint(env, 0xffffffffu);
    e[3] = enif_wasm_make_int64(env, (int64_t)0x8000000000000000ull);
    e[4] = enif_wasm_make_int64(env, 0x7fffffffffffffffll);
    e[5] = enif_wasm_make_uint64(env, 0xffffffffffffffffull);
    e[6] = enif_wasm_make_uint64(env, 0);
    e[7] = enif_wasm_make_double(env, -1.5);
    e[8] = enif_wasm_make_double(env, 1.7976931348623157e308);
    e[9] = enif_wasm_make_double(env, 4.9406564584124654e-324);
    e[10] = enif_wasm_make_double(env, -0.0);
    return enif_wasm_make_tuple_from_array(env, e, 11);
}

/* make_double of NaN / +inf / -inf, returned as is: the call raises badarg. */
EXPORT(make_nan) ERL_NIF_TERM make_nan(ErlNifEnv* env) {
    return enif_wasm_make_double(env, __builtin_nan(""));
}
EXPORT(make_inf) ERL_NIF_TERM make_inf(ErlNifEnv* env) {
    return enif_wasm_make_double(env, __builtin_inf());
}
EXPORT(make_neg_inf) ERL_NIF_TERM make_neg_inf(ErlNifEnv* env) {
    return enif_wasm_make_double(env, -__builtin_inf());
}

/* Sum of a proper list of integers that fit int64 (wrapping modulo 2^64),
 * else badarg. */
EXPORT(sum) ERL_NIF_TERM sum(ErlNifEnv* env, ERL_NIF_TERM list) {
    uint64_t total = 0;
    int64_t x;
    ERL_NIF_TERM head, tail;
    while (enif_wasm_get_list_cell(env, list, &head, &tail)) {
        if (!enif_wasm_get_int64(env, head, &x)) return badarg(env);
        total += (uint64_t)x;
        list = tail;
    }
    if (!enif_wasm_is_empty_list(env, list)) return badarg(env);
    return enif_wasm_make_int64(env, (int64_t)total);
}

/* [2 * X || X <- List] for integers in -2^62..2^62-1 and floats; badarg for
 * anything else. A float whose double is infinite gives make_double's
 * exception term, which is returned: badarg. */
EXPORT(double_all) ERL_NIF_TERM double_all(ErlNifEnv* env, ERL_NIF_TERM list) {
    begin();
    uint32_t n;
    ERL_NIF_TERM* items = list_elements(env, list, &n);
    if (!items) return badarg(env);
    for (uint32_t i = 0; i < n; i++) {
        int64_t x;
        double d;
        if (enif_wasm_get_int64(env, items[i], &x)) {
            if (x < -(1ll << 62) || x >= (1ll << 62)) return badarg(env);
            items[i] = enif_wasm_make_int64(env, 2 * x);
        } else if (enif_wasm_get_double(env, items[i], &d)) {
            items[i] = enif_wasm_make_double(env, 2 * d);
            if (enif_wasm_is_exception(env, items[i])) return items[i];
        } else {
            return badarg(env);
        }
    }
    return list_of(env, items, n);
}

/* Prints through the three printf imports; the total of bytes written. */
EXPORT(print) ERL_NIF_TERM print(ErlNifEnv* env, ERL_NIF_TERM t) {
    int32_t v;
    if (!enif_wasm_get_int(env, t, &v)) return badarg(env);
    int64_t n = enif_printf_I("terms.c: int %d\n", v);
    n += enif_printf_L("terms.c: long %lld\n", (int64_t)v * 1000000000ll);
    n += enif_printf_F("terms.c: double %.1f\n", v / 2.0);
    return enif_wasm_make_int64(env, n);
}

/* ------------------------------------------------------------------------
 * Atoms and strings
 * ------------------------------------------------------------------------ */

/* get_atom_length + get_atom + make_atom_len: A for a Latin-1 atom, else
 * badarg. */
EXPORT(atom_roundtrip) ERL_NIF_TERM atom_roundtrip(ErlNifEnv* env, ERL_NIF_TERM a) {
    begin();
    uint32_t len;
    char buf[256];
    if (!enif_wasm_get_atom_length(env, a, &len, ERL_NIF_LATIN1) || len > 255) return badarg(env);
    if (enif_wasm_get_atom(env, a, buf, sizeof buf, ERL_NIF_LATIN1) != (int)len + 1) return badarg(env);
    return enif_wasm_make_atom_len(env, buf, len);
}

/* The Latin-1 length of an atom's name, else badarg. */
EXPORT(atom_length) ERL_NIF_TERM atom_length(ErlNifEnv* env, ERL_NIF_TERM a) {
    uint32_t len;
    return enif_wasm_get_atom_length(env, a, &len, ERL_NIF_LATIN1) ? enif_wasm_make_uint(env, len)
                                                                   : badarg(env);
}

/* A buffer of Size bytes (at most 65536), filled with 0xAA. */
static char* sentinel_buffer(uint32_t size) {
    if (size > 65536) return 0;
    char* buf = (char*)arena_alloc(size);
    if (!buf) return 0;
    volatile char* v = buf; /* volatile: a plain loop would become a memset call */
    for (uint32_t i = 0; i < size; i++) v[i] = (char)0xAA;
    return buf;
}

/* {Return of get_atom with a buffer of Size bytes, the whole buffer as a
 * binary}; the buffer starts filled with 0xAA. */
EXPORT(get_atom_sized) ERL_NIF_TERM get_atom_sized(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM size_t_) {
    begin();
    uint32_t size;
    if (!get_u32(env, size_t_, &size)) return badarg(env);
    char* buf = sentinel_buffer(size);
    if (!buf) return badarg(env);
    int r = enif_wasm_get_atom(env, a, buf, size, ERL_NIF_LATIN1);
    return tuple2(env, enif_wasm_make_int(env, r),
                  enif_wasm_make_binary(env, (const unsigned char*)buf, size));
}

/* make_atom_len of the bytes of a binary (Latin-1): may create the atom.
 * Traps (bad_argument) for more than 255 bytes, as the header says. */
EXPORT(make_atom) ERL_NIF_TERM make_atom(ErlNifEnv* env, ERL_NIF_TERM bin) {
    begin();
    uint32_t n;
    unsigned char* buf = binary_copy(env, bin, &n);
    if (!buf) return badarg(env);
    return enif_wasm_make_atom_len(env, (const char*)buf, n);
}

/* The existing atom named by the bytes of a binary, or false. */
EXPORT(existing_atom) ERL_NIF_TERM existing_atom(ErlNifEnv* env, ERL_NIF_TERM bin) {
    begin();
    uint32_t n;
    ERL_NIF_TERM out;
    unsigned char* buf = binary_copy(env, bin, &n);
    if (!buf) return badarg(env);
    if (!enif_wasm_make_existing_atom_len(env, (const char*)buf, n, &out, ERL_NIF_LATIN1))
        return atom(env, "false");
    return out;
}

/* get_string + make_string_len: the same charlist for a Latin-1 string,
 * else badarg; more than 65,536 characters trap (term_limit). */
EXPORT(string_roundtrip) ERL_NIF_TERM string_roundtrip(ErlNifEnv* env, ERL_NIF_TERM list) {
    begin();
    uint32_t len;
    if (!enif_wasm_get_list_length(env, list, &len) || len >= ARENA_BYTES) return badarg(env);
    char* buf = (char*)arena_alloc(len + 1);
    if (!buf || enif_wasm_get_string(env, list, buf, len + 1, ERL_NIF_LATIN1) != (int)len + 1)
        return badarg(env);
    return enif_wasm_make_string_len(env, buf, len, ERL_NIF_LATIN1);
}

/* {Return of get_string with a buffer of Size bytes, the whole buffer};
 * the buffer starts filled with 0xAA. */
EXPORT(get_string_sized)
ERL_NIF_TERM get_string_sized(ErlNifEnv* env, ERL_NIF_TERM list, ERL_NIF_TERM size_t_) {
    begin();
    uint32_t size;
    if (!get_u32(env, size_t_, &size)) return badarg(env);
    char* buf = sentinel_buffer(size);
    if (!buf) return badarg(env);
    int r = enif_wasm_get_string(env, list, buf, size, ERL_NIF_LATIN1);
    return tuple2(env, enif_wasm_make_int(env, r),
                  enif_wasm_make_binary(env, (const unsigned char*)buf, size));
}

/* binary_to_list/1 through make_string_len (at most 65,536 bytes, else
 * the call traps with term_limit). */
EXPORT(make_string) ERL_NIF_TERM make_string(ErlNifEnv* env, ERL_NIF_TERM bin) {
    begin();
    uint32_t n;
    unsigned char* buf = binary_copy(env, bin, &n);
    if (!buf) return badarg(env);
    return enif_wasm_make_string_len(env, (const char*)buf, n, ERL_NIF_LATIN1);
}

/* ------------------------------------------------------------------------
 * Tuples and lists
 * ------------------------------------------------------------------------ */

/* {B, A} for {A, B}, else badarg. */
EXPORT(tuple_swap) ERL_NIF_TERM tuple_swap(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    int32_t arity;
    ERL_NIF_TERM* e = terms_alloc(2);
    if (!enif_wasm_get_tuple(env, t, &arity, e, 2) || arity != 2) return badarg(env);
    ERL_NIF_TERM a = e[0];
    e[0] = e[1];
    e[1] = a;
    return enif_wasm_make_tuple_from_array(env, e, 2);
}

/* {Return, Arity} of get_tuple asked for the arity alone (capacity 0);
 * Arity stays -1 when nothing was stored. */
EXPORT(tuple_arity) ERL_NIF_TERM tuple_arity(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    int32_t arity = -1;
    int r = enif_wasm_get_tuple(env, t, &arity, 0, 0);
    return tuple2(env, enif_wasm_make_int(env, r), enif_wasm_make_int(env, arity));
}

/* tuple_to_list/1 through get_tuple + make_list_from_array (at most 65536
 * elements, else badarg). */
EXPORT(tuple_to_list) ERL_NIF_TERM tuple_to_list(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    int32_t arity = -1;
    enif_wasm_get_tuple(env, t, &arity, 0, 0);
    if (arity < 0 || (uint32_t)arity > MAX_ARRAY) return badarg(env);
    ERL_NIF_TERM* e = terms_alloc((uint32_t)arity);
    if (!e || !enif_wasm_get_tuple(env, t, &arity, e, (uint32_t)arity)) return badarg(env);
    return enif_wasm_make_list_from_array(env, e, (uint32_t)arity);
}

/* list_to_tuple/1 through make_tuple_from_array: the count is passed to the
 * host unchecked, so more than 65536 elements traps the call. */
EXPORT(list_to_tuple) ERL_NIF_TERM list_to_tuple(ErlNifEnv* env, ERL_NIF_TERM list) {
    begin();
    uint32_t n;
    ERL_NIF_TERM* items = list_elements(env, list, &n);
    if (!items) return badarg(env);
    return enif_wasm_make_tuple_from_array(env, items, n);
}

/* length/1 of a proper list through get_list_length, else badarg. */
EXPORT(list_len) ERL_NIF_TERM list_len(ErlNifEnv* env, ERL_NIF_TERM list) {
    uint32_t len;
    return enif_wasm_get_list_length(env, list, &len) ? enif_wasm_make_uint(env, len) : badarg(env);
}

/* lists:reverse/1 through make_reverse_list, else badarg. */
EXPORT(reverse) ERL_NIF_TERM reverse(ErlNifEnv* env, ERL_NIF_TERM list) {
    ERL_NIF_TERM out;
    return enif_wasm_make_reverse_list(env, list, &out) ? out : badarg(env);
}

/* [H | T] through make_list_cell: T need not be a list. */
EXPORT(cons) ERL_NIF_TERM cons(ErlNifEnv* env, ERL_NIF_TERM h, ERL_NIF_TERM t) {
    return enif_wasm_make_list_cell(env, h, t);
}

/* ------------------------------------------------------------------------
 * Binaries, iolists, external term format
 * ------------------------------------------------------------------------ */

/* The binary with a-z turned into A-Z, else badarg. */
EXPORT(upcase) ERL_NIF_TERM upcase(ErlNifEnv* env, ERL_NIF_TERM bin) {
    begin();
    uint32_t n;
    unsigned char* buf = binary_copy(env, bin, &n);
    if (!buf) return badarg(env);
    for (uint32_t i = 0; i < n; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (unsigned char)(buf[i] - 'a' + 'A');
    return enif_wasm_make_binary(env, buf, n);
}

/* binary:part(Bin, Pos, Size) through make_sub_binary: traps with
 * bad_argument past the end (the import's contract); badarg if Pos or Size
 * is not an unsigned 32-bit integer. */
EXPORT(sub_binary)
ERL_NIF_TERM sub_binary(ErlNifEnv* env, ERL_NIF_TERM bin, ERL_NIF_TERM pos_t, ERL_NIF_TERM size_t_) {
    uint32_t pos, size;
    if (!get_u32(env, pos_t, &pos) || !get_u32(env, size_t_, &size)) return badarg(env);
    return enif_wasm_make_sub_binary(env, bin, pos, size);
}

/* iolist_size/1 through inspect_iolist_as_binary, else badarg. */
EXPORT(iolist_size) ERL_NIF_TERM iolist_size(ErlNifEnv* env, ERL_NIF_TERM io) {
    ERL_NIF_TERM bin;
    uint32_t size;
    if (!enif_wasm_inspect_iolist_as_binary(env, io, &bin) || !enif_wasm_get_binary_size(env, bin, &size))
        return badarg(env);
    return enif_wasm_make_uint(env, size);
}

/* iolist_to_binary/1 through inspect_iolist_as_binary, else badarg. */
EXPORT(iolist_to_binary) ERL_NIF_TERM iolist_to_binary(ErlNifEnv* env, ERL_NIF_TERM io) {
    ERL_NIF_TERM bin;
    return enif_wasm_inspect_iolist_as_binary(env, io, &bin) ? bin : badarg(env);
}

/* term_to_binary/1 through term_to_binary, else badarg. */
EXPORT(t2b) ERL_NIF_TERM t2b(ErlNifEnv* env, ERL_NIF_TERM t) {
    ERL_NIF_TERM bin;
    return enif_wasm_term_to_binary(env, t, &bin) ? bin : badarg(env);
}

/* {Term, BytesRead}: binary_to_term of the bytes of Bin with the options
 * Opts (an unsigned integer), else badarg (binary_to_term answered 0: not
 * an encoding, compressed, or an atom that does not exist). */
EXPORT(b2t) ERL_NIF_TERM b2t(ErlNifEnv* env, ERL_NIF_TERM bin, ERL_NIF_TERM opts_t) {
    begin();
    uint32_t n, opts;
    ERL_NIF_TERM out;
    if (!get_u32(env, opts_t, &opts)) return badarg(env);
    unsigned char* buf = binary_copy(env, bin, &n);
    if (!buf) return badarg(env);
    uint32_t read = enif_wasm_binary_to_term(env, buf, n, &out, opts);
    if (!read) return badarg(env);
    return tuple2(env, out, enif_wasm_make_uint(env, read));
}

/* ------------------------------------------------------------------------
 * Maps
 * ------------------------------------------------------------------------ */

/* #{} */
EXPORT(new_map) ERL_NIF_TERM new_map(ErlNifEnv* env) { return enif_wasm_make_new_map(env); }

/* map_size/1, else badarg. */
EXPORT(map_size) ERL_NIF_TERM map_size(ErlNifEnv* env, ERL_NIF_TERM m) {
    uint32_t size;
    return enif_wasm_get_map_size(env, m, &size) ? enif_wasm_make_uint(env, size) : badarg(env);
}

/* {ok, V} if the map holds K, error if not, badarg if M is not a map. */
EXPORT(map_get) ERL_NIF_TERM map_get(ErlNifEnv* env, ERL_NIF_TERM m, ERL_NIF_TERM k) {
    begin();
    ERL_NIF_TERM v;
    if (!enif_wasm_is_map(env, m)) return badarg(env);
    if (!enif_wasm_get_map_value(env, m, k, &v)) return atom(env, "error");
    return tuple2(env, atom(env, "ok"), v);
}

/* M#{K => V}, else badarg. */
EXPORT(map_put) ERL_NIF_TERM map_put(ErlNifEnv* env, ERL_NIF_TERM m, ERL_NIF_TERM k, ERL_NIF_TERM v) {
    ERL_NIF_TERM out;
    return enif_wasm_make_map_put(env, m, k, v, &out) ? out : badarg(env);
}

/* M#{K := V}, badarg if M does not hold K. */
EXPORT(map_update) ERL_NIF_TERM map_update(ErlNifEnv* env, ERL_NIF_TERM m, ERL_NIF_TERM k, ERL_NIF_TERM v) {
    ERL_NIF_TERM out;
    return enif_wasm_make_map_update(env, m, k, v, &out) ? out : badarg(env);
}

/* maps:remove(K, M), else badarg. */
EXPORT(map_remove) ERL_NIF_TERM map_remove(ErlNifEnv* env, ERL_NIF_TERM m, ERL_NIF_TERM k) {
    ERL_NIF_TERM out;
    return enif_wasm_make_map_remove(env, m, k, &out) ? out : badarg(env);
}

/* maps:update_with(K, fun(V) -> V + 1 end, 1, M) for int64 values, else
 * badarg. */
EXPORT(map_incr) ERL_NIF_TERM map_incr(ErlNifEnv* env, ERL_NIF_TERM m, ERL_NIF_TERM k) {
    ERL_NIF_TERM v, out;
    int64_t x;
    if (!enif_wasm_is_map(env, m)) return badarg(env);
    if (enif_wasm_get_map_value(env, m, k, &v)) {
        if (!enif_wasm_get_int64(env, v, &x) || x == 0x7fffffffffffffffll) return badarg(env);
        if (!enif_wasm_make_map_update(env, m, k, enif_wasm_make_int64(env, x + 1), &out)) return badarg(env);
    } else if (!enif_wasm_make_map_put(env, m, k, enif_wasm_make_int(env, 1), &out)) {
        return badarg(env);
    }
    return out;
}

/* maps:from_list(lists:zip(Keys, Values)) through make_map_from_arrays:
 * badarg for a duplicate key, lists of different lengths, or more than
 * 2048 pairs (the import answers 0 then). */
EXPORT(map_from_lists) ERL_NIF_TERM map_from_lists(ErlNifEnv* env, ERL_NIF_TERM ks, ERL_NIF_TERM vs) {
    begin();
    uint32_t nk, nv;
    ERL_NIF_TERM out;
    ERL_NIF_TERM* keys = list_elements(env, ks, &nk);
    ERL_NIF_TERM* values = keys ? list_elements(env, vs, &nv) : 0;
    if (!values || nk != nv) return badarg(env);
    return enif_wasm_make_map_from_arrays(env, keys, values, nk, &out) ? out : badarg(env);
}

/* The keys in the order of a forward iteration (FIRST, next): prepended
 * while walking, then put in order with make_reverse_list. */
EXPORT(map_keys) ERL_NIF_TERM map_keys(ErlNifEnv* env, ERL_NIF_TERM m) {
    ErlNifMapIterator it;
    ERL_NIF_TERM k, v, acc, out;
    if (!enif_wasm_map_iterator_create(env, m, &it, ERL_NIF_MAP_ITERATOR_FIRST)) return badarg(env);
    acc = enif_wasm_make_list_from_array(env, 0, 0);
    while (enif_wasm_map_iterator_get_pair(env, &it, &k, &v)) {
        acc = enif_wasm_make_list_cell(env, k, acc);
        enif_wasm_map_iterator_next(env, &it);
    }
    if (!enif_wasm_map_iterator_is_tail(env, &it)) return badarg(env);
    enif_wasm_map_iterator_destroy(env, &it);
    return enif_wasm_make_reverse_list(env, acc, &out) ? out : badarg(env);
}

/* The keys in the order of a backward iteration (LAST, prev), so
 * lists:reverse(map_keys(M)). Checks the iterator's edges on the way:
 * badarg if, after the walk, it is not at the head, or get_pair answers
 * there, or a step past the head moves it. */
EXPORT(map_keys_backward) ERL_NIF_TERM map_keys_backward(ErlNifEnv* env, ERL_NIF_TERM m) {
    begin();
    ErlNifMapIterator it;
    ERL_NIF_TERM k, v;
    uint32_t size, n = 0;
    if (!enif_wasm_get_map_size(env, m, &size)) return badarg(env);
    ERL_NIF_TERM* keys = terms_alloc(size);
    if (!keys || !enif_wasm_map_iterator_create(env, m, &it, ERL_NIF_MAP_ITERATOR_LAST)) return badarg(env);
    while (!enif_wasm_map_iterator_is_head(env, &it)) {
        if (n >= size || !enif_wasm_map_iterator_get_pair(env, &it, &k, &v)) return badarg(env);
        keys[n++] = k;
        enif_wasm_map_iterator_prev(env, &it);
    }
    if (n != size || enif_wasm_map_iterator_get_pair(env, &it, &k, &v) ||
        enif_wasm_map_iterator_prev(env, &it) || !enif_wasm_map_iterator_is_head(env, &it))
        return badarg(env);
    /* One step forward from the head is the first pair again. */
    if (size > 0 && (!enif_wasm_map_iterator_next(env, &it) ||
                     !enif_wasm_map_iterator_get_pair(env, &it, &k, &v) ||
                     !enif_wasm_is_identical(env, k, keys[size - 1])))
        return badarg(env);
    enif_wasm_map_iterator_destroy(env, &it);
    return list_of(env, keys, n);
}

/* maps:to_list/1 in the iterator's order: [{K, V}] walking forward. */
EXPORT(map_pairs) ERL_NIF_TERM map_pairs(ErlNifEnv* env, ERL_NIF_TERM m) {
    begin();
    ErlNifMapIterator it;
    uint32_t size, n = 0;
    ERL_NIF_TERM k, v;
    if (!enif_wasm_get_map_size(env, m, &size)) return badarg(env);
    ERL_NIF_TERM* pairs = terms_alloc(size);
    ERL_NIF_TERM* kv = terms_alloc(2);
    if (!pairs || !kv || !enif_wasm_map_iterator_create(env, m, &it, ERL_NIF_MAP_ITERATOR_HEAD))
        return badarg(env);
    while (n < size && enif_wasm_map_iterator_get_pair(env, &it, &k, &v)) {
        kv[0] = k;
        kv[1] = v;
        pairs[n++] = enif_wasm_make_tuple_from_array(env, kv, 2);
        enif_wasm_map_iterator_next(env, &it);
    }
    if (n != size) return badarg(env);
    return list_of(env, pairs, n);
}

/* ------------------------------------------------------------------------
 * Type tests and comparison
 * ------------------------------------------------------------------------ */

/* enif_wasm_term_type(T) as an integer (ErlNifTermType). */
EXPORT(type_of) ERL_NIF_TERM type_of(ErlNifEnv* env, ERL_NIF_TERM t) {
    return enif_wasm_make_int(env, (int32_t)enif_wasm_term_type(env, t));
}

/* The names of the is_* imports that answer 1 for T, in this order:
 * [atom, binary, exception, fun, list, map, number, pid, port, ref, tuple]. */
EXPORT(is_checks) ERL_NIF_TERM is_checks(ErlNifEnv* env, ERL_NIF_TERM t) {
    begin();
    ERL_NIF_TERM* names = terms_alloc(11);
    uint32_t n = 0;
    if (enif_wasm_is_atom(env, t)) names[n++] = atom(env, "atom");
    if (enif_wasm_is_binary(env, t)) names[n++] = atom(env, "binary");
    if (enif_wasm_is_exception(env, t)) names[n++] = atom(env, "exception");
    if (enif_wasm_is_fun(env, t)) names[n++] = atom(env, "fun");
    if (enif_wasm_is_list(env, t)) names[n++] = atom(env, "list");
    if (enif_wasm_is_map(env, t)) names[n++] = atom(env, "map");
    if (enif_wasm_is_number(env, t)) names[n++] = atom(env, "number");
    if (enif_wasm_is_pid(env, t)) names[n++] = atom(env, "pid");
    if (enif_wasm_is_port(env, t)) names[n++] = atom(env, "port");
    if (enif_wasm_is_ref(env, t)) names[n++] = atom(env, "ref");
    if (enif_wasm_is_tuple(env, t)) names[n++] = atom(env, "tuple");
    return enif_wasm_make_list_from_array(env, names, n);
}

/* {term_type, is_checks} of the badarg exception term of this call: the
 * exception term is no term, so term_type is 0 and only is_exception is 1.
 * Returned as [TermType | Names]. */
EXPORT(exception_checks) ERL_NIF_TERM exception_checks(ErlNifEnv* env) {
    ERL_NIF_TERM e = enif_wasm_make_badarg(env);
    ERL_NIF_TERM names = is_checks(env, e); /* resets the arena, uses none after */
    return enif_wasm_make_list_cell(env, enif_wasm_make_int(env, (int32_t)enif_wasm_term_type(env, e)), names);
}

/* enif_wasm_compare(A, B): -1, 0 or 1. */
EXPORT(compare) ERL_NIF_TERM compare(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    return enif_wasm_make_int(env, enif_wasm_compare(env, a, b));
}

/* enif_wasm_is_identical(A, B): 1 or 0. */
EXPORT(identical) ERL_NIF_TERM identical(ErlNifEnv* env, ERL_NIF_TERM a, ERL_NIF_TERM b) {
    return enif_wasm_make_int(env, enif_wasm_is_identical(env, a, b));
}

/* ------------------------------------------------------------------------
 * Exceptions
 *
 * The exports that report what has_pending_exception said send the report
 * to the caller (enif_wasm_send to enif_wasm_self) before returning the
 * exception term, so the report arrives although the call raises.
 * ------------------------------------------------------------------------ */

/* Raises error:Reason. */
EXPORT(raise) ERL_NIF_TERM raise(ErlNifEnv* env, ERL_NIF_TERM reason) {
    return enif_wasm_raise_exception(env, reason);
}

static ERL_NIF_TERM int_or_none(ErlNifEnv* env, int ok, ERL_NIF_TERM t) {
    return ok ? t : atom(env, "none");
}

/* Sends {pending, Before, After, AfterNull, IsException, Reason} to the
 * caller and raises error:R: Before is has_pending_exception before the
 * raise (0), After and AfterNull after it (1, with a reason pointer and with
 * NULL), IsException is_exception of the raised term (1), Reason what
 * has_pending_exception stored (R), or none if it stored nothing. */
EXPORT(pending) ERL_NIF_TERM pending(ErlNifEnv* env, ERL_NIF_TERM r) {
    begin();
    ERL_NIF_TERM before_reason = 0, reason = 0;
    int before = enif_wasm_has_pending_exception(env, &before_reason);
    ERL_NIF_TERM e = enif_wasm_raise_exception(env, r);
    int after = enif_wasm_has_pending_exception(env, &reason);
    int after_null = enif_wasm_has_pending_exception(env, 0);
    ERL_NIF_TERM* m = terms_alloc(6);
    m[0] = atom(env, "pending");
    m[1] = enif_wasm_make_int(env, before);
    m[2] = enif_wasm_make_int(env, after);
    m[3] = enif_wasm_make_int(env, after_null);
    m[4] = enif_wasm_make_int(env, enif_wasm_is_exception(env, e));
    m[5] = int_or_none(env, after, reason);
    enif_wasm_send(env, enif_wasm_self(env), enif_wasm_make_tuple_from_array(env, m, 6));
    return e;
}

/* Sends {badarg_pending, HasPending, Reason, IsException} to the caller and
 * raises badarg: 1, badarg, 1. */
EXPORT(badarg_pending) ERL_NIF_TERM badarg_pending(ErlNifEnv* env) {
    begin();
    ERL_NIF_TERM reason = 0;
    ERL_NIF_TERM e = enif_wasm_make_badarg(env);
    int has = enif_wasm_has_pending_exception(env, &reason);
    ERL_NIF_TERM* m = terms_alloc(4);
    m[0] = atom(env, "badarg_pending");
    m[1] = enif_wasm_make_int(env, has);
    m[2] = int_or_none(env, has, reason);
    m[3] = enif_wasm_make_int(env, enif_wasm_is_exception(env, e));
    enif_wasm_send(env, enif_wasm_self(env), enif_wasm_make_tuple_from_array(env, m, 4));
    return e;
}

/* Sends {nan_pending, IsException, HasPending, Reason} to the caller and
 * raises badarg: make_double(NaN) gives the badarg exception term. */
EXPORT(nan_pending) ERL_NIF_TERM nan_pending(ErlNifEnv* env) {
    begin();
    ERL_NIF_TERM reason = 0;
    ERL_NIF_TERM e = enif_wasm_make_double(env, __builtin_nan(""));
    int has = enif_wasm_has_pending_exception(env, &reason);
    ERL_NIF_TERM* m = terms_alloc(4);
    m[0] = atom(env, "nan_pending");
    m[1] = enif_wasm_make_int(env, enif_wasm_is_exception(env, e));
    m[2] = enif_wasm_make_int(env, has);
    m[3] = int_or_none(env, has, reason);
    enif_wasm_send(env, enif_wasm_self(env), enif_wasm_make_tuple_from_array(env, m, 4));
    return e;
}

/* has_pending_exception in a call that made no exception: 0, and the
 * reason slot is left alone (returned as the atom untouched). */
EXPORT(no_pending) ERL_NIF_TERM no_pending(ErlNifEnv* env) {
    ERL_NIF_TERM reason = 0;
    int has = enif_wasm_has_pending_exception(env, &reason);
    ERL_NIF_TERM arr[2];
    arr[0] = enif_wasm_make_int(env, has);
    arr[1] = reason == 0 ? atom(env, "untouched") : atom(env, "written");
    return enif_wasm_make_tuple_from_array(env, arr, 2);
}

/* make_badarg, then raise_exception(R): the later one decides, error:R. */
EXPORT(badarg_then_raise) ERL_NIF_TERM badarg_then_raise(ErlNifEnv* env, ERL_NIF_TERM r) {
    enif_wasm_make_badarg(env);
    return enif_wasm_raise_exception(env, r);
}

/* raise_exception(R), then make_badarg: error:badarg. The term returned is
 * the one raise_exception gave, to show that the latest call decides. */
EXPORT(raise_then_badarg) ERL_NIF_TERM raise_then_badarg(ErlNifEnv* env, ERL_NIF_TERM r) {
    ERL_NIF_TERM e = enif_wasm_raise_exception(env, r);
    enif_wasm_make_badarg(env);
    return e;
}

/* ------------------------------------------------------------------------
 * Processes and references
 * ------------------------------------------------------------------------ */

/* self() */
EXPORT(self_pid) ERL_NIF_TERM self_pid(ErlNifEnv* env) { return enif_wasm_self(env); }

/* enif_wasm_send(Pid, Msg): 1 if sent, else 0; a message over 8 MiB
 * traps the call (term_limit). */
EXPORT(send_to) ERL_NIF_TERM send_to(ErlNifEnv* env, ERL_NIF_TERM pid, ERL_NIF_TERM msg) {
    return enif_wasm_make_int(env, enif_wasm_send(env, pid, msg));
}

/* Sends Msg to Pid N times; the number of sends that answered 1. */
EXPORT(send_n) ERL_NIF_TERM send_n(ErlNifEnv* env, ERL_NIF_TERM pid, ERL_NIF_TERM msg, ERL_NIF_TERM n_t) {
    uint32_t n, sent = 0;
    if (!get_u32(env, n_t, &n)) return badarg(env);
    for (uint32_t i = 0; i < n; i++) sent += (uint32_t)enif_wasm_send(env, pid, msg);
    return enif_wasm_make_uint(env, sent);
}

/* enif_wasm_is_process_alive(Pid): 1 or 0. */
EXPORT(is_alive) ERL_NIF_TERM is_alive(ErlNifEnv* env, ERL_NIF_TERM pid) {
    return enif_wasm_make_int(env, enif_wasm_is_process_alive(env, pid));
}

/* make_ref() */
EXPORT(make_ref) ERL_NIF_TERM make_ref(ErlNifEnv* env) { return enif_wasm_make_ref(env); }
