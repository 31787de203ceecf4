//! The guest term ABI (`erl_nif_wasm.h`): the host functions a guest imports
//! from module `"env"` to read and build Erlang terms, one submodule per
//! kind of term. The rule every import follows:
//!
//! * imports that answer yes/no or a size (`get_*`, `is_*`, and the `make_*`
//!   that return int) return 0 for anything invalid: a bad env, a bad
//!   handle, an out-of-bounds pointer, a term of the wrong type; they write
//!   nothing then;
//! * imports that return a term trap the call (raising `{trap, Kind, Msg}`
//!   in Erlang) when they cannot, since there is no failure value to return;
//! * every import that makes terms counts them against the call's limits
//!   ([`MAX_TERMS_PER_CALL`] handles, [`MAX_HEAP_BYTES_PER_CALL`](crate::term_table::MAX_HEAP_BYTES_PER_CALL) bytes), and
//!   traps with `term_limit` past them, whatever it returns;
//! * no import holds the scheduler for long: work proportional to a guest's
//!   request is capped ([`MAX_ARRAY_LEN`]) or done in chunks that yield.

mod binaries;
mod lists;
mod maps;
mod numbers;
mod print;
mod process;
mod text;

pub use text::{guest_atoms, MAX_GUEST_ATOMS};
mod types;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustler::sys::{ErlNifEnv, ErlNifTerm};
use wasmtime::{Caller, Linker, Memory, ValType};

use crate::error::HostTrap;
use crate::store::data::StoreData;
use crate::term_table::flat::{self, Flat};
use crate::term_table::{Exception, Resolved, TermTable, MAX_TERMS_PER_CALL};

/// Most elements one import reads from or writes to a guest array (tuple,
/// list and map arrays, charlists, tuple elements): about 0.3 ms of work,
/// so that no single import holds a scheduler for long. Longer lists are
/// built cell by cell, each cell its own import call.
pub const MAX_ARRAY_LEN: u32 = 1 << 16;

/// The term table of the call `caller` belongs to.
#[allow(clippy::mut_from_ref)]
fn table<'c>(caller: &'c Caller<'_, StoreData>) -> &'c mut TermTable {
    // SAFETY: host functions run only inside a slice, while the driver holds
    // no reference to the table; each host function drops this reference
    // before it returns or yields.
    unsafe { caller.data().cells.terms.get() }
}

/// `[ptr, ptr+len)` as a range of `mem`, if it lies inside it.
pub fn guest_range(mem: &[u8], ptr: i32, len: u64) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as u64;
    let end = start.checked_add(len)?;
    (end <= mem.len() as u64).then_some(start as usize..end as usize)
}

/// The guest's memory and the range `[ptr, ptr+len)` of it, if it has
/// memory and the range lies inside.
fn memory_range(
    caller: &Caller<'_, StoreData>,
    ptr: i32,
    len: u64,
) -> Option<(Memory, std::ops::Range<usize>)> {
    let memory = caller.data().memory?;
    let range = guest_range(memory.data(caller), ptr, len)?;
    Some((memory, range))
}

/// Writes `bytes` at guest address `ptr`; false if it does not fit. Inlined
/// so that a copy of a known size (a number read) is not a `memcpy` call:
/// this is on the path of every number a guest reads.
#[inline(always)]
fn store_bytes(caller: &mut Caller<'_, StoreData>, ptr: i32, bytes: &[u8]) -> bool {
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

/// Reads `N` bytes at guest address `ptr`.
fn load_bytes<const N: usize>(caller: &Caller<'_, StoreData>, ptr: i32) -> Option<[u8; N]> {
    let (memory, range) = memory_range(caller, ptr, N as u64)?;
    memory.data(caller)[range].try_into().ok()
}

/// Adds a term to the call's table, trapping when the table is full. Its
/// flattened size is measured if it is ever needed: use this for leaves.
fn new_term(caller: &mut Caller<'_, StoreData>, term: ErlNifTerm) -> wasmtime::Result<i64> {
    table(caller).push(term).ok_or_else(|| term_limit().into())
}

/// [`new_term`] for a term made of others, whose flattened size is known.
fn new_term_flat(
    caller: &mut Caller<'_, StoreData>,
    term: ErlNifTerm,
    flat: Flat,
) -> wasmtime::Result<i64> {
    table(caller)
        .push_flat(term, flat)
        .ok_or_else(|| term_limit().into())
}

fn term_limit() -> HostTrap {
    HostTrap::new(
        "term_limit",
        format!("a call may hold at most {MAX_TERMS_PER_CALL} terms"),
    )
}

/// Stores a handle of `term` at `out` for an import that answers 1 or 0.
/// The out-pointer is checked first, so a bad one leaves the table as it
/// was. A full table is a limit, not a wrong argument: it traps.
fn store_term(
    caller: &mut Caller<'_, StoreData>,
    out: i32,
    term: ErlNifTerm,
    flat: Flat,
) -> wasmtime::Result<i32> {
    store_results(caller, [(out, term, flat)])
}

/// [`store_term`] for `N` results (a head and a tail, a key and a value),
/// all or none. Kept apart from [`store_term_array`] and free of
/// allocation: it is the path of every list cell and map pair read.
fn store_results<const N: usize>(
    caller: &mut Caller<'_, StoreData>,
    results: [(i32, ErlNifTerm, Flat); N],
) -> wasmtime::Result<i32> {
    let Some(memory) = caller.data().memory else {
        return Ok(0);
    };
    let (mem, state) = memory.data_and_store_mut(caller);
    let mut at = [0usize; N];
    for (at, &(out, _, _)) in at.iter_mut().zip(&results) {
        match guest_range(mem, out, 8) {
            Some(range) => *at = range.start,
            None => return Ok(0),
        }
    }
    // SAFETY: inside a slice; the driver is not looking.
    let table = unsafe { state.cells.terms.get() };
    if table.room() < N {
        return Err(term_limit().into());
    }
    for (at, (_, term, flat)) in at.into_iter().zip(results) {
        let handle = table.push_flat(term, flat).expect("room was checked");
        mem[at..at + 8].copy_from_slice(&handle.to_le_bytes());
    }
    Ok(1)
}

/// Stores handles of `terms` as an array at `out`: 1, or 0 (and nothing
/// added) if the array does not fit in linear memory.
fn store_term_array(
    caller: &mut Caller<'_, StoreData>,
    out: i32,
    terms: &[ErlNifTerm],
) -> wasmtime::Result<i32> {
    let Some((memory, range)) = memory_range(caller, out, terms.len() as u64 * 8) else {
        return Ok(0);
    };
    let (mem, state) = memory.data_and_store_mut(caller);
    // SAFETY: inside a slice; the driver is not looking.
    let table = unsafe { state.cells.terms.get() };
    if table.room() < terms.len() {
        return Err(term_limit().into());
    }
    for (slot, &term) in mem[range].chunks_exact_mut(8).zip(terms) {
        let handle = table.push(term).expect("room was checked");
        slot.copy_from_slice(&handle.to_le_bytes());
    }
    Ok(1)
}

/// The env of the call in progress, or a `bad_env` trap.
fn call_env(caller: &Caller<'_, StoreData>, env: i32) -> wasmtime::Result<*mut ErlNifEnv> {
    table(caller).env(env).ok_or_else(|| bad_env(env).into())
}

fn bad_env(env: i32) -> HostTrap {
    HostTrap::new(
        "bad_env",
        format!("env handle {env} does not belong to the call in progress"),
    )
}

/// The env and term an import that returns a term works on; traps when
/// either does not belong to the call.
fn operand(
    caller: &Caller<'_, StoreData>,
    import: &str,
    env: i32,
    handle: i64,
) -> wasmtime::Result<(*mut ErlNifEnv, ErlNifTerm)> {
    let table = table(caller);
    let env_ptr = table.env(env).ok_or_else(|| bad_env(env))?;
    match table.resolve(handle) {
        Some(Resolved::Term(term)) => Ok((env_ptr, term)),
        _ => Err(bad_handle(import, handle, table.is_exception_marker(handle)).into()),
    }
}

/// `marker`: the handle is the exception marker, which guests are known to
/// put in lists and tuples by mistake; it is said in their words.
fn bad_handle(import: &str, handle: i64, marker: bool) -> HostTrap {
    let why = match marker {
        true => format!(
            "{import}: the value of enif_wasm_make_badarg or enif_wasm_raise_exception \
             is not a term: return it from the exported function, never put it in a term"
        ),
        false => format!("{import}: {handle:#x} is not a term handle of the call in progress"),
    };
    HostTrap::new("bad_handle", why)
}

fn bad_pointer(import: &str, ptr: i32, len: u64) -> HostTrap {
    HostTrap::new(
        "bad_pointer",
        format!(
            "{import}: [{}, +{len}) is outside linear memory",
            ptr as u32
        ),
    )
}

fn bad_argument(import: &str, why: impl std::fmt::Display) -> HostTrap {
    HostTrap::new("bad_argument", format!("{import}: {why}"))
}

/// Why an array of handles in guest memory cannot be read.
enum ArrayError {
    TooLong,
    OutsideMemory,
    /// The handle at this position is not a term of the call (or is the
    /// exception marker).
    BadHandle(i64, bool),
    /// The terms together are larger than a guest may make.
    TooLarge,
}

impl ArrayError {
    fn into_trap(self, import: &str, ptr: i32, cnt: u32) -> HostTrap {
        match self {
            ArrayError::TooLong => HostTrap::new(
                "term_limit",
                format!("{import}: {cnt} elements; an array may hold at most {MAX_ARRAY_LEN}"),
            ),
            ArrayError::OutsideMemory => bad_pointer(import, ptr, cnt as u64 * 8),
            ArrayError::BadHandle(handle, marker) => bad_handle(import, handle, marker),
            ArrayError::TooLarge => flat::too_large(import),
        }
    }
}

/// The terms of the `cnt` handles at guest address `ptr`, and their
/// flattened size together.
fn load_handles(
    caller: &Caller<'_, StoreData>,
    env: *mut ErlNifEnv,
    ptr: i32,
    cnt: u32,
) -> Result<(Vec<ErlNifTerm>, Flat), ArrayError> {
    if cnt > MAX_ARRAY_LEN {
        return Err(ArrayError::TooLong);
    }
    let (memory, range) =
        memory_range(caller, ptr, cnt as u64 * 8).ok_or(ArrayError::OutsideMemory)?;
    let handles: Vec<i64> = memory.data(caller)[range]
        .chunks_exact(8)
        .map(|bytes| i64::from_le_bytes(bytes.try_into().expect("8 bytes")))
        .collect();
    let table = table(caller);
    let terms = handles
        .iter()
        .map(|&handle| {
            table
                .term_of(handle)
                .ok_or_else(|| ArrayError::BadHandle(handle, table.is_exception_marker(handle)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let flat = flat::of_handles(table, env, &handles).ok_or(ArrayError::TooLarge)?;
    Ok((terms, flat))
}

/// A future that is pending once: the guest is suspended and the call's
/// driver reschedules it, as at the end of a slice. It wakes itself, so
/// that a driver that waits for a wake (WASI's) goes on at once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Lets the scheduler run others before a long host function goes on. The
/// process may be garbage collected meanwhile: terms must be found again
/// through the table afterwards.
async fn yield_now() {
    YieldOnce(false).await
}

/// Module name every term-ABI import lives in.
pub const IMPORT_MODULE: &str = "env";

use ValType::{F64, I32, I64};

/// Declares every import once: its name and wasm signature (for checking a
/// module's imports when it is compiled) and the host function behind it.
macro_rules! imports {
    ($( $name:literal ($($p:ident),*) -> ($($r:ident),*) = $how:ident $f:path; )*) => {
        /// Name and wasm signature of every import the host provides.
        pub const IMPORTS: &[(&str, &[ValType], &[ValType])] =
            &[ $( ($name, &[$($p),*], &[$($r),*]), )* ];

        pub fn define_imports(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
            $( imports!(@define linker, $how, $name, $f); )*
            Ok(())
        }
    };
    (@define $linker:ident, sync, $name:literal, $f:path) => {
        $linker.func_wrap(IMPORT_MODULE, $name, $f)?;
    };
    (@define $linker:ident, async, $name:literal, $f:path) => {
        $linker.func_wrap_async(IMPORT_MODULE, $name, |caller, params| {
            Box::new($f(caller, params))
        })?;
    };
}

imports! {
    // The seed's imports.
    "enif_wasm_get_int32" (I32, I64, I32) -> (I32) = sync numbers::get_int;
    "enif_wasm_make_int32" (I32, I32) -> (I64) = sync numbers::make_int;
    "enif_wasm_make_badarg" (I32) -> (I64) = sync types::make_badarg;
    "enif_wasm_get_list_cell" (I32, I64, I32, I32) -> (I32) = sync lists::get_list_cell;
    "enif_wasm_is_empty_list" (I32, I64) -> (I32) = sync types::is_empty_list;
    "enif_wasm_get_binary_size" (I32, I64, I32) -> (I32) = sync binaries::get_binary_size;
    "enif_wasm_get_binary_bytes" (I32, I64, I32, I32, I32) -> (I32)
        = async binaries::get_binary_bytes;
    "enif_wasm_make_binary" (I32, I32, I32) -> (I64) = async binaries::make_binary;
    "enif_printf_I" (I32, I32) -> (I32) = sync print::printf_int;
    "enif_printf_L" (I32, I64) -> (I64) = sync print::printf_long;
    "enif_printf_F" (I32, F64) -> (I32) = sync print::printf_double;
    // Numbers.
    "enif_wasm_get_int" (I32, I64, I32) -> (I32) = sync numbers::get_int;
    "enif_wasm_get_uint" (I32, I64, I32) -> (I32) = sync numbers::get_uint;
    "enif_wasm_get_int64" (I32, I64, I32) -> (I32) = sync numbers::get_int64;
    "enif_wasm_get_uint64" (I32, I64, I32) -> (I32) = sync numbers::get_uint64;
    "enif_wasm_get_double" (I32, I64, I32) -> (I32) = sync numbers::get_double;
    "enif_wasm_make_int" (I32, I32) -> (I64) = sync numbers::make_int;
    "enif_wasm_make_uint" (I32, I32) -> (I64) = sync numbers::make_uint;
    "enif_wasm_make_int64" (I32, I64) -> (I64) = sync numbers::make_int64;
    "enif_wasm_make_uint64" (I32, I64) -> (I64) = sync numbers::make_uint64;
    "enif_wasm_make_double" (I32, F64) -> (I64) = sync numbers::make_double;
    // Atoms and strings.
    "enif_wasm_make_atom_len" (I32, I32, I32) -> (I64) = sync text::make_atom_len;
    "enif_wasm_make_existing_atom_len" (I32, I32, I32, I32, I32) -> (I32)
        = sync text::make_existing_atom_len;
    "enif_wasm_get_atom" (I32, I64, I32, I32, I32) -> (I32) = sync text::get_atom;
    "enif_wasm_get_atom_length" (I32, I64, I32, I32) -> (I32) = sync text::get_atom_length;
    "enif_wasm_make_string_len" (I32, I32, I32, I32) -> (I64) = sync text::make_string_len;
    "enif_wasm_get_string" (I32, I64, I32, I32, I32) -> (I32) = async text::get_string;
    // Tuples and lists.
    "enif_wasm_get_tuple" (I32, I64, I32, I32, I32) -> (I32) = sync lists::get_tuple;
    "enif_wasm_make_tuple_from_array" (I32, I32, I32) -> (I64)
        = sync lists::make_tuple_from_array;
    "enif_wasm_get_list_length" (I32, I64, I32) -> (I32) = async lists::get_list_length;
    "enif_wasm_make_list_cell" (I32, I64, I64) -> (I64) = sync lists::make_list_cell;
    "enif_wasm_make_list_from_array" (I32, I32, I32) -> (I64)
        = sync lists::make_list_from_array;
    "enif_wasm_make_reverse_list" (I32, I64, I32) -> (I32) = async lists::make_reverse_list;
    // Binaries, iolists, the external term format.
    "enif_wasm_make_sub_binary" (I32, I64, I32, I32) -> (I64) = sync binaries::make_sub_binary;
    "enif_wasm_inspect_iolist_as_binary" (I32, I64, I32) -> (I32)
        = sync binaries::inspect_iolist_as_binary;
    "enif_wasm_term_to_binary" (I32, I64, I32) -> (I32) = sync binaries::term_to_binary;
    "enif_wasm_binary_to_term" (I32, I32, I32, I32, I32) -> (I32)
        = sync binaries::binary_to_term;
    // Maps.
    "enif_wasm_make_new_map" (I32) -> (I64) = sync maps::make_new_map;
    "enif_wasm_get_map_size" (I32, I64, I32) -> (I32) = sync maps::get_map_size;
    "enif_wasm_get_map_value" (I32, I64, I64, I32) -> (I32) = sync maps::get_map_value;
    "enif_wasm_make_map_put" (I32, I64, I64, I64, I32) -> (I32) = sync maps::make_map_put;
    "enif_wasm_make_map_update" (I32, I64, I64, I64, I32) -> (I32)
        = sync maps::make_map_update;
    "enif_wasm_make_map_remove" (I32, I64, I64, I32) -> (I32) = sync maps::make_map_remove;
    "enif_wasm_make_map_from_arrays" (I32, I32, I32, I32, I32) -> (I32)
        = sync maps::make_map_from_arrays;
    "enif_wasm_map_iterator_get_pair" (I32, I32, I32, I32) -> (I32)
        = sync maps::map_iterator_get_pair;
    // Type tests, comparison, exceptions.
    "enif_wasm_is_atom" (I32, I64) -> (I32) = sync types::is_atom;
    "enif_wasm_is_binary" (I32, I64) -> (I32) = sync types::is_binary;
    "enif_wasm_is_fun" (I32, I64) -> (I32) = sync types::is_fun;
    "enif_wasm_is_list" (I32, I64) -> (I32) = sync types::is_list;
    "enif_wasm_is_map" (I32, I64) -> (I32) = sync types::is_map;
    "enif_wasm_is_number" (I32, I64) -> (I32) = sync types::is_number;
    "enif_wasm_is_pid" (I32, I64) -> (I32) = sync types::is_pid;
    "enif_wasm_is_port" (I32, I64) -> (I32) = sync types::is_port;
    "enif_wasm_is_ref" (I32, I64) -> (I32) = sync types::is_ref;
    "enif_wasm_is_tuple" (I32, I64) -> (I32) = sync types::is_tuple;
    "enif_wasm_is_exception" (I32, I64) -> (I32) = sync types::is_exception;
    "enif_wasm_term_type" (I32, I64) -> (I32) = sync types::term_type;
    "enif_wasm_is_identical" (I32, I64, I64) -> (I32) = sync types::is_identical;
    "enif_wasm_compare" (I32, I64, I64) -> (I32) = sync types::compare;
    "enif_wasm_raise_exception" (I32, I64) -> (I64) = sync types::raise_exception;
    "enif_wasm_has_pending_exception" (I32, I32) -> (I32) = sync types::has_pending_exception;
    // Processes and references.
    "enif_wasm_self" (I32) -> (I64) = sync process::self_pid;
    "enif_wasm_send" (I32, I64, I64) -> (I32) = sync process::send;
    "enif_wasm_is_process_alive" (I32, I64) -> (I32) = sync process::is_process_alive;
    "enif_wasm_make_ref" (I32) -> (I64) = sync process::make_ref;
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Engine, Store};

    #[test]
    fn guest_range_rejects_everything_outside_memory() {
        let mem = [0u8; 16];
        assert_eq!(guest_range(&mem, 0, 16), Some(0..16));
        assert_eq!(guest_range(&mem, 16, 0), Some(16..16));
        assert_eq!(guest_range(&mem, 15, 2), None);
        assert_eq!(guest_range(&mem, -1, 1), None, "negative is a huge offset");
        assert_eq!(guest_range(&mem, i32::MAX, u32::MAX as u64), None);
    }

    /// The signatures that module checking relies on are those of the host
    /// functions actually defined, and every name is defined once.
    #[test]
    fn import_table_matches_the_linker() {
        let engine = Engine::new(&Config::new()).unwrap();
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).unwrap();
        let mut store = Store::new(&engine, StoreData::new(Default::default(), None));
        let mut names: Vec<_> = IMPORTS.iter().map(|(name, _, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IMPORTS.len(), "duplicate import name");
        for (name, params, results) in IMPORTS {
            let func = linker
                .get(&mut store, IMPORT_MODULE, name)
                .ok()
                .and_then(|e| e.into_func())
                .unwrap_or_else(|| panic!("{name} is not defined"));
            let ty = func.ty(&store);
            let same = |a: &mut dyn Iterator<Item = ValType>, b: &[ValType]| {
                a.map(|t| t.to_string()).collect::<Vec<_>>()
                    == b.iter().map(|t| t.to_string()).collect::<Vec<_>>()
            };
            assert!(same(&mut ty.params(), params), "{name} params");
            assert!(same(&mut ty.results(), results), "{name} results");
        }
        assert_eq!(linker.iter(&mut store).count(), IMPORTS.len());
    }

    /// How the guest ABI is declared for guests: (name, params, results)
    /// with wasm types spelled `i32`, `i64`, `f64`.
    type Declared = Vec<(String, Vec<&'static str>, Vec<&'static str>)>;

    fn repo_file(path: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The wasm type of a C type of `erl_nif_wasm.h` (wasm32: pointers,
    /// `int` and enums are i32; `ERL_NIF_TERM` is a `uint64_t`).
    fn c_type(ty: &str) -> Option<&'static str> {
        let ty = ty.trim().trim_start_matches("const ").trim();
        if ty.contains('*') {
            return Some("i32");
        }
        match ty {
            "void" => None,
            "ERL_NIF_TERM" | "int64_t" | "uint64_t" | "long long" => Some("i64"),
            "double" => Some("f64"),
            "int" | "unsigned" | "unsigned int" | "int32_t" | "uint32_t" | "size_t"
            | "ErlNifTermType" | "ErlNifCharEncoding" => Some("i32"),
            other => panic!("a C type this test does not know: {other}"),
        }
    }

    /// The type of a C parameter or declaration: all but its last word,
    /// with the stars that belong to the name.
    fn c_declared_type(decl: &str) -> String {
        let decl = decl.trim();
        let name_at = decl
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |at| at + 1);
        decl[..name_at].to_string()
    }

    fn header_imports() -> Declared {
        let header = repo_file("include/erl_nif_wasm.h");
        let mut found = Vec::new();
        let mut rest = header.as_str();
        while let Some(at) = rest.find("\nERL_NIF_WASM_IMPORT(") {
            rest = &rest[at + "\nERL_NIF_WASM_IMPORT(".len()..];
            let name = &rest[..rest.find(')').unwrap()];
            let decl = &rest[rest.find('\n').unwrap()..rest.find(';').unwrap()];
            let open = decl.find('(').unwrap();
            let close = decl.rfind(')').unwrap();
            assert_eq!(decl[..open].trim().rsplit(' ').next(), Some(name), "{decl}");
            let results = c_type(&c_declared_type(&decl[..open]))
                .into_iter()
                .collect();
            let params = match decl[open + 1..close].trim() {
                "void" | "" => Vec::new(),
                list => list
                    .split(',')
                    .map(|p| c_type(&c_declared_type(p)).expect("no void parameter"))
                    .collect(),
            };
            found.push((name.to_string(), params, results));
        }
        found
    }

    /// The wasm type of a Rust type of the SDK's `sys.rs`.
    fn rust_type(ty: &str) -> &'static str {
        match ty.trim() {
            t if t.starts_with('*') => "i32",
            "ErlNifEnv" | "i32" | "u32" | "usize" | "isize" | "ErlNifTermType" => "i32",
            "ErlNifTerm" | "i64" | "u64" => "i64",
            "f64" => "f64",
            other => panic!("a Rust type this test does not know: {other}"),
        }
    }

    fn sdk_imports() -> Declared {
        let sys = repo_file("sdk/rust/erl_nif_wasm/src/sys.rs");
        let start = sys.find("#[link(wasm_import_module = \"env\")]").unwrap();
        let block = &sys[start..];
        let block = &block[..block.find("\n}").unwrap()];
        let mut found = Vec::new();
        for item in block.split(';') {
            let Some(at) = item.find("fn ") else { continue };
            let item = &item[at + 3..];
            let open = item.find('(').unwrap();
            let close = item.rfind(')').unwrap();
            let params = item[open + 1..close]
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| rust_type(p.split_once(':').unwrap().1))
                .collect();
            let results = match item[close + 1..].split_once("->") {
                Some((_, ty)) => vec![rust_type(ty)],
                None => Vec::new(),
            };
            found.push((item[..open].trim().to_string(), params, results));
        }
        found
    }

    fn host_imports() -> Declared {
        let name = |t: &ValType| match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F64 => "f64",
            other => panic!("{other}"),
        };
        IMPORTS
            .iter()
            .map(|(n, p, r)| {
                (
                    n.to_string(),
                    p.iter().map(name).collect(),
                    r.iter().map(name).collect(),
                )
            })
            .collect()
    }

    /// The C header and the Rust SDK declare the same imports, with the
    /// same wasm types, as the host defines: the ABI is listed once for
    /// the host (`imports!`) and the guests' declarations are checked here.
    #[test]
    fn the_guest_declarations_match_the_host_table() {
        let mut host = host_imports();
        host.sort();
        for (what, mut declared) in [
            ("erl_nif_wasm.h", header_imports()),
            ("sys.rs", sdk_imports()),
        ] {
            declared.sort();
            let names = |d: &Declared| d.iter().map(|(n, _, _)| n.clone()).collect::<Vec<_>>();
            assert_eq!(
                names(&declared),
                names(&host),
                "{what} declares other imports"
            );
            for (declared, host) in declared.iter().zip(&host) {
                assert_eq!(declared, host, "{what} declares {} otherwise", host.0);
            }
        }
    }
}
