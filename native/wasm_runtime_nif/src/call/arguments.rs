//! A call's arguments: numbers for `call_raw/3`, terms placed in the call's
//! term table for `call/3`.

use rustler::{Env, Error, NifResult, Term};
use wasmtime::Val;

use crate::atoms;
use crate::error::raise;
use crate::instance::exports::{Abi, Name};
use crate::instance::{Guest, Instantiated};
use crate::module::WasmModule;
use crate::values;

/// Finds the export `name` and sets the guest's parameter and result
/// values for a call of it through `abi` with `args`; the export's index.
pub fn prepare(
    env: Env,
    guest: &mut Guest,
    module: &WasmModule,
    abi: Abi,
    name: Term,
    args: Term,
) -> NifResult<usize> {
    let Instantiated::Module(instance) = guest.instance else {
        return Err(Error::BadArg);
    };
    let index = guest
        .exports
        .index(&mut guest.store, instance, module, name)?;
    let Guest {
        exports,
        params,
        results,
        cells,
        ..
    } = guest;
    let export = exports.get(index);
    let Some(arity) = export.arity(abi) else {
        let why = match abi {
            Abi::Raw => atoms::unsupported_signature(),
            Abi::Terms | Abi::Component => atoms::not_a_term_function(),
        };
        return Err(raise((why, Name::of(name), export.signature.clone())));
    };
    let given = args.list_length()?;
    if given != arity {
        return Err(raise((atoms::badarity(), Name::of(name), arity, given)));
    }
    params.clear();
    results.clear();
    match abi {
        Abi::Raw => {
            let types = export.numeric.as_ref().expect("callable through Abi::Raw");
            for (arg, ty) in args.into_list_iterator()?.zip(types.params.iter()) {
                params.push(values::to_val(arg, *ty).ok_or(Error::BadArg)?);
            }
            results.extend(types.results.iter().map(|t| values::placeholder(*t)));
        }
        // Components' calls are prepared by `call/component.rs`.
        Abi::Component => return Err(Error::BadArg),
        Abi::Terms => {
            let items = args.into_list_iterator()?;
            // SAFETY: no slice of this instance is running: we hold its guest.
            let table = unsafe { cells.terms.get() };
            table.begin(env.as_c_arg());
            params.push(Val::I32(table.env_handle()));
            for arg in items {
                // Wasm functions take at most a few thousand parameters, far
                // below the table's limit; should it ever be reached, the
                // table must not keep this call's env.
                let Some(handle) = table.push(arg.as_c_arg()) else {
                    table.end();
                    return Err(Error::BadArg);
                };
                params.push(Val::I64(handle));
            }
            results.push(Val::I64(0));
        }
    }
    Ok(index)
}
