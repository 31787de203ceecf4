//! The calling process, messages and references.

use std::mem::MaybeUninit;

use rustler::sys::{self, ErlNifEnv, ErlNifPid, ErlNifTerm};
use wasmtime::Caller;

use super::{call_env, new_term, table, HostState};
use crate::trap::HostTrap;

/// Largest message a guest may send, in bytes of the receiver's heap.
/// Sending copies the message, so the time a send holds the scheduler
/// grows with it: 8 MiB takes a few milliseconds.
pub const MAX_MESSAGE_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes charged to the heap budget for any message, however small: the
/// receiver keeps a message record for each.
const MESSAGE_OVERHEAD: u64 = 64;

pub fn self_pid(mut caller: Caller<'_, HostState>, env: i32) -> wasmtime::Result<i64> {
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

pub fn send(caller: Caller<'_, HostState>, env: i32, to: i64, msg: i64) -> wasmtime::Result<i32> {
    let table = table(&caller);
    let (Some((env, to)), Some((_, msg))) = (table.term(env, to), table.term(env, msg)) else {
        return Ok(0);
    };
    let Some(pid) = local_pid(env, to) else {
        return Ok(0);
    };
    let limit = MAX_MESSAGE_BYTES.min(table.heap_left());
    let size = heap_size(env, msg, limit).ok_or_else(|| {
        HostTrap::new(
            "term_limit",
            format!(
                "enif_wasm_send: a message may take at most {MAX_MESSAGE_BYTES} bytes, \
                 and a call {} bytes of terms",
                super::MAX_HEAP_BYTES_PER_CALL
            ),
        )
    })?;
    table.charge(size + MESSAGE_OVERHEAD)?;
    // SAFETY: env is the process-bound env of the NIF call on this thread;
    // a null msg_env makes enif_send copy msg.
    Ok((unsafe { sys::enif_send(env, &pid, std::ptr::null_mut(), msg) } != 0) as i32)
}

/// About how many bytes a copy of `term` takes on a heap, if no more than
/// `limit`. Binaries over 64 bytes are shared, not copied.
fn heap_size(env: *mut ErlNifEnv, term: ErlNifTerm, limit: u64) -> Option<u64> {
    const WORD: u64 = 8;
    let mut size = 0u64;
    let mut pending = vec![term];
    while let Some(term) = pending.pop() {
        let mut add = |bytes: u64| {
            size += bytes;
            size <= limit
        };
        // SAFETY (for each enif call): env and the terms reached from term
        // belong to the NIF call on this thread.
        let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
        let mut arity = 0;
        let mut elements: *const ErlNifTerm = std::ptr::null();
        let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
        let fits = if unsafe { sys::enif_get_list_cell(env, term, &mut head, &mut tail) } != 0 {
            pending.extend([head, tail]);
            add(2 * WORD)
        } else if unsafe { sys::enif_get_tuple(env, term, &mut arity, &mut elements) } != 0 {
            if arity > 0 {
                // SAFETY: enif_get_tuple points elements at arity terms.
                pending.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(elements, arity as usize)
                });
            }
            add((arity as u64 + 1) * WORD)
        } else if unsafe { sys::enif_inspect_binary(env, term, bin.as_mut_ptr()) } != 0 {
            // SAFETY: filled by the call above.
            let bytes = unsafe { bin.assume_init() }.size as u64;
            add(if bytes <= 64 {
                bytes + 2 * WORD
            } else {
                6 * WORD
            })
        } else if unsafe { sys::enif_is_map(env, term) } != 0 {
            let mut pairs = 0usize;
            unsafe { sys::enif_get_map_size(env, term, &mut pairs) };
            if !add((2 * pairs as u64 + 4) * WORD) {
                return None;
            }
            push_map_pairs(env, term, &mut pending);
            true
        } else {
            // Numbers, atoms, pids, ports, refs and funs: immediates or a
            // few words, funs with their environment. Bignums and funs are
            // sized by their external form.
            add(external_size(env, term).min(limit + 1).max(WORD))
        };
        if !fits {
            return None;
        }
    }
    Some(size)
}

fn push_map_pairs(env: *mut ErlNifEnv, map: ErlNifTerm, pending: &mut Vec<ErlNifTerm>) {
    // SAFETY: an iterator is plain memory until enif fills it; env and map
    // belong to the NIF call on this thread, and map is a map. The
    // iterator is destroyed before it goes out of scope.
    unsafe {
        let mut iter: sys::ErlNifMapIterator = MaybeUninit::zeroed().assume_init();
        if sys::enif_map_iterator_create(
            env,
            map,
            &mut iter,
            sys::ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_HEAD,
        ) == 0
        {
            return;
        }
        let (mut key, mut value) = (ErlNifTerm::default(), ErlNifTerm::default());
        while sys::enif_map_iterator_get_pair(env, &mut iter, &mut key, &mut value) != 0 {
            pending.extend([key, value]);
            sys::enif_map_iterator_next(env, &mut iter);
        }
        sys::enif_map_iterator_destroy(env, &mut iter);
    }
}

/// Size of a leaf term's external form; immediates are a few bytes.
fn external_size(env: *mut ErlNifEnv, term: ErlNifTerm) -> u64 {
    // SAFETY: env and term belong to the NIF call on this thread.
    unsafe {
        if sys::enif_is_atom(env, term) != 0 || sys::enif_is_pid(env, term) != 0 {
            return 0;
        }
        let mut small = 0i64;
        if sys::enif_get_int64(env, term, &mut small) != 0 {
            return 0;
        }
        let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
        if sys::enif_term_to_binary(env, term, bin.as_mut_ptr()) == 0 {
            return 0;
        }
        let mut bin = bin.assume_init();
        let size = bin.size as u64;
        sys::enif_release_binary(&mut bin);
        size
    }
}

pub fn is_process_alive(caller: Caller<'_, HostState>, env: i32, pid: i64) -> i32 {
    let Some((env, pid)) = table(&caller).term(env, pid) else {
        return 0;
    };
    match local_pid(env, pid) {
        // SAFETY: env belongs to the NIF call on this thread.
        Some(pid) => (unsafe { sys::enif_is_process_alive(env, &pid) } != 0) as i32,
        None => 0,
    }
}

pub fn make_ref(mut caller: Caller<'_, HostState>, env: i32) -> wasmtime::Result<i64> {
    let env = call_env(&caller, env)?;
    // SAFETY: env belongs to the NIF call on this thread.
    let reference = unsafe { sys::enif_make_ref(env) };
    new_term(&mut caller, reference)
}
