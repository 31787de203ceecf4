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

/// Stack a guest may use before it traps with `stack_overflow`, unless the
/// application environment says otherwise (`max_wasm_stack`).
///
/// Guests run on a Wasmtime fiber stack, never on the scheduler thread's
/// stack, so this bound holds on normal and dirty schedulers alike (dirty
/// schedulers have 320 KiB stacks by default).
pub const DEFAULT_MAX_WASM_STACK: usize = 512 * 1024;

/// Bounds of `max_wasm_stack`: below 16 KiB even small guests fail; above
/// 64 MiB every instance would reserve absurd fiber stacks.
pub const MAX_WASM_STACK_RANGE: std::ops::RangeInclusive<usize> = 16 * 1024..=64 * 1024 * 1024;

/// Fiber stack space beyond the guest's, for the host functions the guest
/// calls (ours use a few KiB) and Wasmtime's own frames.
pub const HOST_STACK_HEADROOM: usize = 512 * 1024;

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

fn config(metering: Metering, max_wasm_stack: usize) -> Config {
    let mut config = Config::new();
    config
        .max_wasm_stack(max_wasm_stack)
        .async_stack_size(max_wasm_stack + HOST_STACK_HEADROOM)
        .epoch_interruption(true)
        .consume_fuel(metering == Metering::Fuel);
    config
}

fn runtime_for(metering: Metering, max_wasm_stack: usize) -> Result<Runtime, String> {
    let engine = Engine::new(&config(metering, max_wasm_stack))
        .map_err(|e| format!("wasmtime engine: {e:#}"))?;
    let mut linker = Linker::new(&engine);
    term_abi::define_imports(&mut linker).map_err(|e| format!("wasmtime linker: {e:#}"))?;
    Ok(Runtime { engine, linker })
}

/// Builds the engines and linkers; called once when the NIF library loads.
pub fn init(max_wasm_stack: usize) -> Result<(), String> {
    if RUNTIMES.get().is_some() {
        return Ok(());
    }
    if !MAX_WASM_STACK_RANGE.contains(&max_wasm_stack) {
        return Err(format!(
            "max_wasm_stack {max_wasm_stack} is outside {MAX_WASM_STACK_RANGE:?}"
        ));
    }
    let runtimes = [
        runtime_for(Metering::Off, max_wasm_stack)?,
        runtime_for(Metering::Fuel, max_wasm_stack)?,
    ];
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
