//! The per-call table that turns guest handles into terms.
//!
//! Terms never cross into wasm. The guest sees an `i64` handle whose low bits
//! index this call's table and whose high bits carry the call's generation,
//! so a handle forged by the guest or kept from an earlier call is
//! recognised and refused.

pub mod flat;

use std::ptr;

use rustler::sys::{self, ErlNifEnv, ErlNifMapIterator, ErlNifTerm};

use crate::error::HostTrap;
use flat::Flat;

/// Most terms one call may create or receive. Each costs 8 bytes of table
/// plus the term itself on the caller's heap; past this the call traps with
/// `term_limit` instead of growing without bound.
pub const MAX_TERMS_PER_CALL: usize = 1 << 20;

/// Most bytes of heap one call may make: binaries, lists, tuples, maps,
/// decoded terms and messages sent. The term limit alone would let a guest
/// make 2^20 binaries of its whole memory each.
pub const MAX_HEAP_BYTES_PER_CALL: u64 = 256 * 1024 * 1024;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u64 = (1 << (64 - INDEX_BITS)) - 1;
/// Slot 0 of every call is the exception marker made by
/// `enif_wasm_make_badarg` and `enif_wasm_raise_exception`.
const EXCEPTION_SLOT: u64 = 0;

const _: () = assert!(MAX_TERMS_PER_CALL < INDEX_MASK as usize);

/// What a guest handle refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Term(ErlNifTerm),
    /// The exception marker: returning it raises the pending exception.
    Badarg,
}

/// The exception a call raises when its guest returns the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    Badarg,
    /// `error:Reason` with the reason held in the table under this handle,
    /// so that it moves with the other terms across a garbage collection.
    Raise(i64),
}

/// An enif map iterator kept between `enif_wasm_map_iterator_get_pair`
/// calls, so that walking a map pair by pair costs O(1) a step. It points
/// into the map, so it lives only within one slice: the garbage collector
/// may move the map between slices.
pub struct MapCursor {
    pub map: ErlNifTerm,
    pub index: usize,
    pub iter: Box<ErlNifMapIterator>,
}

/// The terms of the call in progress, and the env they live in.
pub struct TermTable {
    env: *mut ErlNifEnv,
    generation: u64,
    terms: Vec<ErlNifTerm>,
    /// The flattened size of each term, where known (see `flat`). Shorter
    /// than `terms` when the last terms are of unknown size, so that reading
    /// a list cell or a map pair, which adds such terms, writes nothing here.
    flats: Vec<Flat>,
    /// Bytes of heap made in this call.
    heap_bytes: u64,
    exception: Option<Exception>,
    /// The enif map iterator of this slice, if one was kept.
    pub(super) map_cursor: Option<MapCursor>,
    /// Whether this slice has placed a map cursor far from where it was.
    pub(super) far_jump_made: bool,
}

// SAFETY: `env` is only dereferenced (through enif_* calls) while a NIF call
// that owns it is running on the current thread; between calls it is null,
// and so is the map cursor, the only other pointer into the VM.
unsafe impl Send for TermTable {}

impl Default for TermTable {
    fn default() -> Self {
        Self::new()
    }
}

impl TermTable {
    pub fn new() -> Self {
        TermTable {
            env: ptr::null_mut(),
            generation: 0,
            terms: Vec::new(),
            flats: Vec::new(),
            heap_bytes: 0,
            exception: None,
            map_cursor: None,
            far_jump_made: false,
        }
    }

    /// Opens a call: handles of every earlier call stop resolving.
    pub fn begin(&mut self, env: *mut ErlNifEnv) {
        self.generation = (self.generation + 1) & GENERATION_MASK;
        // The env handle is the generation's low 31 bits; skip the values
        // that would make it 0 so that a zeroed env never matches.
        if self.env_handle() == 0 {
            self.generation = (self.generation + 1) & GENERATION_MASK;
        }
        self.env = env;
        self.terms.clear();
        self.flats.clear();
        self.heap_bytes = 0;
        self.exception = None;
    }

    /// Closes the call; keeps the table's memory unless a call made it large.
    pub fn end(&mut self) {
        self.drop_map_cursor();
        self.env = ptr::null_mut();
        self.terms.clear();
        self.flats.clear();
        if self.terms.capacity() > 4096 {
            self.terms.shrink_to(64);
            self.flats.shrink_to(64);
        }
    }

    /// Leaves the env of a slice that is about to return to the scheduler,
    /// and gives the terms that must be kept alive until the next slice.
    pub fn suspend(&mut self) -> &[ErlNifTerm] {
        self.drop_map_cursor();
        self.env = ptr::null_mut();
        &self.terms
    }

    /// Continues the call in the env of the next slice, with the carried
    /// terms as they are now: the garbage collector may have moved them
    /// while the process was scheduled out.
    pub fn resume(&mut self, env: *mut ErlNifEnv, terms: &[ErlNifTerm]) {
        self.env = env;
        self.terms.clear();
        self.terms.extend_from_slice(terms);
        self.flats.truncate(terms.len());
    }

    pub fn env_handle(&self) -> i32 {
        (self.generation & 0x7fff_ffff) as i32
    }

    fn handle_of(&self, slot: u64) -> i64 {
        ((self.generation << INDEX_BITS) | slot) as i64
    }

    pub fn exception_handle(&self) -> i64 {
        self.handle_of(EXCEPTION_SLOT)
    }

    /// Makes `exception` the one the call raises if its guest returns the
    /// marker, and gives the marker.
    pub fn raise(&mut self, exception: Exception) -> i64 {
        self.exception = Some(exception);
        self.exception_handle()
    }

    pub fn exception(&self) -> Option<Exception> {
        self.exception
    }

    /// The env of the call in progress, if `env_handle` names it.
    pub fn env(&self, env_handle: i32) -> Option<*mut ErlNifEnv> {
        (!self.env.is_null() && env_handle == self.env_handle()).then_some(self.env)
    }

    /// Handles that may still be added in this call.
    pub fn room(&self) -> usize {
        MAX_TERMS_PER_CALL - self.terms.len()
    }

    /// Adds a term whose size is not known yet (an argument, or a part of
    /// one) and returns its handle, or `None` when the table is full.
    #[inline]
    pub fn push(&mut self, term: ErlNifTerm) -> Option<i64> {
        if self.terms.len() >= MAX_TERMS_PER_CALL {
            return None;
        }
        self.terms.push(term);
        Some(self.handle_of(self.terms.len() as u64))
    }

    /// Adds a term of known flattened size.
    #[inline]
    pub fn push_flat(&mut self, term: ErlNifTerm, flat: Flat) -> Option<i64> {
        let handle = self.push(term)?;
        if flat != Flat::UNKNOWN {
            self.set_flat(handle, flat);
        }
        Some(handle)
    }

    /// Points an existing handle at another term: a host function that
    /// yields keeps its cursor in the table this way, where the garbage
    /// collector finds and moves it.
    pub fn set(&mut self, handle: i64, term: ErlNifTerm) {
        if let Some(slot) = self.slot(handle) {
            self.terms[slot] = term;
            if let Some(flat) = self.flats.get_mut(slot) {
                *flat = Flat::UNKNOWN;
            }
        }
    }

    /// The term of a handle (not the exception marker).
    pub fn term_of(&self, handle: i64) -> Option<ErlNifTerm> {
        self.slot(handle).map(|slot| self.terms[slot])
    }

    /// The flattened size of a handle's term, if known.
    pub fn flat(&self, handle: i64) -> Option<Flat> {
        let flat = *self.flats.get(self.slot(handle)?)?;
        (flat != Flat::UNKNOWN).then_some(flat)
    }

    pub fn set_flat(&mut self, handle: i64, flat: Flat) {
        if let Some(slot) = self.slot(handle) {
            if self.flats.len() <= slot {
                self.flats.resize(slot + 1, Flat::UNKNOWN);
            }
            self.flats[slot] = flat;
        }
    }

    fn slot(&self, handle: i64) -> Option<usize> {
        let handle = handle as u64;
        if self.env.is_null() || handle >> INDEX_BITS != self.generation {
            return None;
        }
        let index = (handle & INDEX_MASK) as usize;
        (index != EXCEPTION_SLOT as usize && index <= self.terms.len()).then(|| index - 1)
    }

    /// What a handle names. On the path of every import: one check of the
    /// generation, one bounds check.
    #[inline]
    pub fn resolve(&self, handle: i64) -> Option<Resolved> {
        let handle = handle as u64;
        if self.env.is_null() || handle >> INDEX_BITS != self.generation {
            return None;
        }
        match handle & INDEX_MASK {
            EXCEPTION_SLOT => Some(Resolved::Badarg),
            index => self
                .terms
                .get(index as usize - 1)
                .map(|&t| Resolved::Term(t)),
        }
    }

    /// Whether `handle` is this call's exception marker, which guests put
    /// in terms by mistake (their traps say so).
    pub fn is_exception_marker(&self, handle: i64) -> bool {
        self.resolve(handle) == Some(Resolved::Badarg)
    }

    /// The env and term a host function works on: both must belong to this
    /// call, and the handle must name a term (not the exception marker).
    #[inline]
    pub fn term(&self, env_handle: i32, handle: i64) -> Option<(*mut ErlNifEnv, ErlNifTerm)> {
        let env = self.env(env_handle)?;
        match self.resolve(handle)? {
            Resolved::Term(t) => Some((env, t)),
            Resolved::Badarg => None,
        }
    }

    /// Counts `bytes` of heap made by this call against its budget.
    pub fn charge(&mut self, bytes: u64) -> Result<(), HostTrap> {
        self.heap_bytes = self.heap_bytes.saturating_add(bytes);
        if self.heap_bytes > MAX_HEAP_BYTES_PER_CALL {
            return Err(HostTrap::new(
                "term_limit",
                format!("a call may make at most {MAX_HEAP_BYTES_PER_CALL} bytes of terms"),
            ));
        }
        Ok(())
    }

    /// Bytes of the per-call budget not yet used.
    pub fn heap_left(&self) -> u64 {
        MAX_HEAP_BYTES_PER_CALL.saturating_sub(self.heap_bytes)
    }

    fn drop_map_cursor(&mut self) {
        self.far_jump_made = false;
        if let Some(mut cursor) = self.map_cursor.take() {
            // SAFETY: the iterator was created in this slice's env, which is
            // still the current one.
            unsafe { sys::enif_map_iterator_destroy(self.env, &mut *cursor.iter) };
        }
    }
}

impl Drop for TermTable {
    fn drop(&mut self) {
        // Every way out of a slice (suspend, end) destroys the cursor while
        // its env is valid. Should one be left, it may point into a heap
        // that is gone: destroying it would read that heap, so it leaks.
        debug_assert!(self.map_cursor.is_none(), "map cursor outlived its slice");
        if let Some(cursor) = self.map_cursor.take() {
            std::mem::forget(cursor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env() -> *mut ErlNifEnv {
        ptr::NonNull::dangling().as_ptr()
    }

    fn t(raw: usize) -> ErlNifTerm {
        // SAFETY: ErlNifTerm is a transparent wrapper of a machine word.
        unsafe { std::mem::transmute::<usize, ErlNifTerm>(raw) }
    }

    #[test]
    fn handles_of_an_earlier_call_do_not_resolve() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let old = table.push(t(42)).unwrap();
        assert_eq!(table.resolve(old), Some(Resolved::Term(t(42))));
        table.end();
        assert_eq!(table.resolve(old), None, "no call in progress");
        table.begin(fake_env());
        assert_eq!(table.resolve(old), None, "stale generation");
        let new = table.push(t(7)).unwrap();
        assert_ne!(old, new);
        assert_eq!(table.resolve(new), Some(Resolved::Term(t(7))));
    }

    #[test]
    fn forged_handles_do_not_resolve() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let h = table.push(t(1)).unwrap();
        assert_eq!(table.resolve(h + 1), None, "index past the end");
        assert_eq!(table.resolve(0), None);
        assert_eq!(table.resolve(-1), None);
        assert_eq!(table.resolve(i64::MIN), None);
        assert_eq!(
            table.resolve(table.exception_handle()),
            Some(Resolved::Badarg)
        );
        assert!(table
            .term(table.env_handle(), table.exception_handle())
            .is_none());
    }

    #[test]
    fn env_handle_is_per_call_and_never_zero() {
        let mut table = TermTable::new();
        assert_eq!(table.env(0), None);
        table.begin(fake_env());
        let first = table.env_handle();
        assert_ne!(first, 0);
        assert!(table.env(first).is_some());
        assert!(table.env(first + 1).is_none());
        table.end();
        assert!(table.env(first).is_none());
        table.generation = 0x7fff_fffe;
        table.begin(fake_env());
        table.end();
        table.begin(fake_env());
        assert_ne!(table.env_handle(), 0);
    }

    #[test]
    fn handles_survive_a_reschedule_but_not_the_gap() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let env = table.env_handle();
        let h = table.push(t(5)).unwrap();
        let carried = table.suspend().to_vec();
        assert_eq!(table.resolve(h), None, "no env between slices");
        assert_eq!(table.env(env), None);
        table.resume(fake_env(), &[t(6)]);
        assert_eq!(carried, vec![t(5)]);
        assert_eq!(
            table.resolve(h),
            Some(Resolved::Term(t(6))),
            "moved term, same handle"
        );
        assert!(
            table.env(env).is_some(),
            "same env handle for the whole call"
        );
    }

    #[test]
    fn set_moves_a_handle_and_ignores_forgeries() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let h = table.push(t(1)).unwrap();
        table.set(h, t(2));
        assert_eq!(table.resolve(h), Some(Resolved::Term(t(2))));
        table.set(h + 1, t(3));
        table.set(table.exception_handle(), t(3));
        assert_eq!(table.terms, vec![t(2)]);
    }

    #[test]
    fn table_is_bounded() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        for i in 0..MAX_TERMS_PER_CALL {
            assert!(table.push(t(i)).is_some());
        }
        assert_eq!(table.room(), 0);
        assert_eq!(table.push(t(0)), None);
        table.end();
        assert!(table.terms.capacity() <= 64);
    }

    #[test]
    fn heap_budget_is_per_call() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        assert!(table.charge(MAX_HEAP_BYTES_PER_CALL).is_ok());
        assert!(table.charge(1).is_err());
        assert!(table.charge(u64::MAX).is_err(), "no overflow");
        table.end();
        table.begin(fake_env());
        assert_eq!(table.heap_left(), MAX_HEAP_BYTES_PER_CALL);
    }

    #[test]
    fn exception_is_the_latest_raised_and_per_call() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        assert_eq!(table.exception(), None);
        let h = table.push(t(9)).unwrap();
        let marker = table.raise(Exception::Raise(h));
        assert_eq!(marker, table.exception_handle());
        table.raise(Exception::Badarg);
        assert_eq!(table.exception(), Some(Exception::Badarg));
        table.end();
        table.begin(fake_env());
        assert_eq!(table.exception(), None);
    }

    #[test]
    fn flattened_sizes_are_kept_per_handle_and_forgotten_when_moved() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let unknown = table.push(t(1)).unwrap();
        let made = table.push_flat(t(2), Flat::binary(10)).unwrap();
        let after = table.push(t(3)).unwrap();
        assert_eq!(table.flat(unknown), None);
        assert_eq!(table.flat(made), Some(Flat::binary(10)));
        assert_eq!(table.flat(after), None, "past the end of the sizes");
        table.set_flat(after, Flat::LEAF);
        assert_eq!(table.flat(after), Some(Flat::LEAF));
        table.set(made, t(4));
        assert_eq!(table.flat(made), None, "a cursor moved on");
        table.resume(fake_env(), &[t(1)]);
        assert_eq!(table.flat(unknown), None);
        table.end();
        table.begin(fake_env());
        let fresh = table.push(t(5)).unwrap();
        assert_eq!(table.flat(fresh), None, "sizes die with their call");
    }

    #[test]
    fn flat_sums_saturate_and_respect_the_limit() {
        let big = Flat {
            nodes: u64::MAX - 1,
            bytes: 1,
        };
        assert_eq!(big.plus(big).nodes, u64::MAX);
        assert!(!big.within(flat::MAX_FLAT));
        assert!(Flat::LEAF
            .plus(Flat::binary(1 << 30))
            .within(flat::MAX_FLAT));
        assert!(!Flat::binary((1 << 30) + 1).within(flat::MAX_FLAT));
    }
}
