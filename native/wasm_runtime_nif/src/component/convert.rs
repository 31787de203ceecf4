//! Erlang terms and component values, by WIT type: the one table of
//! docs/components.md, in both directions.
//!
//! Conversion is host work between slices that cannot yield, so it is
//! counted ([`Work`]): past [`NORMAL_SCHEDULER_WORK`] on a normal
//! scheduler it stops with [`Refusal::TooMuch`] and the call continues on
//! a dirty one.

use rustler::types::tuple::{get_tuple, make_tuple};
use rustler::{Binary, Encoder, Env, NewBinary, Term, TermType};
use wasmtime::component::types::Type;
use wasmtime::component::Val;

use super::handle::{self, Owner};
use super::types::{atom_name, wit, ResourceNames};
use crate::atoms;
use crate::values::{self, NumType};

/// Units of conversion a normal scheduler does in one go: each value is
/// one (with its lowering into the guest, about 80 ns), each byte of a
/// `list<u8>` one, each 64 bytes of a string one. About 1 ms
/// (docs/components.md, "Costs").
pub const NORMAL_SCHEDULER_WORK: usize = 10_000;

/// Conversion work left before the scheduler must be handed back.
pub struct Work {
    left: Option<usize>,
}

impl Work {
    /// Work on a normal scheduler (`bounded`) or a dirty one.
    pub fn new(bounded: bool) -> Self {
        Work {
            left: bounded.then_some(NORMAL_SCHEDULER_WORK),
        }
    }

    fn spend(&mut self, units: usize) -> Result<(), Refusal> {
        match &mut self.left {
            Some(left) if *left < units => Err(Refusal::TooMuch),
            Some(left) => {
                *left -= units;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A string of `len` bytes: copied whole.
    fn text(&mut self, len: usize) -> Result<(), Refusal> {
        self.spend(1 + len / 64)
    }
}

/// Why a term is not a value of its type.
pub enum Refusal {
    /// Where in the argument (`.field`, `[index]`, ...), innermost last,
    /// and the type expected there.
    Shape(Vec<String>, String),
    /// A resource handle that cannot be used here.
    Handle(Vec<String>, handle::Unusable),
    /// More work than a normal scheduler does at once.
    TooMuch,
}

impl Refusal {
    fn at(mut self, step: impl FnOnce() -> String) -> Self {
        if let Refusal::Shape(path, _) | Refusal::Handle(path, _) = &mut self {
            path.push(step());
        }
        self
    }
}

fn refuse<T>(ty: &Type, resources: &ResourceNames) -> Result<T, Refusal> {
    Err(Refusal::Shape(Vec::new(), wit(ty, resources)))
}

/// What converting into values needs besides the term and its type.
pub struct Into<'r> {
    pub resources: &'r ResourceNames,
    pub owner: &'r Owner,
    /// Handles passed as `own`: the guest takes them when the call starts.
    pub moved: Vec<handle::Moved>,
    pub work: Work,
}

impl Into<'_> {
    /// The value of `term` as a `ty`.
    pub fn value(&mut self, term: Term, ty: &Type) -> Result<Val, Refusal> {
        self.work.spend(1)?;
        let int = |term: Term, min: i128, max: i128| -> Option<i128> {
            let value = term
                .decode::<i64>()
                .map(i128::from)
                .or_else(|_| term.decode::<u64>().map(i128::from))
                .ok()?;
            (min..=max).contains(&value).then_some(value)
        };
        let r = self.resources;
        let shape = || Refusal::Shape(Vec::new(), wit(ty, r));
        Ok(match ty {
            Type::Bool => match term.decode::<bool>() {
                Ok(b) => Val::Bool(b),
                Err(_) => return refuse(ty, r),
            },
            Type::S8 => Val::S8(int(term, i8::MIN.into(), i8::MAX.into()).ok_or_else(shape)? as i8),
            Type::U8 => Val::U8(int(term, 0, u8::MAX.into()).ok_or_else(shape)? as u8),
            Type::S16 => {
                Val::S16(int(term, i16::MIN.into(), i16::MAX.into()).ok_or_else(shape)? as i16)
            }
            Type::U16 => Val::U16(int(term, 0, u16::MAX.into()).ok_or_else(shape)? as u16),
            Type::S32 => {
                Val::S32(int(term, i32::MIN.into(), i32::MAX.into()).ok_or_else(shape)? as i32)
            }
            Type::U32 => Val::U32(int(term, 0, u32::MAX.into()).ok_or_else(shape)? as u32),
            Type::S64 => {
                Val::S64(int(term, i64::MIN.into(), i64::MAX.into()).ok_or_else(shape)? as i64)
            }
            Type::U64 => Val::U64(int(term, 0, u64::MAX.into()).ok_or_else(shape)? as u64),
            Type::Float32 => match values::to_val(term, NumType::F32) {
                Some(wasmtime::Val::F32(bits)) => Val::Float32(f32::from_bits(bits)),
                _ => return refuse(ty, r),
            },
            Type::Float64 => match values::to_val(term, NumType::F64) {
                Some(wasmtime::Val::F64(bits)) => Val::Float64(f64::from_bits(bits)),
                _ => return refuse(ty, r),
            },
            Type::Char => match term.decode::<u32>().ok().and_then(char::from_u32) {
                Some(c) => Val::Char(c),
                None => return refuse(ty, r),
            },
            Type::String => match self.string(term) {
                Ok(text) => Val::String(text),
                Err(Some(refusal)) => return Err(refusal),
                Err(None) => return refuse(ty, r),
            },
            Type::List(list) => {
                let element = list.ty();
                if matches!(element, Type::U8) && term.is_binary() {
                    let bytes = term
                        .decode::<Binary>()
                        .map_err(|_| Refusal::Shape(Vec::new(), wit(ty, r)))?;
                    self.work.spend(1 + bytes.len())?;
                    Val::List(bytes.as_slice().iter().map(|b| Val::U8(*b)).collect())
                } else {
                    Val::List(self.list(term, &element, None).or_else(|e| match e {
                        None => refuse(ty, r),
                        Some(e) => Err(e),
                    })?)
                }
            }
            Type::FixedLengthList(list) => {
                let len = list.len() as usize;
                Val::FixedLengthList(self.list(term, &list.ty(), Some(len)).or_else(
                    |e| match e {
                        None => refuse(ty, r),
                        Some(e) => Err(e),
                    },
                )?)
            }
            Type::Map(map) => {
                if term.get_type() != TermType::Map {
                    return refuse(ty, r);
                }
                let (key_ty, value_ty) = (map.key(), map.value());
                let mut pairs = Vec::new();
                for (key, value) in term
                    .decode::<rustler::MapIterator>()
                    .map_err(|_| Refusal::Shape(Vec::new(), wit(ty, r)))?
                {
                    let k = self
                        .value(key, &key_ty)
                        .map_err(|e| e.at(|| "{key}".into()))?;
                    let v = self
                        .value(value, &value_ty)
                        .map_err(|e| e.at(|| "{value}".into()))?;
                    pairs.push((k, v));
                }
                Val::Map(pairs)
            }
            Type::Record(record) => {
                if term.get_type() != TermType::Map
                    || term.map_size().ok() != Some(record.fields().len())
                {
                    return refuse(ty, r);
                }
                let env = term.get_env();
                let mut fields = Vec::with_capacity(record.fields().len());
                for field in record.fields() {
                    let key = rustler::Atom::from_str(env, &atom_name(field.name))
                        .map_err(|_| Refusal::Shape(Vec::new(), wit(ty, r)))?;
                    let Ok(value) = term.map_get(key) else {
                        return refuse(ty, r);
                    };
                    let value = self
                        .value(value, &field.ty)
                        .map_err(|e| e.at(|| format!(".{}", atom_name(field.name))))?;
                    fields.push((field.name.to_owned(), value));
                }
                Val::Record(fields)
            }
            Type::Tuple(tuple) => {
                let items = get_tuple(term).or_else(|_| refuse(ty, r))?;
                if items.len() != tuple.types().len() {
                    return refuse(ty, r);
                }
                let mut values = Vec::with_capacity(items.len());
                for (i, (item, ty)) in items.iter().zip(tuple.types()).enumerate() {
                    values.push(
                        self.value(*item, &ty)
                            .map_err(|e| e.at(|| format!("{{{}}}", i + 1)))?,
                    );
                }
                Val::Tuple(values)
            }
            Type::Variant(variant) => {
                let (tag, payload) = tagged(term);
                let Some(tag) = tag else { return refuse(ty, r) };
                let Some(case) = variant.cases().find(|c| atom_name(c.name) == tag) else {
                    return refuse(ty, r);
                };
                let value = match (&case.ty, payload) {
                    (None, None) => None,
                    (Some(case_ty), Some(payload)) => Some(Box::new(
                        self.value(payload, case_ty)
                            .map_err(|e| e.at(|| format!("{{{tag}}}")))?,
                    )),
                    _ => return refuse(ty, r),
                };
                Val::Variant(case.name.to_owned(), value)
            }
            Type::Enum(e) => {
                match atom_text(term).and_then(|t| e.names().find(|n| atom_name(n) == t)) {
                    Some(name) => Val::Enum(name.to_owned()),
                    None => return refuse(ty, r),
                }
            }
            Type::Option(option) => match tagged(term) {
                (Some(tag), None) if tag == "none" => Val::Option(None),
                (Some(tag), Some(payload)) if tag == "some" => Val::Option(Some(Box::new(
                    self.value(payload, &option.ty())
                        .map_err(|e| e.at(|| "{some}".into()))?,
                ))),
                _ => return refuse(ty, r),
            },
            Type::Result(result) => {
                let (tag, payload) = tagged(term);
                let (ok, case_ty) = match tag.as_deref() {
                    Some("ok") => (true, result.ok()),
                    Some("error") => (false, result.err()),
                    _ => return refuse(ty, r),
                };
                let value = match (case_ty, payload) {
                    (None, None) => None,
                    (Some(case_ty), Some(payload)) => {
                        let tag = if ok { "{ok}" } else { "{error}" };
                        Some(Box::new(
                            self.value(payload, &case_ty)
                                .map_err(|e| e.at(|| tag.into()))?,
                        ))
                    }
                    _ => return refuse(ty, r),
                };
                Val::Result(if ok { Ok(value) } else { Err(value) })
            }
            Type::Flags(flags) => {
                let mut set = Vec::new();
                let Some(items) = proper_list(term) else {
                    return refuse(ty, r);
                };
                for item in items {
                    self.work.spend(1)?;
                    let Some(name) =
                        atom_text(item).and_then(|t| flags.names().find(|n| atom_name(n) == t))
                    else {
                        return refuse(ty, r);
                    };
                    if set.iter().any(|known: &String| known == name) {
                        return refuse(ty, r);
                    }
                    set.push(name.to_owned());
                }
                Val::Flags(set)
            }
            Type::Own(resource) | Type::Borrow(resource) => {
                let own = matches!(ty, Type::Own(_));
                match handle::lend(term, self.owner, resource, own, &mut self.moved) {
                    Ok(any) => Val::Resource(any),
                    Err(Some(why)) => return Err(Refusal::Handle(Vec::new(), why)),
                    Err(None) => return refuse(ty, r),
                }
            }
            Type::Future(_) | Type::Stream(_) | Type::ErrorContext => return refuse(ty, r),
        })
    }

    /// A string: a UTF-8 binary, or a list of code points.
    /// `Err(None)` for a term of another shape.
    fn string(&mut self, term: Term) -> Result<String, Option<Refusal>> {
        if let Ok(binary) = term.decode::<Binary>() {
            self.work.text(binary.len()).map_err(Some)?;
            return std::str::from_utf8(binary.as_slice())
                .map(str::to_owned)
                .map_err(|_| None);
        }
        let items = proper_list(term).ok_or(None)?;
        let mut text = String::new();
        for item in items {
            self.work.spend(1).map_err(Some)?;
            let c = item.decode::<u32>().ok().and_then(char::from_u32);
            text.push(c.ok_or(None)?);
        }
        Ok(text)
    }

    /// The elements of a proper list; `None` for a term of another shape.
    fn list(
        &mut self,
        term: Term,
        element: &Type,
        len: Option<usize>,
    ) -> Result<Vec<Val>, Option<Refusal>> {
        let items = proper_list(term).ok_or(None)?;
        let mut values = Vec::with_capacity(term.list_length().unwrap_or(0));
        for (i, item) in items.enumerate() {
            values.push(
                self.value(item, element)
                    .map_err(|e| Some(e.at(|| format!("[{i}]"))))?,
            );
        }
        if len.is_some_and(|len| len != values.len()) {
            return Err(None);
        }
        Ok(values)
    }
}

/// The elements of a proper list (an iterator would end an improper one
/// at its tail as if it were `[]`).
fn proper_list(term: Term) -> Option<rustler::ListIterator> {
    term.list_length().ok()?;
    term.decode::<rustler::ListIterator>().ok()
}

/// `Tag` or `{Tag, Payload}`, with the tag's text.
fn tagged(term: Term) -> (Option<String>, Option<Term>) {
    if let Some(tag) = atom_text(term) {
        return (Some(tag), None);
    }
    match get_tuple(term) {
        Ok(items) if items.len() == 2 => match atom_text(items[0]) {
            Some(tag) => (Some(tag), Some(items[1])),
            None => (None, None),
        },
        _ => (None, None),
    }
}

fn atom_text(term: Term) -> Option<String> {
    term.is_atom().then(|| term.atom_to_string().ok()).flatten()
}

/// What converting values into terms needs.
pub struct Out<'a, 'r> {
    pub env: Env<'a>,
    pub owner: &'r Owner,
    pub work: Work,
}

impl<'a> Out<'a, '_> {
    /// The term of `value`, a `ty`.
    pub fn term(&mut self, value: &Val, ty: &Type) -> Result<Term<'a>, Refusal> {
        self.work.spend(1)?;
        let env = self.env;
        let atom = |name: &str| -> Term<'a> {
            rustler::Atom::from_str(env, &atom_name(name))
                .map(|a| a.encode(env))
                .unwrap_or_else(|_| atoms::undefined().encode(env))
        };
        Ok(match (value, ty) {
            (Val::Bool(b), _) => b.encode(env),
            (Val::S8(i), _) => i.encode(env),
            (Val::U8(i), _) => i.encode(env),
            (Val::S16(i), _) => i.encode(env),
            (Val::U16(i), _) => i.encode(env),
            (Val::S32(i), _) => i.encode(env),
            (Val::U32(i), _) => i.encode(env),
            (Val::S64(i), _) => i.encode(env),
            (Val::U64(i), _) => i.encode(env),
            (Val::Float32(f), _) => values::float_term(env, f64::from(*f)),
            (Val::Float64(f), _) => values::float_term(env, *f),
            (Val::Char(c), _) => (*c as u32).encode(env),
            (Val::String(s), _) => {
                self.work.text(s.len())?;
                binary(env, s.as_bytes())
            }
            (Val::List(items), Type::List(list)) if matches!(list.ty(), Type::U8) => {
                self.work.spend(1 + items.len())?;
                let bytes: Vec<u8> = items
                    .iter()
                    .map(|v| match v {
                        Val::U8(b) => *b,
                        _ => 0,
                    })
                    .collect();
                binary(env, &bytes)
            }
            (Val::List(items), Type::List(list)) => self.list(items, &list.ty())?,
            (Val::FixedLengthList(items), Type::FixedLengthList(list)) => {
                self.list(items, &list.ty())?
            }
            (Val::Map(pairs), Type::Map(map)) => {
                let (key_ty, value_ty) = (map.key(), map.value());
                let mut keys = Vec::with_capacity(pairs.len());
                let mut values = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    keys.push(self.term(k, &key_ty)?);
                    values.push(self.term(v, &value_ty)?);
                }
                // Later duplicates win, as the component model says.
                let mut map = Term::map_new(env);
                for (k, v) in keys.into_iter().zip(values) {
                    map = map.map_put(k, v).unwrap_or(map);
                }
                map
            }
            (Val::Record(fields), Type::Record(record)) => {
                let mut keys = Vec::with_capacity(fields.len());
                let mut values = Vec::with_capacity(fields.len());
                for ((name, value), field) in fields.iter().zip(record.fields()) {
                    keys.push(atom(name));
                    values.push(self.term(value, &field.ty)?);
                }
                Term::map_from_arrays(env, &keys, &values).unwrap_or_else(|_| Term::map_new(env))
            }
            (Val::Tuple(items), Type::Tuple(tuple)) => {
                let mut terms = Vec::with_capacity(items.len());
                for (item, ty) in items.iter().zip(tuple.types()) {
                    terms.push(self.term(item, &ty)?);
                }
                make_tuple(env, &terms)
            }
            (Val::Variant(name, payload), Type::Variant(variant)) => {
                let case_ty = variant.cases().find(|c| c.name == name).and_then(|c| c.ty);
                match (payload, case_ty) {
                    (Some(payload), Some(case_ty)) => {
                        let payload = self.term(payload, &case_ty)?;
                        make_tuple(env, &[atom(name), payload])
                    }
                    _ => atom(name),
                }
            }
            (Val::Enum(name), _) => atom(name),
            (Val::Option(None), _) => atoms::none().encode(env),
            (Val::Option(Some(value)), Type::Option(option)) => {
                let value = self.term(value, &option.ty())?;
                make_tuple(env, &[atoms::some().encode(env), value])
            }
            (Val::Result(result), Type::Result(types)) => {
                let (tag, payload, case_ty) = match result {
                    Ok(payload) => (atoms::ok(), payload, types.ok()),
                    Err(payload) => (atoms::error(), payload, types.err()),
                };
                match (payload, case_ty) {
                    (Some(payload), Some(case_ty)) => {
                        let payload = self.term(payload, &case_ty)?;
                        make_tuple(env, &[tag.encode(env), payload])
                    }
                    _ => tag.encode(env),
                }
            }
            (Val::Flags(names), _) => {
                let terms: Vec<Term> = names.iter().map(|n| atom(n)).collect();
                terms.encode(env)
            }
            (Val::Resource(any), Type::Own(resource) | Type::Borrow(resource)) => {
                handle::wrap(env, self.owner, *any, *resource)
            }
            // A value whose shape is not its type's, or of the asynchronous
            // ABI, which the library refuses when it compiles a component.
            _ => atoms::undefined().encode(env),
        })
    }

    fn list(&mut self, items: &[Val], element: &Type) -> Result<Term<'a>, Refusal> {
        let mut terms = Vec::with_capacity(items.len());
        for item in items {
            terms.push(self.term(item, element)?);
        }
        Ok(terms.encode(self.env))
    }
}

/// Whether converting `values` into terms takes more than `cap` units:
/// counted without converting, and no further than `cap`.
pub fn units_over(values: &[Val], cap: usize) -> bool {
    fn count(value: &Val, left: &mut usize) -> bool {
        let units = match value {
            Val::String(s) => 1 + s.len() / 64,
            _ => 1,
        };
        if *left < units {
            return false;
        }
        *left -= units;
        match value {
            Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
                items.iter().all(|v| count(v, left))
            }
            Val::Record(fields) => fields.iter().all(|(_, v)| count(v, left)),
            Val::Map(pairs) => pairs.iter().all(|(k, v)| count(k, left) && count(v, left)),
            Val::Variant(_, Some(v)) | Val::Option(Some(v)) => count(v, left),
            Val::Result(Ok(Some(v)) | Err(Some(v))) => count(v, left),
            Val::Flags(names) => {
                let ok = *left >= names.len();
                *left = left.saturating_sub(names.len());
                ok
            }
            _ => true,
        }
    }
    let mut left = cap;
    !values.iter().all(|v| count(v, &mut left))
}

fn binary<'a>(env: Env<'a>, bytes: &[u8]) -> Term<'a> {
    let mut binary = NewBinary::new(env, bytes.len());
    binary.as_mut_slice().copy_from_slice(bytes);
    Binary::from(binary).encode(env)
}
