//! The flattened size of terms, which bounds what one import may walk.
//!
//! A guest can share subterms: a tuple of 65,536 handles of one tuple of
//! 65,536 handles costs it 1 MiB of heap but has 2^32 leaves once
//! flattened, and erl_nif walks terms flattened when it hashes a map key,
//! compares, encodes (`term_to_binary`), flattens an iolist or copies a
//! message, each in one go. So every term a guest makes records its
//! flattened size (terms counted each time they are reached, and the bytes
//! of the binaries among them), and no term a guest makes may exceed
//! [`MAX_FLAT`]. Terms that come from the caller are measured by a bounded
//! walk the first time a guest builds on them, and the result is kept.

use std::mem::MaybeUninit;

use rustler::sys::{self, ErlNifEnv, ErlNifTerm, ErlNifTermType};

use super::TermTable;
use crate::error::HostTrap;

/// Terms reached and binary bytes held by a term, flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flat {
    pub nodes: u64,
    pub bytes: u64,
}

/// The largest term a guest may make or walk in one import: 4,194,304
/// terms reached (a few ms for erl_nif to walk; four times what the
/// handle limit lets a guest build cell by cell) and 1 GiB of binaries.
pub const MAX_FLAT: Flat = Flat {
    nodes: 1 << 22,
    bytes: 1 << 30,
};

impl Flat {
    /// An immediate or a small boxed term (a number, atom, pid, ref, `[]`).
    pub const LEAF: Flat = Flat { nodes: 1, bytes: 0 };
    /// Not measured yet.
    pub const UNKNOWN: Flat = Flat {
        nodes: u64::MAX,
        bytes: u64::MAX,
    };

    pub const fn binary(bytes: u64) -> Flat {
        Flat { nodes: 1, bytes }
    }

    pub fn plus(self, other: Flat) -> Flat {
        Flat {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    pub fn within(self, limit: Flat) -> bool {
        self.nodes <= limit.nodes && self.bytes <= limit.bytes
    }

    /// `Ok(self)` if within [`MAX_FLAT`], else the trap for `import`.
    pub fn check(self, import: &str) -> Result<Flat, HostTrap> {
        if self.within(MAX_FLAT) {
            Ok(self)
        } else {
            Err(too_large(import))
        }
    }
}

pub fn too_large(import: &str) -> HostTrap {
    HostTrap::new(
        "term_limit",
        format!(
            "{import}: a term a guest makes or walks may reach at most {} terms and {} bytes \
             of binaries, counting shared subterms each time",
            MAX_FLAT.nodes, MAX_FLAT.bytes
        ),
    )
}

/// The flattened size of the term behind `handle` (which must resolve),
/// measured now if it was not known; `None` if it exceeds [`MAX_FLAT`].
pub fn of_handle(table: &mut TermTable, env: *mut ErlNifEnv, handle: i64) -> Option<Flat> {
    if let Some(flat) = table.flat(handle) {
        return flat.within(MAX_FLAT).then_some(flat);
    }
    let term = table.term_of(handle)?;
    let flat = measure(env, term, MAX_FLAT)?;
    // Leaves are measured in O(1) again; only walks are worth keeping.
    if flat != Flat::LEAF {
        table.set_flat(handle, flat);
    }
    Some(flat)
}

/// The sum of the flattened sizes of several handles, and `None` past
/// [`MAX_FLAT`].
pub fn of_handles(table: &mut TermTable, env: *mut ErlNifEnv, handles: &[i64]) -> Option<Flat> {
    let mut total = Flat::LEAF;
    for &handle in handles {
        total = total.plus(of_handle(table, env, handle)?);
        if !total.within(MAX_FLAT) {
            return None;
        }
    }
    Some(total)
}

/// Walks `term` flattened, stopping as soon as it exceeds `limit`.
pub fn measure(env: *mut ErlNifEnv, term: ErlNifTerm, limit: Flat) -> Option<Flat> {
    use ErlNifTermType::*;
    // SAFETY: env and term belong to the NIF call running on this thread.
    match unsafe { sys::enif_term_type(env, term) } {
        // Most terms met are numbers and atoms: no walk, no allocation.
        ERL_NIF_TERM_TYPE_ATOM
        | ERL_NIF_TERM_TYPE_INTEGER
        | ERL_NIF_TERM_TYPE_FLOAT
        | ERL_NIF_TERM_TYPE_PID
        | ERL_NIF_TERM_TYPE_PORT
        | ERL_NIF_TERM_TYPE_REFERENCE => return Some(Flat::LEAF),
        _ => {}
    }
    let mut flat = Flat { nodes: 0, bytes: 0 };
    let mut pending = vec![term];
    while let Some(term) = pending.pop() {
        flat.nodes += 1;
        // SAFETY (for the enif calls): env and every term reached from
        // `term` belong to the NIF call running on this thread.
        match unsafe { sys::enif_term_type(env, term) } {
            ErlNifTermType::ERL_NIF_TERM_TYPE_LIST => {
                let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
                if unsafe { sys::enif_get_list_cell(env, term, &mut head, &mut tail) } != 0 {
                    pending.extend([head, tail]);
                }
            }
            ErlNifTermType::ERL_NIF_TERM_TYPE_TUPLE => {
                let mut arity = 0;
                let mut elements: *const ErlNifTerm = std::ptr::null();
                unsafe { sys::enif_get_tuple(env, term, &mut arity, &mut elements) };
                if arity > 0 {
                    // SAFETY: enif_get_tuple points elements at arity terms.
                    pending.extend_from_slice(unsafe {
                        std::slice::from_raw_parts(elements, arity as usize)
                    });
                }
            }
            ErlNifTermType::ERL_NIF_TERM_TYPE_BITSTRING => {
                let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
                if unsafe { sys::enif_inspect_binary(env, term, bin.as_mut_ptr()) } != 0 {
                    // SAFETY: filled by the call above.
                    flat.bytes += unsafe { bin.assume_init() }.size as u64;
                }
            }
            ErlNifTermType::ERL_NIF_TERM_TYPE_MAP => {
                let mut pairs = 0usize;
                unsafe { sys::enif_get_map_size(env, term, &mut pairs) };
                if pairs as u64 * 2 > limit.nodes.saturating_sub(flat.nodes) {
                    return None;
                }
                for_each_pair(env, term, |key, value| pending.extend([key, value]));
            }
            // A fun carries its environment, which erl_nif cannot walk:
            // its encoding stands for it.
            ErlNifTermType::ERL_NIF_TERM_TYPE_FUN => flat.bytes += encoded_size(env, term),
            _ => {}
        }
        if !flat.within(limit) {
            return None;
        }
    }
    Some(flat)
}

fn encoded_size(env: *mut ErlNifEnv, term: ErlNifTerm) -> u64 {
    let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: env and term belong to the NIF call on this thread; the
    // binary is ours and released at once.
    unsafe {
        if sys::enif_term_to_binary(env, term, bin.as_mut_ptr()) == 0 {
            return 0;
        }
        let mut bin = bin.assume_init();
        let size = bin.size as u64;
        sys::enif_release_binary(&mut bin);
        size
    }
}

/// Calls `visit` with every pair of `map`, which must be a map. The enif
/// iterator lives only within this function, so it never outlives the
/// slice whose heap it points into.
pub fn for_each_pair(
    env: *mut ErlNifEnv,
    map: ErlNifTerm,
    mut visit: impl FnMut(ErlNifTerm, ErlNifTerm),
) {
    // SAFETY: an iterator is plain memory until enif fills it; env and map
    // belong to the NIF call on this thread; the iterator is destroyed
    // before it goes out of scope.
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
            visit(key, value);
            sys::enif_map_iterator_next(env, &mut iter);
        }
        sys::enif_map_iterator_destroy(env, &mut iter);
    }
}
