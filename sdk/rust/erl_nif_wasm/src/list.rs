//! Lists: [`ListIterator`], list methods of [`Term`], and `[T]`/`Vec<T>` as
//! lists.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::term::{written, STACK_TERMS};
use crate::{sys, Decoder, Encoder, Env, Error, NifResult, Term};

/// Walks a list one cell at a time, without allocating.
///
/// It yields the heads; once it returns `None`, [`ListIterator::tail`] is
/// what was left: `[]` for a proper list, the last tail of an improper one.
///
/// ```no_run
/// use erl_nif_wasm::{nif, Error, ListIterator, NifResult};
///
/// nif! {
///     fn sum<'a>(mut list: ListIterator<'a>) -> NifResult<i64> {
///         let mut sum = 0i64;
///         for head in &mut list {
///             sum = sum.wrapping_add(head.decode::<i64>()?);
///         }
///         if !list.tail().is_empty_list() {
///             return Err(Error::BadArg); // an improper list
///         }
///         Ok(sum)
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ListIterator<'a> {
    rest: Term<'a>,
}

impl<'a> ListIterator<'a> {
    /// An iterator over `term`, or `None` if it is not a list.
    pub fn new(term: Term<'a>) -> Option<ListIterator<'a>> {
        term.is_list().then_some(ListIterator { rest: term })
    }

    /// What is left to walk: once the iterator is done, `[]` if the list
    /// was proper, else its improper tail.
    pub fn tail(&self) -> Term<'a> {
        self.rest
    }
}

impl<'a> Iterator for ListIterator<'a> {
    type Item = Term<'a>;

    fn next(&mut self) -> Option<Term<'a>> {
        let (head, tail) = self.rest.list_get_cell().ok()?;
        self.rest = tail;
        Some(head)
    }
}

impl<'a> Decoder<'a> for ListIterator<'a> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        ListIterator::new(term).ok_or(Error::BadArg)
    }
}

impl<'a> Term<'a> {
    /// An iterator over the list, or `BadArg` if this is not a list.
    pub fn list_iter(self) -> NifResult<ListIterator<'a>> {
        ListIterator::decode(self)
    }

    /// The length of a proper list, or `BadArg`.
    pub fn list_length(self) -> NifResult<usize> {
        let (env, list) = (self.env().as_raw(), self.as_raw());
        // SAFETY: `written` passes a pointer to a u32.
        let len: u32 = written(|len| unsafe { sys::enif_wasm_get_list_length(env, list, len) })?;
        Ok(len as usize)
    }

    /// The head and tail of a non-empty list, or `BadArg`.
    pub fn list_get_cell(self) -> NifResult<(Term<'a>, Term<'a>)> {
        let (env, list) = (self.env(), self.as_raw());
        let (mut head, mut tail) = (0, 0);
        // SAFETY: `head` and `tail` are writable.
        if unsafe { sys::enif_wasm_get_list_cell(env.as_raw(), list, &mut head, &mut tail) } == 0 {
            return Err(Error::BadArg);
        }
        Ok((Term::from_raw(env, head), Term::from_raw(env, tail)))
    }

    /// The proper list reversed (`lists:reverse/1`), or `BadArg`.
    pub fn list_reverse(self) -> NifResult<Term<'a>> {
        let (env, list) = (self.env().as_raw(), self.as_raw());
        // SAFETY: `written` passes a pointer to a handle.
        let reversed = written(|out| unsafe { sys::enif_wasm_make_reverse_list(env, list, out) })?;
        Ok(Term::from_raw(self.env(), reversed))
    }
}

/// A proper list of the handles, made with as few host calls as it can.
pub(crate) fn make_list<'a, I>(env: Env<'a>, handles: I) -> Term<'a>
where
    I: DoubleEndedIterator<Item = sys::ErlNifTerm> + ExactSizeIterator,
{
    let len = handles.len();
    if len <= STACK_TERMS {
        let mut buf = [0; STACK_TERMS];
        for (slot, handle) in buf.iter_mut().zip(handles) {
            *slot = handle;
        }
        make_list_raw(env, &buf[..len])
    } else {
        make_long_list(env, handles)
    }
}

#[cfg(feature = "alloc")]
fn make_long_list<'a>(env: Env<'a>, handles: impl Iterator<Item = sys::ErlNifTerm>) -> Term<'a> {
    let handles: Vec<_> = handles.collect();
    make_list_raw(env, &handles)
}

#[cfg(not(feature = "alloc"))]
fn make_long_list<'a>(
    env: Env<'a>,
    handles: impl DoubleEndedIterator<Item = sys::ErlNifTerm>,
) -> Term<'a> {
    let empty = make_list_raw(env, &[]);
    handles.rev().fold(empty, |tail, head| {
        env.make_list_cell(Term::from_raw(env, head), tail)
    })
}

/// The host copies at most `MAX_ARRAY_TERMS` handles per call: the last ones
/// go in one array, the ones before are consed on one at a time.
pub(crate) fn make_list_raw<'a>(env: Env<'a>, handles: &[sys::ErlNifTerm]) -> Term<'a> {
    let (front, back) = handles.split_at(handles.len().saturating_sub(sys::MAX_ARRAY_TERMS));
    // SAFETY: the array is readable.
    let list = unsafe {
        sys::enif_wasm_make_list_from_array(env.as_raw(), back.as_ptr(), back.len() as u32)
    };
    front
        .iter()
        .rev()
        .fold(Term::from_raw(env, list), |tail, &head| {
            env.make_list_cell(Term::from_raw(env, head), tail)
        })
}

/// A list of the encoded elements.
impl<T: Encoder> Encoder for [T] {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        make_list(env, self.iter().map(|x| x.encode(env).as_raw()))
    }
}

impl<T: Encoder, const N: usize> Encoder for [T; N] {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.as_slice().encode(env)
    }
}

#[cfg(feature = "alloc")]
impl<T: Encoder> Encoder for Vec<T> {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.as_slice().encode(env)
    }
}

/// From a proper list whose every element decodes, else `BadArg`.
#[cfg(feature = "alloc")]
impl<'a, T: Decoder<'a>> Decoder<'a> for Vec<T> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        let mut out = Vec::with_capacity(term.list_length()?);
        for head in term.list_iter()? {
            out.push(head.decode()?);
        }
        Ok(out)
    }
}
