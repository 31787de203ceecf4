//! Instances: one Wasmtime `Store` each, lent to one call at a time.
//!
//! The store lives in a [`Live`] that a call takes out of the instance's
//! [`Slot`] and gives back when it finishes, so the slot's mutex is held for
//! a few instructions, never across guest code. A caller that finds the
//! instance busy is queued (in arrival order) and told by message when its
//! turn comes; it never waits on a lock.

pub mod limits;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustler::sys::ErlNifTerm;
use rustler::{Encoder, Env, Error, LocalPid, Monitor, NifResult, Resource, ResourceArc, Term};
use wasmtime::{Func, Instance, Store, Val, ValType};

use crate::atoms;
use crate::budget;
use crate::call::{self, Limits};
use crate::engine;
use crate::fast_path::Fast;
use crate::host_fun::{self, HostCell, HostFuns, SharedHostFuns};
use crate::live_count;
use crate::module::WasmModule;
use crate::output::OutputCell;
use crate::reaper;
use crate::term_abi::{HostState, TermCell};
use crate::trap::TrapReason;
use crate::values::NumType;

/// How an export can be called, worked out once per instance and export.
pub enum Shape {
    /// Numbers in and out: callable with `call_raw/3`. `term_abi` is set when
    /// the type is `(i32 env, i64 term...) -> i64 term`, for `call/3`.
    Numeric {
        params: Box<[NumType]>,
        results: Box<[NumType]>,
        term_abi: bool,
    },
    /// Anything else (v128, references): not callable from Erlang.
    Other,
}

pub struct Export {
    name: Box<str>,
    pub func: Func,
    /// A typed entry point, for the common signatures.
    pub fast: Option<Fast>,
    pub shape: Shape,
    pub signature: String,
}

impl Export {
    fn new(name: &str, func: Func, store: &Store<HostState>) -> Self {
        let ty = func.ty(store);
        let params: Vec<ValType> = ty.params().collect();
        let results: Vec<ValType> = ty.results().collect();
        let numeric = |tys: &[ValType]| {
            tys.iter()
                .map(NumType::of)
                .collect::<Option<Box<[NumType]>>>()
        };
        let shape = match (numeric(&params), numeric(&results)) {
            (Some(p), Some(r)) => Shape::Numeric {
                term_abi: matches!(&*p, [NumType::I32, rest @ ..] if rest.iter().all(|t| *t == NumType::I64))
                    && *r == [NumType::I64],
                params: p,
                results: r,
            },
            _ => Shape::Other,
        };
        Export {
            name: name.into(),
            fast: Fast::of(&func, store),
            func,
            shape,
            signature: crate::module::signature(&ty),
        }
    }
}

/// An export name as it appears in error reasons: the caller's atom or binary.
pub enum Name {
    Atom(rustler::Atom),
    Text(String),
}

impl Encoder for Name {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            Name::Atom(a) => a.encode(env),
            Name::Text(s) => s.encode(env),
        }
    }
}

pub fn name_of(name: Term) -> Name {
    match rustler::Atom::from_term(name) {
        Ok(atom) => Name::Atom(atom),
        Err(_) => Name::Text(
            String::from_utf8_lossy(name.decode_as_binary().map(|b| b.as_slice()).unwrap_or(b""))
                .into(),
        ),
    }
}

/// The UTF-8 text of an atom, whatever its characters: erl_nif of OTP 25
/// reads atoms as Latin-1 only, so others are read from their external
/// format (`ATOM_UTF8_EXT`, `SMALL_ATOM_UTF8_EXT`).
fn atom_text(atom: Term) -> Option<String> {
    if let Ok(latin1) = atom.atom_to_string() {
        return Some(latin1);
    }
    let encoded = atom.to_binary();
    let utf8 = match encoded.as_slice() {
        [131, 118, hi, lo, text @ ..] if text.len() == u16::from_be_bytes([*hi, *lo]) as usize => {
            text
        }
        [131, 119, len, text @ ..] if text.len() == *len as usize => text,
        _ => return None,
    };
    String::from_utf8(utf8.to_vec()).ok()
}

/// Everything a call needs, owned by whichever call holds it.
pub struct Live {
    pub store: Store<HostState>,
    instance: Instance,
    /// Exports called so far. Looked up by name once; after that an atom
    /// finds its export in `by_atom` with no string built or hashed.
    pub exports: Vec<Export>,
    /// Atom terms are stable for the life of the VM.
    by_atom: Vec<(ErlNifTerm, usize)>,
    pub params: Vec<Val>,
    pub results: Vec<Val>,
    /// The store's term table, reachable while the store is lent to a call.
    pub terms: Arc<TermCell>,
    /// The store's exchange with Erlang imports, likewise.
    pub host: Arc<HostCell>,
    /// What the guest prints, shared with the store likewise.
    pub output: Arc<OutputCell>,
}

impl Live {
    /// Index in `exports` of the function `name` (an atom or a binary).
    pub fn export_index(&mut self, module: &WasmModule, name: Term) -> NifResult<usize> {
        let atom = name.is_atom().then(|| name.as_c_arg());
        if let Some(atom) = atom {
            if let Some(&(_, index)) = self.by_atom.iter().find(|(a, _)| *a == atom) {
                return Ok(index);
            }
        }
        let text = match atom {
            Some(_) => atom_text(name).ok_or(Error::BadArg)?,
            // Only atoms and binaries name functions; a charlist would be
            // accepted by `decode_as_binary` as an iolist.
            None if !name.is_binary() => return Err(Error::BadArg),
            None => std::str::from_utf8(name.decode_as_binary()?.as_slice())
                .map_err(|_| Error::BadArg)?
                .to_owned(),
        };
        let index = match self.exports.iter().position(|e| *e.name == *text) {
            Some(index) => index,
            None => {
                let func = module
                    .module
                    .get_export_index(&text)
                    .and_then(|export| self.instance.get_module_export(&mut self.store, &export))
                    .and_then(|ext| ext.into_func())
                    .ok_or_else(|| raise((atoms::undefined_function(), name_of(name))))?;
                self.exports.push(Export::new(&text, func, &self.store));
                self.exports.len() - 1
            }
        };
        if let Some(atom) = atom {
            self.by_atom.push((atom, index));
        }
        Ok(index)
    }
}

/// A process waiting for its turn, monitored so that its death is noticed.
struct Waiter {
    pid: LocalPid,
    monitor: Option<Monitor>,
}

/// Who has the instance, and who is waiting for it.
struct Slot {
    /// `None` while a call holds it, or for good once invalidated.
    live: Option<Box<Live>>,
    invalidated: Option<TrapReason>,
    /// Freed on request (`release/1`); the store goes as soon as no call
    /// holds it.
    released: bool,
    /// The process whose call holds `live`.
    holder: Option<LocalPid>,
    /// The waiter told that it is next; others queue behind it.
    reserved: Option<Waiter>,
    queue: VecDeque<Waiter>,
}

/// What `instantiate/2` can set, already checked by the Erlang side.
pub struct Options {
    pub process_bound: bool,
    pub max_memory: usize,
    pub max_table_elements: usize,
    pub max_memories: usize,
    pub max_tables: usize,
    /// Default limits of a call.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            process_bound: false,
            max_memory: limits::DEFAULT_MAX_MEMORY,
            max_table_elements: limits::DEFAULT_MAX_TABLE_ELEMENTS,
            max_memories: limits::DEFAULT_MAX_MEMORIES,
            max_tables: limits::DEFAULT_MAX_TABLES,
            limits: Limits {
                timeout: None,
                fuel: None,
            },
        }
    }
}

pub struct WasmInstance {
    /// Names this instance in turn messages: `{wasm_runtime_nif_turn, Id}`.
    id: u64,
    pub default_limits: Limits,
    module: ResourceArc<WasmModule>,
    /// Set for `process_bound` instances: the only process that may call.
    owner: Option<LocalPid>,
    /// The funs implementing the module's host imports, if it has any.
    host_funs: Option<SharedHostFuns>,
    slot: Mutex<Slot>,
    _live: live_count::Token,
}

#[rustler::resource_impl]
impl Resource for WasmInstance {
    const IMPLEMENTS_DOWN: bool = true;

    /// A queued or reserved waiter died: it will never take its turn.
    fn down<'a>(&'a self, env: Env<'a>, pid: LocalPid, _monitor: Monitor) {
        let mut slot = self.lock();
        slot.queue.retain(|w| w.pid != pid);
        if slot.reserved.as_ref().is_some_and(|w| w.pid == pid) {
            slot.reserved = None;
            self.settle(&mut slot, env);
        }
    }
}

impl Drop for WasmInstance {
    /// The garbage collector dropped the last reference: free the store on
    /// the reaper thread, not on the scheduler running the collection.
    fn drop(&mut self) {
        let slot = self.slot.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(live) = slot.live.take() {
            reaper::dispose(live);
        }
    }
}

/// Why instantiation failed.
pub enum InstantiateError {
    Trap(TrapReason),
    /// The module defines more memories or tables than the instance may
    /// have: `memories` or `tables`, how many, the most allowed.
    TooMany(&'static str, usize, usize),
    /// Live instances have reserved the VM's share of mappings or address
    /// space (see `budget.rs`).
    SystemLimit(String),
    Failed(String),
    UnknownImport(String, String),
    ImportArity {
        module: String,
        name: String,
        expected: usize,
        actual: usize,
    },
}

impl Encoder for InstantiateError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            InstantiateError::Trap(reason) => reason.encode(env),
            InstantiateError::SystemLimit(msg) => (atoms::system_limit(), msg.as_str()).encode(env),
            InstantiateError::TooMany(what, defined, max) => {
                let what = rustler::Atom::from_str(env, what).expect("an atom");
                (atoms::too_many(), what, *defined, *max).encode(env)
            }
            InstantiateError::Failed(msg) => {
                (atoms::instantiation_failed(), msg.as_str()).encode(env)
            }
            InstantiateError::UnknownImport(module, name) => (
                atoms::unknown_import(),
                module.as_str(),
                name.as_str(),
                atoms::func(),
            )
                .encode(env),
            InstantiateError::ImportArity {
                module,
                name,
                expected,
                actual,
            } => (
                atoms::import_arity_mismatch(),
                module.as_str(),
                name.as_str(),
                *expected,
                *actual,
            )
                .encode(env),
        }
    }
}

/// An Erlang fun offered for an import: module, name, fun, arity.
pub type OfferedImport<'a> = (String, String, Term<'a>, usize);

/// Links the module's host imports to the offered funs.
fn link_host_imports(
    module: &WasmModule,
    offered: &[OfferedImport],
) -> Result<(wasmtime::Linker<HostState>, HostFuns), InstantiateError> {
    let mut linker = engine::linker(module.metering).clone();
    let mut funs = Vec::with_capacity(module.host_imports.len());
    for (index, import) in module.host_imports.iter().enumerate() {
        let Some((_, _, fun, arity)) = offered
            .iter()
            .find(|(m, n, _, _)| *m == import.module && *n == import.name)
        else {
            return Err(InstantiateError::UnknownImport(
                import.module.clone(),
                import.name.clone(),
            ));
        };
        if *arity != import.params.len() {
            return Err(InstantiateError::ImportArity {
                module: import.module.clone(),
                name: import.name.clone(),
                expected: import.params.len(),
                actual: *arity,
            });
        }
        host_fun::define(&mut linker, index, import)
            .map_err(|e| InstantiateError::Failed(format!("{e:#}")))?;
        funs.push(*fun);
    }
    Ok((linker, HostFuns::new(&funs)))
}

pub fn raise(reason: impl Encoder + 'static) -> Error {
    Error::RaiseTerm(Box::new(reason))
}

fn charlist(text: &str) -> Vec<u32> {
    text.chars().map(u32::from).collect()
}

/// What instantiation needs besides the module: the store, and the linker
/// and funs of a module with Erlang imports.
pub struct Prepared {
    pub store: Store<HostState>,
    pub linker: Option<wasmtime::Linker<HostState>>,
    pub host_funs: Option<HostFuns>,
}

/// What a caller gets when it asks for the instance.
pub enum Turn {
    Go(Box<Live>),
    /// Busy: the caller is queued and will get `{wasm_runtime_nif_turn, Id}`.
    Wait(u64),
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl WasmInstance {
    /// A store for an instance of `module` and, for a module with Erlang
    /// imports, the linker and funs that provide them.
    pub fn prepare(
        module: &WasmModule,
        options: &Options,
        offered: &[OfferedImport],
    ) -> Result<Prepared, InstantiateError> {
        let required = module.module.resources_required();
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
        let limits = limits::InstanceLimits::new(
            options.max_memory,
            options.max_table_elements,
            options.max_memories,
            options.max_tables,
        );
        let mut store = call::new_store(module, HostState::new(limits));
        store.data_mut().budget = Some(reservation);
        store.limiter(|state| &mut state.limits);
        let (linker, host_funs) = match module.pre {
            Some(_) => (None, None),
            None => {
                let (linker, funs) = link_host_imports(module, offered)?;
                (Some(linker), Some(funs))
            }
        };
        Ok(Prepared {
            store,
            linker,
            host_funs,
        })
    }

    /// The instance, once its start function has run.
    pub fn assemble(
        module: ResourceArc<WasmModule>,
        owner: Option<LocalPid>,
        limits: Limits,
        host_funs: Option<HostFuns>,
        mut store: Store<HostState>,
        instance: Instance,
    ) -> Self {
        let memory = instance.get_memory(&mut store, "memory");
        store.data_mut().memory = memory;
        let terms = store.data().terms.clone();
        let host = store.data().host.clone();
        let output = store.data().output.clone();
        let live = Live {
            store,
            instance,
            exports: Vec::new(),
            by_atom: Vec::new(),
            params: Vec::new(),
            results: Vec::new(),
            terms,
            host,
            output,
        };
        WasmInstance {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            default_limits: limits,
            module,
            owner,
            host_funs: host_funs.map(Mutex::new),
            slot: Mutex::new(Slot {
                live: Some(Box::new(live)),
                invalidated: None,
                released: false,
                holder: None,
                reserved: None,
                queue: VecDeque::new(),
            }),
            _live: live_count::Token::new(&live_count::INSTANCES),
        }
    }

    pub fn module(&self) -> &ResourceArc<WasmModule> {
        &self.module
    }

    /// A copy, in `env`, of the fun implementing host import `index`.
    pub fn host_fun<'a>(&self, env: Env<'a>, index: usize) -> Option<Term<'a>> {
        let funs = self.host_funs.as_ref()?;
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

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The slot is only ever mutated by short sections that cannot panic
        // halfway; a poisoned lock still holds a consistent slot.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the instance for a call by the calling process, or queues it.
    pub fn take(this: &ResourceArc<Self>, env: Env) -> NifResult<Turn> {
        this.check_owner(env)?;
        let me = env.pid();
        let mut slot = this.lock();
        if slot.released {
            return Err(raise(atoms::instance_released()));
        }
        if let Some(reason) = &slot.invalidated {
            return Err(raise((atoms::instance_invalidated(), reason.clone())));
        }
        if slot.holder == Some(me) {
            return Err(raise(atoms::reentrant_call()));
        }
        let reserved_for_me = slot.reserved.as_ref().is_some_and(|w| w.pid == me);
        let my_turn = reserved_for_me || (slot.reserved.is_none() && slot.queue.is_empty());
        if my_turn {
            if let Some(live) = slot.live.take() {
                if let Some(Waiter {
                    monitor: Some(monitor),
                    ..
                }) = slot.reserved.take()
                {
                    env.demonitor(this, &monitor);
                }
                slot.holder = Some(me);
                return Ok(Turn::Go(live));
            }
        }
        if !reserved_for_me && !slot.queue.iter().any(|w| w.pid == me) {
            let monitor = env.monitor(this, &me);
            slot.queue.push_back(Waiter { pid: me, monitor });
        }
        Ok(Turn::Wait(this.id))
    }

    /// Gives the instance back after a call and lets the next caller in.
    pub fn give_back(&self, env: Env, live: Box<Live>) {
        let mut slot = self.lock();
        slot.holder = None;
        if slot.released {
            // Released during the call: freed now, as `release/1` promises.
            drop(slot);
            drop(live);
            return;
        }
        slot.live = Some(live);
        self.settle(&mut slot, env);
    }

    /// Frees the store now, on this thread, rather than when the garbage
    /// collector gets to the instance; a call in progress finishes first
    /// (and frees it when it ends). Later calls raise
    /// `instance_released`, and so do the callers waiting in the queue.
    pub fn release(&self, env: Env) -> NifResult<()> {
        self.check_owner(env)?;
        let mut slot = self.lock();
        slot.released = true;
        let live = slot.live.take();
        self.dismiss_waiters(&mut slot, env);
        drop(slot);
        // Freed here, not by the reaper: when `release/1` returns, the
        // memory (or the pool slot) is free for the next instance.
        drop(live);
        Ok(())
    }

    /// Ends the instance after a trap, timeout or cancellation: the call that
    /// held it is dropped with its store, and every waiter is told to come
    /// and collect the reason.
    pub fn invalidate(&self, env: Env, reason: TrapReason) {
        let mut slot = self.lock();
        slot.invalidated = Some(reason);
        if let Some(live) = slot.live.take() {
            reaper::dispose(live);
        }
        slot.holder = None;
        self.dismiss_waiters(&mut slot, env);
    }

    /// Tells every waiting caller to come back and find the instance gone.
    fn dismiss_waiters(&self, slot: &mut Slot, env: Env) {
        let waiters = slot.reserved.take().into_iter().chain(slot.queue.drain(..));
        for waiter in waiters {
            let _ = env.send(&waiter.pid, (atoms::wasm_runtime_nif_turn(), self.id));
        }
    }

    /// Takes the calling process out of the queue, after its wait timed out.
    pub fn leave_queue(this: &ResourceArc<Self>, env: Env) {
        let me = env.pid();
        let mut slot = this.lock();
        let mut left: Vec<Waiter> = Vec::new();
        if slot.reserved.as_ref().is_some_and(|w| w.pid == me) {
            left.extend(slot.reserved.take());
        }
        if let Some(at) = slot.queue.iter().position(|w| w.pid == me) {
            left.extend(slot.queue.remove(at));
        }
        for waiter in left {
            if let Some(monitor) = waiter.monitor {
                env.demonitor(this, &monitor);
            }
        }
        this.settle(&mut slot, env);
    }

    /// Hands an idle instance to the first live waiter, if any.
    fn settle(&self, slot: &mut Slot, env: Env) {
        while slot.reserved.is_none() && slot.live.is_some() {
            let Some(waiter) = slot.queue.pop_front() else {
                break;
            };
            // A failed send means the waiter is gone; its monitor fired or
            // will fire and find nothing to do.
            if env
                .send(&waiter.pid, (atoms::wasm_runtime_nif_turn(), self.id))
                .is_ok()
            {
                slot.reserved = Some(waiter);
            }
        }
    }
}
