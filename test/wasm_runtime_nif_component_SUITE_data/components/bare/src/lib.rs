//! A component that uses nothing of the standard library's I/O, so that it
//! imports nothing (no WASI): the benchmark's component without WASI, and
//! the suite's component with no imports at all. (wit-bindgen, with `std`
//! for the other components of the workspace, brings the allocator.)

#![no_std]

extern crate alloc;

wit_bindgen::generate!({ world: "bare", path: "wit" });

use alloc::string::String;

struct Bare;

impl Guest for Bare {
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn measure(p: Point, label: String) -> i64 {
        i64::from(p.x) + i64::from(p.y) + label.len() as i64
    }
}

export!(Bare);
