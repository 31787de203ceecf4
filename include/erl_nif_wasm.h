/*
 * erl_nif_wasm.h - the guest side of wasm_runtime_nif's term ABI.
 *
 * A wasm function exported with the signature
 *
 *     ERL_NIF_TERM name(ErlNifEnv* env, ERL_NIF_TERM arg1, ..., ERL_NIF_TERM argN)
 *
 * can be called from Erlang with wasm_runtime_nif:call(Instance, name, [A1, ..., AN]).
 * Terms are opaque handles, valid only during the call that produced them;
 * the host checks every handle and pointer it is given (see docs/guest-abi.md
 * and the guide in docs/c-guests.md).
 *
 * Every function is named after its erl_nif.h counterpart with `enif_`
 * replaced by `enif_wasm_`, and takes the same arguments in the same order
 * (env first, out-pointers last). Where erl_nif hands out a pointer into the
 * VM (tuple element arrays, ErlNifBinary, ErlNifPid, map iterators), the
 * wasm version copies into guest memory or works with term handles instead;
 * each such difference is noted beside the function.
 *
 * The rules every function follows:
 *  - functions that answer yes/no or a size (`get_*`, `is_*`, `make_*` that
 *    return int) return 0 for anything invalid: a bad env, a forged or stale
 *    handle, a pointer or length outside linear memory, a term of the wrong
 *    type; nothing is written then;
 *  - functions that return a new ERL_NIF_TERM trap the call (Erlang sees
 *    {trap, Kind, Message}) when given something invalid, as they have no
 *    failure value to return. Kind is bad_env, bad_handle, bad_pointer,
 *    bad_argument, term_limit or atom_limit;
 *  - a call may hold at most 2^20 term handles and make at most 256 MiB of
 *    terms (binaries, lists, tuples, maps, messages sent); past that it
 *    traps with term_limit, whatever the function returns;
 *  - a buffer the guest declares (pointer and size) must lie in linear
 *    memory as a whole, even where the answer would need less of it;
 *  - a term a guest makes may reach at most 4,194,304 terms and 1 GiB of
 *    binaries, shared subterms counted each time they are reached (erl_nif
 *    walks terms whole when it compares, hashes, encodes or copies them);
 *    past that the call traps with term_limit. A term of the caller's is
 *    measured when a guest first builds on it;
 *  - integer sizes and lengths are 32-bit (wasm32's size_t and unsigned).
 *
 * Build a guest with, for example:
 *   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--export-dynamic \
 *         -Wl,--allow-undefined -I include guest.c -o guest.wasm
 * and export the functions to call with ERL_NIF_WASM_EXPORT(name),
 * __attribute__((export_name("..."))), or -Wl,--export-all.
 */
#ifndef ERL_NIF_WASM_H
#define ERL_NIF_WASM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The env of the current call (an i32 at the wasm level). Guests only pass
 * the pointer they were given back to the host; it is never dereferenced. */
typedef uintptr_t ErlNifEnv;

/* An Erlang term handle (an i64 at the wasm level). */
typedef uint64_t ERL_NIF_TERM;

#define ERL_NIF_WASM_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define ERL_NIF_WASM_EXPORT(name) __attribute__((export_name(#name)))

/* Character encodings, as in erl_nif.h. Only Latin-1 is supported: an atom
 * or string with a character above 255 cannot be read or made this way
 * (read it through enif_wasm_term_to_binary). */
typedef enum { ERL_NIF_LATIN1 = 1 } ErlNifCharEncoding;

/* What enif_wasm_term_type returns, as in erl_nif.h (0: invalid handle). */
typedef enum {
    ERL_NIF_TERM_TYPE_ATOM = 1,
    ERL_NIF_TERM_TYPE_BITSTRING = 2,
    ERL_NIF_TERM_TYPE_FLOAT = 3,
    ERL_NIF_TERM_TYPE_FUN = 4,
    ERL_NIF_TERM_TYPE_INTEGER = 5,
    ERL_NIF_TERM_TYPE_LIST = 6,
    ERL_NIF_TERM_TYPE_MAP = 7,
    ERL_NIF_TERM_TYPE_PID = 8,
    ERL_NIF_TERM_TYPE_PORT = 9,
    ERL_NIF_TERM_TYPE_REFERENCE = 10,
    ERL_NIF_TERM_TYPE_TUPLE = 11
} ErlNifTermType;

/* The option of enif_wasm_binary_to_term; the host always decodes as if it
 * were given, so that a guest cannot fill the atom table. */
#define ERL_NIF_BIN2TERM_SAFE 0x20000000

/* ------------------------------------------------------------------------
 * The seed's functions (kept unchanged)
 * ------------------------------------------------------------------------ */

/* 1 and *ip = the value if term is an integer that fits int32, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_int32)
int enif_wasm_get_int32(ErlNifEnv* env, ERL_NIF_TERM term, int32_t* ip);

/* A new integer term. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_int32)
ERL_NIF_TERM enif_wasm_make_int32(ErlNifEnv* env, int32_t value);

/* Return this from an exported function to make the call raise badarg. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_badarg)
ERL_NIF_TERM enif_wasm_make_badarg(ErlNifEnv* env);

/* 1 and *head, *tail set if list is a non-empty list, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_list_cell)
int enif_wasm_get_list_cell(ErlNifEnv* env, ERL_NIF_TERM list, ERL_NIF_TERM* head, ERL_NIF_TERM* tail);

/* 1 if term is [], else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_is_empty_list)
int enif_wasm_is_empty_list(ErlNifEnv* env, ERL_NIF_TERM term);

/* 1 and *size = byte size if bin is a binary, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_binary_size)
int enif_wasm_get_binary_size(ErlNifEnv* env, ERL_NIF_TERM bin, uint32_t* size);

/* 1 and copies bytes [offset, offset+nbytes) of bin to dest, else 0 (not a
 * binary, range past its end, or dest outside linear memory). */
ERL_NIF_WASM_IMPORT(enif_wasm_get_binary_bytes)
int enif_wasm_get_binary_bytes(ErlNifEnv* env, ERL_NIF_TERM bin, uint32_t offset, uint32_t nbytes,
                               unsigned char* dest);

/* A new binary holding a copy of [src, src+nbytes); traps if the range is
 * outside linear memory. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_binary)
ERL_NIF_TERM enif_wasm_make_binary(ErlNifEnv* env, const unsigned char* src, uint32_t nbytes);

/* printf-style debug output of one value. Every conversion in fmt formats
 * that value; %s reads a string at the address given as the integer. The
 * output goes to the calling process's group leader (as io:format/1 would
 * write it), between slices of the call. A call may print 1 MiB; past it
 * output is cut (with a note saying so) and these return -1. Return the
 * number of bytes printed, or -1 (also for a format outside memory). */
ERL_NIF_WASM_IMPORT(enif_printf_I)
int32_t enif_printf_I(const char* fmt, int32_t value);

ERL_NIF_WASM_IMPORT(enif_printf_L)
int64_t enif_printf_L(const char* fmt, int64_t value);

ERL_NIF_WASM_IMPORT(enif_printf_F)
int32_t enif_printf_F(const char* fmt, double value);

/* ------------------------------------------------------------------------
 * Numbers
 *
 * Integers outside 64 bits (bignums) make every get_* return 0; their
 * digits can be read through enif_wasm_term_to_binary.
 * ------------------------------------------------------------------------ */

/* 1 and *ip set if term is an integer in the range of the type, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_int)
int enif_wasm_get_int(ErlNifEnv* env, ERL_NIF_TERM term, int32_t* ip);
ERL_NIF_WASM_IMPORT(enif_wasm_get_uint)
int enif_wasm_get_uint(ErlNifEnv* env, ERL_NIF_TERM term, uint32_t* ip);
ERL_NIF_WASM_IMPORT(enif_wasm_get_int64)
int enif_wasm_get_int64(ErlNifEnv* env, ERL_NIF_TERM term, int64_t* ip);
ERL_NIF_WASM_IMPORT(enif_wasm_get_uint64)
int enif_wasm_get_uint64(ErlNifEnv* env, ERL_NIF_TERM term, uint64_t* ip);

/* 1 and *dp set if term is a float, else 0 (an integer is not a float,
 * as in erl_nif). */
ERL_NIF_WASM_IMPORT(enif_wasm_get_double)
int enif_wasm_get_double(ErlNifEnv* env, ERL_NIF_TERM term, double* dp);

/* New integer terms. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_int)
ERL_NIF_TERM enif_wasm_make_int(ErlNifEnv* env, int32_t i);
ERL_NIF_WASM_IMPORT(enif_wasm_make_uint)
ERL_NIF_TERM enif_wasm_make_uint(ErlNifEnv* env, uint32_t i);
ERL_NIF_WASM_IMPORT(enif_wasm_make_int64)
ERL_NIF_TERM enif_wasm_make_int64(ErlNifEnv* env, int64_t i);
ERL_NIF_WASM_IMPORT(enif_wasm_make_uint64)
ERL_NIF_TERM enif_wasm_make_uint64(ErlNifEnv* env, uint64_t i);

/* A new float term. As in erl_nif, NaN and the infinities give the badarg
 * exception term instead (returning it makes the call raise badarg). */
ERL_NIF_WASM_IMPORT(enif_wasm_make_double)
ERL_NIF_TERM enif_wasm_make_double(ErlNifEnv* env, double d);

/* ------------------------------------------------------------------------
 * Atoms and strings (Latin-1)
 * ------------------------------------------------------------------------ */

/* The atom named by the len bytes at name. Traps with bad_argument if len
 * exceeds 255, and with atom_limit when making it would create one atom
 * more than the limit on atoms created by guests (atoms are never freed:
 * see docs/guest-abi.md). Atoms that already exist are always allowed. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_atom_len)
ERL_NIF_TERM enif_wasm_make_atom_len(ErlNifEnv* env, const char* name, uint32_t len);

/* 1 and *atom set if the atom named by [name, name+len) exists, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_existing_atom_len)
int enif_wasm_make_existing_atom_len(ErlNifEnv* env, const char* name, uint32_t len,
                                     ERL_NIF_TERM* atom, ErlNifCharEncoding encoding);

/* Writes the atom's name and a NUL to buf and returns the bytes written,
 * NUL included; 0 if atom is not an atom or buf is too small. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_atom)
int enif_wasm_get_atom(ErlNifEnv* env, ERL_NIF_TERM atom, char* buf, uint32_t size,
                       ErlNifCharEncoding encoding);

/* 1 and *len = the length of the atom's name (NUL not counted), else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_atom_length)
int enif_wasm_get_atom_length(ErlNifEnv* env, ERL_NIF_TERM atom, uint32_t* len,
                              ErlNifCharEncoding encoding);

/* A charlist of the len bytes at string; traps with term_limit if len
 * exceeds 65536 (build longer lists cell by cell, or use a binary). */
ERL_NIF_WASM_IMPORT(enif_wasm_make_string_len)
ERL_NIF_TERM enif_wasm_make_string_len(ErlNifEnv* env, const char* string, uint32_t len,
                                       ErlNifCharEncoding encoding);

/* Writes the charlist list and a NUL to buf; as in erl_nif, returns the
 * bytes written NUL included, -size if buf was too small (the string is
 * truncated and NUL-terminated), 0 if list is not a Latin-1 string. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_string)
int enif_wasm_get_string(ErlNifEnv* env, ERL_NIF_TERM list, char* buf, uint32_t size,
                         ErlNifCharEncoding encoding);

/* ------------------------------------------------------------------------
 * Tuples
 * ------------------------------------------------------------------------ */

/* If term is a tuple: stores its arity in *arity and, when the arity is at
 * most capacity, a handle of each element in array[0..arity) and returns 1.
 * A tuple larger than capacity, or than 65536 elements (the most one import
 * copies), stores only *arity and returns 0, so capacity 0 asks for the
 * arity alone (array may then be NULL). 0 for anything that is not a
 * tuple. Read larger tuples with enif_wasm_term_to_binary. (erl_nif returns
 * a pointer into the tuple instead.) */
ERL_NIF_WASM_IMPORT(enif_wasm_get_tuple)
int enif_wasm_get_tuple(ErlNifEnv* env, ERL_NIF_TERM term, int32_t* arity, ERL_NIF_TERM* array,
                        uint32_t capacity);

/* A tuple of the cnt handles at arr; traps if one is invalid or cnt exceeds
 * 65536 (an array import copies at most that many terms per call). */
ERL_NIF_WASM_IMPORT(enif_wasm_make_tuple_from_array)
ERL_NIF_TERM enif_wasm_make_tuple_from_array(ErlNifEnv* env, const ERL_NIF_TERM* arr, uint32_t cnt);

/* ------------------------------------------------------------------------
 * Lists (enif_wasm_get_list_cell and enif_wasm_is_empty_list are above)
 * ------------------------------------------------------------------------ */

/* 1 and *len set if term is a proper list, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_list_length)
int enif_wasm_get_list_length(ErlNifEnv* env, ERL_NIF_TERM term, uint32_t* len);

/* [head | tail]; tail need not be a list, as in Erlang. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_list_cell)
ERL_NIF_TERM enif_wasm_make_list_cell(ErlNifEnv* env, ERL_NIF_TERM head, ERL_NIF_TERM tail);

/* A proper list of the cnt handles at arr ([] for cnt 0); same limits as
 * enif_wasm_make_tuple_from_array. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_list_from_array)
ERL_NIF_TERM enif_wasm_make_list_from_array(ErlNifEnv* env, const ERL_NIF_TERM* arr, uint32_t cnt);

/* 1 and *list_out = list reversed if list is a proper list, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_reverse_list)
int enif_wasm_make_reverse_list(ErlNifEnv* env, ERL_NIF_TERM list, ERL_NIF_TERM* list_out);

/* ------------------------------------------------------------------------
 * Binaries, iolists and the external term format
 * ------------------------------------------------------------------------ */

/* The size bytes of bin starting at pos, sharing bin's memory; traps with
 * bad_argument if bin is not a binary or the range is past its end. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_sub_binary)
ERL_NIF_TERM enif_wasm_make_sub_binary(ErlNifEnv* env, ERL_NIF_TERM bin, uint32_t pos, uint32_t size);

/* 1 and *bin = a binary of the bytes of iolist term (a binary or a possibly
 * deep list of bytes and binaries), else 0. (erl_nif fills an ErlNifBinary;
 * read this one with enif_wasm_get_binary_bytes.) */
ERL_NIF_WASM_IMPORT(enif_wasm_inspect_iolist_as_binary)
int enif_wasm_inspect_iolist_as_binary(ErlNifEnv* env, ERL_NIF_TERM term, ERL_NIF_TERM* bin);

/* 1 and *bin = term_to_binary(term), else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_term_to_binary)
int enif_wasm_term_to_binary(ErlNifEnv* env, ERL_NIF_TERM term, ERL_NIF_TERM* bin);

/* Decodes the external term format at [data, data+size) into *term and
 * returns the bytes read, or 0 if they are not a valid encoding or are
 * compressed. Always decodes with ERL_NIF_BIN2TERM_SAFE: atoms that do not
 * exist yet fail. Traps with term_limit past 256 KiB of input. */
ERL_NIF_WASM_IMPORT(enif_wasm_binary_to_term)
uint32_t enif_wasm_binary_to_term(ErlNifEnv* env, const unsigned char* data, uint32_t size,
                                  ERL_NIF_TERM* term, uint32_t opts);

/* ------------------------------------------------------------------------
 * Maps
 * ------------------------------------------------------------------------ */

/* #{} */
ERL_NIF_WASM_IMPORT(enif_wasm_make_new_map)
ERL_NIF_TERM enif_wasm_make_new_map(ErlNifEnv* env);

/* 1 and *size = its number of keys if term is a map, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_map_size)
int enif_wasm_get_map_size(ErlNifEnv* env, ERL_NIF_TERM term, uint32_t* size);

/* 1 and *value set if map is a map holding key, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_get_map_value)
int enif_wasm_get_map_value(ErlNifEnv* env, ERL_NIF_TERM map, ERL_NIF_TERM key, ERL_NIF_TERM* value);

/* 1 and *map_out = map_in#{key => value} if map_in is a map, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_map_put)
int enif_wasm_make_map_put(ErlNifEnv* env, ERL_NIF_TERM map_in, ERL_NIF_TERM key, ERL_NIF_TERM value,
                           ERL_NIF_TERM* map_out);

/* 1 and *map_out = map_in#{key := value} if map_in holds key, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_map_update)
int enif_wasm_make_map_update(ErlNifEnv* env, ERL_NIF_TERM map_in, ERL_NIF_TERM key, ERL_NIF_TERM value,
                              ERL_NIF_TERM* map_out);

/* 1 and *map_out = maps:remove(key, map_in) if map_in is a map, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_make_map_remove)
int enif_wasm_make_map_remove(ErlNifEnv* env, ERL_NIF_TERM map_in, ERL_NIF_TERM key,
                              ERL_NIF_TERM* map_out);

/* 1 and *map_out = the map of keys[i] => values[i], else 0 (a duplicate
 * key, an invalid handle, cnt over 2048: building a map costs about 0.5 us
 * a pair, so larger maps are built with enif_wasm_make_map_put). */
ERL_NIF_WASM_IMPORT(enif_wasm_make_map_from_arrays)
int enif_wasm_make_map_from_arrays(ErlNifEnv* env, const ERL_NIF_TERM* keys, const ERL_NIF_TERM* values,
                                   uint32_t cnt, ERL_NIF_TERM* map_out);

/* Map iteration, in the order of erl_nif's iterators. Unlike erl_nif's, the
 * iterator is plain guest memory (a map handle and a position), so it needs
 * no destroy and can be copied; only reading a pair asks the host. A
 * position walks from -1 (before the first pair: is_head) to size (past
 * the last: is_tail). Sequential steps in either direction cost O(1). */
typedef struct {
    ERL_NIF_TERM map;
    int32_t size;
    int32_t index;
} ErlNifMapIterator;

typedef enum {
    ERL_NIF_MAP_ITERATOR_FIRST = 1,
    ERL_NIF_MAP_ITERATOR_LAST = 2
} ErlNifMapIteratorEntry;
#define ERL_NIF_MAP_ITERATOR_HEAD ERL_NIF_MAP_ITERATOR_FIRST
#define ERL_NIF_MAP_ITERATOR_TAIL ERL_NIF_MAP_ITERATOR_LAST

/* 1 and *key, *value = the pair at the iterator's position, else 0: the
 * iterator is at head or tail, or does not name a map of this call, or it
 * jumps far about a huge map. Stepping costs O(1); reaching a position more
 * than 65536 steps from the pair read last and from both ends of the map
 * costs O(size), which the host allows once per time slice (enough to walk
 * any map, which finds its place again after each slice) and refuses
 * otherwise. */
ERL_NIF_WASM_IMPORT(enif_wasm_map_iterator_get_pair)
int enif_wasm_map_iterator_get_pair(ErlNifEnv* env, const ErlNifMapIterator* iter, ERL_NIF_TERM* key,
                                    ERL_NIF_TERM* value);

/* 1 and iter positioned at the first (or last) pair if map is a map. */
static inline int enif_wasm_map_iterator_create(ErlNifEnv* env, ERL_NIF_TERM map, ErlNifMapIterator* iter,
                                                ErlNifMapIteratorEntry entry) {
    uint32_t size;
    if (!enif_wasm_get_map_size(env, map, &size)) return 0;
    iter->map = map;
    iter->size = (int32_t)size;
    iter->index = entry == ERL_NIF_MAP_ITERATOR_LAST ? (int32_t)size - 1 : 0;
    return 1;
}
static inline void enif_wasm_map_iterator_destroy(ErlNifEnv* env, ErlNifMapIterator* iter) {
    (void)env;
    (void)iter;
}
static inline int enif_wasm_map_iterator_is_head(ErlNifEnv* env, ErlNifMapIterator* iter) {
    (void)env;
    return iter->index < 0;
}
static inline int enif_wasm_map_iterator_is_tail(ErlNifEnv* env, ErlNifMapIterator* iter) {
    (void)env;
    return iter->index >= iter->size;
}
/* Steps forward; 1 if the iterator is now at a pair. */
static inline int enif_wasm_map_iterator_next(ErlNifEnv* env, ErlNifMapIterator* iter) {
    (void)env;
    if (iter->index < iter->size) iter->index++;
    return iter->index < iter->size;
}
/* Steps back; 1 if the iterator is now at a pair. */
static inline int enif_wasm_map_iterator_prev(ErlNifEnv* env, ErlNifMapIterator* iter) {
    (void)env;
    if (iter->index >= 0) iter->index--;
    return iter->index >= 0;
}

/* ------------------------------------------------------------------------
 * Type tests and comparison
 *
 * Each is_* returns 1 if the handle is valid and the term has that type.
 * ------------------------------------------------------------------------ */

ERL_NIF_WASM_IMPORT(enif_wasm_is_atom)
int enif_wasm_is_atom(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_binary)
int enif_wasm_is_binary(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_fun)
int enif_wasm_is_fun(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_list)
int enif_wasm_is_list(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_map)
int enif_wasm_is_map(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_number)
int enif_wasm_is_number(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_pid)
int enif_wasm_is_pid(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_port)
int enif_wasm_is_port(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_ref)
int enif_wasm_is_ref(ErlNifEnv* env, ERL_NIF_TERM term);
ERL_NIF_WASM_IMPORT(enif_wasm_is_tuple)
int enif_wasm_is_tuple(ErlNifEnv* env, ERL_NIF_TERM term);

/* 1 if term is the exception term made by enif_wasm_make_badarg,
 * enif_wasm_raise_exception or enif_wasm_make_double. */
ERL_NIF_WASM_IMPORT(enif_wasm_is_exception)
int enif_wasm_is_exception(ErlNifEnv* env, ERL_NIF_TERM term);

/* The ErlNifTermType of term, or 0 for an invalid handle. */
ERL_NIF_WASM_IMPORT(enif_wasm_term_type)
ErlNifTermType enif_wasm_term_type(ErlNifEnv* env, ERL_NIF_TERM term);

/* 1 if lhs and rhs are the same term (=:=), else 0 (also for an invalid
 * handle). erl_nif's version takes no env. */
ERL_NIF_WASM_IMPORT(enif_wasm_is_identical)
int enif_wasm_is_identical(ErlNifEnv* env, ERL_NIF_TERM lhs, ERL_NIF_TERM rhs);

/* -1, 0 or 1 as lhs is less than, equal to (==) or greater than rhs in
 * Erlang's term order. Traps with bad_handle for an invalid handle, since
 * every int is an answer. erl_nif's version takes no env. */
ERL_NIF_WASM_IMPORT(enif_wasm_compare)
int enif_wasm_compare(ErlNifEnv* env, ERL_NIF_TERM lhs, ERL_NIF_TERM rhs);

/* ------------------------------------------------------------------------
 * Exceptions
 * ------------------------------------------------------------------------ */

/* Returns the exception term: returning it from the exported function makes
 * the call raise error:reason in the caller. The latest of make_badarg and
 * raise_exception in a call decides the reason. */
ERL_NIF_WASM_IMPORT(enif_wasm_raise_exception)
ERL_NIF_TERM enif_wasm_raise_exception(ErlNifEnv* env, ERL_NIF_TERM reason);

/* 1 if an exception was made in this call, and *reason set (the atom
 * badarg for enif_wasm_make_badarg) when reason is not NULL; else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_has_pending_exception)
int enif_wasm_has_pending_exception(ErlNifEnv* env, ERL_NIF_TERM* reason);

/* ------------------------------------------------------------------------
 * Processes and references
 *
 * Pids are plain terms here (erl_nif's ErlNifPid points into the VM).
 * ------------------------------------------------------------------------ */

/* The pid of the process that made the call. */
ERL_NIF_WASM_IMPORT(enif_wasm_self)
ERL_NIF_TERM enif_wasm_self(ErlNifEnv* env);

/* Sends a copy of msg to the local process to_pid. 1 if it was sent, 0 if
 * to_pid is not a local pid, the process is not alive, or a handle is
 * invalid. A message may reach at most 65,536 terms (about 1 MiB of heap;
 * binaries over 64 bytes are shared, not copied),
 * and each send counts 16 bytes a term (64 at least) against the call's
 * 256 MiB; past either the call traps with term_limit. */
ERL_NIF_WASM_IMPORT(enif_wasm_send)
int enif_wasm_send(ErlNifEnv* env, ERL_NIF_TERM to_pid, ERL_NIF_TERM msg);

/* 1 if pid is a local pid of a live process, else 0. */
ERL_NIF_WASM_IMPORT(enif_wasm_is_process_alive)
int enif_wasm_is_process_alive(ErlNifEnv* env, ERL_NIF_TERM pid);

/* A new unique reference, as make_ref(). */
ERL_NIF_WASM_IMPORT(enif_wasm_make_ref)
ERL_NIF_TERM enif_wasm_make_ref(ErlNifEnv* env);

#ifdef __cplusplus
}
#endif

#endif /* ERL_NIF_WASM_H */
