//! [`Term`]: a handle of one term of the call in progress, and its type.

use core::cmp::Ordering;
use core::fmt;

use crate::{sys, Binary, Decoder, Env, Error, NifResult};

/// A term of the call in progress: its env and its handle.
///
/// Copying a `Term` copies the handle, not the term. Compare terms with `==`
/// (Erlang's `=:=`) or [`Term::compare`] (Erlang's term order, where
/// `1 == 1.0`).
#[derive(Clone, Copy)]
pub struct Term<'a> {
    env: Env<'a>,
    raw: sys::ErlNifTerm,
}

/// What kind of term a [`Term`] is, as `enif_term_type` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TermType {
    /// An atom.
    Atom,
    /// A binary or a bitstring.
    Bitstring,
    /// A float.
    Float,
    /// A fun.
    Fun,
    /// An integer, small or big.
    Integer,
    /// A list, empty, proper or improper.
    List,
    /// A map.
    Map,
    /// A pid.
    Pid,
    /// A port.
    Port,
    /// A reference.
    Reference,
    /// A tuple.
    Tuple,
    /// An invalid handle, or a type this SDK does not know.
    Unknown,
}

impl TermType {
    /// The type for a value of `enif_wasm_term_type`.
    pub fn from_raw(raw: i32) -> TermType {
        match raw {
            sys::ERL_NIF_TERM_TYPE_ATOM => TermType::Atom,
            sys::ERL_NIF_TERM_TYPE_BITSTRING => TermType::Bitstring,
            sys::ERL_NIF_TERM_TYPE_FLOAT => TermType::Float,
            sys::ERL_NIF_TERM_TYPE_FUN => TermType::Fun,
            sys::ERL_NIF_TERM_TYPE_INTEGER => TermType::Integer,
            sys::ERL_NIF_TERM_TYPE_LIST => TermType::List,
            sys::ERL_NIF_TERM_TYPE_MAP => TermType::Map,
            sys::ERL_NIF_TERM_TYPE_PID => TermType::Pid,
            sys::ERL_NIF_TERM_TYPE_PORT => TermType::Port,
            sys::ERL_NIF_TERM_TYPE_REFERENCE => TermType::Reference,
            sys::ERL_NIF_TERM_TYPE_TUPLE => TermType::Tuple,
            _ => TermType::Unknown,
        }
    }

    /// The lower-case name: `"atom"`, `"bitstring"`, ..., `"unknown"`.
    pub fn name(self) -> &'static str {
        match self {
            TermType::Atom => "atom",
            TermType::Bitstring => "bitstring",
            TermType::Float => "float",
            TermType::Fun => "fun",
            TermType::Integer => "integer",
            TermType::List => "list",
            TermType::Map => "map",
            TermType::Pid => "pid",
            TermType::Port => "port",
            TermType::Reference => "reference",
            TermType::Tuple => "tuple",
            TermType::Unknown => "unknown",
        }
    }
}

impl<'a> Term<'a> {
    /// Wraps a handle of `env`'s call. The host checks handles on every use,
    /// so a wrong one makes imports fail or trap, never corrupts memory.
    pub fn from_raw(env: Env<'a>, raw: sys::ErlNifTerm) -> Term<'a> {
        Term { env, raw }
    }

    /// The raw handle, to pass to [`sys`] functions.
    pub fn as_raw(self) -> sys::ErlNifTerm {
        self.raw
    }

    /// The env of the call this term belongs to.
    pub fn env(self) -> Env<'a> {
        self.env
    }

    /// Decodes the term into a Rust value; see [`Decoder`].
    pub fn decode<T: Decoder<'a>>(self) -> NifResult<T> {
        T::decode(self)
    }

    /// What kind of term this is.
    pub fn term_type(self) -> TermType {
        TermType::from_raw(sys::enif_wasm_term_type(self.env.as_raw(), self.raw))
    }

    /// `is_atom/1`.
    pub fn is_atom(self) -> bool {
        sys::enif_wasm_is_atom(self.env.as_raw(), self.raw) != 0
    }

    /// `is_binary/1`: a bitstring whose size is a whole number of bytes.
    pub fn is_binary(self) -> bool {
        sys::enif_wasm_is_binary(self.env.as_raw(), self.raw) != 0
    }

    /// `is_function/1`.
    pub fn is_fun(self) -> bool {
        sys::enif_wasm_is_fun(self.env.as_raw(), self.raw) != 0
    }

    /// `is_list/1`: `[]` or a list cell (also of an improper list).
    pub fn is_list(self) -> bool {
        sys::enif_wasm_is_list(self.env.as_raw(), self.raw) != 0
    }

    /// True for `[]`.
    pub fn is_empty_list(self) -> bool {
        sys::enif_wasm_is_empty_list(self.env.as_raw(), self.raw) != 0
    }

    /// `is_map/1`.
    pub fn is_map(self) -> bool {
        sys::enif_wasm_is_map(self.env.as_raw(), self.raw) != 0
    }

    /// `is_number/1`.
    pub fn is_number(self) -> bool {
        sys::enif_wasm_is_number(self.env.as_raw(), self.raw) != 0
    }

    /// `is_integer/1`.
    pub fn is_integer(self) -> bool {
        self.term_type() == TermType::Integer
    }

    /// `is_float/1`.
    pub fn is_float(self) -> bool {
        self.term_type() == TermType::Float
    }

    /// `is_pid/1`.
    pub fn is_pid(self) -> bool {
        sys::enif_wasm_is_pid(self.env.as_raw(), self.raw) != 0
    }

    /// `is_port/1`.
    pub fn is_port(self) -> bool {
        sys::enif_wasm_is_port(self.env.as_raw(), self.raw) != 0
    }

    /// `is_reference/1`.
    pub fn is_ref(self) -> bool {
        sys::enif_wasm_is_ref(self.env.as_raw(), self.raw) != 0
    }

    /// `is_tuple/1`.
    pub fn is_tuple(self) -> bool {
        sys::enif_wasm_is_tuple(self.env.as_raw(), self.raw) != 0
    }

    /// True for an exception term ([`Env::badarg`], [`Env::raise`], or the
    /// result of encoding a NaN or infinite float).
    pub fn is_exception(self) -> bool {
        sys::enif_wasm_is_exception(self.env.as_raw(), self.raw) != 0
    }

    /// The order of the two terms in Erlang's term order, where numbers
    /// compare by value (`1 == 1.0`).
    pub fn compare(self, other: Term<'a>) -> Ordering {
        sys::enif_wasm_compare(self.env.as_raw(), self.raw, other.raw).cmp(&0)
    }

    /// `term_to_binary/1`.
    pub fn to_binary(self) -> NifResult<Binary<'a>> {
        let (env, term) = (self.env.as_raw(), self.raw);
        // SAFETY: `written` passes a pointer to a handle.
        let bin = written(|bin| unsafe { sys::enif_wasm_term_to_binary(env, term, bin) })?;
        Binary::from_term(Term::from_raw(self.env, bin))
    }
}

/// `==` is Erlang's `=:=`.
impl PartialEq for Term<'_> {
    fn eq(&self, other: &Self) -> bool {
        sys::enif_wasm_is_identical(self.env.as_raw(), self.raw, other.raw) != 0
    }
}

impl Eq for Term<'_> {}

impl fmt::Debug for Term<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Term({}, {:#x})", self.term_type().name(), self.raw)
    }
}

/// Most handles copied to the stack before a heap buffer is needed.
pub(crate) const STACK_TERMS: usize = 32;

/// Runs `f` on the raw handles of `terms`.
pub(crate) fn with_raw<R>(terms: &[Term<'_>], f: impl FnOnce(&[sys::ErlNifTerm]) -> R) -> R {
    if terms.len() <= STACK_TERMS {
        let mut buf = [0; STACK_TERMS];
        for (slot, term) in buf.iter_mut().zip(terms) {
            *slot = term.raw;
        }
        f(&buf[..terms.len()])
    } else {
        with_raw_on_heap(terms, f)
    }
}

#[cfg(feature = "alloc")]
fn with_raw_on_heap<R>(terms: &[Term<'_>], f: impl FnOnce(&[sys::ErlNifTerm]) -> R) -> R {
    let raw: alloc::vec::Vec<_> = terms.iter().map(|t| t.raw).collect();
    f(&raw)
}

#[cfg(not(feature = "alloc"))]
fn with_raw_on_heap<R>(_: &[Term<'_>], _: impl FnOnce(&[sys::ErlNifTerm]) -> R) -> R {
    panic!("more than 32 terms at once need the `alloc` feature")
}

/// Runs an import that returns 0 for "no" and otherwise has written a value
/// through the pointer it was given: that value, or `BadArg`.
pub(crate) fn written<T: Default>(import: impl FnOnce(*mut T) -> i32) -> NifResult<T> {
    let mut out = T::default();
    match import(&mut out) {
        0 => Err(Error::BadArg),
        _ => Ok(out),
    }
}
