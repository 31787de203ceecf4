/* The term-ABI fuzzer's guest: an interpreter of small programs of
 * term-API calls (fuzz/wasm_fuzz_terms.erl generates them and predicts
 * their result with a model written in Erlang).
 *
 * run(Program, Inputs): Program is a binary of operations on a stack of
 * terms, Inputs a list of terms the program may push. The result is the
 * stack, bottom first, as a list. An operation that the API refuses (a
 * getter answering 0) pushes the atom wasm_fuzz_failed instead of its
 * result, so that the model can predict refusals too. */
#include "erl_nif_wasm.h"

#define MAX_STACK 64
#define MAX_INPUTS 32
#define BUF_BYTES 65536

enum {
    OP_INPUT = 1, OP_INT64, OP_DOUBLE, OP_ATOM, OP_BINARY, OP_STRING, OP_TUPLE, OP_LIST,
    OP_CONS, OP_NEW_MAP, OP_MAP_PUT, OP_MAP_GET, OP_MAP_REMOVE, OP_MAP_UPDATE, OP_MAP_FROM,
    OP_T2B, OP_B2T, OP_REVERSE, OP_LENGTH, OP_COMPARE, OP_IDENTICAL, OP_TYPE, OP_IOLIST,
    OP_SUB, OP_GET_INT64, OP_GET_DOUBLE, OP_GET_ATOM, OP_GET_STRING, OP_GET_TUPLE, OP_CELL,
    OP_DUP, OP_DROP, OP_MAP_SIZE, OP_BIN_SIZE, OP_GET_UINT64, OP_EXISTING_ATOM
};

static unsigned char program[BUF_BYTES];
static unsigned char buf[BUF_BYTES];

typedef struct {
    ErlNifEnv* env;
    ERL_NIF_TERM stack[MAX_STACK];
    uint32_t depth;
    ERL_NIF_TERM failed;
} Machine;

static void push(Machine* m, ERL_NIF_TERM t) {
    if (m->depth < MAX_STACK) m->stack[m->depth++] = t;
}

/* The top n terms, bottom first; the generator never asks for more than
 * the stack holds. */
static ERL_NIF_TERM* pop(Machine* m, uint32_t n) {
    if (n > m->depth) n = m->depth;
    m->depth -= n;
    return &m->stack[m->depth];
}

/* Pushes result if call answered 1, else the failure marker; call runs
 * first, so result may read what it wrote. */
#define PUSH_IF(call, result)                    \
    do {                                         \
        int ok_ = (call);                        \
        push(m, ok_ ? (result) : m->failed);     \
    } while (0)

static uint64_t read_u64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Runs one operation at program[pc]; the bytes it used. */
static uint32_t step(Machine* m, ERL_NIF_TERM* inputs, uint32_t ninputs, uint32_t pc,
                     uint32_t len) {
    ErlNifEnv* env = m->env;
    unsigned char op = program[pc];
    const unsigned char* arg = &program[pc + 1];
    uint32_t left = len - pc - 1;
    ERL_NIF_TERM out, *t;
    uint32_t size, n;
    int64_t i64;
    uint64_t u64;
    double d;
    int32_t arity;
    switch (op) {
    case OP_INPUT:
        if (left < 1) return len;
        push(m, ninputs ? inputs[arg[0] % ninputs] : enif_wasm_make_list_from_array(env, 0, 0));
        return 2;
    case OP_INT64:
        if (left < 8) return len;
        push(m, enif_wasm_make_int64(env, (int64_t)read_u64(arg)));
        return 9;
    case OP_DOUBLE:
        if (left < 8) return len;
        u64 = read_u64(arg);
        __builtin_memcpy(&d, &u64, 8);
        push(m, enif_wasm_make_double(env, d));
        return 9;
    case OP_ATOM: case OP_BINARY: case OP_STRING: case OP_EXISTING_ATOM:
        if (left < 1 || left - 1 < arg[0]) return len;
        n = arg[0];
        if (op == OP_ATOM) out = enif_wasm_make_atom_len(env, (const char*)arg + 1, n);
        else if (op == OP_BINARY) out = enif_wasm_make_binary(env, arg + 1, n);
        else if (op == OP_STRING) out = enif_wasm_make_string_len(env, (const char*)arg + 1, n, ERL_NIF_LATIN1);
        else {
            PUSH_IF(enif_wasm_make_existing_atom_len(env, (const char*)arg + 1, n, &out, ERL_NIF_LATIN1), out);
            return 2 + n;
        }
        push(m, out);
        return 2 + n;
    case OP_TUPLE: case OP_LIST: case OP_SUB: case OP_DUP: case OP_MAP_FROM:
        if (left < (op == OP_SUB ? 2u : 1u)) return len;
        break;
    }
    switch (op) {
    case OP_TUPLE:
        n = arg[0] <= m->depth ? arg[0] : m->depth;
        t = pop(m, n);
        push(m, enif_wasm_make_tuple_from_array(env, t, n));
        return 2;
    case OP_LIST:
        n = arg[0] <= m->depth ? arg[0] : m->depth;
        t = pop(m, n);
        push(m, enif_wasm_make_list_from_array(env, t, n));
        return 2;
    case OP_MAP_FROM:
        n = arg[0] <= m->depth / 2 ? arg[0] : m->depth / 2;
        t = pop(m, 2 * n);
        PUSH_IF(enif_wasm_make_map_from_arrays(env, t, t + n, n, &out), out);
        return 2;
    case OP_SUB:
        t = pop(m, 1);
        if (enif_wasm_get_binary_size(env, t[0], &size) && (uint32_t)arg[0] + arg[1] <= size)
            push(m, enif_wasm_make_sub_binary(env, t[0], arg[0], arg[1]));
        else
            push(m, m->failed);
        return 3;
    case OP_DUP:
        if (m->depth) push(m, m->stack[m->depth - 1 - arg[0] % m->depth]);
        return 2;
    case OP_CONS:
        t = pop(m, 2);
        push(m, enif_wasm_make_list_cell(env, t[0], t[1]));
        return 1;
    case OP_NEW_MAP:
        push(m, enif_wasm_make_new_map(env));
        return 1;
    case OP_MAP_PUT: case OP_MAP_UPDATE:
        t = pop(m, 3);
        if (op == OP_MAP_PUT) PUSH_IF(enif_wasm_make_map_put(env, t[0], t[1], t[2], &out), out);
        else PUSH_IF(enif_wasm_make_map_update(env, t[0], t[1], t[2], &out), out);
        return 1;
    case OP_MAP_GET:
        t = pop(m, 2);
        PUSH_IF(enif_wasm_get_map_value(env, t[0], t[1], &out), out);
        return 1;
    case OP_MAP_REMOVE:
        t = pop(m, 2);
        PUSH_IF(enif_wasm_make_map_remove(env, t[0], t[1], &out), out);
        return 1;
    case OP_T2B:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_term_to_binary(env, t[0], &out), out);
        return 1;
    case OP_B2T:
        t = pop(m, 1);
        if (enif_wasm_get_binary_size(env, t[0], &size) && size <= BUF_BYTES &&
            enif_wasm_get_binary_bytes(env, t[0], 0, size, buf))
            PUSH_IF(enif_wasm_binary_to_term(env, buf, size, &out, 0) != 0, out);
        else
            push(m, m->failed);
        return 1;
    case OP_REVERSE:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_make_reverse_list(env, t[0], &out), out);
        return 1;
    case OP_LENGTH:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_list_length(env, t[0], &size), enif_wasm_make_uint(env, size));
        return 1;
    case OP_COMPARE: {
        t = pop(m, 2);
        int c = enif_wasm_compare(env, t[0], t[1]);
        push(m, enif_wasm_make_int(env, c < 0 ? -1 : c > 0 ? 1 : 0));
        return 1;
    }
    case OP_IDENTICAL:
        t = pop(m, 2);
        push(m, enif_wasm_make_int(env, enif_wasm_is_identical(env, t[0], t[1])));
        return 1;
    case OP_TYPE:
        t = pop(m, 1);
        push(m, enif_wasm_make_int(env, (int32_t)enif_wasm_term_type(env, t[0])));
        return 1;
    case OP_IOLIST:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_inspect_iolist_as_binary(env, t[0], &out), out);
        return 1;
    case OP_GET_INT64:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_int64(env, t[0], &i64), enif_wasm_make_int64(env, i64));
        return 1;
    case OP_GET_UINT64:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_uint64(env, t[0], &u64), enif_wasm_make_uint64(env, u64));
        return 1;
    case OP_GET_DOUBLE:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_double(env, t[0], &d), enif_wasm_make_double(env, d));
        return 1;
    case OP_GET_ATOM: {
        t = pop(m, 1);
        int got = enif_wasm_get_atom(env, t[0], (char*)buf, 256, ERL_NIF_LATIN1);
        push(m, got > 0 ? enif_wasm_make_binary(env, buf, (uint32_t)got - 1) : m->failed);
        return 1;
    }
    case OP_GET_STRING: {
        t = pop(m, 1);
        int got = enif_wasm_get_string(env, t[0], (char*)buf, 256, ERL_NIF_LATIN1);
        push(m, got > 0 ? enif_wasm_make_binary(env, buf, (uint32_t)got - 1) : m->failed);
        return 1;
    }
    case OP_GET_TUPLE: {
        ERL_NIF_TERM elements[16];
        t = pop(m, 1);
        if (enif_wasm_get_tuple(env, t[0], &arity, elements, 16))
            push(m, enif_wasm_make_list_from_array(env, elements, (uint32_t)arity));
        else
            push(m, m->failed);
        return 1;
    }
    case OP_CELL: {
        ERL_NIF_TERM cell[2];
        t = pop(m, 1);
        if (enif_wasm_get_list_cell(env, t[0], &cell[0], &cell[1]))
            push(m, enif_wasm_make_tuple_from_array(env, cell, 2));
        else
            push(m, m->failed);
        return 1;
    }
    case OP_DROP:
        (void)pop(m, 1);
        return 1;
    case OP_MAP_SIZE:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_map_size(env, t[0], &size), enif_wasm_make_uint(env, size));
        return 1;
    case OP_BIN_SIZE:
        t = pop(m, 1);
        PUSH_IF(enif_wasm_get_binary_size(env, t[0], &size), enif_wasm_make_uint(env, size));
        return 1;
    default:
        return 1;
    }
}

ERL_NIF_WASM_EXPORT(run)
ERL_NIF_TERM run(ErlNifEnv* env, ERL_NIF_TERM code, ERL_NIF_TERM input_list) {
    static Machine m;
    ERL_NIF_TERM inputs[MAX_INPUTS], head, tail = input_list;
    uint32_t len, ninputs = 0, pc = 0;
    if (!enif_wasm_get_binary_size(env, code, &len) || len > BUF_BYTES ||
        !enif_wasm_get_binary_bytes(env, code, 0, len, program))
        return enif_wasm_make_badarg(env);
    while (ninputs < MAX_INPUTS && enif_wasm_get_list_cell(env, tail, &head, &tail))
        inputs[ninputs++] = head;
    m.env = env;
    m.depth = 0;
    m.failed = enif_wasm_make_atom_len(env, "wasm_fuzz_failed", 16);
    while (pc < len) pc += step(&m, inputs, ninputs, pc, len);
    return enif_wasm_make_list_from_array(env, m.stack, m.depth);
}
