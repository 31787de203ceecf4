//! Imports implemented by Erlang funs, run in the calling process: the whole
//! protocol.
//!
//! 1. At instantiation, [`link`] defines each of the module's Erlang imports
//!    as a host function and keeps the funs ([`KeptFuns`]).
//! 2. When the guest calls one, the host function records the request in
//!    the store's [`ImportExchange`] and suspends the guest (its future
//!    returns `Pending`).
//! 3. The call's driver finds the request and, instead of rescheduling,
//!    parks the call and asks the calling process to run the fun
//!    (an `import` request; see `protocol.rs`). A fun goes to
//!    the caller once per call ([`Handed`]); a fun with a large closure goes
//!    as `{encoded, Binary}`, which the Erlang side decodes.
//! 4. The fun runs there, in the caller's own process (it may call other
//!    instances, send, receive or raise), and `call_reply/3` hands its
//!    result back: [`Reply::decode`], then [`Reply::into_results`] for the
//!    suspended host function, which resumes the guest.
//!
//! No extra thread, no message hop.

use rustler::sys::ErlNifTerm;
use rustler::{Encoder, Env, Error, NifResult, Term};
use wasmtime::{Linker, Val};

use crate::atoms;
use crate::component::ComponentCode;
use crate::engine;
use crate::error::{HostTrap, ImportRaised, InstantiateError};
use crate::kept_funs::KeptFuns;
use crate::module::imports::ErlangImport;
use crate::module::WasmModule;
use crate::store::data::{ask_erlang, StoreData};
use crate::values::{self, NumType};

/// An Erlang fun offered for an import: module, name, fun, arity.
pub type OfferedImport<'a> = (String, String, Term<'a>, usize);

/// A linker for the module with its Erlang imports defined, and the funs
/// that implement them, from those offered.
pub fn link(
    module: &WasmModule,
    offered: &[OfferedImport],
) -> Result<(Linker<StoreData>, KeptFuns), InstantiateError> {
    let mut linker = engine::linker(module.metering).clone();
    let mut funs = Vec::with_capacity(module.erlang_imports.len());
    for (index, import) in module.erlang_imports.iter().enumerate() {
        let fun = offered_fun(
            offered,
            |module| module == import.module,
            &import.module,
            &import.name,
            import.params.len(),
        )?;
        define(&mut linker, index, import)
            .map_err(|e| InstantiateError::Failed(format!("{e:#}")))?;
        funs.push(fun);
    }
    Ok((linker, KeptFuns::new(&funs)))
}

/// The funs of a component's Erlang imports, in order, from those offered
/// (by interface, with or without its version, and name; `''` for the
/// world's own functions). Its imports are linked when it is compiled
/// (`component/link.rs`).
pub fn component_funs(
    code: &ComponentCode,
    offered: &[OfferedImport],
) -> Result<Option<KeptFuns>, InstantiateError> {
    if code.imports.is_empty() {
        return Ok(None);
    }
    let mut funs = Vec::with_capacity(code.imports.len());
    for import in &code.imports {
        let unversioned = import.interface.split_once('@').map(|(bare, _)| bare);
        funs.push(offered_fun(
            offered,
            |interface| interface == import.interface || Some(interface) == unversioned,
            &import.interface,
            &import.name,
            import.params.len(),
        )?);
    }
    Ok(Some(KeptFuns::new(&funs)))
}

/// The fun offered for import `name` of the module or interface `matches`
/// accepts (`module` as errors name it), checked against its arity.
fn offered_fun<'a>(
    offered: &[OfferedImport<'a>],
    matches: impl Fn(&str) -> bool,
    module: &str,
    name: &str,
    arity: usize,
) -> Result<Term<'a>, InstantiateError> {
    let Some((_, _, fun, offered_arity)) =
        offered.iter().find(|(m, n, _, _)| n == name && matches(m))
    else {
        return Err(InstantiateError::UnknownImport(
            module.to_owned(),
            name.to_owned(),
        ));
    };
    if *offered_arity != arity {
        return Err(InstantiateError::ImportArity {
            module: module.to_owned(),
            name: name.to_owned(),
            expected: arity,
            actual: *offered_arity,
        });
    }
    Ok(*fun)
}

/// Defines import `index` of a module as a request to the Erlang side.
fn define(
    linker: &mut Linker<StoreData>,
    index: usize,
    import: &ErlangImport,
) -> wasmtime::Result<()> {
    linker.func_new_async(
        &import.module,
        &import.name,
        import.ty.clone(),
        move |caller, params, results| {
            Box::new(async move {
                let cells = caller.data().cells.clone();
                ask_erlang(&cells, index, params, results, |e| &mut e.values).await
            })
        },
    )?;
    Ok(())
}

/// Which funs the caller has had in this call, by import index: the Erlang
/// side keeps them for the rest of the call.
#[derive(Default)]
pub struct Handed(Vec<bool>);

impl Handed {
    /// What the request carries for import `index`: `cached` if the caller
    /// has it already, else the fun (`None` if there is none).
    pub fn fun<'a>(
        &mut self,
        env: Env<'a>,
        index: usize,
        imports: usize,
        fun: impl FnOnce() -> Option<Term<'a>>,
    ) -> Option<Term<'a>> {
        if self.0.get(index).copied().unwrap_or(false) {
            return Some(atoms::cached().encode(env));
        }
        let fun = fun()?;
        if self.0.len() <= index {
            self.0.resize(imports.max(index + 1), false);
        }
        self.0[index] = true;
        Some(fun)
    }
}

/// The arguments of a guest's call of an import, as the list the fun is
/// applied to.
pub fn args<'a>(env: Env<'a>, values: &[Val]) -> Term<'a> {
    values
        .iter()
        .rev()
        .fold(Term::list_new_empty(env), |list, value| {
            list.list_prepend(values::to_term(env, value))
        })
}

/// What the Erlang side says the fun did: `{ok, Value}` or `{raised,
/// Class, Reason, Stack}`.
pub enum Reply<'a> {
    Returned(Term<'a>),
    Raised([ErlNifTerm; 3]),
}

impl<'a> Reply<'a> {
    pub fn decode(reply: Term<'a>) -> NifResult<Self> {
        if let Ok((tag, value)) = reply.decode::<(rustler::Atom, Term)>() {
            if tag == atoms::ok() {
                return Ok(Reply::Returned(value));
            }
        }
        match reply.decode::<(rustler::Atom, Term, Term, Term)>() {
            Ok((tag, class, reason, stack)) if tag == atoms::raised() => Ok(Reply::Raised([
                class.as_c_arg(),
                reason.as_c_arg(),
                stack.as_c_arg(),
            ])),
            _ => Err(Error::BadArg),
        }
    }

    /// The values the host function returns to the guest, written to
    /// `values`, or why the guest fails: a result of the wrong shape traps
    /// with `bad_host_result`; an exception fails the call, and is kept in
    /// `raised` to be raised again in the caller once the guest has unwound.
    pub fn into_results(
        self,
        import: &ErlangImport,
        values: &mut Vec<Val>,
        raised: &mut Option<[ErlNifTerm; 3]>,
    ) -> wasmtime::Result<()> {
        match self {
            Reply::Returned(value) => results(value, &import.results, values).ok_or_else(|| {
                HostTrap::new(
                    "bad_host_result",
                    format!(
                        "the fun for {} returned a value that is not {}",
                        import.label(),
                        results_shape(&import.results)
                    ),
                )
                .into()
            }),
            Reply::Raised(exception) => {
                *raised = Some(exception);
                Err(ImportRaised.into())
            }
        }
    }
}

/// The values of a fun's result for an import with `types`, into `out`:
/// nothing is expected of a fun for an import without results.
fn results(value: Term, types: &[NumType], out: &mut Vec<Val>) -> Option<()> {
    out.clear();
    match types {
        [] => {}
        [one] => out.push(values::to_val(value, *one)?),
        many => {
            let items = rustler::types::tuple::get_tuple(value).ok()?;
            if items.len() != many.len() {
                return None;
            }
            for (item, ty) in items.iter().zip(many) {
                out.push(values::to_val(*item, *ty)?);
            }
        }
    }
    Some(())
}

fn results_shape(types: &[NumType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
    match names.as_slice() {
        [one] => (*one).to_string(),
        many => format!("a tuple of {{{}}}", many.join(", ")),
    }
}
