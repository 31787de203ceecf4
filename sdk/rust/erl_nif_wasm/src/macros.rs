//! [`nif!`]: export ordinary Rust functions with the term ABI.

/// Exports Rust functions so that `wasm_runtime_nif:call/3` can call them.
///
/// ```no_run
/// use erl_nif_wasm::{nif, Env, NifResult, Term};
///
/// nif! {
///     fn add(a: i64, b: i64) -> i64 {
///         a + b
///     }
///
///     fn pair<'a>(env: Env<'a>, x: Term<'a>) -> NifResult<Term<'a>> {
///         Ok(env.make_tuple(&[x, x]))
///     }
/// }
/// ```
///
/// Each function becomes the wasm export of the same name,
///
/// ```ignore
/// #[unsafe(no_mangle)]
/// pub extern "C" fn add(env: i32, a: u64, b: u64) -> u64 { ... }
/// ```
///
/// which decodes each argument with [`Decoder`](crate::Decoder) (raising
/// `badarg` for the first that does not decode), runs the body, and returns
/// the result encoded with [`Encoder`](crate::Encoder), or raises if it is
/// an `Err` of a [`NifResult`](crate::NifResult). It is called from Erlang
/// as `wasm_runtime_nif:call(Instance, add, [A, B])`.
///
/// The syntax, for each function:
///
/// - attributes and doc comments, which apply to the export too (so
///   `#[cfg(...)]` works), then `fn` (a `pub` before it is allowed and
///   ignored);
/// - at most one lifetime parameter, `<'a>`, and no other generics, no
///   `where` clause;
/// - optionally a first parameter `name: Env<'a>` (written `Env<'a>` or
///   `path::Env<'a>`), which is not an Erlang argument but the call's env;
/// - then the Erlang arguments, each `name: Type` or `mut name: Type`, with
///   `Type: Decoder<'a>`; patterns are not supported;
/// - a return type `T: Encoder` or `NifResult<T>`, or none (`()`, which is
///   the atom `ok`).
///
/// The function itself is nested inside the export, so the rest of the crate
/// cannot call it: put shared code in ordinary functions.
#[macro_export]
macro_rules! nif {
    // Each argument becomes {[mut?] name Type}.
    (@args $ctx:tt $env:tt [$($done:tt)*] []) => {
        $crate::nif!(@emit $ctx $env [$($done)*]);
    };
    (@args $ctx:tt $env:tt [$($done:tt)*] [mut $arg:ident : $ty:ty $(, $($rest:tt)*)?]) => {
        $crate::nif!(@args $ctx $env [$($done)* {[mut] $arg $ty}] [$($($rest)*)?]);
    };
    (@args $ctx:tt $env:tt [$($done:tt)*] [$arg:ident : $ty:ty $(, $($rest:tt)*)?]) => {
        $crate::nif!(@args $ctx $env [$($done)* {[] $arg $ty}] [$($($rest)*)?]);
    };

    // An optional first parameter of type Env<'a> becomes [name 'a].
    (@params $ctx:tt [$env:ident : Env<$l:lifetime> $(, $($rest:tt)*)?]) => {
        $crate::nif!(@args $ctx [$env $l] [] [$($($rest)*)?]);
    };
    (@params $ctx:tt [$env:ident : $path:ident :: Env<$l:lifetime> $(, $($rest:tt)*)?]) => {
        $crate::nif!(@args $ctx [$env $l] [] [$($($rest)*)?]);
    };
    (@params $ctx:tt [$($params:tt)*]) => {
        $crate::nif!(@args $ctx [] [] [$($params)*]);
    };

    (@emit {
        [$($attr:tt)*] $name:ident [$($generics:tt)*] [$lt:lifetime $($_default:tt)*]
        [$($ret:ty)?] $body:block
    } [$($env:ident $l:lifetime)?] [$({[$($mut:tt)*] $arg:ident $ty:ty})*]) => {
        $($attr)*
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(env: $crate::sys::ErlNifEnv, $($arg: $crate::sys::ErlNifTerm),*)
            -> $crate::sys::ErlNifTerm
        {
            $($attr)*
            fn $name $($generics)* ($($env: $crate::Env<$l>,)? $($($mut)* $arg: $ty),*) $(-> $ret)?
            $body

            // Decodes the arguments and runs the function in a fresh lifetime
            // `$lt`, so no term it makes can outlive the call.
            fn __erl_nif_wasm_call<$lt>(
                env: $crate::Env<$lt>,
                $($arg: $crate::sys::ErlNifTerm),*
            ) -> $crate::Term<$lt> {
                $(
                    let $arg = $crate::Term::from_raw(env, $arg);
                    let $arg = match <$ty as $crate::Decoder<$lt>>::decode($arg) {
                        Ok(value) => value,
                        Err(error) => return error.raise(env),
                    };
                )*
                $(let $env = env;)?
                $crate::NifReturn::into_term($name($($env,)? $($arg),*), env)
            }

            __erl_nif_wasm_call($crate::Env::from_raw(env), $($arg),*).as_raw()
        }
    };

    // The entry: any number of functions.
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident $(<$lt:lifetime>)? ($($params:tt)*) $(-> $ret:ty)? $body:block
    )*) => {$(
        $crate::nif!(@params {
            [$(#[$attr])*] $name [$(<$lt>)?] [$($lt)? '__nif_call] [$($ret)?] $body
        } [$($params)*]);
    )*};
}
