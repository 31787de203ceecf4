//! The epoch ticker: the clock that makes long guest calls give their
//! scheduler back.
//!
//! Every store yields when the engine's epoch passes its deadline, set one
//! tick ahead at the start of each slice; a thread advances the epoch every
//! `EPOCH_TICK`. The thread parks when no call has run for `IDLE_TICKS`
//! ticks, so an idle VM does not wake up 5,000 times a second for nothing.
//!
//! Calls say they are running with [`note_activity`] at the start of every
//! slice. It writes a shared word at most once per tick, so the hot path
//! stays free of contended writes. A call that keeps running yields at every
//! tick and so renews the mark itself; a call whose continuation waits long
//! in the run queue finds the ticker parked and wakes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use wasmtime::Engine;

/// How often the epoch advances: the length of a slice of guest execution.
pub const EPOCH_TICK: Duration = Duration::from_micros(200);

/// Ticks without any call before the ticker parks (10 ms).
pub const IDLE_TICKS: u64 = 50;

static TICKS: AtomicU64 = AtomicU64::new(0);
static LAST_ACTIVE: AtomicU64 = AtomicU64::new(0);
static PARKED: AtomicBool = AtomicBool::new(false);
static WAKE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
static STARTED: Mutex<bool> = Mutex::new(false);

/// Starts the ticker for `engine`, once.
pub fn start(engines: Vec<Engine>) -> std::io::Result<()> {
    let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
    if !*started {
        std::thread::Builder::new()
            .name("wasm_epoch_ticker".into())
            .spawn(move || tick_forever(engines))?;
        *started = true;
    }
    Ok(())
}

fn idle(now: u64) -> bool {
    now.saturating_sub(LAST_ACTIVE.load(Ordering::SeqCst)) > IDLE_TICKS
}

fn tick_forever(engines: Vec<Engine>) {
    loop {
        std::thread::sleep(EPOCH_TICK);
        let now = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
        for engine in &engines {
            engine.increment_epoch();
        }
        if !idle(now) {
            continue;
        }
        // Publish that we park, then look again: a call that marked itself
        // active before seeing PARKED is caught by the second look.
        PARKED.store(true, Ordering::SeqCst);
        if !idle(now) {
            PARKED.store(false, Ordering::SeqCst);
            continue;
        }
        let (lock, wake) = &WAKE;
        let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        while PARKED.load(Ordering::SeqCst) {
            guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Marks that a call is running a slice; wakes the ticker if it parked.
#[inline]
pub fn note_activity() {
    let now = TICKS.load(Ordering::Relaxed);
    if LAST_ACTIVE.load(Ordering::Relaxed) != now {
        LAST_ACTIVE.store(now, Ordering::SeqCst);
        if PARKED.load(Ordering::SeqCst) {
            wake();
        }
    }
}

#[cold]
fn wake() {
    let (lock, wake) = &WAKE;
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    PARKED.store(false, Ordering::SeqCst);
    wake.notify_one();
}

/// The current tick count.
#[inline]
pub fn now() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Share of the process's BEAM timeslice, for `enif_consume_timeslice`,
/// used by a slice that began at tick `started`. A slice that ran until the
/// epoch ended it counts as a whole timeslice, so the scheduler runs other
/// processes before the next slice: a process waiting for the scheduler
/// then waits about one slice (200 µs), not five. A slice that stopped
/// sooner (a call into Erlang) counts for little.
pub fn timeslice_percent(started: u64) -> i32 {
    if now() > started {
        100
    } else {
        1
    }
}

/// Whether the ticker is parked (for tests).
#[cfg(test)]
fn parked() -> bool {
    PARKED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn ticker_parks_when_idle_and_wakes_on_activity() {
        crate::engine::init(crate::engine::Settings::default()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !parked() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(parked(), "the ticker parks without calls");
        let before = TICKS.load(Ordering::Relaxed);
        note_activity();
        assert!(!parked());
        std::thread::sleep(Duration::from_millis(5));
        assert!(TICKS.load(Ordering::Relaxed) > before, "ticking again");
    }
}
