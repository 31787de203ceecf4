//! Compiled modules: compile once, then instantiate cheaply from an
//! `InstancePre`. What a module imports is sorted out in
//! `module/imports.rs`, whether it needs a GC heap in `module/gc_heap.rs`,
//! and compiled code is kept on disk by `module/cache.rs`.

mod bounded;
pub mod cache;
mod gc_heap;
pub mod imports;
pub mod info;
mod operators;

use std::collections::HashSet;

use rustler::{Encoder, Env, Resource, Term};
use wasmtime::component::Component;
use wasmtime::{ExternType, FuncType, InstancePre, Module};

use crate::atoms;
use crate::component::{self, ComponentCode};
use crate::engine;
use crate::error::CompileError;
use crate::limits::Metering;
use crate::live_count;
use crate::store::data::StoreData;
use crate::values::type_name;
use crate::wasi;
use cache::{CacheEntry, Compiled};
use imports::ErlangImport;

/// Stack of the thread that compiles a module. Parsing WAT and validating
/// deeply nested code recurse; a dirty scheduler's stack (320 KiB by default)
/// is too small to trust with hostile input.
const COMPILE_THREAD_STACK: usize = 16 * 1024 * 1024;

/// What was compiled: a core module or a component.
pub enum Code {
    Module(Module),
    Component(Box<ComponentCode>),
}

pub struct WasmModule {
    pub code: Code,
    /// Ready to instantiate when the module needs only the term ABI; `None`
    /// when it has Erlang imports, which are linked per instance.
    pub pre: Option<InstancePre<StoreData>>,
    pub erlang_imports: Vec<ErlangImport>,
    pub metering: Metering,
    /// Whether instances may allocate a GC heap (GC types, exceptions).
    pub gc_heap: bool,
    /// Whether it imports WASI: its instances get a WASI context.
    pub wasi: bool,
    /// Exported functions that provably finish quickly (`module/bounded.rs`).
    pub bounded_exports: Vec<Box<str>>,
    /// Bytes of its wasm binary.
    pub size: usize,
    _live: live_count::Token,
}

#[rustler::resource_impl]
impl Resource for WasmModule {}

impl WasmModule {
    /// The core module; `None` for a component.
    pub fn core(&self) -> Option<&Module> {
        match &self.code {
            Code::Module(module) => Some(module),
            Code::Component(_) => None,
        }
    }

    pub fn component(&self) -> Option<&ComponentCode> {
        match &self.code {
            Code::Module(_) => None,
            Code::Component(code) => Some(code),
        }
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        match &self.code {
            Code::Module(module) => module.engine(),
            Code::Component(code) => code.component.engine(),
        }
    }
}

/// `(i32, i64) -> (i32)` style rendering of a function type.
pub fn signature(ty: &FuncType) -> String {
    let list = |tys: &mut dyn Iterator<Item = wasmtime::ValType>| {
        tys.map(|t| type_name(&t)).collect::<Vec<_>>().join(", ")
    };
    format!(
        "({}) -> ({})",
        list(&mut ty.params()),
        list(&mut ty.results())
    )
}

/// The code `cache` keeps for these bytes, or what `compile` makes of them,
/// then kept there.
fn cached<C: Compiled>(
    cache: Option<&CacheEntry>,
    engine: &wasmtime::Engine,
    compile: impl FnOnce() -> wasmtime::Result<C>,
) -> Result<C, CompileError> {
    if let Some(code) = cache.and_then(|entry| entry.load(engine)) {
        return Ok(code);
    }
    let code = compile().map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
    if let Some(entry) = cache {
        entry.store(&code);
    }
    Ok(code)
}

fn compile_here(
    bytes: &[u8],
    metering: Metering,
    cache: Option<CacheEntry>,
) -> Result<WasmModule, CompileError> {
    let engine = engine::engine(metering);
    let binary = wat::parse_bytes(bytes).map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
    if component::is_component(&binary) {
        let component = cached(cache.as_ref(), engine, || {
            Component::from_binary(engine, &binary)
        })?;
        let code = component::prepare(component, metering)?;
        return Ok(WasmModule {
            wasi: code.wasi,
            code: Code::Component(Box::new(code)),
            pre: None,
            erlang_imports: Vec::new(),
            metering,
            gc_heap: false,
            bounded_exports: Vec::new(),
            size: binary.len(),
            _live: live_count::Token::new(&live_count::MODULES),
        });
    }
    let gc_heap = gc_heap::needs_gc_heap(&binary);
    let module = cached(cache.as_ref(), engine, || {
        Module::from_binary(engine, &binary)
    })?;
    let erlang_imports = imports::erlang_imports(&module, metering)?;
    let wasi = module.imports().any(|i| i.module() == wasi::IMPORT_MODULE);
    let bounded_exports = bounded::bounded_exports(&binary);
    let pre = if erlang_imports.is_empty() {
        let pre = engine::linker(metering)
            .instantiate_pre(&module)
            .map_err(|e| CompileError::Link(format!("{e:#}")))?;
        Some(pre)
    } else {
        None
    };
    Ok(WasmModule {
        code: Code::Module(module),
        pre,
        erlang_imports,
        metering,
        gc_heap,
        wasi,
        bounded_exports,
        size: binary.len(),
        _live: live_count::Token::new(&live_count::MODULES),
    })
}

/// Compiles wasm or WAT text into a module ready to instantiate, or loads
/// its compiled code from `cache`.
pub fn compile(
    bytes: Vec<u8>,
    metering: Metering,
    cache: Option<CacheEntry>,
) -> Result<WasmModule, CompileError> {
    let worker = std::thread::Builder::new()
        .name("wasm_compile".into())
        .stack_size(COMPILE_THREAD_STACK)
        .spawn(move || compile_here(&bytes, metering, cache))
        .map_err(|e| CompileError::Invalid(format!("cannot start the compiler thread: {e}")))?;
    worker
        .join()
        .unwrap_or_else(|_| Err(CompileError::Invalid("the compiler panicked".into())))
}

/// What `exports/1` lists for a module or a component.
pub fn exports_of<'a>(env: Env<'a>, module: &WasmModule) -> Term<'a> {
    match &module.code {
        Code::Module(module) => exports(env, module),
        Code::Component(code) => component::exports(env, code),
    }
}

/// `[{Name, {func, Params, Results}} | {Name, memory | table | global | tag}]`.
fn exports<'a>(env: Env<'a>, module: &Module) -> Term<'a> {
    let items: Vec<Term<'a>> = module
        .exports()
        .map(|export| (export.name(), extern_type(env, &export.ty())).encode(env))
        .collect();
    items.encode(env)
}

/// What `imports/1` lists: `[{Module, Name, Type, ProvidedBy}]`, where
/// `ProvidedBy` is `term_abi`, `wasi` or `erlang` (a fun must be given at
/// instantiation), for a module or a component.
pub fn imports_of<'a>(env: Env<'a>, module: &WasmModule) -> Term<'a> {
    let core = match &module.code {
        Code::Module(core) => core,
        Code::Component(code) => return component::imports(env, code),
    };
    let erlang: HashSet<(&str, &str)> = module
        .erlang_imports
        .iter()
        .map(|import| (import.module.as_str(), import.name.as_str()))
        .collect();
    let items: Vec<Term<'a>> = core
        .imports()
        .map(|import| {
            let by = if erlang.contains(&(import.module(), import.name())) {
                atoms::erlang()
            } else if import.module() == wasi::IMPORT_MODULE {
                atoms::wasi()
            } else {
                atoms::term_abi()
            };
            let ty = extern_type(env, &import.ty());
            (import.module(), import.name(), ty, by).encode(env)
        })
        .collect();
    items.encode(env)
}

/// `{func, Params, Results}`, or the kind of anything else.
fn extern_type<'a>(env: Env<'a>, ty: &ExternType) -> Term<'a> {
    match ty {
        ExternType::Func(f) => {
            let params: Vec<_> = f.params().map(|t| type_atom(env, &t)).collect();
            let results: Vec<_> = f.results().map(|t| type_atom(env, &t)).collect();
            (atoms::func(), params, results).encode(env)
        }
        other => rustler::Atom::from_str(env, imports::extern_kind(other))
            .expect("extern kinds are atoms")
            .encode(env),
    }
}

fn type_atom<'a>(env: Env<'a>, ty: &wasmtime::ValType) -> Term<'a> {
    rustler::Atom::from_str(env, type_name(ty))
        .expect("type names are atoms")
        .encode(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        engine::init(engine::Settings::default()).unwrap();
    }

    fn compile_plain(bytes: Vec<u8>) -> Result<WasmModule, CompileError> {
        compile(bytes, Metering::Off, None)
    }

    #[test]
    fn compiles_wat_and_rejects_garbage() {
        init();
        assert!(
            compile_plain(b"(module (func (export \"f\") (result i32) i32.const 1))".to_vec())
                .is_ok()
        );
        match compile_plain(b"\0asm\x01\0\0\0garbage".to_vec()) {
            Err(CompileError::Invalid(msg)) => assert!(!msg.is_empty()),
            other => panic!("expected Invalid, got {other:?}", other = other.err()),
        }
        assert!(matches!(
            compile_plain(Vec::new()),
            Err(CompileError::Invalid(_))
        ));
    }

    #[test]
    fn unknown_and_mistyped_imports_are_named() {
        init();
        let host = compile_plain(b"(module (import \"env\" \"log\" (func (param i32))))".to_vec())
            .unwrap();
        assert!(host.pre.is_none(), "host imports are linked per instance");
        assert_eq!(host.erlang_imports[0].label(), "env.log");
        let v128 = compile_plain(b"(module (import \"m\" \"f\" (func (param v128))))".to_vec());
        assert!(matches!(v128, Err(CompileError::UnsupportedImport { .. })));
        let memory = compile_plain(b"(module (import \"env\" \"memory\" (memory 1)))".to_vec());
        assert!(matches!(
            memory,
            Err(CompileError::UnknownImport { kind: "memory", .. })
        ));
        let mistyped = compile_plain(
            b"(module (import \"env\" \"enif_wasm_make_int32\" (func (param i32))))".to_vec(),
        );
        match mistyped {
            Err(CompileError::ImportTypeMismatch {
                name,
                expected,
                actual,
            }) => {
                assert_eq!(name, "enif_wasm_make_int32");
                assert_eq!(expected, "(i32, i32) -> (i64)");
                assert_eq!(actual, "(i32) -> ()");
            }
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn deeply_nested_text_does_not_overflow_the_caller() {
        init();
        let depth = 100_000;
        let wat = format!(
            "(module (func {}{}))",
            "(block ".repeat(depth),
            ")".repeat(depth)
        );
        // Either refused or compiled; what matters is that it returns.
        let _ = compile_plain(wat.into_bytes());
    }
}
