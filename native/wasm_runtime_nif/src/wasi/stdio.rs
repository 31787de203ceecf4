//! Where a program's stdout and stderr go: a pipe that keeps what was
//! written, up to a ceiling, for the caller to read; a pipe whose bytes the
//! calling process hands to a fun of the user's; or nowhere.
//!
//! Past the ceiling a captured write fails (`EIO` for the guest, as a full
//! disk would), after the part that fits is kept: a program learns its
//! output was not all taken instead of losing it silently, and the VM never
//! holds more than the ceiling. Reading the pipe empties it, which makes
//! room again: for a long-lived instance the ceiling bounds what is unread.
//!
//! A streamed pipe holds at most `STREAM_CHUNK` bytes: when it is full the
//! program's write waits (its future is pending) until the call's driver
//! has handed the bytes to the caller, between two slices; when the fun
//! raises, the program's next write traps and the call raises the fun's
//! exception, as for an Erlang import.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use crate::error::ImportRaised;
use crate::limits::DEFAULT_MAX_WASI_OUTPUT;

/// What becomes of one output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Kept, at most this many bytes unread.
    Capture(usize),
    Discard,
    /// Handed to a fun in the calling process, a chunk at a time.
    Stream,
}

impl Default for Mode {
    fn default() -> Self {
        Mode::Capture(DEFAULT_MAX_WASI_OUTPUT)
    }
}

/// The most a discarding stream lets the guest write at once.
const DISCARD_PERMIT: usize = 1 << 16;

/// The most a streamed pipe holds before the program's writes wait.
pub const STREAM_CHUNK: usize = 1 << 16;

/// Bytes a program may write in one go before its write yields, ending the
/// slice: one `fd_write` of hundreds of MiB would otherwise hold the
/// scheduler for tens of ms (1 MiB takes about 0.1 ms).
const BYTES_PER_YIELD: usize = 1 << 20;

/// One output stream of an instance, shared by the WASI context (which
/// writes) and the instance (which reads).
#[derive(Clone)]
pub struct Pipe(Arc<Mutex<Kept>>);

struct Kept {
    mode: Mode,
    bytes: Vec<u8>,
    /// The fun of a streamed pipe raised: writes trap from now on.
    failed: bool,
    /// Bytes written since the writer last yielded.
    since_yield: usize,
}

impl Pipe {
    pub fn new(mode: Mode) -> Self {
        Pipe(Arc::new(Mutex::new(Kept {
            mode,
            bytes: Vec::new(),
            failed: false,
            since_yield: 0,
        })))
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What was captured and not yet read; the pipe is empty after.
    pub fn take(&self) -> Vec<u8> {
        let mut kept = self.kept();
        match kept.mode {
            Mode::Capture(_) => std::mem::take(&mut kept.bytes),
            Mode::Discard | Mode::Stream => Vec::new(),
        }
    }

    /// What a streamed pipe holds for the caller's fun, taken.
    pub fn take_streamed(&self) -> Option<Vec<u8>> {
        let mut kept = self.kept();
        (kept.mode == Mode::Stream && !kept.bytes.is_empty())
            .then(|| std::mem::take(&mut kept.bytes))
    }

    /// The caller's fun raised: the program's next write traps, and nothing
    /// more is handed over.
    pub fn fail(&self) {
        let mut kept = self.kept();
        kept.failed = true;
        kept.bytes.clear();
    }

    /// How many more bytes the pipe takes now.
    fn room(&self) -> StreamResult<usize> {
        let kept = self.kept();
        match kept.mode {
            Mode::Discard => Ok(DISCARD_PERMIT),
            Mode::Capture(ceiling) => match ceiling.saturating_sub(kept.bytes.len()) {
                0 => Err(StreamError::Closed),
                room => Ok(room),
            },
            Mode::Stream if kept.failed => Err(StreamError::Trap(ImportRaised.into())),
            Mode::Stream => Ok(STREAM_CHUNK - kept.bytes.len()),
        }
    }

    /// Whether a writer may go on: a streamed pipe that is full waits for
    /// the caller to take its bytes.
    fn ready_now(&self) -> bool {
        let kept = self.kept();
        kept.mode != Mode::Stream || kept.failed || kept.bytes.len() < STREAM_CHUNK
    }

    /// Whether the writer has written enough to yield now; the count
    /// starts again if so.
    fn due_to_yield(&self) -> bool {
        let mut kept = self.kept();
        let due = kept.since_yield >= BYTES_PER_YIELD;
        if due {
            kept.since_yield = 0;
        }
        due
    }

    /// Keeps what fits of `bytes`; how much that was.
    fn keep(&self, bytes: &[u8]) -> usize {
        let mut kept = self.kept();
        kept.since_yield += bytes.len();
        let room = match kept.mode {
            Mode::Discard => return bytes.len(),
            Mode::Capture(ceiling) => ceiling.saturating_sub(kept.bytes.len()),
            Mode::Stream => STREAM_CHUNK - kept.bytes.len(),
        };
        let n = bytes.len().min(room);
        kept.bytes.extend_from_slice(&bytes[..n]);
        n
    }
}

impl IsTerminal for Pipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Pipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    // Preview 1 writes through `p2_stream`; this is the same pipe for the
    // interfaces that write asynchronously.
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Pipe {
    // A writer that wrote much yields once, waking itself: the slice ends
    // and the call is rescheduled. Only a full streamed pipe makes a writer
    // wait; the driver polls again once it has handed the bytes over, so no
    // waker is kept for that.
    async fn ready(&mut self) {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if !yielded && self.due_to_yield() {
                yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match self.ready_now() {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await
    }
}

impl OutputStream for Pipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        match self.keep(&bytes) == bytes.len() {
            true => Ok(()),
            false => Err(StreamError::Closed),
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.room()
    }
}

impl tokio::io::AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(match self.keep(bytes) {
            0 if !bytes.is_empty() => Err(io::Error::other("the output ceiling is reached")),
            n => Ok(n),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capturing_pipe_keeps_up_to_its_ceiling_and_refuses_the_rest() {
        let mut pipe = Pipe::new(Mode::Capture(10));
        assert_eq!(pipe.check_write().unwrap(), 10);
        pipe.write(Bytes::from_static(b"hello ")).unwrap();
        assert_eq!(pipe.check_write().unwrap(), 4);
        assert!(pipe.write(Bytes::from_static(b"world!")).is_err());
        assert!(matches!(pipe.check_write(), Err(StreamError::Closed)));
        assert_eq!(pipe.take(), b"hello worl");
        assert_eq!(pipe.check_write().unwrap(), 10, "reading makes room");
    }

    #[test]
    fn a_streamed_pipe_holds_a_chunk_and_traps_once_its_fun_raised() {
        let mut pipe = Pipe::new(Mode::Stream);
        assert!(pipe.ready_now());
        pipe.write(Bytes::from(vec![b'x'; STREAM_CHUNK])).unwrap();
        assert_eq!(pipe.check_write().unwrap(), 0);
        assert!(!pipe.ready_now(), "a full pipe makes its writer wait");
        assert!(pipe.take().is_empty(), "nothing is captured");
        assert_eq!(pipe.take_streamed().map(|b| b.len()), Some(STREAM_CHUNK));
        assert_eq!(pipe.take_streamed(), None);
        assert!(pipe.ready_now());
        pipe.fail();
        assert!(matches!(pipe.check_write(), Err(StreamError::Trap(_))));
    }

    #[test]
    fn a_discarding_pipe_takes_everything_and_keeps_nothing() {
        let mut pipe = Pipe::new(Mode::Discard);
        for _ in 0..100 {
            pipe.write(Bytes::from(vec![b'x'; DISCARD_PERMIT])).unwrap();
        }
        assert!(pipe.take().is_empty());
    }
}

/// A program's stdin: the bytes of the `stdin` option, read at most
/// `MAX_IO_BYTES` at a time. Preview 2's `read` asks for any length and
/// the bytes read are copied into the guest on the scheduler; preview 1's
/// reads are bounded before they get here (`wasi/bounded.rs`).
#[derive(Clone)]
pub struct Stdin(MemoryInputPipe);

impl Stdin {
    pub fn new(bytes: Vec<u8>) -> Self {
        Stdin(MemoryInputPipe::new(bytes))
    }
}

impl IsTerminal for Stdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for Stdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        Box::new(self.0.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Stdin {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl InputStream for Stdin {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.0.read(size.min(super::bounded::MAX_IO_BYTES as usize))
    }
}
