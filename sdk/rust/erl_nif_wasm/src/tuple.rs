//! Tuples: tuple methods of [`Term`], and Rust tuples of 1 to 6 elements as
//! Erlang tuples.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::{sys, Decoder, Encoder, Env, Error, NifResult, Term};

impl<'a> Term<'a> {
    /// The tuple's size (`tuple_size/1`), or `BadArg`.
    pub fn tuple_arity(self) -> NifResult<usize> {
        let (mut arity, mut unused) = (-1, 0);
        // SAFETY: `arity` is writable. Capacity 0 asks for the arity alone:
        // the host writes it for any tuple (returning 0 unless it is `{}`)
        // and writes nothing for anything else.
        unsafe {
            sys::enif_wasm_get_tuple(
                self.env().as_raw(),
                self.as_raw(),
                &mut arity,
                &mut unused,
                0,
            )
        };
        if arity < 0 {
            return Err(Error::BadArg);
        }
        Ok(arity as usize)
    }

    /// The elements of a tuple of exactly `N` elements, or `BadArg`.
    pub fn tuple_array<const N: usize>(self) -> NifResult<[Term<'a>; N]> {
        let mut raw = [0; N];
        let mut arity = -1;
        // SAFETY: `arity` is writable, `raw` writable for `N` handles.
        let got = unsafe {
            sys::enif_wasm_get_tuple(
                self.env().as_raw(),
                self.as_raw(),
                &mut arity,
                raw.as_mut_ptr(),
                N as u32,
            )
        };
        if got == 0 || arity as usize != N {
            return Err(Error::BadArg);
        }
        Ok(raw.map(|handle| Term::from_raw(self.env(), handle)))
    }

    /// The elements of a tuple (`tuple_to_list/1`), or `BadArg`.
    #[cfg(feature = "alloc")]
    pub fn tuple_elements(self) -> NifResult<Vec<Term<'a>>> {
        let arity = self.tuple_arity()?;
        let mut raw: Vec<sys::ErlNifTerm> = Vec::with_capacity(arity);
        let mut got_arity = 0;
        // SAFETY: `got_arity` is writable, `raw` writable for `arity` handles.
        let got = unsafe {
            sys::enif_wasm_get_tuple(
                self.env().as_raw(),
                self.as_raw(),
                &mut got_arity,
                raw.as_mut_ptr(),
                arity as u32,
            )
        };
        if got == 0 || got_arity as usize != arity {
            return Err(Error::BadArg);
        }
        // SAFETY: the host wrote `arity` handles.
        unsafe { raw.set_len(arity) };
        Ok(raw
            .into_iter()
            .map(|handle| Term::from_raw(self.env(), handle))
            .collect())
    }
}

macro_rules! tuples {
    ($($len:literal: ($($name:ident $index:tt),+);)+) => {$(
        /// A tuple of the encoded elements.
        impl<$($name: Encoder),+> Encoder for ($($name,)+) {
            fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
                env.make_tuple_raw(&[$(self.$index.encode(env).as_raw()),+])
            }
        }

        /// From a tuple of this size whose every element decodes, else
        /// `BadArg`.
        impl<'a, $($name: Decoder<'a>),+> Decoder<'a> for ($($name,)+) {
            fn decode(term: Term<'a>) -> NifResult<Self> {
                let elements = term.tuple_array::<$len>()?;
                Ok(($(elements[$index].decode::<$name>()?,)+))
            }
        }
    )+};
}

tuples! {
    1: (A 0);
    2: (A 0, B 1);
    3: (A 0, B 1, C 2);
    4: (A 0, B 1, C 2, D 3);
    5: (A 0, B 1, C 2, D 3, E 4);
    6: (A 0, B 1, C 2, D 3, E 4, F 5);
}
