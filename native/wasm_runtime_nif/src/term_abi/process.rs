//! The calling process, messages and references.

use std::mem::MaybeUninit;

use rustler::sys::{self, ErlNifEnv, ErlNifPid, ErlNifTerm};
use wasmtime::Caller;

use super::{call_env, new_term, table, StoreData};
use crate::error::HostTrap;
use crate::term_table::flat;

/// Largest message a guest may send, in terms reached (about 1 MiB of the
/// receiver's heap; binaries over 64 bytes are shared, not copied). Sending
/// measures and copies the message while the scheduler waits: 65,536 terms
/// take about 1.5 ms, measured.
pub const MAX_MESSAGE_TERMS: u64 = 1 << 16;

/// Bytes charged to the heap budget for any message, however small: the
/// receiver keeps a message record for each.
const MESSAGE_OVERHEAD: u64 = 64;

pub fn self_pid(mut caller: Caller<'_, StoreData>, env: i32) -> wasmtime::Result<i64> {
    let env = call_env(&caller, env)?;
    let mut pid = MaybeUninit::<ErlNifPid>::uninit();
    // SAFETY: env is the process-bound env of the NIF call on this thread,
    // so enif_self fills pid.
    let term = unsafe {
        sys::enif_self(env, pid.as_mut_ptr());
        sys::enif_make_pid(env, pid.assume_init())
    };
    new_term(&mut caller, term)
}

fn local_pid(env: *mut ErlNifEnv, term: ErlNifTerm) -> Option<ErlNifPid> {
    let mut pid = MaybeUninit::<ErlNifPid>::uninit();
    // SAFETY: env and term belong to the NIF call on this thread.
    (unsafe { sys::enif_get_local_pid(env, term, pid.as_mut_ptr()) } != 0)
        // SAFETY: filled by the call above.
        .then(|| unsafe { pid.assume_init() })
}

pub fn send(caller: Caller<'_, StoreData>, env: i32, to: i64, msg: i64) -> wasmtime::Result<i32> {
    let table = table(&caller);
    let (Some((env_ptr, to)), Some((_, msg_term))) = (table.term(env, to), table.term(env, msg))
    else {
        return Ok(0);
    };
    let Some(pid) = local_pid(env_ptr, to) else {
        return Ok(0);
    };
    // Sending copies the message flattened, shared subterms and all; only
    // binaries larger than 64 bytes are shared rather than copied.
    let size = flat::of_handle(table, env_ptr, msg)
        .filter(|size| size.nodes <= MAX_MESSAGE_TERMS)
        .ok_or_else(|| {
            HostTrap::new(
                "term_limit",
                format!(
                    "enif_wasm_send: a message may reach at most {MAX_MESSAGE_TERMS} terms, \
                     counting shared subterms each time"
                ),
            )
        })?;
    table.charge(16 * size.nodes + MESSAGE_OVERHEAD)?;
    // SAFETY: env is the process-bound env of the NIF call on this thread;
    // a null msg_env makes enif_send copy msg.
    Ok((unsafe { sys::enif_send(env_ptr, &pid, std::ptr::null_mut(), msg_term) } != 0) as i32)
}

pub fn is_process_alive(caller: Caller<'_, StoreData>, env: i32, pid: i64) -> i32 {
    let Some((env, pid)) = table(&caller).term(env, pid) else {
        return 0;
    };
    match local_pid(env, pid) {
        // SAFETY: env belongs to the NIF call on this thread.
        Some(pid) => (unsafe { sys::enif_is_process_alive(env, &pid) } != 0) as i32,
        None => 0,
    }
}

pub fn make_ref(mut caller: Caller<'_, StoreData>, env: i32) -> wasmtime::Result<i64> {
    let env = call_env(&caller, env)?;
    // SAFETY: env belongs to the NIF call on this thread.
    let reference = unsafe { sys::enif_make_ref(env) };
    new_term(&mut caller, reference)
}
