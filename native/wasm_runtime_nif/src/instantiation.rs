//! Instantiation, which runs the module's start function: in slices, like a
//! call, so that a start function that loops cannot hold a scheduler.
//!
//! The store moves into a future that instantiates; each NIF invocation
//! polls it for one slice and reschedules itself until it is done. The
//! instance's default timeout and fuel bound the start function too. A
//! start function cannot call Erlang imports (there is no caller to run
//! them in): that fails the instantiation.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustler::sys::{c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Encoder, Env, Error, LocalPid, Resource, ResourceArc, Term};
use wasmtime::{Instance, Store};

use crate::atoms;
use crate::call::Limits;
use crate::engine::Metering;
use crate::epoch;
use crate::host_fun::{HostCell, HostFuns};
use crate::instance::{InstantiateError, OfferedImport, Options, Prepared, WasmInstance};
use crate::live_count;
use crate::module::WasmModule;
use crate::output::{self, OutputCell};
use crate::slicing;
use crate::term_abi::HostState;
use crate::trap::TrapReason;

type Output = (Store<HostState>, wasmtime::Result<Instance>);

/// An instantiation in progress.
struct Pending {
    future: Pin<Box<dyn Future<Output = Output> + Send>>,
    module: ResourceArc<WasmModule>,
    owner: Option<LocalPid>,
    limits: Limits,
    host_funs: Option<HostFuns>,
    host: Arc<HostCell>,
    /// What the start function prints: handed over when it ends.
    output: Arc<OutputCell>,
    deadline: Option<(Instant, Duration)>,
}

impl Pending {
    /// `term`, after what the start function printed.
    fn ended<'a>(&self, env: Env<'a>, term: Term<'a>) -> Term<'a> {
        // SAFETY: the start function is not running; nothing else looks.
        output::deliver_value(env, unsafe { self.output.get() }.take(true), term)
    }
}

/// An instantiation between two slices, kept alive by the rescheduled
/// NIF's arguments; dropped (with its store) if the caller dies.
pub struct SuspendedInstantiation {
    /// The instantiation, while it waits for its next slice; counted with
    /// suspended calls meanwhile (a start function is a call too).
    pending: Mutex<Option<(Pending, live_count::Token)>>,
}

#[rustler::resource_impl]
impl Resource for SuspendedInstantiation {}

/// `{ok, Instance} | {error, Reason}`, possibly after several slices.
pub fn instantiate<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    owner: Option<LocalPid>,
    options: &Options,
    offered: &[OfferedImport],
) -> Term<'a> {
    let Prepared {
        mut store,
        linker,
        host_funs,
    } = match WasmInstance::prepare(&module, options, offered) {
        Ok(prepared) => prepared,
        Err(reason) => return (atoms::error(), reason).encode(env),
    };
    let limits = options.limits;
    store.set_epoch_deadline(1);
    if module.metering == Metering::Fuel {
        if let Err(e) = store.set_fuel(limits.fuel.unwrap_or(u64::MAX)) {
            let reason = InstantiateError::Failed(format!("{e:#}"));
            return (atoms::error(), reason).encode(env);
        }
    }
    let host = store.data().host.clone();
    let output = store.data().output.clone();
    // SAFETY: the store is not running anything yet.
    unsafe { output.get() }.begin();
    let runner = module.clone();
    let future = Box::pin(async move {
        let result = match &linker {
            Some(linker) => linker.instantiate_async(&mut store, &runner.module).await,
            None => match &runner.pre {
                Some(pre) => pre.instantiate_async(&mut store).await,
                None => Err(wasmtime::format_err!("module has imports but no linker")),
            },
        };
        (store, result)
    });
    let pending = Pending {
        future,
        module,
        owner,
        limits,
        host_funs,
        host,
        output,
        deadline: limits.timeout.map(|limit| (Instant::now() + limit, limit)),
    };
    drive(env, pending, None)
}

fn failure<'a>(env: Env<'a>, error: &wasmtime::Error) -> Term<'a> {
    let reason = match TrapReason::of_guest(error) {
        Some(trap) => InstantiateError::Trap(trap),
        None => InstantiateError::Failed(format!("{error:#}")),
    };
    (atoms::error(), reason).encode(env)
}

fn drive<'a>(
    env: Env<'a>,
    mut pending: Pending,
    parked: Option<ResourceArc<SuspendedInstantiation>>,
) -> Term<'a> {
    epoch::note_activity();
    let started = epoch::now();
    let mut cx = Context::from_waker(Waker::noop());
    let (store, result) = match pending.future.as_mut().poll(&mut cx) {
        Poll::Ready(done) => done,
        Poll::Pending => return suspend(env, pending, parked, started),
    };
    match result {
        Ok(instance) => {
            // SAFETY: the start function has ended; nothing else looks.
            let printed = unsafe { pending.output.get() }.take(true);
            let Pending {
                module,
                owner,
                limits,
                host_funs,
                ..
            } = pending;
            let instance =
                WasmInstance::assemble(module, owner, limits, host_funs, store, instance);
            let made = (atoms::ok(), ResourceArc::new(instance)).encode(env);
            output::deliver_value(env, printed, made)
        }
        Err(error) => pending.ended(env, failure(env, &error)),
    }
}

fn suspend<'a>(
    env: Env<'a>,
    pending: Pending,
    parked: Option<ResourceArc<SuspendedInstantiation>>,
    started: u64,
) -> Term<'a> {
    // SAFETY: the start function is suspended; nothing else looks.
    if unsafe { pending.host.get() }.request.take().is_some() {
        let error = wasmtime::format_err!(
            "the start function called an Erlang import; imports can only run during call_raw/call"
        );
        return pending.ended(env, failure(env, &error));
    }
    if let Some((deadline, limit)) = pending.deadline {
        if Instant::now() >= deadline {
            let reason = TrapReason {
                kind: "timeout",
                message: format!(
                    "the start function did not finish within {} ms",
                    limit.as_millis()
                ),
            };
            return pending.ended(env, (atoms::error(), reason).encode(env));
        }
    }
    rustler::schedule::consume_timeslice(env, epoch::timeslice_percent(started));
    let suspended = parked.unwrap_or_else(|| {
        ResourceArc::new(SuspendedInstantiation {
            pending: Mutex::new(None),
        })
    });
    let counted = live_count::Token::new(&live_count::SUSPENDED_CALLS);
    *suspended.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some((pending, counted));
    slicing::reschedule(
        env,
        c"wasm_instantiate_slice",
        resume,
        &[suspended.encode(env)],
    )
}

unsafe extern "C" fn resume(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
) -> ErlNifTerm {
    slicing::continuation(env, argc, argv, |env, args| {
        let [suspended] = args else {
            return Err(Error::BadArg);
        };
        let suspended: ResourceArc<SuspendedInstantiation> = suspended.decode()?;
        let pending = suspended
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(Error::BadArg)?
            .0;
        Ok(drive(env, pending, Some(suspended)))
    })
}
