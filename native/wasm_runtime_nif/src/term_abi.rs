//! The guest term ABI (`erl_nif_wasm.h`): the host functions a guest imports
//! from module `"env"` to read and build Erlang terms.
//!
//! Terms never cross into wasm. The guest sees an `i64` handle whose low bits
//! index this call's term table and whose high bits carry the call's
//! generation, so a handle forged by the guest or kept from an earlier call is
//! recognised and refused. The rule every import follows:
//!
//! * imports that answer yes/no (`get_*`, `is_*`) return 0 for anything
//!   invalid: a bad env, a bad handle, an out-of-bounds out-pointer;
//! * imports that return a term trap the call (raising `{trap, Kind, Msg}` in
//!   Erlang) when they cannot, since there is no failure value to return.

use std::future::Future;
use std::io::Write;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustler::sys::{self, ErlNifBinary, ErlNifEnv, ErlNifTerm};
use rustler::{Env, OwnedBinary};
use wasmtime::{Caller, Linker, Memory, StoreLimits, ValType};

use crate::host_fun::HostCell;
use crate::printf;
use crate::slicing::SliceCell;
use crate::trap::HostTrap;

/// Most terms one call may create or receive. Each costs 8 bytes of table
/// plus the term itself on the caller's heap; past this the call traps with
/// `term_limit` instead of growing without bound.
pub const MAX_TERMS_PER_CALL: usize = 1 << 20;

/// Most bytes of binaries one call may make with `enif_wasm_make_binary`:
/// the term limit alone would let a guest make 2^20 binaries of its whole
/// memory each.
pub const MAX_BINARY_BYTES_PER_CALL: u64 = 256 * 1024 * 1024;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u64 = (1 << (64 - INDEX_BITS)) - 1;
/// Slot 0 of every call is the exception marker made by `enif_wasm_make_badarg`.
const BADARG_SLOT: u64 = 0;

const _: () = assert!(MAX_TERMS_PER_CALL < INDEX_MASK as usize);

/// What a guest handle refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Term(ErlNifTerm),
    Badarg,
}

/// The terms of the call in progress, and the env they live in.
pub struct TermTable {
    env: *mut ErlNifEnv,
    generation: u64,
    terms: Vec<ErlNifTerm>,
    /// Bytes of binaries made in this call.
    made_bytes: u64,
}

// SAFETY: `env` is only dereferenced (through enif_* calls) while a NIF call
// that owns it is running on the current thread; between calls it is null.
unsafe impl Send for TermTable {}

impl Default for TermTable {
    fn default() -> Self {
        Self::new()
    }
}

impl TermTable {
    pub fn new() -> Self {
        TermTable {
            env: ptr::null_mut(),
            generation: 0,
            terms: Vec::new(),
            made_bytes: 0,
        }
    }

    /// Opens a call: handles of every earlier call stop resolving.
    pub fn begin(&mut self, env: *mut ErlNifEnv) {
        self.generation = (self.generation + 1) & GENERATION_MASK;
        // The env handle is the generation's low 31 bits; skip the values
        // that would make it 0 so that a zeroed env never matches.
        if self.env_handle() == 0 {
            self.generation = (self.generation + 1) & GENERATION_MASK;
        }
        self.env = env;
        self.terms.clear();
        self.made_bytes = 0;
    }

    /// Closes the call; keeps the table's memory unless a call made it large.
    pub fn end(&mut self) {
        self.env = ptr::null_mut();
        self.terms.clear();
        if self.terms.capacity() > 4096 {
            self.terms.shrink_to(64);
        }
    }

    /// Leaves the env of a slice that is about to return to the scheduler,
    /// and gives the terms that must be kept alive until the next slice.
    pub fn suspend(&mut self) -> &[ErlNifTerm] {
        self.env = ptr::null_mut();
        &self.terms
    }

    /// Continues the call in the env of the next slice, with the carried
    /// terms as they are now: the garbage collector may have moved them
    /// while the process was scheduled out.
    pub fn resume(&mut self, env: *mut ErlNifEnv, terms: &[ErlNifTerm]) {
        self.env = env;
        self.terms.clear();
        self.terms.extend_from_slice(terms);
    }

    pub fn env_handle(&self) -> i32 {
        (self.generation & 0x7fff_ffff) as i32
    }

    fn handle_of(&self, slot: u64) -> i64 {
        ((self.generation << INDEX_BITS) | slot) as i64
    }

    pub fn badarg_handle(&self) -> i64 {
        self.handle_of(BADARG_SLOT)
    }

    /// The env of the call in progress, if `env_handle` names it.
    pub fn env(&self, env_handle: i32) -> Option<*mut ErlNifEnv> {
        (!self.env.is_null() && env_handle == self.env_handle()).then_some(self.env)
    }

    /// Adds a term and returns its handle, or `None` when the table is full.
    pub fn push(&mut self, term: ErlNifTerm) -> Option<i64> {
        if self.terms.len() >= MAX_TERMS_PER_CALL {
            return None;
        }
        self.terms.push(term);
        Some(self.handle_of(self.terms.len() as u64))
    }

    pub fn resolve(&self, handle: i64) -> Option<Resolved> {
        let handle = handle as u64;
        if self.env.is_null() || handle >> INDEX_BITS != self.generation {
            return None;
        }
        match handle & INDEX_MASK {
            BADARG_SLOT => Some(Resolved::Badarg),
            slot => self
                .terms
                .get(slot as usize - 1)
                .map(|&t| Resolved::Term(t)),
        }
    }

    /// The env and term a getter works on: both must belong to this call.
    fn term(&self, env_handle: i32, handle: i64) -> Option<(*mut ErlNifEnv, ErlNifTerm)> {
        let env = self.env(env_handle)?;
        match self.resolve(handle)? {
            Resolved::Term(t) => Some((env, t)),
            Resolved::Badarg => None,
        }
    }
}

/// The term table of an instance, shared by the host functions (while a
/// slice of a call runs) and the call driver (between slices, to carry the
/// terms across a reschedule).
pub type TermCell = SliceCell<TermTable>;

/// Per-instance data that host functions can reach from a `Caller`.
pub struct HostState {
    /// The guest's exported `memory`, looked up once at instantiation.
    pub memory: Option<Memory>,
    pub terms: Arc<TermCell>,
    /// Requests to Erlang imports and their replies.
    pub host: Arc<HostCell>,
    pub limits: StoreLimits,
}

impl HostState {
    pub fn new(limits: StoreLimits) -> Self {
        HostState {
            memory: None,
            terms: Arc::default(),
            host: Arc::default(),
            limits,
        }
    }
}

/// The term table of the call `caller` belongs to.
#[allow(clippy::mut_from_ref)]
fn table<'c>(caller: &'c Caller<'_, HostState>) -> &'c mut TermTable {
    // SAFETY: host functions run only inside a slice, while the driver holds
    // no reference to the table; each host function drops this reference
    // before it returns.
    unsafe { caller.data().terms.get() }
}

/// `[ptr, ptr+len)` as a range of `mem`, if it lies inside it.
pub fn guest_range(mem: &[u8], ptr: i32, len: u64) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as u64;
    let end = start.checked_add(len)?;
    (end <= mem.len() as u64).then_some(start as usize..end as usize)
}

/// Writes `bytes` at guest address `ptr`; false if it does not fit.
fn store_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> bool {
    let Some(memory) = caller.data().memory else {
        return false;
    };
    let mem = memory.data_mut(caller);
    match guest_range(mem, ptr, bytes.len() as u64) {
        Some(range) => {
            mem[range].copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

fn new_term(caller: &mut Caller<'_, HostState>, term: ErlNifTerm) -> wasmtime::Result<i64> {
    table(caller).push(term).ok_or_else(|| {
        HostTrap::new(
            "term_limit",
            format!("a call may hold at most {MAX_TERMS_PER_CALL} terms"),
        )
        .into()
    })
}

fn call_env(caller: &Caller<'_, HostState>, env: i32) -> wasmtime::Result<*mut ErlNifEnv> {
    table(caller).env(env).ok_or_else(|| {
        HostTrap::new(
            "bad_env",
            format!("env handle {env} does not belong to the call in progress"),
        )
        .into()
    })
}

fn get_int32(mut caller: Caller<'_, HostState>, env: i32, term: i64, out: i32) -> i32 {
    let Some((env, term)) = table(&caller).term(env, term) else {
        return 0;
    };
    let mut value = 0;
    // SAFETY: env and term belong to the NIF call running on this thread.
    if unsafe { sys::enif_get_int(env, term, &mut value) } == 0 {
        return 0;
    }
    store_bytes(&mut caller, out, &value.to_le_bytes()) as i32
}

fn make_int32(caller: Caller<'_, HostState>, env: i32, value: i32) -> wasmtime::Result<i64> {
    let env = call_env(&caller, env)?;
    // SAFETY: env belongs to the NIF call running on this thread.
    let term = unsafe { sys::enif_make_int(env, value) };
    let mut caller = caller;
    new_term(&mut caller, term)
}

fn make_badarg(caller: Caller<'_, HostState>, env: i32) -> wasmtime::Result<i64> {
    call_env(&caller, env)?;
    Ok(table(&caller).badarg_handle())
}

fn get_list_cell(
    mut caller: Caller<'_, HostState>,
    env: i32,
    list: i64,
    head_out: i32,
    tail_out: i32,
) -> i32 {
    let Some((env, list)) = table(&caller).term(env, list) else {
        return 0;
    };
    let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
    // SAFETY: env and list belong to the NIF call running on this thread.
    if unsafe { sys::enif_get_list_cell(env, list, &mut head, &mut tail) } == 0 {
        return 0;
    }
    let Some(memory) = caller.data().memory else {
        return 0;
    };
    // One look-up of the memory for both writes. Both out-pointers are
    // checked before either handle is created, so a bad pointer leaves the
    // table as it was.
    let (mem, state) = memory.data_and_store_mut(&mut caller);
    let (Some(head_at), Some(tail_at)) =
        (guest_range(mem, head_out, 8), guest_range(mem, tail_out, 8))
    else {
        return 0;
    };
    // SAFETY: inside a slice; the driver is not looking.
    let terms = unsafe { state.terms.get() };
    let (Some(h), Some(t)) = (terms.push(head), terms.push(tail)) else {
        return 0;
    };
    mem[head_at].copy_from_slice(&h.to_le_bytes());
    mem[tail_at].copy_from_slice(&t.to_le_bytes());
    1
}

fn is_empty_list(caller: Caller<'_, HostState>, env: i32, term: i64) -> i32 {
    match table(&caller).term(env, term) {
        // SAFETY: env and term belong to the NIF call running on this thread.
        Some((env, term)) => unsafe { sys::enif_is_empty_list(env, term) },
        None => 0,
    }
}

/// The bytes of a binary term, borrowed for as long as the call's env lives.
///
/// # Safety
/// `env` and `term` must belong to the NIF call running on this thread, and
/// the slice must not outlive that call.
unsafe fn binary_bytes<'a>(env: *mut ErlNifEnv, term: ErlNifTerm) -> Option<&'a [u8]> {
    let mut bin = MaybeUninit::<ErlNifBinary>::uninit();
    if sys::enif_inspect_binary(env, term, bin.as_mut_ptr()) == 0 {
        return None;
    }
    let bin = bin.assume_init();
    if bin.size == 0 {
        return Some(&[]);
    }
    Some(std::slice::from_raw_parts(bin.data, bin.size))
}

fn get_binary_size(mut caller: Caller<'_, HostState>, env: i32, bin: i64, size_out: i32) -> i32 {
    let Some((env, bin)) = table(&caller).term(env, bin) else {
        return 0;
    };
    // SAFETY: env and bin belong to the NIF call running on this thread.
    let Some(bytes) = (unsafe { binary_bytes(env, bin) }) else {
        return 0;
    };
    let Ok(size) = u32::try_from(bytes.len()) else {
        return 0;
    };
    store_bytes(&mut caller, size_out, &size.to_le_bytes()) as i32
}

/// Bytes copied between guest memory and a binary before the copy yields
/// to the scheduler: about 25 µs of `memcpy`, so that copying a large
/// binary does not hold a scheduler for milliseconds.
pub const COPY_CHUNK: usize = 256 * 1024;

/// A future that is pending once: the guest is suspended and the call's
/// driver reschedules it, as at the end of a slice.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

async fn get_binary_bytes(
    mut caller: Caller<'_, HostState>,
    (env, bin, offset, nbytes, dest): (i32, i64, i32, i32, i32),
) -> i32 {
    let Some((env_ptr, term)) = table(&caller).term(env, bin) else {
        return 0;
    };
    // SAFETY: env and term belong to the NIF call running on this thread.
    let Some(bytes) = (unsafe { binary_bytes(env_ptr, term) }) else {
        return 0;
    };
    let Some(src) = guest_range(bytes, offset, nbytes as u32 as u64) else {
        return 0;
    };
    let Some(memory) = caller.data().memory else {
        return 0;
    };
    let Some(dst) = guest_range(memory.data(&caller), dest, src.len() as u64) else {
        return 0;
    };
    let mut done = 0;
    loop {
        // The binary is found again after every yield: the process may
        // have been garbage collected, and the table holds its new place.
        let Some((env_ptr, term)) = table(&caller).term(env, bin) else {
            return 0;
        };
        // SAFETY: as above, in the env of the current slice.
        let Some(bytes) = (unsafe { binary_bytes(env_ptr, term) }) else {
            return 0;
        };
        let chunk = (src.len() - done).min(COPY_CHUNK);
        let mem = memory.data_mut(&mut caller);
        mem[dst.start + done..dst.start + done + chunk]
            .copy_from_slice(&bytes[src.start + done..src.start + done + chunk]);
        done += chunk;
        if done == src.len() {
            return 1;
        }
        YieldOnce(false).await;
    }
}

async fn make_binary(
    mut caller: Caller<'_, HostState>,
    (env, src, nbytes): (i32, i32, i32),
) -> wasmtime::Result<i64> {
    let env_ptr = call_env(&caller, env)?;
    let bad_range = || {
        HostTrap::new(
            "bad_pointer",
            format!(
                "enif_wasm_make_binary: [{}, +{}) is outside linear memory",
                src as u32, nbytes as u32
            ),
        )
    };
    let memory = caller.data().memory.ok_or_else(bad_range)?;
    let range =
        guest_range(memory.data(&caller), src, nbytes as u32 as u64).ok_or_else(bad_range)?;
    let table = table(&caller);
    table.made_bytes += range.len() as u64;
    if table.made_bytes > MAX_BINARY_BYTES_PER_CALL {
        return Err(HostTrap::new(
            "term_limit",
            format!("a call may make at most {MAX_BINARY_BYTES_PER_CALL} bytes of binaries"),
        )
        .into());
    }
    let alloc_failed = || HostTrap::new("alloc_failed", "cannot allocate the binary");
    if range.len() <= COPY_CHUNK {
        let mut term = ErlNifTerm::default();
        // SAFETY: env belongs to the NIF call running on this thread; the
        // buffer returned holds exactly `range.len()` bytes.
        unsafe {
            let dst = sys::enif_make_new_binary(env_ptr, range.len(), &mut term);
            if dst.is_null() {
                return Err(alloc_failed().into());
            }
            let mem = memory.data(&caller);
            ptr::copy_nonoverlapping(mem[range.clone()].as_ptr(), dst, range.len());
        }
        return new_term(&mut caller, term);
    }
    // A large binary is filled in chunks across slices. It is a binary of
    // our own until it is complete, and becomes a term only then, in the
    // env of the slice that finishes it.
    // Rustler aborts on a failed allocation, as the VM itself does; the
    // per-call budget keeps the size within reason.
    let mut binary = OwnedBinary::new(range.len());
    let mut done = 0;
    while done < range.len() {
        let chunk = (range.len() - done).min(COPY_CHUNK);
        let mem = memory.data(&caller);
        binary.as_mut_slice()[done..done + chunk]
            .copy_from_slice(&mem[range.start + done..range.start + done + chunk]);
        done += chunk;
        if done < range.len() {
            YieldOnce(false).await;
        }
    }
    let env_ptr = call_env(&caller, env)?;
    let lifetime = ();
    // SAFETY: the env of the slice running now, on this thread.
    let env = unsafe { Env::new(&lifetime, env_ptr) };
    let term = binary.release(env).to_term(env).as_c_arg();
    new_term(&mut caller, term)
}

/// Longest format string `enif_printf_*` reads before giving up.
const MAX_FORMAT_LEN: usize = 4096;

fn print_one(caller: &mut Caller<'_, HostState>, fmt: i32, arg: printf::Arg) -> i64 {
    let Some(memory) = caller.data().memory else {
        return -1;
    };
    let mem = memory.data(&*caller);
    let Some(format) = printf::c_string(mem, fmt, MAX_FORMAT_LEN) else {
        return -1;
    };
    let text = printf::format(format, arg, |ptr| {
        printf::c_string(mem, ptr, MAX_FORMAT_LEN)
    });
    let mut out = std::io::stdout().lock();
    match out.write_all(&text).and_then(|_| out.flush()) {
        Ok(()) => text.len() as i64,
        Err(_) => -1,
    }
}

fn printf_int(mut caller: Caller<'_, HostState>, fmt: i32, arg: i32) -> i32 {
    print_one(&mut caller, fmt, printf::Arg::Int(arg as i64)) as i32
}

fn printf_long(mut caller: Caller<'_, HostState>, fmt: i32, arg: i64) -> i64 {
    print_one(&mut caller, fmt, printf::Arg::Int(arg))
}

fn printf_double(mut caller: Caller<'_, HostState>, fmt: i32, arg: f64) -> i32 {
    print_one(&mut caller, fmt, printf::Arg::Float(arg)) as i32
}

/// Module name every term-ABI import lives in.
pub const IMPORT_MODULE: &str = "env";

use ValType::{F64, I32, I64};

/// Name and wasm signature of every import the host provides.
pub const IMPORTS: &[(&str, &[ValType], &[ValType])] = &[
    ("enif_wasm_get_int32", &[I32, I64, I32], &[I32]),
    ("enif_wasm_make_int32", &[I32, I32], &[I64]),
    ("enif_wasm_make_badarg", &[I32], &[I64]),
    ("enif_wasm_get_list_cell", &[I32, I64, I32, I32], &[I32]),
    ("enif_wasm_is_empty_list", &[I32, I64], &[I32]),
    ("enif_wasm_get_binary_size", &[I32, I64, I32], &[I32]),
    (
        "enif_wasm_get_binary_bytes",
        &[I32, I64, I32, I32, I32],
        &[I32],
    ),
    ("enif_wasm_make_binary", &[I32, I32, I32], &[I64]),
    ("enif_printf_I", &[I32, I32], &[I32]),
    ("enif_printf_L", &[I32, I64], &[I64]),
    ("enif_printf_F", &[I32, F64], &[I32]),
];

pub fn define_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = IMPORT_MODULE;
    linker.func_wrap(m, "enif_wasm_get_int32", get_int32)?;
    linker.func_wrap(m, "enif_wasm_make_int32", make_int32)?;
    linker.func_wrap(m, "enif_wasm_make_badarg", make_badarg)?;
    linker.func_wrap(m, "enif_wasm_get_list_cell", get_list_cell)?;
    linker.func_wrap(m, "enif_wasm_is_empty_list", is_empty_list)?;
    linker.func_wrap(m, "enif_wasm_get_binary_size", get_binary_size)?;
    linker.func_wrap_async(m, "enif_wasm_get_binary_bytes", |caller, args| {
        Box::new(get_binary_bytes(caller, args))
    })?;
    linker.func_wrap_async(m, "enif_wasm_make_binary", |caller, args| {
        Box::new(make_binary(caller, args))
    })?;
    linker.func_wrap(m, "enif_printf_I", printf_int)?;
    linker.func_wrap(m, "enif_printf_L", printf_long)?;
    linker.func_wrap(m, "enif_printf_F", printf_double)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env() -> *mut ErlNifEnv {
        ptr::NonNull::dangling().as_ptr()
    }

    fn t(raw: usize) -> ErlNifTerm {
        // SAFETY: ErlNifTerm is a transparent wrapper of a machine word.
        unsafe { std::mem::transmute::<usize, ErlNifTerm>(raw) }
    }

    #[test]
    fn handles_of_an_earlier_call_do_not_resolve() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let old = table.push(t(42)).unwrap();
        assert_eq!(table.resolve(old), Some(Resolved::Term(t(42))));
        table.end();
        assert_eq!(table.resolve(old), None, "no call in progress");
        table.begin(fake_env());
        assert_eq!(table.resolve(old), None, "stale generation");
        let new = table.push(t(7)).unwrap();
        assert_ne!(old, new);
        assert_eq!(table.resolve(new), Some(Resolved::Term(t(7))));
    }

    #[test]
    fn forged_handles_do_not_resolve() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let h = table.push(t(1)).unwrap();
        assert_eq!(table.resolve(h + 1), None, "index past the end");
        assert_eq!(table.resolve(0), None);
        assert_eq!(table.resolve(-1), None);
        assert_eq!(table.resolve(i64::MIN), None);
        assert_eq!(table.resolve(table.badarg_handle()), Some(Resolved::Badarg));
        assert!(table
            .term(table.env_handle(), table.badarg_handle())
            .is_none());
    }

    #[test]
    fn env_handle_is_per_call_and_never_zero() {
        let mut table = TermTable::new();
        assert_eq!(table.env(0), None);
        table.begin(fake_env());
        let first = table.env_handle();
        assert_ne!(first, 0);
        assert!(table.env(first).is_some());
        assert!(table.env(first + 1).is_none());
        table.end();
        assert!(table.env(first).is_none());
        table.generation = 0x7fff_fffe;
        table.begin(fake_env());
        table.end();
        table.begin(fake_env());
        assert_ne!(table.env_handle(), 0);
    }

    #[test]
    fn handles_survive_a_reschedule_but_not_the_gap() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        let env = table.env_handle();
        let h = table.push(t(5)).unwrap();
        let carried = table.suspend().to_vec();
        assert_eq!(table.resolve(h), None, "no env between slices");
        assert_eq!(table.env(env), None);
        table.resume(fake_env(), &[t(6)]);
        assert_eq!(carried, vec![t(5)]);
        assert_eq!(
            table.resolve(h),
            Some(Resolved::Term(t(6))),
            "moved term, same handle"
        );
        assert!(
            table.env(env).is_some(),
            "same env handle for the whole call"
        );
    }

    #[test]
    fn table_is_bounded() {
        let mut table = TermTable::new();
        table.begin(fake_env());
        for i in 0..MAX_TERMS_PER_CALL {
            assert!(table.push(t(i)).is_some());
        }
        assert_eq!(table.push(t(0)), None);
        table.end();
        assert!(table.terms.capacity() <= 64);
    }

    #[test]
    fn guest_range_rejects_everything_outside_memory() {
        let mem = [0u8; 16];
        assert_eq!(guest_range(&mem, 0, 16), Some(0..16));
        assert_eq!(guest_range(&mem, 16, 0), Some(16..16));
        assert_eq!(guest_range(&mem, 15, 2), None);
        assert_eq!(guest_range(&mem, -1, 1), None, "negative is a huge offset");
        assert_eq!(guest_range(&mem, i32::MAX, u32::MAX as u64), None);
    }
}
