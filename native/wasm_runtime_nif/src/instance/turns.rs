//! Whose turn it is: an instance serves one call at a time. A caller that
//! finds it busy is queued, in arrival order, and told by message
//! (`{wasm_runtime_nif_turn, Id}`) when its turn comes; it never waits on a
//! lock. The slot's mutex is held for a few instructions, never across
//! guest code.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use rustler::sys::ErlNifMonitor;
use rustler::{Env, LocalPid, NifResult};

use super::{Guest, WasmInstance};
use crate::atoms;
use crate::error::{raise, TrapReason};
use crate::reaper;
use crate::resource::{self, Handle};
use crate::slicing;

/// A process waiting for its turn, monitored so that its death is noticed.
struct Waiter {
    pid: LocalPid,
    monitor: Option<ErlNifMonitor>,
}

/// Bytes of memories and tables past which `release/1` frees a store on a
/// dirty scheduler: unmapping touched memory takes about 0.12 ms per MiB
/// (a 512 MiB store, 60 ms).
pub const FREED_ON_SCHEDULER_MAX: usize = 8 << 20;

/// What `release` did.
pub enum Released {
    Freed,
    TooLarge,
}

/// Who has the instance, and who is waiting for it.
pub struct Slot {
    /// `None` while a call holds it, or for good once invalidated.
    guest: Option<Box<Guest>>,
    invalidated: Option<TrapReason>,
    /// Freed on request (`release/1`); the store goes as soon as no call
    /// holds it.
    released: bool,
    /// The process whose call holds the guest.
    holder: Option<LocalPid>,
    /// The waiter told that it is next; others queue behind it.
    reserved: Option<Waiter>,
    queue: VecDeque<Waiter>,
    /// The store's memories and tables as the last call left them.
    held: Held,
}

/// Bytes of all memories and elements of all tables of a store.
#[derive(Clone, Copy, Default)]
pub struct Held {
    pub memory: usize,
    pub table_elements: usize,
}

impl Held {
    fn of(guest: &Guest) -> Self {
        let limits = &guest.store.data().limits;
        Held {
            memory: limits.memory(),
            table_elements: limits.table_elements(),
        }
    }
}

/// What `info/1` tells of an instance's turns.
pub struct Seen {
    pub state: State,
    /// Callers waiting for their turn (the one told it is next included).
    pub waiting: usize,
    pub held: Held,
}

pub enum State {
    Idle,
    Busy,
    Invalidated(TrapReason),
    Released,
}

impl Slot {
    pub fn new(guest: Guest) -> Self {
        Slot {
            held: Held::of(&guest),
            guest: Some(Box::new(guest)),
            invalidated: None,
            released: false,
            holder: None,
            reserved: None,
            queue: VecDeque::new(),
        }
    }
}

/// What a caller gets when it asks for the instance.
pub enum Turn<'a> {
    /// The guest, and the loan that must give it back.
    Go(Loan<'a>, Box<Guest>),
    /// Busy: the caller is queued and will get `{wasm_runtime_nif_turn, Id}`.
    Wait(u64),
}

impl WasmInstance {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The slot is only ever mutated by short sections that cannot panic
        // halfway; a poisoned lock still holds a consistent slot.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A queued or reserved waiter died: it will never take its turn.
    pub(super) fn waiter_down(&self, env: Env, pid: LocalPid) {
        let mut slot = self.lock();
        slot.queue.retain(|w| w.pid != pid);
        if slot.reserved.as_ref().is_some_and(|w| w.pid == pid) {
            slot.reserved = None;
            self.settle(&mut slot, env);
        }
    }

    /// The guest, if no call holds it: for the destructor.
    pub(super) fn take_idle_guest(&mut self) -> Option<Box<Guest>> {
        self.slot
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .guest
            .take()
    }

    /// Takes the instance for a call by the calling process, or queues it.
    pub fn take(&self, env: Env) -> NifResult<Turn<'_>> {
        self.check_owner(env)?;
        let me = env.pid();
        let mut slot = self.lock();
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
            if let Some(guest) = slot.guest.take() {
                if let Some(Waiter {
                    monitor: Some(monitor),
                    ..
                }) = slot.reserved.take()
                {
                    resource::demonitor(self, env, &monitor);
                }
                slot.holder = Some(me);
                self.interrupt.store(false, Ordering::Release);
                drop(slot);
                let loan = Loan {
                    instance: Lent::Borrowed(self),
                    settled: false,
                };
                return Ok(Turn::Go(loan, guest));
            }
        }
        if !reserved_for_me && !slot.queue.iter().any(|w| w.pid == me) {
            let monitor = resource::monitor(self, env, &me);
            slot.queue.push_back(Waiter { pid: me, monitor });
        }
        Ok(Turn::Wait(self.id))
    }

    /// Gives the instance back after a call and lets the next caller in.
    pub fn give_back(&self, env: Env, guest: Box<Guest>) {
        let mut slot = self.lock();
        slot.holder = None;
        if slot.released {
            // Released during the call, whose caller does not wait for the
            // memory to be free.
            drop(slot);
            reaper::dispose(guest);
            return;
        }
        slot.held = Held::of(&guest);
        slot.guest = Some(guest);
        self.settle(&mut slot, env);
    }

    /// The instance's state, its queue and what its store holds (as the
    /// last call left it: a running call's growth is not seen).
    pub fn seen(&self) -> Seen {
        let slot = self.lock();
        let state = if slot.released {
            State::Released
        } else if let Some(reason) = &slot.invalidated {
            State::Invalidated(reason.clone())
        } else if slot.holder.is_some() {
            State::Busy
        } else {
            State::Idle
        };
        let held = match state {
            State::Idle | State::Busy => slot.held,
            State::Invalidated(_) | State::Released => Held::default(),
        };
        Seen {
            state,
            waiting: slot.queue.len() + usize::from(slot.reserved.is_some()),
            held,
        }
    }

    /// Frees the store now, on this thread, rather than when the garbage
    /// collector gets to the instance; a call in progress finishes first
    /// (and frees it when it ends). Later calls raise
    /// `instance_released`, and so do the callers waiting in the queue.
    /// On a normal scheduler (`dirty` false) a store holding more than
    /// `FREED_ON_SCHEDULER_MAX` is left as it was: `TooLarge`.
    pub fn release(&self, env: Env, dirty: bool) -> NifResult<Released> {
        self.check_owner(env)?;
        let mut slot = self.lock();
        let large = |guest: &Guest| guest.store.data().limits.held() > FREED_ON_SCHEDULER_MAX;
        if !dirty && slot.guest.as_deref().is_some_and(large) {
            return Ok(Released::TooLarge);
        }
        slot.released = true;
        let guest = slot.guest.take();
        self.dismiss_waiters(&mut slot, env);
        drop(slot);
        // Freed here, not by the reaper: when `release/1` returns, the
        // memory (or the pool slot) is free for the next instance. Files a
        // WASI program left open are closed by the reaper: closing one can
        // wait for the disk.
        if let Some(mut guest) = guest {
            if let Some(wasi) = guest.store.data_mut().wasi.take() {
                reaper::dispose(wasi);
            }
            drop(guest);
        }
        Ok(Released::Freed)
    }

    /// Asks the call holding the guest, if one does, to stop before its
    /// next slice (`interrupt/1`); a call waiting for a WASI file or clock
    /// is woken to stop. Whether a call held it: one that finishes first
    /// returns as usual, and the next call is not affected.
    pub fn interrupt(&self, env: Env) -> bool {
        let slot = self.lock();
        if slot.holder.is_none() {
            return false;
        }
        self.interrupt.store(true, Ordering::Release);
        // Under the slot's lock, so that the wake reaches this call and
        // never the next one's wait.
        if let Some(wasi) = &self.wasi {
            wasi.wakeup.wake_in(env);
        }
        drop(slot);
        true
    }

    /// Ends the instance after a trap, timeout or cancellation: the call that
    /// held it is dropped with its store, and every waiter is told to come
    /// and collect the reason.
    pub fn invalidate(&self, env: Env, reason: TrapReason) {
        let mut slot = self.lock();
        slot.invalidated = Some(reason);
        if let Some(guest) = slot.guest.take() {
            reaper::dispose(guest);
        }
        slot.holder = None;
        self.dismiss_waiters(&mut slot, env);
    }

    /// `invalidate` where no env is at hand: the waiters are not told.
    fn invalidate_unannounced(&self, reason: TrapReason) {
        let mut slot = self.lock();
        slot.invalidated = Some(reason);
        if let Some(guest) = slot.guest.take() {
            reaper::dispose(guest);
        }
        slot.holder = None;
    }

    /// Tells every waiting caller to come back and find the instance gone.
    fn dismiss_waiters(&self, slot: &mut Slot, env: Env) {
        let waiters = slot.reserved.take().into_iter().chain(slot.queue.drain(..));
        for waiter in waiters {
            let _ = env.send(&waiter.pid, (atoms::wasm_runtime_nif_turn(), self.id));
        }
    }

    /// Takes the calling process out of the queue, after its wait timed out.
    pub fn leave_queue(&self, env: Env) {
        let me = env.pid();
        let mut slot = self.lock();
        let mut left: Vec<Waiter> = Vec::new();
        if slot.reserved.as_ref().is_some_and(|w| w.pid == me) {
            left.extend(slot.reserved.take());
        }
        if let Some(at) = slot.queue.iter().position(|w| w.pid == me) {
            left.extend(slot.queue.remove(at));
        }
        for waiter in left {
            if let Some(monitor) = waiter.monitor {
                resource::demonitor(self, env, &monitor);
            }
        }
        self.settle(&mut slot, env);
    }

    /// Hands an idle instance to the first live waiter, if any.
    fn settle(&self, slot: &mut Slot, env: Env) {
        while slot.reserved.is_none() && slot.guest.is_some() {
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

/// The instance while a call holds its guest: the call ends by giving the
/// guest back or by invalidating the instance. Should the loan be dropped
/// otherwise (a panic anywhere in the call unwinds through it), the
/// instance is invalidated, so that it is never left held and its waiters
/// are told.
pub struct Loan<'a> {
    instance: Lent<'a>,
    settled: bool,
}

/// The instance of a loan: borrowed from the NIF's argument for a call that
/// ends in its first NIF call, kept by a reference of its own otherwise.
enum Lent<'a> {
    Borrowed(&'a WasmInstance),
    Kept(Handle<WasmInstance>),
}

impl<'a> Loan<'a> {
    pub fn instance(&self) -> &WasmInstance {
        match &self.instance {
            Lent::Borrowed(instance) => instance,
            Lent::Kept(instance) => instance,
        }
    }

    /// The loan for a call that outlives this NIF call.
    pub fn kept(mut self) -> Loan<'static> {
        // This loan hands the instance over: its drop must do nothing.
        self.settled = true;
        Loan {
            instance: Lent::Kept(Handle::of(self.instance())),
            settled: false,
        }
    }

    pub fn give_back(mut self, env: Env, guest: Box<Guest>) {
        self.settled = true;
        self.instance().give_back(env, guest);
    }

    pub fn invalidate(mut self, env: Env, reason: TrapReason) {
        self.settled = true;
        self.instance().invalidate(env, reason);
    }
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let reason = TrapReason::new(
            "panic",
            "the call failed inside wasm_runtime_nif (a panic); the instance was ended",
        );
        let instance = self.instance();
        match slicing::current_env(|env| instance.invalidate(env, reason.clone())) {
            Some(()) => {}
            // Outside a NIF no process can be told; later callers still
            // find the reason.
            None => instance.invalidate_unannounced(reason),
        }
    }
}
