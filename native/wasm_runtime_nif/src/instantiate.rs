//! Making an instance: the store, the Erlang imports linked, and the start
//! function run in slices like a call, so that a start function that loops
//! cannot hold a scheduler.
//!
//! The instance's default timeout and fuel bound the start function too. A
//! start function cannot call Erlang imports (there is no caller to run
//! them in): that fails the instantiation. What it prints is written once it
//! has ended.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustler::sys::ErlNifTerm;
use rustler::{Encoder, Env, LocalPid, ResourceArc, Term};
use wasmtime::{Instance, Store};

use crate::atoms;
use crate::budget;
use crate::component::{self, called::Called, handle::Drops, handle::Owner};
use crate::engine;
use crate::erlang_import::{self, OfferedImport};
use crate::error::{InstantiateError, TrapReason};
use crate::instance::{Guest, Instantiated, WasiParts, WasmInstance};
use crate::kept_funs::KeptFuns;
use crate::limits::{CallLimits, Deadline, InstanceLimits, MAX_COMPONENT_CORE_INSTANCES};
use crate::module::{Code, WasmModule};
use crate::options::InstanceOptions;
use crate::output;
use crate::protocol::{Answer, Request};
use crate::reaper;
use crate::resource::{Handle, OwnResource, ResourceType};
use crate::slicing::wakeup::Wakeup;
use crate::slicing::{self, Pause, Sliced, Suspended};
use crate::store;
use crate::store::data::{Cells, StoreData};
use crate::wasi;

/// A core module's instance or a component's, in the store made for it.
pub enum Made {
    Module(Instance),
    Component(wasmtime::component::Instance),
}

type Done = (Store<StoreData>, wasmtime::Result<Made>);

/// What `prepare` makes: the store, the linker of a module with Erlang
/// imports, the funs behind a module's or a component's Erlang imports,
/// and the output of a module that imports WASI.
type Prepared = (
    Store<StoreData>,
    Option<wasmtime::Linker<StoreData>>,
    Option<KeptFuns>,
    Option<wasi::Output>,
);

/// An instantiation in progress.
pub struct Instantiation {
    future: Pin<Box<dyn Future<Output = Done> + Send>>,
    module: ResourceArc<WasmModule>,
    owner: Option<LocalPid>,
    limits: CallLimits,
    import_funs: Option<KeptFuns>,
    cells: Arc<Cells>,
    deadline: Option<Deadline>,
    wasi: Option<wasi::Output>,
    /// The funs of the program's streamed outputs.
    funs: Option<KeptFuns>,
    /// For a module that imports WASI, which may wait for files and clocks.
    wakeup: Option<Arc<Wakeup>>,
}

static SUSPENDED_INSTANTIATION_TYPE: ResourceType = ResourceType::new();

impl OwnResource for Suspended<Instantiation> {
    fn resource_type() -> &'static ResourceType {
        &SUSPENDED_INSTANTIATION_TYPE
    }

    fn collected(&mut self, env: Env) {
        self.cancel(env);
    }
}

/// A store for an instance of `module` within the options' limits; for a
/// module with Erlang imports, the linker and funs that provide them; for
/// one that imports WASI, its context in the store and its output.
fn prepare(
    module: &WasmModule,
    options: &mut InstanceOptions,
    offered: &[OfferedImport],
) -> Result<Prepared, InstantiateError> {
    let required = match &module.code {
        Code::Module(core) => core.resources_required(),
        // A component that imports core modules cannot tell: it is counted
        // as the most the options allow, and its limiter still applies.
        Code::Component(code) => {
            code.component
                .resources_required()
                .unwrap_or(wasmtime::ResourcesRequired {
                    num_memories: options.max_memories as u32,
                    max_initial_memory_size: None,
                    num_tables: options.max_tables as u32,
                    max_initial_table_size: None,
                })
        }
    };
    let counts = [
        ("memories", required.num_memories, options.max_memories),
        ("tables", required.num_tables, options.max_tables),
    ];
    for (what, defined, max) in counts {
        if defined as usize > max {
            return Err(InstantiateError::TooMany(what, defined as usize, max));
        }
    }
    let cost = budget::Cost::of_instance(
        u64::from(required.num_memories) + u64::from(module.gc_heap),
        u64::from(required.num_tables),
        engine::fiber_stack_size() as u64,
    );
    let reservation = budget::reserve(cost).map_err(InstantiateError::SystemLimit)?;
    let mut limits = InstanceLimits::new(
        options.max_memory,
        options.max_table_elements,
        options.max_memories,
        options.max_tables,
    );
    if module.component().is_some() {
        limits.max_instances = MAX_COMPONENT_CORE_INSTANCES;
    }
    let mut data = StoreData::new(limits, Some(reservation));
    let output = match module.wasi {
        true => {
            let (context, output) = wasi::context(&mut options.wasi)?;
            data.wasi = Some(Box::new(context));
            Some(output)
        }
        false => None,
    };
    let mut store = store::new(module.engine(), data);
    if let Some(code) = module.component() {
        store::grow_component(&mut store);
        // A start function runs on normal schedulers.
        store.set_hostcall_fuel(component::NORMAL_SCHEDULER_LIFT_BYTES);
        let funs = erlang_import::component_funs(code, offered)?;
        return Ok((store, None, funs, output));
    }
    if output.is_some() {
        wasi::bounded::bound(&mut store);
    }
    let (linker, funs) = match module.pre {
        Some(_) => (None, None),
        None => {
            let (linker, funs) = erlang_import::link(module, offered)?;
            (Some(linker), Some(funs))
        }
    };
    Ok((store, linker, funs, output))
}

/// `{ok, Instance} | {error, Reason}`, possibly after several slices.
pub fn instantiate<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    mut options: InstanceOptions,
    offered: &[OfferedImport],
) -> Answer<'a> {
    let failed = |reason: InstantiateError| Answer::Value((atoms::error(), reason).encode(env));
    let (mut store, linker, import_funs, output) = match prepare(&module, &mut options, offered) {
        Ok(prepared) => prepared,
        Err(reason) => return failed(reason),
    };
    if let Err(e) = store::arm(&mut store, module.metering, options.limits, true) {
        return failed(InstantiateError::Failed(format!("{e:#}")));
    }
    let cells = store.data().cells.clone();
    // SAFETY: the store is not running anything yet.
    unsafe { cells.output.get() }.begin();
    let runner = module.clone();
    let future = Box::pin(async move {
        let result = match (&runner.code, &linker, &runner.pre) {
            (Code::Component(code), _, _) => code
                .pre
                .instantiate_async(&mut store)
                .await
                .map(Made::Component),
            (Code::Module(core), Some(linker), _) => linker
                .instantiate_async(&mut store, core)
                .await
                .map(Made::Module),
            (Code::Module(_), None, Some(pre)) => {
                pre.instantiate_async(&mut store).await.map(Made::Module)
            }
            (Code::Module(_), None, None) => {
                Err(wasmtime::format_err!("module has imports but no linker"))
            }
        };
        let result = match result {
            Ok(Made::Module(instance)) if runner.wasi => {
                initialize(&mut store, instance).await.map(Made::Module)
            }
            other => other,
        };
        (store, result)
    });
    let work = Instantiation {
        future,
        module,
        owner: options.process_bound.then(|| env.pid()),
        limits: options.limits,
        import_funs,
        cells,
        deadline: options.limits.deadline(),
        wakeup: output.is_some().then(Arc::default),
        funs: options.wasi.funs.take().filter(|_| output.is_some()),
        wasi: output,
    };
    slicing::run(env, work, None)
}

/// Runs a WASI reactor's `_initialize`, which a program built as a library
/// exports to set itself up (libc, constructors) before any other call.
async fn initialize(
    store: &mut Store<StoreData>,
    instance: Instance,
) -> wasmtime::Result<Instance> {
    if let Some(init) = instance.get_func(&mut *store, "_initialize") {
        init.call_async(&mut *store, &[], &mut []).await?;
    }
    Ok(instance)
}

/// `call_resume/2` for an instantiation parked while it waited.
pub fn resume<'a>(env: Env<'a>, work: Term<'a>, carried: Term<'a>) -> Answer<'a> {
    match slicing::resume::<Instantiation>(env, work, carried, |_| true) {
        Ok((work, suspended)) => slicing::run(env, work, Some(suspended)),
        Err(error) => Answer::Error(error),
    }
}

impl Instantiation {
    /// `{error, Reason}` after what the start function printed.
    fn failed<'a>(self, env: Env<'a>, reason: impl Encoder) -> Answer<'a> {
        let printed = self.printed();
        let streamed = self.streamed(env);
        let answer = Answer::Value((atoms::error(), reason).encode(env));
        reaper::dispose(self);
        output::deliver(
            env,
            printed,
            None,
            wasi::stream_requests(streamed, None, answer),
        )
    }

    /// What `_initialize` wrote to streamed outputs since the last time.
    fn streamed<'a>(&self, env: Env<'a>) -> Vec<(Term<'a>, Term<'a>)> {
        match &self.wasi {
            Some(output) => wasi::streamed(env, output, self.funs.as_ref()),
            None => Vec::new(),
        }
    }

    fn printed(&self) -> Option<Vec<u8>> {
        // SAFETY: the start function is not running; nothing else looks.
        unsafe { self.cells.output.get() }.take(true)
    }
}

fn failure(error: &wasmtime::Error) -> InstantiateError {
    match TrapReason::of_guest(error) {
        Some(trap) => InstantiateError::Trap(trap),
        None => InstantiateError::Failed(format!("{error:#}")),
    }
}

impl Sliced for Instantiation {
    type Done = Done;

    const NAME: &'static std::ffi::CStr = c"wasm_instantiate_slice";

    const WHAT: &'static str = "the start function";

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Done> {
        match self.wakeup {
            Some(_) => wasi::in_runtime(|| self.future.as_mut().poll(cx)),
            None => self.future.as_mut().poll(cx),
        }
    }

    fn wakeup(&self) -> Option<&Arc<Wakeup>> {
        self.wakeup.as_ref()
    }

    fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }

    // A fun of a streamed output that raises now fails the instantiation
    // all the same: the instance is never handed out.
    fn finish<'a>(self, env: Env<'a>, (mut store, result): Done, _: Pause<'a, Self>) -> Answer<'a> {
        let instance = match result {
            Ok(instance) => instance,
            Err(error) => return self.failed(env, failure(&error)),
        };
        let printed = self.printed();
        let streamed = self.streamed(env);
        let Instantiation {
            module,
            owner,
            limits,
            import_funs,
            wasi,
            wakeup,
            funs,
            ..
        } = self;
        let id = WasmInstance::next_id();
        let (instantiated, drops) = match instance {
            Made::Module(instance) => {
                let memory = instance.get_memory(&mut store, "memory");
                store.data_mut().memory = memory;
                (Instantiated::Module(instance), None)
            }
            Made::Component(instance) => {
                let drops = Arc::new(Drops::default());
                let functions = module.component().map_or(0, |code| code.functions.len());
                let called = Called::new(instance, functions, id, drops.clone());
                (Instantiated::Component(Box::new(called)), Some(drops))
            }
        };
        let guest = Guest::new(store, instantiated);
        let mut instance = WasmInstance::new(id, module, owner, limits, import_funs, guest);
        instance.component = drops.map(|drops| Owner {
            instance: id,
            drops,
        });
        if let (Some(output), Some(wakeup)) = (wasi, wakeup) {
            let funs = funs.map(std::sync::Mutex::new);
            instance.wasi = Some(WasiParts {
                output,
                wakeup,
                funs,
            });
        }
        let made = (atoms::ok(), Handle::new(instance).encode(env)).encode(env);
        let answer = wasi::stream_requests(streamed, None, Answer::Value(made));
        output::deliver(env, printed, None, answer)
    }

    fn stop<'a>(self, env: Env<'a>, reason: TrapReason) -> Answer<'a> {
        self.failed(env, reason)
    }

    fn paused<'a>(self, env: Env<'a>, pause: Pause<'a, Self>) -> Answer<'a> {
        // SAFETY: the start function is suspended; nothing else looks.
        if unsafe { self.cells.imports.get() }.request.take().is_some() {
            let error = wasmtime::format_err!(
                "the start function called an Erlang import; imports can only run during call_raw/call"
            );
            return self.failed(env, failure(&error));
        }
        let left = self.deadline.map(|deadline| deadline.left());
        // Streamed output is handed over, and the instantiation goes on; a
        // fun that raises ends it (the parked work is collected).
        let streamed = self.streamed(env);
        if !streamed.is_empty() {
            let (work, carried) = pause.park(env, self);
            let resume = Answer::Ask(Request::Resume {
                call: work,
                carried,
            });
            return wasi::stream_requests(streamed, None, resume);
        }
        pause.wait(env, self, left)
    }

    fn carry_out<'a>(&mut self, env: Env<'a>) -> Term<'a> {
        slicing::carry(env, &[])
    }

    fn carry_in(&mut self, _env: Env, _carried: &[ErlNifTerm]) {}

    fn cancel(self, _env: Env) {
        reaper::dispose(self);
    }
}
