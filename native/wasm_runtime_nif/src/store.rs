//! Stores: the Wasmtime `Store` each instance runs in, and its making.
//!
//! Every store is made here, so that each has what the rest of the crate
//! relies on: its data (`store/data.rs`), the instance's limiter, and a
//! guest that yields at every epoch tick.

pub mod data;

use wasmtime::{Engine, ResourceLimiterAsync, Store};

use crate::limits::{CallLimits, Metering};
use data::StoreData;

/// Epoch ticks ahead of a run that cannot yield: out of reach, since the
/// ticker adds one every 200 µs.
const OUT_OF_REACH: u64 = 1 << 62;

/// A store on `engine` with `data`, whose guest yields at every epoch tick
/// and grows memories and tables only within the data's limits.
pub fn new(engine: &Engine, data: StoreData) -> Store<StoreData> {
    let mut store = Store::new(engine, data);
    store.epoch_deadline_async_yield_and_update(1);
    store.limiter(|data| &mut data.limits);
    store
}

/// Makes `store`, a component's, grow through `StoreData`'s asynchronous
/// limiter: the same limits, and a growth that takes a call's result past
/// what a normal scheduler lifts yields, to move the call to dirty ones.
/// A module's stays synchronous: its memories are grown from the host too.
pub fn grow_component(store: &mut Store<StoreData>) {
    store.limiter_async(|data| data as &mut dyn ResourceLimiterAsync);
}

/// Sets the store up for one run of guest code (a call, a start
/// function): the epoch deadline, a tick ahead for a run on a fiber that
/// yields, out of reach for one that cannot; and the run's own fuel
/// allowance, since a store's fuel does not carry over from one run to the
/// next.
pub fn arm(
    store: &mut Store<StoreData>,
    metering: Metering,
    limits: CallLimits,
    yields: bool,
) -> wasmtime::Result<()> {
    store.set_epoch_deadline(if yields { 1 } else { OUT_OF_REACH });
    if metering == Metering::Fuel {
        let fuel = limits.fuel.unwrap_or(u64::MAX);
        store.set_fuel(fuel)?;
        store.data_mut().fuel_given = fuel;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::time::Instant;

    use wasmtime::Val;

    use crate::engine;
    use crate::epoch;
    use crate::error::TrapReason;

    /// Drives a Wasmtime future on this thread until it completes, polling
    /// again after every yield.
    fn run_to_completion<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            epoch::note_activity();
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    fn store_for(module: &crate::module::WasmModule) -> Store<StoreData> {
        new(module.engine(), StoreData::new(Default::default(), None))
    }

    /// Recursion without end must trap with `stack_overflow` even on a thread
    /// whose own stack is far smaller than the guest's, as a dirty
    /// scheduler's is: the guest runs on its fiber stack, not the thread's.
    #[test]
    fn unbounded_recursion_traps_on_a_small_thread_stack() {
        engine::init(engine::Settings::default()).unwrap();
        let wat = r#"(module (func $f (export "f") (param i64) (result i64)
                        (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#;
        let module = crate::module::compile(wat.as_bytes().to_vec(), Metering::Off, None).unwrap();
        let outcome = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut store = store_for(&module);
                let instance =
                    run_to_completion(module.pre.as_ref().unwrap().instantiate_async(&mut store))
                        .unwrap();
                let f = instance.get_func(&mut store, "f").unwrap();
                let mut results = [Val::I64(0)];
                store.set_epoch_deadline(1);
                let error =
                    run_to_completion(f.call_async(&mut store, &[Val::I64(0)], &mut results))
                        .unwrap_err();
                TrapReason::from_error(&error).kind
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome, "stack_overflow");
    }

    /// A guest loop yields at every epoch tick instead of running to the end
    /// of its work in one poll.
    #[test]
    fn long_guest_loops_yield() {
        engine::init(engine::Settings::default()).unwrap();
        let wat = r#"(module (func (export "spin") (param i64) (result i64)
                        (local $i i64)
                        (loop $l (local.set $i (i64.add (local.get $i) (i64.const 1)))
                                 (br_if $l (i64.lt_u (local.get $i) (local.get 0))))
                        (local.get $i)))"#;
        let module = crate::module::compile(wat.as_bytes().to_vec(), Metering::Off, None).unwrap();
        let mut store = store_for(&module);
        let instance =
            run_to_completion(module.pre.as_ref().unwrap().instantiate_async(&mut store)).unwrap();
        let f = instance.get_func(&mut store, "spin").unwrap();
        let mut results = [Val::I64(0)];
        store.set_epoch_deadline(1);
        let mut pending = 0;
        let started = Instant::now();
        {
            let mut future = pin!(f.call_async(&mut store, &[Val::I64(500_000_000)], &mut results));
            let mut cx = Context::from_waker(Waker::noop());
            loop {
                epoch::note_activity();
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(outcome) => {
                        outcome.unwrap();
                        break;
                    }
                    Poll::Pending => pending += 1,
                }
            }
        }
        let elapsed = started.elapsed();
        assert!(pending > 0, "a {elapsed:?} loop never yielded");
        assert_eq!(results[0].i64(), Some(500_000_000));
    }
}
