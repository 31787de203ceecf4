//! Reading a file that a user or a cache names: regular files only, never
//! more than a ceiling.
//!
//! A path can name `/dev/zero` (endless), a FIFO without a writer (an open
//! that never returns), a directory or a socket. The file is opened without
//! blocking and checked through its descriptor, so what is checked is what
//! is read, even if the path is swapped meanwhile; then at most `max + 1`
//! bytes are read, so a file that grows while it is read is caught too.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

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
}

/// The bytes of the regular file at `path`, if it has at most `max`.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
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
    read_at_most(file, meta.len(), max)
}

fn read_at_most(file: File, expected: u64, max: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(expected as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(os_error)?;
    let size = bytes.len() as u64;
    if size > max {
        return Err(ReadError::TooLarge { size, max });
    }
    Ok(bytes)
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
