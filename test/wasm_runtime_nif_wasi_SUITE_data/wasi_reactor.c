/* A WASI reactor (built with -mexec-model=reactor): a library with
 * wasi-libc, set up by _initialize, that imports WASI, the term ABI and an
 * Erlang fun at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erl_nif_wasm.h"

extern int host_add(int a, int b) __attribute__((import_module("env"), import_name("host_add")));

static int counter = -1;

/* Runs in _initialize: a call finding 100 proves it ran, once. */
__attribute__((constructor)) static void set_up(void) { counter = 100; }

ERL_NIF_WASM_EXPORT(bump) int bump(int by) {
    counter += by;
    printf("counter %d\n", counter);
    fflush(stdout);
    return counter;
}

/* Writes `lines` lines, each flushed: a call that spans many slices. */
ERL_NIF_WASM_EXPORT(chatter) int chatter(int lines) {
    for (int i = 0; i < lines; i++) {
        printf("line %d\n", i);
        fflush(stdout);
    }
    return lines;
}

ERL_NIF_WASM_EXPORT(complain) void complain(void) {
    fprintf(stderr, "something is off\n");
}

ERL_NIF_WASM_EXPORT(greeting_length) int greeting_length(void) {
    const char *greeting = getenv("GREETING");
    return greeting ? (int)strlen(greeting) : -1;
}

ERL_NIF_WASM_EXPORT(add_via_host) int add_via_host(int a, int b) { return host_add(a, b); }

ERL_NIF_WASM_EXPORT(tag) ERL_NIF_TERM tag(ErlNifEnv *env, ERL_NIF_TERM term) {
    ERL_NIF_TERM pair[2] = {enif_wasm_make_atom_len(env, "tagged", 6), term};
    return enif_wasm_make_tuple_from_array(env, pair, 2);
}

ERL_NIF_WASM_EXPORT(quit) void quit(int status) { exit(status); }

/* Sleeps `ms` milliseconds (a WASI clock wait, poll_oneoff). */
ERL_NIF_WASM_EXPORT(snooze) int snooze(int ms) {
    usleep((useconds_t)ms * 1000);
    return ms;
}

/* Copies a binary into memory malloc gave and back out: a copy of more than
 * 256 KiB yields inside the term ABI, which a WASI call must survive. */
ERL_NIF_WASM_EXPORT(echo_binary) ERL_NIF_TERM echo_binary(ErlNifEnv *env, ERL_NIF_TERM bin) {
    uint32_t size;
    if (!enif_wasm_get_binary_size(env, bin, &size)) return enif_wasm_make_badarg(env);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy || !enif_wasm_get_binary_bytes(env, bin, 0, size, copy)) return enif_wasm_make_badarg(env);
    ERL_NIF_TERM out = enif_wasm_make_binary(env, copy, size);
    free(copy);
    return out;
}
