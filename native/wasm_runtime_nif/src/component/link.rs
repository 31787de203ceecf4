//! What a component's imports are linked to: WASI preview 2, and the
//! functions Erlang funs implement.
//!
//! An Erlang import is defined once per component, when it is compiled, as
//! a host function that records a request in the store's import exchange
//! and suspends the guest: the protocol of `erlang_import.rs`, whose driver
//! (`call.rs`) runs the instance's fun (`erlang_import::component_funs`)
//! in the caller and resumes the guest with its converted result.

use wasmtime::component::types::Type;
use wasmtime::component::Linker;

use crate::engine;
use crate::limits::Metering;
use crate::store::data::{ask_erlang, StoreData};

/// A function a component imports that an Erlang fun implements.
pub struct Import {
    /// The interface (`test:plugin/host@0.1.0`), or empty for a function
    /// the component's world imports itself.
    pub interface: String,
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub results: Vec<Type>,
}

impl Import {
    /// `interface#name`, or `name`, as errors show it.
    pub fn label(&self) -> String {
        match self.interface.is_empty() {
            true => self.name.clone(),
            false => format!("{}#{}", self.interface, self.name),
        }
    }
}

/// The base linker with each of `imports` defined as a request to the
/// Erlang side.
pub fn link(metering: Metering, imports: &[Import]) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = engine::component_linker(metering).clone();
    for (index, import) in imports.iter().enumerate() {
        let root = linker.root();
        let mut instance = match import.interface.is_empty() {
            true => root,
            false => root.into_instance(&import.interface)?,
        };
        instance.func_new_async(&import.name, move |store, _ty, params, results| {
            Box::new(async move {
                let cells = store.data().cells.clone();
                ask_erlang(&cells, index, params, results, |e| &mut e.parts).await
            })
        })?;
    }
    Ok(linker)
}
