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

use std::collections::HashSet;

use rustler::{Encoder, Env, Term};
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};
use wasmtime::Engine;

use crate::atoms;
use crate::error::CompileError;
use crate::limits::Metering;
use crate::store::data::StoreData;
use link::Import;
use types::ResourceNames;

/// Distinct record field, case, enum and flag names a component may use:
/// each is an atom, and atoms are never collected.
pub const MAX_NAMES: usize = 10_000;

/// Bytes of values the host may build from one lift of a component's
/// values (a result, an import's arguments): Wasmtime's hostcall fuel, in
/// calls that run on dirty schedulers. Each value of a list costs 48
/// bytes, a string its length: 16 MiB is about 350,000 values, or a
/// 16 MiB string.
pub const MAX_LIFT_BYTES: usize = 16 << 20;

/// The same for calls on normal schedulers, which take no large values by
/// their types: the bound of the WASI calls their guests make
/// (`wasi/bounded.rs`).
pub const NORMAL_SCHEDULER_LIFT_BYTES: usize = crate::wasi::bounded::HOSTCALL_FUEL;

/// Whether `binary` (wasm, not text) is a component rather than a module.
pub fn is_component(binary: &[u8]) -> bool {
    wasmparser::Parser::is_component(binary)
}

/// A function a component exports.
pub struct Function {
    /// `name` or `interface#name`, the interface with its version.
    pub name: String,
    /// The same without the interface's version, if it has one.
    pub unversioned: Option<String>,
    pub index: ComponentExportIndex,
    pub params: Vec<(String, Type)>,
    pub results: Vec<Type>,
    /// `func(p: point) -> string`.
    pub signature: String,
    /// Whether its calls run on dirty schedulers: its result may be large
    /// (a list, a string), or the component's Erlang imports take such
    /// values. Lifting them cannot yield.
    pub dirty: bool,
}

/// A compiled component, ready to instantiate.
pub struct ComponentCode {
    pub component: Component,
    /// Linked with WASI and the Erlang imports' requests.
    pub pre: InstancePre<StoreData>,
    pub functions: Vec<Function>,
    /// Functions Erlang funs implement, in the order of their requests.
    pub imports: Vec<Import>,
    pub resources: ResourceNames,
    /// Whether it imports WASI preview 2: its instances get a context.
    pub wasi: bool,
    /// Whether an Erlang import takes values of unbounded size.
    pub imports_take_large_values: bool,
}

impl ComponentCode {
    /// The exported function `name` (see the module docs).
    pub fn function(&self, name: &str) -> Option<usize> {
        self.functions
            .iter()
            .position(|f| f.name == name)
            .or_else(|| {
                let mut found = self
                    .functions
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.unversioned.as_deref() == Some(name));
                match (found.next(), found.next()) {
                    (Some((index, _)), None) => Some(index),
                    _ => None,
                }
            })
    }
}

/// A compiled component's functions and imports, linked and ready to
/// instantiate.
pub fn prepare(component: Component, metering: Metering) -> Result<ComponentCode, CompileError> {
    let engine = component.engine().clone();
    let engine = &engine;
    let ty = component.component_type();
    let mut resources = ResourceNames::default();
    let mut names = HashSet::new();
    let mut imports = Vec::new();
    let mut wasi = false;
    for (name, item) in ty.imports(engine) {
        let unsupported = |what: &str| CompileError::UnsupportedImport {
            module: name.to_owned(),
            name: String::new(),
            signature: what.to_owned(),
        };
        match item.ty {
            ComponentItem::ComponentInstance(instance) if name.starts_with("wasi:") => {
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
                            return Err(CompileError::UnsupportedImport {
                                module: name.to_owned(),
                                name: func_name.to_owned(),
                                signature: "resource (resources an Erlang import would define)"
                                    .into(),
                            })
                        }
                        _ => return Err(unsupported("an item other than a function")),
                    }
                }
            }
            ComponentItem::ComponentFunc(func) => {
                imports.push(import("", name, &func, &resources, &mut names)?)
            }
            ComponentItem::Type(_) => {}
            _ => return Err(unsupported("an item other than a function or an interface")),
        }
    }
    let imports_take_large_values = imports
        .iter()
        .any(|import| import.params.iter().any(|(_, ty)| types::unbounded(ty)));
    let mut functions = Vec::new();
    let exports: Vec<_> = ty.exports(engine).collect();
    // Resource names first, so that signatures can print them.
    for (_, item) in &exports {
        if let ComponentItem::ComponentInstance(instance) = &item.ty {
            name_resources(instance, engine, &mut resources);
        }
    }
    for (name, item) in exports {
        match &item.ty {
            // Functions of the asynchronous ABI are not listed.
            ComponentItem::ComponentFunc(func) if !carried(func) => {}
            ComponentItem::ComponentFunc(func) => {
                let index = component
                    .get_export_index(None, name)
                    .ok_or_else(|| CompileError::Link(format!("no export index for {name}")))?;
                let mut function = function(name, None, index, func, &resources, &mut names)?;
                function.dirty |= imports_take_large_values;
                functions.push(function);
            }
            ComponentItem::ComponentInstance(instance) => {
                let parent = component
                    .get_export_index(None, name)
                    .ok_or_else(|| CompileError::Link(format!("no export index for {name}")))?;
                for (func_name, export) in instance.exports(engine) {
                    let ComponentItem::ComponentFunc(func) = &export.ty else {
                        continue;
                    };
                    if !carried(func) {
                        continue;
                    }
                    let index = component
                        .get_export_index(Some(&parent), func_name)
                        .ok_or_else(|| {
                            CompileError::Link(format!("no export index for {name}#{func_name}"))
                        })?;
                    let mut function =
                        function(func_name, Some(name), index, func, &resources, &mut names)?;
                    function.dirty |= imports_take_large_values;
                    functions.push(function);
                }
            }
            _ => {}
        }
    }
    let pre = link::link(metering, &imports)
        .and_then(|linker| linker.instantiate_pre(&component))
        .map_err(|e| CompileError::Link(format!("{e:#}")))?;
    Ok(ComponentCode {
        component,
        pre,
        functions,
        imports,
        resources,
        wasi,
        imports_take_large_values,
    })
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

/// Checks that the library can carry `func`'s values, and notes the names
/// its types turn into atoms.
fn check(
    label: impl Fn() -> (String, String),
    func: &ComponentFunc,
    resources: &ResourceNames,
    names: &mut HashSet<String>,
) -> Result<Signature, CompileError> {
    let params: Vec<(String, Type)> = func
        .params()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect();
    let results: Vec<Type> = func.results().collect();
    let all = params.iter().map(|(_, ty)| ty).chain(results.iter());
    for ty in all {
        if !types::supported(ty) {
            let (module, name) = label();
            return Err(CompileError::UnsupportedImport {
                module,
                name,
                signature: types::signature(func, resources),
            });
        }
        types::collect_names(ty, names);
    }
    if names.len() > MAX_NAMES {
        return Err(CompileError::Invalid(format!(
            "the component's types use more than {MAX_NAMES} names"
        )));
    }
    Ok((params, results))
}

fn import(
    interface: &str,
    name: &str,
    func: &ComponentFunc,
    resources: &ResourceNames,
    names: &mut HashSet<String>,
) -> Result<Import, CompileError> {
    let label = || (interface.to_owned(), name.to_owned());
    let (params, results) = check(label, func, resources, names)?;
    let carries_resource = params
        .iter()
        .map(|(_, ty)| ty)
        .chain(results.iter())
        .any(has_resource);
    if carries_resource {
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

/// Whether values of `ty` may hold resources (which Erlang imports cannot
/// take or give yet).
fn has_resource(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) => true,
        Type::List(l) => has_resource(&l.ty()),
        Type::FixedLengthList(l) => has_resource(&l.ty()),
        Type::Map(m) => has_resource(&m.key()) || has_resource(&m.value()),
        Type::Record(r) => r.fields().any(|f| has_resource(&f.ty)),
        Type::Tuple(t) => t.types().any(|t| has_resource(&t)),
        Type::Variant(v) => v.cases().any(|c| c.ty.as_ref().is_some_and(has_resource)),
        Type::Option(o) => has_resource(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_some_and(has_resource) || r.err().as_ref().is_some_and(has_resource)
        }
        _ => false,
    }
}

fn function(
    name: &str,
    interface: Option<&str>,
    index: ComponentExportIndex,
    func: &ComponentFunc,
    resources: &ResourceNames,
    names: &mut HashSet<String>,
) -> Result<Function, CompileError> {
    let label = || (interface.unwrap_or("").to_owned(), name.to_owned());
    let (params, results) = check(label, func, resources, names)?;
    let (name, unversioned) = match interface {
        None => (name.to_owned(), None),
        Some(interface) => (
            format!("{interface}#{name}"),
            interface
                .split_once('@')
                .map(|(bare, _)| format!("{bare}#{name}")),
        ),
    };
    Ok(Function {
        name,
        unversioned,
        index,
        dirty: results.iter().any(types::unbounded),
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
