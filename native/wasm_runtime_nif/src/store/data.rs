//! What a store holds besides the guest: the cells that host functions
//! (during a slice) and the driver of a call (between slices) share, the
//! instance's limits, and the VM mappings it reserved.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use wasmtime::{Memory, ResourceLimiter, ResourceLimiterAsync, Val};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::budget::Reservation;
use crate::error::HostTrap;
use crate::limits::InstanceLimits;
use crate::output::Output;
use crate::slicing::SliceCell;
use crate::term_table::TermTable;

/// A request of the guest to an Erlang import, and the driver's reply.
#[derive(Default)]
pub struct ImportExchange {
    /// Set by the host function: which import the guest called (its
    /// arguments are in `values`).
    pub request: Option<usize>,
    /// Set by the driver: whether the guest goes on (the fun's results are
    /// then in `values`) or why its call fails.
    pub reply: Option<wasmtime::Result<()>>,
    /// The request's arguments, then the reply's results: one buffer,
    /// reused from call to call.
    pub values: Vec<Val>,
    /// The same, for an import of a component.
    pub parts: Vec<wasmtime::component::Val>,
}

/// The guest called Erlang import `index` with `params`: the request is
/// handed to the call's driver (which runs the fun in the caller), and the
/// values of its reply go to `results`. `values` picks the exchange's
/// buffer of the values' kind (a module's or a component's).
pub async fn ask_erlang<V: Clone>(
    cells: &Cells,
    index: usize,
    params: &[V],
    results: &mut [V],
    values: fn(&mut ImportExchange) -> &mut Vec<V>,
) -> wasmtime::Result<()> {
    {
        // SAFETY: inside a slice; the driver is not looking.
        let exchange = unsafe { cells.imports.get() };
        values(exchange).clear();
        values(exchange).extend_from_slice(params);
        exchange.request = Some(index);
    }
    ReplyFuture(&cells.imports).await?;
    // SAFETY: the guest runs again; the driver is not looking.
    let replied = values(unsafe { cells.imports.get() });
    if replied.len() != results.len() {
        return Err(HostTrap::new("bad_host_result", "wrong number of results").into());
    }
    results.clone_from_slice(replied);
    Ok(())
}

/// Waits for the driver's reply to the request the host function made.
struct ReplyFuture<'c>(&'c SliceCell<ImportExchange>);

impl Future for ReplyFuture<'_> {
    type Output = wasmtime::Result<()>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: polled inside a slice, while the driver is not looking.
        match unsafe { self.0.get() }.reply.take() {
            Some(reply) => Poll::Ready(reply),
            None => Poll::Pending,
        }
    }
}

/// What host functions (during a slice) and the driver of a call (between
/// slices) share; the driver keeps its own reference while the store is
/// lent to the guest's future.
#[derive(Default)]
pub struct Cells {
    /// The term table of the call in progress (`call/3`).
    pub terms: SliceCell<TermTable>,
    /// Requests to Erlang imports and their replies.
    pub imports: SliceCell<ImportExchange>,
    /// What the guest printed, for the calling process.
    pub output: SliceCell<Output>,
    /// Set when a memory growth made the call's result too costly to lift
    /// on a normal scheduler: its slices go on on dirty ones.
    pub lift_moved_dirty: AtomicBool,
}

/// The data of every store, reachable from host functions as a `Caller`'s.
pub struct StoreData {
    /// The guest's exported `memory`, looked up once at instantiation.
    pub memory: Option<Memory>,
    pub cells: Arc<Cells>,
    pub limits: InstanceLimits,
    /// The fuel the current (or last) run was given, for modules compiled
    /// with fuel metering.
    pub fuel_given: u64,
    /// The WASI context of a module that imports WASI (`wasi.rs`).
    pub wasi: Option<Box<WasiP1Ctx>>,
    /// The VM mappings the instance reserved, given back with the store.
    _budget: Option<Reservation>,
}

/// What WASI preview 2 reaches (components): the same context as a
/// preview 1 program's, which holds a preview 2 context and its table.
impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi
            .as_deref_mut()
            .expect("a component that imports WASI is instantiated with a WASI context")
            .ctx()
    }
}

impl StoreData {
    pub fn new(limits: InstanceLimits, budget: Option<Reservation>) -> Self {
        StoreData {
            memory: None,
            cells: Arc::default(),
            limits,
            fuel_given: 0,
            wasi: None,
            _budget: budget,
        }
    }
}

/// A component's limiter: the instance's limits, and a growth past their
/// `yield_past` yields before the guest goes on, so that the call's driver
/// runs the rest of it, the lift of its result included, on dirty
/// schedulers (`Cells::lift_moved_dirty`).
#[async_trait::async_trait]
impl ResourceLimiterAsync for StoreData {
    async fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted && self.limits.passed_yield_bound() {
            self.cells.lift_moved_dirty.store(true, Ordering::Relaxed);
            crate::slicing::yield_once().await;
        }
        Ok(granted)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    async fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
