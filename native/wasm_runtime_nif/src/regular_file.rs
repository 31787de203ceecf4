//! Reading a file that a user or a cache names: regular files only, never
//! more than a ceiling.
//!
//! A path can name `/dev/zero` (endless), a FIFO without a writer (an open
//! that never returns), a directory or a socket. The file is opened without
//! blocking and checked through its descriptor, so what is checked is what
//! is read, even if the path is swapped meanwhile; then exactly its size is
//! read into memory allocated without aborting on failure, and a file that
//! changed size meanwhile is refused.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustler::sys::{self, ErlNifBinary};
use rustler::{Encoder, Env, Term};

use crate::atoms;

/// Why a file was not read; each becomes the `Reason` of
/// `{error, {file, Path, Reason}}`.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// What the OS said, as the errno Erlang's `file` module names.
    Os(i32),
    NotRegular(&'static str),
    TooLarge {
        size: u64,
        max: u64,
    },
    /// It grew or shrank while it was read.
    Changed,
}

/// A regular file open for reading, and its size.
struct Opened {
    file: File,
    len: usize,
}

impl Opened {
    /// Fills `buf`, which is `len` bytes, and checks that nothing follows.
    fn read_into(mut self, buf: &mut [u8]) -> Result<(), ReadError> {
        self.file.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ReadError::Changed,
            _ => os_error(e),
        })?;
        match self.file.read(&mut [0u8]) {
            Ok(0) => Ok(()),
            Ok(_) => Err(ReadError::Changed),
            Err(e) => Err(os_error(e)),
        }
    }
}

/// The bytes of the regular file at `path`, if it has at most `max`.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let opened = open(path, max)?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(opened.len)
        .map_err(|_| ReadError::Os(libc::ENOMEM))?;
    bytes.resize(opened.len, 0);
    opened.read_into(&mut bytes)?;
    Ok(bytes)
}

/// A binary of our own until it becomes a term; released if anything
/// goes wrong before that, panics included.
struct Allocated(ErlNifBinary);

impl Drop for Allocated {
    fn drop(&mut self) {
        // SAFETY: still ours: a binary handed to enif_make_binary is
        // forgotten, never dropped.
        unsafe { sys::enif_release_binary(&mut self.0) };
    }
}

/// The regular file at `path` as an Erlang binary, if it has at most `max`
/// bytes, read straight into the binary.
pub fn read_binary<'a>(env: Env<'a>, path: &Path, max: u64) -> Result<Term<'a>, ReadError> {
    let opened = open(path, max)?;
    let mut binary = MaybeUninit::<ErlNifBinary>::uninit();
    // SAFETY: enif_alloc_binary fills the struct when it answers 1; unlike
    // Rustler's OwnedBinary, a refusal here is an error, not an abort.
    if unsafe { sys::enif_alloc_binary(opened.len, binary.as_mut_ptr()) } == 0 {
        return Err(ReadError::Os(libc::ENOMEM));
    }
    // SAFETY: filled above.
    let mut allocated = Allocated(unsafe { binary.assume_init() });
    // SAFETY: the binary owns `size` writable bytes at `data`, zeroed
    // first so that a slice over them is initialised memory.
    let bytes = unsafe {
        std::ptr::write_bytes(allocated.0.data, 0, allocated.0.size);
        std::slice::from_raw_parts_mut(allocated.0.data, allocated.0.size)
    };
    opened.read_into(bytes)?;
    // SAFETY: enif_make_binary takes the binary over; it must not be
    // released after that.
    let term = unsafe { Term::new(env, sys::enif_make_binary(env.as_c_arg(), &mut allocated.0)) };
    std::mem::forget(allocated);
    Ok(term)
}

fn open(path: &Path, max: u64) -> Result<Opened, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(os_error)?;
    let meta = file.metadata().map_err(os_error)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        // What reading a directory has always said.
        return Err(ReadError::Os(libc::EISDIR));
    }
    if !kind.is_file() {
        let name = if kind.is_fifo() {
            "fifo"
        } else if kind.is_char_device() {
            "character_device"
        } else if kind.is_block_device() {
            "block_device"
        } else if kind.is_socket() {
            "socket"
        } else {
            "other"
        };
        return Err(ReadError::NotRegular(name));
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let len = usize::try_from(meta.len()).map_err(|_| ReadError::Os(libc::EFBIG))?;
    Ok(Opened { file, len })
}

fn os_error(error: std::io::Error) -> ReadError {
    ReadError::Os(error.raw_os_error().unwrap_or(libc::EIO))
}

/// Erlang's name for an errno, as `file:read_file/1` gives it.
fn posix_name(errno: i32) -> &'static str {
    match errno {
        libc::EACCES => "eacces",
        libc::EPERM => "eperm",
        libc::ENOENT => "enoent",
        libc::ENOTDIR => "enotdir",
        libc::EISDIR => "eisdir",
        libc::ELOOP => "eloop",
        libc::ENAMETOOLONG => "enametoolong",
        libc::EMFILE => "emfile",
        libc::ENFILE => "enfile",
        libc::ENOMEM => "enomem",
        libc::ENXIO => "enxio",
        libc::ENODEV => "enodev",
        libc::EOVERFLOW => "eoverflow",
        libc::EAGAIN => "eagain",
        libc::EINTR => "eintr",
        libc::EINVAL => "einval",
        libc::EFBIG => "efbig",
        libc::ETXTBSY => "etxtbsy",
        libc::EROFS => "erofs",
        libc::ESTALE => "estale",
        libc::ENOSPC => "enospc",
        _ => "eio",
    }
}

impl Encoder for ReadError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let atom = |name| rustler::Atom::from_str(env, name).expect("short ASCII names are atoms");
        match self {
            ReadError::Os(errno) => atom(posix_name(*errno)).encode(env),
            ReadError::NotRegular(kind) => (atoms::not_a_regular_file(), atom(kind)).encode(env),
            ReadError::TooLarge { size, max } => (atoms::too_large(), *size, *max).encode(env),
            ReadError::Changed => atoms::changed_while_read().encode(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("regular_file_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn reads_regular_files_up_to_the_ceiling() {
        let path = scratch("ten");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        assert_eq!(
            read(&path, 9),
            Err(ReadError::TooLarge { size: 10, max: 9 })
        );
        assert_eq!(
            read(&scratch("absent"), 10),
            Err(ReadError::Os(libc::ENOENT))
        );
        let empty = scratch("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(read(&empty, 10).unwrap(), b"");
    }

    #[test]
    fn a_file_that_changes_while_read_is_refused() {
        let path = scratch("changing");
        std::fs::write(&path, b"0123456789").unwrap();
        let opened = open(&path, 100).unwrap();
        std::fs::write(&path, b"0123456789 and more").unwrap();
        let mut buf = vec![0; opened.len];
        assert_eq!(opened.read_into(&mut buf), Err(ReadError::Changed));
        let opened = open(&path, 100).unwrap();
        std::fs::write(&path, b"short").unwrap();
        let mut buf = vec![0; opened.len];
        assert_eq!(opened.read_into(&mut buf), Err(ReadError::Changed));
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        assert_eq!(
            read(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::NotRegular("character_device"))
        );
        assert_eq!(
            read(Path::new("/"), 1 << 20),
            Err(ReadError::Os(libc::EISDIR))
        );
        let fifo = scratch("fifo");
        let _ = std::fs::remove_file(&fifo);
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would never return.
        assert_eq!(read(&fifo, 1 << 20), Err(ReadError::NotRegular("fifo")));
    }
}
