//! The exports a call finds by name: resolved once per instance and name,
//! then found again by atom without building or hashing a string.

use rustler::sys::ErlNifTerm;
use rustler::{Encoder, Env, Error, NifResult, Term};
use wasmtime::{Func, Instance, Store, ValType};

use crate::atoms;
use crate::error::raise;
use crate::fast_path::Fast;
use crate::module::WasmModule;
use crate::store::data::StoreData;
use crate::values::NumType;

/// How a call passes its arguments and gets its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// `call_raw/3`: numbers in, numbers out.
    Raw,
    /// `call/3`: Erlang terms in and out through the guest term ABI, for
    /// functions of type `(i32 env, i64 term...) -> i64 term`.
    Terms,
    /// Either, on a component's instance: terms converted by WIT type
    /// (`component/convert.rs`).
    Component,
}

/// The type of a function whose parameters and results are all numbers.
pub struct Numeric {
    pub params: Box<[NumType]>,
    pub results: Box<[NumType]>,
}

pub struct Export {
    name: Box<str>,
    pub func: Func,
    /// A typed entry point, for the common signatures.
    pub fast: Option<Fast>,
    /// Whether it provably finishes quickly, so that a call may run it
    /// without a fiber (`module/bounded.rs`).
    pub bounded: bool,
    /// Parameter and result types when all are numbers; `None` for
    /// functions no call can reach (v128, references).
    pub numeric: Option<Numeric>,
    pub signature: String,
}

impl Export {
    fn new(name: &str, func: Func, store: &Store<StoreData>, module: &WasmModule) -> Self {
        let ty = func.ty(store);
        let numeric = |tys: &mut dyn Iterator<Item = ValType>| {
            tys.map(|t| NumType::of(&t))
                .collect::<Option<Box<[NumType]>>>()
        };
        let numeric = match (numeric(&mut ty.params()), numeric(&mut ty.results())) {
            (Some(params), Some(results)) => Some(Numeric { params, results }),
            _ => None,
        };
        Export {
            name: name.into(),
            fast: Fast::of(&func, store),
            bounded: module.bounded_exports.iter().any(|b| **b == *name),
            func,
            numeric,
            signature: crate::module::signature(&ty),
        }
    }

    /// The numbers of arguments a call through `abi` passes, and the result
    /// types; `None` if the function cannot be called that way.
    pub fn arity(&self, abi: Abi) -> Option<usize> {
        let Numeric { params, results } = self.numeric.as_ref()?;
        match abi {
            Abi::Raw => Some(params.len()),
            Abi::Terms => match (&params[..], &results[..]) {
                ([NumType::I32, terms @ ..], [NumType::I64])
                    if terms.iter().all(|t| *t == NumType::I64) =>
                {
                    Some(terms.len())
                }
                _ => None,
            },
            Abi::Component => None,
        }
    }
}

/// An export name as it appears in error reasons: the caller's atom or binary.
pub enum Name {
    Atom(rustler::Atom),
    Text(String),
}

impl Encoder for Name {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            Name::Atom(a) => a.encode(env),
            Name::Text(s) => s.encode(env),
        }
    }
}

impl Name {
    pub fn of(name: Term) -> Name {
        match rustler::Atom::from_term(name) {
            Ok(atom) => Name::Atom(atom),
            Err(_) => Name::Text(
                String::from_utf8_lossy(
                    name.decode_as_binary().map(|b| b.as_slice()).unwrap_or(b""),
                )
                .into(),
            ),
        }
    }
}

/// The UTF-8 text of an atom, whatever its characters: erl_nif of OTP 25
/// reads atoms as Latin-1 only, so others are read from their external
/// format (`ATOM_UTF8_EXT`, `SMALL_ATOM_UTF8_EXT`).
fn atom_text(atom: Term) -> Option<String> {
    if let Ok(latin1) = atom.atom_to_string() {
        return Some(latin1);
    }
    let encoded = atom.to_binary();
    let utf8 = match encoded.as_slice() {
        [131, 118, hi, lo, text @ ..] if text.len() == u16::from_be_bytes([*hi, *lo]) as usize => {
            text
        }
        [131, 119, len, text @ ..] if text.len() == *len as usize => text,
        _ => return None,
    };
    String::from_utf8(utf8.to_vec()).ok()
}

/// The exports called so far on one instance.
#[derive(Default)]
pub struct Exports {
    found: Vec<Export>,
    /// Atom terms are stable for the life of the VM.
    by_atom: Vec<(ErlNifTerm, usize)>,
}

impl Exports {
    pub fn get(&self, index: usize) -> &Export {
        &self.found[index]
    }

    /// Index of the function `name` (an atom or a binary).
    pub fn index(
        &mut self,
        store: &mut Store<StoreData>,
        instance: Instance,
        module: &WasmModule,
        name: Term,
    ) -> NifResult<usize> {
        let atom = name.is_atom().then(|| name.as_c_arg());
        if let Some(atom) = atom {
            if let Some(&(_, index)) = self.by_atom.iter().find(|(a, _)| *a == atom) {
                return Ok(index);
            }
        }
        let text = match atom {
            Some(_) => atom_text(name).ok_or(Error::BadArg)?,
            // Only atoms and binaries name functions; a charlist would be
            // accepted by `decode_as_binary` as an iolist.
            None if !name.is_binary() => return Err(Error::BadArg),
            None => std::str::from_utf8(name.decode_as_binary()?.as_slice())
                .map_err(|_| Error::BadArg)?
                .to_owned(),
        };
        let index = match self.found.iter().position(|e| *e.name == *text) {
            Some(index) => index,
            None => {
                let func = module
                    .core()
                    .and_then(|core| core.get_export_index(&text))
                    .and_then(|export| instance.get_module_export(&mut *store, &export))
                    .and_then(|ext| ext.into_func())
                    .ok_or_else(|| raise((atoms::undefined_function(), Name::of(name))))?;
                self.found.push(Export::new(&text, func, store, module));
                self.found.len() - 1
            }
        };
        if let Some(atom) = atom {
            self.by_atom.push((atom, index));
        }
        Ok(index)
    }
}
