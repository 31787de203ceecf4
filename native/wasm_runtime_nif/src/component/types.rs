//! WIT types: as the docs and `print_func/2` show them, what they hold
//! (one walk, [`any`]), how many values one of them may be, and the names
//! that become atoms.

use std::fmt::Write;

use wasmtime::component::types::{ComponentFunc, Type};
use wasmtime::component::ResourceType;

/// Values past which a value of a type counts as large: about what a normal
/// scheduler converts and lifts in a millisecond
/// (`convert::NORMAL_SCHEDULER_WORK`).
pub const LARGE_VALUES: usize = 10_000;

/// Bytes of a type printed in an error message; a signature may be longer.
pub const PRINTED_IN_ERRORS: usize = 256;

/// Bytes of a signature, as `exports/1` lists it.
const PRINTED_IN_SIGNATURES: usize = 64 << 10;

/// The resources a component exports or imports, by name, for printing.
#[derive(Default)]
pub struct ResourceNames(Vec<(ResourceType, String)>);

impl ResourceNames {
    pub fn add(&mut self, ty: ResourceType, name: &str) {
        if !self.0.iter().any(|(known, _)| *known == ty) {
            self.0.push((ty, name.to_owned()));
        }
    }

    fn name(&self, ty: &ResourceType) -> &str {
        self.0
            .iter()
            .find(|(known, _)| known == ty)
            .map_or("resource", |(_, name)| name)
    }
}

/// The types `ty` holds directly.
fn children(ty: &Type) -> Vec<Type> {
    match ty {
        Type::List(l) => vec![l.ty()],
        Type::FixedLengthList(l) => vec![l.ty()],
        Type::Map(m) => vec![m.key(), m.value()],
        Type::Record(r) => r.fields().map(|f| f.ty).collect(),
        Type::Tuple(t) => t.types().collect(),
        Type::Variant(v) => v.cases().filter_map(|c| c.ty).collect(),
        Type::Option(o) => vec![o.ty()],
        Type::Result(r) => r.ok().into_iter().chain(r.err()).collect(),
        _ => Vec::new(),
    }
}

/// Whether `ty`, or a type it holds at any depth, is one `is` accepts.
pub fn any(ty: &Type, is: &impl Fn(&Type) -> bool) -> bool {
    is(ty) || children(ty).iter().any(|child| any(child, is))
}

/// Whether the library can carry values of `ty` (not the asynchronous
/// ABI's futures, streams and error contexts).
pub fn supported(ty: &Type) -> bool {
    !any(ty, &|t| {
        matches!(t, Type::Future(_) | Type::Stream(_) | Type::ErrorContext)
    })
}

/// Whether values of `ty` may hold resources.
pub fn has_resource(ty: &Type) -> bool {
    any(ty, &|t| matches!(t, Type::Own(_) | Type::Borrow(_)))
}

/// The most values (`Val`s) one value of `ty` is made of; `usize::MAX` for
/// types of any size (lists, strings, maps).
pub fn values(ty: &Type) -> usize {
    let sum =
        |tys: &mut dyn Iterator<Item = Type>| tys.fold(1usize, |n, t| n.saturating_add(values(&t)));
    match ty {
        Type::List(_) | Type::String | Type::Map(_) => usize::MAX,
        Type::FixedLengthList(l) => {
            1usize.saturating_add(values(&l.ty()).saturating_mul(l.len() as usize))
        }
        Type::Record(r) => sum(&mut r.fields().map(|f| f.ty)),
        Type::Tuple(t) => sum(&mut t.types()),
        Type::Variant(v) => 1usize.saturating_add(
            v.cases()
                .filter_map(|c| c.ty)
                .map(|t| values(&t))
                .max()
                .unwrap_or(0),
        ),
        Type::Option(o) => 1usize.saturating_add(values(&o.ty())),
        Type::Result(r) => 1usize.saturating_add(
            r.ok()
                .iter()
                .chain(r.err().iter())
                .map(values)
                .max()
                .unwrap_or(0),
        ),
        _ => 1,
    }
}

/// Whether a value of `ty` may be too large to lift and convert on a normal
/// scheduler.
pub fn may_be_large(ty: &Type) -> bool {
    values(ty) > LARGE_VALUES
}

/// What lifting a value of `ty` from the guest may cost the host, for a
/// type whose lists are of numbers: its values apart from those lists and
/// strings, and Wasmtime's hostcall fuel (bytes the host copies and
/// allocates) per byte of the memory they are read from. A string's bytes
/// are copied once; a list's elements each become a `Val`.
pub struct Lift {
    pub values: usize,
    pub per_memory_byte: usize,
}

/// `None` for types whose lift is not bounded by the memory it reads: lists
/// of other lists, strings, records, variants, enums, flags or resources
/// (each element allocates), maps.
pub fn lift(ty: &Type) -> Option<Lift> {
    let val = std::mem::size_of::<wasmtime::component::Val>();
    let (values, per_memory_byte) = match ty {
        Type::String => (1, 1),
        Type::List(l) => (1, val.div_ceil(number_size(&l.ty())?)),
        Type::Map(_) => return None,
        Type::FixedLengthList(l) => {
            let each = lift(&l.ty())?;
            let len = l.len() as usize;
            (
                each.values.saturating_mul(len).saturating_add(1),
                each.per_memory_byte.saturating_mul(len),
            )
        }
        _ => children(ty)
            .iter()
            .try_fold((1usize, 0usize), |(v, b), child| {
                let each = lift(child)?;
                Some((
                    v.saturating_add(each.values),
                    b.saturating_add(each.per_memory_byte),
                ))
            })?,
    };
    Some(Lift {
        values,
        per_memory_byte,
    })
}

/// Bytes of a number, a bool or a char in a list.
fn number_size(ty: &Type) -> Option<usize> {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => Some(1),
        Type::S16 | Type::U16 => Some(2),
        Type::S32 | Type::U32 | Type::Float32 | Type::Char => Some(4),
        Type::S64 | Type::U64 | Type::Float64 => Some(8),
        _ => None,
    }
}

/// The names `ty` turns into atoms: record fields, cases, enum and flag
/// names.
pub fn names(ty: &Type, out: &mut Vec<String>) {
    match ty {
        Type::Record(r) => out.extend(r.fields().map(|f| f.name.to_owned())),
        Type::Variant(v) => out.extend(v.cases().map(|c| c.name.to_owned())),
        Type::Enum(e) => out.extend(e.names().map(str::to_owned)),
        Type::Flags(f) => out.extend(f.names().map(str::to_owned)),
        _ => {}
    }
    for child in children(ty) {
        names(&child, out);
    }
}

/// `func(name: string, p: point) -> result<string, u32>`, with records,
/// variants, enums and flags spelled out.
pub fn signature(func: &ComponentFunc, resources: &ResourceNames) -> String {
    let mut out = String::from("func(");
    for (i, (name, ty)) in func.params().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name}: ");
        write_wit(&ty, resources, &mut out, PRINTED_IN_SIGNATURES);
    }
    out.push(')');
    let results: Vec<Type> = func.results().collect();
    match results.as_slice() {
        [] => {}
        [one] => {
            out.push_str(" -> ");
            write_wit(one, resources, &mut out, PRINTED_IN_SIGNATURES);
        }
        many => {
            out.push_str(" -> (");
            for (i, ty) in many.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_wit(ty, resources, &mut out, PRINTED_IN_SIGNATURES);
            }
            out.push(')');
        }
    }
    out
}

/// A type in WIT syntax, cut at [`PRINTED_IN_ERRORS`] bytes.
pub fn wit(ty: &Type, resources: &ResourceNames) -> String {
    let mut out = String::new();
    write_wit(ty, resources, &mut out, PRINTED_IN_ERRORS);
    out
}

/// Appends `ty` in WIT syntax to `out`, stopping with `...` once `out` is
/// longer than `max`: a type may have a million parts.
fn write_wit(ty: &Type, resources: &ResourceNames, out: &mut String, max: usize) {
    if out.len() > max {
        if !out.ends_with("...") {
            out.push_str("...");
        }
        return;
    }
    let name = match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::Future(_) => "future",
        Type::Stream(_) => "stream",
        Type::ErrorContext => "error-context",
        _ => "",
    };
    if !name.is_empty() {
        out.push_str(name);
        return;
    }
    match ty {
        Type::List(l) => {
            out.push_str("list<");
            write_wit(&l.ty(), resources, out, max);
            out.push('>');
        }
        Type::FixedLengthList(l) => {
            out.push_str("list<");
            write_wit(&l.ty(), resources, out, max);
            let _ = write!(out, ", {}>", l.len());
        }
        Type::Map(m) => {
            out.push_str("map<");
            write_wit(&m.key(), resources, out, max);
            out.push_str(", ");
            write_wit(&m.value(), resources, out, max);
            out.push('>');
        }
        Type::Record(r) => {
            out.push_str("record {");
            for (i, field) in r.fields().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", field.name);
                write_wit(&field.ty, resources, out, max);
            }
            out.push('}');
        }
        Type::Tuple(t) => {
            out.push_str("tuple<");
            let types: Vec<Type> = t.types().collect();
            for (i, ty) in types.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_wit(ty, resources, out, max);
            }
            out.push('>');
        }
        Type::Variant(v) => {
            out.push_str("variant {");
            for (i, case) in v.cases().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(case.name);
                if let Some(ty) = &case.ty {
                    out.push('(');
                    write_wit(ty, resources, out, max);
                    out.push(')');
                }
                if out.len() > max {
                    out.push_str("...");
                    break;
                }
            }
            out.push('}');
        }
        Type::Enum(e) => names_in(out, "enum", e.names(), max),
        Type::Flags(f) => names_in(out, "flags", f.names(), max),
        Type::Option(o) => {
            out.push_str("option<");
            write_wit(&o.ty(), resources, out, max);
            out.push('>');
        }
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => out.push_str("result"),
            (Some(ok), None) => {
                out.push_str("result<");
                write_wit(&ok, resources, out, max);
                out.push('>');
            }
            (None, Some(err)) => {
                out.push_str("result<_, ");
                write_wit(&err, resources, out, max);
                out.push('>');
            }
            (Some(ok), Some(err)) => {
                out.push_str("result<");
                write_wit(&ok, resources, out, max);
                out.push_str(", ");
                write_wit(&err, resources, out, max);
                out.push('>');
            }
        },
        Type::Own(r) => out.push_str(resources.name(r)),
        Type::Borrow(r) => {
            let _ = write!(out, "borrow<{}>", resources.name(r));
        }
        _ => {}
    }
}

fn names_in<'n>(out: &mut String, kind: &str, names: impl Iterator<Item = &'n str>, max: usize) {
    let _ = write!(out, "{kind} {{");
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        if out.len() > max {
            out.push_str("...");
            break;
        }
    }
    out.push('}');
}

/// The atom of a WIT name: kebab-case becomes snake_case (`deep-blue` is
/// `deep_blue`), which WIT names cannot otherwise contain, so the mapping
/// goes both ways.
pub fn atom_name(name: &str) -> String {
    name.replace('-', "_")
}
