//! WASI preview 1 for modules that import `wasi_snapshot_preview1`:
//! Wasmtime's own implementation (`wasmtime-wasi`), its asynchronous form,
//! so that every WASI call runs inside the slices of the call that made it.
//!
//! An instance gets only what its options give (docs/wasi.md): arguments,
//! variables, a stdin binary, directories opened here, clocks and random
//! numbers; never the VM's environment, sockets or any other path. Files
//! are read and written on threads of `wasmtime-wasi`'s own runtime, never
//! on a scheduler: the call waits meanwhile (`slicing/wakeup.rs`), as it
//! does when the guest sleeps. Output goes to bounded pipes
//! (`wasi/stdio.rs`) that outlive the store, so that what a program wrote
//! before it failed can still be read.

pub mod bounded;
pub mod stdio;

use std::collections::HashMap;
use std::path::PathBuf;

use rustler::{Encoder, Env, Term};
use wasmtime::{FuncType, Linker, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::error::InstantiateError;
use crate::kept_funs::KeptFuns;
use crate::protocol::{Answer, Request};
use crate::store::data::StoreData;
use stdio::{Mode, Pipe};

/// The module name of every WASI preview 1 function.
pub const IMPORT_MODULE: &str = "wasi_snapshot_preview1";

/// What a program gets, from the `wasi` option; everything is off by
/// default.
#[derive(Default)]
pub struct WasiOptions {
    /// The full argv, argv[0] included.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub preopens: Vec<Preopen>,
    pub stdout: Mode,
    pub stderr: Mode,
    /// The funs of streamed outputs: stdout's at index 0, stderr's at 1.
    pub funs: Option<KeptFuns>,
}

/// Where the funs of streamed outputs are in `WasiOptions::funs`.
pub const STDOUT_FUN: usize = 0;
pub const STDERR_FUN: usize = 1;

/// A host directory the guest sees at `guest`.
pub struct Preopen {
    pub host: PathBuf,
    pub guest: String,
    pub writable: bool,
}

/// The output of an instance's program, kept apart from its store.
#[derive(Clone)]
pub struct Output {
    pub stdout: Pipe,
    pub stderr: Pipe,
}

/// A WASI context for a store, and the pipes its output goes to. Fails
/// when a preopened directory cannot be opened.
pub fn context(options: &mut WasiOptions) -> Result<(WasiP1Ctx, Output), InstantiateError> {
    let output = Output {
        stdout: Pipe::new(options.stdout),
        stderr: Pipe::new(options.stderr),
    };
    let mut builder = WasiCtxBuilder::new();
    // Before the preopens, which each take the setting as it is: file
    // operations run on the runtime's threads, never on a scheduler.
    builder
        .allow_blocking_current_thread(false)
        .args(&options.args)
        .envs(&options.env)
        .stdin(stdio::Stdin::new(std::mem::take(&mut options.stdin)))
        .stdout(output.stdout.clone())
        .stderr(output.stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        // `random_get` is refused past it before this (wasi/bounded.rs), with
        // a kind of ours; this is the bound of any other way in.
        .max_random_size(bounded::MAX_RANDOM_BYTES);
    for preopen in &options.preopens {
        let perms = match preopen.writable {
            true => FsPerms::ReadWrite,
            false => FsPerms::ReadOnly,
        };
        builder
            .preopened_dir(&preopen.host, &preopen.guest, perms)
            .map_err(|error| InstantiateError::Preopen {
                host: preopen.host.to_string_lossy().into_owned(),
                message: format!("{error:#}"),
            })?;
    }
    let mut context = builder.build_p1();
    bounded::bound_resources(&mut context);
    Ok((context, output))
}

/// Adds WASI preview 1 to `linker`, for stores whose data holds a context.
pub fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    p1::add_to_linker_async(linker, |data: &mut StoreData| {
        data.wasi
            .as_deref_mut()
            .expect("a module that imports WASI is instantiated with a WASI context")
    })?;
    bounded::link(linker)?;
    // `wasmtime-wasi` refuses statuses from 126 up (they are not portable
    // to Windows); a program here exits as on a POSIX system, where the
    // status is its low 8 bits.
    linker.allow_shadowing(true);
    linker.func_wrap(
        IMPORT_MODULE,
        "proc_exit",
        |status: i32| -> wasmtime::Result<()> { Err(I32Exit(status & 0xff).into()) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The type of every WASI function `linker` provides, by name, to check
/// a module's imports against when it is compiled.
pub fn functions(
    linker: &Linker<StoreData>,
    engine: &wasmtime::Engine,
) -> HashMap<String, FuncType> {
    let mut store = Store::new(engine, StoreData::new(Default::default(), None));
    let defined: Vec<_> = linker
        .iter(&mut store)
        .filter(|(module, _, _)| *module == IMPORT_MODULE)
        .map(|(_, name, item)| (name.to_string(), item))
        .collect();
    defined
        .into_iter()
        .filter_map(|(name, item)| Some((name, item.into_func()?.ty(&store))))
        .collect()
}

/// What the program wrote to its streamed outputs since the last time, in
/// `env`: the fun and the bytes of each, stdout's first.
pub fn streamed<'a>(
    env: Env<'a>,
    output: &Output,
    funs: Option<&KeptFuns>,
) -> Vec<(Term<'a>, Term<'a>)> {
    let Some(funs) = funs else {
        return Vec::new();
    };
    [(STDOUT_FUN, &output.stdout), (STDERR_FUN, &output.stderr)]
        .into_iter()
        .filter_map(|(index, pipe)| {
            let bytes = pipe.take_streamed()?;
            let fun = funs.fun(env, index)?;
            let mut binary = rustler::NewBinary::new(env, bytes.len());
            binary.as_mut_slice().copy_from_slice(&bytes);
            Some((fun, rustler::Binary::from(binary).encode(env)))
        })
        .collect()
}

/// Requests to hand `chunks` to their funs, one after the other, then do
/// `then`; `reply` is the parked work to tell should a fun raise.
pub fn stream_requests<'a>(
    chunks: Vec<(Term<'a>, Term<'a>)>,
    reply: Option<(Term<'a>, Term<'a>)>,
    then: Answer<'a>,
) -> Answer<'a> {
    chunks.into_iter().rev().fold(then, |then, (fun, bytes)| {
        Answer::Ask(Request::Stream {
            fun,
            bytes,
            reply,
            then: Box::new(then),
        })
    })
}

/// The streamed outputs failed: their fun raised, and the program's next
/// write traps.
pub fn fail_streams(output: &Output) {
    output.stdout.fail();
    output.stderr.fail();
}

/// Runs `poll` with the runtime of `wasmtime-wasi` at hand: its file
/// operations and timers are registered there.
pub fn in_runtime<R>(poll: impl FnOnce() -> R) -> R {
    wasmtime_wasi::runtime::with_ambient_tokio_runtime(poll)
}
