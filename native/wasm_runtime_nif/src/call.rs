//! A call from start to finish: the instance's guest taken, arguments in
//! (`call/arguments.rs`), the guest run in slices by the driver of
//! `slicing.rs`, results out (`call/results.rs`), the guest given back.
//!
//! A call takes the instance's [`Guest`] and moves it into a future that
//! runs the export on a Wasmtime fiber. Between slices the call may be
//! rescheduled, or parked while the calling process runs an Erlang import
//! (`erlang_import.rs`) or writes what the guest printed (`output.rs`). If
//! the process dies meanwhile, the parked call is garbage collected and the
//! instance is invalidated with reason `cancelled`.

mod arguments;
pub mod component;
mod results;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustler::sys::ErlNifTerm;
use rustler::{Env, Term};
use wasmtime::ValRaw;

use crate::component::Lifting;
use crate::erlang_import::{self, Handed, Reply};
use crate::error::{raise, HostTrap, ImportRaised, TrapReason};
use crate::instance::exports::{Abi, Name};
use crate::instance::turns::{Loan, Turn};
use crate::instance::{Guest, Instantiated, WasmInstance};
use crate::limits::{CallLimits, Deadline, Metering};
use crate::output;
use crate::protocol::{Answer, Request};
use crate::reaper;
use crate::resource::{self, OwnResource, ResourceType};
use crate::slicing::wakeup::Wakeup;
use crate::slicing::{self, Pause, Sliced, Suspended};
use crate::store::{self, data::Cells};
use crate::values;
use crate::wasi;

type Done = (Box<Guest>, wasmtime::Result<()>);

/// A call in progress: the guest's future, which owns the instance's guest.
pub struct Call {
    /// The instance, whose guest the future owns: the call gives it back
    /// or ends it.
    loan: Loan<'static>,
    future: Pin<Box<dyn Future<Output = Done> + Send>>,
    abi: Abi,
    name: Name,
    deadline: Option<Deadline>,
    /// The store's cells, while the future owns the store.
    cells: Arc<Cells>,
    /// The Erlang import whose fun is running in the caller, waiting for
    /// its result.
    awaiting: Option<usize>,
    /// Class, reason and stack of an exception the fun raised: raised again
    /// in the caller once the guest has unwound (within the same NIF call).
    raised: Option<[ErlNifTerm; 3]>,
    handed: Handed,
    /// Parked while the caller hands streamed WASI output to its funs.
    streaming: bool,
    /// Every slice on a dirty scheduler (`call/component.rs`); from the
    /// first growth past the bound on, for a function `Lifting::Bounded`.
    dirty: bool,
    /// The guest returned, and the call is parked only to hand over its
    /// output or convert its result: `interrupt/1` no longer stops it.
    returned: bool,
}

type GuestFuture = Pin<Box<dyn Future<Output = Done> + Send>>;

static SUSPENDED_CALL_TYPE: ResourceType = ResourceType::new();

impl OwnResource for Suspended<Call> {
    fn resource_type() -> &'static ResourceType {
        &SUSPENDED_CALL_TYPE
    }

    fn collected(&mut self, env: Env) {
        self.cancel(env);
    }
}

/// The call NIFs: takes the instance, prepares the arguments and runs the
/// first slice; on a bad argument the instance goes straight back.
pub fn start<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    abi: Abi,
    name: Term<'a>,
    args: Term<'a>,
    limits: Term<'a>,
) -> Answer<'a> {
    let metering = instance.module().metering;
    let limits = match instance.call_limits(limits) {
        Ok(limits) => limits,
        Err(error) => return Answer::Error(error),
    };
    let (loan, mut guest) = match take(env, instance, &limits) {
        Ok(taken) => taken,
        Err(answer) => return answer,
    };
    let module = loan.instance().module();
    let index = match arguments::prepare(env, &mut guest, module, abi, name, args) {
        Ok(index) => index,
        Err(error) => {
            loan.give_back(env, guest);
            return Answer::Error(error);
        }
    };
    let here = abi == Abi::Raw && guest.exports.get(index).bounded;
    if let Err(error) = store::arm(&mut guest.store, metering, limits, !here) {
        loan.give_back(env, guest);
        return Answer::Error(raise(TrapReason::from_error(&error)));
    }
    if here {
        return run_here(env, loan, guest, index);
    }
    let cells = guest.cells.clone();
    // SAFETY: no slice of this instance is running: we hold its guest.
    unsafe { cells.output.get() }.begin();
    let future = Box::pin(async move {
        let outcome = {
            let Guest {
                store,
                exports,
                params,
                results,
                ..
            } = &mut *guest;
            let export = exports.get(index);
            match &export.fast {
                Some(fast) => fast.call(store, params, results).await,
                None => export.func.call_async(store, params, results).await,
            }
        };
        (guest, outcome)
    });
    let call = Call::new(loan, future, cells, abi, Name::of(name), limits, false);
    slicing::run(env, call, None)
}

impl Call {
    fn new(
        loan: Loan,
        future: GuestFuture,
        cells: Arc<Cells>,
        abi: Abi,
        name: Name,
        limits: CallLimits,
        dirty: bool,
    ) -> Self {
        Call {
            streaming: false,
            cells,
            loan: loan.kept(),
            future,
            abi,
            name,
            deadline: limits.deadline(),
            awaiting: None,
            raised: None,
            handed: Handed::default(),
            dirty,
            returned: false,
        }
    }

    /// Starts a call of a component instance whose guest is ready
    /// (`call/component.rs` converted the arguments and chose what to
    /// run); the handles `lent` as `own` are the guest's once it is armed.
    pub fn start_component<'a>(
        env: Env<'a>,
        loan: Loan,
        mut guest: Box<Guest>,
        name: Name,
        limits: CallLimits,
        lifting: Lifting,
        lent: Vec<crate::component::handle::Lent>,
    ) -> Answer<'a> {
        let module = loan.instance().module().clone();
        if let Err(error) = store::arm(&mut guest.store, module.metering, limits, true) {
            loan.give_back(env, guest);
            return Answer::Error(raise(TrapReason::from_error(&error)));
        }
        lent.into_iter()
            .for_each(crate::component::handle::Lent::commit);
        // Arguments converted on a dirty scheduler are lowered into the
        // guest there too, in the call's first slice.
        let dirty =
            slicing::on_dirty_scheduler() || lifting.dirty(guest.store.data().limits.memory());
        let data = guest.store.data_mut();
        data.limits.yield_past = match (dirty, lifting) {
            (false, Lifting::Bounded(bound)) => Some(bound),
            _ => None,
        };
        data.cells.lift_moved_dirty.store(false, Ordering::Relaxed);
        guest
            .store
            .set_hostcall_fuel(match dirty || lifting != Lifting::Small {
                true => crate::component::MAX_LIFT_BYTES,
                false => crate::component::NORMAL_SCHEDULER_LIFT_BYTES,
            });
        let cells = guest.cells.clone();
        let future = Box::pin(async move {
            let outcome = {
                let Guest {
                    store, instance, ..
                } = &mut *guest;
                match (instance, module.component()) {
                    (Instantiated::Component(called), Some(code)) => {
                        crate::component::called::run(store, called, code).await
                    }
                    _ => Err(wasmtime::format_err!("not an instance of a component")),
                }
            };
            (guest, outcome)
        });
        let call = Call::new(loan, future, cells, Abi::Component, name, limits, dirty);
        slicing::run(env, call, None)
    }
}

/// The instance's guest for a call by the calling process, or the answer
/// that queues the caller (waiting at most the call's timeout) or refuses.
pub fn take<'a, 'i>(
    env: Env<'a>,
    instance: &'i WasmInstance,
    limits: &CallLimits,
) -> Result<(Loan<'i>, Box<Guest>), Answer<'a>> {
    match instance.take(env) {
        Ok(Turn::Go(loan, guest)) => Ok((loan, guest)),
        Ok(Turn::Wait(id)) => Err(Answer::Ask(Request::Turn {
            id,
            timeout: limits.timeout,
        })),
        Err(error) => Err(Answer::Error(error)),
    }
}

/// Runs export `index`, which provably finishes quickly, on this thread's
/// stack: no fiber, no future, no slices.
fn run_here<'a>(env: Env<'a>, loan: Loan, mut guest: Box<Guest>, index: usize) -> Answer<'a> {
    let Guest {
        store,
        exports,
        params,
        results,
        raw,
        ..
    } = &mut *guest;
    raw.clear();
    raw.extend(params.iter().map(values::to_raw));
    raw.resize(params.len().max(results.len()), ValRaw::i64(0));
    // SAFETY: `raw` holds the parameters, each converted from a value
    // checked against the function's type, with room for its results; the
    // function is bounded (module/bounded.rs), so it calls nothing: no host
    // function (async or not) runs and nothing recurses into the store, and
    // its epoch deadline is out of reach, so it never yields. That is why
    // the check that a store whose imports may yield is called
    // asynchronously does not apply, and `call_unchecked` skips it.
    let outcome = unsafe {
        exports
            .get(index)
            .func
            .call_unchecked(&mut *store, raw.as_mut_slice() as *mut [ValRaw])
    };
    for (result, value) in results.iter_mut().zip(raw.iter()) {
        *result = values::from_raw(*value, result);
    }
    let answer = outcome.map(|()| results::raw(env, &guest.results));
    conclude(env, loan, guest, answer, None)
}

/// Ends a call: the guest goes back with the call's answer or, when the
/// guest failed, the instance is ended, and the call raises why (the
/// exception of an Erlang import's fun, when that is why).
fn conclude<'a>(
    env: Env<'a>,
    loan: Loan,
    guest: Box<Guest>,
    answer: wasmtime::Result<Answer<'a>>,
    raised: Option<[ErlNifTerm; 3]>,
) -> Answer<'a> {
    if loan.instance().module().metering == Metering::Fuel {
        loan.instance().note_fuel(&guest.store);
    }
    match answer {
        Ok(answer) => {
            loan.give_back(env, guest);
            answer
        }
        Err(error) => {
            reaper::dispose(guest);
            let reason = TrapReason::from_error(&error);
            loan.invalidate(env, reason.clone());
            match raised {
                Some(exception) if error.is::<ImportRaised>() => raise_again(env, exception),
                _ => Answer::Error(raise(reason)),
            }
        }
    }
}

/// A fun's own exception (class, reason, stack), raised again in the
/// caller; the terms are arguments of this NIF call.
fn raise_again(env: Env<'_>, [class, reason, stack]: [ErlNifTerm; 3]) -> Answer<'_> {
    // SAFETY: the caller's terms, alive for this NIF call.
    unsafe {
        Answer::Ask(Request::Raise {
            class: Term::new(env, class),
            reason: Term::new(env, reason),
            stack: Term::new(env, stack),
        })
    }
}

/// `call_reply/3`: the Erlang side's answer for the import the parked
/// `call` waits for. Resumes the guest with it.
pub fn reply<'a>(env: Env<'a>, call: Term<'a>, carried: Term<'a>, reply: Term<'a>) -> Answer<'a> {
    // A call that runs on dirty schedulers converts the fun's result there.
    let dirty = resource::borrow::<Suspended<Call>>(call)
        .and_then(|suspended| suspended.peek(Sliced::runs_dirty))
        .unwrap_or(false);
    if dirty && !slicing::on_dirty_scheduler() {
        let argv = [call, carried, reply];
        let name = c"wasm_call_reply_dirty";
        return Answer::Value(slicing::continue_on_dirty(env, name, reply_on_dirty, &argv));
    }
    // Everything that can be refused is checked before the call is taken
    // out of its resource, so that a refusal leaves it as it was.
    let reply = match Reply::decode(reply) {
        Ok(reply) => reply,
        Err(error) => return Answer::Error(error),
    };
    let mut index = None;
    let mut streaming = false;
    let raised = matches!(reply, Reply::Raised(_));
    // An import's call takes any reply; a call parked for its streamed
    // output, only the exception of a fun.
    let awaiting = |call: &mut Call| {
        let accepted = call.awaiting.is_some() || (call.streaming && raised);
        if accepted {
            index = call.awaiting.take();
            streaming = std::mem::take(&mut call.streaming);
        }
        accepted
    };
    let (mut call, suspended) = match slicing::resume(env, call, carried, awaiting) {
        Ok(resumed) => resumed,
        Err(error) => return Answer::Error(error),
    };
    if streaming {
        // The fun of a streamed output raised: the program's next write
        // traps, and the call raises the fun's exception.
        if let Some(wasi) = &call.loan.instance().wasi {
            wasi::fail_streams(&wasi.output);
        }
        if let Reply::Raised(exception) = reply {
            call.raised = Some(exception);
        }
        return slicing::run(env, call, Some(suspended));
    }
    let index = index.expect("a resumed call was awaiting an import");
    // The fun's time counts: a call past its deadline does not go on.
    if let Some(deadline) = call.deadline.filter(Deadline::passed) {
        return call.stop(env, TrapReason::timeout(Call::WHAT, deadline.limit));
    }
    let instance = call.loan.instance();
    // SAFETY: the guest is suspended; nothing else looks.
    let exchange = unsafe { call.cells.imports.get() };
    let outcome = match (instance.module().component(), instance.component_owner()) {
        (Some(code), Some(owner)) => match reply {
            Reply::Returned(value) => crate::component::called::import_results(
                value,
                code,
                index,
                owner,
                &mut exchange.parts,
            )
            .map_err(|message| HostTrap::new("bad_host_result", message).into()),
            Reply::Raised(exception) => {
                call.raised = Some(exception);
                Err(ImportRaised.into())
            }
        },
        _ => {
            let import = &instance.module().erlang_imports[index];
            reply.into_results(import, &mut exchange.values, &mut call.raised)
        }
    };
    exchange.reply = Some(outcome);
    slicing::run(env, call, Some(suspended))
}

unsafe extern "C" fn reply_on_dirty(
    env: *mut rustler::sys::ErlNifEnv,
    argc: std::ffi::c_int,
    argv: *const ErlNifTerm,
) -> ErlNifTerm {
    slicing::nif_body(env, argc, argv, |env, [call, carried, value]| {
        reply(env, call, carried, value).into_nif(env)
    })
}

/// `call_resume/2`: the next slice of a call parked while its output was
/// written.
pub fn resume<'a>(env: Env<'a>, call: Term<'a>, carried: Term<'a>) -> Answer<'a> {
    // A call waiting for a fun's result is resumed by `reply` only.
    match slicing::resume(env, call, carried, |call: &mut Call| {
        call.streaming = false;
        call.awaiting.is_none()
    }) {
        Ok((call, suspended)) => slicing::run(env, call, Some(suspended)),
        Err(error) => Answer::Error(error),
    }
}

impl Call {
    /// What the WASI program wrote to its streamed outputs since the last
    /// time.
    fn streamed<'a>(&self, env: Env<'a>) -> Vec<(Term<'a>, Term<'a>)> {
        match &self.loan.instance().wasi {
            Some(wasi) => wasi.streamed(env),
            None => Vec::new(),
        }
    }

    /// What the guest printed since the last time, if anything; `last` at
    /// the end of the call.
    fn printed(&self, last: bool) -> Option<Vec<u8>> {
        // SAFETY: the guest is not running; nothing else looks.
        unsafe { self.cells.output.get() }.take(last)
    }

    /// Stops the call where it is: the guest computation is dropped (off the
    /// scheduler) and the instance, whose state is now arbitrary, is ended.
    fn abandon(self, env: Env, reason: TrapReason) {
        if self.abi == Abi::Terms {
            // Ends the call's use of the table now, while this NIF's env is
            // valid: the table may hold an enif map iterator that points
            // into the process heap, which must not outlive the slice.
            // SAFETY: the guest is not running; nothing else touches it.
            unsafe { self.cells.terms.get() }.end();
        }
        reaper::dispose(self.future);
        self.loan.invalidate(env, reason);
    }

    /// How many Erlang imports the instance's module or component has.
    fn erlang_imports(&self) -> usize {
        let module = self.loan.instance().module();
        match module.component() {
            Some(code) => code.imports.len(),
            None => module.erlang_imports.len(),
        }
    }

    /// The guest called an Erlang import: park the call and ask the caller
    /// to run the fun.
    fn ask_import<'a>(mut self, env: Env<'a>, pause: Pause<'a, Self>, index: usize) -> Answer<'a> {
        let instance = self.loan.instance();
        let imports = self.erlang_imports();
        let Some(fun) = self
            .handed
            .fun(env, index, imports, || instance.import_fun(env, index))
        else {
            // Every Erlang import has a fun; should one be missing, the call
            // cannot go on, and the instance must not stay held.
            let reason = TrapReason::new("host_error", format!("no fun for Erlang import {index}"));
            self.abandon(env, reason.clone());
            return Answer::Error(raise(reason));
        };
        // SAFETY: the guest is suspended; nothing else looks.
        let exchange = unsafe { self.cells.imports.get() };
        let args = match (instance.module().component(), instance.component_owner()) {
            (Some(code), Some(owner)) => {
                crate::component::called::import_args(env, code, index, &exchange.parts, owner)
            }
            _ => erlang_import::args(env, &exchange.values),
        };
        self.awaiting = Some(index);
        let (call, carried) = pause.park(env, self);
        Answer::Ask(Request::Import {
            call,
            carried,
            index,
            fun,
            args,
        })
    }

    /// Parks the call while the caller hands `streamed` to its funs (after
    /// `printed`, within `left`), then resumes it.
    fn hand_over<'a>(
        mut self,
        env: Env<'a>,
        pause: Pause<'a, Self>,
        streamed: Vec<(Term<'a>, Term<'a>)>,
        printed: Option<Vec<u8>>,
        left: Option<Duration>,
    ) -> Answer<'a> {
        self.streaming = true;
        let (call, carried) = pause.park(env, self);
        let resume = Answer::Ask(Request::Resume { call, carried });
        let next = wasi::stream_requests(streamed, Some((call, carried)), resume);
        output::deliver(env, printed, left, next)
    }

    /// The call's answer once the guest is done. The exception of a fun
    /// (an Erlang import's, a streamed output's) is the call's, whatever
    /// the guest did after it: returned, exited, trapped.
    fn end<'a>(
        self,
        env: Env<'a>,
        mut guest: Box<Guest>,
        outcome: wasmtime::Result<()>,
    ) -> Answer<'a> {
        let outcome = match self.raised {
            Some(_) => Err(ImportRaised.into()),
            None => outcome,
        };
        let answer = match self.abi {
            Abi::Raw => outcome.map(|()| results::raw(env, &guest.results)),
            Abi::Terms => {
                let answer = results::terms(env, &self.cells, &guest.results, self.name);
                outcome.map(|()| answer)
            }
            Abi::Component => {
                let module = self.loan.instance().module();
                match (&mut guest.instance, module.component()) {
                    (Instantiated::Component(called), Some(code)) => outcome.map(|()| {
                        Answer::Value(crate::component::called::result(env, called, code))
                    }),
                    _ => outcome.map(|()| Answer::Error(rustler::Error::BadArg)),
                }
            }
        };
        conclude(env, self.loan, guest, answer, self.raised)
    }
}

impl Sliced for Call {
    type Done = Done;

    const NAME: &'static std::ffi::CStr = c"wasm_call_slice";

    const WHAT: &'static str = "the call";

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Done> {
        // An instance of a module that imports WASI may wait for files and
        // clocks: its waker is the instance's.
        match self.loan.instance().wasi.is_some() {
            true => wasi::in_runtime(|| self.future.as_mut().poll(cx)),
            false => self.future.as_mut().poll(cx),
        }
    }

    fn wakeup(&self) -> Option<&Arc<Wakeup>> {
        self.loan.instance().wasi.as_ref().map(|wasi| &wasi.wakeup)
    }

    fn runs_dirty(&self) -> bool {
        self.dirty || self.cells.lift_moved_dirty.load(Ordering::Relaxed)
    }

    fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }

    fn interrupted(&self) -> bool {
        !self.returned && self.loan.instance().interrupt_requested()
    }

    // Printed output at the end of a call is written without a time limit
    // when the instance is free by then and only the caller waits, as for
    // io:format/2. While the call is parked, holding the instance, the wait
    // is bounded by what is left of its timeout.
    fn finish<'a>(mut self, env: Env<'a>, done: Done, pause: Pause<'a, Self>) -> Answer<'a> {
        self.returned = true;
        // A component's result too large to convert here is converted on a
        // dirty scheduler, where the call ends.
        if let (Instantiated::Component(called), Ok(())) = (&done.0.instance, &done.1) {
            if crate::component::called::result_too_large(called) {
                self.future = Box::pin(std::future::ready(done));
                return pause.reschedule_dirty(env, self);
            }
        }
        let printed = self.printed(true);
        let streamed = self.streamed(env);
        if !streamed.is_empty() {
            // Streamed output is handed over while the call holds the
            // instance, whether the guest wrote it before its last slice or
            // in it: a fun that raises ends the call the same way in both.
            self.future = Box::pin(std::future::ready(done));
            let left = self.deadline.map(|deadline| deadline.left());
            return self.hand_over(env, pause, streamed, printed, left);
        }
        let (guest, outcome) = done;
        let answer = self.end(env, guest, outcome);
        output::deliver(env, printed, None, answer)
    }

    /// The guest was stopped at an arbitrary point, so, as after a trap,
    /// the instance is invalidated.
    /// A fun's exception stays the call's, whatever stopped it after.
    fn stop<'a>(self, env: Env<'a>, reason: TrapReason) -> Answer<'a> {
        let printed = self.printed(true);
        let streamed = self.streamed(env);
        let raised = self.raised;
        self.abandon(env, reason.clone());
        let failed = match raised {
            Some(exception) => raise_again(env, exception),
            None => Answer::Error(raise(reason)),
        };
        let answer = wasi::stream_requests(streamed, None, failed);
        output::deliver(env, printed, None, answer)
    }

    fn paused<'a>(self, env: Env<'a>, pause: Pause<'a, Self>) -> Answer<'a> {
        // Streamed output goes first, in the order it was written: a
        // request to an Erlang import waits for the next pause.
        let streamed = self.streamed(env);
        if !streamed.is_empty() {
            let printed = self.printed(false);
            let left = self.deadline.map(|deadline| deadline.left());
            return self.hand_over(env, pause, streamed, printed, left);
        }
        let request = match self.erlang_imports() == 0 {
            true => None,
            // SAFETY: the guest is suspended; nothing else looks.
            false => unsafe { self.cells.imports.get() }.request.take(),
        };
        let printed = self.printed(false);
        let left = self.deadline.map(|deadline| deadline.left());
        let next = match request {
            Some(index) => self.ask_import(env, pause, index),
            None if printed.is_none() => return pause.wait(env, self, left),
            // The output goes first; the Erlang side resumes the call.
            None => {
                let (call, carried) = pause.park(env, self);
                Answer::Ask(Request::Resume { call, carried })
            }
        };
        output::deliver(env, printed, left, next)
    }

    fn carry_out<'a>(&mut self, env: Env<'a>) -> Term<'a> {
        match self.abi {
            // SAFETY: the guest is suspended; nothing else touches the table.
            Abi::Terms => slicing::carry(env, unsafe { self.cells.terms.get() }.suspend()),
            Abi::Raw | Abi::Component => slicing::carry(env, &[]),
        }
    }

    fn carry_in(&mut self, env: Env, carried: &[ErlNifTerm]) {
        if self.abi == Abi::Terms {
            // SAFETY: the guest is suspended; nothing else touches the table.
            unsafe { self.cells.terms.get() }.resume(env.as_c_arg(), carried);
        }
    }

    fn cancel(self, env: Env) {
        let reason = TrapReason::new("cancelled", "the calling process exited during the call");
        self.abandon(env, reason);
    }
}
