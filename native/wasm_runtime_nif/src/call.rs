//! A call from start to finish: arguments in, guest execution in slices,
//! results out.
//!
//! A call takes the instance's [`Live`] and moves it into a future that runs
//! the guest on a Wasmtime fiber. Each NIF invocation polls that future for
//! one slice: the epoch ticker makes the guest yield after at most
//! `EPOCH_TICK`. If the call is not finished, the future is parked in a
//! [`SuspendedCall`] resource and the NIF reschedules itself with
//! `enif_schedule_nif`, so the scheduler is free between slices and other
//! processes run. A call that finishes in its first slice never allocates
//! the resource nor reschedules.
//!
//! If the calling process dies between slices, the resource is garbage
//! collected, its destructor drops the future (cancelling the guest) and the
//! instance is invalidated with reason `cancelled`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustler::sys::{self, c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Encoder, Env, Error, NifResult, Resource, ResourceArc, Term};
use wasmtime::{Store, Val};

use crate::atoms;
use crate::engine;
use crate::epoch;
use crate::host_fun::{FunRaised, HostCell};
use crate::instance::{name_of, raise, Live, Name, Shape, Turn, WasmInstance};
use crate::live_count;
use crate::module::WasmModule;
use crate::output::{self, OutputCell};
use crate::reaper;
use crate::slicing;
use crate::term_abi::{Exception, HostState, Resolved, TermCell};
use crate::trap::HostTrap;
use crate::trap::TrapReason;
use crate::values;
use crate::values::NumType;

/// A store for instances of `module`, set up to yield at every epoch tick.
pub fn new_store(module: &WasmModule, state: HostState) -> Store<HostState> {
    let mut store = Store::new(module.module.engine(), state);
    store.epoch_deadline_async_yield_and_update(1);
    store
}

/// Drives a Wasmtime future on this thread until it completes, polling again
/// after every yield.
#[cfg(test)]
pub fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        epoch::note_activity();
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// How the results of a call become an Erlang term.
enum Kind {
    /// `call_raw/3`: the result values.
    Raw,
    /// `call/3`: the term named by the result handle.
    Terms(Arc<TermCell>),
}

type CallOutput = (Box<Live>, wasmtime::Result<()>);

/// A call in progress: the guest's future, which owns the instance's `Live`.
struct InFlight {
    instance: ResourceArc<WasmInstance>,
    future: Pin<Box<dyn Future<Output = CallOutput> + Send>>,
    kind: Kind,
    name: Name,
    /// When the call times out, and the limit it was given.
    deadline: Option<(Instant, Duration)>,
    /// The exchange with Erlang imports, for instances that have them.
    host: Option<Arc<HostCell>>,
    /// The host import whose fun is running in Erlang, waiting for its result.
    awaiting: Option<usize>,
    /// Class, reason and stack of an exception the fun raised: re-raised in
    /// the caller once the guest has unwound (within the same NIF call).
    raised: Option<[ErlNifTerm; 3]>,
    /// What the guest prints, handed to the caller at the end of a slice.
    output: Arc<OutputCell>,
    /// The imports whose funs the caller has had in this call, by index:
    /// the Erlang side keeps them for the rest of the call.
    handed: Vec<bool>,
}

/// What a call may use: wall-clock time and fuel (`None`: no limit).
#[derive(Clone, Copy)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub fuel: Option<u64>,
}

/// A call's limits: `default` (the instance's), or `{Timeout, Fuel}` where
/// each is `default`, `infinity` or a number.
fn limits_of(term: Term, instance: &WasmInstance) -> NifResult<Limits> {
    let defaults = instance.default_limits;
    if term.is_atom() {
        return match term.decode::<rustler::Atom>()? {
            atom if atom == atoms::default() => Ok(defaults),
            _ => Err(Error::BadArg),
        };
    }
    let (timeout, fuel): (Term, Term) = term.decode()?;
    let limits = Limits {
        timeout: timeout_of(timeout, defaults.timeout)?,
        fuel: fuel_of(fuel, defaults.fuel)?,
    };
    if let (Some(units), engine::Metering::Off) = (limits.fuel, instance.module().metering) {
        return Err(raise((atoms::bad_option(), (atoms::fuel(), units))));
    }
    Ok(limits)
}

/// Fuel: `default`, `infinity` or a number of units.
pub fn fuel_of(term: Term, default: Option<u64>) -> NifResult<Option<u64>> {
    if let Ok(units) = term.decode::<u64>() {
        return Ok(Some(units));
    }
    match term.decode::<rustler::Atom>()? {
        atom if atom == atoms::infinity() => Ok(None),
        atom if atom == atoms::default() => Ok(default),
        _ => Err(Error::BadArg),
    }
}

/// A timeout: `default`, `infinity` or milliseconds.
pub fn timeout_of(term: Term, default: Option<Duration>) -> NifResult<Option<Duration>> {
    if let Ok(ms) = term.decode::<u64>() {
        return Ok(Some(Duration::from_millis(ms)));
    }
    match term.decode::<rustler::Atom>()? {
        atom if atom == atoms::infinity() => Ok(None),
        atom if atom == atoms::default() => Ok(default),
        _ => Err(Error::BadArg),
    }
}

fn timeout_term(timeout: Option<Duration>) -> TimeoutTerm {
    TimeoutTerm(timeout.map(|t| t.as_millis() as u64))
}

/// `infinity` or milliseconds, for the Erlang side's wait.
struct TimeoutTerm(Option<u64>);

impl Encoder for TimeoutTerm {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self.0 {
            Some(ms) => ms.encode(env),
            None => atoms::infinity().encode(env),
        }
    }
}

/// A call between two slices, kept alive by the rescheduled NIF's arguments.
pub struct SuspendedCall {
    flight: Mutex<Option<Parked>>,
}

/// A call waiting for its next slice, counted as such while it waits.
struct Parked {
    flight: InFlight,
    _live: live_count::Token,
}

impl SuspendedCall {
    /// The call, if it is parked here; it stops counting as suspended.
    fn take(&self) -> Option<InFlight> {
        let parked = self.flight.lock().unwrap_or_else(|p| p.into_inner()).take();
        parked.map(|parked| parked.flight)
    }
}

#[rustler::resource_impl]
impl Resource for SuspendedCall {
    const IMPLEMENTS_DESTRUCTOR: bool = true;

    /// The process exited between slices: cancel the guest.
    fn destructor(self, env: Env<'_>) {
        if let Some(flight) = self.take() {
            flight.abandon(
                env,
                TrapReason {
                    kind: "cancelled",
                    message: "the calling process exited during the call".into(),
                },
            );
        }
    }
}

impl InFlight {
    /// What the guest printed since the last time, if anything; `last` at
    /// the end of the call.
    fn printed(&self, last: bool) -> Option<Vec<u8>> {
        // SAFETY: the guest is not running; nothing else looks.
        unsafe { self.output.get() }.take(last)
    }

    /// What is left of the call's timeout, `None` for none.
    fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|(deadline, _)| deadline.saturating_duration_since(Instant::now()))
    }

    /// Stops the call where it is: the guest computation is dropped (off the
    /// scheduler) and the instance, whose state is now arbitrary, is ended.
    fn abandon(self, env: Env, reason: TrapReason) {
        if let Kind::Terms(cell) = &self.kind {
            // Ends the call's use of the table now, while this NIF's env is
            // valid: the table may hold an enif map iterator that points
            // into the process heap, which must not outlive the slice.
            // SAFETY: the guest is not running; nothing else touches it.
            unsafe { cell.get() }.end();
        }
        reaper::dispose(self.future);
        self.instance.invalidate(env, reason);
    }
}

fn take_instance(
    env: Env,
    instance: &ResourceArc<WasmInstance>,
    timeout: Option<Duration>,
) -> NifResult<Box<Live>> {
    match WasmInstance::take(instance, env)? {
        Turn::Go(live) => Ok(live),
        // The Erlang side waits for {wasm_runtime_nif_turn, Id}, at most
        // `timeout`, and retries.
        Turn::Wait(id) => Err(raise((
            atoms::wasm_runtime_nif_busy(),
            id,
            timeout_term(timeout),
        ))),
    }
}

/// Which of the two call NIFs a call came through.
#[derive(Clone, Copy)]
pub enum Abi {
    /// `call_raw/3`: numbers in, numbers out.
    Raw,
    /// `call/3`: Erlang terms in and out through the guest term ABI.
    Terms,
}

/// A call NIF: takes the instance, prepares the arguments and runs the first
/// slice; on a bad argument the instance goes straight back.
pub fn call<'a>(
    env: Env<'a>,
    instance: ResourceArc<WasmInstance>,
    abi: Abi,
    name: Term<'a>,
    args: Term<'a>,
    limits: Term<'a>,
) -> NifResult<Term<'a>> {
    let limits = limits_of(limits, &instance)?;
    let mut live = take_instance(env, &instance, limits.timeout)?;
    let prepared = match abi {
        Abi::Raw => prepare_raw(&mut live, &instance, name, args).map(|index| (index, Kind::Raw)),
        Abi::Terms => prepare_terms(env, &mut live, &instance, name, args)
            .map(|index| (index, Kind::Terms(live.terms.clone()))),
    };
    match prepared {
        Ok((index, kind)) => start(env, instance, live, index, kind, name, limits),
        Err(error) => {
            instance.give_back(env, live);
            Err(error)
        }
    }
}

fn prepare_raw(
    live: &mut Live,
    instance: &WasmInstance,
    name: Term,
    args: Term,
) -> NifResult<usize> {
    let index = live.export_index(instance.module(), name)?;
    let Live {
        exports,
        params,
        results,
        ..
    } = live;
    let export = &exports[index];
    let Shape::Numeric {
        params: param_types,
        results: result_types,
        ..
    } = &export.shape
    else {
        return Err(raise((
            atoms::unsupported_signature(),
            name_of(name),
            export.signature.clone(),
        )));
    };
    let given = args.list_length()?;
    if given != param_types.len() {
        return Err(badarity(name, param_types.len(), given));
    }
    params.clear();
    for (arg, ty) in args.into_list_iterator()?.zip(param_types.iter()) {
        params.push(values::to_val(arg, *ty).ok_or(Error::BadArg)?);
    }
    results.clear();
    results.extend(result_types.iter().map(|t| values::placeholder(*t)));
    Ok(index)
}

fn prepare_terms(
    env: Env,
    live: &mut Live,
    instance: &WasmInstance,
    name: Term,
    args: Term,
) -> NifResult<usize> {
    let index = live.export_index(instance.module(), name)?;
    let Live {
        exports,
        params,
        results,
        terms,
        ..
    } = live;
    let export = &exports[index];
    let arity = match &export.shape {
        Shape::Numeric {
            params,
            term_abi: true,
            ..
        } => params.len() - 1,
        _ => {
            return Err(raise((
                atoms::not_a_term_function(),
                name_of(name),
                export.signature.clone(),
            )))
        }
    };
    let given = args.list_length()?;
    if given != arity {
        return Err(badarity(name, arity, given));
    }
    let items = args.into_list_iterator()?;
    // SAFETY: no slice of this instance is running: we hold its `Live`.
    let table = unsafe { terms.get() };
    table.begin(env.as_c_arg());
    params.clear();
    params.push(Val::I32(table.env_handle()));
    for arg in items {
        // Wasm functions take at most a few thousand parameters, far below
        // the table's limit; should it ever be reached, the table must not
        // keep this call's env.
        let Some(handle) = table.push(arg.as_c_arg()) else {
            table.end();
            return Err(Error::BadArg);
        };
        params.push(Val::I64(handle));
    }
    results.clear();
    results.push(Val::I64(0));
    Ok(index)
}

fn badarity(name: Term, expected: usize, given: usize) -> Error {
    raise((atoms::badarity(), name_of(name), expected, given))
}

fn start<'a>(
    env: Env<'a>,
    instance: ResourceArc<WasmInstance>,
    mut live: Box<Live>,
    index: usize,
    kind: Kind,
    name: Term<'a>,
    limits: Limits,
) -> NifResult<Term<'a>> {
    let deadline = limits.timeout.map(|limit| (Instant::now() + limit, limit));
    let host = instance.module().pre.is_none().then(|| live.host.clone());
    let output = live.output.clone();
    // SAFETY: no slice of this instance is running: we hold its `Live`.
    unsafe { output.get() }.begin();
    live.store.set_epoch_deadline(1);
    if instance.module().metering == engine::Metering::Fuel {
        // Each call gets its own allowance: a store's fuel does not carry
        // over from one call to the next.
        if let Err(e) = live.store.set_fuel(limits.fuel.unwrap_or(u64::MAX)) {
            instance.give_back(env, live);
            return Err(raise((atoms::error(), format!("{e:#}"))));
        }
    }
    let future = Box::pin(async move {
        let outcome = {
            let Live {
                store,
                exports,
                params,
                results,
                ..
            } = &mut *live;
            let export = &exports[index];
            match &export.fast {
                Some(fast) => fast.call(store, params, results).await,
                None => export.func.call_async(store, params, results).await,
            }
        };
        (live, outcome)
    });
    let flight = InFlight {
        instance,
        future,
        kind,
        name: name_of(name),
        deadline,
        host,
        awaiting: None,
        raised: None,
        output,
        handed: Vec::new(),
    };
    drive(env, flight, None)
}

/// Runs one slice of the call and either finishes it or reschedules it.
fn drive<'a>(
    env: Env<'a>,
    mut flight: InFlight,
    parked: Option<ResourceArc<SuspendedCall>>,
) -> NifResult<Term<'a>> {
    epoch::note_activity();
    let started = epoch::now();
    let mut cx = Context::from_waker(Waker::noop());
    let poll = flight.future.as_mut().poll(&mut cx);
    // Output at the end of a call is written without a time limit: the
    // instance is free by then and only the caller waits, as for
    // io:format/2. While the call is parked, holding the instance, the
    // wait is bounded by what is left of its timeout.
    match poll {
        Poll::Ready((live, outcome)) => {
            let printed = flight.printed(true);
            output::deliver(env, printed, None, finish(env, flight, live, outcome))
        }
        Poll::Pending => {
            if let Some((deadline, limit)) = flight.deadline {
                if Instant::now() >= deadline {
                    let printed = flight.printed(true);
                    let timed_out = Err(time_out(env, flight, limit));
                    return output::deliver(env, printed, None, timed_out);
                }
            }
            let request = flight.host.as_ref().and_then(|cell| {
                // SAFETY: the guest is suspended; nothing else looks.
                unsafe { cell.get() }.request.take()
            });
            let printed = flight.printed(false);
            let left = flight.time_left();
            match (request, printed) {
                (Some((index, args)), printed) => output::deliver(
                    env,
                    printed,
                    left,
                    host_call(env, flight, parked, started, index, &args),
                ),
                (None, None) => Ok(suspend(env, flight, parked, started)),
                // The output goes first; the Erlang side resumes the call.
                (None, printed) => {
                    let (call, carried) = park(env, flight, parked, started);
                    let resume = (atoms::wasm_runtime_nif_resume(), call, carried).encode(env);
                    output::deliver(env, printed, left, Ok(resume))
                }
            }
        }
    }
}

/// Stops a call that ran past its deadline. The guest was interrupted at an
/// arbitrary point, so, as after a trap, the instance is invalidated.
fn time_out(env: Env, flight: InFlight, limit: Duration) -> Error {
    let reason = TrapReason {
        kind: "timeout",
        message: format!("the call did not finish within {} ms", limit.as_millis()),
    };
    flight.abandon(env, reason.clone());
    raise(reason)
}

/// Parks a call whose guest is suspended: reports the slice's time to the
/// scheduler, and returns the call's resource and the terms it must carry.
fn park<'a>(
    env: Env<'a>,
    flight: InFlight,
    parked: Option<ResourceArc<SuspendedCall>>,
    started: u64,
) -> (ResourceArc<SuspendedCall>, Term<'a>) {
    // Tell the scheduler how much of a 1 ms timeslice this slice used, so it
    // preempts the process as it would any Erlang code. Counted in epoch
    // ticks, which keeps clock reads off the path of short calls.
    let percent = epoch::timeslice_percent(started);
    rustler::schedule::consume_timeslice(env, percent);
    // Terms handed to the guest must survive the process being scheduled
    // out (and garbage collected): they travel in the continuation's argv.
    let carried = match &flight.kind {
        // SAFETY: the guest is suspended; nothing else touches the table.
        Kind::Terms(cell) => make_tuple(env, unsafe { cell.get() }.suspend()),
        Kind::Raw => make_tuple(env, &[]),
    };
    let call = parked.unwrap_or_else(|| {
        ResourceArc::new(SuspendedCall {
            flight: Mutex::new(None),
        })
    });
    *call.flight.lock().unwrap_or_else(|p| p.into_inner()) = Some(Parked {
        flight,
        _live: live_count::Token::new(&live_count::SUSPENDED_CALLS),
    });
    (call, carried)
}

/// Parks the call and asks the scheduler to run its next slice later.
fn suspend<'a>(
    env: Env<'a>,
    flight: InFlight,
    parked: Option<ResourceArc<SuspendedCall>>,
    started: u64,
) -> Term<'a> {
    let (call, carried) = park(env, flight, parked, started);
    slicing::reschedule(
        env,
        c"wasm_call_slice",
        resume_slice,
        &[call.encode(env), carried],
    )
}

/// The guest called an Erlang import: park the call and return to the
/// Erlang side with `{wasm_runtime_nif_host_call, Call, Carried, Index,
/// Fun, Args}`; it runs the fun and calls `host_return/3`. A fun is copied
/// into the caller's heap once per call: later requests for the same import
/// say `cached`. A fun with a large closure comes as `{encoded, Binary}`, a
/// shared binary the Erlang side decodes, yielding as it goes.
fn host_call<'a>(
    env: Env<'a>,
    mut flight: InFlight,
    parked: Option<ResourceArc<SuspendedCall>>,
    started: u64,
    index: usize,
    args: &[Val],
) -> NifResult<Term<'a>> {
    let fun = if flight.handed.get(index).copied().unwrap_or(false) {
        atoms::cached().encode(env)
    } else {
        let Some(fun) = flight.instance.host_fun(env, index) else {
            // Every host import has a fun; should one be missing, the call
            // cannot go on, and the instance must not stay held.
            let reason = TrapReason {
                kind: "host_error",
                message: format!("no fun for host import {index}"),
            };
            flight.abandon(env, reason.clone());
            return Err(raise(reason));
        };
        if flight.handed.len() <= index {
            let imports = flight.instance.module().host_imports.len();
            flight.handed.resize(imports.max(index + 1), false);
        }
        flight.handed[index] = true;
        fun
    };
    let args: Vec<Term> = args.iter().map(|v| values::to_term(env, v)).collect();
    flight.awaiting = Some(index);
    let (call, carried) = park(env, flight, parked, started);
    Ok(rustler::types::tuple::make_tuple(
        env,
        &[
            atoms::wasm_runtime_nif_host_call().encode(env),
            call.encode(env),
            carried,
            index.encode(env),
            fun,
            args.encode(env),
        ],
    ))
}

/// The Erlang side's answer to a host call: `{ok, Value}` or
/// `{raised, Class, Reason, Stack}`. Resumes the guest with it.
pub fn host_return<'a>(
    env: Env<'a>,
    call: ResourceArc<SuspendedCall>,
    carried: Term<'a>,
    reply: Term<'a>,
) -> NifResult<Term<'a>> {
    // Everything that can be refused is checked before the call is taken
    // out of its resource, so that a refusal leaves it as it was.
    let carried = carried_terms(env, carried)?;
    let reply = match reply.decode::<(rustler::Atom, Term)>() {
        Ok((tag, value)) if tag == atoms::ok() => Ok(value),
        _ => match reply.decode::<(rustler::Atom, Term, Term, Term)>() {
            Ok((tag, class, reason, stack)) if tag == atoms::raised() => {
                Err([class.as_c_arg(), reason.as_c_arg(), stack.as_c_arg()])
            }
            _ => return Err(Error::BadArg),
        },
    };
    let mut slot = call.flight.lock().unwrap_or_else(|p| p.into_inner());
    let index = match slot.as_mut().map(|parked| parked.flight.awaiting.take()) {
        Some(Some(index)) => index,
        // Not waiting for a fun.
        _ => return Err(Error::BadArg),
    };
    let mut flight = slot.take().ok_or(Error::BadArg)?.flight;
    drop(slot);
    carry_terms_in(&flight, env, carried);
    // The fun's time counts: a call past its deadline does not go on.
    if let Some((deadline, limit)) = flight.deadline {
        if Instant::now() >= deadline {
            let printed = flight.printed(true);
            let timed_out = Err(time_out(env, flight, limit));
            return output::deliver(env, printed, None, timed_out);
        }
    }
    let import = &flight.instance.module().host_imports[index];
    let answer = match reply {
        Ok(value) => host_results(value, &import.results).ok_or_else(|| {
            HostTrap::new(
                "bad_host_result",
                format!(
                    "the fun for {} returned a value that is not {}",
                    import.label(),
                    results_shape(&import.results)
                ),
            )
            .into()
        }),
        Err(exception) => {
            flight.raised = Some(exception);
            Err(FunRaised.into())
        }
    };
    if let Some(cell) = &flight.host {
        // SAFETY: the guest is suspended; nothing else looks.
        unsafe { cell.get() }.reply = Some(answer);
    }
    drive(env, flight, Some(call))
}

/// The values of a fun's result for an import with `results`: nothing is
/// expected of a fun for an import without results.
fn host_results(value: Term, results: &[NumType]) -> Option<Vec<Val>> {
    match results {
        [] => Some(Vec::new()),
        [one] => values::to_val(value, *one).map(|v| vec![v]),
        many => {
            let items = rustler::types::tuple::get_tuple(value).ok()?;
            if items.len() != many.len() {
                return None;
            }
            items
                .iter()
                .zip(many)
                .map(|(item, ty)| values::to_val(*item, *ty))
                .collect()
        }
    }
}

fn results_shape(results: &[NumType]) -> String {
    let names: Vec<&str> = results.iter().map(|t| t.name()).collect();
    match names.as_slice() {
        [one] => (*one).to_string(),
        many => format!("a tuple of {{{}}}", many.join(", ")),
    }
}

fn make_tuple<'a>(env: Env<'a>, terms: &[ErlNifTerm]) -> Term<'a> {
    // SAFETY: the terms belong to this call's process and are alive.
    unsafe {
        let tuple =
            sys::enif_make_tuple_from_array(env.as_c_arg(), terms.as_ptr(), terms.len() as u32);
        Term::new(env, tuple)
    }
}

/// The continuation scheduled by `suspend`: argv is `[Call, CarriedTerms]`.
unsafe extern "C" fn resume_slice(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
) -> ErlNifTerm {
    slicing::continuation(env, argc, argv, |env, args| match args {
        [call, carried] => continue_call(env, *call, *carried),
        _ => Err(Error::BadArg),
    })
}

/// Runs the next slice of a parked call: the scheduled continuation, or the
/// Erlang side once it has printed the call's output.
pub fn continue_call<'a>(env: Env<'a>, call: Term<'a>, carried: Term<'a>) -> NifResult<Term<'a>> {
    let call: ResourceArc<SuspendedCall> = call.decode()?;
    let carried = carried_terms(env, carried)?;
    // A call waiting for a fun's result is resumed by `host_return` only.
    let waiting = |parked: &Parked| parked.flight.awaiting.is_none();
    let mut slot = call.flight.lock().unwrap_or_else(|p| p.into_inner());
    if !slot.as_ref().is_some_and(waiting) {
        return Err(Error::BadArg);
    }
    let flight = slot.take().ok_or(Error::BadArg)?.flight;
    drop(slot);
    carry_terms_in(&flight, env, carried);
    drive(env, flight, Some(call))
}

/// Refills the call's term table from the tuple `park` made, now in `env`.
fn carry_terms_in(flight: &InFlight, env: Env, carried: &[ErlNifTerm]) {
    if let Kind::Terms(cell) = &flight.kind {
        // SAFETY: the guest is suspended; nothing else touches the table.
        unsafe { cell.get() }.resume(env.as_c_arg(), carried);
    }
}

/// The elements of the tuple `park` made, now in `env`.
fn carried_terms<'a>(env: Env<'a>, carried: Term<'a>) -> NifResult<&'a [ErlNifTerm]> {
    let mut arity = 0;
    let mut elements: *const ErlNifTerm = std::ptr::null();
    // SAFETY: `carried` is the tuple `park` made, now in this env.
    let carried = unsafe {
        if sys::enif_get_tuple(
            env.as_c_arg(),
            carried.as_c_arg(),
            &mut arity,
            &mut elements,
        ) == 0
        {
            return Err(Error::BadArg);
        }
        if arity == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(elements, arity as usize)
        }
    };
    Ok(carried)
}

/// Turns a finished call into its result, and gives the instance back (or
/// ends it after a trap).
fn finish<'a>(
    env: Env<'a>,
    flight: InFlight,
    live: Box<Live>,
    outcome: wasmtime::Result<()>,
) -> NifResult<Term<'a>> {
    let InFlight {
        instance,
        kind,
        name,
        raised,
        ..
    } = flight;
    let result = match kind {
        Kind::Raw => outcome.map(|()| Ok(values::results_term(env, &live.results))),
        Kind::Terms(cell) => {
            // SAFETY: the call is over; nothing else touches the table.
            let table = unsafe { cell.get() };
            let handle = live.results.first().and_then(Val::i64).unwrap_or(0);
            let resolved = table.resolve(handle);
            let exception = table.exception().map(|exception| match exception {
                Exception::Raise(reason) => table.resolve(reason),
                Exception::Badarg => None,
            });
            table.end();
            // SAFETY (for Term::new): the terms were arguments of this call
            // or were made in the env of one of its slices, all of this
            // process.
            outcome.map(|()| match resolved {
                Some(Resolved::Term(term)) => {
                    Ok(guest_result(env, unsafe { Term::new(env, term) }))
                }
                Some(Resolved::Badarg) => match exception {
                    // Raised by the Erlang side, where no catch of ours can
                    // mistake the reason for one of our own messages.
                    Some(Some(Resolved::Term(reason))) => Ok((
                        atoms::wasm_runtime_nif_host_raised(),
                        atoms::error(),
                        unsafe { Term::new(env, reason) },
                        Vec::<Term>::new(),
                    )
                        .encode(env)),
                    _ => Err(Error::BadArg),
                },
                None => Err(raise((atoms::bad_result_handle(), name, handle))),
            })
        }
    };
    match result {
        Ok(value) => {
            instance.give_back(env, live);
            value
        }
        Err(error) => {
            reaper::dispose(live);
            let reason = TrapReason::from_error(&error);
            instance.invalidate(env, reason.clone());
            match raised {
                // The fun's own exception, re-raised by the Erlang side.
                Some([class, reason, stack]) if error.downcast_ref::<FunRaised>().is_some() => {
                    // SAFETY: the terms are arguments of this NIF call.
                    let [class, reason, stack] = unsafe {
                        [
                            Term::new(env, class),
                            Term::new(env, reason),
                            Term::new(env, stack),
                        ]
                    };
                    Ok((atoms::wasm_runtime_nif_host_raised(), class, reason, stack).encode(env))
                }
                _ => Err(raise(reason)),
            }
        }
    }
}

/// The Erlang side reads a call NIF's result for requests of ours tagged
/// with reserved atoms; a guest's term that looks like one is wrapped so
/// that it is returned as it is.
fn guest_result<'a>(env: Env<'a>, term: Term<'a>) -> Term<'a> {
    let reserved = [
        atoms::wasm_runtime_nif_host_call(),
        atoms::wasm_runtime_nif_host_raised(),
        atoms::wasm_runtime_nif_value(),
        atoms::wasm_runtime_nif_output(),
        atoms::wasm_runtime_nif_resume(),
    ];
    match rustler::types::tuple::get_tuple(term) {
        Ok(elements)
            if elements
                .first()
                .is_some_and(|tag| reserved.iter().any(|r| r == tag)) =>
        {
            (atoms::wasm_runtime_nif_value(), term).encode(env)
        }
        _ => term,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    /// Recursion without end must trap with `stack_overflow` even on a thread
    /// whose own stack is far smaller than the guest's, as a dirty
    /// scheduler's is: the guest runs on its fiber stack, not the thread's.
    #[test]
    fn unbounded_recursion_traps_on_a_small_thread_stack() {
        engine::init(engine::Settings::default()).unwrap();
        let wat = r#"(module (func $f (export "f") (param i64) (result i64)
                        (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#;
        let module =
            crate::module::compile(wat.as_bytes().to_vec(), engine::Metering::Off, None).unwrap();
        let outcome = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut store = new_store(&module, HostState::new(Default::default()));
                let instance =
                    run_to_completion(module.pre.as_ref().unwrap().instantiate_async(&mut store))
                        .unwrap();
                let f = instance.get_func(&mut store, "f").unwrap();
                let mut results = [Val::I64(0)];
                store.set_epoch_deadline(1);
                let error =
                    run_to_completion(f.call_async(&mut store, &[Val::I64(0)], &mut results))
                        .unwrap_err();
                TrapReason::from_error(&error).kind
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome, "stack_overflow");
    }

    /// A guest loop yields at every epoch tick instead of running to the end
    /// of its work in one poll.
    #[test]
    fn long_guest_loops_yield() {
        engine::init(engine::Settings::default()).unwrap();
        let wat = r#"(module (func (export "spin") (param i64) (result i64)
                        (local $i i64)
                        (loop $l (local.set $i (i64.add (local.get $i) (i64.const 1)))
                                 (br_if $l (i64.lt_u (local.get $i) (local.get 0))))
                        (local.get $i)))"#;
        let module =
            crate::module::compile(wat.as_bytes().to_vec(), engine::Metering::Off, None).unwrap();
        let mut store = new_store(&module, HostState::new(Default::default()));
        let instance =
            run_to_completion(module.pre.as_ref().unwrap().instantiate_async(&mut store)).unwrap();
        let f = instance.get_func(&mut store, "spin").unwrap();
        let mut results = [Val::I64(0)];
        store.set_epoch_deadline(1);
        let mut pending = 0;
        let started = Instant::now();
        {
            let mut future = pin!(f.call_async(&mut store, &[Val::I64(500_000_000)], &mut results));
            let mut cx = Context::from_waker(Waker::noop());
            loop {
                epoch::note_activity();
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(outcome) => {
                        outcome.unwrap();
                        break;
                    }
                    Poll::Pending => pending += 1,
                }
            }
        }
        let elapsed = started.elapsed();
        assert!(pending > 0, "a {elapsed:?} loop never yielded");
        assert_eq!(results[0].i64(), Some(500_000_000));
    }
}

#[cfg(test)]
mod floor {
    use super::*;

    #[test]
    #[ignore]
    fn call_cost_floor() {
        engine::init(engine::Settings::default()).unwrap();
        let wat = r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
        let module =
            crate::module::compile(wat.as_bytes().to_vec(), engine::Metering::Off, None).unwrap();
        let mut store = new_store(&module, HostState::new(Default::default()));
        let instance =
            run_to_completion(module.pre.as_ref().unwrap().instantiate_async(&mut store)).unwrap();
        let f = instance.get_func(&mut store, "add").unwrap();
        let typed = f.typed::<(i32, i32), i32>(&store).unwrap();
        let n = 1_000_000;
        let params = [Val::I32(4), Val::I32(7)];
        let mut results = [Val::I32(0)];
        let t = Instant::now();
        for _ in 0..n {
            store.set_epoch_deadline(1);
            run_to_completion(f.call_async(&mut store, &params, &mut results)).unwrap();
        }
        eprintln!(
            "Func::call_async pinned on stack: {:?}/call",
            t.elapsed() / n
        );
        let t = Instant::now();
        for _ in 0..n {
            store.set_epoch_deadline(1);
            run_to_completion(typed.call_async(&mut store, (4, 7))).unwrap();
        }
        eprintln!("TypedFunc::call_async: {:?}/call", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            store.set_epoch_deadline(1);
            let fut: Pin<Box<dyn Future<Output = _> + Send>> =
                Box::pin(typed.call_async(&mut store, (4, 7)));
            run_to_completion(fut).unwrap();
        }
        eprintln!("TypedFunc::call_async boxed: {:?}/call", t.elapsed() / n);
    }
}
