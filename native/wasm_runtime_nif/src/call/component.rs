//! A call of a component's function, or the drop of one of its resources:
//! arguments converted by WIT type (`component/convert.rs`) before the
//! instance is taken, then the same `Call` as every call, sliced, killable
//! and limited; its result converted at the end (`component/called.rs`).
//!
//! Conversion cannot yield. Arguments more than a normal scheduler
//! converts at once (`convert::NORMAL_SCHEDULER_WORK`) are converted on a
//! dirty CPU scheduler: the NIF continues there. A function whose result
//! may be large runs every slice on one (`Function::dirty`).

use rustler::sys::{self, c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Env, Error, NifResult, Term};

use super::Call;
use crate::atoms;
use crate::component::called::Invoke;
use crate::component::convert::{self, Refusal, Work};
use crate::component::handle::{self, Moved};
use crate::component::ComponentCode;
use crate::error::raise;
use crate::instance::exports::Name;
use crate::instance::turns::Turn;
use crate::instance::{Instantiated, WasmInstance};
use crate::options;
use crate::protocol::{Answer, Request};
use crate::slicing;

/// The text of a function name: an atom or a UTF-8 binary.
fn name_text(name: Term) -> NifResult<String> {
    if let Ok(text) = name.atom_to_string() {
        return Ok(text);
    }
    if !name.is_binary() {
        return Err(Error::BadArg);
    }
    std::str::from_utf8(name.decode_as_binary()?.as_slice())
        .map(str::to_owned)
        .map_err(|_| Error::BadArg)
}

/// `call/3,4` (and `call_raw/3,4`) on a component instance.
pub fn start<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    code: &ComponentCode,
    argv: [Term<'a>; 4],
) -> Answer<'a> {
    let [_, name, args, limits] = argv;
    match prepare(env, instance, code, name, args, limits) {
        Ok(answer) => answer,
        Err(Refused::TooMuch) => dirty(env, argv),
        Err(Refused::Error(error)) => Answer::Error(error),
    }
}

enum Refused {
    TooMuch,
    Error(Error),
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused::Error(error)
    }
}

fn prepare<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    code: &ComponentCode,
    name: Term<'a>,
    args: Term<'a>,
    limits: Term<'a>,
) -> Result<Answer<'a>, Refused> {
    let module = instance.module();
    let limits = options::call_limits(limits, instance.default_limits, module.metering)?;
    let text = name_text(name)?;
    let index = code
        .function(&text)
        .ok_or_else(|| raise((atoms::undefined_function(), Name::of(name))))?;
    let function = &code.functions[index];
    let given = args.list_length()?;
    if given != function.params.len() {
        return Err(raise((
            atoms::badarity(),
            Name::of(name),
            function.params.len(),
            given,
        ))
        .into());
    }
    let owner = instance.component_owner().ok_or(Error::BadArg)?;
    let mut into = convert::Into {
        resources: &code.resources,
        owner: &owner,
        moved: Vec::new(),
        work: Work::new(!slicing::on_dirty_scheduler()),
    };
    let mut params = Vec::with_capacity(given);
    for (arg, (param, ty)) in args.into_list_iterator()?.zip(&function.params) {
        match into.value(arg, ty) {
            Ok(value) => params.push(value),
            Err(Refusal::TooMuch) => return Err(Refused::TooMuch),
            Err(Refusal::Shape(path, expected)) => {
                let at = path.iter().rev().map(String::as_str).collect::<String>();
                let message = format!("{param}{at} must be a {expected}");
                return Err(raise((
                    atoms::bad_argument(),
                    Name::of(name),
                    param.clone(),
                    message,
                ))
                .into());
            }
            Err(Refusal::Handle(path, why)) => {
                let at = path.iter().rev().map(String::as_str).collect::<String>();
                let message = format!("{param}{at}: {}", why.message());
                return Err(raise((
                    atoms::bad_argument(),
                    Name::of(name),
                    param.clone(),
                    message,
                ))
                .into());
            }
        }
    }
    let moved = into.moved;
    let (loan, mut guest) = match instance.take(env)? {
        Turn::Go(loan, guest) => (loan, guest),
        Turn::Wait(id) => {
            return Ok(Answer::Ask(Request::Turn {
                id,
                timeout: limits.timeout,
            }))
        }
    };
    // A handle dropped or moved by another process's call since it was
    // converted is refused now, while nothing has run.
    if let Some(why) = moved.iter().find_map(Moved::unusable) {
        loan.give_back(env, guest);
        let message = why.message().to_owned();
        return Err(raise((atoms::bad_argument(), Name::of(name), "", message)).into());
    }
    moved.into_iter().for_each(Moved::commit);
    let Instantiated::Component(called) = &mut guest.instance else {
        loan.give_back(env, guest);
        return Err(Error::BadArg.into());
    };
    called.params = params;
    called.invoke = Some(Invoke::Function(index));
    let dirty = function.dirty;
    Ok(Call::start_component(
        env,
        loan,
        guest,
        Name::of(name),
        limits,
        dirty,
    ))
}

/// `resource_drop/2`: drops the resource in a call of its instance.
pub fn drop_resource<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    handle: Term<'a>,
    limits: Term<'a>,
) -> Answer<'a> {
    let limits =
        match options::call_limits(limits, instance.default_limits, instance.module().metering) {
            Ok(limits) => limits,
            Err(error) => return Answer::Error(error),
        };
    let Some(owner) = instance.component_owner() else {
        return Answer::Error(Error::BadArg);
    };
    let (loan, mut guest) = match instance.take(env) {
        Ok(Turn::Go(loan, guest)) => (loan, guest),
        Ok(Turn::Wait(id)) => {
            return Answer::Ask(Request::Turn {
                id,
                timeout: limits.timeout,
            })
        }
        Err(error) => return Answer::Error(error),
    };
    let any = match handle::take_for_drop(handle, &owner) {
        Ok(any) => any,
        Err(why) => {
            loan.give_back(env, guest);
            return Answer::Error(match why {
                None => Error::BadArg,
                Some(why) => raise((atoms::bad_resource(), why.message())),
            });
        }
    };
    let Instantiated::Component(called) = &mut guest.instance else {
        loan.give_back(env, guest);
        return Answer::Error(Error::BadArg);
    };
    called.params.clear();
    called.invoke = Some(Invoke::Drop(any));
    let name = Name::Atom(atoms::resource_drop());
    Call::start_component(env, loan, guest, name, limits, code_dirty(instance))
}

/// Whether any call of `instance`'s component may take in large values
/// (its Erlang imports'): a drop runs guest code, which may call them.
fn code_dirty(instance: &WasmInstance) -> bool {
    instance
        .module()
        .component()
        .is_some_and(|code| code.imports_take_large_values)
}

/// Continues the call NIF on a dirty CPU scheduler, with the same
/// arguments.
fn dirty<'a>(env: Env<'a>, argv: [Term<'a>; 4]) -> Answer<'a> {
    let argv = argv.map(|t| t.as_c_arg());
    // SAFETY: the terms are this NIF's arguments, and the caller returns
    // what enif_schedule_nif returns.
    let scheduled = unsafe {
        sys::enif_schedule_nif(
            env.as_c_arg(),
            c"wasm_component_call_dirty".as_ptr(),
            sys::ERL_NIF_DIRTY_JOB_CPU_BOUND as c_int,
            call_on_dirty,
            argv.len() as c_int,
            argv.as_ptr(),
        )
    };
    // SAFETY: a term of this env.
    Answer::Value(unsafe { Term::new(env, scheduled) })
}

unsafe extern "C" fn call_on_dirty(
    env: *mut ErlNifEnv,
    argc: c_int,
    argv: *const ErlNifTerm,
) -> ErlNifTerm {
    slicing::nif_body(env, argc, argv, |env, argv: [Term; 4]| {
        let instance = crate::resource::borrow::<WasmInstance>(argv[0]).ok_or(Error::BadArg)?;
        let Some(code) = instance.module().component() else {
            return Err(Error::BadArg);
        };
        start(env, instance, code, argv).into_nif(env)
    })
}
