//! The compiled-module cache: Wasmtime's compiled code kept on disk, so that
//! loading a module again (after a restart, say) skips compilation.
//!
//! An entry is named by the SHA-256 of the module's bytes, a hash of
//! everything about the engine that compiled code depends on (Wasmtime
//! version, settings, CPU features) and the metering. Wasmtime checks the
//! same compatibility again when it loads an entry, and an entry it refuses,
//! or that cannot be read, is simply compiled and written anew.
//!
//! An entry is read whole into memory and checked before Wasmtime sees it:
//! a header names the format, the body's length and the SHA-256 of the
//! entry's name and body. A damaged entry (truncated, rewritten in place, a
//! flipped byte, another entry copied over it) is compiled and written anew.
//! Wasmtime copies the checked bytes into memory of its own, so nothing a
//! later change to the file does can reach code the VM runs.
//!
//! The digest catches accidents, not attacks: whoever can write the
//! directory can write a valid entry of any code. The directory must be
//! writable only by those trusted to run native code in the VM.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::limits::Metering;
use crate::regular_file;

/// Largest entry read or written. Compiled code is a few times the size of
/// the module; a larger entry is not worth keeping, and one that claims to
/// be larger is not read.
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// `magic, version (u32), body length (u64), SHA-256`, little-endian.
const MAGIC: &[u8; 8] = b"WRNCACHE";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

pub struct CacheEntry {
    path: PathBuf,
}

impl CacheEntry {
    /// The entry for a module whose bytes hash to `content_hash` (SHA-256,
    /// hex); `None` if that is not a hex digest.
    pub fn new(
        dir: &Path,
        content_hash: &str,
        engine: &Engine,
        metering: Metering,
    ) -> Option<Self> {
        let is_digest =
            content_hash.len() == 64 && content_hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_digest {
            return None;
        }
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let kind = match metering {
            Metering::Off => "plain",
            Metering::Fuel => "fuel",
        };
        let name = format!(
            "{}-{:016x}-{kind}.cwasm",
            content_hash.to_ascii_lowercase(),
            hasher.finish()
        );
        Some(CacheEntry {
            path: dir.join(name),
        })
    }

    /// The name the digest covers, so that an entry is valid only under
    /// its own name.
    fn name(&self) -> &[u8] {
        self.path
            .file_name()
            .map_or(&[][..], |name| name.as_encoded_bytes())
    }

    fn digest(&self, body: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.name());
        hasher.update(body);
        hasher.finalize().into()
    }

    /// The body of an entry whose header and digest check out.
    fn verified<'b>(&self, bytes: &'b [u8]) -> Option<&'b [u8]> {
        let (header, body) = bytes.split_at_checked(HEADER_LEN)?;
        let (magic, rest) = header.split_at(8);
        let (version, rest) = rest.split_at(4);
        let (length, digest) = rest.split_at(8);
        let intact = magic == MAGIC
            && u32::from_le_bytes(version.try_into().ok()?) == VERSION
            && u64::from_le_bytes(length.try_into().ok()?) == body.len() as u64
            && digest == self.digest(body);
        intact.then_some(body)
    }

    /// The cached code, if there is an intact entry this engine accepts.
    pub fn load<C: Compiled>(&self, engine: &Engine) -> Option<C> {
        let bytes = regular_file::read(&self.path, MAX_ENTRY_BYTES).ok()?;
        let body = self.verified(&bytes)?;
        // SAFETY: the body is, byte for byte, what `store` wrote from code
        // this engine's configuration compiled (the digest says so; the
        // directory is trusted, see the module docs), and Wasmtime refuses
        // code from an incompatible engine or of the other kind (a module's
        // for a component). `deserialize` copies the bytes, so the file is
        // not used after this.
        unsafe { C::deserialize(engine, body) }
    }

    fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut entry = Vec::with_capacity(HEADER_LEN + body.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&VERSION.to_le_bytes());
        entry.extend_from_slice(&(body.len() as u64).to_le_bytes());
        entry.extend_from_slice(&self.digest(body));
        entry.extend_from_slice(body);
        entry
    }

    /// Writes `code`; a failure only means no cache.
    pub fn store<C: Compiled>(&self, code: &C) {
        let Some(body) = code.serialize() else {
            return;
        };
        if (HEADER_LEN + body.len()) as u64 > MAX_ENTRY_BYTES {
            return;
        }
        let code = self.encode(&body);
        let Some(dir) = self.path.parent() else {
            return;
        };
        // Written under a name no other writer uses, then renamed, so that a
        // reader never sees half a file, even when two compiles of the same
        // bytes race.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let unique = WRITES.fetch_add(1, Ordering::Relaxed);
        let temporary = self
            .path
            .with_extension(format!("{}.{unique}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&temporary)?;
                file.write_all(&code)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temporary, &self.path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

/// Compiled code that can be kept: a module's or a component's.
pub trait Compiled: Sized {
    /// # Safety
    /// `body` must be what `serialize` made with a compatible engine.
    unsafe fn deserialize(engine: &Engine, body: &[u8]) -> Option<Self>;
    fn serialize(&self) -> Option<Vec<u8>>;
}

impl Compiled for Module {
    unsafe fn deserialize(engine: &Engine, body: &[u8]) -> Option<Self> {
        Module::deserialize(engine, body).ok()
    }

    fn serialize(&self) -> Option<Vec<u8>> {
        Module::serialize(self).ok()
    }
}

impl Compiled for wasmtime::component::Component {
    unsafe fn deserialize(engine: &Engine, body: &[u8]) -> Option<Self> {
        wasmtime::component::Component::deserialize(engine, body).ok()
    }

    fn serialize(&self) -> Option<Vec<u8>> {
        wasmtime::component::Component::serialize(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_digests_name_entries() {
        crate::engine::init(crate::engine::Settings::default()).unwrap();
        let engine = crate::engine::engine(Metering::Off);
        let dir = Path::new("/tmp");
        assert!(CacheEntry::new(dir, &"ab".repeat(32), engine, Metering::Off).is_some());
        assert!(CacheEntry::new(dir, "../../etc/passwd", engine, Metering::Off).is_none());
        assert!(CacheEntry::new(dir, &"zz".repeat(32), engine, Metering::Off).is_none());
        let plain = CacheEntry::new(dir, &"ab".repeat(32), engine, Metering::Off).unwrap();
        let fuel = CacheEntry::new(dir, &"ab".repeat(32), engine, Metering::Fuel).unwrap();
        assert_ne!(plain.path, fuel.path);
    }

    #[test]
    fn only_intact_entries_under_their_own_name_verify() {
        crate::engine::init(crate::engine::Settings::default()).unwrap();
        let engine = crate::engine::engine(Metering::Off);
        let dir = Path::new("/tmp");
        let entry = CacheEntry::new(dir, &"ab".repeat(32), engine, Metering::Off).unwrap();
        let other = CacheEntry::new(dir, &"cd".repeat(32), engine, Metering::Off).unwrap();
        let body = b"compiled code".to_vec();
        let bytes = entry.encode(&body);
        assert_eq!(entry.verified(&bytes), Some(&body[..]));
        assert_eq!(other.verified(&bytes), None, "copied under another name");
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert_eq!(entry.verified(&flipped), None, "byte {at} flipped");
        }
        for len in 0..bytes.len() {
            assert_eq!(entry.verified(&bytes[..len]), None, "cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(entry.verified(&longer), None);
    }
}
