//! What calls and instantiations share to run in slices: the cell through
//! which a suspended guest and its driver exchange data, and the plumbing
//! of a NIF that reschedules itself with `enif_schedule_nif`.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::panic::AssertUnwindSafe;

use rustler::sys::{self, c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Encoder, Env, Error, NifResult, Term};

use crate::atoms;

/// Data shared by a store's host functions (which run during a slice, inside
/// `poll`) and the driver of the call (between slices). The two never run
/// at once: a slice runs inside `poll`, on the driver's own thread.
#[derive(Default)]
pub struct SliceCell<T>(UnsafeCell<T>);

// SAFETY: see `SliceCell::get`; access alternates on one thread at a time.
unsafe impl<T: Send> Sync for SliceCell<T> {}

impl<T> SliceCell<T> {
    /// # Safety
    /// No other reference to the contents may be alive: callers are a host
    /// function during a slice or the driver between slices, and each drops
    /// its reference before control passes to the other.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        &mut *self.0.get()
    }
}

/// A NIF continuation, as `enif_schedule_nif` calls it.
pub type Continuation =
    unsafe extern "C" fn(*mut ErlNifEnv, c_int, *const ErlNifTerm) -> ErlNifTerm;

/// Asks the scheduler to run `next(argv)` later, in the same Erlang call;
/// what this returns is what the current NIF must return.
pub fn reschedule<'a>(
    env: Env<'a>,
    name: &'static CStr,
    next: Continuation,
    argv: &[Term<'a>],
) -> Term<'a> {
    let argv: Vec<ErlNifTerm> = argv.iter().map(|t| t.as_c_arg()).collect();
    // SAFETY: `argv` holds terms of this env, and the caller returns the
    // result of enif_schedule_nif from its NIF.
    unsafe {
        let scheduled = sys::enif_schedule_nif(
            env.as_c_arg(),
            name.as_ptr(),
            0,
            next,
            argv.len() as c_int,
            argv.as_ptr(),
        );
        Term::new(env, scheduled)
    }
}

/// Runs the body of a continuation: panics and errors become exceptions,
/// as Rustler does for ordinary NIFs.
///
/// # Safety
/// The arguments must be those `enif_schedule_nif` passed to the
/// continuation.
pub unsafe fn continuation<F>(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
    body: F,
) -> ErlNifTerm
where
    F: for<'a> FnOnce(Env<'a>, &[Term<'a>]) -> NifResult<Term<'a>>,
{
    let lifetime = ();
    let env = Env::new(&lifetime, env);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let args: Vec<Term> = std::slice::from_raw_parts(argv, argc.max(0) as usize)
            .iter()
            .map(|&t| Term::new(env, t))
            .collect();
        body(env, &args)
    }));
    match outcome {
        Ok(Ok(term)) => term.as_c_arg(),
        Ok(Err(error)) => raise_in(env, error),
        Err(_) => {
            sys::enif_raise_exception(env.as_c_arg(), atoms::nif_panicked().encode(env).as_c_arg())
        }
    }
}

/// What a continuation returns for an error a NIF function would return.
unsafe fn raise_in(env: Env, error: Error) -> ErlNifTerm {
    match error {
        Error::BadArg => sys::enif_make_badarg(env.as_c_arg()),
        Error::RaiseTerm(reason) => {
            sys::enif_raise_exception(env.as_c_arg(), reason.encode(env).as_c_arg())
        }
        Error::RaiseAtom(name) => {
            let atom = rustler::Atom::from_str(env, name).unwrap_or_else(|_| atoms::error());
            sys::enif_raise_exception(env.as_c_arg(), atom.as_c_arg())
        }
        Error::Term(reason) => (atoms::error(), reason.encode(env)).encode(env).as_c_arg(),
        Error::Atom(name) => rustler::Atom::from_str(env, name)
            .unwrap_or_else(|_| atoms::error())
            .as_c_arg(),
    }
}
