//! The one way a NIF asks the calling process to do something for it.
//!
//! A NIF that cannot finish on its own (the instance is busy, the guest
//! called an Erlang import, an exception must be raised with a stack of the
//! caller's, output must be written) raises `{wasm_runtime_nif_request,
//! Request}`; `wasm_runtime_nif_protocol.erl` serves it and calls the NIF it
//! names. A NIF's value is always the call's own result, never looked at by
//! the Erlang side, so guest results need no wrapping. The table of requests
//! is in docs/design.md, "Requests to the Erlang side".

use std::time::Duration;

use rustler::sys;
use rustler::{Encoder, Env, Error, NifResult, Term};

use crate::atoms;
use crate::error::{self, Outcome};

/// What the calling process is asked to do.
pub enum Request<'a> {
    /// Wait for `{wasm_runtime_nif_turn, Id}` (at most `timeout`), then
    /// make the call again.
    Turn { id: u64, timeout: Option<Duration> },
    /// Apply `fun` to `args` and hand the result to `call_reply/3`.
    Import {
        call: Term<'a>,
        carried: Term<'a>,
        index: usize,
        fun: Term<'a>,
        args: Term<'a>,
    },
    /// `erlang:raise(Class, Reason, Stack)`.
    Raise {
        class: Term<'a>,
        reason: Term<'a>,
        stack: Term<'a>,
    },
    /// Write `bytes` to the group leader (waiting at most `left`), then do
    /// what `then` says.
    Output {
        bytes: Term<'a>,
        left: Option<Duration>,
        then: Box<Answer<'a>>,
    },
    /// Apply `fun` to `bytes` (what a WASI program wrote to a streamed
    /// output), then do what `then` says. Should the fun raise: `reply`,
    /// the parked call and its carried terms, gets `{raised, Class, Reason,
    /// Stack}` through `call_reply/3`; without one, the exception is raised.
    Stream {
        fun: Term<'a>,
        bytes: Term<'a>,
        reply: Option<(Term<'a>, Term<'a>)>,
        then: Box<Answer<'a>>,
    },
    /// Run the next slice of a parked call: `call_resume/2`. Only ever
    /// the `then` of an output request.
    Resume { call: Term<'a>, carried: Term<'a> },
    /// Wait for `{wasm_runtime_nif_woken, Id}` (at most `timeout`), then
    /// run the next slice of the parked work (a call or an instantiation)
    /// with `call_resume/2`.
    Wait {
        work: Term<'a>,
        carried: Term<'a>,
        id: u64,
        timeout: Option<Duration>,
    },
}

/// What a NIF answers: its value, an error as Rustler returns it, or a
/// request to the calling process.
pub enum Answer<'a> {
    Value(Term<'a>),
    Error(Error),
    Ask(Request<'a>),
}

impl<'a> Answer<'a> {
    /// The answer as a NIF returns it: a request is raised.
    pub fn into_nif(self, env: Env<'a>) -> NifResult<Term<'a>> {
        match self {
            Answer::Value(term) => Ok(term),
            Answer::Error(error) => Err(error),
            Answer::Ask(request) => {
                let reason = (atoms::wasm_runtime_nif_request(), request.encode(env)).encode(env);
                // SAFETY: the NIF returns this value, as enif_raise_exception
                // requires.
                Ok(unsafe {
                    Term::new(
                        env,
                        sys::enif_raise_exception(env.as_c_arg(), reason.as_c_arg()),
                    )
                })
            }
        }
    }

    /// The step after an output request: `{return, Value}`, a request, or
    /// what an error raises.
    fn then_term(self, env: Env<'a>) -> Term<'a> {
        match self {
            Answer::Value(term) => (atoms::return_(), term).encode(env),
            Answer::Ask(request) => request.encode(env),
            Answer::Error(error) => match error::outcome(env, error) {
                Outcome::Raised(reason) => Request::Raise {
                    class: atoms::error().encode(env),
                    reason,
                    stack: Vec::<Term>::new().encode(env),
                }
                .encode(env),
                Outcome::Returned(value) => (atoms::return_(), value).encode(env),
            },
        }
    }
}

impl<'a> From<NifResult<Term<'a>>> for Answer<'a> {
    fn from(result: NifResult<Term<'a>>) -> Self {
        match result {
            Ok(term) => Answer::Value(term),
            Err(error) => Answer::Error(error),
        }
    }
}

/// Milliseconds, rounded up so that a call with a little time left still
/// gets its chance, or `infinity`.
fn millis<'a>(env: Env<'a>, time: Option<Duration>) -> Term<'a> {
    match time {
        Some(time) => (time.as_micros().div_ceil(1000) as u64).encode(env),
        None => atoms::infinity().encode(env),
    }
}

impl<'a> Request<'a> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let tuple = |items: &[Term<'a>]| rustler::types::tuple::make_tuple(env, items);
        match self {
            Request::Turn { id, timeout } => tuple(&[
                atoms::turn().encode(env),
                id.encode(env),
                millis(env, timeout),
            ]),
            Request::Import {
                call,
                carried,
                index,
                fun,
                args,
            } => tuple(&[
                atoms::import().encode(env),
                call,
                carried,
                index.encode(env),
                fun,
                args,
            ]),
            Request::Raise {
                class,
                reason,
                stack,
            } => tuple(&[atoms::raise().encode(env), class, reason, stack]),
            Request::Wait {
                work,
                carried,
                id,
                timeout,
            } => tuple(&[
                atoms::wait().encode(env),
                work,
                carried,
                id.encode(env),
                millis(env, timeout),
            ]),
            Request::Output { bytes, left, then } => tuple(&[
                atoms::output().encode(env),
                bytes,
                millis(env, left),
                then.then_term(env),
            ]),
            Request::Stream {
                fun,
                bytes,
                reply,
                then,
            } => tuple(&[
                atoms::stream().encode(env),
                fun,
                bytes,
                match reply {
                    Some((work, carried)) => tuple(&[work, carried]),
                    None => atoms::none().encode(env),
                },
                then.then_term(env),
            ]),
            Request::Resume { call, carried } => {
                tuple(&[atoms::resume().encode(env), call, carried])
            }
        }
    }
}
