//! Components (the component model): compiled like modules and kept in the
//! same `WasmModule` resource, instantiated with WASI preview 2 and their
//! Erlang imports (`component/link.rs`), called with terms converted by
//! WIT type (`component/convert.rs`), handing out resources as references
//! (`component/handle.rs`). docs/components.md is the user's side.
//!
//! A function is named `name` when the component's world exports it, and
//! `interface#name` when an exported interface does (`test:echo/types@0.1.0
//! #echo-point`); the interface may be given without its version when only
//! one version is exported.

pub mod called;
pub mod convert;
pub mod handle;
pub mod link;
pub mod types;

use std::collections::HashMap;

use rustler::{Encoder, Env, OwnedEnv, Term};
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};
use wasmtime::Engine;

use crate::atoms;
use crate::error::CompileError;
use crate::limits::Metering;
use crate::store::data::StoreData;
use crate::term_abi;
use convert::Atoms;
use link::Import;
use types::ResourceNames;

/// Bytes of values the host may build from one lift of a component's
/// values (a result, an import's arguments): Wasmtime's hostcall fuel, in
/// calls that run on dirty schedulers. Each value is a `Val` of 48 bytes,
/// a `list<u8>`'s bytes included, and a string costs its length: 256 MiB
/// is about 5.6 million values.
pub const MAX_LIFT_BYTES: usize = 256 << 20;

/// The same for calls on normal schedulers of functions that take no large
/// values by their types, and for instantiation: the bound of the WASI
/// calls their guests make (`wasi/bounded.rs`).
pub const NORMAL_SCHEDULER_LIFT_BYTES: usize = crate::wasi::bounded::HOSTCALL_FUEL;

/// Hostcall fuel a result lifted on a normal scheduler may take when its
/// cost is bounded by the memory it is read from (`Lifting::Bounded`):
/// a 2 MiB string is copied and checked in about a millisecond here (a
/// call that makes one, lifts and converts it takes 3.6 ms in all; `make
/// bench`, "a 2 MiB string result").
pub const NORMAL_SCHEDULER_LIFT_FROM_MEMORY: usize = 2 << 20;

/// Longest name that can be an atom, in bytes.
const MAX_ATOM_LEN: usize = 255;

/// The packages of the interfaces `wasmtime-wasi` defines for components.
const WASI_PACKAGES: [&str; 6] = [
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// Whether the interface `name` is one `wasmtime-wasi` defines.
fn is_wasi(name: &str) -> bool {
    WASI_PACKAGES
        .iter()
        .any(|package| name.starts_with(package))
}

/// Whether `binary` (wasm, not text) is a component rather than a module.
pub fn is_component(binary: &[u8]) -> bool {
    wasmparser::Parser::is_component(binary)
}

/// A function a component exports.
pub struct Function {
    /// `name` or `interface#name`, the interface with its version.
    pub name: String,
    pub index: ComponentExportIndex,
    pub params: Vec<(String, Type)>,
    pub results: Vec<Type>,
    /// `func(p: point) -> string`.
    pub signature: String,
    /// Where its calls run.
    pub lifting: Lifting,
}

/// Where a function's calls run, by what lifting its result may cost: the
/// lift cannot yield.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lifting {
    /// On normal schedulers: its result is a few values.
    Small,
    /// On normal schedulers while the instance's memories hold at most
    /// these bytes, on dirty ones past them: its result is strings and
    /// lists of numbers, whose lift costs at most in proportion to the
    /// memory they are read from. A growth past the bound during the call
    /// moves the rest of it to dirty schedulers (`store/data.rs`).
    Bounded(usize),
    /// On dirty schedulers: its result may be large and is not bounded by
    /// memory, or the component's Erlang imports take or give large values.
    Large,
}

impl Lifting {
    /// How lifting values of `types` may cost.
    fn of(types: &[Type]) -> Self {
        if !types.iter().any(types::may_be_large) {
            return Lifting::Small;
        }
        let per_memory_byte = types.iter().try_fold(0usize, |sum, ty| {
            let lift = types::lift(ty).filter(|l| l.values <= types::LARGE_VALUES)?;
            Some(sum.saturating_add(lift.per_memory_byte))
        });
        match per_memory_byte {
            Some(per_byte) if per_byte > 0 => {
                Lifting::Bounded(NORMAL_SCHEDULER_LIFT_FROM_MEMORY / per_byte)
            }
            _ => Lifting::Large,
        }
    }

    /// Whether a call starting with `memory` bytes of memories runs on
    /// dirty schedulers.
    pub fn dirty(self, memory: usize) -> bool {
        match self {
            Lifting::Small => false,
            Lifting::Bounded(bound) => memory > bound,
            Lifting::Large => true,
        }
    }
}

/// A compiled component, ready to instantiate.
pub struct ComponentCode {
    pub component: Component,
    /// Linked with WASI and the Erlang imports' requests.
    pub pre: InstancePre<StoreData>,
    pub functions: Vec<Function>,
    /// Functions by full name, and by name without the interface's version
    /// when that is unambiguous.
    by_name: HashMap<String, usize>,
    /// Functions Erlang funs implement, in the order of their requests.
    pub imports: Vec<Import>,
    pub resources: ResourceNames,
    pub atoms: Atoms,
    /// Whether it imports WASI preview 2: its instances get a context.
    pub wasi: bool,
    /// Whether an Erlang import takes or gives values that may be large.
    pub imports_move_large_values: bool,
}

impl ComponentCode {
    /// The exported function `name` (see the module docs).
    pub fn function(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// A compiled component's functions and imports, linked and ready to
/// instantiate.
pub fn prepare(component: Component, metering: Metering) -> Result<ComponentCode, CompileError> {
    let engine = component.engine().clone();
    let engine = &engine;
    let ty = component.component_type();
    let mut resources = ResourceNames::default();
    let mut names = Vec::new();
    let mut imports = Vec::new();
    let mut wasi = false;
    for (name, item) in ty.imports(engine) {
        let unsupported = |item: &str, what: &str| CompileError::UnsupportedImport {
            module: name.to_owned(),
            name: item.to_owned(),
            signature: what.to_owned(),
        };
        match item.ty {
            ComponentItem::ComponentInstance(instance) if is_wasi(name) => {
                wasi = true;
                name_resources(&instance, engine, &mut resources);
            }
            ComponentItem::ComponentInstance(instance) => {
                name_resources(&instance, engine, &mut resources);
                for (func_name, export) in instance.exports(engine) {
                    match export.ty {
                        ComponentItem::ComponentFunc(func) => {
                            imports.push(import(name, func_name, &func, &resources, &mut names)?)
                        }
                        ComponentItem::Type(_) => {}
                        ComponentItem::Resource(_) => {
                            let why = "resource (resources an Erlang import would define)";
                            return Err(unsupported(func_name, why));
                        }
                        _ => return Err(unsupported(func_name, "an item other than a function")),
                    }
                }
            }
            ComponentItem::ComponentFunc(func) => {
                imports.push(import("", name, &func, &resources, &mut names)?)
            }
            ComponentItem::Type(_) => {}
            _ => {
                return Err(unsupported(
                    "",
                    "an item other than a function or an interface",
                ))
            }
        }
    }
    let imports_move_large_values = imports.iter().any(|import| {
        let params = import.params.iter().map(|(_, ty)| ty);
        params.chain(&import.results).any(types::may_be_large)
    });
    let exports: Vec<_> = ty.exports(engine).collect();
    // Resource names first, so that signatures can print them.
    for (_, item) in &exports {
        if let ComponentItem::ComponentInstance(instance) = &item.ty {
            name_resources(instance, engine, &mut resources);
        }
    }
    let mut exported = Vec::new();
    for (name, item) in exports {
        let index = |parent, name: &str| {
            component
                .get_export_index(parent, name)
                .ok_or_else(|| CompileError::Link(format!("no export index for {name}")))
        };
        match &item.ty {
            ComponentItem::ComponentFunc(func) => {
                exported.push((name.to_owned(), None, index(None, name)?, func.clone()))
            }
            ComponentItem::ComponentInstance(instance) => {
                let parent = index(None, name)?;
                for (func_name, export) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = &export.ty {
                        let at = index(Some(&parent), func_name)?;
                        exported.push((func_name.to_owned(), Some(name), at, func.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    let mut functions = Vec::new();
    for (name, interface, index, func) in exported {
        // Functions of the asynchronous ABI are not listed.
        if carried(&func) {
            let mut function = function(&name, interface, index, &func, &resources, &mut names)?;
            if imports_move_large_values {
                function.lifting = Lifting::Large;
            }
            functions.push(function);
        }
    }
    let atoms = make_atoms(names)?;
    let pre = link::link(metering, &imports)
        .and_then(|linker| linker.instantiate_pre(&component))
        .map_err(|e| CompileError::Link(format!("{e:#}")))?;
    Ok(ComponentCode {
        by_name: by_name(&functions),
        component,
        pre,
        functions,
        imports,
        resources,
        atoms,
        wasi,
        imports_move_large_values,
    })
}

/// Functions by full name, and by name without the interface's version
/// unless two versions of one interface export the same name.
fn by_name(functions: &[Function]) -> HashMap<String, usize> {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut ambiguous = Vec::new();
    for (index, function) in functions.iter().enumerate() {
        if let Some((interface, name)) = function.name.split_once('#') {
            if let Some((bare, _)) = interface.split_once('@') {
                let unversioned = format!("{bare}#{name}");
                if by_name.insert(unversioned.clone(), index).is_some() {
                    ambiguous.push(unversioned);
                }
            }
        }
    }
    for name in ambiguous {
        by_name.remove(&name);
    }
    for (index, function) in functions.iter().enumerate() {
        by_name.insert(function.name.clone(), index);
    }
    by_name
}

/// The atoms of `names`, made now: each new one counts against the atoms
/// guests may create in this VM (`term_abi`), since atoms are never freed.
fn make_atoms(mut names: Vec<String>) -> Result<Atoms, CompileError> {
    names.sort_unstable();
    names.dedup();
    if let Some(long) = names.iter().find(|name| name.len() > MAX_ATOM_LEN) {
        return Err(CompileError::Invalid(format!(
            "a name of {} bytes in the component's types: atoms have at most {MAX_ATOM_LEN}",
            long.len()
        )));
    }
    let texts: Vec<String> = names.iter().map(|name| types::atom_name(name)).collect();
    let bytes: Vec<&[u8]> = texts.iter().map(|text| text.as_bytes()).collect();
    let made = OwnedEnv::new().run(|env| term_abi::guest_atoms(env, &bytes));
    let Some(made) = made else {
        return Err(CompileError::Invalid(format!(
            "the component's types need more new atoms than guests may still create \
             (at most {} in all)",
            term_abi::MAX_GUEST_ATOMS
        )));
    };
    Ok(Atoms::new(names.into_iter().zip(made).collect()))
}

/// Names the resources `instance` exports, for signatures.
fn name_resources(
    instance: &wasmtime::component::types::ComponentInstance,
    engine: &Engine,
    resources: &mut ResourceNames,
) {
    for (name, export) in instance.exports(engine) {
        if let ComponentItem::Resource(ty) = export.ty {
            resources.add(ty, name);
        }
    }
}

/// Whether the library can carry every value of `func`.
fn carried(func: &ComponentFunc) -> bool {
    func.params().all(|(_, ty)| types::supported(&ty))
        && func.results().all(|ty| types::supported(&ty))
}

/// Named parameters and results.
type Signature = (Vec<(String, Type)>, Vec<Type>);

/// `func`'s parameters and results, noting the names their types turn
/// into atoms.
fn signature_of(func: &ComponentFunc, names: &mut Vec<String>) -> Signature {
    let params: Vec<(String, Type)> = func
        .params()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect();
    let results: Vec<Type> = func.results().collect();
    for ty in params.iter().map(|(_, ty)| ty).chain(&results) {
        types::names(ty, names);
    }
    (params, results)
}

fn import(
    interface: &str,
    name: &str,
    func: &ComponentFunc,
    resources: &ResourceNames,
    names: &mut Vec<String>,
) -> Result<Import, CompileError> {
    let (params, results) = signature_of(func, names);
    let carries_resource = params
        .iter()
        .map(|(_, ty)| ty)
        .chain(&results)
        .any(types::has_resource);
    if !carried(func) || carries_resource {
        return Err(CompileError::UnsupportedImport {
            module: interface.to_owned(),
            name: name.to_owned(),
            signature: types::signature(func, resources),
        });
    }
    Ok(Import {
        interface: interface.to_owned(),
        name: name.to_owned(),
        params,
        results,
    })
}

fn function(
    name: &str,
    interface: Option<&str>,
    index: ComponentExportIndex,
    func: &ComponentFunc,
    resources: &ResourceNames,
    names: &mut Vec<String>,
) -> Result<Function, CompileError> {
    let (params, results) = signature_of(func, names);
    Ok(Function {
        name: match interface {
            None => name.to_owned(),
            Some(interface) => format!("{interface}#{name}"),
        },
        index,
        lifting: Lifting::of(&results),
        params,
        results,
        signature: types::signature(func, resources),
    })
}

/// `[{Name, {component_func, Signature}}]`: what `exports/1` lists.
pub fn exports<'a>(env: Env<'a>, code: &ComponentCode) -> Term<'a> {
    let items: Vec<Term<'a>> = code
        .functions
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                (atoms::component_func(), f.signature.as_str()),
            )
                .encode(env)
        })
        .collect();
    items.encode(env)
}

/// `[{Interface, Name, {component_func, Signature}, wasi | erlang}]`: what
/// `imports/1` lists, every function of every imported interface; a
/// function the world imports itself has the interface `<<>>`.
pub fn imports<'a>(env: Env<'a>, code: &ComponentCode) -> Term<'a> {
    let engine = code.component.engine();
    let mut items = Vec::new();
    let mut push = |interface: &str, name: &str, func: &ComponentFunc, by: rustler::Atom| {
        let ty = (
            atoms::component_func(),
            types::signature(func, &code.resources),
        );
        items.push((interface, name, ty, by).encode(env));
    };
    for (name, item) in code.component.component_type().imports(engine) {
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                let by = match is_wasi(name) {
                    true => atoms::wasi(),
                    false => atoms::erlang(),
                };
                for (func_name, export) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = &export.ty {
                        push(name, func_name, func, by);
                    }
                }
            }
            ComponentItem::ComponentFunc(func) => push("", name, &func, atoms::erlang()),
            _ => {}
        }
    }
    items.encode(env)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::time::Instant;

    use wasmtime::component::Val;

    use super::*;
    use crate::engine;
    use crate::store;

    fn run<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    const ADD: &str = r#"(component
        (core module $m (func (export "add") (param i32 i32) (result i32)
            (i32.add (local.get 0) (local.get 1))))
        (core instance $i (instantiate $m))
        (func (export "add") (param "a" s32) (param "b" s32) (result s32)
            (canon lift (core func $i "add"))))"#;

    const LIFTS: &str = r#"(component
        (core module $m
            (memory (export "memory") 1)
            (func (export "f") (result i32) (i32.const 0)))
        (core instance $i (instantiate $m))
        (alias core export $i "memory" (core memory $memory))
        (func (export "small") (result u32) (canon lift (core func $i "f")))
        (func (export "text") (result string)
            (canon lift (core func $i "f") (memory $memory)))
        (func (export "two-texts") (result (tuple string string))
            (canon lift (core func $i "f") (memory $memory)))
        (func (export "numbers") (result (list s64))
            (canon lift (core func $i "f") (memory $memory)))
        (func (export "texts") (result (list string))
            (canon lift (core func $i "f") (memory $memory))))"#;

    #[test]
    fn results_lift_where_their_cost_allows() {
        engine::init(engine::Settings::default()).unwrap();
        let eng = engine::engine(Metering::Off);
        let component = Component::new(eng, wat::parse_str(LIFTS).unwrap()).unwrap();
        let ty = component.component_type();
        let lifting = |name: &str| {
            let (_, item) = ty.exports(eng).find(|(n, _)| *n == name).unwrap();
            let ComponentItem::ComponentFunc(func) = item.ty else {
                panic!("{name} is not a function")
            };
            Lifting::of(&func.results().collect::<Vec<_>>())
        };
        let bound = NORMAL_SCHEDULER_LIFT_FROM_MEMORY;
        let per_number = std::mem::size_of::<Val>().div_ceil(8);
        assert_eq!(lifting("small"), Lifting::Small);
        assert_eq!(lifting("text"), Lifting::Bounded(bound));
        assert_eq!(lifting("two-texts"), Lifting::Bounded(bound / 2));
        assert_eq!(lifting("numbers"), Lifting::Bounded(bound / per_number));
        assert_eq!(lifting("texts"), Lifting::Large);
        assert!(!Lifting::Bounded(bound).dirty(bound));
        assert!(Lifting::Bounded(bound).dirty(bound + 1));
    }

    /// What Wasmtime alone takes for a component call of `add(s32, s32)`
    /// through `Val`s, against a core module's `call_async`: the floor of a
    /// component call here. `cargo test --release -- --ignored
    /// component_call_floor --nocapture`.
    #[test]
    #[ignore]
    fn component_call_floor() {
        engine::init(engine::Settings::default()).unwrap();
        let eng = engine::engine(Metering::Off);
        let component = Component::new(eng, wat::parse_str(ADD).unwrap()).unwrap();
        let code = prepare(component, Metering::Off).unwrap();
        let mut store = store::new(eng, StoreData::new(Default::default(), None));
        store.limiter(|data| &mut data.limits);
        store.data_mut().limits.max_instances = 10;
        let instance = run(code.pre.instantiate_async(&mut store)).unwrap();
        let func = instance
            .get_func(&mut store, code.functions[0].index)
            .unwrap();
        let n = 200_000;
        let mut results = [Val::S32(0)];
        let started = Instant::now();
        for i in 0..n {
            store.set_epoch_deadline(1 << 40);
            run(func.call_async(&mut store, &[Val::S32(i), Val::S32(1)], &mut results)).unwrap();
        }
        let component_ns = started.elapsed().as_nanos() as f64 / n as f64;
        let module = wasmtime::Module::new(
            eng,
            wat::parse_str(
                r#"(module (func (export "add") (param i32 i32) (result i32)
                    (i32.add (local.get 0) (local.get 1))))"#,
            )
            .unwrap(),
        )
        .unwrap();
        let mut store = store::new(eng, StoreData::new(Default::default(), None));
        let instance = run(wasmtime::Instance::new_async(&mut store, &module, &[])).unwrap();
        let func = instance.get_func(&mut store, "add").unwrap();
        let mut results = [wasmtime::Val::I32(0)];
        let started = Instant::now();
        for i in 0..n {
            store.set_epoch_deadline(1 << 40);
            let params = [wasmtime::Val::I32(i), wasmtime::Val::I32(1)];
            run(func.call_async(&mut store, &params, &mut results)).unwrap();
        }
        let core_ns = started.elapsed().as_nanos() as f64 / n as f64;
        println!("component call {component_ns:.0} ns, core call_async {core_ns:.0} ns");
    }
}
