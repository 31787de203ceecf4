//! The WASI calls whose work grows with a size the guest chooses, bounded
//! so that one call never holds the scheduler for long.
//!
//! `wasmtime-wasi` copies the whole first non-empty buffer of an
//! `fd_read`/`fd_write` between linear memory and the host on the calling
//! thread (0.1 ms per MiB, up to the guest's whole memory), and sets up
//! every subscription of a `poll_oneoff` before it waits (1,000 take about
//! 0.8 ms). These functions shadow its own: a read or write moves at most
//! `MAX_IO_BYTES` and returns a short count, as POSIX allows and as every
//! libc loops over; more than `MAX_IOVECS` buffers or `MAX_SUBSCRIPTIONS`
//! subscriptions give `EINVAL`, as Linux's `readv` and `poll` do past
//! their own limits. A file that `fd_close` or `fd_renumber` closes is
//! closed on the reaper thread: closing a file the program truncated and
//! wrote again makes ext4 write it out first (about 200 ms for 512 MiB).
//! `path_open` past `MAX_OPEN_FILES` gives `EMFILE`, and `random_get` past
//! `MAX_RANDOM_BYTES` traps with a kind of ours. Everything else is
//! `wasmtime-wasi`'s implementation, called as its generated glue calls it.

use std::fs::File;
use std::sync::Arc;

use wasmtime::{AsContextMut, Caller, Extern, Linker, Store};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p1::types::{Ciovec, Errno};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as snapshot;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::WasiView;
use wiggle::GuestMemory;

use super::IMPORT_MODULE;
use crate::error::HostTrap;
use crate::reaper;
use crate::store::data::StoreData;

/// Bytes one read or write moves at most: a short count past it.
pub const MAX_IO_BYTES: u32 = 1 << 20;

/// Buffers one vectored read or write may name (Linux's `IOV_MAX`).
pub const MAX_IOVECS: u32 = 1024;

/// Subscriptions one `poll_oneoff` may wait on.
pub const MAX_SUBSCRIPTIONS: u32 = 1024;

/// The most one `random_get` may ask for: larger requests trap. Producing
/// 1 MiB takes about a millisecond on the scheduler (C's `getentropy` asks
/// for at most 256 bytes, Rust's std for 16).
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// Files and directories one program may have open: each is a descriptor
/// of the VM's own, and Wasmtime would allow a million. Past it, `path_open`
/// gives `EMFILE`, as Linux past its default `ulimit -n`.
pub const MAX_OPEN_FILES: usize = 1024;

/// Entries of the program's resource table: its open files, with room for
/// the streams and pollables of its calls (a poll makes two per
/// subscription). Past it, a call that makes one more traps.
pub const MAX_RESOURCES: usize = MAX_OPEN_FILES + 2 * MAX_SUBSCRIPTIONS as usize + 64;

/// What `wasmtime-wasi` may copy into the host in one call, in bytes of
/// its own types (it fails the call with `ENOMEM` past it): a bounded
/// buffer and its array of buffers, a path, the subscriptions of a poll.
/// Wasmtime's default is 128 MiB.
pub const HOSTCALL_FUEL: usize =
    MAX_IO_BYTES as usize + MAX_IOVECS as usize * size_of::<Ciovec>() + (64 << 10);

/// Bounds the WASI calls `wasmtime-wasi` makes for `store`.
pub fn bound(store: &mut Store<StoreData>) {
    store.set_hostcall_fuel(HOSTCALL_FUEL);
}

/// Bounds what the program of `context` may hold open.
pub fn bound_resources(context: &mut WasiP1Ctx) {
    context.ctx().table.set_max_capacity(MAX_RESOURCES);
}

/// Shadows, in `linker`, the functions of `wasmtime-wasi` that this module
/// bounds: reads, writes, `poll_oneoff`, `path_open`, `random_get`, and
/// the two that close files.
pub fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    // Each wraps the generated function of the same name, whose arguments
    // are the guest's: the descriptor, the buffers and their count, then
    // an offset for the positioned ones and where to put the count moved;
    // `$reads` when it writes into the buffers.
    macro_rules! bounded_io {
        (
            $name:ident($($argument:ident: $type:ty),*),
            $buffers:ident, $count:ident, $moved:ident, $reads:expr
        ) => {
            linker.func_wrap_async(
                IMPORT_MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreData>, ($($argument,)*): ($($type,)*)| {
                    Box::new(async move {
                        if $count as u32 > MAX_IOVECS {
                            return Ok(Errno::Inval as i32);
                        }
                        let (memory, context) = guest(&mut caller)?;
                        let clamp = Clamp::first_buffer(memory, $buffers, $count);
                        let errno = snapshot::$name(
                            context,
                            &mut GuestMemory::Unshared(&mut *memory),
                            $($argument),*
                        )
                        .await;
                        if let Some(clamp) = clamp {
                            clamp.undo(memory, $moved, $reads);
                        }
                        errno
                    })
                },
            )?
        };
    }

    linker.allow_shadowing(true);
    bounded_io!(
        fd_read(fd: i32, buffers: i32, count: i32, read: i32),
        buffers, count, read, true
    );
    bounded_io!(
        fd_write(fd: i32, buffers: i32, count: i32, written: i32),
        buffers, count, written, false
    );
    bounded_io!(
        fd_pread(fd: i32, buffers: i32, count: i32, offset: i64, read: i32),
        buffers, count, read, true
    );
    bounded_io!(
        fd_pwrite(fd: i32, buffers: i32, count: i32, offset: i64, written: i32),
        buffers, count, written, false
    );
    // Each wraps the generated function of the same name, which may close
    // a file: the last reference to it is dropped on the reaper thread.
    macro_rules! closing {
        ($name:ident($($argument:ident: $type:ty),*)) => {
            linker.func_wrap_async(
                IMPORT_MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreData>, ($($argument,)*): ($($type,)*)| {
                    Box::new(async move {
                        let (memory, context) = guest(&mut caller)?;
                        let open = open_files(context);
                        let errno = snapshot::$name(
                            context,
                            &mut GuestMemory::Unshared(memory),
                            $($argument),*
                        )
                        .await;
                        close_elsewhere(open);
                        errno
                    })
                },
            )?
        };
    }

    linker.func_wrap_async(
        IMPORT_MODULE,
        "path_open",
        |mut caller: Caller<'_, StoreData>,
         (fd, lookup, path, length, open, base, inheriting, flags, opened): (
            i32,
            i32,
            i32,
            i32,
            i32,
            i64,
            i64,
            i32,
            i32,
        )| {
            Box::new(async move {
                let (memory, context) = guest(&mut caller)?;
                if open_descriptors(context) >= MAX_OPEN_FILES {
                    return Ok(Errno::Mfile as i32);
                }
                snapshot::path_open(
                    context,
                    &mut GuestMemory::Unshared(memory),
                    fd,
                    lookup,
                    path,
                    length,
                    open,
                    base,
                    inheriting,
                    flags,
                    opened,
                )
                .await
            })
        },
    )?;
    // `wasmtime-wasi` refuses more than `max_random_size` with an error of
    // no kind of its own; the limit is ours, and so is the trap.
    linker.func_wrap(
        IMPORT_MODULE,
        "random_get",
        |mut caller: Caller<'_, StoreData>, buffer: i32, length: i32| {
            if length as u32 as u64 > MAX_RANDOM_BYTES {
                let message = format!(
                    "random_get of {} bytes: at most {MAX_RANDOM_BYTES} at once",
                    length as u32
                );
                return Err(HostTrap::new("wasi_limit", message).into());
            }
            let (memory, context) = guest(&mut caller)?;
            snapshot::random_get(context, &mut GuestMemory::Unshared(memory), buffer, length)
        },
    )?;
    closing!(fd_close(fd: i32));
    closing!(fd_renumber(from: i32, to: i32));
    linker.func_wrap_async(
        IMPORT_MODULE,
        "poll_oneoff",
        |mut caller: Caller<'_, StoreData>,
         (subscriptions, events, count, ready): (i32, i32, i32, i32)| {
            Box::new(async move {
                if count as u32 > MAX_SUBSCRIPTIONS {
                    return Ok(Errno::Inval as i32);
                }
                let (memory, context) = guest(&mut caller)?;
                snapshot::poll_oneoff(
                    context,
                    &mut GuestMemory::Unshared(memory),
                    subscriptions,
                    events,
                    count,
                    ready,
                )
                .await
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The calling instance's memory and WASI context, the context holding the
/// store's hostcall fuel for this call: what the generated glue prepares.
fn guest<'a>(
    caller: &'a mut Caller<'_, StoreData>,
) -> wasmtime::Result<(&'a mut [u8], &'a mut WasiP1Ctx)> {
    let fuel = caller.as_context_mut().hostcall_fuel();
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        wasmtime::bail!("missing required memory export")
    };
    let (memory, data) = memory.data_and_store_mut(caller);
    let context = data
        .wasi
        .as_deref_mut()
        .expect("a module that imports WASI is instantiated with a WASI context");
    wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1::set_hostcall_fuel(
        context, fuel,
    );
    Ok((memory, context))
}

/// How many files and directories the program has open, its preopens
/// included.
fn open_descriptors(context: &mut WasiP1Ctx) -> usize {
    context
        .ctx()
        .table
        .iter_mut()
        .filter(|entry| entry.is::<Descriptor>())
        .count()
}

/// The files the program has open (at most `MAX_OPEN_FILES`).
fn open_files(context: &mut WasiP1Ctx) -> Vec<Arc<File>> {
    context
        .ctx()
        .table
        .iter_mut()
        .filter_map(|entry| match entry.downcast_ref::<Descriptor>() {
            Some(Descriptor::File(file)) => Some(file.file.clone()),
            _ => None,
        })
        .collect()
}

/// Closes on the reaper thread the files of `open` that nothing else holds
/// any more; the others only lose a reference.
fn close_elsewhere(open: Vec<Arc<File>>) {
    for file in open {
        // Atomically the last reference or not: a thread of wasmtime-wasi's
        // may drop its own meanwhile.
        if let Some(file) = Arc::into_inner(file) {
            reaper::dispose(file);
        }
    }
}

/// A buffer length in the guest's array of buffers, lowered to
/// `MAX_IO_BYTES` for one call.
struct Clamp {
    at: usize,
    length: [u8; 4],
    /// Where the buffer begins.
    buffer: usize,
}

impl Clamp {
    /// Lowers the length of the first non-empty buffer of the `count` at
    /// `buffers` (each a 32-bit address and a 32-bit length) when it is
    /// above `MAX_IO_BYTES`. Arrays out of bounds are left as they are:
    /// the call itself fails on them.
    fn first_buffer(memory: &mut [u8], buffers: i32, count: i32) -> Option<Clamp> {
        let start = buffers as u32 as usize;
        for index in 0..count.clamp(0, MAX_IOVECS as i32) as usize {
            let at = start.checked_add(index * 8 + 4)?;
            let length: [u8; 4] = memory.get(at..at.checked_add(4)?)?.try_into().ok()?;
            match u32::from_le_bytes(length) {
                0 => continue,
                1..=MAX_IO_BYTES => return None,
                _ => {
                    let buffer = u32::from_le_bytes(memory[at - 4..at].try_into().ok()?);
                    memory[at..at + 4].copy_from_slice(&MAX_IO_BYTES.to_le_bytes());
                    return Some(Clamp {
                        at,
                        length,
                        buffer: buffer as usize,
                    });
                }
            }
        }
        None
    }

    /// Gives the guest its length back, unless the call may have written
    /// over it: the count it moved stored at `moved`, or, for a read
    /// (`reads`), the bytes read into a buffer that holds the length. What
    /// the call wrote is what the guest would see on a POSIX system.
    fn undo(self, memory: &mut [u8], moved: i32, reads: bool) {
        let field = self.at..self.at + 4;
        let overlaps = |start: usize, length: usize| {
            start < field.end && field.start < start.saturating_add(length)
        };
        let written_over = overlaps(moved as u32 as usize, 4)
            || (reads && overlaps(self.buffer, MAX_IO_BYTES as usize));
        if !written_over {
            memory[field].copy_from_slice(&self.length);
        }
    }
}

/// Shadows, in a component linker, preview 2's `poll`, whose set-up grows
/// with the number of pollables (as `poll_oneoff`'s with its
/// subscriptions): more than [`MAX_SUBSCRIPTIONS`] trap with `wasi_limit`.
pub fn link_components(
    linker: &mut wasmtime::component::Linker<StoreData>,
) -> wasmtime::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;
    use wasmtime_wasi::WasiView;
    use wasmtime_wasi_io::bindings::wasi::io::poll::Host;

    linker.allow_shadowing(true);
    linker.instance(POLL_INTERFACE)?.func_wrap_async(
        "poll",
        |mut store, (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                if pollables.len() > MAX_SUBSCRIPTIONS as usize {
                    return Err(HostTrap::new(
                        "wasi_limit",
                        format!("a poll of more than {MAX_SUBSCRIPTIONS} pollables"),
                    )
                    .into());
                }
                let ready = store.data_mut().ctx().table.poll(pollables).await?;
                Ok((ready,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The preview 2 interface `wasmtime-wasi` defines `poll` in; components
/// importing an earlier 0.2 version are linked to it.
const POLL_INTERFACE: &str = "wasi:io/poll@0.2.12";

#[cfg(test)]
mod tests {
    use super::*;

    fn array(entries: &[(u32, u32)]) -> Vec<u8> {
        let mut memory = vec![0u8; 64];
        for (index, (address, length)) in entries.iter().enumerate() {
            memory[index * 8..index * 8 + 4].copy_from_slice(&address.to_le_bytes());
            memory[index * 8 + 4..index * 8 + 8].copy_from_slice(&length.to_le_bytes());
        }
        memory
    }

    fn length(memory: &[u8], index: usize) -> u32 {
        u32::from_le_bytes(memory[index * 8 + 4..index * 8 + 8].try_into().unwrap())
    }

    #[test]
    fn the_first_non_empty_buffer_is_lowered_and_given_back() {
        let mut memory = array(&[(0, 0), (16, 8 << 20), (32, 9 << 20)]);
        let clamp = Clamp::first_buffer(&mut memory, 0, 3).unwrap();
        assert_eq!(length(&memory, 1), MAX_IO_BYTES);
        assert_eq!(length(&memory, 2), 9 << 20);
        clamp.undo(&mut memory, 48, true);
        assert_eq!(length(&memory, 1), 8 << 20);
    }

    #[test]
    fn small_buffers_and_bad_arrays_are_left_alone() {
        let mut memory = array(&[(16, 100), (32, 9 << 20)]);
        let before = memory.clone();
        assert!(Clamp::first_buffer(&mut memory, 0, 2).is_none());
        assert!(Clamp::first_buffer(&mut memory, 60, 2).is_none());
        assert!(Clamp::first_buffer(&mut memory, -1, 1).is_none());
        assert!(Clamp::first_buffer(&mut memory, 0, -1).is_none());
        assert!(Clamp::first_buffer(&mut memory, 0, 0).is_none());
        assert_eq!(memory, before);
    }

    #[test]
    fn a_length_the_call_wrote_over_stays_written() {
        // The count moved, stored on the length itself: a full clamped
        // read's count is the clamped length, and stays.
        let mut memory = array(&[(32, 8 << 20)]);
        let clamp = Clamp::first_buffer(&mut memory, 0, 1).unwrap();
        clamp.undo(&mut memory, 4, false);
        assert_eq!(length(&memory, 0), MAX_IO_BYTES);
        // A read into a buffer that holds the length.
        let mut memory = array(&[(0, 8 << 20)]);
        let clamp = Clamp::first_buffer(&mut memory, 0, 1).unwrap();
        memory[4..8].copy_from_slice(b"data");
        clamp.undo(&mut memory, 48, true);
        assert_eq!(&memory[4..8], b"data");
        // A write only reads its buffer: the length comes back.
        let mut memory = array(&[(0, 8 << 20)]);
        let clamp = Clamp::first_buffer(&mut memory, 0, 1).unwrap();
        clamp.undo(&mut memory, 48, false);
        assert_eq!(length(&memory, 0), 8 << 20);
    }
}
