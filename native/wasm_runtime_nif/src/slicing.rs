//! Guest code run in slices: the one driver that calls, instantiations
//! (start functions) and any later kind of guest run share.
//!
//! A [`Sliced`] piece of work owns a future that runs the guest on a
//! Wasmtime fiber. Each NIF invocation polls it for one slice: the epoch
//! ticker makes the guest yield after at most `EPOCH_TICK`. Work that is
//! not done is parked in a [`Suspended`] resource and either rescheduled
//! with `enif_schedule_nif` (the scheduler is free between slices and other
//! processes run) or handed to the Erlang side with a request (see
//! `protocol.rs`), which resumes it later. Work done in its first slice
//! never allocates the resource nor reschedules.
//!
//! If the calling process dies between slices, the resource is garbage
//! collected and its destructor cancels the work.

use std::cell::{Cell, UnsafeCell};
use std::ffi::CStr;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rustler::sys::{self, c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Encoder, Env, Error, NifResult, Term};

use crate::atoms;
use crate::epoch;
use crate::error::{self, Outcome, TrapReason};
use crate::limits::Deadline;
use crate::live_count;
use crate::protocol::{Answer, Request};
use crate::resource::{self, Handle, OwnResource};

pub mod wakeup;

use std::sync::Arc;
use wakeup::Wakeup;

thread_local! {
    /// The env of the NIF this thread is running, within `in_nif`.
    static CURRENT_ENV: Cell<*mut ErlNifEnv> = const { Cell::new(std::ptr::null_mut()) };
}

/// Runs `body`, the work of a NIF of `env`, with `env` reachable through
/// [`current_env`]: what a drop guard needs to tell processes, should a
/// panic unwind through it.
fn in_nif<'a, R>(env: Env<'a>, body: impl FnOnce() -> R) -> R {
    struct Restore(*mut ErlNifEnv);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT_ENV.with(|current| current.set(self.0));
        }
    }
    let _restore = Restore(CURRENT_ENV.with(|current| current.replace(env.as_c_arg())));
    body()
}

/// `f` applied to the env of the NIF this thread is running, if it runs
/// one inside `in_nif`.
pub fn current_env<R>(f: impl for<'a> FnOnce(Env<'a>) -> R) -> Option<R> {
    let env = CURRENT_ENV.with(Cell::get);
    if env.is_null() {
        return None;
    }
    let lifetime = ();
    // SAFETY: set by `in_nif` for the duration of a NIF call of this env.
    Some(f(unsafe { Env::new(&lifetime, env) }))
}

/// Guest work that runs a slice at a time.
pub trait Sliced: Send + Sized + 'static
where
    Suspended<Self>: OwnResource,
{
    /// What the guest's future gives when it is done.
    type Done;

    /// The continuation's name, as the scheduler shows it.
    const NAME: &'static CStr;

    /// What runs, as a stopped run's reason names it: "the call".
    const WHAT: &'static str;

    /// Runs the guest until it finishes, yields at the end of its slice, or
    /// waits for something from the Erlang side.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Self::Done>;

    fn deadline(&self) -> Option<Deadline>;

    /// What the NIF answers once the guest is done; `pause` parks the
    /// work, should it still have to ask the Erlang side for something.
    fn finish<'a>(self, env: Env<'a>, done: Self::Done, pause: Pause<'a, Self>) -> Answer<'a>;

    /// What the NIF answers when the work is stopped before it is done,
    /// for `reason`: its deadline passed, or it was interrupted.
    fn stop<'a>(self, env: Env<'a>, reason: TrapReason) -> Answer<'a>;

    /// Whether someone asked the work to stop (`interrupt/1`): it stops
    /// before its next slice.
    fn interrupted(&self) -> bool {
        false
    }

    /// The guest is suspended and there is time left: reschedule it, or
    /// ask the Erlang side for what it waits for.
    fn paused<'a>(self, env: Env<'a>, pause: Pause<'a, Self>) -> Answer<'a>;

    /// Terms the work holds in the process, as a tuple: they must survive
    /// the process being scheduled out (and garbage collected), so they
    /// travel in the continuation's arguments.
    fn carry_out<'a>(&mut self, env: Env<'a>) -> Term<'a>;

    /// The carried terms again, now in `env`.
    fn carry_in(&mut self, env: Env, carried: &[ErlNifTerm]);

    /// The calling process exited between two slices.
    fn cancel(self, env: Env);

    /// The waker of work that may wait for something outside the guest
    /// (WASI); work without one is only ever rescheduled or parked for a
    /// request.
    fn wakeup(&self) -> Option<&Arc<Wakeup>> {
        None
    }

    /// Whether every slice runs on a dirty CPU scheduler: for work whose
    /// host part, which cannot yield, may take longer than a normal
    /// scheduler may be held (a component's large values).
    fn runs_dirty(&self) -> bool {
        false
    }
}

/// Whether this thread is a dirty scheduler.
pub fn on_dirty_scheduler() -> bool {
    // SAFETY: a query about the calling thread.
    let kind = unsafe { sys::enif_thread_type() };
    kind == sys::ERL_NIF_THR_DIRTY_CPU_SCHEDULER || kind == sys::ERL_NIF_THR_DIRTY_IO_SCHEDULER
}

/// Work between two slices, kept alive by the rescheduled NIF's arguments
/// or by the request the Erlang side serves; counted as a suspended call
/// meanwhile.
pub struct Suspended<S> {
    work: Mutex<Option<(S, live_count::Token)>>,
}

impl<S: Sliced> Suspended<S>
where
    Suspended<S>: OwnResource,
{
    /// The work, if it is parked here and `ready` says it may go on.
    pub fn take_if(&self, ready: impl FnOnce(&mut S) -> bool) -> Option<S> {
        let mut slot = self.work.lock().unwrap_or_else(|p| p.into_inner());
        let (work, _) = slot.as_mut()?;
        if !ready(work) {
            return None;
        }
        slot.take().map(|(work, _)| work)
    }

    /// What `look` says of the work, if it is parked here.
    pub fn peek<R>(&self, look: impl FnOnce(&S) -> R) -> Option<R> {
        let slot = self.work.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map(|(work, _)| look(work))
    }

    /// For the destructor: a process that exited between slices cancels
    /// the work it left.
    pub fn cancel(&mut self, env: Env) {
        let parked = self
            .work
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((work, _)) = parked {
            work.cancel(env);
        }
    }
}

/// Where parked work was: its resource's term and the resource.
type Parked<'a, S> = (Term<'a>, &'a Suspended<S>);

/// Runs one slice of `work`; `parked` is its resource when it was parked
/// before.
pub fn run<'a, S: Sliced>(env: Env<'a>, mut work: S, parked: Option<Parked<'a, S>>) -> Answer<'a>
where
    Suspended<S>: OwnResource,
{
    epoch::note_activity();
    let started = epoch::now();
    let waker = work.wakeup().map(Wakeup::begin);
    let mut cx = Context::from_waker(waker.as_ref().unwrap_or(Waker::noop()));
    let pause = Pause { parked, started };
    // Checked before the slice too: work parked for a request or a wait
    // stops when it is resumed, without running the guest again.
    if work.interrupted() {
        return work.stop(env, TrapReason::interrupted(S::WHAT));
    }
    if work.runs_dirty() && !on_dirty_scheduler() {
        return pause.reschedule(env, work);
    }
    match work.poll(&mut cx) {
        Poll::Ready(done) => work.finish(env, done, pause),
        Poll::Pending if work.interrupted() => work.stop(env, TrapReason::interrupted(S::WHAT)),
        Poll::Pending => match work.deadline() {
            Some(deadline) if deadline.passed() => {
                work.stop(env, TrapReason::timeout(S::WHAT, deadline.limit))
            }
            _ => work.paused(env, pause),
        },
    }
}

/// Where suspended work waits: what `paused` does with it.
pub struct Pause<'a, S>
where
    Suspended<S>: OwnResource,
{
    parked: Option<Parked<'a, S>>,
    started: u64,
}

impl<'a, S: Sliced> Pause<'a, S>
where
    Suspended<S>: OwnResource,
{
    /// Parks the work: reports the slice's time to the scheduler, and
    /// returns the work's resource and the terms it carries, for a request.
    pub fn park(self, env: Env<'a>, mut work: S) -> (Term<'a>, Term<'a>) {
        // Tell the scheduler how much of a 1 ms timeslice this slice used, so
        // it preempts the process as it would any Erlang code. Counted in
        // epoch ticks, which keeps clock reads off the path of short calls.
        rustler::schedule::consume_timeslice(env, epoch::timeslice_percent(self.started));
        let carried = work.carry_out(env);
        let token = live_count::Token::new(&live_count::SUSPENDED_CALLS);
        let parked = Some((work, token));
        let term = match self.parked {
            Some((term, suspended)) => {
                *suspended.work.lock().unwrap_or_else(|p| p.into_inner()) = parked;
                term
            }
            // The term keeps the new resource alive once the handle goes.
            None => Handle::new(Suspended {
                work: Mutex::new(parked),
            })
            .encode(env),
        };
        (term, carried)
    }

    /// Parks the work and asks the scheduler to run its next slice later
    /// (on a dirty one for work that runs dirty).
    pub fn reschedule(self, env: Env<'a>, work: S) -> Answer<'a> {
        if work.runs_dirty() {
            return self.reschedule_dirty(env, work);
        }
        let (suspended, carried) = self.park(env, work);
        Answer::Value(reschedule(
            env,
            S::NAME,
            0,
            next_slice::<S>,
            &[suspended, carried],
        ))
    }

    /// Parks the work and runs its next slice on a dirty CPU scheduler,
    /// for host work that cannot be cut into slices; the slice after it
    /// is back on a normal scheduler.
    pub fn reschedule_dirty(self, env: Env<'a>, work: S) -> Answer<'a> {
        let (suspended, carried) = self.park(env, work);
        Answer::Value(reschedule(
            env,
            S::NAME,
            sys::ERL_NIF_DIRTY_JOB_CPU_BOUND as c_int,
            next_slice::<S>,
            &[suspended, carried],
        ))
    }

    /// Parks the work until its waker is called, when it waits for
    /// something outside the guest; reschedules it when that came already.
    /// The calling process waits at most `timeout`.
    pub fn wait(self, env: Env<'a>, work: S, timeout: Option<Duration>) -> Answer<'a> {
        let id = work.wakeup().and_then(|wakeup| wakeup.wait(env.pid()));
        let Some(id) = id else {
            return self.reschedule(env, work);
        };
        let (work, carried) = self.park(env, work);
        Answer::Ask(Request::Wait {
            work,
            carried,
            id,
            timeout,
        })
    }
}

/// Runs the next slice of parked work if `ready` says it may go on (else
/// `badarg`): the continuation of a reschedule, or a NIF the Erlang side
/// calls after serving a request. `carried` is the tuple `park` made.
pub fn resume<'a, S: Sliced>(
    env: Env<'a>,
    term: Term<'a>,
    carried: Term<'a>,
    ready: impl FnOnce(&mut S) -> bool,
) -> NifResult<(S, Parked<'a, S>)>
where
    Suspended<S>: OwnResource,
{
    let suspended = resource::borrow::<Suspended<S>>(term).ok_or(Error::BadArg)?;
    let carried = carried_terms(env, carried)?;
    let mut work = suspended.take_if(ready).ok_or(Error::BadArg)?;
    work.carry_in(env, carried);
    Ok((work, (term, suspended)))
}

/// The continuation `reschedule` schedules: argv is `[Suspended, Carried]`.
unsafe extern "C" fn next_slice<S: Sliced>(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
) -> ErlNifTerm
where
    Suspended<S>: OwnResource,
{
    nif_body(env, argc, argv, |env, [suspended, carried]| {
        let (work, suspended) = resume::<S>(env, suspended, carried, |_| true)?;
        run(env, work, Some(suspended)).into_nif(env)
    })
}

/// Continues the current NIF on a dirty CPU scheduler: `next` runs there
/// with `argv`, the current NIF's own arguments; what this returns is
/// what the current NIF must return.
pub fn continue_on_dirty<'a>(
    env: Env<'a>,
    name: &'static CStr,
    next: Continuation,
    argv: &[Term<'a>],
) -> Term<'a> {
    reschedule(
        env,
        name,
        sys::ERL_NIF_DIRTY_JOB_CPU_BOUND as c_int,
        next,
        argv,
    )
}

/// A tuple of terms to carry across a reschedule.
pub fn carry<'a>(env: Env<'a>, terms: &[ErlNifTerm]) -> Term<'a> {
    // SAFETY: the terms belong to this call's process and are alive.
    unsafe {
        let tuple =
            sys::enif_make_tuple_from_array(env.as_c_arg(), terms.as_ptr(), terms.len() as u32);
        Term::new(env, tuple)
    }
}

/// The elements of a tuple `carry` made, now in `env`.
fn carried_terms<'a>(env: Env<'a>, carried: Term<'a>) -> NifResult<&'a [ErlNifTerm]> {
    let mut arity = 0;
    let mut elements: *const ErlNifTerm = std::ptr::null();
    // SAFETY: `carried` is a term of this env; enif_get_tuple checks it is
    // a tuple and points into it.
    unsafe {
        if sys::enif_get_tuple(
            env.as_c_arg(),
            carried.as_c_arg(),
            &mut arity,
            &mut elements,
        ) == 0
        {
            return Err(Error::BadArg);
        }
        Ok(if arity == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(elements, arity as usize)
        })
    }
}

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
fn reschedule<'a>(
    env: Env<'a>,
    name: &'static CStr,
    flags: c_int,
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
            flags,
            next,
            argv.len() as c_int,
            argv.as_ptr(),
        );
        Term::new(env, scheduled)
    }
}

/// Runs the body of a NIF of `N` arguments called by the VM with `env`,
/// `argc` and `argv` (a continuation, or a NIF on the path of every call
/// registered in `lib.rs` without Rustler's wrapper, which collects the
/// arguments into a vector): panics and errors become exceptions, as
/// Rustler does for ordinary NIFs.
///
/// # Safety
/// The arguments must be those the VM passed to the NIF.
pub unsafe fn nif_body<const N: usize, F>(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
    body: F,
) -> ErlNifTerm
where
    F: for<'a> FnOnce(Env<'a>, [Term<'a>; N]) -> NifResult<Term<'a>>,
{
    let lifetime = ();
    let env = Env::new(&lifetime, env);
    if argc != N as c_int {
        return sys::enif_make_badarg(env.as_c_arg());
    }
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let args: [Term; N] = std::array::from_fn(|i| Term::new(env, *argv.add(i)));
        in_nif(env, || body(env, args))
    }));
    match outcome {
        Ok(Ok(term)) => term.as_c_arg(),
        Ok(Err(error)) => match error::outcome(env, error) {
            Outcome::Raised(reason) => sys::enif_raise_exception(env.as_c_arg(), reason.as_c_arg()),
            Outcome::Returned(value) => value.as_c_arg(),
        },
        Err(_) => {
            sys::enif_raise_exception(env.as_c_arg(), atoms::nif_panicked().encode(env).as_c_arg())
        }
    }
}

/// Returns `Pending` once: the slice ends there, and the driver runs the
/// next one (the waker is woken at once, as an epoch's yield wakes it, so
/// that work that may wait does not wait for it).
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}
