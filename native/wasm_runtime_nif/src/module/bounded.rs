//! Exported functions that provably finish quickly, which a call runs on
//! the scheduler's own stack without a fiber (`call.rs`): their code has no
//! loop, no call, no operator whose work depends on its operands (memory and
//! table growth, bulk memory and table operations, GC allocation, atomics),
//! and is small, so that it executes each of its few instructions at most
//! once. A fiber costs about 125 ns a call here; such a call costs 18 ns in
//! Wasmtime.

use std::collections::HashMap;

use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef};

use super::operators::proposal;

/// Most bytes of code of a function called without a fiber: a few
/// microseconds of straight-line code at most, and a frame small enough
/// for any scheduler's stack.
const MAX_BODY_BYTES: usize = 4096;

/// Most locals of such a function (each a slot of its frame).
const MAX_LOCALS: u32 = 256;

/// Whether `op` does a bounded amount of work and never leaves the function.
fn bounded_op(op: &Operator) -> bool {
    match op {
        Operator::Loop { .. }
        | Operator::Call { .. }
        | Operator::CallIndirect { .. }
        | Operator::MemoryGrow { .. } => false,
        op => matches!(
            proposal(op),
            "mvp"
                | "sign_extension"
                | "saturating_float_to_int"
                | "simd"
                | "relaxed_simd"
                | "wide_arithmetic"
        ),
    }
}

fn bounded_body(body: &wasmparser::FunctionBody) -> bool {
    if body.range().len() > MAX_BODY_BYTES {
        return false;
    }
    let Ok(locals) = body.get_locals_reader() else {
        return false;
    };
    let mut count: u32 = 0;
    for local in locals {
        match local {
            Ok((n, _)) => count = count.saturating_add(n),
            Err(_) => return false,
        }
    }
    if count > MAX_LOCALS {
        return false;
    }
    let Ok(mut operators) = body.get_operators_reader() else {
        return false;
    };
    while !operators.eof() {
        match operators.read() {
            Ok(op) if bounded_op(&op) => {}
            _ => return false,
        }
    }
    true
}

/// The names of the exported functions of `binary` that finish quickly.
/// Anything the parser cannot read makes no function bounded.
pub fn bounded_exports(binary: &[u8]) -> Vec<Box<str>> {
    let mut imported = 0u32;
    let mut defined = 0u32;
    let mut bounded = Vec::new();
    let mut exports: HashMap<u32, Vec<Box<str>>> = HashMap::new();
    for payload in Parser::new(0).parse_all(binary) {
        match payload {
            Ok(Payload::ImportSection(section)) => {
                for import in section.into_imports() {
                    match import {
                        Ok(import) if matches!(import.ty, TypeRef::Func(_)) => imported += 1,
                        Ok(_) => {}
                        Err(_) => return Vec::new(),
                    }
                }
            }
            Ok(Payload::ExportSection(section)) => {
                for export in section {
                    match export {
                        Ok(export) if export.kind == ExternalKind::Func => exports
                            .entry(export.index)
                            .or_default()
                            .push(export.name.into()),
                        Ok(_) => {}
                        Err(_) => return Vec::new(),
                    }
                }
            }
            Ok(Payload::CodeSectionEntry(body)) => {
                if bounded_body(&body) {
                    bounded.push(imported + defined);
                }
                defined += 1;
            }
            Ok(_) => {}
            Err(_) => return Vec::new(),
        }
    }
    bounded
        .iter()
        .filter_map(|index| exports.remove(index))
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounded(wat: &str) -> Vec<Box<str>> {
        bounded_exports(&wat::parse_str(wat).unwrap())
    }

    #[test]
    fn only_straight_line_code_is_bounded() {
        let names = bounded(
            r#"(module
                 (import "env" "f" (func $f))
                 (memory 1)
                 (func (export "add") (param i32 i32) (result i32)
                   (i32.add (local.get 0) (local.get 1)))
                 (func (export "branchy") (param i32) (result i32)
                   (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
                 (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
                 (func (export "loops") (loop $l (br $l)))
                 (func (export "calls") (call $f))
                 (func (export "grows") (result i32) (memory.grow (i32.const 1)))
                 (func (export "fills") (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536)))
                 (func $twice (export "twice") (export "again") (result i32) (i32.const 2)))"#,
        );
        let mut names: Vec<&str> = names.iter().map(|n| &**n).collect();
        names.sort_unstable();
        assert_eq!(names, ["add", "again", "branchy", "load", "twice"]);
    }

    #[test]
    fn large_bodies_and_frames_are_not() {
        let long = format!(
            "(module (func (export \"long\") (result i32) (i32.const 0) {} ))",
            "(i32.add (i32.const 1)) ".repeat(2000)
        );
        assert!(bounded(&long).is_empty());
        let locals = format!(
            "(module (func (export \"locals\") {}))",
            "(local i64) ".repeat(300)
        );
        assert!(bounded(&locals).is_empty());
        assert!(bounded_exports(b"\0asm garbage").is_empty());
    }
}
