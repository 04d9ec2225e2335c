//! File bodies (`ContentVersion.VersionData`, `Attachment.Body`) kept on disk, outside the
//! record slots, so a 2 GB upload never sits in memory or in a snapshot.
//!
//! A blob is written once and never changed (a new file version is a new blob). Its key names
//! its MD5 and size (`<md5 hex>-<size>-<random hex>`), so the `Checksum` and `ContentSize` of
//! a version are known without reading the file, and a reopened org needs no index. The record
//! slot holds [`MARKER`] + key; that text can never be valid base64 (`:` and `-` are outside
//! the alphabet), so it cannot be confused with a value a client sent.
//!
//! Where the files live: `<org dir>/blobs` for a persisted org (they survive a restart with its
//! snapshot), else a private temporary directory removed when the org is dropped. Blobs are not
//! garbage-collected while the org runs (a deleted version may come back from the recycle bin).

use md5::{Digest, Md5};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of a slot value that names a stored blob.
pub const MARKER: &str = "sfemu-blob:";

/// What is known about a stored blob without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The key (file name under the blob directory).
    pub key: String,
    /// Lower-case hex MD5 of the bytes (Salesforce's `ContentVersion.Checksum`).
    pub md5: String,
    /// Size in bytes.
    pub size: u64,
}

impl BlobMeta {
    /// Parses a key: exactly `<32 hex>-<decimal>-<16 hex>`, so it can never name a path
    /// outside the blob directory.
    pub fn from_key(key: &str) -> Option<BlobMeta> {
        let mut parts = key.split('-');
        let (md5, size, rand) = (parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if parts.next().is_some() || !hex(md5, 32) || !hex(rand, 16) {
            return None;
        }
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(BlobMeta {
            key: key.to_string(),
            md5: md5.to_ascii_lowercase(),
            size: size.parse().ok()?,
        })
    }

    /// The slot value naming this blob.
    pub fn slot_value(&self) -> String {
        format!("{MARKER}{}", self.key)
    }

    /// The blob a slot value names, when it names one.
    pub fn from_slot(value: &str) -> Option<BlobMeta> {
        value.strip_prefix(MARKER).and_then(BlobMeta::from_key)
    }
}

/// The directory of one org's blobs.
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    /// Removed on drop (a temporary directory made for an in-memory org).
    owned: bool,
}

impl BlobStore {
    /// Blobs under `dir` (created if missing), kept after the org is dropped.
    pub fn persistent(dir: PathBuf) -> std::io::Result<BlobStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(BlobStore { dir, owned: false })
    }

    /// A fresh private temporary directory, removed when the store is dropped.
    pub fn temporary() -> std::io::Result<BlobStore> {
        let n: u64 = rand::random();
        let dir = std::env::temp_dir().join(format!("sfemu-blobs-{}-{n:016x}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(BlobStore { dir, owned: true })
    }

    /// Where a new upload is written before it is committed with [`BlobStore::commit`].
    pub fn staging_path(&self) -> PathBuf {
        let n: u64 = rand::random();
        self.dir.join(format!("staging-{n:016x}"))
    }

    /// Moves a fully written staging file into place under its key.
    pub fn commit(&self, staged: &Path, md5: &str, size: u64) -> std::io::Result<BlobMeta> {
        let n: u64 = rand::random();
        let meta = BlobMeta {
            key: format!("{}-{size}-{n:016x}", md5.to_ascii_lowercase()),
            md5: md5.to_ascii_lowercase(),
            size,
        };
        std::fs::rename(staged, self.dir.join(&meta.key))?;
        Ok(meta)
    }

    /// Stores bytes already in memory (a base64 JSON upload, ≤ 37.5 MB decoded).
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<BlobMeta> {
        let staged = self.staging_path();
        let mut f = std::fs::File::create(&staged)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        let md5 = hex_md5(bytes);
        self.commit(&staged, &md5, bytes.len() as u64)
    }

    /// The file of a stored blob, when it exists.
    pub fn path(&self, meta: &BlobMeta) -> Option<PathBuf> {
        let p = self.dir.join(&meta.key);
        p.is_file().then_some(p)
    }
}

impl Drop for BlobStore {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Lower-case hex MD5 of `bytes`.
pub fn hex_md5(bytes: &[u8]) -> String {
    hex_digest(Md5::digest(bytes).as_slice())
}

/// Lower-case hex of a digest.
pub fn hex_digest(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_paths() {
        let store = BlobStore::temporary().expect("temp dir");
        let meta = store.put(b"hello").expect("put");
        assert_eq!(meta.md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(meta.size, 5);
        assert_eq!(BlobMeta::from_slot(&meta.slot_value()), Some(meta.clone()));
        assert!(store.path(&meta).is_some());
        for bad in [
            "../x",
            "5d41402abc4b2a76b9719d911017c592-5-../../etc",
            "aGVsbG8=",
        ] {
            assert_eq!(BlobMeta::from_key(bad), None, "{bad}");
        }
    }
}
