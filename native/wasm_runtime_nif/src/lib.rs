//! `wasm_runtime_nif`: load WebAssembly modules and call them from Erlang.
//!
//! This file is the list of the NIFs, each named `<concept>_<verb>` and
//! stubbed in `wasm_runtime_nif_nif.erl`: a thin typed facade over the
//! module that does the work. docs/design.md, "Where things are", maps each
//! concept to its file.

mod atoms;
mod budget;
mod call;
mod component;
mod engine;
mod epoch;
mod erlang_import;
mod error;
mod fast_path;
mod instance;
mod instantiate;
mod kept_funs;
mod limits;
mod live_count;
mod module;
mod options;
mod output;
mod printf;
mod protocol;
mod reaper;
mod regular_file;
mod resource;
mod slicing;
mod store;
mod term_abi;
mod term_table;
mod values;
mod wasi;

/// What the fuzzing campaign's reference (`src/bin/wasm_fuzz.rs`) shares
/// with the library, so that both judge guests alike; the crate has no
/// other Rust consumer.
#[cfg(feature = "fuzz")]
pub mod for_fuzzing {
    pub use crate::error::TrapReason;
    pub use crate::limits::InstanceLimits;
    pub use crate::values::{placeholder, type_name, NumType};

    /// The WASI functions the library provides, with their types, by name.
    pub fn wasi_functions() -> Vec<(String, wasmtime::FuncType)> {
        let engine = wasmtime::Engine::default();
        let mut linker = wasmtime::Linker::new(&engine);
        crate::wasi::link(&mut linker).expect("WASI links");
        let mut functions: Vec<_> = crate::wasi::functions(&linker, &engine)
            .into_iter()
            .collect();
        functions.sort_by(|a, b| a.0.cmp(&b.0));
        functions
    }
}

use rustler::{Binary, Encoder, Env, NifResult, ResourceArc, Term};

use instance::exports::Abi;
use instance::turns::Released;
use instance::WasmInstance;
use module::WasmModule;

/// The instance `term` holds, for the NIF call it is an argument of.
fn instance_of(term: Term<'_>) -> NifResult<&WasmInstance> {
    resource::borrow(term).ok_or(rustler::Error::BadArg)
}

/// `{ok, Module} | {error, Reason}` for wasm or WAT bytes, with the options
/// of `options::compile_options`. Compiling can take far longer than a
/// millisecond, so it runs on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_compile<'a>(env: Env<'a>, bytes: Binary<'a>, options: Term<'a>) -> NifResult<Term<'a>> {
    let options = options::compile_options(options)?;
    let engine = engine::engine(options.metering);
    let cache = match options.cache {
        Some((dir, digest)) => Some(
            module::cache::CacheEntry::new(
                std::path::Path::new(&dir),
                &digest,
                engine,
                options.metering,
            )
            .ok_or(rustler::Error::BadArg)?,
        ),
        None => None,
    };
    Ok(
        match module::compile(bytes.as_slice().to_vec(), options.metering, cache) {
            Ok(module) => (atoms::ok(), ResourceArc::new(module)).encode(env),
            Err(reason) => (atoms::error(), reason).encode(env),
        },
    )
}

/// `{ok, Bytes} | {error, Reason}`: the regular file at `path` (the OS's
/// bytes for the name), if it is no larger than `max_file_size`.
#[rustler::nif(schedule = "DirtyIo")]
fn module_file_read<'a>(env: Env<'a>, path: Binary<'a>, options: Term<'a>) -> NifResult<Term<'a>> {
    use std::os::unix::ffi::OsStrExt;
    let max = options::max_file_size(options)?;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.as_slice()));
    Ok(match regular_file::read_binary(env, path, max) {
        Ok(bytes) => (atoms::ok(), bytes).encode(env),
        Err(reason) => (atoms::error(), reason).encode(env),
    })
}

/// The exports of a module, or of an instance's module.
#[rustler::nif]
fn module_exports<'a>(env: Env<'a>, module_or_instance: Term<'a>) -> NifResult<Term<'a>> {
    with_module(module_or_instance, |module| module::exports_of(env, module))
}

/// What `info/1` tells of a module (`module/info.rs`).
#[rustler::nif]
fn module_describe<'a>(env: Env<'a>, module: ResourceArc<WasmModule>) -> Term<'a> {
    module::info::describe(env, &module)
}

/// The imports of a module, or of an instance's module.
#[rustler::nif]
fn module_imports<'a>(env: Env<'a>, module_or_instance: Term<'a>) -> NifResult<Term<'a>> {
    with_module(module_or_instance, |module| module::imports_of(env, module))
}

/// `look` applied to a module, or to an instance's module.
fn with_module<'a, R>(
    module_or_instance: Term<'a>,
    look: impl FnOnce(&WasmModule) -> R,
) -> NifResult<R> {
    if let Ok(module) = module_or_instance.decode::<ResourceArc<WasmModule>>() {
        return Ok(look(&module));
    }
    Ok(look(instance_of(module_or_instance)?.module()))
}

/// `{ok, Instance} | {error, Reason}`, with the options of
/// `options::instance_options` and the Erlang imports offered.
#[rustler::nif]
fn instance_new<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    options: Term<'a>,
    imports: Vec<erlang_import::OfferedImport<'a>>,
) -> NifResult<Term<'a>> {
    new_instance(env, module, options, imports)
}

/// `instance_new/3` on a dirty I/O scheduler, for an instance that opens
/// directories (WASI preopens) or copies a large stdin; its later slices
/// run on a normal scheduler.
#[rustler::nif(schedule = "DirtyIo")]
fn instance_new_dirty<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    options: Term<'a>,
    imports: Vec<erlang_import::OfferedImport<'a>>,
) -> NifResult<Term<'a>> {
    new_instance(env, module, options, imports)
}

fn new_instance<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    options: Term<'a>,
    imports: Vec<erlang_import::OfferedImport<'a>>,
) -> NifResult<Term<'a>> {
    let options = options::instance_options(options, module.metering)?;
    instantiate::instantiate(env, module, options, &imports).into_nif(env)
}

/// Registers a NIF on the path of every call without Rustler's wrapper,
/// which collects the arguments into a vector: an allocation per call.
macro_rules! call_nif {
    ($(#[$doc:meta])* fn $name:ident($env:ident, $($arg:ident),+) $body:block) => {
        rustler::codegen_runtime::inventory::submit!(rustler::Nif {
            name: concat!(stringify!($name), "\0").as_ptr() as *const std::ffi::c_char,
            arity: [$(stringify!($arg)),+].len() as u32,
            flags: 0,
            raw_func: {
                $(#[$doc])*
                unsafe extern "C" fn $name(
                    env: *mut rustler::sys::ErlNifEnv,
                    argc: std::ffi::c_int,
                    argv: *const rustler::sys::ErlNifTerm,
                ) -> rustler::sys::ErlNifTerm {
                    slicing::nif_body(env, argc, argv, |$env, [$($arg),+]| $body)
                }
                $name
            },
        });
    };
}

call_nif! {
    /// A call of `Name` with numbers.
    fn instance_call_raw(env, instance, name, arguments, limits) {
        let called = instance_of(instance)?;
        match called.module().component() {
            Some(code) => call::component::start(env, called, code, [instance, name, arguments, limits]),
            None => call::start(env, called, Abi::Raw, name, arguments, limits),
        }
        .into_nif(env)
    }
}

call_nif! {
    /// A call of `Name` with terms.
    fn instance_call(env, instance, name, arguments, limits) {
        let called = instance_of(instance)?;
        match called.module().component() {
            Some(code) => call::component::start(env, called, code, [instance, name, arguments, limits]),
            None => call::start(env, called, Abi::Terms, name, arguments, limits),
        }
        .into_nif(env)
    }
}

/// Drops a resource a component instance handed out, in a call of the
/// instance (its destructor is guest code).
#[rustler::nif]
fn instance_resource_drop<'a>(
    env: Env<'a>,
    instance: Term<'a>,
    handle: Term<'a>,
    limits: Term<'a>,
) -> NifResult<Term<'a>> {
    call::component::drop_resource(env, instance_of(instance)?, handle, limits).into_nif(env)
}

/// Takes the caller out of the instance's queue after its wait timed out.
#[rustler::nif]
fn instance_leave_queue<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<rustler::Atom> {
    instance_of(instance)?.leave_queue(env);
    Ok(atoms::ok())
}

/// Asks the call holding the instance to stop (`WasmInstance::interrupt`):
/// whether a call held it.
#[rustler::nif]
fn instance_interrupt<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<bool> {
    Ok(instance_of(instance)?.interrupt(env))
}

/// What `info/1` tells of an instance (`instance/info.rs`); `undefined`
/// for any other term, which `info/1` then asks `module_describe` about.
#[rustler::nif]
fn instance_describe<'a>(env: Env<'a>, term: Term<'a>) -> Term<'a> {
    match resource::borrow::<WasmInstance>(term) {
        Some(instance) => instance.describe(env),
        None => atoms::undefined().encode(env),
    }
}

/// Frees an instance's store now (see `WasmInstance::release`): `ok`, or
/// `dirty` for a store too large to unmap here, left as it was.
#[rustler::nif]
fn instance_release<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<rustler::Atom> {
    Ok(match instance_of(instance)?.release(env, false)? {
        Released::Freed => atoms::ok(),
        Released::TooLarge => atoms::dirty(),
    })
}

/// `instance_release/1` on a dirty I/O scheduler, whatever the size.
#[rustler::nif(schedule = "DirtyIo")]
fn instance_release_dirty<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<rustler::Atom> {
    instance_of(instance)?.release(env, true)?;
    Ok(atoms::ok())
}

call_nif! {
    /// Resumes a call whose guest called an Erlang import, with the fun's
    /// `{ok, Value}` or `{raised, Class, Reason, Stack}`.
    fn call_reply(env, call, carried, reply) {
        call::reply(env, call, carried, reply).into_nif(env)
    }
}

call_nif! {
    /// Runs the next slice of a call parked while its output was written
    /// or while it waited, or of an instantiation parked while it waited.
    fn call_resume(env, work, carried) {
        match resource::borrow::<slicing::Suspended<instantiate::Instantiation>>(work) {
            Some(_) => instantiate::resume(env, work, carried),
            None => call::resume(env, work, carried),
        }
        .into_nif(env)
    }
}

/// `#{stdout => Bytes, stderr => Bytes}`: what the instance's WASI program
/// wrote and nobody read yet, taken; `{error, not_wasi}` for an instance
/// of a module that does not import WASI. Works on an instance in any
/// state, so that what a failed program wrote can be read. Up to twice the
/// output ceiling is copied: on a dirty scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn instance_wasi_output<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<Term<'a>> {
    let Some(wasi) = &instance_of(instance)?.wasi else {
        return Ok((atoms::error(), atoms::not_wasi()).encode(env));
    };
    let binary = |bytes: Vec<u8>| -> NifResult<Term<'a>> {
        let mut binary = rustler::NewBinary::new(env, bytes.len());
        binary.as_mut_slice().copy_from_slice(&bytes);
        Ok(rustler::Binary::from(binary).encode(env))
    };
    let keys = [atoms::stdout().encode(env), atoms::stderr().encode(env)];
    let values = [
        binary(wasi.output.stdout.take())?,
        binary(wasi.output.stderr.take())?,
    ];
    Ok(Term::map_from_arrays(env, &keys, &values).expect("distinct keys"))
}

/// An access of the embedding API (`instance/access.rs`) to an idle
/// instance: its value or `{error, Reason}`.
#[rustler::nif]
fn instance_access<'a>(env: Env<'a>, instance: Term<'a>, access: Term<'a>) -> NifResult<Term<'a>> {
    access_instance(env, instance, access)
}

fn access_instance<'a>(env: Env<'a>, instance: Term<'a>, access: Term<'a>) -> NifResult<Term<'a>> {
    let access = instance::access::Access::decode(access)?;
    instance::access::run(env, instance_of(instance)?, access).into_nif(env)
}

/// `instance_access/2` on a dirty scheduler, for reads and writes of many
/// bytes.
#[rustler::nif(schedule = "DirtyCpu")]
fn instance_access_dirty<'a>(
    env: Env<'a>,
    instance: Term<'a>,
    access: Term<'a>,
) -> NifResult<Term<'a>> {
    access_instance(env, instance, access)
}

/// `{ok, Units}`: the fuel the instance's last call burned (0 before the
/// first); `{error, no_fuel}` for a module compiled without metering.
#[rustler::nif]
fn instance_fuel_burned<'a>(env: Env<'a>, instance: Term<'a>) -> NifResult<Term<'a>> {
    Ok(match instance_of(instance)?.last_fuel() {
        Some(burned) => (atoms::ok(), burned).encode(env),
        None => (atoms::error(), atoms::no_fuel()).encode(env),
    })
}

/// `#{modules => N, instances => N, calls => N, mappings => N, ...}`: how
/// many are alive right now (`calls`: calls suspended between two slices)
/// and the VM mappings and address space live instances reserved.
#[rustler::nif]
fn runtime_counts(env: Env) -> Term {
    let used = budget::used();
    let ceiling = budget::ceiling();
    let infinity = atoms::infinity().encode(env);
    let pairs = [
        (
            atoms::modules(),
            live_count::get(&live_count::MODULES).encode(env),
        ),
        (
            atoms::instances(),
            live_count::get(&live_count::INSTANCES).encode(env),
        ),
        (
            atoms::calls(),
            live_count::get(&live_count::SUSPENDED_CALLS).encode(env),
        ),
        (atoms::mappings(), used.mappings.encode(env)),
        (atoms::address_space(), used.address_space.encode(env)),
        (
            atoms::max_mappings(),
            ceiling.map_or(infinity, |max| max.mappings.encode(env)),
        ),
        (
            atoms::max_address_space(),
            ceiling.map_or(infinity, |max| max.address_space.encode(env)),
        ),
    ];
    atoms::map_of(env, &pairs)
}

/// The load callback: `info` is the engine's settings from the
/// application environment (`options::engine_settings`).
fn load(env: Env, info: Term) -> bool {
    let opened = resource::open::<WasmInstance>(env, c"wasm_runtime_nif_instance")
        && resource::open::<slicing::Suspended<call::Call>>(env, c"wasm_runtime_nif_call")
        && resource::open::<slicing::Suspended<instantiate::Instantiation>>(
            env,
            c"wasm_runtime_nif_instantiation",
        )
        && resource::open::<component::handle::Held>(env, c"wasm_runtime_nif_component_resource");
    if !opened {
        return false;
    }
    let (settings, max_mappings) = options::engine_settings(info);
    budget::init(max_mappings, settings.instance_pool.is_some());
    match engine::init(settings) {
        Ok(()) => true,
        Err(message) => {
            eprintln!("wasm_runtime_nif: {message}");
            false
        }
    }
}

rustler::init!("wasm_runtime_nif_nif", load = load);
