//! Raw bindings: every import of `include/erl_nif_wasm.h`, with its exact
//! wasm signature.
//!
//! At the wasm level the env is an `i32`, a term handle an `i64` and every
//! pointer or length an `i32`. The host checks every env, handle, pointer and
//! length it is given: functions that answer yes/no or a size return 0 for
//! anything invalid, functions that return a new term trap the call.
//!
//! Functions that take no pointer cannot corrupt guest memory and are
//! declared `safe`; those that read or write guest memory are `unsafe`, as
//! the host writes wherever a pointer inside linear memory says.
//!
//! Use the safe wrappers ([`Env`](crate::Env), [`Term`](crate::Term), ...)
//! unless you need something they do not offer.

#![allow(missing_docs)]

/// The env of the current call (an `i32`; `ErlNifEnv*` in C).
pub type ErlNifEnv = i32;

/// A term handle (an `i64`; `ERL_NIF_TERM` in C).
pub type ErlNifTerm = u64;

/// The only character encoding supported (`ErlNifCharEncoding`).
pub const ERL_NIF_LATIN1: i32 = 1;

/// What [`enif_wasm_term_type`] returns (0 for an invalid handle).
pub const ERL_NIF_TERM_TYPE_ATOM: i32 = 1;
pub const ERL_NIF_TERM_TYPE_BITSTRING: i32 = 2;
pub const ERL_NIF_TERM_TYPE_FLOAT: i32 = 3;
pub const ERL_NIF_TERM_TYPE_FUN: i32 = 4;
pub const ERL_NIF_TERM_TYPE_INTEGER: i32 = 5;
pub const ERL_NIF_TERM_TYPE_LIST: i32 = 6;
pub const ERL_NIF_TERM_TYPE_MAP: i32 = 7;
pub const ERL_NIF_TERM_TYPE_PID: i32 = 8;
pub const ERL_NIF_TERM_TYPE_PORT: i32 = 9;
pub const ERL_NIF_TERM_TYPE_REFERENCE: i32 = 10;
pub const ERL_NIF_TERM_TYPE_TUPLE: i32 = 11;

/// The option of [`enif_wasm_binary_to_term`]; the host always decodes as if
/// it were given.
pub const ERL_NIF_BIN2TERM_SAFE: u32 = 0x2000_0000;

/// Most handles one array import (tuple, list) copies.
pub const MAX_ARRAY_TERMS: usize = 65536;

/// Most pairs [`enif_wasm_make_map_from_arrays`] takes.
pub const MAX_MAP_PAIRS: usize = 2048;

/// Where a map iterator starts (`ErlNifMapIteratorEntry`).
pub const ERL_NIF_MAP_ITERATOR_FIRST: i32 = 1;
pub const ERL_NIF_MAP_ITERATOR_LAST: i32 = 2;
pub const ERL_NIF_MAP_ITERATOR_HEAD: i32 = ERL_NIF_MAP_ITERATOR_FIRST;
pub const ERL_NIF_MAP_ITERATOR_TAIL: i32 = ERL_NIF_MAP_ITERATOR_LAST;

/// A map iterator: plain guest memory, a map handle and a position from -1
/// (before the first pair) to `size` (past the last). Only reading a pair
/// asks the host.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErlNifMapIterator {
    pub map: ErlNifTerm,
    pub size: i32,
    pub index: i32,
}

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    // ---- The seed's functions ----
    pub unsafe fn enif_wasm_get_int32(env: ErlNifEnv, term: ErlNifTerm, ip: *mut i32) -> i32;
    pub safe fn enif_wasm_make_int32(env: ErlNifEnv, value: i32) -> ErlNifTerm;
    pub safe fn enif_wasm_make_badarg(env: ErlNifEnv) -> ErlNifTerm;
    pub unsafe fn enif_wasm_get_list_cell(
        env: ErlNifEnv,
        list: ErlNifTerm,
        head: *mut ErlNifTerm,
        tail: *mut ErlNifTerm,
    ) -> i32;
    pub safe fn enif_wasm_is_empty_list(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub unsafe fn enif_wasm_get_binary_size(env: ErlNifEnv, bin: ErlNifTerm, size: *mut u32)
        -> i32;
    pub unsafe fn enif_wasm_get_binary_bytes(
        env: ErlNifEnv,
        bin: ErlNifTerm,
        offset: u32,
        nbytes: u32,
        dest: *mut u8,
    ) -> i32;
    pub unsafe fn enif_wasm_make_binary(env: ErlNifEnv, src: *const u8, nbytes: u32) -> ErlNifTerm;
    pub unsafe fn enif_printf_I(fmt: *const u8, value: i32) -> i32;
    pub unsafe fn enif_printf_L(fmt: *const u8, value: i64) -> i64;
    pub unsafe fn enif_printf_F(fmt: *const u8, value: f64) -> i32;

    // ---- Numbers ----
    pub unsafe fn enif_wasm_get_int(env: ErlNifEnv, term: ErlNifTerm, ip: *mut i32) -> i32;
    pub unsafe fn enif_wasm_get_uint(env: ErlNifEnv, term: ErlNifTerm, ip: *mut u32) -> i32;
    pub unsafe fn enif_wasm_get_int64(env: ErlNifEnv, term: ErlNifTerm, ip: *mut i64) -> i32;
    pub unsafe fn enif_wasm_get_uint64(env: ErlNifEnv, term: ErlNifTerm, ip: *mut u64) -> i32;
    pub unsafe fn enif_wasm_get_double(env: ErlNifEnv, term: ErlNifTerm, dp: *mut f64) -> i32;
    pub safe fn enif_wasm_make_int(env: ErlNifEnv, i: i32) -> ErlNifTerm;
    pub safe fn enif_wasm_make_uint(env: ErlNifEnv, i: u32) -> ErlNifTerm;
    pub safe fn enif_wasm_make_int64(env: ErlNifEnv, i: i64) -> ErlNifTerm;
    pub safe fn enif_wasm_make_uint64(env: ErlNifEnv, i: u64) -> ErlNifTerm;
    pub safe fn enif_wasm_make_double(env: ErlNifEnv, d: f64) -> ErlNifTerm;

    // ---- Atoms and strings (Latin-1) ----
    pub unsafe fn enif_wasm_make_atom_len(env: ErlNifEnv, name: *const u8, len: u32) -> ErlNifTerm;
    pub unsafe fn enif_wasm_make_existing_atom_len(
        env: ErlNifEnv,
        name: *const u8,
        len: u32,
        atom: *mut ErlNifTerm,
        encoding: i32,
    ) -> i32;
    pub unsafe fn enif_wasm_get_atom(
        env: ErlNifEnv,
        atom: ErlNifTerm,
        buf: *mut u8,
        size: u32,
        encoding: i32,
    ) -> i32;
    pub unsafe fn enif_wasm_get_atom_length(
        env: ErlNifEnv,
        atom: ErlNifTerm,
        len: *mut u32,
        encoding: i32,
    ) -> i32;
    pub unsafe fn enif_wasm_make_string_len(
        env: ErlNifEnv,
        string: *const u8,
        len: u32,
        encoding: i32,
    ) -> ErlNifTerm;
    pub unsafe fn enif_wasm_get_string(
        env: ErlNifEnv,
        list: ErlNifTerm,
        buf: *mut u8,
        size: u32,
        encoding: i32,
    ) -> i32;

    // ---- Tuples ----
    pub unsafe fn enif_wasm_get_tuple(
        env: ErlNifEnv,
        term: ErlNifTerm,
        arity: *mut i32,
        array: *mut ErlNifTerm,
        capacity: u32,
    ) -> i32;
    pub unsafe fn enif_wasm_make_tuple_from_array(
        env: ErlNifEnv,
        arr: *const ErlNifTerm,
        cnt: u32,
    ) -> ErlNifTerm;

    // ---- Lists ----
    pub unsafe fn enif_wasm_get_list_length(env: ErlNifEnv, term: ErlNifTerm, len: *mut u32)
        -> i32;
    pub safe fn enif_wasm_make_list_cell(
        env: ErlNifEnv,
        head: ErlNifTerm,
        tail: ErlNifTerm,
    ) -> ErlNifTerm;
    pub unsafe fn enif_wasm_make_list_from_array(
        env: ErlNifEnv,
        arr: *const ErlNifTerm,
        cnt: u32,
    ) -> ErlNifTerm;
    pub unsafe fn enif_wasm_make_reverse_list(
        env: ErlNifEnv,
        list: ErlNifTerm,
        list_out: *mut ErlNifTerm,
    ) -> i32;

    // ---- Binaries, iolists and the external term format ----
    pub safe fn enif_wasm_make_sub_binary(
        env: ErlNifEnv,
        bin: ErlNifTerm,
        pos: u32,
        size: u32,
    ) -> ErlNifTerm;
    pub unsafe fn enif_wasm_inspect_iolist_as_binary(
        env: ErlNifEnv,
        term: ErlNifTerm,
        bin: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_term_to_binary(
        env: ErlNifEnv,
        term: ErlNifTerm,
        bin: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_binary_to_term(
        env: ErlNifEnv,
        data: *const u8,
        size: u32,
        term: *mut ErlNifTerm,
        opts: u32,
    ) -> u32;

    // ---- Maps ----
    pub safe fn enif_wasm_make_new_map(env: ErlNifEnv) -> ErlNifTerm;
    pub unsafe fn enif_wasm_get_map_size(env: ErlNifEnv, term: ErlNifTerm, size: *mut u32) -> i32;
    pub unsafe fn enif_wasm_get_map_value(
        env: ErlNifEnv,
        map: ErlNifTerm,
        key: ErlNifTerm,
        value: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_make_map_put(
        env: ErlNifEnv,
        map_in: ErlNifTerm,
        key: ErlNifTerm,
        value: ErlNifTerm,
        map_out: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_make_map_update(
        env: ErlNifEnv,
        map_in: ErlNifTerm,
        key: ErlNifTerm,
        value: ErlNifTerm,
        map_out: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_make_map_remove(
        env: ErlNifEnv,
        map_in: ErlNifTerm,
        key: ErlNifTerm,
        map_out: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_make_map_from_arrays(
        env: ErlNifEnv,
        keys: *const ErlNifTerm,
        values: *const ErlNifTerm,
        cnt: u32,
        map_out: *mut ErlNifTerm,
    ) -> i32;
    pub unsafe fn enif_wasm_map_iterator_get_pair(
        env: ErlNifEnv,
        iter: *const ErlNifMapIterator,
        key: *mut ErlNifTerm,
        value: *mut ErlNifTerm,
    ) -> i32;

    // ---- Type tests and comparison ----
    pub safe fn enif_wasm_is_atom(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_binary(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_fun(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_list(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_map(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_number(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_pid(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_port(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_ref(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_tuple(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_exception(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_term_type(env: ErlNifEnv, term: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_identical(env: ErlNifEnv, lhs: ErlNifTerm, rhs: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_compare(env: ErlNifEnv, lhs: ErlNifTerm, rhs: ErlNifTerm) -> i32;

    // ---- Exceptions ----
    pub safe fn enif_wasm_raise_exception(env: ErlNifEnv, reason: ErlNifTerm) -> ErlNifTerm;
    pub unsafe fn enif_wasm_has_pending_exception(env: ErlNifEnv, reason: *mut ErlNifTerm) -> i32;

    // ---- Processes and references ----
    pub safe fn enif_wasm_self(env: ErlNifEnv) -> ErlNifTerm;
    pub safe fn enif_wasm_send(env: ErlNifEnv, to_pid: ErlNifTerm, msg: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_is_process_alive(env: ErlNifEnv, pid: ErlNifTerm) -> i32;
    pub safe fn enif_wasm_make_ref(env: ErlNifEnv) -> ErlNifTerm;
}

// ---- The header's inline map-iterator functions, in Rust ----

/// Positions `iter` at the first (or last) pair of `map`; 1 if `map` is a map.
///
/// # Safety
/// `iter` must be valid for writes.
pub unsafe fn enif_wasm_map_iterator_create(
    env: ErlNifEnv,
    map: ErlNifTerm,
    iter: *mut ErlNifMapIterator,
    entry: i32,
) -> i32 {
    let mut size = 0u32;
    if enif_wasm_get_map_size(env, map, &mut size) == 0 {
        return 0;
    }
    let size = size as i32;
    let index = if entry == ERL_NIF_MAP_ITERATOR_LAST {
        size - 1
    } else {
        0
    };
    *iter = ErlNifMapIterator { map, size, index };
    1
}

/// Nothing to free: the iterator is plain guest memory.
pub fn enif_wasm_map_iterator_destroy(_env: ErlNifEnv, _iter: &mut ErlNifMapIterator) {}

/// 1 if the iterator is before the first pair.
pub fn enif_wasm_map_iterator_is_head(_env: ErlNifEnv, iter: &ErlNifMapIterator) -> i32 {
    (iter.index < 0) as i32
}

/// 1 if the iterator is past the last pair.
pub fn enif_wasm_map_iterator_is_tail(_env: ErlNifEnv, iter: &ErlNifMapIterator) -> i32 {
    (iter.index >= iter.size) as i32
}

/// Steps forward; 1 if the iterator is now at a pair.
pub fn enif_wasm_map_iterator_next(_env: ErlNifEnv, iter: &mut ErlNifMapIterator) -> i32 {
    if iter.index < iter.size {
        iter.index += 1;
    }
    (iter.index < iter.size) as i32
}

/// Steps back; 1 if the iterator is now at a pair.
pub fn enif_wasm_map_iterator_prev(_env: ErlNifEnv, iter: &mut ErlNifMapIterator) -> i32 {
    if iter.index >= 0 {
        iter.index -= 1;
    }
    (iter.index >= 0) as i32
}
