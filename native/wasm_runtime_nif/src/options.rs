//! Options as they cross the NIF boundary: maps read by key. The Erlang side
//! (`wasm_runtime_nif_options.erl`) checks every option the user gives and
//! passes only those; a key that is missing takes its default from
//! `limits.rs`. A value of the wrong shape here is a bug of the Erlang side,
//! and raises `badarg`.

use std::time::Duration;

use rustler::{NifResult, Term};

use crate::atoms;
use crate::engine::Settings;
use crate::error::bad_option;
use crate::kept_funs::KeptFuns;
use crate::limits::{
    CallLimits, Metering, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_MEMORIES, DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_TABLES, DEFAULT_MAX_TABLE_ELEMENTS, DEFAULT_MAX_WASM_STACK,
};
use crate::wasi::stdio::Mode;
use crate::wasi::{Preopen, WasiOptions};

/// The value of `key` in `map`, decoded, or `default` when it is absent.
fn get<'a, T: rustler::Decoder<'a>>(map: Term<'a>, key: rustler::Atom, default: T) -> NifResult<T> {
    match map.map_get(key) {
        Ok(value) => value.decode(),
        Err(_) if map.is_map() => Ok(default),
        Err(error) => Err(error),
    }
}

/// `infinity` or a number, for a limit that may be off.
fn limit<'a, T: rustler::Decoder<'a>>(
    map: Term<'a>,
    key: rustler::Atom,
    default: Option<T>,
) -> NifResult<Option<T>> {
    let Ok(value) = map.map_get(key) else {
        return Ok(default);
    };
    if value
        .decode::<rustler::Atom>()
        .is_ok_and(|a| a == atoms::infinity())
    {
        return Ok(None);
    }
    value.decode().map(Some)
}

/// `#{timeout => Ms | infinity, fuel => Units | infinity}`, each key
/// optional: limits of a call, or an instance's defaults for its calls.
/// Fuel is refused for a module compiled without metering.
pub fn call_limits(map: Term, defaults: CallLimits, metering: Metering) -> NifResult<CallLimits> {
    if map.map_size()? == 0 {
        return Ok(defaults);
    }
    let limits = CallLimits {
        timeout: limit(
            map,
            atoms::timeout(),
            defaults.timeout.map(|t| t.as_millis() as u64),
        )?
        .map(Duration::from_millis),
        fuel: limit(map, atoms::fuel(), defaults.fuel)?,
    };
    match (limits.fuel, metering) {
        (Some(units), Metering::Off) => Err(bad_option(atoms::fuel(), units)),
        _ => Ok(limits),
    }
}

/// What `instantiate/2` can set.
pub struct InstanceOptions {
    pub process_bound: bool,
    pub max_memory: usize,
    pub max_table_elements: usize,
    pub max_memories: usize,
    pub max_tables: usize,
    /// Limits of a call that gives none, and of the start function.
    pub limits: CallLimits,
    /// What a module that imports WASI gets; nothing when absent.
    pub wasi: WasiOptions,
}

/// The instance options in `map`: `process_bound`, `max_memory`,
/// `max_table_elements`, `max_memories`, `max_tables`, `timeout`, `fuel`.
pub fn instance_options(map: Term, metering: Metering) -> NifResult<InstanceOptions> {
    Ok(InstanceOptions {
        process_bound: get(map, atoms::process_bound(), false)?,
        max_memory: get(map, atoms::max_memory(), DEFAULT_MAX_MEMORY)?,
        max_table_elements: get(map, atoms::max_table_elements(), DEFAULT_MAX_TABLE_ELEMENTS)?,
        max_memories: get(map, atoms::max_memories(), DEFAULT_MAX_MEMORIES)?,
        max_tables: get(map, atoms::max_tables(), DEFAULT_MAX_TABLES)?,
        limits: call_limits(map, CallLimits::default(), metering)?,
        wasi: match map.map_get(atoms::wasi()) {
            Ok(wasi) => wasi_options(wasi)?,
            Err(_) => WasiOptions::default(),
        },
    })
}

/// `#{args => [Bin], env => [{Bin, Bin}], stdin => Bin, preopens =>
/// [{HostPath, GuestPath, Writable}], stdout => Output, stderr => Output}`,
/// each key optional, where `Output` is `discard`, `{capture, Bytes}` or
/// `{stream, Fun}`.
fn wasi_options(map: Term) -> NifResult<WasiOptions> {
    use std::os::unix::ffi::OsStrExt;
    // An output's mode, and its fun when it is streamed.
    let output = |key| -> NifResult<(Mode, Option<Term>)> {
        let Ok(value) = map.map_get(key) else {
            return Ok((Mode::default(), None));
        };
        if value
            .decode::<rustler::Atom>()
            .is_ok_and(|a| a == atoms::discard())
        {
            return Ok((Mode::Discard, None));
        }
        let (tag, arg): (rustler::Atom, Term) = value.decode()?;
        if tag == atoms::capture() {
            return Ok((Mode::Capture(arg.decode()?), None));
        }
        match tag == atoms::stream() && arg.get_type() == rustler::TermType::Fun {
            true => Ok((Mode::Stream, Some(arg))),
            false => Err(rustler::Error::BadArg),
        }
    };
    let (stdout, stdout_fun) = output(atoms::stdout())?;
    let (stderr, stderr_fun) = output(atoms::stderr())?;
    let funs = (stdout_fun.is_some() || stderr_fun.is_some()).then(|| {
        let none = atoms::none().to_term(map.get_env());
        KeptFuns::new(&[stdout_fun.unwrap_or(none), stderr_fun.unwrap_or(none)])
    });
    let preopens: Vec<(rustler::Binary, String, bool)> = get(map, atoms::preopens(), Vec::new())?;
    Ok(WasiOptions {
        args: get(map, atoms::args(), Vec::new())?,
        env: get(map, atoms::env(), Vec::new())?,
        stdin: match map.map_get(atoms::stdin()) {
            Ok(bytes) => bytes.decode::<rustler::Binary>()?.as_slice().to_vec(),
            Err(_) => Vec::new(),
        },
        preopens: preopens
            .into_iter()
            .map(|(host, guest, writable)| Preopen {
                host: std::ffi::OsStr::from_bytes(host.as_slice()).into(),
                guest,
                writable,
            })
            .collect(),
        stdout,
        stderr,
        funs,
    })
}

/// What `compile/2` can set.
pub struct CompileOptions {
    pub metering: Metering,
    /// The cache directory and the SHA-256 of the module's bytes, in hex.
    pub cache: Option<(String, String)>,
}

/// `#{fuel => boolean(), cache => {Dir, Sha256Hex}}`, each key optional.
pub fn compile_options(map: Term) -> NifResult<CompileOptions> {
    let metering = match get(map, atoms::fuel(), false)? {
        true => Metering::Fuel,
        false => Metering::Off,
    };
    let cache = match map.map_get(atoms::cache()) {
        Ok(entry) => Some(entry.decode::<(String, String)>()?),
        Err(_) => None,
    };
    Ok(CompileOptions { metering, cache })
}

/// `#{max_file_size => Bytes}`, the key optional.
pub fn max_file_size(map: Term) -> NifResult<u64> {
    get(map, atoms::max_file_size(), DEFAULT_MAX_FILE_SIZE)
}

/// The engine's settings from the application environment, given to the
/// load callback as `#{max_wasm_stack => Bytes, instance_pool_size => N,
/// max_instance_mappings => N, test_hooks => true}`, each optional; what
/// is not of that shape is ignored.
pub fn engine_settings(map: Term) -> (Settings, Option<u64>) {
    let given = |key| map.map_get(key).ok();
    let settings = Settings {
        max_wasm_stack: given(atoms::max_wasm_stack())
            .and_then(|t| t.decode::<usize>().ok())
            .unwrap_or(DEFAULT_MAX_WASM_STACK),
        instance_pool: given(atoms::instance_pool_size()).and_then(|t| t.decode::<u32>().ok()),
        test_hooks: given(atoms::test_hooks()).is_some_and(|t| t.decode::<bool>().unwrap_or(false)),
    };
    let max_mappings = given(atoms::max_instance_mappings()).and_then(|t| t.decode::<u64>().ok());
    (settings, max_mappings)
}
