//! Atoms and charlists, in Latin-1 as erl_nif's own functions on OTP 25.
//!
//! Atoms are never freed, and the VM dies when its atom table is full, so
//! guests may create only [`MAX_GUEST_ATOMS`] new atoms between them.
//! Atoms that already exist cost nothing and are always allowed.

use std::sync::atomic::{AtomicUsize, Ordering};

use rustler::sys::{self, ErlNifCharEncoding, ErlNifEnv, ErlNifTerm};
use wasmtime::Caller;

use super::lists::{walk_list, Walked};
use super::{
    bad_argument, bad_pointer, call_env, memory_range, new_term, store_bytes, store_term, table,
    StoreData, MAX_ARRAY_LEN,
};
use crate::error::HostTrap;
use crate::term_table::flat::Flat;

/// New atoms all guests of this VM may create, together. An atom table
/// holds 1,048,576 atoms by default; this leaves nearly all of it to the
/// rest of the system while allowing guests any fixed vocabulary.
pub const MAX_GUEST_ATOMS: usize = 10_000;

static GUEST_ATOMS: AtomicUsize = AtomicUsize::new(0);

/// Longest atom name, in characters.
const MAX_ATOM_LEN: u32 = 255;

const LATIN1: i32 = 1;

/// The bytes of guest memory `[ptr, ptr+len)`, copied, if they are inside.
fn guest_bytes(caller: &Caller<'_, StoreData>, ptr: i32, len: u32) -> Option<Vec<u8>> {
    let (memory, range) = memory_range(caller, ptr, len as u64)?;
    Some(memory.data(caller)[range].to_vec())
}

/// The atom named `name`, if it exists.
fn existing_atom(env: *mut ErlNifEnv, name: &[u8]) -> Option<ErlNifTerm> {
    let mut atom = ErlNifTerm::default();
    // SAFETY: env belongs to the NIF call on this thread; name is a live
    // buffer of name.len() bytes.
    let found = unsafe {
        sys::enif_make_existing_atom_len(
            env,
            name.as_ptr().cast(),
            name.len(),
            &mut atom,
            ErlNifCharEncoding::ERL_NIF_LATIN1,
        )
    };
    (found != 0).then_some(atom)
}

pub fn make_atom_len(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    name: i32,
    len: i32,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_atom_len";
    let env = call_env(&caller, env)?;
    let len = len as u32;
    if len > MAX_ATOM_LEN {
        return Err(bad_argument(IMPORT, format!("an atom of {len} characters")).into());
    }
    let bytes =
        guest_bytes(&caller, name, len).ok_or_else(|| bad_pointer(IMPORT, name, len.into()))?;
    let Some(atom) = make_guest_atom(env, &bytes) else {
        return Err(HostTrap::new(
            "atom_limit",
            format!("guests may create at most {MAX_GUEST_ATOMS} new atoms"),
        )
        .into());
    };
    new_term(&mut caller, atom)
}

/// The Latin-1 atom `name` (at most 255 bytes), made if it does not exist
/// yet and guests may still create atoms; `None` past the limit.
fn make_guest_atom(env: *mut ErlNifEnv, name: &[u8]) -> Option<ErlNifTerm> {
    if let Some(atom) = existing_atom(env, name) {
        return Some(atom);
    }
    if GUEST_ATOMS.fetch_add(1, Ordering::Relaxed) >= MAX_GUEST_ATOMS {
        GUEST_ATOMS.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    // SAFETY: as in existing_atom.
    Some(unsafe { sys::enif_make_atom_len(env, name.as_ptr().cast(), name.len()) })
}

/// The Latin-1 atoms `names` (each at most 255 bytes) for a component's
/// types, made when it is compiled: all of them, if guests may still
/// create those that do not exist yet, else none (`None`).
pub fn guest_atoms(env: rustler::Env, names: &[&[u8]]) -> Option<Vec<rustler::Atom>> {
    let raw = env.as_c_arg();
    let new = names
        .iter()
        .filter(|name| existing_atom(raw, name).is_none())
        .count();
    let reserved = GUEST_ATOMS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |made| {
        made.checked_add(new)
            .filter(|&total| total <= MAX_GUEST_ATOMS)
    });
    reserved.ok()?;
    let atoms = names.iter().map(|name| {
        // SAFETY: as in existing_atom.
        let term = unsafe { sys::enif_make_atom_len(raw, name.as_ptr().cast(), name.len()) };
        // SAFETY: an atom, made in `env`; atoms are valid in every env.
        rustler::Atom::from_term(unsafe { rustler::Term::new(env, term) }).ok()
    });
    atoms.collect()
}

pub fn make_existing_atom_len(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    name: i32,
    len: i32,
    out: i32,
    encoding: i32,
) -> wasmtime::Result<i32> {
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    if encoding != LATIN1 || len as u32 > MAX_ATOM_LEN {
        return Ok(0);
    }
    let Some(bytes) = guest_bytes(&caller, name, len as u32) else {
        return Ok(0);
    };
    match existing_atom(env, &bytes) {
        Some(atom) => store_term(&mut caller, out, atom, Flat::LEAF),
        None => Ok(0),
    }
}

/// The Latin-1 name of an atom.
fn atom_name(env: *mut ErlNifEnv, atom: ErlNifTerm) -> Option<Vec<u8>> {
    let mut buf = [0u8; MAX_ATOM_LEN as usize + 1];
    // SAFETY: env and atom belong to the NIF call on this thread; the
    // buffer's size is passed.
    let written = unsafe {
        sys::enif_get_atom(
            env,
            atom,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
            ErlNifCharEncoding::ERL_NIF_LATIN1,
        )
    };
    (written > 0).then(|| buf[..written as usize - 1].to_vec())
}

pub fn get_atom(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    atom: i64,
    buf: i32,
    size: i32,
    encoding: i32,
) -> i32 {
    let Some((env, atom)) = table(&caller).term(env, atom) else {
        return 0;
    };
    // The whole buffer the guest declares must be memory, as a C NIF's
    // would have to be, not just the part this atom needs.
    if encoding != LATIN1 || memory_range(&caller, buf, size as u32 as u64).is_none() {
        return 0;
    }
    let Some(mut name) = atom_name(env, atom) else {
        return 0;
    };
    if name.len() + 1 > size as u32 as usize {
        return 0;
    }
    name.push(0);
    if store_bytes(&mut caller, buf, &name) {
        name.len() as i32
    } else {
        0
    }
}

pub fn get_atom_length(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    atom: i64,
    out: i32,
    encoding: i32,
) -> i32 {
    let Some((env, atom)) = table(&caller).term(env, atom) else {
        return 0;
    };
    if encoding != LATIN1 {
        return 0;
    }
    match atom_name(env, atom) {
        Some(name) => store_bytes(&mut caller, out, &(name.len() as u32).to_le_bytes()) as i32,
        None => 0,
    }
}

pub fn make_string_len(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    string: i32,
    len: i32,
    encoding: i32,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_string_len";
    let env = call_env(&caller, env)?;
    let len = len as u32;
    if encoding != LATIN1 {
        return Err(bad_argument(IMPORT, format!("encoding {encoding}; only Latin-1 (1)")).into());
    }
    if len > MAX_ARRAY_LEN {
        return Err(HostTrap::new(
            "term_limit",
            format!("{IMPORT}: {len} characters; a string may hold at most {MAX_ARRAY_LEN}"),
        )
        .into());
    }
    let bytes =
        guest_bytes(&caller, string, len).ok_or_else(|| bad_pointer(IMPORT, string, len.into()))?;
    table(&caller).charge(16 * len as u64)?;
    // SAFETY: env belongs to the NIF call on this thread; bytes is live.
    let term = unsafe {
        sys::enif_make_string_len(
            env,
            bytes.as_ptr().cast(),
            bytes.len(),
            ErlNifCharEncoding::ERL_NIF_LATIN1,
        )
    };
    new_term(&mut caller, term)
}

/// Writes a charlist into a buffer as erl_nif does: the bytes and a NUL,
/// the count of bytes written with the NUL; `-size` when the buffer was too
/// small (the string is cut and terminated); 0 if it is not a string.
pub async fn get_string(
    mut caller: Caller<'_, StoreData>,
    (env, list, buf, size, encoding): (i32, i64, i32, i32, i32),
) -> wasmtime::Result<i32> {
    let declared = memory_range(&caller, buf, size as u32 as u64).is_some();
    let size = (size as u32 as usize).min(i32::MAX as usize);
    if encoding != LATIN1 || size == 0 || !declared || table(&caller).term(env, list).is_none() {
        return Ok(0);
    }
    // Only as many characters as fit are kept; the rest are checked.
    let mut text = Vec::new();
    let walked = walk_list(&mut caller, env, list, &mut [], 0, |env, head, _| {
        let mut c = 0u32;
        // SAFETY: env and head belong to the NIF call on this thread.
        if unsafe { sys::enif_get_uint(env, head, &mut c) } == 0 || c > 255 {
            return false;
        }
        if text.len() < size {
            text.push(c as u8);
        }
        true
    })
    .await?;
    if walked != Walked::Proper {
        return Ok(0);
    }
    let result = if text.len() < size {
        text.push(0);
        text.len() as i32
    } else {
        text[size - 1] = 0;
        -(size as i32)
    };
    Ok(if store_bytes(&mut caller, buf, &text) {
        result
    } else {
        0
    })
}
