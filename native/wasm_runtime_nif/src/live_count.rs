//! Counts of live modules and instances, so that tests and operators can see
//! that the garbage collector really frees them.

use std::sync::atomic::{AtomicUsize, Ordering};

pub static MODULES: AtomicUsize = AtomicUsize::new(0);
pub static INSTANCES: AtomicUsize = AtomicUsize::new(0);
pub static SUSPENDED_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Held by each counted object: counts it while it exists.
pub struct Token(&'static AtomicUsize);

impl Token {
    pub fn new(counter: &'static AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Token(counter)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn get(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::Relaxed)
}
