//! Every limit and its default: what a call may use (time, fuel), what an
//! instance may take (the bytes of all its memories together, the GC heap
//! included, the elements of all its tables together, how many memories
//! and tables it may define), the guest's stack, and the largest module
//! file read. Options that are not given take their defaults here and
//! nowhere else.
//!
//! Wasmtime's own `StoreLimits` bounds each memory and each table on its
//! own, so a module with many memories could take that many times the
//! ceiling; [`InstanceLimits`] keeps the sums.

use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;

/// Whether compiled code counts fuel. Fuel metering is compiled into every
/// function and costs time even when nobody sets a limit, so it is a choice
/// made per module, at compile time, with an engine of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metering {
    Off,
    Fuel,
}

/// What one call (or one start function) may use: wall-clock time and
/// fuel. `None` is no limit, the default of both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallLimits {
    pub timeout: Option<Duration>,
    pub fuel: Option<u64>,
}

/// When a call times out, and the limit it was given.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    pub at: Instant,
    pub limit: Duration,
}

impl CallLimits {
    /// The deadline of a call that starts now.
    pub fn deadline(&self) -> Option<Deadline> {
        self.timeout.map(|limit| Deadline {
            at: Instant::now() + limit,
            limit,
        })
    }
}

impl Deadline {
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Bytes of the largest module file `load/1,2` and `init/1` read, unless
/// `{max_file_size, Bytes}` says otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Stack a guest may use before it traps with `stack_overflow`, unless the
/// application environment says otherwise (`max_wasm_stack`).
///
/// Guests run on a Wasmtime fiber stack, never on the scheduler thread's
/// stack, so this bound holds on normal and dirty schedulers alike (dirty
/// schedulers have 320 KiB stacks by default).
pub const DEFAULT_MAX_WASM_STACK: usize = 512 * 1024;

/// Bounds of `max_wasm_stack`: below 16 KiB even small guests fail; above
/// 64 MiB every instance would reserve absurd fiber stacks.
pub const MAX_WASM_STACK_RANGE: std::ops::RangeInclusive<usize> = 16 * 1024..=64 * 1024 * 1024;

/// Bytes of linear memory an instance may have in all, unless
/// `{max_memory, Bytes}` says otherwise. Wasm32 allows 4 GiB per memory; a
/// hostile guest should not get that by default.
pub const DEFAULT_MAX_MEMORY: usize = 256 * 1024 * 1024;

/// Bytes of a WASI program's stdout, and of its stderr, kept unread, unless
/// `{capture, Bytes}` says otherwise (wasi/stdio.rs): past it, writes fail.
pub const DEFAULT_MAX_WASI_OUTPUT: usize = 16 * 1024 * 1024;

/// Table elements an instance may have in all.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// Memories an instance may define. Each reserves 4 GiB of address space
/// and a few mappings of the VM's (see `budget.rs`), whatever its size.
pub const DEFAULT_MAX_MEMORIES: usize = 16;

/// Tables an instance may define: the most a valid module can have, since
/// tables cost only their elements, which are bounded in all.
pub const DEFAULT_MAX_TABLES: usize = 100;

/// How Wasmtime reports a growth that the memory's own type forbids, before
/// asking the limiter anything. The sum of memories is only as right as
/// this text: `a_growth_the_type_forbids_takes_nothing_back` fails if a
/// Wasmtime upgrade changes it (Cargo.lock pins the version meanwhile).
const TYPE_REFUSAL: &str = "memory growth exceeds memory type's limits";

/// Core instances a component may make when it is instantiated: a Rust
/// component for wasm32-wasip2 makes five (its module, its WASI adapter and
/// the shims between them).
pub const MAX_COMPONENT_CORE_INSTANCES: usize = 100;

pub struct InstanceLimits {
    /// Core instances in the store: 1 for a module's, more for a
    /// component's.
    pub max_instances: usize,
    pub max_memory: usize,
    pub max_table_elements: usize,
    pub max_memories: usize,
    pub max_tables: usize,
    /// Bytes granted to all memories so far.
    memory: usize,
    /// Elements granted to all tables so far.
    table_elements: usize,
    /// The last memory growth granted: taken back if it then fails.
    granted: usize,
    /// During a call on a normal scheduler whose result costs to lift in
    /// proportion to the memory it is read from: the bytes of memory past
    /// which a growth yields first, so that the rest of the call runs on
    /// dirty schedulers (`store/data.rs`).
    pub yield_past: Option<usize>,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits::new(
            DEFAULT_MAX_MEMORY,
            DEFAULT_MAX_TABLE_ELEMENTS,
            DEFAULT_MAX_MEMORIES,
            DEFAULT_MAX_TABLES,
        )
    }
}

impl InstanceLimits {
    pub fn new(
        max_memory: usize,
        max_table_elements: usize,
        max_memories: usize,
        max_tables: usize,
    ) -> Self {
        InstanceLimits {
            max_instances: 1,
            max_memory,
            max_table_elements,
            max_memories,
            max_tables,
            memory: 0,
            table_elements: 0,
            granted: 0,
            yield_past: None,
        }
    }

    /// Bytes of all memories.
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// Elements of all tables.
    pub fn table_elements(&self) -> usize {
        self.table_elements
    }

    /// Whether the last growth took the memories past `yield_past`: the
    /// bound is then spent.
    pub fn passed_yield_bound(&mut self) -> bool {
        let passed = self.yield_past.is_some_and(|bound| self.memory > bound);
        if passed {
            self.yield_past = None;
        }
        passed
    }

    /// Bytes granted to memories and table elements so far: what freeing
    /// the store costs is in proportion.
    pub fn held(&self) -> usize {
        self.memory
            .saturating_add(self.table_elements.saturating_mul(size_of::<usize>()))
    }

    /// Grants `current -> desired` if the sum stays within `max`.
    fn grant(
        total: &mut usize,
        max: usize,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Option<usize> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            return None;
        }
        let grown = desired.checked_sub(current)?;
        let after = total.checked_add(grown).filter(|after| *after <= max)?;
        *total = after;
        Some(grown)
    }
}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = Self::grant(&mut self.memory, self.max_memory, current, desired, maximum);
        self.granted = granted.unwrap_or(0);
        Ok(granted.is_some())
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // A growth the type forbids never reached `memory_growing`: the last
        // grant, if any, was a growth that succeeded.
        if error.to_string() != TYPE_REFUSAL {
            self.memory -= std::mem::take(&mut self.granted);
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Only growths past the table's own maximum fail after being
        // granted, and those are refused here: nothing to take back.
        Ok(Self::grant(
            &mut self.table_elements,
            self.max_table_elements,
            current,
            desired,
            maximum,
        )
        .is_some())
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn memories(&self) -> usize {
        self.max_memories
    }

    fn tables(&self) -> usize {
        self.max_tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Engine, Instance, Module, Store};

    const PAGE: usize = 65536;

    fn instance(
        wat: &str,
        limits: InstanceLimits,
    ) -> wasmtime::Result<(Store<InstanceLimits>, Instance)> {
        let engine = Engine::new(&Config::new())?;
        let module = Module::new(&engine, wat::parse_str(wat).expect("test WAT parses"))?;
        let mut store = Store::new(&engine, limits);
        store.limiter(|limits| limits);
        let instance = Instance::new(&mut store, &module, &[])?;
        Ok((store, instance))
    }

    fn grow(store: &mut Store<InstanceLimits>, instance: &Instance, name: &str, delta: i32) -> i32 {
        let f = instance
            .get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap();
        f.call(&mut *store, delta).unwrap()
    }

    const TWO_MEMORIES: &str = r#"(module
        (memory $a 1 10) (memory $b 1)
        (func (export "grow_a") (param i32) (result i32) (memory.grow $a (local.get 0)))
        (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0))))"#;

    #[test]
    fn memories_share_one_ceiling() {
        let (mut store, instance) =
            instance(TWO_MEMORIES, InstanceLimits::new(6 * PAGE, 100, 16, 100)).unwrap();
        assert_eq!(grow(&mut store, &instance, "grow_a", 2), 1);
        assert_eq!(grow(&mut store, &instance, "grow_b", 2), 1);
        // 3 + 3 pages: the ceiling is reached by the two together.
        assert_eq!(grow(&mut store, &instance, "grow_a", 1), -1);
        assert_eq!(grow(&mut store, &instance, "grow_b", 1), -1);
        assert_eq!(store.data().memory, 6 * PAGE);
    }

    #[test]
    fn a_growth_the_type_forbids_takes_nothing_back() {
        let (mut store, instance) =
            instance(TWO_MEMORIES, InstanceLimits::new(20 * PAGE, 100, 16, 100)).unwrap();
        assert_eq!(grow(&mut store, &instance, "grow_a", 4), 1);
        // $a may not pass 10 pages: refused by its type, not by the limiter.
        assert_eq!(grow(&mut store, &instance, "grow_a", 10), -1);
        assert_eq!(store.data().memory, 6 * PAGE, "1 + 4 pages of $a, 1 of $b");
        assert_eq!(grow(&mut store, &instance, "grow_b", 14), 1);
        assert_eq!(grow(&mut store, &instance, "grow_b", 1), -1);
    }

    #[test]
    fn initial_sizes_count_and_so_do_the_numbers_of_memories_and_tables() {
        let limits = || InstanceLimits::new(2 * PAGE, 10, 2, 2);
        assert!(instance("(module (memory 1) (memory 1))", limits()).is_ok());
        assert!(instance("(module (memory 2) (memory 1))", limits()).is_err());
        assert!(instance("(module (memory 0) (memory 0) (memory 0))", limits()).is_err());
        assert!(instance("(module (table 5 funcref) (table 5 funcref))", limits()).is_ok());
        assert!(instance("(module (table 6 funcref) (table 5 funcref))", limits()).is_err());
        assert!(instance(
            "(module (table 0 funcref) (table 0 funcref) (table 0 funcref))",
            limits()
        )
        .is_err());
    }

    #[test]
    fn tables_share_one_ceiling() {
        let wat = r#"(module (table $a 1 funcref) (table $b 1 funcref)
            (func (export "grow_a") (param i32) (result i32) (table.grow $a (ref.null func) (local.get 0)))
            (func (export "grow_b") (param i32) (result i32) (table.grow $b (ref.null func) (local.get 0))))"#;
        let (mut store, instance) = instance(wat, InstanceLimits::new(PAGE, 10, 16, 100)).unwrap();
        assert_eq!(grow(&mut store, &instance, "grow_a", 4), 1);
        assert_eq!(grow(&mut store, &instance, "grow_b", 4), 1);
        assert_eq!(grow(&mut store, &instance, "grow_b", 1), -1);
        assert_eq!(store.data().table_elements, 10);
    }
}
