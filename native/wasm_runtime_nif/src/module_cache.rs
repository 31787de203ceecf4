//! The compiled-module cache: Wasmtime's compiled code kept on disk, so that
//! loading a module again (after a restart, say) skips compilation.
//!
//! An entry is named by the SHA-256 of the module's bytes, a hash of
//! everything about the engine that compiled code depends on (Wasmtime
//! version, settings, CPU features) and the metering. Wasmtime checks the
//! same compatibility again when it loads an entry, and an entry it refuses,
//! or that cannot be read, is simply compiled and written anew.
//!
//! Loading an entry maps its machine code into the VM as is: the directory
//! must be writable only by those trusted to run native code in the VM.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use crate::engine::Metering;

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

    /// The cached module, if there is one this engine accepts.
    pub fn load(&self, engine: &Engine) -> Option<Module> {
        if !self.path.is_file() {
            return None;
        }
        // SAFETY: the file was written by `store` from code this engine
        // compiled (the cache directory is trusted, see the module docs), and
        // Wasmtime refuses files from an incompatible engine.
        unsafe { Module::deserialize_file(engine, &self.path) }.ok()
    }

    /// Writes `module`'s compiled code; a failure only means no cache.
    pub fn store(&self, module: &Module) {
        let Ok(code) = module.serialize() else {
            return;
        };
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
}
