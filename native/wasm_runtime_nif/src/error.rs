//! Errors and the reasons Erlang sees: every `{error, Reason}` and every
//! exception a NIF raises is built here or in a facet of this module
//! (`error/trap.rs` for failures of guest code).

pub mod trap;

use rustler::{Encoder, Env, Error, Term};

use crate::atoms;

pub use trap::{HostTrap, ImportRaised, TrapReason};

/// An exception with `reason`, raised by the NIF that returns it.
pub fn raise(reason: impl Encoder + 'static) -> Error {
    Error::RaiseTerm(Box::new(reason))
}

/// `{bad_option, {Key, Value}}`, for an option the NIF refuses although
/// its shape was right (fuel for a module compiled without metering).
pub fn bad_option(key: rustler::Atom, value: impl Encoder + 'static) -> Error {
    raise((atoms::bad_option(), (key, value)))
}

/// What a Rustler error stands for once it reaches Erlang: the reason of
/// an exception, or a value the NIF returns (`Error::Term`, `Error::Atom`).
pub enum Outcome<'a> {
    Raised(Term<'a>),
    Returned(Term<'a>),
}

/// The one reading of a Rustler error, shared by the NIF body (which raises
/// or returns it) and by requests (which hand it to the Erlang side).
pub fn outcome(env: Env, error: Error) -> Outcome {
    let atom = |name| rustler::Atom::from_str(env, name).unwrap_or_else(|_| atoms::error());
    match error {
        Error::BadArg => Outcome::Raised(atoms::badarg().encode(env)),
        Error::RaiseTerm(reason) => Outcome::Raised(reason.encode(env)),
        Error::RaiseAtom(name) => Outcome::Raised(atom(name).encode(env)),
        Error::Term(reason) => Outcome::Returned((atoms::error(), reason.encode(env)).encode(env)),
        Error::Atom(name) => Outcome::Returned(atom(name).encode(env)),
    }
}

/// A string reason as the seed API raises it: a charlist.
pub fn charlist(text: &str) -> Vec<u32> {
    text.chars().map(u32::from).collect()
}

/// Why a module cannot be used; each becomes an `{error, Reason}` term.
#[derive(Debug)]
pub enum CompileError {
    Invalid(String),
    UnknownImport {
        module: String,
        name: String,
        kind: &'static str,
    },
    ImportTypeMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    UnsupportedImport {
        module: String,
        name: String,
        signature: String,
    },
    /// One import name with two function types: one fun cannot be both.
    ImportTypeConflict {
        module: String,
        name: String,
        first: String,
        second: String,
    },
    Link(String),
}

impl Encoder for CompileError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            CompileError::Invalid(msg) => (atoms::invalid_module(), msg.as_str()).encode(env),
            CompileError::UnknownImport { module, name, kind } => {
                let kind = rustler::Atom::from_str(env, kind).expect("extern kinds are atoms");
                (
                    atoms::unknown_import(),
                    module.as_str(),
                    name.as_str(),
                    kind,
                )
                    .encode(env)
            }
            CompileError::ImportTypeMismatch {
                name,
                expected,
                actual,
            } => (
                atoms::import_type_mismatch(),
                name.as_str(),
                expected.as_str(),
                actual.as_str(),
            )
                .encode(env),
            CompileError::UnsupportedImport {
                module,
                name,
                signature,
            } => (
                atoms::unsupported_import_signature(),
                module.as_str(),
                name.as_str(),
                signature.as_str(),
            )
                .encode(env),
            CompileError::ImportTypeConflict {
                module,
                name,
                first,
                second,
            } => (
                atoms::import_type_conflict(),
                module.as_str(),
                name.as_str(),
                first.as_str(),
                second.as_str(),
            )
                .encode(env),
            CompileError::Link(msg) => (atoms::link_error(), msg.as_str()).encode(env),
        }
    }
}

/// Why instantiation failed.
pub enum InstantiateError {
    Trap(TrapReason),
    /// The module defines more memories or tables than the instance may
    /// have: `memories` or `tables`, how many, the most allowed.
    TooMany(&'static str, usize, usize),
    /// Live instances have reserved the VM's share of mappings or address
    /// space (see `budget.rs`).
    SystemLimit(String),
    Failed(String),
    /// A preopened directory of the `wasi` option could not be opened.
    Preopen {
        host: String,
        message: String,
    },
    UnknownImport(String, String),
    ImportArity {
        module: String,
        name: String,
        expected: usize,
        actual: usize,
    },
}

impl Encoder for InstantiateError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            InstantiateError::Trap(reason) => reason.encode(env),
            InstantiateError::SystemLimit(msg) => (atoms::system_limit(), msg.as_str()).encode(env),
            InstantiateError::TooMany(what, defined, max) => {
                let what = rustler::Atom::from_str(env, what).expect("an atom");
                (atoms::too_many(), what, *defined, *max).encode(env)
            }
            InstantiateError::Failed(msg) => {
                (atoms::instantiation_failed(), msg.as_str()).encode(env)
            }
            InstantiateError::Preopen { host, message } => {
                (atoms::preopen_failed(), host.as_str(), message.as_str()).encode(env)
            }
            InstantiateError::UnknownImport(module, name) => (
                atoms::unknown_import(),
                module.as_str(),
                name.as_str(),
                atoms::func(),
            )
                .encode(env),
            InstantiateError::ImportArity {
                module,
                name,
                expected,
                actual,
            } => (
                atoms::import_arity_mismatch(),
                module.as_str(),
                name.as_str(),
                *expected,
                *actual,
            )
                .encode(env),
        }
    }
}
