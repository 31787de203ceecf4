//! Every form `nif!` accepts compiles (the exports are not run here: their
//! imports exist only inside wasm_runtime_nif).

use erl_nif_wasm::{nif, Atom, Env, Error, ListIterator, NifResult, Term};

nif! {
    /// No arguments, no return type: returns the atom ok.
    fn unit() {}

    /// A plain function.
    fn add(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    /// A NifResult, a trailing comma, `pub`.
    pub fn checked(a: i64, b: i64,) -> NifResult<i64> {
        a.checked_add(b).ok_or(Error::Atom("overflow"))
    }

    /// `mut` arguments, early return.
    fn count<'a>(mut list: ListIterator<'a>) -> NifResult<usize> {
        let n = list.by_ref().count();
        if !list.tail().is_empty_list() {
            return Err(Error::BadArg);
        }
        Ok(n)
    }

    /// The env, by its own name.
    fn wrap<'a>(e: Env<'a>, x: Term<'a>) -> Term<'a> {
        e.make_tuple(&[Atom::new("wrapped").encode_to(e), x])
    }

    /// The env with a path.
    fn pid<'a>(env: erl_nif_wasm::Env<'a>) -> Term<'a> {
        env.self_pid()
    }

    /// An Erlang argument called env, and a function called call.
    #[allow(clippy::needless_return)]
    fn call(env: i64) -> i64 {
        return env;
    }

    /// Recursion through the function's own name.
    fn fact(n: u64) -> NifResult<u64> {
        if n == 0 { Ok(1) } else { n.checked_mul(fact(n - 1)?).ok_or(Error::BadArg) }
    }

    /// Attributes reach the export too.
    #[cfg(any())]
    fn compiled_out() -> i64 {
        missing_function()
    }
}

trait EncodeTo {
    fn encode_to<'a>(&self, env: Env<'a>) -> Term<'a>;
}

impl<T: erl_nif_wasm::Encoder> EncodeTo for T {
    fn encode_to<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.encode(env)
    }
}

/// Checks the types of the exports without calling them (a call would need
/// the host's imports, so it would not link outside wasm).
#[test]
fn exports_have_the_term_abi_types() {
    let _: [extern "C" fn(i32, u64, u64) -> u64; 2] = [add, checked];
    let _: extern "C" fn(i32) -> u64 = unit;
    let _: extern "C" fn(i32, u64) -> u64 = call;
}
