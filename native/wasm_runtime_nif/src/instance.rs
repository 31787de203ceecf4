//! Instances: one Wasmtime store each, lent to one call at a time.
//!
//! The store and what calls need with it form the instance's [`Guest`],
//! which a call takes out of the instance and gives back when it ends
//! (`instance/turns.rs` decides whose turn it is). The exports a call finds
//! by name are kept in `instance/exports.rs`. Making an instance is
//! `instantiate.rs`.

pub mod access;
pub mod exports;
mod info;
pub mod turns;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustler::{Env, LocalPid, NifResult, ResourceArc, Term};
use wasmtime::{Instance, Store, Val, ValRaw};

use crate::component::called::Called;
use crate::component::handle::Owner;
use crate::error::{charlist, raise};
use crate::kept_funs::KeptFuns;
use crate::limits::CallLimits;
use crate::live_count;
use crate::module::WasmModule;
use crate::reaper;
use crate::resource::{OwnResource, ResourceType};
use crate::slicing::wakeup::Wakeup;
use crate::store::data::{Cells, StoreData};
use crate::wasi;
use exports::Exports;
use turns::Slot;

/// What was instantiated: a core module's instance or a component's.
pub enum Instantiated {
    Module(Instance),
    Component(Box<Called>),
}

/// Everything a call needs, owned by whichever call holds it.
pub struct Guest {
    pub store: Store<StoreData>,
    pub instance: Instantiated,
    pub exports: Exports,
    /// The argument and result values of the call, kept to reuse their
    /// allocation.
    pub params: Vec<Val>,
    pub results: Vec<Val>,
    /// Parameters and results of a call made without a fiber.
    pub raw: Vec<ValRaw>,
    /// The store's cells, reachable while the store is lent to a call.
    pub cells: Arc<Cells>,
}

impl Guest {
    pub fn new(store: Store<StoreData>, instance: Instantiated) -> Self {
        let cells = store.data().cells.clone();
        Guest {
            store,
            instance,
            exports: Exports::default(),
            params: Vec::new(),
            results: Vec::new(),
            raw: Vec::new(),
            cells,
        }
    }
}

pub struct WasmInstance {
    /// Names this instance in turn messages: `{wasm_runtime_nif_turn, Id}`.
    id: u64,
    /// Limits of a call that gives none.
    pub default_limits: CallLimits,
    module: ResourceArc<WasmModule>,
    /// Set for `process_bound` instances: the only process that may call.
    owner: Option<LocalPid>,
    /// The funs implementing the module's Erlang imports, if it has any:
    /// behind a lock, since an `OwnedEnv` is not `Sync`; taken only when a
    /// guest calls one.
    import_funs: Option<Mutex<KeptFuns>>,
    slot: Mutex<Slot>,
    /// Set by `interrupt/1` while a call holds the guest (under the slot's
    /// lock, which clears it when the next call takes the guest): the
    /// call's driver stops it before its next slice.
    interrupt: AtomicBool,
    /// What an instance of a module that imports WASI has besides its store.
    pub wasi: Option<WasiParts>,
    /// Fuel the last call burned, for a module compiled with fuel metering.
    last_fuel: AtomicU64,
    /// For a component's instance: what its resource handles name it by,
    /// and the resources of collected ones, which its next call drops.
    pub component: Option<Owner>,
    _live: live_count::Token,
}

/// The output of an instance's WASI program, which outlives its store, and
/// the waker of its calls, which may wait for files and clocks.
pub struct WasiParts {
    pub output: wasi::Output,
    pub wakeup: Arc<Wakeup>,
    /// The funs of streamed outputs, behind a lock since an `OwnedEnv` is
    /// not `Sync`.
    pub funs: Option<Mutex<KeptFuns>>,
}

impl WasiParts {
    /// What the program wrote to its streamed outputs since the last time.
    pub fn streamed<'a>(&self, env: Env<'a>) -> Vec<(Term<'a>, Term<'a>)> {
        let funs = self
            .funs
            .as_ref()
            .map(|funs| funs.lock().unwrap_or_else(|p| p.into_inner()));
        wasi::streamed(env, &self.output, funs.as_deref())
    }
}

static INSTANCE_TYPE: ResourceType = ResourceType::new();

impl OwnResource for WasmInstance {
    fn resource_type() -> &'static ResourceType {
        &INSTANCE_TYPE
    }

    fn down(&self, env: Env, pid: LocalPid) {
        self.waiter_down(env, pid);
    }
}

impl Drop for WasmInstance {
    /// The garbage collector dropped the last reference: free the store on
    /// the reaper thread, not on the scheduler running the collection.
    fn drop(&mut self) {
        if let Some(guest) = self.take_idle_guest() {
            reaper::dispose(guest);
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl WasmInstance {
    /// A new instance's id.
    pub fn next_id() -> u64 {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    pub fn new(
        id: u64,
        module: ResourceArc<WasmModule>,
        owner: Option<LocalPid>,
        default_limits: CallLimits,
        import_funs: Option<KeptFuns>,
        guest: Guest,
    ) -> Self {
        WasmInstance {
            id,
            default_limits,
            module,
            owner,
            import_funs: import_funs.map(Mutex::new),
            slot: Mutex::new(Slot::new(guest)),
            interrupt: AtomicBool::new(false),
            wasi: None,
            last_fuel: AtomicU64::new(0),
            component: None,
            _live: live_count::Token::new(&live_count::INSTANCES),
        }
    }

    /// The limits of a call given `limits`, over the instance's defaults.
    pub fn call_limits(&self, limits: Term) -> NifResult<CallLimits> {
        crate::options::call_limits(limits, self.default_limits, self.module.metering)
    }

    /// What handles of a component's instance name it by.
    pub fn component_owner(&self) -> Option<&Owner> {
        self.component.as_ref()
    }

    pub fn module(&self) -> &ResourceArc<WasmModule> {
        &self.module
    }

    /// Notes the fuel the call that ran in `store` burned.
    pub fn note_fuel(&self, store: &Store<StoreData>) {
        if let Ok(left) = store.get_fuel() {
            let burned = store.data().fuel_given.saturating_sub(left);
            self.last_fuel.store(burned, Ordering::Relaxed);
        }
    }

    /// Whether `interrupt/1` asked the call holding the guest to stop.
    pub fn interrupt_requested(&self) -> bool {
        self.interrupt.load(Ordering::Acquire)
    }

    /// Fuel the last call burned; `None` for a module without metering.
    pub fn last_fuel(&self) -> Option<u64> {
        (self.module.metering == crate::limits::Metering::Fuel)
            .then(|| self.last_fuel.load(Ordering::Relaxed))
    }

    /// A copy, in `env`, of the fun implementing Erlang import `index`.
    pub fn import_fun<'a>(&self, env: Env<'a>, index: usize) -> Option<Term<'a>> {
        let funs = self.import_funs.as_ref()?;
        funs.lock()
            .unwrap_or_else(|p| p.into_inner())
            .fun(env, index)
    }

    /// A `process_bound` instance serves only the process that made it.
    fn check_owner(&self, env: Env) -> NifResult<()> {
        match self.owner {
            Some(owner) if owner != env.pid() => Err(raise(charlist("called by wrong process"))),
            _ => Ok(()),
        }
    }
}
