//! Binaries: [`Binary`], a view of a binary term, and [`Bytes`], an owned
//! byte vector that encodes as a binary; strings as UTF-8 binaries.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

use crate::term::written;
use crate::{sys, Decoder, Encoder, Env, Error, NifResult, Term};

/// A binary term of the call in progress, read on demand.
///
/// Its bytes live in the VM, outside wasm memory: read them with
/// [`Binary::copy_to`] or [`Binary::to_vec`].
#[derive(Clone, Copy, Debug)]
pub struct Binary<'a> {
    term: Term<'a>,
    len: usize,
}

impl<'a> Binary<'a> {
    /// `term` as a binary, or `BadArg` if it is not one (a bitstring whose
    /// size is not a whole number of bytes is not).
    pub fn from_term(term: Term<'a>) -> NifResult<Binary<'a>> {
        let (env, bin) = (term.env().as_raw(), term.as_raw());
        // SAFETY: `written` passes a pointer to a u32.
        let len: u32 = written(|len| unsafe { sys::enif_wasm_get_binary_size(env, bin, len) })?;
        Ok(Binary {
            term,
            len: len as usize,
        })
    }

    /// The binary of the bytes of an iolist: a binary, or a possibly deep
    /// list of bytes and binaries (`iolist_to_binary/1`).
    pub fn from_iolist(term: Term<'a>) -> NifResult<Binary<'a>> {
        let (env, iolist) = (term.env().as_raw(), term.as_raw());
        // SAFETY: `written` passes a pointer to a handle.
        let bin =
            written(|bin| unsafe { sys::enif_wasm_inspect_iolist_as_binary(env, iolist, bin) })?;
        Binary::from_term(Term::from_raw(term.env(), bin))
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for `<<>>`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The binary as a term.
    pub fn to_term(&self) -> Term<'a> {
        self.term
    }

    /// Copies bytes `[offset, offset + dest.len())` into `dest`; `BadArg` if
    /// that range goes past the end.
    pub fn copy_to(&self, offset: usize, dest: &mut [u8]) -> NifResult<()> {
        match offset.checked_add(dest.len()) {
            Some(end) if end <= self.len => {}
            _ => return Err(Error::BadArg),
        }
        // SAFETY: `dest` is writable for its length.
        let copied = unsafe {
            sys::enif_wasm_get_binary_bytes(
                self.term.env().as_raw(),
                self.term.as_raw(),
                offset as u32,
                dest.len() as u32,
                dest.as_mut_ptr(),
            )
        };
        if copied == 0 {
            return Err(Error::BadArg);
        }
        Ok(())
    }

    /// A copy of the bytes.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len);
        // SAFETY: the buffer is writable for `len` bytes.
        let copied = unsafe {
            sys::enif_wasm_get_binary_bytes(
                self.term.env().as_raw(),
                self.term.as_raw(),
                0,
                self.len as u32,
                bytes.as_mut_ptr(),
            )
        };
        // Cannot fail: the handle, its size and the buffer were all checked.
        assert!(
            copied != 0,
            "enif_wasm_get_binary_bytes refused a whole binary"
        );
        // SAFETY: the first `len` bytes were written just above.
        unsafe { bytes.set_len(self.len) };
        bytes
    }

    /// The `len` bytes starting at `pos`, sharing this binary's memory;
    /// `BadArg` if the range goes past the end.
    pub fn sub_binary(&self, pos: usize, len: usize) -> NifResult<Binary<'a>> {
        match pos.checked_add(len) {
            Some(end) if end <= self.len => {}
            _ => return Err(Error::BadArg),
        }
        let env = self.term.env();
        let sub = sys::enif_wasm_make_sub_binary(
            env.as_raw(),
            self.term.as_raw(),
            pos as u32,
            len as u32,
        );
        Ok(Binary {
            term: Term::from_raw(env, sub),
            len,
        })
    }
}

impl<'a> Decoder<'a> for Binary<'a> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        Binary::from_term(term)
    }
}

impl Encoder for Binary<'_> {
    fn encode<'b>(&self, env: Env<'b>) -> Term<'b> {
        self.term.encode(env)
    }
}

/// Bytes that encode as a binary and decode from one.
///
/// `Vec<u8>` is a list of integers, as every `Vec<T>`; wrap bytes in `Bytes`
/// to exchange binaries.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

#[cfg(feature = "alloc")]
impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Bytes {
        Bytes(bytes)
    }
}

#[cfg(feature = "alloc")]
impl From<Bytes> for Vec<u8> {
    fn from(bytes: Bytes) -> Vec<u8> {
        bytes.0
    }
}

#[cfg(feature = "alloc")]
impl core::ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

#[cfg(feature = "alloc")]
impl core::ops::DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

#[cfg(feature = "alloc")]
impl Encoder for Bytes {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        env.make_binary(&self.0)
    }
}

#[cfg(feature = "alloc")]
impl<'a> Decoder<'a> for Bytes {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        Ok(Bytes(Binary::from_term(term)?.to_vec()))
    }
}

/// A UTF-8 binary, as Elixir strings and Rustler.
impl Encoder for str {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        env.make_binary(self.as_bytes())
    }
}

#[cfg(feature = "alloc")]
impl Encoder for String {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.as_str().encode(env)
    }
}

/// From a binary holding valid UTF-8, else `BadArg`.
#[cfg(feature = "alloc")]
impl<'a> Decoder<'a> for String {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        String::from_utf8(Binary::from_term(term)?.to_vec()).map_err(|_| Error::BadArg)
    }
}
