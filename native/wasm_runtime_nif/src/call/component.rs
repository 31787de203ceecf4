//! A call of a component's function, or the drop of one of its resources:
//! arguments converted by WIT type (`component/convert.rs`) before the
//! instance is taken, then the same `Call` as every call, sliced, killable
//! and limited; its result converted at the end (`component/called.rs`).
//!
//! Conversion cannot yield. Arguments more than a normal scheduler
//! converts at once (`convert::NORMAL_SCHEDULER_WORK`) are converted on a
//! dirty CPU scheduler: the NIF continues there. A function whose result
//! may be large runs its slices there (`component::Lifting`).

use rustler::sys::{c_int, ErlNifEnv, ErlNifTerm};
use rustler::{Env, Error, NifResult, Term};

use super::Call;
use crate::atoms;
use crate::component::called::Invoke;
use crate::component::convert::{Refusal, ToValues, Work, MAX_VALUES};
use crate::component::handle;
use crate::component::{ComponentCode, Lifting};
use crate::error::raise;
use crate::instance::exports::Name;
use crate::instance::{Instantiated, WasmInstance};
use crate::protocol::Answer;
use crate::slicing;

/// `with` applied to the text of a function name, an atom or a UTF-8
/// binary, read in place.
fn name_text<R>(name: Term, with: impl FnOnce(&str) -> R) -> NifResult<R> {
    if name.is_atom() {
        let mut buffer = [0u8; 256];
        // SAFETY: a term of this env; the buffer has room for 255 Latin-1
        // characters and the NUL.
        let len = unsafe {
            rustler::sys::enif_get_atom(
                name.get_env().as_c_arg(),
                name.as_c_arg(),
                buffer.as_mut_ptr().cast(),
                buffer.len() as u32,
                rustler::sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
            )
        };
        // Names are ASCII: an atom of other characters names none.
        let text = std::str::from_utf8(&buffer[..(len.max(1) - 1) as usize]).unwrap_or("");
        return Ok(with(text));
    }
    if !name.is_binary() {
        return Err(Error::BadArg);
    }
    let text =
        std::str::from_utf8(name.decode_as_binary()?.as_slice()).map_err(|_| Error::BadArg)?;
    Ok(with(text))
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
        Err(StartError::TooMuch) => Answer::Value(slicing::continue_on_dirty(
            env,
            c"wasm_component_call_dirty",
            call_on_dirty,
            &argv,
        )),
        Err(StartError::Refused(error)) => Answer::Error(error),
    }
}

enum StartError {
    /// More conversion than a normal scheduler does at once.
    TooMuch,
    Refused(Error),
}

impl From<Error> for StartError {
    fn from(error: Error) -> Self {
        StartError::Refused(error)
    }
}

/// `{bad_argument, Function, Parameter, Message}`, `at` the place in the
/// argument, innermost step first.
fn bad_argument(name: Term, param: &str, at: &[String], why: &str) -> StartError {
    let at: String = at.iter().rev().map(String::as_str).collect();
    let message = format!("{param}{at}{why}");
    raise((
        atoms::bad_argument(),
        Name::of(name),
        param.to_owned(),
        message,
    ))
    .into()
}

fn prepare<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    code: &ComponentCode,
    name: Term<'a>,
    args: Term<'a>,
    limits: Term<'a>,
) -> Result<Answer<'a>, StartError> {
    let limits = instance.call_limits(limits)?;
    let index = name_text(name, |text| code.function(text))?
        .ok_or_else(|| raise((atoms::undefined_function(), Name::of(name))))?;
    let function = &code.functions[index];
    let given = args.list_length()?;
    if given != function.params.len() {
        let arity = function.params.len();
        return Err(raise((atoms::badarity(), Name::of(name), arity, given)).into());
    }
    let owner = instance.component_owner().ok_or(Error::BadArg)?;
    let mut to_values = ToValues {
        resources: &code.resources,
        atoms: &code.atoms,
        owner,
        lent: Vec::new(),
        work: Work::new(!slicing::on_dirty_scheduler()),
    };
    let mut params = Vec::with_capacity(given);
    // The parameter each lent handle was passed in.
    let mut lent_in = Vec::new();
    for (arg, (param, ty)) in args.into_list_iterator()?.zip(&function.params) {
        match to_values.value(arg, ty) {
            Ok(value) => params.push(value),
            Err(Refusal::TooMuch) => return Err(StartError::TooMuch),
            Err(Refusal::TooLarge) => {
                let why = format!(" holds more than the {MAX_VALUES} values a call may pass");
                return Err(bad_argument(name, param, &[], &why));
            }
            Err(Refusal::Shape(at, expected)) => {
                return Err(bad_argument(
                    name,
                    param,
                    &at,
                    &format!(" must be a {expected}"),
                ))
            }
            Err(Refusal::Handle(at, why)) => {
                return Err(bad_argument(
                    name,
                    param,
                    &at,
                    &format!(": {}", why.message()),
                ))
            }
        }
        lent_in.resize(to_values.lent.len(), param);
    }
    // Each call counts for at least 1% of a timeslice, conversion in
    // proportion: a process calling in a loop is preempted as any other.
    rustler::schedule::consume_timeslice(env, to_values.work.timeslice_percent());
    let lent = to_values.lent;
    let (loan, mut guest) = match super::take(env, instance, &limits) {
        Ok(taken) => taken,
        Err(answer) => return Ok(answer),
    };
    // A handle dropped or taken by another process's call since it was
    // converted is refused now, while nothing has run.
    let gone = lent
        .iter()
        .zip(&lent_in)
        .find_map(|(l, p)| Some((l.unusable()?, *p)));
    if let Some((why, param)) = gone {
        loan.give_back(env, guest);
        return Err(bad_argument(
            name,
            param,
            &[],
            &format!(": {}", why.message()),
        ));
    }
    let Instantiated::Component(called) = &mut guest.instance else {
        loan.give_back(env, guest);
        return Err(Error::BadArg.into());
    };
    called.params = params;
    called.invoke = Some(Invoke::Function(index));
    Ok(Call::start_component(
        env,
        loan,
        guest,
        Name::of(name),
        limits,
        function.lifting,
        lent,
    ))
}

/// `resource_drop/2`: drops the resource in a call of its instance.
pub fn drop_resource<'a>(
    env: Env<'a>,
    instance: &WasmInstance,
    handle: Term<'a>,
    limits: Term<'a>,
) -> Answer<'a> {
    let limits = match instance.call_limits(limits) {
        Ok(limits) => limits,
        Err(error) => return Answer::Error(error),
    };
    let Some(owner) = instance.component_owner() else {
        return Answer::Error(Error::BadArg);
    };
    let (loan, mut guest) = match super::take(env, instance, &limits) {
        Ok(taken) => taken,
        Err(answer) => return answer,
    };
    let any = match handle::take_for_drop(handle, owner) {
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
    let lifting = drop_lifting(instance);
    Call::start_component(env, loan, guest, name, limits, lifting, Vec::new())
}

/// Where a drop runs: its destructor is guest code, which may call the
/// component's Erlang imports, and they may move large values.
fn drop_lifting(instance: &WasmInstance) -> Lifting {
    match instance
        .module()
        .component()
        .is_some_and(|code| code.imports_move_large_values)
    {
        true => Lifting::Large,
        false => Lifting::Small,
    }
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
