//! Which proposal each wasm operator belongs to, from wasmparser's own
//! list, so that what a module's code may do is judged by proposal.

macro_rules! define_proposal {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The proposal that introduced `op`: `"mvp"`, `"gc"`, `"simd"`...
        #[allow(unreachable_patterns)]
        pub fn proposal(op: &wasmparser::Operator) -> &'static str {
            match op {
                $( wasmparser::Operator::$op { .. } => stringify!($proposal), )*
                _ => "unknown",
            }
        }
    };
}
wasmparser::for_each_operator!(define_proposal);
