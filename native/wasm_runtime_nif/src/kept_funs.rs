//! Funs an instance keeps for later calls (the funs of its Erlang imports,
//! of its streamed WASI outputs), copied into an env of their own, since a
//! term lives only as long as the call that passed it.

use rustler::env::SavedTerm;
use rustler::{Env, OwnedEnv, Term};

/// The funs of an instance, kept in an env of their own: each a fun, or
/// `{encoded, Binary}` for a fun with a large closure.
pub struct KeptFuns {
    env: OwnedEnv,
    funs: Vec<SavedTerm>,
}

impl KeptFuns {
    /// Keeps copies of `funs`: for Erlang imports, in the order of the
    /// module's; for WASI, the funs of streamed stdout and stderr.
    pub fn new(funs: &[Term]) -> Self {
        let env = OwnedEnv::new();
        let funs = funs.iter().map(|fun| env.save(*fun)).collect();
        KeptFuns { env, funs }
    }

    /// A copy of fun `index` in `env`: a fun, or a tuple that shares the
    /// binary of an encoded one.
    pub fn fun<'a>(&self, env: Env<'a>, index: usize) -> Option<Term<'a>> {
        let saved = self.funs.get(index)?;
        Some(self.env.run(|own| saved.load(own).in_env(env)))
    }
}
