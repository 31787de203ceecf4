//! Type tests, comparison and exceptions.

use rustler::sys::{self, ErlNifEnv, ErlNifTerm};
use rustler::Encoder;
use wasmtime::Caller;

use super::{call_env, operand, store_term, table, Exception, Resolved, StoreData};
use crate::atoms;
use crate::term_table::flat::Flat;

/// 1 if the handle names a term of the call and `test` holds for it.
fn test(
    caller: &Caller<'_, StoreData>,
    env: i32,
    term: i64,
    test: unsafe extern "C" fn(*mut ErlNifEnv, ErlNifTerm) -> i32,
) -> i32 {
    match table(caller).term(env, term) {
        // SAFETY: env and term belong to the NIF call on this thread.
        Some((env, term)) => (unsafe { test(env, term) } != 0) as i32,
        None => 0,
    }
}

macro_rules! type_tests {
    ($($name:ident => $enif:path;)*) => {$(
        pub fn $name(caller: Caller<'_, StoreData>, env: i32, term: i64) -> i32 {
            test(&caller, env, term, $enif)
        }
    )*};
}

type_tests! {
    is_atom => sys::enif_is_atom;
    is_binary => sys::enif_is_binary;
    is_empty_list => sys::enif_is_empty_list;
    is_fun => sys::enif_is_fun;
    is_list => sys::enif_is_list;
    is_map => sys::enif_is_map;
    is_number => sys::enif_is_number;
    is_pid => sys::enif_is_pid;
    is_port => sys::enif_is_port;
    is_ref => sys::enif_is_ref;
    is_tuple => sys::enif_is_tuple;
}

pub fn is_exception(caller: Caller<'_, StoreData>, env: i32, term: i64) -> i32 {
    let table = table(&caller);
    (table.env(env).is_some() && table.resolve(term) == Some(Resolved::Badarg)) as i32
}

pub fn term_type(caller: Caller<'_, StoreData>, env: i32, term: i64) -> i32 {
    match table(&caller).term(env, term) {
        // SAFETY: env and term belong to the NIF call on this thread.
        Some((env, term)) => unsafe { sys::enif_term_type(env, term) as i32 },
        None => 0,
    }
}

/// The terms of two handles, if both belong to the call. Walking them whole
/// is bounded: a term a guest made is within `flat::MAX_FLAT`, and one the
/// caller passed costs what comparing it in Erlang would.
fn pair(
    caller: &Caller<'_, StoreData>,
    env: i32,
    lhs: i64,
    rhs: i64,
) -> Option<(ErlNifTerm, ErlNifTerm)> {
    let table = table(caller);
    Some((table.term(env, lhs)?.1, table.term(env, rhs)?.1))
}

pub fn is_identical(caller: Caller<'_, StoreData>, env: i32, lhs: i64, rhs: i64) -> i32 {
    match pair(&caller, env, lhs, rhs) {
        // SAFETY: both terms belong to the NIF call on this thread.
        Some((l, r)) => (unsafe { sys::enif_is_identical(l, r) } != 0) as i32,
        None => 0,
    }
}

/// Every int is an answer here, so an invalid handle traps.
pub fn compare(
    caller: Caller<'_, StoreData>,
    env: i32,
    lhs: i64,
    rhs: i64,
) -> wasmtime::Result<i32> {
    const IMPORT: &str = "enif_wasm_compare";
    let (_, l) = operand(&caller, IMPORT, env, lhs)?;
    let (_, r) = operand(&caller, IMPORT, env, rhs)?;
    // SAFETY: both terms belong to the NIF call on this thread.
    Ok(unsafe { sys::enif_compare(l, r) }.signum())
}

pub fn make_badarg(caller: Caller<'_, StoreData>, env: i32) -> wasmtime::Result<i64> {
    call_env(&caller, env)?;
    Ok(table(&caller).raise(Exception::Badarg))
}

pub fn raise_exception(
    caller: Caller<'_, StoreData>,
    env: i32,
    reason: i64,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_raise_exception";
    operand(&caller, IMPORT, env, reason)?;
    Ok(table(&caller).raise(Exception::Raise(reason)))
}

pub fn has_pending_exception(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    let reason = match table(&caller).exception() {
        None => return Ok(0),
        Some(Exception::Raise(handle)) => match table(&caller).resolve(handle) {
            Some(Resolved::Term(reason)) => reason,
            _ => return Ok(0),
        },
        Some(Exception::Badarg) => {
            let lifetime = ();
            // SAFETY: the env of the slice running now, on this thread.
            let env = unsafe { rustler::Env::new(&lifetime, env) };
            atoms::badarg().encode(env).as_c_arg()
        }
    };
    if out == 0 {
        return Ok(1);
    }
    store_term(&mut caller, out, reason, Flat::UNKNOWN)
}
