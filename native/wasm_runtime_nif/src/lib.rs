//! `wasm_runtime_nif`: load WebAssembly modules and call them from Erlang.
//!
//! The NIF functions here are a thin typed facade; each concept lives in its
//! own module: [`engine`] (the shared Wasmtime engine), [`module`] (compiled
//! modules), [`instance`] (stores and calls), [`term_abi`] (the guest term
//! ABI), [`values`] (numbers across the boundary) and [`trap`] (errors).

mod atoms;
mod budget;
mod call;
pub mod engine;
mod epoch;
mod fast_path;
mod host_fun;
pub mod instance;
mod instantiation;
mod live_count;
pub mod module;
mod module_cache;
mod output;
pub mod printf;
mod reaper;
mod regular_file;
mod slicing;
pub mod term_abi;
pub mod trap;
pub mod values;

use rustler::{Binary, Encoder, Env, NifResult, ResourceArc, Term};

use instance::WasmInstance;
use module::WasmModule;

/// `{ok, Module} | {error, Reason}` for wasm or WAT bytes. `cache` is
/// `undefined` or `{Dir, Sha256Hex}` of the bytes. Compiling can take far
/// longer than a millisecond, so it runs on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn compile_module<'a>(
    env: Env<'a>,
    bytes: Binary<'a>,
    fuel: bool,
    cache: Term<'a>,
) -> NifResult<Term<'a>> {
    let metering = if fuel {
        engine::Metering::Fuel
    } else {
        engine::Metering::Off
    };
    let cache = match cache.decode::<(String, String)>() {
        Ok((dir, digest)) => Some(
            module_cache::CacheEntry::new(
                std::path::Path::new(&dir),
                &digest,
                engine::engine(metering),
                metering,
            )
            .ok_or(rustler::Error::BadArg)?,
        ),
        Err(_) if cache.is_atom() => None,
        Err(error) => return Err(error),
    };
    Ok(
        match module::compile(bytes.as_slice().to_vec(), metering, cache) {
            Ok(module) => (atoms::ok(), ResourceArc::new(module)).encode(env),
            Err(reason) => (atoms::error(), reason).encode(env),
        },
    )
}

/// `{ok, Instance} | {error, Reason}`. `options` is a map of the options
/// given (checked in Erlang); those missing take their defaults here.
#[rustler::nif]
fn instantiate_module<'a>(
    env: Env<'a>,
    module: ResourceArc<WasmModule>,
    options: Term<'a>,
    imports: Vec<instance::OfferedImport<'a>>,
) -> NifResult<Term<'a>> {
    let defaults = instance::Options::default();
    let size = |key, default| match options.map_get(key) {
        Ok(value) => value.decode::<usize>(),
        Err(_) => Ok(default),
    };
    let limit = |key| {
        options
            .map_get(key)
            .unwrap_or(atoms::default().to_term(env))
    };
    let options = instance::Options {
        process_bound: match options.map_get(atoms::process_bound()) {
            Ok(value) => value.decode()?,
            Err(_) => defaults.process_bound,
        },
        max_memory: size(atoms::max_memory(), defaults.max_memory)?,
        max_table_elements: size(atoms::max_table_elements(), defaults.max_table_elements)?,
        max_memories: size(atoms::max_memories(), defaults.max_memories)?,
        max_tables: size(atoms::max_tables(), defaults.max_tables)?,
        limits: call::Limits {
            timeout: call::timeout_of(limit(atoms::timeout()), None)?,
            fuel: call::fuel_of(limit(atoms::fuel()), None)?,
        },
    };
    if let (Some(units), engine::Metering::Off) = (options.limits.fuel, module.metering) {
        return Err(instance::raise((
            atoms::bad_option(),
            (atoms::fuel(), units),
        )));
    }
    let owner = options.process_bound.then(|| env.pid());
    Ok(instantiation::instantiate(
        env, module, owner, &options, &imports,
    ))
}

/// Resumes a call whose guest called an Erlang import, with the fun's
/// `{ok, Value}` or `{raised, Class, Reason, Stack}`.
#[rustler::nif]
fn host_return<'a>(
    env: Env<'a>,
    call: ResourceArc<call::SuspendedCall>,
    carried: Term<'a>,
    reply: Term<'a>,
) -> NifResult<Term<'a>> {
    call::host_return(env, call, carried, reply)
}

/// Runs the next slice of a call parked while its output was printed.
#[rustler::nif]
fn resume<'a>(env: Env<'a>, call: Term<'a>, carried: Term<'a>) -> NifResult<Term<'a>> {
    call::continue_call(env, call, carried)
}

/// Frees an instance's store now; see `WasmInstance::release`.
#[rustler::nif]
fn release(env: Env, instance: ResourceArc<WasmInstance>) -> NifResult<rustler::Atom> {
    instance.release(env)?;
    Ok(atoms::ok())
}

/// `{ok, Bytes} | {error, Reason}`: the regular file at `path` (the OS's
/// bytes for the name), if it holds at most `max` bytes.
#[rustler::nif(schedule = "DirtyIo")]
fn read_module_file<'a>(env: Env<'a>, path: Binary<'a>, max: u64) -> Term<'a> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.as_slice()));
    match regular_file::read_binary(env, path, max) {
        Ok(bytes) => (atoms::ok(), bytes).encode(env),
        Err(reason) => (atoms::error(), reason).encode(env),
    }
}

/// Takes the caller out of the instance's queue after its wait timed out.
#[rustler::nif]
fn leave_queue(env: Env, instance: ResourceArc<WasmInstance>) -> rustler::Atom {
    WasmInstance::leave_queue(&instance, env);
    atoms::ok()
}

#[rustler::nif]
fn call_raw<'a>(
    env: Env<'a>,
    instance: ResourceArc<WasmInstance>,
    name: Term<'a>,
    arguments: Term<'a>,
    limits: Term<'a>,
) -> NifResult<Term<'a>> {
    call::call(env, instance, call::Abi::Raw, name, arguments, limits)
}

#[rustler::nif]
fn call<'a>(
    env: Env<'a>,
    instance: ResourceArc<WasmInstance>,
    name: Term<'a>,
    arguments: Term<'a>,
    limits: Term<'a>,
) -> NifResult<Term<'a>> {
    call::call(env, instance, call::Abi::Terms, name, arguments, limits)
}

/// The exports of a module, or of an instance's module.
#[rustler::nif]
fn module_exports<'a>(env: Env<'a>, module_or_instance: Term<'a>) -> NifResult<Term<'a>> {
    if let Ok(module) = module_or_instance.decode::<ResourceArc<WasmModule>>() {
        return Ok(module::exports(env, &module.module));
    }
    let instance: ResourceArc<WasmInstance> = module_or_instance.decode()?;
    Ok(module::exports(env, &instance.module().module))
}

/// `#{modules => N, instances => N, calls => N}`: how many are alive right
/// now (`calls`: calls suspended between two slices).
#[rustler::nif]
fn live_counts(env: Env) -> Term {
    let map = rustler::Term::map_new(env);
    map.map_put(atoms::modules(), live_count::get(&live_count::MODULES))
        .and_then(|m| m.map_put(atoms::instances(), live_count::get(&live_count::INSTANCES)))
        .and_then(|m| {
            m.map_put(
                atoms::calls(),
                live_count::get(&live_count::SUSPENDED_CALLS),
            )
        })
        .and_then(|m| {
            let used = budget::used();
            m.map_put(atoms::mappings(), used.mappings)?
                .map_put(atoms::address_space(), used.address_space)
        })
        .and_then(|m| match budget::ceiling() {
            Some(max) => m
                .map_put(atoms::max_mappings(), max.mappings)?
                .map_put(atoms::max_address_space(), max.address_space),
            None => m
                .map_put(atoms::max_mappings(), atoms::infinity())?
                .map_put(atoms::max_address_space(), atoms::infinity()),
        })
        .expect("putting new keys into a map cannot fail")
}

/// `info` is `#{max_wasm_stack => Bytes, instance_pool_size => N}`, each
/// optional, from the application environment.
fn load(_env: Env, info: Term) -> bool {
    let defaults = engine::Settings::default();
    let settings = engine::Settings {
        max_wasm_stack: info
            .map_get(atoms::max_wasm_stack())
            .and_then(|t| t.decode::<usize>())
            .unwrap_or(defaults.max_wasm_stack),
        instance_pool: info
            .map_get(atoms::instance_pool_size())
            .and_then(|t| t.decode::<u32>())
            .ok(),
    };
    let max_mappings = info
        .map_get(atoms::max_instance_mappings())
        .and_then(|t| t.decode::<u64>())
        .ok();
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
