//! The process-wide Wasmtime engine and the linker that holds the guest term ABI.
//!
//! One `Engine` serves every module: compiled code can only be shared between
//! instances of the same engine, and the engine's configuration (stack sizes,
//! async support) is what keeps guest recursion from ever reaching a BEAM
//! scheduler's own stack.

use std::sync::OnceLock;

use wasmtime::{Config, Engine, Linker};

use crate::epoch;
use crate::term_abi::{self, HostState};

/// Stack a guest may use before it traps with `stack_overflow`.
///
/// Guests run on a Wasmtime fiber stack of `FIBER_STACK_SIZE` bytes, never on
/// the scheduler thread's stack, so this bound holds on normal and dirty
/// schedulers alike (dirty schedulers have 320 KiB stacks by default).
pub const MAX_WASM_STACK: usize = 512 * 1024;

/// Size of the fiber stack every call runs on. What is left above
/// `MAX_WASM_STACK` (512 KiB) is for host functions called by the guest; ours
/// use a few KiB.
pub const FIBER_STACK_SIZE: usize = 1024 * 1024;

struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn config() -> Config {
    let mut config = Config::new();
    config
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(FIBER_STACK_SIZE)
        .epoch_interruption(true);
    config
}

/// Builds the engine and linker; called once when the NIF library is loaded.
pub fn init() -> Result<(), String> {
    if RUNTIME.get().is_some() {
        return Ok(());
    }
    let engine = Engine::new(&config()).map_err(|e| format!("wasmtime engine: {e:#}"))?;
    let mut linker = Linker::new(&engine);
    term_abi::define_imports(&mut linker).map_err(|e| format!("wasmtime linker: {e:#}"))?;
    epoch::start(&engine).map_err(|e| format!("epoch ticker thread: {e}"))?;
    // A concurrent `init` may have won the race; either runtime is equivalent.
    let _ = RUNTIME.set(Runtime { engine, linker });
    Ok(())
}

fn runtime() -> &'static Runtime {
    RUNTIME
        .get()
        .expect("engine::init runs in the NIF load callback before any NIF")
}

pub fn engine() -> &'static Engine {
    &runtime().engine
}

pub fn linker() -> &'static Linker<HostState> {
    &runtime().linker
}
