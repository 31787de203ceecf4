//! [`Error`] and [`NifResult`]: how an exported function raises.

use crate::{sys, Atom, Env, Term};

/// The result of a guest function: `Err` raises in the caller.
pub type NifResult<T> = Result<T, Error>;

/// An exception for the caller of `wasm_runtime_nif:call/3`.
///
/// Returning `Err(error)` from a function exported with [`nif!`](crate::nif)
/// makes the call raise `error:Reason`, where `Reason` is:
///
/// | variant | reason |
/// | --- | --- |
/// | `Error::BadArg` | `badarg` |
/// | `Error::Atom("overflow")` | `overflow` |
/// | `Error::term(t)` | the term `t` |
///
/// Every decoding failure in this crate is `BadArg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Raise `badarg`.
    BadArg,
    /// Raise the atom of this name (255 Latin-1 characters at most, or
    /// raising it panics; see [`Atom::new`]).
    Atom(&'static str),
    /// Raise a term of the call in progress; make it with [`Error::term`].
    Term(Reason),
}

/// The reason of an [`Error::Term`]: the handle of a term of the call in
/// progress. Raising it in another call traps the call with `bad_handle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason(sys::ErlNifTerm);

impl Error {
    /// An error that raises `reason`, any term:
    /// `Err(Error::term((Atom::new("bad_key"), key).encode(env)))`.
    pub fn term(reason: Term<'_>) -> Error {
        Error::Term(Reason(reason.as_raw()))
    }

    /// The exception term for this error: the exported function returns it
    /// to raise. [`nif!`](crate::nif) does this for `Err` results.
    pub fn raise<'a>(self, env: Env<'a>) -> Term<'a> {
        match self {
            Error::BadArg => env.badarg(),
            Error::Atom(name) => env.raise(Atom::new(name).to_term(env)),
            Error::Term(Reason(raw)) => env.raise(Term::from_raw(env, raw)),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::BadArg => f.write_str("badarg"),
            Error::Atom(name) => f.write_str(name),
            Error::Term(Reason(raw)) => write!(f, "the term {raw:#x}"),
        }
    }
}

impl core::error::Error for Error {}
