//! Whether instances of a module may need a GC heap: Wasmtime reserves one
//! (address space and mappings, see `budget.rs`) for any module that uses
//! GC references, which the budget must count.

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

/// Whether a function body uses GC operators; an unreadable one does.
fn uses_gc_operators(body: &wasmparser::FunctionBody) -> bool {
    let Ok(mut operators) = body.get_operators_reader() else {
        return true;
    };
    while !operators.eof() {
        match operators.read() {
            Ok(op) if super::operators::proposal(&op) == "gc" => return true,
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
pub fn needs_gc_heap(binary: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
