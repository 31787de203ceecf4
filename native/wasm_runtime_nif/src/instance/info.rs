//! What `info/1` tells of an instance: its state, its queue, what its
//! store holds, its module and the fuel of its last call.

use rustler::{Encoder, Env, Term};

use super::turns::State;
use super::WasmInstance;
use crate::atoms;

impl WasmInstance {
    /// `#{state, queue, memory, table_elements, fuel_burned, module,
    /// process_bound}`; memory and tables as the last call left them.
    pub fn describe<'a>(&self, env: Env<'a>) -> Term<'a> {
        let seen = self.seen();
        let state = match seen.state {
            State::Idle => atoms::idle().encode(env),
            State::Busy => atoms::busy().encode(env),
            State::Released => atoms::released().encode(env),
            State::Invalidated(reason) => (atoms::invalidated(), reason).encode(env),
        };
        let fuel = match self.last_fuel() {
            Some(burned) => burned.encode(env),
            None => atoms::undefined().encode(env),
        };
        let owner = match self.owner {
            Some(pid) => pid.encode(env),
            None => false.encode(env),
        };
        atoms::map_of(
            env,
            &[
                (atoms::state(), state),
                (atoms::queue(), seen.waiting.encode(env)),
                (atoms::memory(), seen.held.memory.encode(env)),
                (
                    atoms::table_elements(),
                    seen.held.table_elements.encode(env),
                ),
                (atoms::fuel_burned(), fuel),
                (atoms::module(), self.module().encode(env)),
                (atoms::process_bound(), owner),
            ],
        )
    }
}
