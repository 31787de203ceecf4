//! Instances: one Wasmtime `Store` each, and the two ways to call into them.

use std::future::Future;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use rustler::sys::ErlNifTerm;
use rustler::{Encoder, Env, Error, LocalPid, NifResult, Resource, ResourceArc, Term};
use wasmtime::{Func, Instance, Store, StoreLimitsBuilder, Val, ValType};

use crate::atoms;
use crate::engine;
use crate::live_count;
use crate::module::WasmModule;
use crate::term_abi::{HostState, Resolved};
use crate::trap::TrapReason;
use crate::values::{self, NumType};

/// Linear memory an instance may grow to. Wasm32 allows 4 GiB per instance;
/// a hostile guest should not get that by default.
pub const DEFAULT_MAX_MEMORY: usize = 256 * 1024 * 1024;

/// Elements a table may grow to.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// How an export can be called, worked out once per instance and export.
enum Shape {
    /// Numbers in and out: callable with `call_raw/3`. `term_abi` is set when
    /// the type is `(i32 env, i64 term...) -> i64 term`, for `call/3`.
    Numeric {
        params: Box<[NumType]>,
        results: Box<[NumType]>,
        term_abi: bool,
    },
    /// Anything else (v128, references): not callable from Erlang.
    Other,
}

struct Export {
    name: Box<str>,
    func: Func,
    shape: Shape,
    signature: String,
}

impl Export {
    fn new(name: &str, func: Func, store: &Store<HostState>) -> Self {
        let ty = func.ty(store);
        let params: Vec<ValType> = ty.params().collect();
        let results: Vec<ValType> = ty.results().collect();
        let numeric = |tys: &[ValType]| {
            tys.iter()
                .map(NumType::of)
                .collect::<Option<Box<[NumType]>>>()
        };
        let shape = match (numeric(&params), numeric(&results)) {
            (Some(p), Some(r)) => Shape::Numeric {
                term_abi: matches!(&*p, [NumType::I32, rest @ ..] if rest.iter().all(|t| *t == NumType::I64))
                    && *r == [NumType::I64],
                params: p,
                results: r,
            },
            _ => Shape::Other,
        };
        Export {
            name: name.into(),
            func,
            shape,
            signature: crate::module::signature(&ty),
        }
    }
}

struct Live {
    store: Store<HostState>,
    instance: Instance,
    /// Exports called so far. Looked up by name once; after that an atom
    /// finds its export in `by_atom` with no string built or hashed.
    exports: Vec<Export>,
    /// Atom terms are stable for the life of the VM.
    by_atom: Vec<(ErlNifTerm, usize)>,
    params: Vec<Val>,
    results: Vec<Val>,
}

/// An export name as it appears in error reasons: the caller's atom or binary.
enum Name {
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

fn name_of(name: Term) -> Name {
    match rustler::Atom::from_term(name) {
        Ok(atom) => Name::Atom(atom),
        Err(_) => Name::Text(
            String::from_utf8_lossy(name.decode_as_binary().map(|b| b.as_slice()).unwrap_or(b""))
                .into(),
        ),
    }
}

impl Live {
    /// Index in `exports` of the function `name` (an atom or a binary).
    fn export_index(&mut self, module: &WasmModule, name: Term) -> NifResult<usize> {
        let atom = name.is_atom().then(|| name.as_c_arg());
        if let Some(atom) = atom {
            if let Some(&(_, index)) = self.by_atom.iter().find(|(a, _)| *a == atom) {
                return Ok(index);
            }
        }
        let text = match atom {
            Some(_) => name.atom_to_string()?,
            // Only atoms and binaries name functions; a charlist would be
            // accepted by `decode_as_binary` as an iolist.
            None if !name.is_binary() => return Err(Error::BadArg),
            None => std::str::from_utf8(name.decode_as_binary()?.as_slice())
                .map_err(|_| Error::BadArg)?
                .to_owned(),
        };
        let index = match self.exports.iter().position(|e| *e.name == *text) {
            Some(index) => index,
            None => {
                let func = module
                    .module
                    .get_export_index(&text)
                    .and_then(|export| self.instance.get_module_export(&mut self.store, &export))
                    .and_then(|ext| ext.into_func())
                    .ok_or_else(|| raise((atoms::undefined_function(), name_of(name))))?;
                self.exports.push(Export::new(&text, func, &self.store));
                self.exports.len() - 1
            }
        };
        if let Some(atom) = atom {
            self.by_atom.push((atom, index));
        }
        Ok(index)
    }
}

enum State {
    Live(Box<Live>),
    /// A call trapped: the store is gone and every later call reports why.
    Invalidated(TrapReason),
}

pub struct WasmInstance {
    module: ResourceArc<WasmModule>,
    /// Set for `process_bound` instances: the only process that may call.
    owner: Option<LocalPid>,
    state: Mutex<State>,
    _live: live_count::Token,
}

#[rustler::resource_impl]
impl Resource for WasmInstance {}

/// Why instantiation failed.
pub enum InstantiateError {
    Trap(TrapReason),
    Failed(String),
}

impl Encoder for InstantiateError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            InstantiateError::Trap(reason) => reason.encode(env),
            InstantiateError::Failed(msg) => {
                (atoms::instantiation_failed(), msg.as_str()).encode(env)
            }
        }
    }
}

/// Drives a Wasmtime future on this thread until it completes.
///
/// Guest code runs on a fiber stack inside `poll`, never on the scheduler's
/// own stack. Nothing here makes a call yield yet, so the first poll normally
/// finishes it; a call that does yield is simply polled again.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn raise(reason: impl Encoder + 'static) -> Error {
    Error::RaiseTerm(Box::new(reason))
}

fn charlist(text: &str) -> Vec<u32> {
    text.chars().map(u32::from).collect()
}

fn badarity(name: Term, expected: usize, given: usize) -> Error {
    raise((atoms::badarity(), name_of(name), expected, given))
}

/// Marks the instance unusable after a failed call and builds the exception.
fn invalidate(state: &mut State, error: &wasmtime::Error) -> Error {
    let reason = TrapReason::from_error(error);
    *state = State::Invalidated(reason.clone());
    raise(reason)
}

fn live(state: &mut State) -> NifResult<&mut Live> {
    match state {
        State::Live(live) => Ok(live),
        State::Invalidated(reason) => Err(raise((atoms::instance_invalidated(), reason.clone()))),
    }
}

impl WasmInstance {
    pub fn new(
        module: ResourceArc<WasmModule>,
        owner: Option<LocalPid>,
    ) -> Result<Self, InstantiateError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(DEFAULT_MAX_MEMORY)
            .table_elements(DEFAULT_MAX_TABLE_ELEMENTS)
            .build();
        let mut store = Store::new(engine::engine(), HostState::new(limits));
        store.limiter(|state| &mut state.limits);
        let instance =
            run_to_completion(module.pre.instantiate_async(&mut store)).map_err(|e| {
                if e.downcast_ref::<wasmtime::Trap>().is_some() {
                    InstantiateError::Trap(TrapReason::from_error(&e))
                } else {
                    InstantiateError::Failed(format!("{e:#}"))
                }
            })?;
        let memory = instance.get_memory(&mut store, "memory");
        store.data_mut().memory = memory;
        let live = Live {
            store,
            instance,
            exports: Vec::new(),
            by_atom: Vec::new(),
            params: Vec::new(),
            results: Vec::new(),
        };
        Ok(WasmInstance {
            module,
            owner,
            state: Mutex::new(State::Live(Box::new(live))),
            _live: live_count::Token::new(&live_count::INSTANCES),
        })
    }

    pub fn module(&self) -> &ResourceArc<WasmModule> {
        &self.module
    }

    /// The instance's state, once the caller is known to be allowed in.
    fn enter(&self, env: Env) -> NifResult<MutexGuard<'_, State>> {
        if let Some(owner) = self.owner {
            if env.pid() != owner {
                return Err(raise(charlist("called by wrong process")));
            }
        }
        Ok(self.state.lock().unwrap_or_else(|poisoned| {
            // A panic escaped a call (Rustler turned it into an exception);
            // the store may be mid-call, so it must not be used again.
            let mut state = poisoned.into_inner();
            *state = State::Invalidated(TrapReason {
                kind: "host_panic",
                message: "a host function panicked during an earlier call".into(),
            });
            self.state.clear_poison();
            state
        }))
    }

    /// `call_raw/3`: numbers in, numbers out.
    pub fn call_raw<'a>(
        &self,
        env: Env<'a>,
        name: Term<'a>,
        args: Term<'a>,
    ) -> NifResult<Term<'a>> {
        let mut state = self.enter(env)?;
        let live = live(&mut state)?;
        let index = live.export_index(&self.module, name)?;
        let Live {
            store,
            exports,
            params,
            results,
            ..
        } = live;
        let export = &exports[index];
        let Shape::Numeric {
            params: param_types,
            results: result_types,
            ..
        } = &export.shape
        else {
            return Err(raise((
                atoms::unsupported_signature(),
                name_of(name),
                export.signature.clone(),
            )));
        };
        let given = args.list_length()?;
        if given != param_types.len() {
            return Err(badarity(name, param_types.len(), given));
        }
        params.clear();
        for (arg, ty) in args.into_list_iterator()?.zip(param_types.iter()) {
            params.push(values::to_val(arg, *ty).ok_or(Error::BadArg)?);
        }
        results.clear();
        results.extend(result_types.iter().map(|t| values::placeholder(*t)));
        let func = export.func;
        if let Err(e) = run_to_completion(func.call_async(&mut *store, params, results)) {
            return Err(invalidate(&mut state, &e));
        }
        Ok(match results.as_slice() {
            [] => atoms::void().encode(env),
            [one] => values::to_term(env, one),
            many => {
                let terms: Vec<Term> = many.iter().map(|v| values::to_term(env, v)).collect();
                rustler::types::tuple::make_tuple(env, &terms)
            }
        })
    }

    /// `call/3`: Erlang terms in and out through the guest term ABI.
    pub fn call<'a>(&self, env: Env<'a>, name: Term<'a>, args: Term<'a>) -> NifResult<Term<'a>> {
        let mut state = self.enter(env)?;
        let live = live(&mut state)?;
        let index = live.export_index(&self.module, name)?;
        let Live {
            store,
            exports,
            params,
            results,
            ..
        } = live;
        let export = &exports[index];
        let arity = match &export.shape {
            Shape::Numeric {
                params,
                term_abi: true,
                ..
            } => params.len() - 1,
            _ => {
                return Err(raise((
                    atoms::not_a_term_function(),
                    name_of(name),
                    export.signature.clone(),
                )))
            }
        };
        let given = args.list_length()?;
        if given != arity {
            return Err(badarity(name, arity, given));
        }
        let terms = &mut store.data_mut().terms;
        terms.begin(env.as_c_arg());
        params.clear();
        params.push(Val::I32(terms.env_handle()));
        for arg in args.into_list_iterator()? {
            // Wasm functions take at most a few thousand parameters, far
            // below the table's limit.
            let handle = terms.push(arg.as_c_arg()).ok_or(Error::BadArg)?;
            params.push(Val::I64(handle));
        }
        results.clear();
        results.push(Val::I64(0));
        let func = export.func;
        let outcome = run_to_completion(func.call_async(&mut *store, params, results));
        let result_handle = results[0].i64().unwrap_or(0);
        let resolved = store.data().terms.resolve(result_handle);
        store.data_mut().terms.end();
        if let Err(e) = outcome {
            return Err(invalidate(&mut state, &e));
        }
        match resolved {
            // SAFETY: the term was an argument of this NIF call or was made
            // in its env by a host function during the call.
            Some(Resolved::Term(term)) => Ok(unsafe { Term::new(env, term) }),
            Some(Resolved::Badarg) => Err(Error::BadArg),
            None => Err(raise((
                atoms::bad_result_handle(),
                name_of(name),
                result_handle,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recursion without end must trap with `stack_overflow` even on a thread
    /// whose own stack is far smaller than `MAX_WASM_STACK`, as a dirty
    /// scheduler's is: the guest runs on its fiber stack, not the thread's.
    #[test]
    fn unbounded_recursion_traps_on_a_small_thread_stack() {
        engine::init().unwrap();
        let wat = r#"(module (func $f (export "f") (param i64) (result i64)
                        (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#;
        let module = crate::module::compile(wat.as_bytes().to_vec()).unwrap();
        let outcome = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut store = Store::new(engine::engine(), HostState::new(Default::default()));
                let instance = run_to_completion(module.pre.instantiate_async(&mut store)).unwrap();
                let f = instance.get_func(&mut store, "f").unwrap();
                let mut results = [Val::I64(0)];
                let error =
                    run_to_completion(f.call_async(&mut store, &[Val::I64(0)], &mut results))
                        .unwrap_err();
                TrapReason::from_error(&error).kind
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome, "stack_overflow");
    }
}
