//! A call's result: the result values for `call_raw/3`, the term named by
//! the result handle for `call/3`, or the exception the guest raised.

use rustler::{Encoder, Env, Error, Term};
use wasmtime::Val;

use crate::atoms;
use crate::error::raise;
use crate::instance::exports::Name;
use crate::protocol::{Answer, Request};
use crate::store::data::Cells;
use crate::term_table::{Exception, Resolved};
use crate::values;

/// `void` for no result, the value for one, a tuple for several.
pub fn raw<'a>(env: Env<'a>, results: &[Val]) -> Answer<'a> {
    Answer::Value(values::results_term(env, results))
}

/// The term the guest returned, or the exception it raised; ends the call's
/// use of the term table either way.
pub fn terms<'a>(env: Env<'a>, cells: &Cells, results: &[Val], name: Name) -> Answer<'a> {
    // SAFETY: the call is over; nothing else touches the table.
    let table = unsafe { cells.terms.get() };
    let handle = results.first().and_then(Val::i64).unwrap_or(0);
    let resolved = table.resolve(handle);
    let exception = match table.exception() {
        Some(Exception::Raise(reason)) => table.resolve(reason),
        _ => None,
    };
    table.end();
    // SAFETY (for Term::new): the terms were arguments of this call or were
    // made in the env of one of its slices, all of this process.
    match resolved {
        Some(Resolved::Term(term)) => Answer::Value(unsafe { Term::new(env, term) }),
        Some(Resolved::Badarg) => match exception {
            // Raised by the Erlang side, where no catch of ours can mistake
            // the reason for one of our own.
            Some(Resolved::Term(reason)) => Answer::Ask(Request::Raise {
                class: atoms::error().encode(env),
                reason: unsafe { Term::new(env, reason) },
                stack: Vec::<Term>::new().encode(env),
            }),
            _ => Answer::Error(Error::BadArg),
        },
        None => Answer::Error(raise((atoms::bad_result_handle(), name, handle))),
    }
}
