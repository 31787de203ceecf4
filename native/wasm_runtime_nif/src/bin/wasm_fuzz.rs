//! The fuzzing campaign's generator and reference (`make fuzz`, and the
//! bounded campaign of `make test`; see docs/fuzzing.md).
//!
//! `wasm_fuzz batch SEED COUNT DIR` writes COUNT random valid modules
//! (wasm-smith, under a rotation of generator profiles) to `DIR/m<i>.wasm`,
//! and beside each a plan, `DIR/m<i>.plan`, that `file:consult/1` reads:
//! the module's imports, and calls with random arguments to every exported
//! function together with what plain Wasmtime (synchronous, no slicing, no
//! epochs, fuel only to bound loops) made of them. The Erlang driver runs
//! the same calls through the library and compares.
//!
//! Imports are functions of a fixed set of names and types; each answers
//! with a value computed from its first argument the same way on both
//! sides (`answer` here, `answer/2` in fuzz/wasm_fuzz.erl).

use std::fmt::Write as _;
use std::path::Path;

use arbitrary::Unstructured;
use wasm_runtime_nif::for_fuzzing::{
    placeholder, type_name, wasi_functions, InstanceLimits, NumType, TrapReason,
};
use wasmtime::{
    Config, Engine, ExternType, Func, FuncType, Instance, Linker, Module, Store, Val, ValType,
};

/// Fuel for a start function or a call: enough for real work, far less
/// than an endless loop.
const FUEL: u64 = 20_000_000;
/// Calls planned per exported function.
const CALLS_PER_EXPORT: usize = 4;
/// Most functions called per module.
const MAX_EXPORTS_CALLED: usize = 12;

/// The imports a generated module may have: every one a function the
/// Erlang driver provides as a fun. "raise" funs raise.
const IMPORTS: &str = r#"(module
  (import "env" "i32" (func (param i32) (result i32)))
  (import "env" "i64" (func (param i64) (result i64)))
  (import "env" "f32" (func (param f32) (result f32)))
  (import "env" "f64" (func (param f64) (result f64)))
  (import "env" "void" (func))
  (import "env" "mixed" (func (param i32 i64 f32 f64) (result i64 i32)))
  (import "env" "many" (func (param i64 i64 i64 i64 i64 i64) (result f64 f32 i32)))
  (import "host" "raise" (func (param i32) (result i32))))"#;

/// The WASI module name: modules of the "wasi" profile import from it.
const WASI: &str = "wasi_snapshot_preview1";

/// Bytes at the start of a "wasi" module's memory: paths that stay inside
/// the preopen and paths that try to leave it, then random bytes; with
/// arrays of buffers (`iovec`s) pointing into the memory, past it, and at
/// huge lengths written over them at random offsets.
fn wasi_memory(rng: &mut Rng) -> Vec<u8> {
    let mut memory = b"a\0b/c\0..\0../x\0/etc/passwd\0.\0a/../../y\0\0".to_vec();
    memory.extend(rng.bytes(4096 - memory.len()));
    for _ in 0..16 {
        let at = 64 + 8 * rng.below(500) as usize;
        let address = [rng.below(65536) as u32, 0x10000 - 1, 0xffff_fff0][rng.below(3) as usize];
        let length = [rng.below(64) as u32, 4096, 1 << 20, u32::MAX][rng.below(4) as usize];
        memory[at..at + 4].copy_from_slice(&address.to_le_bytes());
        memory[at + 4..at + 8].copy_from_slice(&length.to_le_bytes());
    }
    memory
}

/// A WASI argument: descriptors that exist and do not, addresses inside
/// and at the edge of the memory, lengths small and absurd, flags.
fn wasi_argument(ty: &ValType, rng: &mut Rng) -> String {
    // Mostly small values: flags and enums past their few bits make the
    // call trap before it does anything, and so end the run of calls.
    let value: i64 = match rng.below(12) {
        0..=4 => rng.below(4) as i64,
        5 => 3 + rng.below(4) as i64,
        6 => rng.below(64) as i64 * 8 + 64,
        7 => rng.below(65536) as i64,
        8 => [0x1_0000 - 4, 0x1_0000, 0x7fff_ffff, -1, -8][rng.below(5) as usize],
        9 => rng.below(64) as i64,
        10 => 1 << rng.below(31),
        _ => rng.next() as i64,
    };
    match ty {
        ValType::I64 => format!("(i64.const {value})"),
        _ => format!("(i32.const {})", value as i32),
    }
}

/// A module that calls WASI functions with hostile arguments: each export
/// makes a run of calls, and returns their errnos summed.
fn wasi_module(rng: &mut Rng, functions: &[(String, FuncType)]) -> Vec<u8> {
    let chosen: Vec<&(String, FuncType)> = (0..4 + rng.below(12))
        .map(|_| &functions[rng.below(functions.len() as u64) as usize])
        .collect();
    let mut text = String::from("(module\n");
    for (index, (name, ty)) in chosen.iter().enumerate() {
        let params: Vec<&str> = ty.params().map(|t| type_name(&t)).collect();
        let results: Vec<&str> = ty.results().map(|t| type_name(&t)).collect();
        let _ = writeln!(
            text,
            "  (import \"{WASI}\" \"{name}\" (func $w{index} (param {}) (result {})))",
            params.join(" "),
            results.join(" ")
        );
    }
    let data: String = wasi_memory(rng)
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    let _ = writeln!(text, "  (memory (export \"memory\") 1 16)");
    let _ = writeln!(text, "  (data (i32.const 0) \"{data}\")");
    for export in 0..1 + rng.below(3) {
        let _ = writeln!(
            text,
            "  (func (export \"run{export}\") (result i32) (i32.const 0)"
        );
        for _ in 0..1 + rng.below(16) {
            let index = rng.below(chosen.len() as u64) as usize;
            let (_, ty) = chosen[index];
            let args: Vec<String> = ty.params().map(|t| wasi_argument(&t, rng)).collect();
            let call = format!("(call $w{index} {})", args.join(" "));
            match ty.results().len() {
                0 => {
                    let _ = writeln!(text, "    {call}");
                }
                _ => {
                    let _ = writeln!(text, "    {call} i32.add");
                }
            }
        }
        let _ = writeln!(text, "  )");
    }
    text.push(')');
    wat::parse_str(&text).expect("a generated WASI module is valid WAT")
}

/// splitmix64: small, fast, and the same stream for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The generator profiles, rotated through module by module.
const PROFILES: &[&str] = &[
    "default",
    "arithmetic",
    "control_flow",
    "memory",
    "multi_memory",
    "tables",
    "bulk",
    "simd",
    "gc",
    "exceptions",
    "memory64",
    "tail_calls",
    "many_imports",
    "start",
    "wasi",
];

fn smith_config(profile: &str, rng: &mut Rng, imports: &[u8]) -> wasm_smith::Config {
    let mut config = wasm_smith::Config {
        available_imports: Some(imports.to_vec()),
        max_imports: 4,
        max_funcs: 12,
        max_exports: 16,
        max_instructions: 200,
        max_memories: 1,
        max_tables: 2,
        max_memory32_bytes: 1 << 22,
        max_memory64_bytes: 1 << 22,
        max_table_elements: 1000,
        canonicalize_nans: true,
        threads_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        tail_call_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        export_everything: rng.below(2) == 0,
        allow_start_export: false,
        ..wasm_smith::Config::default()
    };
    match profile {
        "arithmetic" => {
            config.max_instructions = 1000;
            config.max_memories = 0;
        }
        "control_flow" => {
            config.max_instructions = 2000;
            config.max_nesting_depth = 50;
        }
        "memory" => {
            config.min_memories = 1;
            config.max_data_segments = 20;
            config.max_memory32_bytes = 1 << 26;
        }
        "multi_memory" => {
            config.min_memories = 2;
            config.max_memories = 8;
        }
        "tables" => {
            config.max_tables = 8;
            config.max_table_elements = 100_000;
            config.max_element_segments = 20;
        }
        "bulk" => {
            config.bulk_memory_enabled = true;
            config.min_memories = 1;
            config.max_data_segments = 10;
        }
        "simd" => config.simd_enabled = true,
        "gc" => {
            config.gc_enabled = true;
            config.reference_types_enabled = true;
        }
        "exceptions" => {
            config.exceptions_enabled = true;
            config.max_tags = 4;
        }
        "memory64" => {
            config.memory64_enabled = true;
            config.min_memories = 1;
        }
        "tail_calls" => config.tail_call_enabled = true,
        "many_imports" => {
            config.min_imports = 4;
            config.max_imports = 12;
        }
        "start" => config.allow_start_export = true,
        _ => {}
    }
    config
}

/// Whether the library can call it, or provide it as an import.
fn numeric(ty: &FuncType) -> bool {
    ty.params()
        .chain(ty.results())
        .all(|t| NumType::of(&t).is_some())
}

/// What an import answers: result `k` from the first argument. Integers
/// give integer results `first + k` (wrapped); anything else gives the
/// constant `k + 1`.
fn answer(params: &[Val], types: &[ValType], results: &mut [Val]) {
    let first = match params.first() {
        Some(Val::I32(v)) => Some(i64::from(*v)),
        Some(Val::I64(v)) => Some(*v),
        _ => None,
    };
    for (k, (result, ty)) in results.iter_mut().zip(types).enumerate() {
        let k = k as i64;
        let int = first.map_or(k + 1, |f| f.wrapping_add(k));
        *result = match ty {
            ValType::I32 => Val::I32(int as i32),
            ValType::I64 => Val::I64(int),
            ValType::F32 => Val::F32(((k + 1) as f32).to_bits()),
            _ => Val::F64(((k + 1) as f64).to_bits()),
        };
    }
}

/// An integer of `bits` bits: 0, -1, the extremes or a small one half the
/// time, any other the rest.
fn edge_int(pick: u64, rng: &mut Rng, bits: u32) -> i64 {
    let shift = 64 - bits;
    match pick {
        0 => 0,
        1 => -1,
        2 => i64::MIN >> shift,
        3 => i64::MAX >> shift,
        4 => rng.below(64) as i64,
        _ => (rng.next() as i64) >> shift,
    }
}

/// An argument: edge values half the time.
fn argument(ty: &ValType, rng: &mut Rng) -> Val {
    let pick = rng.below(10);
    match ty {
        ValType::I32 => Val::I32(edge_int(pick, rng, 32) as i32),
        ValType::I64 => Val::I64(edge_int(pick, rng, 64)),
        // NaN as Erlang passes it: the canonical one.
        ValType::F32 => Val::F32(match pick {
            0 => 0f32.to_bits(),
            1 => (-0f32).to_bits(),
            2 => 0x7fc0_0000,
            3 => f32::INFINITY.to_bits(),
            4 => (rng.below(1000) as f32 / 7.0).to_bits(),
            _ => {
                let bits = rng.next() as u32;
                if f32::from_bits(bits).is_nan() {
                    0x7fc0_0000
                } else {
                    bits
                }
            }
        }),
        _ => Val::F64(match pick {
            0 => 0f64.to_bits(),
            1 => (-0f64).to_bits(),
            2 => 0x7ff8_0000_0000_0000,
            3 => f64::NEG_INFINITY.to_bits(),
            4 => (rng.below(1000) as f64 / 7.0).to_bits(),
            _ => {
                let bits = rng.next();
                if f64::from_bits(bits).is_nan() {
                    0x7ff8_0000_0000_0000
                } else {
                    bits
                }
            }
        }),
    }
}

/// A value in Erlang's term syntax: integers signed, floats as their bits.
fn value_term(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => format!("{{f32,{bits}}}"),
        Val::F64(bits) => format!("{{f64,{bits}}}"),
        _ => "undefined".into(),
    }
}

fn values_term(vals: &[Val]) -> String {
    let items: Vec<String> = vals.iter().map(value_term).collect();
    format!("[{}]", items.join(","))
}

fn binary_term(bytes: &[u8]) -> String {
    let items: Vec<String> = bytes.iter().map(u8::to_string).collect();
    format!("<<{}>>", items.join(","))
}

/// `{trap, Kind}` (the library's kind names), `exhausted` (out of fuel:
/// the driver cannot compare), or `{error, Message}`.
fn failure_term(error: &wasmtime::Error) -> String {
    match TrapReason::of_guest(error) {
        Some(trap) if trap.kind == "out_of_fuel" => "exhausted".into(),
        Some(trap) => format!("{{trap,{}}}", trap.kind),
        None => format!("{{error,{}}}", binary_term(format!("{error:#}").as_bytes())),
    }
}

/// `{ok, Values}`, or the failure.
fn outcome_term(result: &wasmtime::Result<Vec<Val>>) -> String {
    match result {
        Ok(values) => format!("{{ok,{}}}", values_term(values)),
        Err(error) => failure_term(error),
    }
}

/// Plain Wasmtime, with the library's default limits on memories and
/// tables (a growth the library refuses is refused here too).
struct Reference {
    store: Store<InstanceLimits>,
    instance: Option<Instance>,
}

fn linker(engine: &Engine, module: &Module) -> wasmtime::Result<Linker<InstanceLimits>> {
    let mut linker = Linker::new(engine);
    let mut defined = std::collections::HashSet::new();
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        if !numeric(&ty) || !defined.insert((import.module(), import.name())) {
            continue;
        }
        let raises = import.module() == "host";
        let types: Vec<ValType> = ty.results().collect();
        linker.func_new(
            import.module(),
            import.name(),
            ty,
            move |_, params, results| {
                if raises {
                    wasmtime::bail!("the import raised");
                }
                answer(params, &types, results);
                Ok(())
            },
        )?;
    }
    Ok(linker)
}

impl Reference {
    fn instantiate(
        engine: &Engine,
        linker: &Linker<InstanceLimits>,
        module: &Module,
    ) -> (Self, String) {
        let mut store = Store::new(engine, InstanceLimits::default());
        store.limiter(|limits| limits);
        store.set_fuel(FUEL).expect("fuel is on");
        let result = linker.instantiate(&mut store, module);
        let outcome = match &result {
            Ok(_) => "ok".into(),
            Err(error) => failure_term(error),
        };
        (
            Reference {
                store,
                instance: result.ok(),
            },
            outcome,
        )
    }

    fn call(&mut self, func: &Func, args: &[Val]) -> wasmtime::Result<Vec<Val>> {
        self.store.set_fuel(FUEL)?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty
            .results()
            .filter_map(|t| NumType::of(&t).map(placeholder))
            .collect();
        func.call(&mut self.store, args, &mut results)?;
        Ok(results)
    }
}

fn plan(wasm: &[u8], profile: &str, rng: &mut Rng) -> String {
    let mut plan = String::new();
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).expect("a plain engine");
    let module = match Module::new(&engine, wasm) {
        Ok(module) => module,
        Err(_) => {
            let _ = writeln!(plan, "{{module,{profile},invalid}}.");
            return plan;
        }
    };
    let _ = writeln!(plan, "{{module,{profile},valid}}.");
    let wasi = module.imports().any(|import| import.module() == WASI);
    if wasi {
        // What WASI does (clocks, random numbers, files) is not the
        // reference's to say: the driver only checks the library's rules.
        let _ = writeln!(plan, "wasi.");
    }
    for import in module.imports().filter(|import| import.module() != WASI) {
        if let ExternType::Func(ty) = import.ty() {
            let types = |tys: &mut dyn Iterator<Item = ValType>| {
                tys.map(|t| type_name(&t).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let _ = writeln!(
                plan,
                "{{import,{},{},[{}],[{}]}}.",
                binary_term(import.module().as_bytes()),
                binary_term(import.name().as_bytes()),
                types(&mut ty.params()),
                types(&mut ty.results())
            );
        }
    }
    let exports: Vec<(String, FuncType)> = module
        .exports()
        .filter_map(|e| match e.ty() {
            ExternType::Func(ty) if numeric(&ty) => Some((e.name().to_string(), ty)),
            _ => None,
        })
        .take(MAX_EXPORTS_CALLED)
        .collect();
    if wasi {
        for (name, ty) in &exports {
            for _ in 0..CALLS_PER_EXPORT {
                let args: Vec<Val> = ty.params().map(|t| argument(&t, rng)).collect();
                let name = binary_term(name.as_bytes());
                let _ = writeln!(plan, "{{call,{name},{},unknown}}.", values_term(&args));
            }
        }
        return plan;
    }
    let Ok(linker) = linker(&engine, &module) else {
        return plan;
    };
    let (mut reference, start) = Reference::instantiate(&engine, &linker, &module);
    let _ = writeln!(plan, "{{start,{start}}}.");
    for (name, ty) in &exports {
        for _ in 0..CALLS_PER_EXPORT {
            let Some(instance) = reference.instance else {
                return plan;
            };
            let Some(func) = instance.get_func(&mut reference.store, name) else {
                break;
            };
            let args: Vec<Val> = ty.params().map(|t| argument(&t, rng)).collect();
            let result = reference.call(&func, &args);
            let _ = writeln!(
                plan,
                "{{call,{},{},{}}}.",
                binary_term(name.as_bytes()),
                values_term(&args),
                outcome_term(&result)
            );
            if result.is_err() {
                // As the library does after a trap: a fresh instance for
                // the calls that follow, on both sides.
                let (fresh, started) = Reference::instantiate(&engine, &linker, &module);
                let _ = writeln!(plan, "{{fresh,{started}}}.");
                reference = fresh;
            }
        }
    }
    plan
}

fn batch(seed: u64, count: u64, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let imports = wat::parse_str(IMPORTS).expect("the import list is valid WAT");
    let wasi_functions = wasi_functions();
    for i in 0..count {
        let mut rng = Rng(seed.wrapping_mul(0x1000_0000_01b3) ^ i);
        let profile = PROFILES[((seed + i) % PROFILES.len() as u64) as usize];
        let len = 1024 + rng.below(16 * 1024) as usize;
        let data = rng.bytes(len);
        let mut wasm = match profile {
            "wasi" => wasi_module(&mut rng, &wasi_functions),
            _ => {
                let config = smith_config(profile, &mut rng, &imports);
                let mut u = Unstructured::new(&data);
                let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
                    continue;
                };
                module.to_bytes()
            }
        };
        // One module in ten has a byte or two changed: often no longer
        // valid, which the library must see as plain Wasmtime does. (Not a
        // WASI module's: a changed import name is neither WASI nor given.)
        if profile != "wasi" && rng.below(10) == 0 {
            for _ in 0..=rng.below(2) {
                let at = rng.below(wasm.len() as u64) as usize;
                wasm[at] = rng.next() as u8;
            }
        }
        std::fs::write(dir.join(format!("m{i}.wasm")), &wasm)?;
        std::fs::write(
            dir.join(format!("m{i}.plan")),
            plan(&wasm, profile, &mut rng),
        )?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: wasm_fuzz batch SEED COUNT DIR";
    match args.as_slice() {
        [_, command, seed, count, dir] if command == "batch" => {
            let (Ok(seed), Ok(count)) = (seed.parse(), count.parse()) else {
                eprintln!("{usage}");
                std::process::exit(2);
            };
            if let Err(error) = batch(seed, count, Path::new(dir)) {
                eprintln!("wasm_fuzz: {error}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
