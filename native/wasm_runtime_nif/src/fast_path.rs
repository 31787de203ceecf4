//! Typed entry points for the common signatures.
//!
//! `Func::call_async` checks its arguments against the function's type on
//! every call, and looking that type up roots it in the engine-wide type
//! registry: shared atomics that cost time and stop calls on separate
//! instances from scaling across schedulers. A `TypedFunc` does the check
//! once, when the export is first resolved. Exports whose signature is in
//! the list below get one; the others take the general path.

use wasmtime::{Func, Store, TypedFunc, Val};

use crate::store::data::StoreData;

/// A wasm value read out of a `Val` whose type was already checked.
trait FromVal {
    fn from_val(val: &Val) -> Self;
}

/// A typed result written back as `Val`s.
trait StoreResults {
    fn store_results(self, results: &mut [Val]);
}

macro_rules! scalar {
    ($ty:ty, $variant:ident, $unwrap:ident) => {
        impl FromVal for $ty {
            fn from_val(val: &Val) -> Self {
                val.$unwrap()
            }
        }

        impl StoreResults for $ty {
            fn store_results(self, results: &mut [Val]) {
                results[0] = Val::from(self);
            }
        }
    };
}

scalar!(i32, I32, unwrap_i32);
scalar!(i64, I64, unwrap_i64);
scalar!(f32, F32, unwrap_f32);
scalar!(f64, F64, unwrap_f64);

impl StoreResults for () {
    fn store_results(self, _results: &mut [Val]) {}
}

macro_rules! fast_paths {
    ($($name:ident: ($($param:ty),*) -> $result:ty;)*) => {
        /// An export with a signature from the list, as a `TypedFunc`.
        #[allow(non_camel_case_types)]
        pub enum Fast {
            $($name(TypedFunc<($($param,)*), $result>),)*
        }

        impl Fast {
            /// The typed entry point of `func`, if its signature has one.
            pub fn of(func: &Func, store: &Store<StoreData>) -> Option<Fast> {
                $(
                    if let Ok(typed) = func.typed::<($($param,)*), $result>(store) {
                        return Some(Fast::$name(typed));
                    }
                )*
                None
            }

            /// Calls with `params`, already checked against the signature,
            /// and writes the results to `results`.
            pub async fn call(
                &self,
                store: &mut Store<StoreData>,
                params: &[Val],
                results: &mut [Val],
            ) -> wasmtime::Result<()> {
                match self {
                    $(
                        Fast::$name(typed) => {
                            #[allow(unused_mut, unused_variables)]
                            let mut args = params.iter();
                            let args = ($(<$param as FromVal>::from_val(
                                args.next().expect("arity checked by the caller")
                            ),)*);
                            typed.call_async(store, args).await?.store_results(results);
                        }
                    )*
                }
                Ok(())
            }
        }
    };
}

fast_paths! {
    // Numbers, for call_raw/3.
    I32_I32__I32: (i32, i32) -> i32;
    I64_I64__I64: (i64, i64) -> i64;
    I32__I32: (i32) -> i32;
    I64__I64: (i64) -> i64;
    __I32: () -> i32;
    __I64: () -> i64;
    __: () -> ();
    I32__: (i32) -> ();
    I64__: (i64) -> ();
    I32_I32_I32__I32: (i32, i32, i32) -> i32;
    F64_F64__F64: (f64, f64) -> f64;
    F32_F32__F32: (f32, f32) -> f32;
    F64__F64: (f64) -> f64;
    // The term ABI, for call/3: (env, term...) -> term.
    I32__I64: (i32) -> i64;
    I32_I64__I64: (i32, i64) -> i64;
    I32_I64_I64__I64: (i32, i64, i64) -> i64;
    I32_I64_I64_I64__I64: (i32, i64, i64, i64) -> i64;
    I32_I64_I64_I64_I64__I64: (i32, i64, i64, i64, i64) -> i64;
}
