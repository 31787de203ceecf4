//! Waking suspended work that waits for something outside the guest: a
//! WASI call whose file operation runs on a thread of its own, or a guest
//! that sleeps. Such work is neither rescheduled (that would spin a
//! scheduler for the whole wait) nor held: the calling process waits in
//! `receive` for `{wasm_runtime_nif_woken, Id}`, which the waker sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use rustler::{Encoder, Env, LocalPid, OwnedEnv};

use crate::atoms;

/// The waker of one piece of work, for all its slices.
#[derive(Default)]
pub struct Wakeup {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Woken since the slice began: the work can go on at once.
    woken: bool,
    /// The process waiting for the wake, and the wait's id.
    waiter: Option<(LocalPid, u64)>,
}

/// Ids of waits, so that a late wake of an earlier wait is never taken
/// for the current one.
static NEXT_WAIT: AtomicU64 = AtomicU64::new(1);

impl Wakeup {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The waker for a slice about to run; nobody waits meanwhile.
    pub fn begin(self: &Arc<Self>) -> Waker {
        let mut state = self.state();
        state.woken = false;
        state.waiter = None;
        Waker::from(self.clone())
    }

    /// Makes `pid` the waiter, unless the work was woken already: the id
    /// of the wait, or `None` when the work can go on now.
    pub fn wait(&self, pid: LocalPid) -> Option<u64> {
        let mut state = self.state();
        if state.woken {
            return None;
        }
        let id = NEXT_WAIT.fetch_add(1, Ordering::Relaxed);
        state.waiter = Some((pid, id));
        Some(id)
    }
}

impl State {
    /// Notes the wake: the waiter to tell, if one waits.
    fn wake(&mut self) -> Option<(LocalPid, u64)> {
        self.woken = true;
        self.waiter.take()
    }
}

impl Wakeup {
    /// Wakes the work from a NIF of `env` (`interrupt/1`), so that it
    /// stops without waiting for what it waits for.
    pub fn wake_in(&self, env: Env) {
        let mut state = self.state();
        if let Some((pid, id)) = state.wake() {
            let _ = env.send(&pid, (atoms::wasm_runtime_nif_woken(), id).encode(env));
        }
    }
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The message is sent under the lock: once `begin` has the lock, no
        // wake of an earlier wait is still on its way to the caller.
        let mut state = self.state();
        let Some((pid, id)) = state.wake() else {
            return;
        };
        // Wakes come from threads of the runtime's own (a timer, a file
        // operation). One on a scheduler sends from its NIF's env; outside
        // a NIF's body (none is known to wake), from a thread of its own,
        // since a scheduler may not send without an env.
        let on_scheduler = rustler::thread::is_scheduler_thread();
        if on_scheduler
            && super::current_env(|env| {
                let _ = env.send(&pid, (atoms::wasm_runtime_nif_woken(), id).encode(env));
            })
            .is_some()
        {
            return;
        }
        let send = move || {
            let mut env = OwnedEnv::new();
            let _ = env.send_and_clear(&pid, |env| {
                (atoms::wasm_runtime_nif_woken(), id).encode(env)
            });
        };
        match on_scheduler {
            true => drop(std::thread::spawn(send)),
            false => send(),
        }
    }
}
