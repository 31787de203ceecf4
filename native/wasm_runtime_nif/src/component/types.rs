//! WIT types as the docs and `print_func/2` show them, and the names a
//! component's types bring: every record field, case, enum and flag name
//! becomes an atom, so their number is bounded when a component is
//! compiled.

use std::collections::HashSet;

use wasmtime::component::types::{ComponentFunc, Type};
use wasmtime::component::ResourceType;

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

/// `func(name: string, p: point) -> result<string, u32>`, with records,
/// variants, enums and flags spelled out.
pub fn signature(func: &ComponentFunc, resources: &ResourceNames) -> String {
    let params: Vec<String> = func
        .params()
        .map(|(name, ty)| format!("{name}: {}", wit(&ty, resources)))
        .collect();
    let results: Vec<String> = func.results().map(|ty| wit(&ty, resources)).collect();
    match results.as_slice() {
        [] => format!("func({})", params.join(", ")),
        [one] => format!("func({}) -> {one}", params.join(", ")),
        many => format!("func({}) -> ({})", params.join(", "), many.join(", ")),
    }
}

/// A type in WIT syntax.
pub fn wit(ty: &Type, resources: &ResourceNames) -> String {
    let list = |items: Vec<String>| items.join(", ");
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", wit(&l.ty(), resources)),
        Type::FixedLengthList(l) => format!("list<{}, {}>", wit(&l.ty(), resources), l.len()),
        Type::Map(m) => format!(
            "map<{}, {}>",
            wit(&m.key(), resources),
            wit(&m.value(), resources)
        ),
        Type::Record(r) => format!(
            "record {{{}}}",
            list(
                r.fields()
                    .map(|f| format!("{}: {}", f.name, wit(&f.ty, resources)))
                    .collect()
            )
        ),
        Type::Tuple(t) => format!(
            "tuple<{}>",
            list(t.types().map(|t| wit(&t, resources)).collect())
        ),
        Type::Variant(v) => format!(
            "variant {{{}}}",
            list(
                v.cases()
                    .map(|c| match &c.ty {
                        Some(ty) => format!("{}({})", c.name, wit(ty, resources)),
                        None => c.name.to_owned(),
                    })
                    .collect()
            )
        ),
        Type::Enum(e) => format!("enum {{{}}}", list(e.names().map(str::to_owned).collect())),
        Type::Flags(f) => format!("flags {{{}}}", list(f.names().map(str::to_owned).collect())),
        Type::Option(o) => format!("option<{}>", wit(&o.ty(), resources)),
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", wit(&ok, resources)),
            (None, Some(err)) => format!("result<_, {}>", wit(&err, resources)),
            (Some(ok), Some(err)) => {
                format!("result<{}, {}>", wit(&ok, resources), wit(&err, resources))
            }
        },
        Type::Own(r) => resources.name(r).to_owned(),
        Type::Borrow(r) => format!("borrow<{}>", resources.name(r)),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// Whether the library can carry values of `ty` (not the asynchronous
/// ABI's futures, streams and error contexts).
pub fn supported(ty: &Type) -> bool {
    match ty {
        Type::List(l) => supported(&l.ty()),
        Type::FixedLengthList(l) => supported(&l.ty()),
        Type::Map(m) => supported(&m.key()) && supported(&m.value()),
        Type::Record(r) => r.fields().all(|f| supported(&f.ty)),
        Type::Tuple(t) => t.types().all(|t| supported(&t)),
        Type::Variant(v) => v.cases().all(|c| c.ty.as_ref().is_none_or(supported)),
        Type::Option(o) => supported(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_none_or(supported) && r.err().as_ref().is_none_or(supported)
        }
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => false,
        _ => true,
    }
}

/// Whether values of `ty` may be of any size: lists, strings and maps
/// (whose lifting, which cannot yield, grows with them).
pub fn unbounded(ty: &Type) -> bool {
    match ty {
        Type::String | Type::List(_) | Type::Map(_) => true,
        Type::FixedLengthList(l) => unbounded(&l.ty()),
        Type::Record(r) => r.fields().any(|f| unbounded(&f.ty)),
        Type::Tuple(t) => t.types().any(|t| unbounded(&t)),
        Type::Variant(v) => v.cases().any(|c| c.ty.as_ref().is_some_and(unbounded)),
        Type::Option(o) => unbounded(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_some_and(unbounded) || r.err().as_ref().is_some_and(unbounded)
        }
        _ => false,
    }
}

/// Adds the names `ty` turns into atoms to `names`.
pub fn collect_names(ty: &Type, names: &mut HashSet<String>) {
    match ty {
        Type::List(l) => collect_names(&l.ty(), names),
        Type::FixedLengthList(l) => collect_names(&l.ty(), names),
        Type::Map(m) => {
            collect_names(&m.key(), names);
            collect_names(&m.value(), names);
        }
        Type::Record(r) => {
            for field in r.fields() {
                names.insert(field.name.to_owned());
                collect_names(&field.ty, names);
            }
        }
        Type::Tuple(t) => t.types().for_each(|t| collect_names(&t, names)),
        Type::Variant(v) => {
            for case in v.cases() {
                names.insert(case.name.to_owned());
                if let Some(ty) = &case.ty {
                    collect_names(ty, names);
                }
            }
        }
        Type::Enum(e) => names.extend(e.names().map(str::to_owned)),
        Type::Flags(f) => names.extend(f.names().map(str::to_owned)),
        Type::Option(o) => collect_names(&o.ty(), names),
        Type::Result(r) => {
            if let Some(ok) = r.ok() {
                collect_names(&ok, names);
            }
            if let Some(err) = r.err() {
                collect_names(&err, names);
            }
        }
        _ => {}
    }
}

/// The atom of a WIT name: kebab-case becomes snake_case (`deep-blue` is
/// `deep_blue`), which WIT names cannot otherwise contain, so the mapping
/// goes both ways.
pub fn atom_name(name: &str) -> String {
    name.replace('-', "_")
}
