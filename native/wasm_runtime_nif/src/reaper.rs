//! Frees stores away from the schedulers.
//!
//! Dropping a store unmaps its linear memory and fiber stack: a few µs for a
//! small instance, tens of milliseconds for one whose guest grew and touched
//! hundreds of MiB. Stores and suspended guest computations that are done
//! with are handed to one background thread that drops them, so no
//! scheduler pays for it.

use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

type Garbage = Box<dyn Send>;

static REAPER: OnceLock<Sender<Garbage>> = OnceLock::new();

fn reaper() -> &'static Sender<Garbage> {
    REAPER.get_or_init(|| {
        let (sender, receiver) = channel::<Garbage>();
        let started = std::thread::Builder::new()
            .name("wasm_reaper".into())
            .spawn(move || {
                for garbage in receiver {
                    drop(garbage);
                }
            });
        if let Err(error) = started {
            // Without the thread, sends fail and values are dropped in place.
            eprintln!("wasm_runtime_nif: no reaper thread: {error}");
        }
        sender
    })
}

/// Drops `value` on the reaper thread (or here, if that thread is gone).
pub fn dispose<T: Send + 'static>(value: T) {
    // A failed send hands the value back, and it is dropped here.
    let _ = reaper().send(Box::new(value));
}
