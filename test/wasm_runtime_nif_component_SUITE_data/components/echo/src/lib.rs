//! Gives back every value it is given, keeps counters, and misbehaves on
//! request: the component the suite checks every WIT type against.

wit_bindgen::generate!({ world: "echo", path: "wit" });

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use exports::test::echo::control;
use exports::test::echo::types::{self, Color, Counter, GuestCounter, Nest, Perms, Point, Shape};

struct Echo;

struct Tally {
    value: Cell<i64>,
}

static LIVE: AtomicU32 = AtomicU32::new(0);

impl Drop for Tally {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl types::GuestCounter for Tally {
    fn new(start: i64) -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Tally {
            value: Cell::new(start),
        }
    }

    fn bump(&self, by: i64) -> i64 {
        self.value.set(self.value.get().wrapping_add(by));
        self.value.get()
    }

    fn get(&self) -> i64 {
        self.value.get()
    }

    fn merge(a: types::CounterBorrow<'_>, b: types::CounterBorrow<'_>) -> Counter {
        let sum = a.get::<Tally>().get().wrapping_add(b.get::<Tally>().get());
        Counter::new(Tally::new(sum))
    }
}

impl types::Guest for Echo {
    type Counter = Tally;

    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_list(v: Vec<i64>) -> Vec<i64> {
        v
    }
    fn echo_strings(v: Vec<String>) -> Vec<String> {
        v
    }
    fn echo_tuple(v: (u8, String, f64)) -> (u8, String, f64) {
        v
    }
    fn echo_point(v: Point) -> Point {
        v
    }
    fn echo_shape(v: Shape) -> Shape {
        v
    }
    fn echo_color(v: Color) -> Color {
        v
    }
    fn echo_perms(v: Perms) -> Perms {
        v
    }
    fn echo_option(v: Option<Option<u32>>) -> Option<Option<u32>> {
        v
    }
    fn echo_result(v: Result<String, u32>) -> Result<String, u32> {
        v
    }
    fn echo_bare_result(v: Result<(), ()>) -> Result<(), ()> {
        v
    }
    fn echo_ok_only(v: Result<u16, ()>) -> Result<u16, ()> {
        v
    }
    fn echo_err_only(v: Result<(), String>) -> Result<(), String> {
        v
    }
    fn echo_nest(v: Vec<Nest>) -> Vec<Nest> {
        v
    }
    fn many(a: u8, b: i16, c: String, d: Point) -> (u8, i16, String, Point) {
        (a, b, c, d)
    }
    fn nothing() {}
    fn sum(v: Vec<i64>) -> i64 {
        v.iter().fold(0i64, |sum, x| sum.wrapping_add(*x))
    }
    fn describe(p: Point, s: Shape) -> String {
        format!("{p:?} {s:?}")
    }
    fn consume(c: Counter) -> i64 {
        c.get::<Tally>().get()
    }
    fn live_counters() -> u32 {
        LIVE.load(Ordering::Relaxed)
    }
}

impl control::Guest for Echo {
    fn spin(n: u64) -> u64 {
        let mut i = 0u64;
        while n == 0 || i < n {
            i = std::hint::black_box(i + 1);
        }
        i
    }

    fn fail(message: String) {
        panic!("{message}")
    }

    fn grow(mib: u32) -> u32 {
        let kept = vec![1u8; mib as usize * 1024 * 1024];
        std::mem::forget(kept);
        (core::arch::wasm32::memory_size(0) * 64 / 1024) as u32
    }

    fn repeat(s: String, times: u32) -> String {
        s.repeat(times as usize)
    }

    fn grow_then_greet(mib: u32) -> String {
        Self::grow(mib);
        "grown".to_owned()
    }

    fn recurse(depth: u64) -> u64 {
        if depth == u64::MAX {
            return 0;
        }
        std::hint::black_box(Self::recurse(depth + 1)) + 1
    }
}

impl Guest for Echo {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
}

export!(Echo);
