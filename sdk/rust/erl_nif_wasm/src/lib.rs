//! Write wasm_runtime_nif guests in Rust: read and build Erlang terms
//! through the host's term ABI (`include/erl_nif_wasm.h`), in the style of
//! Rustler.
//!
//! ```no_run
//! use erl_nif_wasm::{nif, Env, Error, NifResult, Term};
//!
//! nif! {
//!     /// wasm_runtime_nif:call(I, add, [1, 2]) =:= 3
//!     fn add(a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//!
//!     fn checked_div(a: i64, b: i64) -> NifResult<i64> {
//!         a.checked_div(b).ok_or(Error::Atom("division_by_zero"))
//!     }
//!
//!     fn pair<'a>(env: Env<'a>, x: Term<'a>) -> Term<'a> {
//!         env.make_tuple(&[x, x])
//!     }
//! }
//! ```
//!
//! - [`Env`] is the call in progress; [`Term`] a handle of one of its terms.
//!   Both carry the call's lifetime, so no term outlives its call.
//! - [`Encoder`] and [`Decoder`] convert between Rust values and terms; see
//!   the table in `docs/rust-guests.md` for the mapping.
//! - [`nif!`] exports ordinary Rust functions with the term ABI.
//! - [`sys`] declares every raw import.
//!
//! The crate is `no_std`. With the `alloc` feature (on by default) it
//! supports `String`, `Vec`, `BTreeMap` and [`Bytes`]; the guest crate
//! provides the allocator (std's, on `wasm32-unknown-unknown`) and the
//! panic handler.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod sys;

mod atom;
mod binary;
mod codec;
mod env;
mod error;
mod list;
mod macros;
mod map;
mod term;
mod tuple;

pub use atom::Atom;
pub use binary::Binary;
#[cfg(feature = "alloc")]
pub use binary::Bytes;
pub use codec::{Decoder, Encoder, NifReturn};
pub use env::Env;
pub use error::{Error, NifResult, Reason};
pub use list::ListIterator;
pub use map::MapIterator;
pub use term::{Term, TermType};
