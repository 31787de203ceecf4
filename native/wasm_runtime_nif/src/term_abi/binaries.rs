//! Binaries, iolists and the external term format.

use std::mem::MaybeUninit;
use std::ptr;

use rustler::sys::{self, ErlNifBinary, ErlNifEnv, ErlNifTerm};
use rustler::{Env, OwnedBinary};
use wasmtime::Caller;

use super::{
    bad_argument, bad_pointer, call_env, guest_range, memory_range, new_term, operand, store_bytes,
    store_term, table, yield_now, StoreData,
};
use crate::error::HostTrap;
use crate::term_table::flat::{self, Flat};

/// Bytes copied between guest memory and a binary before the copy yields
/// to the scheduler: about 25 µs of `memcpy`, so that copying a large
/// binary does not hold a scheduler for milliseconds.
pub const COPY_CHUNK: usize = 256 * 1024;

/// The bytes of a binary term, borrowed for as long as the call's env lives.
///
/// # Safety
/// `env` and `term` must belong to the NIF call running on this thread, and
/// the slice must not outlive that call's current slice.
unsafe fn binary_bytes<'a>(env: *mut ErlNifEnv, term: ErlNifTerm) -> Option<&'a [u8]> {
    let mut bin = MaybeUninit::<ErlNifBinary>::uninit();
    if sys::enif_inspect_binary(env, term, bin.as_mut_ptr()) == 0 {
        return None;
    }
    let bin = bin.assume_init();
    if bin.size == 0 {
        return Some(&[]);
    }
    Some(std::slice::from_raw_parts(bin.data, bin.size))
}

pub fn get_binary_size(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    bin: i64,
    size_out: i32,
) -> i32 {
    let Some((env, bin)) = table(&caller).term(env, bin) else {
        return 0;
    };
    // SAFETY: env and bin belong to the NIF call running on this thread.
    let Some(bytes) = (unsafe { binary_bytes(env, bin) }) else {
        return 0;
    };
    let Ok(size) = u32::try_from(bytes.len()) else {
        return 0;
    };
    store_bytes(&mut caller, size_out, &size.to_le_bytes()) as i32
}

pub async fn get_binary_bytes(
    mut caller: Caller<'_, StoreData>,
    (env, bin, offset, nbytes, dest): (i32, i64, i32, i32, i32),
) -> i32 {
    let Some((env_ptr, term)) = table(&caller).term(env, bin) else {
        return 0;
    };
    // SAFETY: env and term belong to the NIF call running on this thread.
    let Some(bytes) = (unsafe { binary_bytes(env_ptr, term) }) else {
        return 0;
    };
    let Some(src) = guest_range(bytes, offset, nbytes as u32 as u64) else {
        return 0;
    };
    let Some((memory, dst)) = memory_range(&caller, dest, src.len() as u64) else {
        return 0;
    };
    let mut done = 0;
    loop {
        // The binary is found again after every yield: the process may
        // have been garbage collected, and the table holds its new place.
        let Some((env_ptr, term)) = table(&caller).term(env, bin) else {
            return 0;
        };
        // SAFETY: as above, in the env of the current slice.
        let Some(bytes) = (unsafe { binary_bytes(env_ptr, term) }) else {
            return 0;
        };
        let chunk = (src.len() - done).min(COPY_CHUNK);
        let mem = memory.data_mut(&mut caller);
        mem[dst.start + done..dst.start + done + chunk]
            .copy_from_slice(&bytes[src.start + done..src.start + done + chunk]);
        done += chunk;
        if done == src.len() {
            return 1;
        }
        yield_now().await;
    }
}

pub async fn make_binary(
    mut caller: Caller<'_, StoreData>,
    (env, src, nbytes): (i32, i32, i32),
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_binary";
    let env_ptr = call_env(&caller, env)?;
    let (memory, range) = memory_range(&caller, src, nbytes as u32 as u64)
        .ok_or_else(|| bad_pointer(IMPORT, src, nbytes as u32 as u64))?;
    table(&caller).charge(range.len() as u64)?;
    if range.len() <= COPY_CHUNK {
        let mut term = ErlNifTerm::default();
        // SAFETY: env belongs to the NIF call running on this thread; the
        // buffer returned holds exactly `range.len()` bytes.
        unsafe {
            let dst = sys::enif_make_new_binary(env_ptr, range.len(), &mut term);
            if dst.is_null() {
                return Err(alloc_failed().into());
            }
            let mem = memory.data(&caller);
            ptr::copy_nonoverlapping(mem[range.clone()].as_ptr(), dst, range.len());
        }
        return new_term(&mut caller, term);
    }
    // A large binary is filled in chunks across slices. It is a binary of
    // our own until it is complete, and becomes a term only then, in the
    // env of the slice that finishes it.
    // Rustler aborts on a failed allocation, as the VM itself does; the
    // per-call budget keeps the size within reason.
    let mut binary = OwnedBinary::new(range.len());
    let mut done = 0;
    while done < range.len() {
        let chunk = (range.len() - done).min(COPY_CHUNK);
        let mem = memory.data(&caller);
        binary.as_mut_slice()[done..done + chunk]
            .copy_from_slice(&mem[range.start + done..range.start + done + chunk]);
        done += chunk;
        if done < range.len() {
            yield_now().await;
        }
    }
    let env_ptr = call_env(&caller, env)?;
    new_term(&mut caller, owned_binary_term(env_ptr, binary))
}

fn alloc_failed() -> HostTrap {
    HostTrap::new("alloc_failed", "cannot allocate the binary")
}

/// Turns a binary of our own into a term of the call.
fn owned_binary_term(env: *mut ErlNifEnv, binary: OwnedBinary) -> ErlNifTerm {
    let lifetime = ();
    // SAFETY: the env of the slice running now, on this thread.
    let env = unsafe { Env::new(&lifetime, env) };
    binary.release(env).to_term(env).as_c_arg()
}

pub fn make_sub_binary(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    bin: i64,
    pos: i32,
    size: i32,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_sub_binary";
    let (env, bin) = operand(&caller, IMPORT, env, bin)?;
    let (pos, size) = (pos as u32 as usize, size as u32 as usize);
    // SAFETY: env and bin belong to the NIF call on this thread.
    let len = unsafe { binary_bytes(env, bin) }
        .ok_or_else(|| bad_argument(IMPORT, "not a binary"))?
        .len();
    if pos.checked_add(size).is_none_or(|end| end > len) {
        return Err(bad_argument(
            IMPORT,
            format!("[{pos}, +{size}) is past the end of a binary of {len} bytes"),
        )
        .into());
    }
    // SAFETY: as above; the range lies inside the binary.
    let sub = unsafe { sys::enif_make_sub_binary(env, bin, pos, size) };
    new_term(&mut caller, sub)
}

/// The env and term of a handle that erl_nif is about to flatten into a
/// binary: if a guest made it, its binaries must fit in what is left of the
/// call's heap budget. `None` for an invalid handle.
fn walkable(
    caller: &Caller<'_, StoreData>,
    import: &str,
    env: i32,
    handle: i64,
) -> wasmtime::Result<Option<(*mut ErlNifEnv, ErlNifTerm)>> {
    let table = table(caller);
    let Some((env_ptr, term)) = table.term(env, handle) else {
        return Ok(None);
    };
    // A term the caller passed has no size recorded and is not measured:
    // flattening it costs what the caller's data costs, and the result is
    // charged when it is made. A guest's own term is within `MAX_FLAT`.
    match table.flat(handle) {
        Some(size) if size.bytes > table.heap_left() => Err(flat::too_large(import).into()),
        _ => Ok(Some((env_ptr, term))),
    }
}

/// The flat binary of an iolist. A binary is its own answer; anything else
/// is copied into a new binary, charged to the heap budget.
pub fn inspect_iolist_as_binary(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    term: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    const IMPORT: &str = "enif_wasm_inspect_iolist_as_binary";
    let Some((env, term)) = walkable(&caller, IMPORT, env, term)? else {
        return Ok(0);
    };
    // SAFETY: env and term belong to the NIF call on this thread.
    if let Some(bytes) = unsafe { binary_bytes(env, term) } {
        let size = Flat::binary(bytes.len() as u64);
        return store_term(&mut caller, out, term, size);
    }
    let mut bin = MaybeUninit::<ErlNifBinary>::uninit();
    // SAFETY: as above.
    if unsafe { sys::enif_inspect_iolist_as_binary(env, term, bin.as_mut_ptr()) } == 0 {
        return Ok(0);
    }
    // SAFETY: filled by the call above; a temporary of the env, which
    // enif_make_binary copies into a binary term.
    let mut bin = unsafe { bin.assume_init() };
    table(&caller).charge(bin.size as u64)?;
    let size = Flat::binary(bin.size as u64);
    // SAFETY: as above.
    let flat = unsafe { sys::enif_make_binary(env, &mut bin) };
    store_term(&mut caller, out, flat, size)
}

pub fn term_to_binary(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    term: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    const IMPORT: &str = "enif_wasm_term_to_binary";
    let Some((env, term)) = walkable(&caller, IMPORT, env, term)? else {
        return Ok(0);
    };
    let mut bin = MaybeUninit::<ErlNifBinary>::uninit();
    // SAFETY: env and term belong to the NIF call on this thread.
    if unsafe { sys::enif_term_to_binary(env, term, bin.as_mut_ptr()) } == 0 {
        return Ok(0);
    }
    // SAFETY: filled by the call above; the binary is ours.
    let mut bin = unsafe { bin.assume_init() };
    if let Err(limit) = table(&caller).charge(bin.size as u64) {
        // SAFETY: the binary is ours and not yet a term.
        unsafe { sys::enif_release_binary(&mut bin) };
        return Err(limit.into());
    }
    let size = Flat::binary(bin.size as u64);
    // SAFETY: env belongs to the NIF call on this thread; the binary
    // becomes the term's.
    let encoded = unsafe { sys::enif_make_binary(env, &mut bin) };
    store_term(&mut caller, out, encoded, size)
}

/// Version byte of the external term format, and the tag of its
/// compressed form.
const EXTERNAL_VERSION: u8 = 131;
const COMPRESSED: u8 = 80;

/// Most bytes one `enif_wasm_binary_to_term` decodes: decoding is done in
/// one go, and 256 KiB decode in well under a millisecond.
pub const MAX_DECODE_BYTES: usize = 256 * 1024;

/// Decoded terms can be larger than their encoding: a list of `[]`s takes 1
/// byte a cell encoded and 16 on the heap. The budget is charged this much
/// per encoded byte, before decoding.
const DECODED_BYTES_PER_BYTE: u64 = 16;

/// Decodes the external term format, always as `[safe]`, so that a guest
/// cannot create atoms this way. Compressed input is refused: a few bytes
/// of it could decode to gigabytes, beyond any budget checked beforehand.
pub fn binary_to_term(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    data: i32,
    size: i32,
    out: i32,
    _opts: i32,
) -> wasmtime::Result<i32> {
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    let Some((memory, range)) = memory_range(&caller, data, size as u32 as u64) else {
        return Ok(0);
    };
    let bytes = &memory.data(&caller)[range];
    if bytes.len() < 2 || bytes[0] != EXTERNAL_VERSION || bytes[1] == COMPRESSED {
        return Ok(0);
    }
    if bytes.len() > MAX_DECODE_BYTES {
        return Err(HostTrap::new(
            "term_limit",
            format!(
                "enif_wasm_binary_to_term: {} bytes; one import decodes at most {MAX_DECODE_BYTES}",
                bytes.len()
            ),
        )
        .into());
    }
    table(&caller).charge(bytes.len() as u64 * DECODED_BYTES_PER_BYTE)?;
    let mut term = ErlNifTerm::default();
    // SAFETY: env belongs to the NIF call on this thread; bytes is a live
    // slice of guest memory that nothing else touches during the call.
    let read = unsafe {
        sys::enif_binary_to_term(
            env,
            bytes.as_ptr(),
            bytes.len(),
            &mut term,
            sys::ERL_NIF_BIN2TERM_SAFE,
        )
    };
    if read == 0 {
        return Ok(0);
    }
    // A decoded term is a tree: it reaches at most one term per byte read.
    let size = Flat {
        nodes: read as u64,
        bytes: read as u64,
    };
    Ok(store_term(&mut caller, out, term, size)? * read as i32)
}
