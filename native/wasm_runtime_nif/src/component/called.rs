//! A component's instance as a call holds it ([`Called`]): what the call
//! runs (`run`), and its values turned into terms at the end of the call
//! and for the Erlang imports the guest calls. Starting a call is
//! `call/component.rs`.

use std::sync::Arc;

use rustler::{Encoder, Env, Term};
use wasmtime::component::{Func, Instance, ResourceAny, Val};
use wasmtime::Store;

use super::convert::{self, ToTerms, ToValues, Work};
use super::handle::{Drops, Owner};
use super::ComponentCode;
use crate::atoms;
use crate::slicing;
use crate::store::data::StoreData;

/// What a call of a component instance does.
pub enum Invoke {
    Function(usize),
    Drop(ResourceAny),
}

/// A component instance as its guest holds it.
pub struct Called {
    pub instance: Instance,
    /// The functions called so far, by index in `ComponentCode::functions`.
    funcs: Vec<Option<Func>>,
    pub params: Vec<Val>,
    results: Vec<Val>,
    /// What the call in progress does; `Function` stays for its result.
    pub invoke: Option<Invoke>,
    pub owner: Owner,
}

impl Called {
    pub fn new(instance: Instance, functions: usize, id: u64, drops: Arc<Drops>) -> Self {
        Called {
            instance,
            funcs: vec![None; functions],
            params: Vec::new(),
            results: Vec::new(),
            invoke: None,
            owner: Owner {
                instance: id,
                drops,
            },
        }
    }
}

/// Resources of collected handles dropped between two yields: a drop
/// without a destructor is host work, and a guest may have handed out
/// hundreds of thousands.
const DROPS_PER_SLICE: usize = 256;

/// Runs what the call does, after the resources whose handles were
/// collected are dropped (a destructor that traps fails this call).
pub async fn run(
    store: &mut Store<StoreData>,
    called: &mut Called,
    code: &ComponentCode,
) -> wasmtime::Result<()> {
    for (i, any) in called.owner.drops.take().into_iter().enumerate() {
        if i > 0 && i % DROPS_PER_SLICE == 0 {
            slicing::yield_once().await;
        }
        any.resource_drop_async(&mut *store).await?;
    }
    match &called.invoke {
        Some(Invoke::Function(index)) => {
            let index = *index;
            let func = match called.funcs[index] {
                Some(func) => func,
                None => {
                    let func = called
                        .instance
                        .get_func(&mut *store, code.functions[index].index)
                        .ok_or_else(|| {
                            wasmtime::format_err!(
                                "{} is not a function",
                                code.functions[index].name
                            )
                        })?;
                    called.funcs[index] = Some(func);
                    func
                }
            };
            called.results.clear();
            called
                .results
                .resize(code.functions[index].results.len(), Val::Bool(false));
            func.call_async(&mut *store, &called.params, &mut called.results)
                .await
        }
        Some(Invoke::Drop(any)) => {
            let any = *any;
            called.invoke = None;
            any.resource_drop_async(&mut *store).await
        }
        None => Ok(()),
    }
}

/// Whether the result of the call just ended is more than a normal
/// scheduler converts at once.
pub fn result_too_large(called: &Called) -> bool {
    !slicing::on_dirty_scheduler()
        && convert::units_over(&called.results, convert::NORMAL_SCHEDULER_WORK)
}

/// The call's result as a term: the function's result, or `ok` for one
/// without (and for a drop).
pub fn result<'a>(env: Env<'a>, called: &mut Called, code: &ComponentCode) -> Term<'a> {
    called.params.clear();
    let Some(Invoke::Function(index)) = called.invoke.take() else {
        return atoms::ok().encode(env);
    };
    let out = ToTerms {
        env,
        atoms: &code.atoms,
        owner: &called.owner,
    };
    let term = match (
        called.results.as_slice(),
        code.functions[index].results.as_slice(),
    ) {
        ([value], [ty]) => out.term(value, ty),
        (values, types) if !values.is_empty() => {
            let terms: Vec<Term> = values
                .iter()
                .zip(types)
                .map(|(v, t)| out.term(v, t))
                .collect();
            rustler::types::tuple::make_tuple(env, &terms)
        }
        _ => atoms::ok().encode(env),
    };
    called.results.clear();
    term
}

/// The arguments of a request to Erlang import `index`, as terms.
pub fn import_args<'a>(
    env: Env<'a>,
    code: &ComponentCode,
    index: usize,
    values: &[Val],
    owner: &Owner,
) -> Term<'a> {
    let import = &code.imports[index];
    let out = ToTerms {
        env,
        atoms: &code.atoms,
        owner,
    };
    let terms: Vec<Term> = values
        .iter()
        .zip(&import.params)
        .map(|(v, (_, ty))| out.term(v, ty))
        .collect();
    terms.encode(env)
}

/// The values of an import fun's result `value` into `out`; `Err` with
/// what was expected when it has the wrong shape. A fun for an import
/// without a result may return anything. A result that may be large is
/// converted on a dirty scheduler: such a component's calls run there.
pub fn import_results(
    value: Term,
    code: &ComponentCode,
    index: usize,
    owner: &Owner,
    out: &mut Vec<Val>,
) -> Result<(), String> {
    let import = &code.imports[index];
    out.clear();
    let mut into = ToValues {
        resources: &code.resources,
        atoms: &code.atoms,
        owner,
        lent: Vec::new(),
        work: Work::new(false),
    };
    match import.results.as_slice() {
        [] => Ok(()),
        [ty] => match into.value(value, ty) {
            Ok(v) => {
                out.push(v);
                Ok(())
            }
            Err(_) => Err(format!(
                "the fun for {} returned a value that is not a {}",
                import.label(),
                super::types::wit(ty, &code.resources)
            )),
        },
        _ => Err(format!("{} has several results", import.label())),
    }
}
