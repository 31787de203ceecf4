//! What a module imports: term-ABI and WASI functions (checked against
//! their type), and functions that Erlang funs given at instantiation implement.
//! Anything else cannot be provided.

use std::collections::HashMap;

use wasmtime::{ExternType, FuncType, Module, ValType};

use super::signature;
use crate::engine;
use crate::error::CompileError;
use crate::limits::Metering;
use crate::term_abi;
use crate::values::NumType;
use crate::wasi;

/// A function the module imports that the term ABI does not provide: an
/// Erlang fun must be given for it when the module is instantiated.
pub struct ErlangImport {
    pub module: String,
    pub name: String,
    pub ty: FuncType,
    pub params: Box<[NumType]>,
    pub results: Box<[NumType]>,
}

impl ErlangImport {
    pub fn label(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

pub fn extern_kind(ty: &ExternType) -> &'static str {
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
pub fn erlang_imports(
    module: &Module,
    metering: Metering,
) -> Result<Vec<ErlangImport>, CompileError> {
    let mut erlang_imports: Vec<ErlangImport> = Vec::new();
    // Where each Erlang import's name came first, to find repeats at once.
    let mut by_name = HashMap::new();
    for import in module.imports() {
        let ty = import.ty();
        let ExternType::Func(actual) = &ty else {
            return Err(CompileError::UnknownImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
                kind: extern_kind(&ty),
            });
        };
        if import.module() == term_abi::IMPORT_MODULE
            && import.name() == engine::TEST_PANIC_IMPORT
            && engine::test_hooks()
            && actual.params().len() == 0
            && actual.results().len() == 0
        {
            continue;
        }
        let wasi = (import.module() == wasi::IMPORT_MODULE)
            .then(|| engine::wasi_function(metering, import.name()))
            .flatten();
        if let Some(expected) = wasi {
            if !FuncType::eq(expected, actual) {
                return Err(CompileError::ImportTypeMismatch {
                    name: format!("{}.{}", import.module(), import.name()),
                    expected: signature(expected),
                    actual: signature(actual),
                });
            }
            continue;
        }
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
            let earlier: &ErlangImport = &erlang_imports[at];
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
        by_name.insert((import.module(), import.name()), erlang_imports.len());
        erlang_imports.push(ErlangImport {
            module: import.module().to_string(),
            name: import.name().to_string(),
            ty: actual.clone(),
            params,
            results,
        });
    }
    Ok(erlang_imports)
}
