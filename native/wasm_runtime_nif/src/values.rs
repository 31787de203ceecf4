//! Erlang numbers to wasm values and back, for `call_raw/3`.
//!
//! Integers are accepted in the union of the signed and unsigned ranges of
//! their width (an `i32` parameter takes -2^31..2^32-1) and come back signed,
//! as wasm itself treats them. Floats accept integers too, of any size within
//! the float's range, rounded to the nearest float (ties to even). NaN and
//! the infinities, which Erlang floats cannot hold, are the atoms `nan`,
//! `infinity` and `neg_infinity` in both directions.

use rustler::{Encoder, Env, Term};
use wasmtime::{Val, ValRaw, ValType};

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

/// A number for a float parameter: a float, or an integer as
/// `±mantissa × 2^shift`, where a mantissa of 128 bits keeps a sticky bit
/// for what was shifted out, so that converting it rounds as the exact
/// integer would.
enum FloatArg {
    Float(f64),
    Integer {
        negative: bool,
        mantissa: u128,
        shift: i32,
    },
}

impl FloatArg {
    fn to_f64(&self) -> f64 {
        match *self {
            FloatArg::Float(f) => f,
            FloatArg::Integer {
                negative,
                mantissa,
                shift,
            } => {
                // u128 -> f64 rounds to nearest; scaling by 2^shift is exact
                // or overflows to infinity.
                let magnitude = mantissa as f64 * 2f64.powi(shift);
                if negative {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }

    fn to_f32(&self) -> f32 {
        match *self {
            // A finite f64 past f32's range becomes infinity: refused below.
            FloatArg::Float(f) => f as f32,
            FloatArg::Integer {
                negative,
                mantissa,
                shift,
            } => {
                let magnitude = if shift > 0 {
                    f32::INFINITY
                } else {
                    mantissa as f32
                };
                if negative {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }

    fn is_nan(&self) -> bool {
        matches!(self, FloatArg::Float(f) if f.is_nan())
    }
}

/// An integer of any size, from its external format (`SMALL_BIG_EXT` or
/// `LARGE_BIG_EXT`: sign, then little-endian digits).
fn big_integer(term: Term) -> Option<FloatArg> {
    let encoded = term.to_binary();
    let (negative, digits) = match encoded.as_slice() {
        [131, 110, n, sign, digits @ ..] if digits.len() == *n as usize => (*sign != 0, digits),
        [131, 111, n0, n1, n2, n3, sign, digits @ ..]
            if digits.len() == u32::from_be_bytes([*n0, *n1, *n2, *n3]) as usize =>
        {
            (*sign != 0, digits)
        }
        _ => return None,
    };
    let top = digits.iter().rposition(|&d| d != 0)?;
    let digits = &digits[..=top];
    // The 16 most significant bytes, and the rest folded into one sticky
    // bit: far below the 53 bits a float keeps, it still breaks a tie the
    // way the whole integer would.
    let kept = digits.len().min(16);
    let (rest, high) = digits.split_at(digits.len() - kept);
    let mut mantissa = high
        .iter()
        .rev()
        .fold(0u128, |m, &d| (m << 8) | u128::from(d));
    if rest.iter().any(|&d| d != 0) {
        mantissa |= 1;
    }
    Some(FloatArg::Integer {
        negative,
        mantissa,
        shift: i32::try_from(rest.len() * 8).ok()?,
    })
}

/// A number for a float parameter. Rustler's own `f64` decoder would turn
/// an integer into an `f64` first, which rounds twice on the way to an
/// `f32` (2^53 + 2^30 + 2^29 - 1 became 2^53 + 2^31): the term's type
/// decides here.
fn float_arg(term: Term) -> Option<FloatArg> {
    match term.get_type() {
        rustler::TermType::Float => term.decode::<f64>().ok().map(FloatArg::Float),
        rustler::TermType::Integer => match term.decode::<i64>() {
            Ok(i) => Some(FloatArg::Integer {
                negative: i < 0,
                mantissa: u128::from(i.unsigned_abs()),
                shift: 0,
            }),
            Err(_) => big_integer(term),
        },
        rustler::TermType::Atom => {
            let atom = term.decode::<rustler::Atom>().ok()?;
            let special = if atom == atoms::nan() {
                f64::NAN
            } else if atom == atoms::infinity() {
                f64::INFINITY
            } else if atom == atoms::neg_infinity() {
                f64::NEG_INFINITY
            } else {
                return None;
            };
            Some(FloatArg::Float(special))
        }
        _ => None,
    }
}

/// Whether `value` is the float of `arg`, not an overflow to infinity of
/// a finite number.
fn in_range(arg: &FloatArg, finite: bool) -> bool {
    let was_finite = match arg {
        FloatArg::Float(f) => f.is_finite(),
        FloatArg::Integer { .. } => true,
    };
    arg.is_nan() || was_finite == finite
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
            let arg = float_arg(term)?;
            let value = arg.to_f32();
            in_range(&arg, value.is_finite()).then(|| Val::F32(value.to_bits()))
        }
        NumType::F64 => {
            let arg = float_arg(term)?;
            let value = arg.to_f64();
            in_range(&arg, value.is_finite()).then(|| Val::F64(value.to_bits()))
        }
    }
}

pub fn float_term(env: Env<'_>, f: f64) -> Term<'_> {
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

/// A numeric value as Wasmtime's untyped calls take it.
pub fn to_raw(val: &Val) -> ValRaw {
    match *val {
        Val::I32(i) => ValRaw::i32(i),
        Val::I64(i) => ValRaw::i64(i),
        Val::F32(bits) => ValRaw::f32(bits),
        Val::F64(bits) => ValRaw::f64(bits),
        // Functions with other types never reach an untyped call.
        _ => ValRaw::i64(0),
    }
}

/// The value of type `like`'s from an untyped call's result.
pub fn from_raw(raw: ValRaw, like: &Val) -> Val {
    match like {
        Val::I32(_) => Val::I32(raw.get_i32()),
        Val::I64(_) => Val::I64(raw.get_i64()),
        Val::F32(_) => Val::F32(raw.get_f32()),
        _ => Val::F64(raw.get_f64()),
    }
}
