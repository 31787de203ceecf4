//! Integers and floats. Integers beyond 64 bits (bignums) are refused by
//! every getter; a guest reads them through `enif_wasm_term_to_binary`.

use rustler::sys::{self, ErlNifEnv, ErlNifTerm};
use wasmtime::Caller;

use super::{call_env, new_term, store_bytes, table, StoreData};

/// Reads a term with `read` and stores the result at `out`: 1, or 0 when
/// the handle, the term or the out-pointer is not right.
fn get<const N: usize>(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    term: i64,
    out: i32,
    read: impl FnOnce(*mut ErlNifEnv, ErlNifTerm) -> Option<[u8; N]>,
) -> i32 {
    let Some((env, term)) = table(&caller).term(env, term) else {
        return 0;
    };
    match read(env, term) {
        Some(bytes) => store_bytes(&mut caller, out, &bytes) as i32,
        None => 0,
    }
}

/// Makes a term with `build` in the call's env.
fn make(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    build: impl FnOnce(*mut ErlNifEnv) -> ErlNifTerm,
) -> wasmtime::Result<i64> {
    let env = call_env(&caller, env)?;
    new_term(&mut caller, build(env))
}

// SAFETY (for every enif call below): env and term belong to the NIF call
// running on this thread, as `get` and `make` checked.

pub fn get_int(caller: Caller<'_, StoreData>, env: i32, term: i64, out: i32) -> i32 {
    get(caller, env, term, out, |env, term| {
        let mut value = 0;
        (unsafe { sys::enif_get_int(env, term, &mut value) } != 0).then(|| value.to_le_bytes())
    })
}

pub fn get_uint(caller: Caller<'_, StoreData>, env: i32, term: i64, out: i32) -> i32 {
    get(caller, env, term, out, |env, term| {
        let mut value = 0;
        (unsafe { sys::enif_get_uint(env, term, &mut value) } != 0).then(|| value.to_le_bytes())
    })
}

pub fn get_int64(caller: Caller<'_, StoreData>, env: i32, term: i64, out: i32) -> i32 {
    get(caller, env, term, out, |env, term| {
        let mut value = 0;
        (unsafe { sys::enif_get_int64(env, term, &mut value) } != 0).then(|| value.to_le_bytes())
    })
}

pub fn get_uint64(caller: Caller<'_, StoreData>, env: i32, term: i64, out: i32) -> i32 {
    get(caller, env, term, out, |env, term| {
        let mut value = 0;
        (unsafe { sys::enif_get_uint64(env, term, &mut value) } != 0).then(|| value.to_le_bytes())
    })
}

pub fn get_double(caller: Caller<'_, StoreData>, env: i32, term: i64, out: i32) -> i32 {
    get(caller, env, term, out, |env, term| {
        let mut value = 0.0;
        (unsafe { sys::enif_get_double(env, term, &mut value) } != 0).then(|| value.to_le_bytes())
    })
}

pub fn make_int(caller: Caller<'_, StoreData>, env: i32, value: i32) -> wasmtime::Result<i64> {
    make(caller, env, |env| unsafe { sys::enif_make_int(env, value) })
}

pub fn make_uint(caller: Caller<'_, StoreData>, env: i32, value: i32) -> wasmtime::Result<i64> {
    make(caller, env, |env| unsafe {
        sys::enif_make_uint(env, value as u32)
    })
}

pub fn make_int64(caller: Caller<'_, StoreData>, env: i32, value: i64) -> wasmtime::Result<i64> {
    make(caller, env, |env| unsafe {
        sys::enif_make_int64(env, value)
    })
}

pub fn make_uint64(caller: Caller<'_, StoreData>, env: i32, value: i64) -> wasmtime::Result<i64> {
    make(caller, env, |env| unsafe {
        sys::enif_make_uint64(env, value as u64)
    })
}

/// As in erl_nif, a float that is not finite gives the badarg exception.
pub fn make_double(caller: Caller<'_, StoreData>, env: i32, value: f64) -> wasmtime::Result<i64> {
    if !value.is_finite() {
        return super::types::make_badarg(caller, env);
    }
    make(caller, env, |env| unsafe {
        sys::enif_make_double(env, value)
    })
}
