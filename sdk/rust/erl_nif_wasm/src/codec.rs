//! [`Encoder`], [`Decoder`] and [`NifReturn`], with the conversions of
//! numbers, booleans, `()`, `Option`, `Result` and terms themselves. The
//! other types are beside their kind of term (lists, maps, tuples, ...).

use crate::atom::is_atom_named;
use crate::term::written;
use crate::{sys, Atom, Env, Error, NifResult, Term};

/// A Rust value that can be made into a term.
pub trait Encoder {
    /// The value as a term of `env`'s call.
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a>;
}

/// A Rust value that can be read from a term.
pub trait Decoder<'a>: Sized {
    /// The value `term` holds, or (normally) `Err(Error::BadArg)`.
    fn decode(term: Term<'a>) -> NifResult<Self>;
}

/// What a function exported with [`nif!`](crate::nif) may return: any
/// [`Encoder`], or a [`NifResult`] of one, whose `Err` raises.
pub trait NifReturn<'a> {
    /// The term the exported function returns: the value, or an exception.
    fn into_term(self, env: Env<'a>) -> Term<'a>;
}

impl<'a, T: Encoder> NifReturn<'a> for T {
    fn into_term(self, env: Env<'a>) -> Term<'a> {
        self.encode(env)
    }
}

impl<'a, T: Encoder> NifReturn<'a> for NifResult<T> {
    fn into_term(self, env: Env<'a>) -> Term<'a> {
        match self {
            Ok(value) => value.encode(env),
            Err(error) => error.raise(env),
        }
    }
}

impl<T: Encoder + ?Sized> Encoder for &T {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        (**self).encode(env)
    }
}

/// A term encodes as itself. The host refuses handles of another call, so
/// a term that slipped out of its call traps the call using it.
impl Encoder for Term<'_> {
    fn encode<'b>(&self, env: Env<'b>) -> Term<'b> {
        Term::from_raw(env, self.as_raw())
    }
}

impl<'a> Decoder<'a> for Term<'a> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        Ok(term)
    }
}

// ---- Integers and floats ----

/// Implements Encoder and Decoder for `$ty` through an import pair working
/// on `$via`.
macro_rules! number {
    ($($ty:ty => $via:ty, $get:ident, $make:ident;)+) => {$(
        impl Encoder for $ty {
            fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
                Term::from_raw(env, sys::$make(env.as_raw(), <$via>::from(*self)))
            }
        }

        /// From an integer in the type's range, else `BadArg`.
        impl<'a> Decoder<'a> for $ty {
            fn decode(term: Term<'a>) -> NifResult<Self> {
                let (env, raw) = (term.env().as_raw(), term.as_raw());
                // SAFETY: `written` passes a pointer to a `$via`.
                let value: $via = written(|value| unsafe { sys::$get(env, raw, value) })?;
                <$ty>::try_from(value).map_err(|_| Error::BadArg)
            }
        }
    )+};
}

number! {
    i8 => i32, enif_wasm_get_int, enif_wasm_make_int;
    i16 => i32, enif_wasm_get_int, enif_wasm_make_int;
    i32 => i32, enif_wasm_get_int, enif_wasm_make_int;
    u8 => u32, enif_wasm_get_uint, enif_wasm_make_uint;
    u16 => u32, enif_wasm_get_uint, enif_wasm_make_uint;
    u32 => u32, enif_wasm_get_uint, enif_wasm_make_uint;
    i64 => i64, enif_wasm_get_int64, enif_wasm_make_int64;
    u64 => u64, enif_wasm_get_uint64, enif_wasm_make_uint64;
}

impl Encoder for isize {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        (*self as i64).encode(env)
    }
}

impl<'a> Decoder<'a> for isize {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        isize::try_from(term.decode::<i64>()?).map_err(|_| Error::BadArg)
    }
}

impl Encoder for usize {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        (*self as u64).encode(env)
    }
}

impl<'a> Decoder<'a> for usize {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        usize::try_from(term.decode::<u64>()?).map_err(|_| Error::BadArg)
    }
}

/// A float. As in erl_nif, NaN and the infinities have no term: they encode
/// as the `badarg` exception term (see [`Term::is_exception`]).
impl Encoder for f64 {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        Term::from_raw(env, sys::enif_wasm_make_double(env.as_raw(), *self))
    }
}

/// From a float (not an integer, as in erl_nif), else `BadArg`.
impl<'a> Decoder<'a> for f64 {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        let (env, raw) = (term.env().as_raw(), term.as_raw());
        // SAFETY: `written` passes a pointer to an f64.
        written(|value| unsafe { sys::enif_wasm_get_double(env, raw, value) })
    }
}

// ---- Atoms: booleans, (), Option ----

/// The atom `true` or `false`.
impl Encoder for bool {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        Atom::new(if *self { "true" } else { "false" }).to_term(env)
    }
}

/// From the atom `true` or `false`, else `BadArg`.
impl<'a> Decoder<'a> for bool {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        if is_atom_named(term, "true") {
            Ok(true)
        } else if is_atom_named(term, "false") {
            Ok(false)
        } else {
            Err(Error::BadArg)
        }
    }
}

/// The atom `ok`.
impl Encoder for () {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        Atom::new("ok").to_term(env)
    }
}

/// `None` is the atom `nil` (as in Rustler and Elixir).
impl<T: Encoder> Encoder for Option<T> {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            Some(value) => value.encode(env),
            None => Atom::new("nil").to_term(env),
        }
    }
}

/// `None` from the atom `nil`, else `Some` of what `T` decodes.
impl<'a, T: Decoder<'a>> Decoder<'a> for Option<T> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        if is_atom_named(term, "nil") {
            Ok(None)
        } else {
            term.decode().map(Some)
        }
    }
}

// ---- Result as {ok, T} | {error, E} ----

/// `{ok, T}` or `{error, E}`.
impl<T: Encoder, E: Encoder> Encoder for Result<T, E> {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            Ok(value) => (Atom::new("ok"), value).encode(env),
            Err(error) => (Atom::new("error"), error).encode(env),
        }
    }
}

/// From `{ok, T}` or `{error, E}`, else `BadArg`.
impl<'a, T: Decoder<'a>, E: Decoder<'a>> Decoder<'a> for Result<T, E> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        let [tag, value] = term.tuple_array()?;
        if is_atom_named(tag, "ok") {
            value.decode().map(Ok)
        } else if is_atom_named(tag, "error") {
            value.decode().map(Err)
        } else {
            Err(Error::BadArg)
        }
    }
}
