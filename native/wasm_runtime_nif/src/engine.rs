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

/// Whether compiled code counts fuel. Fuel metering is compiled into every
/// function and costs time even when nobody sets a limit, so it is a choice
/// made per module, at compile time, with an engine of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metering {
    Off,
    Fuel,
}

struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
}

static RUNTIMES: OnceLock<[Runtime; 2]> = OnceLock::new();

fn config(metering: Metering) -> Config {
    let mut config = Config::new();
    config
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(FIBER_STACK_SIZE)
        .epoch_interruption(true)
        .consume_fuel(metering == Metering::Fuel);
    config
}

fn runtime_for(metering: Metering) -> Result<Runtime, String> {
    let engine = Engine::new(&config(metering)).map_err(|e| format!("wasmtime engine: {e:#}"))?;
    let mut linker = Linker::new(&engine);
    term_abi::define_imports(&mut linker).map_err(|e| format!("wasmtime linker: {e:#}"))?;
    Ok(Runtime { engine, linker })
}

/// Builds the engines and linkers; called once when the NIF library loads.
pub fn init() -> Result<(), String> {
    if RUNTIMES.get().is_some() {
        return Ok(());
    }
    let runtimes = [runtime_for(Metering::Off)?, runtime_for(Metering::Fuel)?];
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

pub fn engine(metering: Metering) -> &'static Engine {
    &runtime(metering).engine
}

/// The linker with the term ABI for modules of `engine`.
pub fn linker(metering: Metering) -> &'static Linker<HostState> {
    &runtime(metering).linker
}
