//! Where files' bytes live: a seam ([`FileStore`]) with a local folder behind it now.
//! Bytes are kept under their content hash (SHA-256, hex), so the same bytes sent twice
//! are kept once, and a name never comes from a user.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Bytes by content hash. Blocking: call it from `spawn_blocking`, or for small work.
pub trait FileStore: Send + Sync + 'static {
    /// Keeps the file at `from` (a temporary file of [`FileStore::temp_dir`]) under `hash`;
    /// `from` is gone afterwards. Bytes already kept under `hash` stay as they are.
    fn put_file(&self, hash: &str, from: &Path) -> io::Result<()>;
    /// Keeps `bytes` under `hash`.
    fn put(&self, hash: &str, bytes: &[u8]) -> io::Result<()>;
    /// Whether bytes are kept under `hash`.
    fn exists(&self, hash: &str) -> bool;
    /// Opens what is kept under `hash`.
    fn get(&self, hash: &str) -> io::Result<fs::File>;
    /// Where uploads are written while they arrive (same file system as the store).
    fn temp_dir(&self) -> &Path;
}

/// A folder: `<root>/ab/abcdef…` for each hash, and `<root>/tmp/` for uploads arriving.
pub struct LocalFolder {
    root: PathBuf,
    temp: PathBuf,
}

impl LocalFolder {
    /// Opens (creating) the folder; uploads left half-written by a crash are removed.
    pub fn open(root: &Path) -> io::Result<Self> {
        let temp = root.join("tmp");
        let _ = fs::remove_dir_all(&temp);
        fs::create_dir_all(&temp)?;
        Ok(LocalFolder {
            root: root.to_owned(),
            temp,
        })
    }

    fn path(&self, hash: &str) -> io::Result<PathBuf> {
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a hash"));
        }
        Ok(self.root.join(&hash[..2]).join(hash))
    }
}

impl FileStore for LocalFolder {
    fn put_file(&self, hash: &str, from: &Path) -> io::Result<()> {
        let to = self.path(hash)?;
        if to.exists() {
            return fs::remove_file(from);
        }
        fs::create_dir_all(to.parent().expect("hashes live in a subfolder"))?;
        fs::File::open(from)?.sync_all()?;
        fs::rename(from, &to)
    }

    fn put(&self, hash: &str, bytes: &[u8]) -> io::Result<()> {
        let to = self.path(hash)?;
        if to.exists() {
            return Ok(());
        }
        let temp = tempfile_in(&self.temp)?;
        fs::write(&temp, bytes)?;
        self.put_file(hash, &temp)
    }

    fn exists(&self, hash: &str) -> bool {
        self.path(hash).is_ok_and(|path| path.exists())
    }

    fn get(&self, hash: &str) -> io::Result<fs::File> {
        fs::File::open(self.path(hash)?)
    }

    fn temp_dir(&self) -> &Path {
        &self.temp
    }
}

/// A fresh, unused name in `dir`.
pub fn tempfile_in(dir: &Path) -> io::Result<PathBuf> {
    let name: u128 = rand::random();
    Ok(dir.join(format!("{name:032x}.part")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_kept_by_hash_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFolder::open(dir.path()).unwrap();
        let hash = "ab".repeat(32);
        assert!(!store.exists(&hash));
        store.put(&hash, b"hello").unwrap();
        store.put(&hash, b"hello").unwrap();
        assert!(store.exists(&hash));
        let mut read = String::new();
        io::Read::read_to_string(&mut store.get(&hash).unwrap(), &mut read).unwrap();
        assert_eq!(read, "hello");
        assert!(store.put("../../etc/passwd", b"x").is_err());
        assert!(store.get(&"AB".repeat(32)).is_err());
    }
}
