//! [`Env`]: the call in progress, and the terms it can make.

use core::fmt;
use core::marker::PhantomData;

use crate::{sys, Atom, Encoder, Error, NifResult, Term};

/// The env of the call in progress.
///
/// Every term belongs to the call that made it: its handle is refused by the
/// host after the call returns. `Env<'a>` and [`Term<'a>`] share the
/// lifetime `'a`, which [`nif!`](crate::nif) makes a fresh lifetime for each
/// call, so the compiler keeps terms from being stored past their call.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    raw: sys::ErlNifEnv,
    // Invariant in 'a, and neither Send nor Sync.
    _call: PhantomData<*mut &'a ()>,
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Env({})", self.raw)
    }
}

impl<'a> Env<'a> {
    /// Wraps the env an exported function was given ([`nif!`](crate::nif)
    /// does this). The host checks it on every use, so a wrong value makes
    /// imports fail or trap, never corrupts memory.
    pub fn from_raw(raw: sys::ErlNifEnv) -> Env<'a> {
        Env {
            raw,
            _call: PhantomData,
        }
    }

    /// The raw env, to pass to [`sys`] functions.
    pub fn as_raw(self) -> sys::ErlNifEnv {
        self.raw
    }

    /// The atom `name`.
    ///
    /// # Panics
    /// If `name` is longer than 255 characters or has a character above
    /// U+00FF (see [`Atom::new`]).
    pub fn make_atom(self, name: &str) -> Term<'a> {
        Atom::new(name).encode(self)
    }

    /// The atom `name` if it already exists; never creates an atom.
    pub fn make_existing_atom(self, name: &str) -> Option<Term<'a>> {
        let atom = Atom::try_new(name)?;
        let latin1 = atom.as_latin1();
        let mut raw = 0;
        // SAFETY: the name is readable and `raw` writable.
        let found = unsafe {
            sys::enif_wasm_make_existing_atom_len(
                self.raw,
                latin1.as_ptr(),
                latin1.len() as u32,
                &mut raw,
                sys::ERL_NIF_LATIN1,
            )
        };
        (found != 0).then(|| Term::from_raw(self, raw))
    }

    /// A tuple of `elements`.
    pub fn make_tuple(self, elements: &[Term<'a>]) -> Term<'a> {
        crate::term::with_raw(elements, |raw| self.make_tuple_raw(raw))
    }

    pub(crate) fn make_tuple_raw(self, raw: &[sys::ErlNifTerm]) -> Term<'a> {
        // SAFETY: the array is readable.
        let tuple = unsafe {
            sys::enif_wasm_make_tuple_from_array(self.raw, raw.as_ptr(), raw.len() as u32)
        };
        Term::from_raw(self, tuple)
    }

    /// A proper list of `elements`.
    pub fn make_list(self, elements: &[Term<'a>]) -> Term<'a> {
        crate::list::make_list(self, elements.iter().map(|t| t.as_raw()))
    }

    /// `[head | tail]`; `tail` need not be a list.
    pub fn make_list_cell(self, head: Term<'a>, tail: Term<'a>) -> Term<'a> {
        let cell = sys::enif_wasm_make_list_cell(self.raw, head.as_raw(), tail.as_raw());
        Term::from_raw(self, cell)
    }

    /// A binary holding a copy of `bytes`.
    pub fn make_binary(self, bytes: &[u8]) -> Term<'a> {
        // SAFETY: the bytes are readable.
        let bin =
            unsafe { sys::enif_wasm_make_binary(self.raw, bytes.as_ptr(), bytes.len() as u32) };
        Term::from_raw(self, bin)
    }

    /// `#{}`.
    pub fn new_map(self) -> Term<'a> {
        Term::from_raw(self, sys::enif_wasm_make_new_map(self.raw))
    }

    /// The map of `keys[i] => values[i]`; `BadArg` if the slices differ in
    /// length or a key is repeated.
    pub fn make_map_from_arrays(
        self,
        keys: &[Term<'a>],
        values: &[Term<'a>],
    ) -> NifResult<Term<'a>> {
        if keys.len() != values.len() {
            return Err(Error::BadArg);
        }
        crate::term::with_raw(keys, |keys| {
            crate::term::with_raw(values, |values| {
                crate::map::make_map_raw(self, keys, values)
            })
        })
    }

    /// The pid of the process that made the call (`self()`).
    pub fn self_pid(self) -> Term<'a> {
        Term::from_raw(self, sys::enif_wasm_self(self.raw))
    }

    /// Sends a copy of `msg` to the local process `pid`: true if it was sent,
    /// false if `pid` is not a local pid or the process is not alive.
    pub fn send(self, pid: Term<'a>, msg: impl Encoder) -> bool {
        sys::enif_wasm_send(self.raw, pid.as_raw(), msg.encode(self).as_raw()) != 0
    }

    /// True if `pid` is a local pid of a live process.
    pub fn is_process_alive(self, pid: Term<'a>) -> bool {
        sys::enif_wasm_is_process_alive(self.raw, pid.as_raw()) != 0
    }

    /// A new unique reference (`make_ref()`).
    pub fn make_ref(self) -> Term<'a> {
        Term::from_raw(self, sys::enif_wasm_make_ref(self.raw))
    }

    /// The exception term that makes the call raise `error:reason` when the
    /// exported function returns it.
    pub fn raise(self, reason: Term<'a>) -> Term<'a> {
        Term::from_raw(
            self,
            sys::enif_wasm_raise_exception(self.raw, reason.as_raw()),
        )
    }

    /// The exception term that makes the call raise `badarg` when the
    /// exported function returns it.
    pub fn badarg(self) -> Term<'a> {
        Term::from_raw(self, sys::enif_wasm_make_badarg(self.raw))
    }

    /// The reason of the exception made in this call, if any (`badarg`
    /// after [`Env::badarg`]).
    pub fn pending_exception(self) -> Option<Term<'a>> {
        let mut reason = 0;
        // SAFETY: `reason` is writable.
        let pending = unsafe { sys::enif_wasm_has_pending_exception(self.raw, &mut reason) };
        (pending != 0).then(|| Term::from_raw(self, reason))
    }

    /// Decodes the external term format (`binary_to_term`, always in safe
    /// mode: atoms that do not exist make it fail). Returns the term and the
    /// number of bytes read.
    pub fn binary_to_term(self, data: &[u8]) -> Option<(Term<'a>, usize)> {
        let mut term = 0;
        // SAFETY: `data` is readable and `term` writable.
        let read = unsafe {
            sys::enif_wasm_binary_to_term(
                self.raw,
                data.as_ptr(),
                data.len() as u32,
                &mut term,
                sys::ERL_NIF_BIN2TERM_SAFE,
            )
        };
        (read != 0).then(|| (Term::from_raw(self, term), read as usize))
    }
}
