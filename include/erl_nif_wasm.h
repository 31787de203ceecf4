/*
 * erl_nif_wasm.h - the guest side of wasm_runtime_nif's term ABI.
 *
 * A wasm function exported with the signature
 *
 *     ERL_NIF_TERM name(ErlNifEnv* env, ERL_NIF_TERM arg1, ..., ERL_NIF_TERM argN)
 *
 * can be called from Erlang with wasm_runtime_nif:call(Instance, name, [A1, ..., AN]).
 * Terms are opaque handles, valid only during the call that produced them;
 * the host checks every handle and pointer it is given (see docs/guest-abi.md).
 *
 * Build a guest with, for example:
 *   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--export-dynamic \
 *         -I include guest.c -o guest.wasm
 * and export the functions to call with __attribute__((export_name("..."))),
 * ERL_NIF_WASM_EXPORT, or -Wl,--export-all.
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

/* printf-style debug output of one value to the VM's standard output. Every
 * conversion in fmt formats that value; %s reads a string at the address
 * given as the integer. Return the number of bytes written, or -1. */
ERL_NIF_WASM_IMPORT(enif_printf_I)
int32_t enif_printf_I(const char* fmt, int32_t value);

ERL_NIF_WASM_IMPORT(enif_printf_L)
int64_t enif_printf_L(const char* fmt, int64_t value);

ERL_NIF_WASM_IMPORT(enif_printf_F)
int32_t enif_printf_F(const char* fmt, double value);

#ifdef __cplusplus
}
#endif

#endif /* ERL_NIF_WASM_H */
