// The enif_* symbols are provided by the BEAM when it loads the NIF library.
// Unit-test executables run outside the BEAM: they link with those symbols
// left unresolved, and `.cargo/config.toml`'s runner (scripts/enif-stubs-runner)
// preloads trapping stand-ins so the loader accepts them. Tests never call
// them. A cdylib leaves unresolved symbols to the loader anyway, so the flag
// does not change the NIF library.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg=-Wl,--unresolved-symbols=ignore-all");
    // The library runs threads of its own (the epoch ticker, the reaper)
    // that outlive any module: it must never be unmapped, even when the
    // VM unloads it after `wasm_runtime_nif_nif` is deleted and purged.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
