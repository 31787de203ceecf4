//! Erlang numbers to wasm values and back, for `call_raw/3`.
//!
//! Integers are accepted in the union of the signed and unsigned ranges of
//! their width (an `i32` parameter takes -2^31..2^32-1) and come back signed,
//! as wasm itself treats them. Floats accept integers too. NaN and the
//! infinities, which Erlang floats cannot hold, are the atoms `nan`,
//! `infinity` and `neg_infinity` in both directions.

use rustler::{Encoder, Env, Term};
use wasmtime::{Val, ValType};

use crate::atoms;

/// The value types `call_raw/3` can pass; anything else makes a function
/// unusable from `call_raw/3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumType {
    I32,
    I64,
    F32,
    F64,
}

impl NumType {
    pub fn name(self) -> &'static str {
        match self {
            NumType::I32 => "i32",
            NumType::I64 => "i64",
            NumType::F32 => "f32",
            NumType::F64 => "f64",
        }
    }

    pub fn of(ty: &ValType) -> Option<NumType> {
        match ty {
            ValType::I32 => Some(NumType::I32),
            ValType::I64 => Some(NumType::I64),
            ValType::F32 => Some(NumType::F32),
            ValType::F64 => Some(NumType::F64),
            _ => None,
        }
    }
}

/// The name Erlang sees for a wasm value type.
pub fn type_name(ty: &ValType) -> &'static str {
    match ty {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::Ref(r) if r.matches(&wasmtime::RefType::FUNCREF) => "funcref",
        ValType::Ref(r) if r.matches(&wasmtime::RefType::EXTERNREF) => "externref",
        ValType::Ref(_) => "ref",
    }
}

fn float_arg(term: Term) -> Option<f64> {
    if let Ok(f) = term.decode::<f64>() {
        return Some(f);
    }
    if let Ok(i) = term.decode::<i64>() {
        return Some(i as f64);
    }
    if let Ok(u) = term.decode::<u64>() {
        return Some(u as f64);
    }
    let atom = term.decode::<rustler::Atom>().ok()?;
    if atom == atoms::nan() {
        Some(f64::NAN)
    } else if atom == atoms::infinity() {
        Some(f64::INFINITY)
    } else if atom == atoms::neg_infinity() {
        Some(f64::NEG_INFINITY)
    } else {
        None
    }
}

/// The wasm value of `term` for a parameter of type `ty`, if it fits.
pub fn to_val(term: Term, ty: NumType) -> Option<Val> {
    match ty {
        NumType::I32 => match term.decode::<i64>() {
            Ok(i) if (i32::MIN as i64..=u32::MAX as i64).contains(&i) => Some(Val::I32(i as i32)),
            _ => None,
        },
        NumType::I64 => match term.decode::<i64>() {
            Ok(i) => Some(Val::I64(i)),
            Err(_) => term.decode::<u64>().ok().map(|u| Val::I64(u as i64)),
        },
        NumType::F32 => {
            let f = float_arg(term)?;
            let narrowed = f as f32;
            // A finite value past f32's range would silently become infinity.
            (f.is_finite() == narrowed.is_finite() || f.is_nan())
                .then(|| Val::F32(narrowed.to_bits()))
        }
        NumType::F64 => float_arg(term).map(|f| Val::F64(f.to_bits())),
    }
}

fn float_term(env: Env<'_>, f: f64) -> Term<'_> {
    if f.is_nan() {
        atoms::nan().encode(env)
    } else if f == f64::INFINITY {
        atoms::infinity().encode(env)
    } else if f == f64::NEG_INFINITY {
        atoms::neg_infinity().encode(env)
    } else {
        f.encode(env)
    }
}

/// The Erlang term for a numeric result.
pub fn to_term<'a>(env: Env<'a>, val: &Val) -> Term<'a> {
    match *val {
        Val::I32(i) => i.encode(env),
        Val::I64(i) => i.encode(env),
        Val::F32(bits) => float_term(env, f32::from_bits(bits) as f64),
        Val::F64(bits) => float_term(env, f64::from_bits(bits)),
        // Functions with other result types are refused before they run.
        _ => atoms::undefined().encode(env),
    }
}

/// A zero-valued placeholder of type `ty`, for result slots.
pub fn placeholder(ty: NumType) -> Val {
    match ty {
        NumType::I32 => Val::I32(0),
        NumType::I64 => Val::I64(0),
        NumType::F32 => Val::F32(0),
        NumType::F64 => Val::F64(0),
    }
}

/// `void` for no result, the value for one, a tuple for several.
pub fn results_term<'a>(env: Env<'a>, results: &[Val]) -> Term<'a> {
    match results {
        [] => atoms::void().encode(env),
        [one] => to_term(env, one),
        many => {
            let terms: Vec<Term> = many.iter().map(|v| to_term(env, v)).collect();
            rustler::types::tuple::make_tuple(env, &terms)
        }
    }
}
