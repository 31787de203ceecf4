//! Imports implemented by Erlang funs, run in the calling process.
//!
//! When the guest calls such an import, the host function records the
//! request in the store's [`HostCell`] and suspends the guest (its future
//! returns `Pending`). The call driver finds the request and, instead of
//! rescheduling, returns to the Erlang side of `call_raw`/`call` with the fun
//! and its arguments. The fun runs there, in the caller's own process (it may
//! call other instances, send, receive or raise), and `host_return_nif`
//! hands its result to the suspended host function, which resumes the guest.
//! No extra thread, no message hop.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustler::env::SavedTerm;
use rustler::{Env, OwnedEnv, Term};
use wasmtime::{FuncType, Linker, Val};

use crate::slicing::SliceCell;
use crate::term_abi::HostState;
use crate::trap::HostTrap;
use crate::values::NumType;

/// A function the module imports that the term ABI does not provide: an
/// Erlang fun must be given for it when the module is instantiated.
pub struct HostImport {
    pub module: String,
    pub name: String,
    pub ty: FuncType,
    pub params: Box<[NumType]>,
    pub results: Box<[NumType]>,
}

impl HostImport {
    pub fn label(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// The exchange between a suspended host function and the call driver.
#[derive(Default)]
pub struct Exchange {
    /// Set by the host function: which import was called, with what.
    pub request: Option<(usize, Vec<Val>)>,
    /// Set by the driver: the fun's result values, or why the call fails.
    pub reply: Option<wasmtime::Result<Vec<Val>>>,
}

/// The store's exchange with Erlang imports.
pub type HostCell = SliceCell<Exchange>;

/// The funs of an instance, kept in an env of their own: each a fun, or
/// `{encoded, Binary}` for a fun with a large closure (see `call.rs`).
pub struct HostFuns {
    env: OwnedEnv,
    funs: Vec<SavedTerm>,
}

impl HostFuns {
    /// Keeps copies of `funs`, in the order of the module's host imports.
    pub fn new(funs: &[Term]) -> Self {
        let env = OwnedEnv::new();
        let funs = funs.iter().map(|fun| env.save(*fun)).collect();
        HostFuns { env, funs }
    }

    /// A copy of fun `index` in `env`: a fun, or a tuple that shares the
    /// binary of an encoded one.
    pub fn fun<'a>(&self, env: Env<'a>, index: usize) -> Option<Term<'a>> {
        let saved = self.funs.get(index)?;
        Some(self.env.run(|own| saved.load(own).in_env(env)))
    }
}

/// `HostFuns` behind a lock: an `OwnedEnv` is not `Sync`, and the lock is
/// taken only when a guest calls an Erlang import.
pub type SharedHostFuns = Mutex<HostFuns>;

/// Why the guest's call failed when the fun raised; the driver re-raises the
/// fun's own exception in the caller.
#[derive(Debug)]
pub struct FunRaised;

impl std::fmt::Display for FunRaised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an Erlang import raised an exception")
    }
}

impl std::error::Error for FunRaised {}

/// Waits for the driver's reply to the request the host function made.
struct Reply<'c>(&'c HostCell);

impl Future for Reply<'_> {
    type Output = wasmtime::Result<Vec<Val>>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: polled inside a slice, while the driver is not looking.
        match unsafe { self.0.get() }.reply.take() {
            Some(reply) => Poll::Ready(reply),
            None => Poll::Pending,
        }
    }
}

/// Defines import `index` of a module as a request to the Erlang side.
pub fn define(
    linker: &mut Linker<HostState>,
    index: usize,
    import: &HostImport,
) -> wasmtime::Result<()> {
    linker.func_new_async(
        &import.module,
        &import.name,
        import.ty.clone(),
        move |caller, params, results| {
            Box::new(async move {
                let cell: Arc<HostCell> = caller.data().host.clone();
                // SAFETY: inside a slice; the driver is not looking.
                unsafe { cell.get() }.request = Some((index, params.to_vec()));
                let values = Reply(&cell).await?;
                if values.len() != results.len() {
                    return Err(HostTrap::new("bad_host_result", "wrong number of results").into());
                }
                results.clone_from_slice(&values);
                Ok(())
            })
        },
    )?;
    Ok(())
}
