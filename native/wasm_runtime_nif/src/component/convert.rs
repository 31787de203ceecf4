//! Erlang terms and component values, by WIT type: the one table of
//! docs/components.md, in both directions.
//!
//! Conversion is host work that cannot yield, so turning terms into values
//! is counted ([`Work`]): past [`NORMAL_SCHEDULER_WORK`] on a normal
//! scheduler it stops with [`Refusal::TooMuch`] and the call continues on
//! a dirty one. Values made are bounded too, whatever the scheduler
//! ([`MAX_VALUES`]). Names are compared and made as atoms the component
//! made when it was compiled ([`Atoms`]), never as strings.

use std::collections::HashMap;
use std::mem::MaybeUninit;

use rustler::sys;
use rustler::types::tuple::{get_tuple, make_tuple};
use rustler::{Atom, Binary, Encoder, Env, NewBinary, Term, TermType};
use wasmtime::component::types::Type;
use wasmtime::component::Val;

use super::handle::{self, Owner};
use super::types::{wit, ResourceNames};
use super::MAX_LIFT_BYTES;
use crate::atoms;
use crate::values::{self, NumType};

/// Units of conversion a normal scheduler does in one go: each value is
/// one (with its lowering into the guest, about 80 ns), each byte of a
/// `list<u8>` one, each 64 bytes of a string one, a case looked up among
/// many one per 64 cases. About 1 ms (docs/design.md, "Tuning constants").
pub const NORMAL_SCHEDULER_WORK: usize = 10_000;

/// Values the arguments of one call may make, as many as a result may
/// (`MAX_LIFT_BYTES`): each is a `Val` of 48 bytes, a `list<u8>`'s bytes
/// included.
pub const MAX_VALUES: usize = MAX_LIFT_BYTES / std::mem::size_of::<Val>();

/// The atoms of a component's names (record fields, cases, enum and flag
/// names), by WIT name, made when it is compiled.
#[derive(Default)]
pub struct Atoms(HashMap<String, Atom>);

impl Atoms {
    pub fn new(atoms: HashMap<String, Atom>) -> Self {
        Atoms(atoms)
    }

    fn of(&self, name: &str) -> Option<Atom> {
        self.0.get(name).copied()
    }

    /// Whether `term` is the atom of `name`.
    fn is(&self, term: Term, name: &str) -> bool {
        self.of(name)
            .is_some_and(|atom| atom.as_c_arg() == term.as_c_arg())
    }
}

/// Conversion work left before the scheduler must be handed back.
pub struct Work {
    left: Option<usize>,
    values: usize,
}

impl Work {
    /// Work on a normal scheduler (`bounded`) or a dirty one.
    pub fn new(bounded: bool) -> Self {
        Work {
            left: bounded.then_some(NORMAL_SCHEDULER_WORK),
            values: MAX_VALUES,
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

    /// `count` values made.
    fn make(&mut self, count: usize) -> Result<(), Refusal> {
        self.spend(count)?;
        match self.values.checked_sub(count) {
            Some(left) => {
                self.values = left;
                Ok(())
            }
            None => Err(Refusal::TooLarge),
        }
    }

    /// A string of `len` bytes: one value, copied whole.
    fn text(&mut self, len: usize) -> Result<(), Refusal> {
        self.make(1)?;
        self.spend(len / 64)
    }

    /// Share of a BEAM timeslice (1 ms) the work done so far took: a
    /// component call reports it, since a process making calls in a loop
    /// is otherwise charged a few reductions for each.
    pub fn timeslice_percent(&self) -> i32 {
        let done = self.left.map_or(0, |left| NORMAL_SCHEDULER_WORK - left);
        (1 + done * 100 / NORMAL_SCHEDULER_WORK).min(100) as i32
    }

    /// The length of the proper list `term`, each cell counted as one
    /// unit, walked no further than the work and the values left allow;
    /// `None` for a term that is no proper list.
    fn cells(&mut self, mut term: Term) -> Result<Option<usize>, Refusal> {
        let cap = self.values.min(self.left.unwrap_or(usize::MAX));
        let mut count = 0;
        while let Some((_, tail)) = cell(term) {
            if count == cap {
                return Err(match self.left {
                    Some(left) if left <= self.values => Refusal::TooMuch,
                    _ => Refusal::TooLarge,
                });
            }
            count += 1;
            term = tail;
        }
        if !term.is_empty_list() {
            return Ok(None);
        }
        self.spend(count)?;
        Ok(Some(count))
    }

    /// A name looked up among `names`.
    fn look_up(&mut self, names: usize) -> Result<(), Refusal> {
        self.spend(names / 64)
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
    /// More values than one call may pass.
    TooLarge,
}

impl Refusal {
    fn at(mut self, step: impl FnOnce() -> String) -> Self {
        if let Refusal::Shape(path, _) | Refusal::Handle(path, _) = &mut self {
            path.push(step());
        }
        self
    }
}

/// Turns terms into the values of a call's arguments, or of an import
/// fun's result.
pub struct ToValues<'r> {
    pub resources: &'r ResourceNames,
    pub atoms: &'r Atoms,
    pub owner: &'r Owner,
    /// Handles lent to the call: the guest takes those passed as `own`
    /// when it starts.
    pub lent: Vec<handle::Lent>,
    pub work: Work,
}

impl ToValues<'_> {
    fn refuse<T>(&self, ty: &Type) -> Result<T, Refusal> {
        Err(Refusal::Shape(Vec::new(), wit(ty, self.resources)))
    }

    /// The value of `term` as a `ty`.
    pub fn value(&mut self, term: Term, ty: &Type) -> Result<Val, Refusal> {
        self.work.make(1)?;
        Ok(match ty {
            Type::String => match self.string(term)? {
                Some(text) => Val::String(text),
                None => return self.refuse(ty),
            },
            Type::List(list) => {
                let element = list.ty();
                match term.decode::<Binary>() {
                    Ok(bytes) if matches!(element, Type::U8) => {
                        self.work.make(bytes.len())?;
                        Val::List(bytes.as_slice().iter().map(|b| Val::U8(*b)).collect())
                    }
                    _ => match self.list(term, &element, None)? {
                        Some(values) => Val::List(values),
                        None => return self.refuse(ty),
                    },
                }
            }
            Type::FixedLengthList(list) => {
                let len = list.len() as usize;
                match self.list(term, &list.ty(), Some(len))? {
                    Some(values) => Val::FixedLengthList(values),
                    None => return self.refuse(ty),
                }
            }
            Type::Map(map) => {
                let Ok(pairs) = term.decode::<rustler::MapIterator>() else {
                    return self.refuse(ty);
                };
                let (key_ty, value_ty) = (map.key(), map.value());
                let mut values = Vec::new();
                for (key, value) in pairs {
                    let k = self
                        .value(key, &key_ty)
                        .map_err(|e| e.at(|| "{key}".into()))?;
                    let v = self
                        .value(value, &value_ty)
                        .map_err(|e| e.at(|| "{value}".into()))?;
                    values.push((k, v));
                }
                Val::Map(values)
            }
            Type::Record(record) => {
                let fields = record.fields().len();
                if term.get_type() != TermType::Map || term.map_size().ok() != Some(fields) {
                    return self.refuse(ty);
                }
                let mut values = Vec::with_capacity(fields);
                for field in record.fields() {
                    let value = self
                        .atoms
                        .of(field.name)
                        .and_then(|key| term.map_get(key).ok());
                    let Some(value) = value else {
                        return self.refuse(ty);
                    };
                    let value = self
                        .value(value, &field.ty)
                        .map_err(|e| e.at(|| format!(".{}", field.name.replace('-', "_"))))?;
                    values.push((field.name.to_owned(), value));
                }
                Val::Record(values)
            }
            Type::Tuple(tuple) => {
                let Ok(items) = get_tuple(term) else {
                    return self.refuse(ty);
                };
                if items.len() != tuple.types().len() {
                    return self.refuse(ty);
                }
                let mut values = Vec::with_capacity(items.len());
                for (i, (item, ty)) in items.iter().zip(tuple.types()).enumerate() {
                    let value = self
                        .value(*item, &ty)
                        .map_err(|e| e.at(|| format!("{{{}}}", i + 1)))?;
                    values.push(value);
                }
                Val::Tuple(values)
            }
            Type::Variant(variant) => {
                let (tag, payload) = tagged(term);
                self.work.look_up(variant.cases().len())?;
                let Some(case) = variant.cases().find(|c| self.atoms.is(tag, c.name)) else {
                    return self.refuse(ty);
                };
                let value = match (&case.ty, payload) {
                    (None, None) => None,
                    (Some(case_ty), Some(payload)) => {
                        let at = || format!("{{{}}}", case.name.replace('-', "_"));
                        Some(Box::new(
                            self.value(payload, case_ty).map_err(|e| e.at(at))?,
                        ))
                    }
                    _ => return self.refuse(ty),
                };
                Val::Variant(case.name.to_owned(), value)
            }
            Type::Enum(e) => {
                self.work.look_up(e.names().len())?;
                match e.names().find(|name| self.atoms.is(term, name)) {
                    Some(name) => Val::Enum(name.to_owned()),
                    None => return self.refuse(ty),
                }
            }
            Type::Option(option) => match tagged(term) {
                (tag, None) if tag.as_c_arg() == atoms::none().as_c_arg() => Val::Option(None),
                (tag, Some(payload)) if tag.as_c_arg() == atoms::some().as_c_arg() => {
                    let value = self
                        .value(payload, &option.ty())
                        .map_err(|e| e.at(|| "{some}".into()))?;
                    Val::Option(Some(Box::new(value)))
                }
                _ => return self.refuse(ty),
            },
            Type::Result(result) => {
                let (tag, payload) = tagged(term);
                let (ok, case_ty, at) = if tag.as_c_arg() == atoms::ok().as_c_arg() {
                    (true, result.ok(), "{ok}")
                } else if tag.as_c_arg() == atoms::error().as_c_arg() {
                    (false, result.err(), "{error}")
                } else {
                    return self.refuse(ty);
                };
                let value = match (case_ty, payload) {
                    (None, None) => None,
                    (Some(case_ty), Some(payload)) => Some(Box::new(
                        self.value(payload, &case_ty)
                            .map_err(|e| e.at(|| at.into()))?,
                    )),
                    _ => return self.refuse(ty),
                };
                Val::Result(if ok { Ok(value) } else { Err(value) })
            }
            Type::Flags(flags) => {
                let Some(items) = self.cells(term)? else {
                    return self.refuse(ty);
                };
                let mut set: Vec<String> = Vec::new();
                for item in items {
                    self.work.look_up(flags.names().len())?;
                    let Some(name) = flags.names().find(|name| self.atoms.is(item, name)) else {
                        return self.refuse(ty);
                    };
                    if set.iter().any(|known| known == name) {
                        return self.refuse(ty);
                    }
                    set.push(name.to_owned());
                }
                Val::Flags(set)
            }
            Type::Own(resource) | Type::Borrow(resource) => {
                let own = matches!(ty, Type::Own(_));
                match handle::lend(term, self.owner, resource, own, &mut self.lent) {
                    Ok(any) => Val::Resource(any),
                    Err(Some(why)) => return Err(Refusal::Handle(Vec::new(), why)),
                    Err(None) => return self.refuse(ty),
                }
            }
            Type::Future(_) | Type::Stream(_) | Type::ErrorContext => return self.refuse(ty),
            // Numbers, bools and chars.
            _ => match scalar(term, ty) {
                Some(value) => value,
                None => return self.refuse(ty),
            },
        })
    }

    /// A string: a UTF-8 binary, or a list of code points; `None` for a
    /// term of another shape.
    fn string(&mut self, term: Term) -> Result<Option<String>, Refusal> {
        if let Ok(binary) = term.decode::<Binary>() {
            self.work.text(binary.len())?;
            return Ok(std::str::from_utf8(binary.as_slice())
                .ok()
                .map(str::to_owned));
        }
        let Some(items) = self.cells(term)? else {
            return Ok(None);
        };
        let text: Option<String> = items
            .iter()
            .map(|item| item.decode::<u32>().ok().and_then(char::from_u32))
            .collect();
        Ok(text)
    }

    /// The elements of a proper list as values; `None` for a term of
    /// another shape, or a list of another length than `len`.
    fn list(
        &mut self,
        mut term: Term,
        element: &Type,
        len: Option<usize>,
    ) -> Result<Option<Vec<Val>>, Refusal> {
        // The cells are counted before any is converted: a list too long
        // for a normal scheduler goes to a dirty one before work is spent
        // on it, and the values are made into a vector of their size.
        let count = match self.work.cells(term)? {
            Some(count) if len.is_none_or(|len| len == count) => count,
            _ => return Ok(None),
        };
        // Numbers, the most common elements, are read without the walk
        // through `value`: a list of them is converted at a few ns each.
        let numbers = is_scalar(element);
        if numbers {
            self.work.make(count)?;
        }
        let mut values = Vec::with_capacity(count);
        for at in 0..count {
            let Some((head, tail)) = cell(term) else {
                unreachable!("a cell of a list counted as proper");
            };
            let value = match numbers {
                true => scalar(head, element),
                false => Some(
                    self.value(head, element)
                        .map_err(|e| e.at(|| format!("[{at}]")))?,
                ),
            };
            match value {
                Some(value) => values.push(value),
                None => return self.refuse(element).map_err(|e| e.at(|| format!("[{at}]"))),
            }
            term = tail;
        }
        Ok(Some(values))
    }

    /// The elements of a proper list, each cell counted;
    /// `None` for a term that is no proper list.
    fn cells<'a>(&mut self, term: Term<'a>) -> Result<Option<Vec<Term<'a>>>, Refusal> {
        Ok(match self.work.cells(term)? {
            Some(_) => term.decode().ok(),
            None => None,
        })
    }
}

/// The head and tail of a list cell, read in place: lists are walked
/// cell by cell for every element converted.
fn cell(term: Term) -> Option<(Term, Term)> {
    let env = term.get_env();
    let (mut head, mut tail) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    // SAFETY: `term` is a term of `env`; the cells are written when it is
    // a non-empty list, and read only then.
    unsafe {
        let found = sys::enif_get_list_cell(
            env.as_c_arg(),
            term.as_c_arg(),
            head.as_mut_ptr(),
            tail.as_mut_ptr(),
        );
        (found != 0).then(|| {
            (
                Term::new(env, head.assume_init()),
                Term::new(env, tail.assume_init()),
            )
        })
    }
}

/// `Tag` or `{Tag, Payload}`.
fn tagged(term: Term) -> (Term, Option<Term>) {
    match get_tuple(term) {
        Ok(items) if items.len() == 2 => (items[0], Some(items[1])),
        _ => (term, None),
    }
}

/// Turns values into terms: a call's result, an import's arguments.
pub struct ToTerms<'a, 'r> {
    pub env: Env<'a>,
    pub atoms: &'r Atoms,
    pub owner: &'r Owner,
}

impl<'a> ToTerms<'a, '_> {
    fn atom(&self, name: &str) -> Term<'a> {
        // Every name of the component's types has its atom.
        self.atoms
            .of(name)
            .unwrap_or_else(atoms::undefined)
            .encode(self.env)
    }

    /// The term of `value`, a `ty`.
    pub fn term(&self, value: &Val, ty: &Type) -> Term<'a> {
        let env = self.env;
        match (value, ty) {
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
            (Val::String(s), _) => binary(env, s.as_bytes()),
            (Val::List(items), Type::List(list)) if matches!(list.ty(), Type::U8) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .map(|v| match v {
                        Val::U8(b) => *b,
                        _ => 0,
                    })
                    .collect();
                binary(env, &bytes)
            }
            (Val::List(items), Type::List(list)) => self.list(items, &list.ty()),
            (Val::FixedLengthList(items), Type::FixedLengthList(list)) => {
                self.list(items, &list.ty())
            }
            (Val::Map(pairs), Type::Map(map)) => {
                let (key_ty, value_ty) = (map.key(), map.value());
                // Later duplicates win, as the component model says.
                pairs.iter().fold(Term::map_new(env), |map, (k, v)| {
                    let (k, v) = (self.term(k, &key_ty), self.term(v, &value_ty));
                    map.map_put(k, v).unwrap_or(map)
                })
            }
            (Val::Record(fields), Type::Record(record)) => {
                let keys: Vec<Term> = fields.iter().map(|(name, _)| self.atom(name)).collect();
                let values: Vec<Term> = fields
                    .iter()
                    .zip(record.fields())
                    .map(|((_, value), field)| self.term(value, &field.ty))
                    .collect();
                Term::map_from_arrays(env, &keys, &values).unwrap_or_else(|_| Term::map_new(env))
            }
            (Val::Tuple(items), Type::Tuple(tuple)) => {
                let terms: Vec<Term> = items
                    .iter()
                    .zip(tuple.types())
                    .map(|(item, ty)| self.term(item, &ty))
                    .collect();
                make_tuple(env, &terms)
            }
            (Val::Variant(name, payload), Type::Variant(variant)) => {
                let case_ty = variant.cases().find(|c| c.name == name).and_then(|c| c.ty);
                match (payload, case_ty) {
                    (Some(payload), Some(case_ty)) => {
                        make_tuple(env, &[self.atom(name), self.term(payload, &case_ty)])
                    }
                    _ => self.atom(name),
                }
            }
            (Val::Enum(name), _) => self.atom(name),
            (Val::Option(None), _) => atoms::none().encode(env),
            (Val::Option(Some(value)), Type::Option(option)) => make_tuple(
                env,
                &[atoms::some().encode(env), self.term(value, &option.ty())],
            ),
            (Val::Result(result), Type::Result(types)) => {
                let (tag, payload, case_ty) = match result {
                    Ok(payload) => (atoms::ok(), payload, types.ok()),
                    Err(payload) => (atoms::error(), payload, types.err()),
                };
                match (payload, case_ty) {
                    (Some(payload), Some(case_ty)) => {
                        make_tuple(env, &[tag.encode(env), self.term(payload, &case_ty)])
                    }
                    _ => tag.encode(env),
                }
            }
            (Val::Flags(names), _) => {
                let terms: Vec<Term> = names.iter().map(|n| self.atom(n)).collect();
                terms.encode(env)
            }
            (Val::Resource(any), Type::Own(resource) | Type::Borrow(resource)) => {
                handle::wrap(env, self.owner, *any, *resource)
            }
            // A value whose shape is not its type's, or of the asynchronous
            // ABI, which the library leaves out when it compiles a component.
            _ => atoms::undefined().encode(env),
        }
    }

    fn list(&self, items: &[Val], element: &Type) -> Term<'a> {
        let terms: Vec<Term> = items.iter().map(|item| self.term(item, element)).collect();
        terms.encode(self.env)
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

/// Whether values of `ty` are numbers, bools or chars (`scalar`).
fn is_scalar(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Bool
            | Type::S8
            | Type::U8
            | Type::S16
            | Type::U16
            | Type::S32
            | Type::U32
            | Type::S64
            | Type::U64
            | Type::Float32
            | Type::Float64
            | Type::Char
    )
}

/// The value of `term` as a `ty` that is a number, a bool or a char
/// (integers range checked, floats as `call_raw` takes them); `None` for a
/// term that is not one, or a type of another kind.
fn scalar(term: Term, ty: &Type) -> Option<Val> {
    let int = |min: i128, max: i128| -> Option<i128> {
        let value = term
            .decode::<i64>()
            .map(i128::from)
            .or_else(|_| term.decode::<u64>().map(i128::from))
            .ok()?;
        (min..=max).contains(&value).then_some(value)
    };
    macro_rules! int {
        ($variant:ident, $int:ty) => {
            int(<$int>::MIN.into(), <$int>::MAX.into()).map(|value| Val::$variant(value as $int))
        };
    }
    match ty {
        Type::Bool => term.decode::<bool>().ok().map(Val::Bool),
        Type::S8 => int!(S8, i8),
        Type::U8 => int!(U8, u8),
        Type::S16 => int!(S16, i16),
        Type::U16 => int!(U16, u16),
        Type::S32 => int!(S32, i32),
        Type::U32 => int!(U32, u32),
        Type::S64 => int!(S64, i64),
        Type::U64 => int!(U64, u64),
        Type::Float32 => match values::to_val(term, NumType::F32) {
            Some(wasmtime::Val::F32(bits)) => Some(Val::Float32(f32::from_bits(bits))),
            _ => None,
        },
        Type::Float64 => match values::to_val(term, NumType::F64) {
            Some(wasmtime::Val::F64(bits)) => Some(Val::Float64(f64::from_bits(bits))),
            _ => None,
        },
        Type::Char => term
            .decode::<u32>()
            .ok()
            .and_then(char::from_u32)
            .map(Val::Char),
        _ => None,
    }
}
