//! Compiled modules: compile once, then instantiate cheaply from an `InstancePre`.

use rustler::{Encoder, Env, Resource, Term};
use wasmtime::{ExternType, FuncType, InstancePre, Module, ValType};

use crate::atoms;
use crate::engine::{self, Metering};
use crate::host_fun::HostImport;
use crate::live_count;
use crate::module_cache::CacheEntry;
use crate::term_abi::{self, HostState};
use crate::values::{type_name, NumType};

/// Stack of the thread that compiles a module. Parsing WAT and validating
/// deeply nested code recurse; a dirty scheduler's stack (320 KiB by default)
/// is too small to trust with hostile input.
const COMPILE_THREAD_STACK: usize = 16 * 1024 * 1024;

pub struct WasmModule {
    pub module: Module,
    /// Ready to instantiate when the module needs only the term ABI; `None`
    /// when it has host imports, which are linked per instance.
    pub pre: Option<InstancePre<HostState>>,
    pub host_imports: Vec<HostImport>,
    pub metering: Metering,
    /// Whether instances may allocate a GC heap (GC types, exceptions).
    pub gc_heap: bool,
    _live: live_count::Token,
}

#[rustler::resource_impl]
impl Resource for WasmModule {}

/// Why a module cannot be used; each becomes an `{error, Reason}` term.
#[derive(Debug)]
pub enum CompileError {
    Invalid(String),
    UnknownImport {
        module: String,
        name: String,
        kind: &'static str,
    },
    ImportTypeMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    UnsupportedImport {
        module: String,
        name: String,
        signature: String,
    },
    /// One import name with two function types: one fun cannot be both.
    ImportTypeConflict {
        module: String,
        name: String,
        first: String,
        second: String,
    },
    Link(String),
}

impl Encoder for CompileError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            CompileError::Invalid(msg) => (atoms::invalid_module(), msg.as_str()).encode(env),
            CompileError::UnknownImport { module, name, kind } => {
                let kind = rustler::Atom::from_str(env, kind).expect("extern kinds are atoms");
                (
                    atoms::unknown_import(),
                    module.as_str(),
                    name.as_str(),
                    kind,
                )
                    .encode(env)
            }
            CompileError::ImportTypeMismatch {
                name,
                expected,
                actual,
            } => (
                atoms::import_type_mismatch(),
                name.as_str(),
                expected.as_str(),
                actual.as_str(),
            )
                .encode(env),
            CompileError::UnsupportedImport {
                module,
                name,
                signature,
            } => (
                atoms::unsupported_import_signature(),
                module.as_str(),
                name.as_str(),
                signature.as_str(),
            )
                .encode(env),
            CompileError::ImportTypeConflict {
                module,
                name,
                first,
                second,
            } => (
                atoms::import_type_conflict(),
                module.as_str(),
                name.as_str(),
                first.as_str(),
                second.as_str(),
            )
                .encode(env),
            CompileError::Link(msg) => (atoms::link_error(), msg.as_str()).encode(env),
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

fn extern_kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "func",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Tag(_) => "tag",
    }
}

/// Checks every import: term-ABI imports must have their ABI type, other
/// function imports become host imports (Erlang funs given at
/// instantiation), and anything else cannot be provided at all.
fn check_imports(module: &Module) -> Result<Vec<HostImport>, CompileError> {
    let mut host_imports: Vec<HostImport> = Vec::new();
    // Where each host import's name came first, to find repeats at once.
    let mut by_name = std::collections::HashMap::new();
    for import in module.imports() {
        let ty = import.ty();
        let ExternType::Func(actual) = &ty else {
            return Err(CompileError::UnknownImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
                kind: extern_kind(&ty),
            });
        };
        let abi = (import.module() == term_abi::IMPORT_MODULE)
            .then(|| {
                term_abi::IMPORTS
                    .iter()
                    .find(|(name, _, _)| *name == import.name())
            })
            .flatten();
        if let Some((name, params, results)) = abi {
            let expected = FuncType::new(
                module.engine(),
                params.iter().cloned(),
                results.iter().cloned(),
            );
            if !FuncType::eq(&expected, actual) {
                return Err(CompileError::ImportTypeMismatch {
                    name: name.to_string(),
                    expected: signature(&expected),
                    actual: signature(actual),
                });
            }
            continue;
        }
        let numeric = |tys: &mut dyn Iterator<Item = ValType>| {
            tys.map(|t| NumType::of(&t))
                .collect::<Option<Box<[NumType]>>>()
        };
        // A module may import one name more than once: one fun serves all
        // of them, if they agree on the type.
        if let Some(&at) = by_name.get(&(import.module(), import.name())) {
            let earlier: &HostImport = &host_imports[at];
            if FuncType::eq(&earlier.ty, actual) {
                continue;
            }
            return Err(CompileError::ImportTypeConflict {
                module: import.module().to_string(),
                name: import.name().to_string(),
                first: signature(&earlier.ty),
                second: signature(actual),
            });
        }
        let (Some(params), Some(results)) = (
            numeric(&mut actual.params()),
            numeric(&mut actual.results()),
        ) else {
            return Err(CompileError::UnsupportedImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
                signature: signature(actual),
            });
        };
        by_name.insert((import.module(), import.name()), host_imports.len());
        host_imports.push(HostImport {
            module: import.module().to_string(),
            name: import.name().to_string(),
            ty: actual.clone(),
            params,
            results,
        });
    }
    Ok(host_imports)
}

/// Whether a reference type holds GC references (anything but functions):
/// a table or global of such references gets a GC heap at instantiation.
fn gc_ref(ty: wasmparser::RefType) -> bool {
    use wasmparser::{AbstractHeapType, HeapType};
    !matches!(
        ty.heap_type(),
        HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        } | HeapType::Concrete(_)
            | HeapType::Exact(_)
    )
}

/// Whether `op` belongs to the GC proposal. Wasmtime gives a GC heap to
/// instances of modules whose code uses its GC support, which some of these
/// do even with no GC type declared (`array.len` works on any `arrayref`).
macro_rules! define_is_gc_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        #[allow(unreachable_patterns)]
        fn is_gc_operator(op: &wasmparser::Operator) -> bool {
            match op {
                $( wasmparser::Operator::$op { .. } => stringify!($proposal) == "gc", )*
                _ => false,
            }
        }
    };
}
wasmparser::for_each_operator!(define_is_gc_operator);

/// Whether a function body uses GC operators; an unreadable one does.
fn uses_gc_operators(body: &wasmparser::FunctionBody) -> bool {
    let Ok(mut operators) = body.get_operators_reader() else {
        return true;
    };
    while !operators.eof() {
        match operators.read() {
            Ok(op) if is_gc_operator(&op) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Whether instances of a module may need a GC heap, which maps memory of
/// its own: it defines structs, arrays or exception tags, or tables,
/// globals or element segments of GC references (measured: an `externref`
/// table or global reserves a GC heap at instantiation), or its code uses
/// GC operators. Concrete reference types name struct and array types,
/// caught with the types. `binary` is valid wasm or will be refused by the
/// compiler; whatever it holds, the answer errs on the side of yes.
fn needs_gc_heap(binary: &[u8]) -> bool {
    use wasmparser::{CompositeInnerType, ElementItems, Parser, Payload, ValType};
    let gc_val = |ty: ValType| matches!(ty, ValType::Ref(r) if gc_ref(r));
    for payload in Parser::new(0).parse_all(binary) {
        let gc = match payload {
            Ok(Payload::TypeSection(types)) => types.into_iter().any(|group| {
                group.map_or(true, |group| {
                    group
                        .types()
                        .any(|ty| !matches!(ty.composite_type.inner, CompositeInnerType::Func(_)))
                })
            }),
            Ok(Payload::TagSection(_)) => true,
            Ok(Payload::TableSection(tables)) => tables
                .into_iter()
                .any(|t| t.map_or(true, |t| gc_ref(t.ty.element_type))),
            Ok(Payload::GlobalSection(globals)) => globals
                .into_iter()
                .any(|g| g.map_or(true, |g| gc_val(g.ty.content_type))),
            Ok(Payload::ElementSection(elements)) => elements.into_iter().any(|e| {
                e.map_or(
                    true,
                    |e| matches!(e.items, ElementItems::Expressions(ty, _) if gc_ref(ty)),
                )
            }),
            Ok(Payload::CodeSectionEntry(body)) => uses_gc_operators(&body),
            Ok(_) => false,
            Err(_) => true,
        };
        if gc {
            return true;
        }
    }
    false
}

fn compile_here(
    bytes: &[u8],
    metering: Metering,
    cache: Option<CacheEntry>,
) -> Result<WasmModule, CompileError> {
    let engine = engine::engine(metering);
    let binary = wat::parse_bytes(bytes).map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
    let gc_heap = needs_gc_heap(&binary);
    let module = match cache.as_ref().and_then(|entry| entry.load(engine)) {
        Some(module) => module,
        None => {
            let module = Module::from_binary(engine, &binary)
                .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
            if let Some(entry) = &cache {
                entry.store(&module);
            }
            module
        }
    };
    let host_imports = check_imports(&module)?;
    let pre = if host_imports.is_empty() {
        let pre = engine::linker(metering)
            .instantiate_pre(&module)
            .map_err(|e| CompileError::Link(format!("{e:#}")))?;
        Some(pre)
    } else {
        None
    };
    Ok(WasmModule {
        module,
        pre,
        host_imports,
        metering,
        gc_heap,
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

/// `[{Name, {func, Params, Results}} | {Name, memory | table | global | tag}]`.
pub fn exports<'a>(env: Env<'a>, module: &Module) -> Term<'a> {
    let items: Vec<Term<'a>> = module
        .exports()
        .map(|export| {
            let name = export.name().encode(env);
            let ty = export.ty();
            let desc = match &ty {
                ExternType::Func(f) => {
                    let params: Vec<_> = f.params().map(|t| type_atom(env, &t)).collect();
                    let results: Vec<_> = f.results().map(|t| type_atom(env, &t)).collect();
                    (atoms::func(), params, results).encode(env)
                }
                other => rustler::Atom::from_str(env, extern_kind(other))
                    .expect("extern kinds are atoms")
                    .encode(env),
            };
            (name, desc).encode(env)
        })
        .collect();
    items.encode(env)
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
        assert_eq!(host.host_imports[0].label(), "env.log");
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
    fn what_needs_a_gc_heap_is_found() {
        let needs = |wat: &str| needs_gc_heap(&wat::parse_str(wat).unwrap());
        assert!(!needs(
            "(module (memory 1) (table 1 funcref) (func (drop (ref.null func))))"
        ));
        assert!(needs("(module (table 1 externref))"));
        assert!(needs("(module (global (mut anyref) (ref.null any)))"));
        assert!(needs("(module (type (array i8)))"));
        assert!(needs("(module (tag))"));
        assert!(needs("(module (elem externref (ref.null extern)))"));
        // No GC type, table or global: only the code says so.
        assert!(needs(
            "(module (func (result i32) (array.len (ref.null array))))"
        ));
        assert!(!needs(
            "(module (func (result i32) (ref.is_null (ref.null extern))))"
        ));
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
