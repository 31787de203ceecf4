//! The embedding API: what the host reads and changes of an instance
//! between calls (the bytes and size of an exported memory, its growth,
//! exported globals). Each access takes the instance's turn as a call does,
//! so it never sees a guest halfway through a call; every offset, length
//! and value is checked here, against the memory as it is now.

use rustler::{Binary, Encoder, Env, NifResult, Term};
use wasmtime::{Extern, Mutability};

use super::turns::Turn;
use super::{Guest, Instantiated, WasmInstance};
use crate::atoms;
use crate::protocol::{Answer, Request};
use crate::values::{self, NumType};

/// One access, decoded from `{memory_read, Name, Offset, Length}`,
/// `{memory_write, Name, Offset, Bytes}`, `{memory_size, Name}`,
/// `{memory_grow, Name, Pages}`, `{global_get, Name}` or `{global_set,
/// Name, Value}`.
pub enum Access<'a> {
    MemoryRead {
        name: String,
        offset: u64,
        length: u64,
    },
    MemoryWrite {
        name: String,
        offset: u64,
        bytes: Binary<'a>,
    },
    MemorySize {
        name: String,
    },
    MemoryGrow {
        name: String,
        pages: u64,
    },
    GlobalGet {
        name: String,
    },
    GlobalSet {
        name: String,
        value: Term<'a>,
    },
}

/// An export name as the API takes it: an atom or a UTF-8 binary.
fn export_name(term: Term) -> NifResult<String> {
    if let Ok(atom) = rustler::Atom::from_term(term) {
        return atom.to_term(term.get_env()).atom_to_string();
    }
    let bytes = term.decode_as_binary()?;
    String::from_utf8(bytes.as_slice().to_vec()).map_err(|_| rustler::Error::BadArg)
}

impl<'a> Access<'a> {
    pub fn decode(term: Term<'a>) -> NifResult<Self> {
        let items = rustler::types::tuple::get_tuple(term)?;
        let tag: rustler::Atom = items.first().ok_or(rustler::Error::BadArg)?.decode()?;
        let name = export_name(*items.get(1).ok_or(rustler::Error::BadArg)?)?;
        let arg = |i: usize| items.get(i).copied().ok_or(rustler::Error::BadArg);
        Ok(match items.len() {
            4 if tag == atoms::memory_read() => Access::MemoryRead {
                name,
                offset: arg(2)?.decode()?,
                length: arg(3)?.decode()?,
            },
            4 if tag == atoms::memory_write() => Access::MemoryWrite {
                name,
                offset: arg(2)?.decode()?,
                bytes: arg(3)?.decode()?,
            },
            2 if tag == atoms::memory_size() => Access::MemorySize { name },
            3 if tag == atoms::memory_grow() => Access::MemoryGrow {
                name,
                pages: arg(2)?.decode()?,
            },
            2 if tag == atoms::global_get() => Access::GlobalGet { name },
            3 if tag == atoms::global_set() => Access::GlobalSet {
                name,
                value: arg(2)?,
            },
            _ => return Err(rustler::Error::BadArg),
        })
    }
}

/// Runs `access` on the instance once it is idle: its value, `{error,
/// Reason}`, or a turn request while another caller holds the instance.
pub fn run<'a>(env: Env<'a>, instance: &WasmInstance, access: Access<'a>) -> Answer<'a> {
    let (loan, mut guest) = match instance.take(env) {
        Ok(Turn::Go(loan, guest)) => (loan, guest),
        Ok(Turn::Wait(id)) => return Answer::Ask(Request::Turn { id, timeout: None }),
        Err(error) => return Answer::Error(error),
    };
    let outcome = apply(env, &mut guest, access);
    loan.give_back(env, guest);
    match outcome {
        Ok(value) => Answer::Value(value),
        Err(Refusal::BadArg) => Answer::Error(rustler::Error::BadArg),
        Err(Refusal::Reason(reason)) => Answer::Value((atoms::error(), reason).encode(env)),
    }
}

enum Refusal<'a> {
    BadArg,
    Reason(Term<'a>),
}

fn refuse<'a>(env: Env<'a>, reason: impl Encoder) -> Refusal<'a> {
    Refusal::Reason(reason.encode(env))
}

/// The export `name` as `pick` takes it, or `{Wrong, Name}` when it is of
/// another kind, `{Missing, Name}` when there is none.
fn export<'a, T>(
    env: Env<'a>,
    guest: &mut Guest,
    name: &str,
    pick: fn(Extern) -> Option<T>,
    [wrong, missing]: [rustler::Atom; 2],
) -> Result<T, Refusal<'a>> {
    // A component exports no memories or globals to reach.
    let found = match guest.instance {
        Instantiated::Module(instance) => instance.get_export(&mut guest.store, name),
        Instantiated::Component(_) => None,
    };
    match found {
        Some(export) => pick(export).ok_or_else(|| refuse(env, (wrong, name))),
        None => Err(refuse(env, (missing, name))),
    }
}

fn memory<'a>(
    env: Env<'a>,
    guest: &mut Guest,
    name: &str,
) -> Result<wasmtime::Memory, Refusal<'a>> {
    let kinds = [atoms::not_a_memory(), atoms::undefined_memory()];
    export(env, guest, name, Extern::into_memory, kinds)
}

fn global<'a>(
    env: Env<'a>,
    guest: &mut Guest,
    name: &str,
) -> Result<wasmtime::Global, Refusal<'a>> {
    let kinds = [atoms::not_a_global(), atoms::undefined_global()];
    export(env, guest, name, Extern::into_global, kinds)
}

/// The range `[offset, offset + length)` of a memory of `size` bytes, or
/// `{out_of_bounds, Offset, Length, Size}`.
fn range<'a>(
    env: Env<'a>,
    offset: u64,
    length: u64,
    size: usize,
) -> Result<std::ops::Range<usize>, Refusal<'a>> {
    match offset.checked_add(length) {
        Some(end) if end <= size as u64 => Ok(offset as usize..end as usize),
        _ => Err(refuse(
            env,
            (atoms::out_of_bounds(), offset, length, size as u64),
        )),
    }
}

fn apply<'a>(env: Env<'a>, guest: &mut Guest, access: Access<'a>) -> Result<Term<'a>, Refusal<'a>> {
    match access {
        Access::MemoryRead {
            name,
            offset,
            length,
        } => {
            let memory = memory(env, guest, &name)?;
            let data = memory.data(&guest.store);
            let range = range(env, offset, length, data.len())?;
            let mut binary = rustler::NewBinary::new(env, range.len());
            binary.as_mut_slice().copy_from_slice(&data[range]);
            Ok((atoms::ok(), Binary::from(binary)).encode(env))
        }
        Access::MemoryWrite {
            name,
            offset,
            bytes,
        } => {
            let memory = memory(env, guest, &name)?;
            let data = memory.data_mut(&mut guest.store);
            let range = range(env, offset, bytes.len() as u64, data.len())?;
            data[range].copy_from_slice(bytes.as_slice());
            Ok(atoms::ok().encode(env))
        }
        Access::MemorySize { name } => {
            let memory = memory(env, guest, &name)?;
            Ok((atoms::ok(), memory.data_size(&guest.store) as u64).encode(env))
        }
        Access::MemoryGrow { name, pages } => {
            let memory = memory(env, guest, &name)?;
            // The instance's limiter decides, as for a guest's memory.grow.
            match memory.grow(&mut guest.store, pages) {
                Ok(previous) => Ok((atoms::ok(), previous).encode(env)),
                Err(error) => Err(refuse(env, (atoms::cannot_grow(), format!("{error:#}")))),
            }
        }
        Access::GlobalGet { name } => {
            let global = global(env, guest, &name)?;
            let value = global.get(&mut guest.store);
            match NumType::of(&value.ty(&guest.store).map_err(|_| Refusal::BadArg)?) {
                Some(_) => Ok((atoms::ok(), values::to_term(env, &value)).encode(env)),
                None => Err(unsupported(env, guest, &global, &name)),
            }
        }
        Access::GlobalSet { name, value } => {
            let global = global(env, guest, &name)?;
            let ty = global.ty(&guest.store);
            if ty.mutability() == Mutability::Const {
                return Err(refuse(env, (atoms::immutable_global(), name.as_str())));
            }
            let Some(numeric) = NumType::of(ty.content()) else {
                return Err(unsupported(env, guest, &global, &name));
            };
            let value = values::to_val(value, numeric).ok_or(Refusal::BadArg)?;
            global
                .set(&mut guest.store, value)
                .map_err(|error| refuse(env, (atoms::cannot_set(), format!("{error:#}"))))?;
            Ok(atoms::ok().encode(env))
        }
    }
}

/// `{unsupported_type, Name, Type}` for a global the API cannot read or
/// write as a number (a vector or a reference).
fn unsupported<'a>(
    env: Env<'a>,
    guest: &Guest,
    global: &wasmtime::Global,
    name: &str,
) -> Refusal<'a> {
    let ty = global.ty(&guest.store);
    let type_name = rustler::Atom::from_str(env, values::type_name(ty.content()))
        .expect("type names are atoms");
    refuse(env, (atoms::unsupported_type(), name, type_name))
}
