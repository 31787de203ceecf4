//! Turning a failed wasm call into the Erlang reason `{trap, Kind, Message}`.

use std::fmt;

use rustler::{Encoder, Env, Term};
use wasmtime::{GcHeapOutOfMemory, OutOfMemory, ThrownException, Trap};

use crate::atoms;

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

/// Why the guest's call failed when an Erlang import's fun raised: the
/// fun's own exception is re-raised in the caller once the guest unwound.
#[derive(Debug)]
pub struct ImportRaised;

impl fmt::Display for ImportRaised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Erlang import raised an exception")
    }
}

impl std::error::Error for ImportRaised {}

/// Why a call failed, kept by an invalidated instance to name in later errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapReason {
    pub kind: &'static str,
    pub message: String,
    /// The status of a WASI program's `proc_exit`: the call raises
    /// `{exit, Status}` rather than a trap.
    pub exit_status: Option<i32>,
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

/// The kind of a failure of running guest code: a wasm trap, one of our
/// host functions' traps, or what the runtime could not give the guest.
/// `None` for errors that are not about running code (linking, say).
fn guest_failure_kind(error: &wasmtime::Error) -> Option<&'static str> {
    let kind = if let Some(trap) = error.downcast_ref::<Trap>() {
        trap_kind(*trap)
    } else if let Some(host) = error.downcast_ref::<HostTrap>() {
        host.kind
    } else if error.is::<ImportRaised>() {
        "import_raised"
    } else if error.is::<wiggle::GuestError>() || error.is::<std::num::TryFromIntError>() {
        // What WASI preview 1 refuses to read from its arguments: a pointer
        // out of the memory, a flag or enum value that does not exist, a
        // size that does not fit (no host function of ours fails so).
        "invalid_wasi_call"
    } else if matches!(
        error.downcast_ref::<wasmtime_wasi::ResourceTableError>(),
        Some(wasmtime_wasi::ResourceTableError::Full)
    ) {
        "wasi_limit"
    } else if error.is::<ThrownException>() {
        "uncaught_exception"
    } else if error.is::<GcHeapOutOfMemory<()>>() {
        "gc_heap_out_of_memory"
    } else if error.is::<OutOfMemory>()
        || error.downcast_ref::<rustix::io::Errno>() == Some(&rustix::io::Errno::NOMEM)
    {
        "out_of_memory"
    } else {
        return None;
    };
    Some(kind)
}

impl TrapReason {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        TrapReason {
            kind,
            message: message.into(),
            exit_status: None,
        }
    }

    /// `what` (the call, the start function) ran past its timeout.
    pub fn timeout(what: &str, limit: std::time::Duration) -> Self {
        TrapReason::new(
            "timeout",
            format!("{what} did not finish within {} ms", limit.as_millis()),
        )
    }

    /// `what` was stopped by `interrupt/1`.
    pub fn interrupted(what: &str) -> Self {
        TrapReason::new(
            "interrupted",
            format!("{what} was interrupted by wasm_runtime_nif:interrupt/1"),
        )
    }

    /// Why running guest code failed, if that is what `error` says.
    pub fn of_guest(error: &wasmtime::Error) -> Option<Self> {
        if let Some(status) = error
            .downcast_ref::<wasmtime_wasi::I32Exit>()
            .map(|exit| exit.0)
        {
            return Some(TrapReason {
                exit_status: Some(status),
                ..TrapReason::new("exit", format!("the program exited with status {status}"))
            });
        }
        guest_failure_kind(error).map(|kind| TrapReason::new(kind, error.root_cause().to_string()))
    }

    /// Why a call failed: a guest failure, or else `host_error` (an error
    /// of the runtime's with no kind of its own).
    pub fn from_error(error: &wasmtime::Error) -> Self {
        if let Some(reason) = Self::of_guest(error) {
            return reason;
        }
        let kind = "host_error";
        TrapReason::new(kind, error.root_cause().to_string())
    }
}

impl Encoder for TrapReason {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        if let Some(status) = self.exit_status {
            return (atoms::exit(), status).encode(env);
        }
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

    #[test]
    fn what_wasi_refuses_is_the_guests_doing() {
        let flags = wasmtime::Error::from(wiggle::GuestError::InvalidFlagValue("Lookupflags"));
        assert_eq!(TrapReason::from_error(&flags).kind, "invalid_wasi_call");
        let size = wasmtime::Error::from(u32::try_from(-1i64).unwrap_err());
        assert_eq!(TrapReason::from_error(&size).kind, "invalid_wasi_call");
        let full = wasmtime::Error::from(wasmtime_wasi::ResourceTableError::Full)
            .context("failed to call `monotonic_clock::subscribe_duration`");
        assert_eq!(TrapReason::from_error(&full).kind, "wasi_limit");
        // Any other table error is the runtime's own.
        let missing = wasmtime::Error::from(wasmtime_wasi::ResourceTableError::NotPresent);
        assert_eq!(TrapReason::from_error(&missing).kind, "host_error");
    }

    #[test]
    fn what_the_runtime_cannot_give_is_out_of_memory() {
        let table = wasmtime::Error::from(OutOfMemory::new(1 << 40));
        assert_eq!(TrapReason::from_error(&table).kind, "out_of_memory");
        // A fiber stack that cannot be mapped.
        let stack = wasmtime::Error::from(rustix::io::Errno::NOMEM);
        assert_eq!(TrapReason::from_error(&stack).kind, "out_of_memory");
        let context = stack.context("while calling");
        assert_eq!(
            TrapReason::of_guest(&context).map(|r| r.kind),
            Some("out_of_memory")
        );
        let link = wasmtime::format_err!("unknown import");
        assert!(TrapReason::of_guest(&link).is_none());
        assert_eq!(TrapReason::from_error(&link).kind, "host_error");
    }
}
