//! Turning a failed wasm call into the Erlang reason `{trap, Kind, Message}`.

use std::fmt;

use rustler::{Encoder, Env, Term};
use wasmtime::Trap;

use crate::atoms;
use crate::host_fun::FunRaised;

/// A trap raised by one of our host functions, with the kind it reports.
#[derive(Debug)]
pub struct HostTrap {
    kind: &'static str,
    message: String,
}

impl HostTrap {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        HostTrap {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostTrap {}

/// Why a call failed, kept by an invalidated instance to name in later errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapReason {
    pub kind: &'static str,
    pub message: String,
}

fn trap_kind(trap: Trap) -> &'static str {
    match trap {
        Trap::StackOverflow => "stack_overflow",
        Trap::MemoryOutOfBounds => "memory_out_of_bounds",
        Trap::HeapMisaligned => "heap_misaligned",
        Trap::TableOutOfBounds => "table_out_of_bounds",
        Trap::IndirectCallToNull => "indirect_call_to_null",
        Trap::BadSignature => "bad_signature",
        Trap::IntegerOverflow => "integer_overflow",
        Trap::IntegerDivisionByZero => "integer_divide_by_zero",
        Trap::BadConversionToInteger => "bad_conversion_to_integer",
        Trap::UnreachableCodeReached => "unreachable",
        Trap::Interrupt => "interrupt",
        Trap::OutOfFuel => "out_of_fuel",
        Trap::AtomicWaitNonSharedMemory => "atomic_wait_non_shared_memory",
        Trap::NullReference => "null_reference",
        Trap::ArrayOutOfBounds => "array_out_of_bounds",
        Trap::AllocationTooLarge => "allocation_too_large",
        Trap::CastFailure => "cast_failure",
        _ => "other",
    }
}

impl TrapReason {
    pub fn from_error(error: &wasmtime::Error) -> Self {
        let kind = if let Some(trap) = error.downcast_ref::<Trap>() {
            trap_kind(*trap)
        } else if let Some(host) = error.downcast_ref::<HostTrap>() {
            host.kind
        } else if error.downcast_ref::<FunRaised>().is_some() {
            "import_raised"
        } else {
            "host_error"
        };
        TrapReason {
            kind,
            message: error.root_cause().to_string(),
        }
    }
}

impl Encoder for TrapReason {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let kind =
            rustler::Atom::from_str(env, self.kind).expect("trap kinds are short ASCII atoms");
        (atoms::trap(), kind, self.message.as_str()).encode(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_traps_and_host_traps_are_classified() {
        let wasm = wasmtime::Error::from(Trap::IntegerDivisionByZero);
        let reason = TrapReason::from_error(&wasm);
        assert_eq!(reason.kind, "integer_divide_by_zero");
        assert!(
            reason.message.contains("divide by zero"),
            "{}",
            reason.message
        );

        let host = wasmtime::Error::from(HostTrap::new("bad_env", "env 3 is not this call's"));
        let reason = TrapReason::from_error(&host);
        assert_eq!(reason.kind, "bad_env");
        assert_eq!(reason.message, "env 3 is not this call's");
    }
}
