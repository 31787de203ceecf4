//! The process-wide Wasmtime engine and the linker that holds the guest term ABI.
//!
//! One `Engine` serves every module: compiled code can only be shared between
//! instances of the same engine, and the engine's configuration (stack sizes,
//! async support) is what keeps guest recursion from ever reaching a BEAM
//! scheduler's own stack.

use std::collections::HashMap;
use std::sync::OnceLock;

use wasmtime::{
    Config, Engine, FuncType, InstanceAllocationStrategy, Linker, PoolingAllocationConfig,
};

use crate::epoch;
use crate::limits::{self, Metering, DEFAULT_MAX_WASM_STACK, MAX_WASM_STACK_RANGE};
use crate::store::data::StoreData;
use crate::term_abi;
use crate::wasi;

/// Fiber stack space beyond the guest's, for the host functions the guest
/// calls (ours use a few KiB) and Wasmtime's own frames.
pub const HOST_STACK_HEADROOM: usize = 512 * 1024;

struct Runtime {
    /// Bytes of each fiber stack, the guard page aside.
    stack: usize,
    engine: Engine,
    linker: Linker<StoreData>,
    /// The linker of components: WASI preview 2 (`component/link.rs`).
    component_linker: wasmtime::component::Linker<StoreData>,
    /// The WASI functions in the linker, with their types.
    wasi_functions: HashMap<String, FuncType>,
}

static RUNTIMES: OnceLock<[Runtime; 2]> = OnceLock::new();

/// How the engines are set up, from the application environment.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Guest stack, bytes.
    pub max_wasm_stack: usize,
    /// Instances the pooling allocator keeps ready, per engine; `None` for
    /// the on-demand allocator.
    pub instance_pool: Option<u32>,
    /// Whether guests may import [`TEST_PANIC_IMPORT`]: for the tests
    /// that check what a panic inside a call does, never in production.
    pub test_hooks: bool,
}

/// `env.wasm_runtime_nif_test_panic: () -> ()`, defined only with the
/// `test_hooks` setting: a host function that panics.
pub const TEST_PANIC_IMPORT: &str = "wasm_runtime_nif_test_panic";

static TEST_HOOKS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the engines were built with `test_hooks`.
pub fn test_hooks() -> bool {
    TEST_HOOKS.load(std::sync::atomic::Ordering::Relaxed)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            instance_pool: None,
            test_hooks: false,
        }
    }
}

/// With the pooling allocator, memories, tables and fiber stacks come from
/// slots reserved when the library loads: creating and dropping an instance
/// then makes no `mmap`/`munmap` calls, which dominate instance creation
/// otherwise. The price: at most `size` instances alive per engine, each
/// limited to the slot's memory and table sizes.
fn pooling(size: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(size)
        .total_component_instances(size)
        .total_memories(size)
        .total_tables(size)
        .total_stacks(size)
        .max_memory_size(limits::DEFAULT_MAX_MEMORY)
        .table_elements(limits::DEFAULT_MAX_TABLE_ELEMENTS);
    pool
}

fn config(metering: Metering, settings: Settings) -> Config {
    let mut config = Config::new();
    config
        .max_wasm_stack(settings.max_wasm_stack)
        .async_stack_size(settings.max_wasm_stack + HOST_STACK_HEADROOM)
        .epoch_interruption(true)
        .consume_fuel(metering == Metering::Fuel);
    if let Some(size) = settings.instance_pool {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(size)));
    }
    config
}

fn runtime_for(metering: Metering, settings: Settings) -> Result<Runtime, String> {
    let engine =
        Engine::new(&config(metering, settings)).map_err(|e| format!("wasmtime engine: {e:#}"))?;
    let mut linker = Linker::new(&engine);
    term_abi::define_imports(&mut linker).map_err(|e| format!("wasmtime linker: {e:#}"))?;
    if settings.test_hooks {
        linker
            .func_wrap(term_abi::IMPORT_MODULE, TEST_PANIC_IMPORT, || -> () {
                panic!("{TEST_PANIC_IMPORT} was called")
            })
            .map_err(|e| format!("wasmtime linker: {e:#}"))?;
    }
    wasi::link(&mut linker).map_err(|e| format!("wasmtime linker: {e:#}"))?;
    let wasi_functions = wasi::functions(&linker, &engine);
    // WASI preview 2, for components (without sockets or name lookups,
    // which no context here allows); their own imports are added per
    // component (`component/link.rs`).
    let mut component_linker = wasmtime::component::Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut component_linker)
        .and_then(|()| wasi::bounded::link_components(&mut component_linker))
        .map_err(|e| format!("wasmtime linker: {e:#}"))?;
    Ok(Runtime {
        component_linker,
        stack: settings.max_wasm_stack + HOST_STACK_HEADROOM,
        engine,
        linker,
        wasi_functions,
    })
}

/// Builds the engines and linkers; called once when the NIF library loads.
pub fn init(settings: Settings) -> Result<(), String> {
    if RUNTIMES.get().is_some() {
        return Ok(());
    }
    let stack = settings.max_wasm_stack;
    if !MAX_WASM_STACK_RANGE.contains(&stack) {
        return Err(format!(
            "max_wasm_stack {stack} is outside {MAX_WASM_STACK_RANGE:?}"
        ));
    }
    let runtimes = [
        runtime_for(Metering::Off, settings)?,
        runtime_for(Metering::Fuel, settings)?,
    ];
    TEST_HOOKS.store(settings.test_hooks, std::sync::atomic::Ordering::Relaxed);
    let engines = runtimes.iter().map(|r| r.engine.clone()).collect();
    epoch::start(engines).map_err(|e| format!("epoch ticker thread: {e}"))?;
    // A concurrent `init` may have won the race; either set is equivalent.
    let _ = RUNTIMES.set(runtimes);
    Ok(())
}

fn runtime(metering: Metering) -> &'static Runtime {
    let runtimes = RUNTIMES
        .get()
        .expect("engine::init runs in the NIF load callback before any NIF");
    &runtimes[metering as usize]
}

/// Bytes of the fiber stack every store runs its guest on.
pub fn fiber_stack_size() -> usize {
    runtime(Metering::Off).stack
}

pub fn engine(metering: Metering) -> &'static Engine {
    &runtime(metering).engine
}

/// The type of WASI function `name`, if WASI has one of that name.
pub fn wasi_function(metering: Metering, name: &str) -> Option<&'static FuncType> {
    runtime(metering).wasi_functions.get(name)
}

/// The linker of components of `engine`, with WASI preview 2.
pub fn component_linker(metering: Metering) -> &'static wasmtime::component::Linker<StoreData> {
    &runtime(metering).component_linker
}

/// The linker with the term ABI and WASI for modules of `engine`.
pub fn linker(metering: Metering) -> &'static Linker<StoreData> {
    &runtime(metering).linker
}
