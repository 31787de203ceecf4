//! What `info/1` tells of a module besides its imports and exports.

use rustler::{Encoder, Env, Term};

use super::WasmModule;
use crate::atoms;
use crate::limits::Metering;

/// `#{kind, size, compiled_size, fuel, wasi}`: `size` is the wasm
/// binary's (a WAT text's once assembled), `compiled_size` the machine
/// code and data the engine keeps for it.
pub fn describe<'a>(env: Env<'a>, module: &WasmModule) -> Term<'a> {
    let (kind, image) = match module.core() {
        Some(core) => (atoms::module(), core.image_range()),
        None => (
            atoms::component(),
            module
                .component()
                .map_or(std::ptr::null()..std::ptr::null(), |code| {
                    code.component.image_range()
                }),
        ),
    };
    let compiled = image.end.addr() - image.start.addr();
    atoms::map_of(
        env,
        &[
            (atoms::kind(), kind.encode(env)),
            (atoms::size(), module.size.encode(env)),
            (atoms::compiled_size(), compiled.encode(env)),
            (
                atoms::fuel(),
                (module.metering == Metering::Fuel).encode(env),
            ),
            (atoms::wasi(), module.wasi.encode(env)),
        ],
    )
}
