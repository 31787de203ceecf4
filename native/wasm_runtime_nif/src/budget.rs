//! The share of the VM's memory mappings and address space that live
//! instances may take.
//!
//! Every instance maps memory of its own: a 4 GiB reservation and guards
//! per linear memory (and for the GC heap), a fiber stack, large tables.
//! Linux caps the mappings of a process (`vm.max_map_count`, 65,530 by
//! default); when instances reach it, the BEAM's own allocators fail next
//! and the VM aborts. So each instance reserves, before it is made, an
//! estimate of what it will map, and is refused with `system_limit` when
//! the reservations would pass a ceiling that leaves the VM its headroom.
//! The reservation is given back when the instance's store is dropped.
//!
//! With the pooling allocator, slots are mapped once when the library
//! loads and instances map nothing: nothing is reserved then.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The share of `vm.max_map_count` instances may use by default: the rest
/// is the VM's (its allocators' carriers, thread stacks, drivers, NIFs).
const DEFAULT_MAPPING_SHARE: u64 = 2;

/// `vm.max_map_count` where it cannot be read: Linux's default.
const DEFAULT_MAX_MAP_COUNT: u64 = 65_530;

/// User address space of x86_64 and aarch64 Linux with 4-level page
/// tables; where `RLIMIT_AS` is lower, that.
const USER_ADDRESS_SPACE: u64 = 1 << 47;

/// What a linear memory (or the GC heap) maps: its reservation with guards
/// before and after, the accessible part between them and, for a memory
/// with data segments, the image of the data inside it (measured: 2 to 4).
pub const MAPPINGS_PER_MEMORY: u64 = 5;
/// A fiber stack and its guard page.
pub const MAPPINGS_PER_STACK: u64 = 2;
/// A table large enough for malloc to map it on its own.
pub const MAPPINGS_PER_TABLE: u64 = 1;
/// Address space of a linear memory: a 4 GiB reservation, 32 MiB guards
/// before and after (Wasmtime's defaults on 64-bit hosts).
pub const ADDRESS_SPACE_PER_MEMORY: u64 = (4 << 30) + (64 << 20);

/// What an instance is expected to map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub mappings: u64,
    pub address_space: u64,
}

impl Cost {
    /// An instance with `memories` linear memories (the GC heap counted as
    /// one), `tables` tables and a fiber stack of `stack` bytes.
    pub fn of_instance(memories: u64, tables: u64, stack: u64) -> Cost {
        Cost {
            mappings: MAPPINGS_PER_STACK
                + memories * MAPPINGS_PER_MEMORY
                + tables * MAPPINGS_PER_TABLE,
            address_space: stack + memories * ADDRESS_SPACE_PER_MEMORY,
        }
    }
}

/// The ceilings, set when the library loads; `None` with the pooling
/// allocator.
static CEILING: OnceLock<Option<Cost>> = OnceLock::new();
static MAPPINGS: AtomicU64 = AtomicU64::new(0);
static ADDRESS_SPACE: AtomicU64 = AtomicU64::new(0);

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn address_space_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    if got && limit.rlim_cur != libc::RLIM_INFINITY {
        USER_ADDRESS_SPACE.min(limit.rlim_cur)
    } else {
        USER_ADDRESS_SPACE
    }
}

/// The default ceiling: half of what the system allows the VM.
pub fn default_ceiling() -> Cost {
    let max_map_count = read_number("/proc/sys/vm/max_map_count").unwrap_or(DEFAULT_MAX_MAP_COUNT);
    Cost {
        mappings: max_map_count / DEFAULT_MAPPING_SHARE,
        address_space: address_space_limit() / 2,
    }
}

/// Sets the ceilings once: `max_mappings` from the application
/// environment, else the default; no ceilings at all when `pooled`.
pub fn init(max_mappings: Option<u64>, pooled: bool) {
    let ceiling = (!pooled).then(|| {
        let default = default_ceiling();
        Cost {
            mappings: max_mappings.unwrap_or(default.mappings),
            ..default
        }
    });
    let _ = CEILING.set(ceiling);
}

pub fn ceiling() -> Option<Cost> {
    CEILING.get().copied().flatten()
}

/// What live instances have reserved.
pub fn used() -> Cost {
    Cost {
        mappings: MAPPINGS.load(Ordering::Relaxed),
        address_space: ADDRESS_SPACE.load(Ordering::Relaxed),
    }
}

/// A part of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation(Cost);

impl Drop for Reservation {
    fn drop(&mut self) {
        MAPPINGS.fetch_sub(self.0.mappings, Ordering::Relaxed);
        ADDRESS_SPACE.fetch_sub(self.0.address_space, Ordering::Relaxed);
    }
}

/// Adds `amount` if the sum stays within `max`; else the sum it would be.
fn take(counter: &AtomicU64, amount: u64, max: u64) -> Result<(), u64> {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(amount).filter(|after| *after <= max)
        })
        .map(|_| ())
        .map_err(|used| used.saturating_add(amount))
}

/// Reserves `cost`, or says why it does not fit.
pub fn reserve(cost: Cost) -> Result<Reservation, String> {
    let Some(max) = ceiling() else {
        return Ok(Reservation(Cost::default()));
    };
    take(&MAPPINGS, cost.mappings, max.mappings).map_err(|needed| {
        format!(
            "live instances would need {needed} memory mappings; the ceiling is {} \
             (max_instance_mappings, by default half of vm.max_map_count)",
            max.mappings
        )
    })?;
    if let Err(needed) = take(&ADDRESS_SPACE, cost.address_space, max.address_space) {
        MAPPINGS.fetch_sub(cost.mappings, Ordering::Relaxed);
        return Err(format!(
            "live instances would need {} GiB of address space; the ceiling is {} GiB \
             (half of what the VM may map)",
            needed >> 30,
            max.address_space >> 30
        ));
    }
    Ok(Reservation(cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_come_back_and_the_ceiling_holds() {
        init(Some(100), false);
        let ceiling = ceiling().expect("a ceiling without pooling");
        assert_eq!(ceiling.mappings, 100);
        assert!(ceiling.address_space >= 1 << 40, "{ceiling:?}");
        let start = used();
        let one = Cost::of_instance(1, 1, 1 << 20);
        assert_eq!(one.mappings, 8);
        let held: Vec<_> = (0..12).map(|_| reserve(one).unwrap()).collect();
        assert_eq!(used().mappings, start.mappings + 96);
        let refused = reserve(one).unwrap_err();
        assert!(refused.contains("ceiling is 100"), "{refused}");
        assert_eq!(
            used().mappings,
            start.mappings + 96,
            "a refusal takes nothing"
        );
        drop(held);
        assert_eq!(used(), start);
        let huge = Cost {
            mappings: 1,
            address_space: u64::MAX / 2,
        };
        assert!(reserve(huge).unwrap_err().contains("address space"));
        assert_eq!(used(), start);
    }
}
