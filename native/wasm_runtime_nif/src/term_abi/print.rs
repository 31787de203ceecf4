//! `enif_printf_*`: C printf of one value, into the call's output (see
//! `output.rs`), which the calling process writes to its group leader.

use wasmtime::Caller;

use super::StoreData;
use crate::printf;

/// Longest format string `enif_printf_*` reads before giving up.
pub const MAX_FORMAT_LEN: usize = 4096;

/// Bytes printed, or -1 for a format outside memory, or output cut at the
/// call's allowance.
fn print_one(caller: &mut Caller<'_, StoreData>, fmt: i32, arg: printf::Arg) -> i64 {
    // A start function runs before the instance has looked its memory up.
    let memory = caller
        .data()
        .memory
        .or_else(|| caller.get_export("memory").and_then(|e| e.into_memory()));
    let Some(memory) = memory else {
        return -1;
    };
    let mem = memory.data(&*caller);
    let Some(format) = printf::c_string(mem, fmt, MAX_FORMAT_LEN) else {
        return -1;
    };
    // SAFETY: host functions run inside a slice, while the driver holds no
    // reference to the output; this one is dropped before returning.
    let output = unsafe { caller.data().cells.output.get() };
    if output.room() == 0 {
        output.print(&[], true);
        return -1;
    }
    let (text, cut) = printf::format(
        format,
        arg,
        |ptr| printf::c_string(mem, ptr, MAX_FORMAT_LEN),
        output.room(),
    );
    output.print(&text, cut);
    if cut {
        -1
    } else {
        text.len() as i64
    }
}

pub fn printf_int(mut caller: Caller<'_, StoreData>, fmt: i32, arg: i32) -> i32 {
    print_one(&mut caller, fmt, printf::Arg::Int(arg as i64)) as i32
}

pub fn printf_long(mut caller: Caller<'_, StoreData>, fmt: i32, arg: i64) -> i64 {
    print_one(&mut caller, fmt, printf::Arg::Int(arg))
}

pub fn printf_double(mut caller: Caller<'_, StoreData>, fmt: i32, arg: f64) -> i32 {
    print_one(&mut caller, fmt, printf::Arg::Float(arg)) as i32
}
