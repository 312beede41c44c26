//! The front end inside the binary: cargo-leptos builds it into `target/site` before the
//! release server, which embeds every file (rust-embed). So one file deploys: a copied
//! `natter` binary unpacks its front end at start into a folder beside the database
//! (`natter.db.site/`, rewritten only where a file changed) and serves it from there, with
//! the content-hashed names it was built with. `--site-root` serves a folder instead.
//!
//! In a debug build rust-embed reads `target/site` from the disk at run time instead, and
//! an empty one (tests, before any front end is built) leaves the old ways in place.

use std::path::{Path, PathBuf};

#[derive(rust_embed::Embed)]
#[folder = "target/site/"]
#[allow_missing = true]
struct Embedded;

/// A front end unpacked on disk.
pub struct Unpacked {
    pub root: PathBuf,
    /// cargo-leptos' `hash.txt` (`js: …`, `wasm: …`, `css: …`), made from the embedded
    /// files' names; `None` when they carry no hashes.
    pub hash_file: Option<PathBuf>,
}

/// Unpacks the embedded front end into `root`; `None` when the binary carries none.
pub fn unpack(root: &Path, output_name: &str) -> std::io::Result<Option<Unpacked>> {
    let mut files = Embedded::iter().peekable();
    if files.peek().is_none() {
        return Ok(None);
    }
    let mut hashes = Vec::new();
    for name in files {
        let Some(file) = Embedded::get(&name) else {
            continue;
        };
        let path = root.join(name.as_ref());
        if std::fs::read(&path).ok().as_deref() != Some(file.data.as_ref()) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, &file.data)?;
        }
        if let Some(line) = hash_line(&name, output_name) {
            hashes.push(line);
        }
    }
    let hash_file = if hashes.is_empty() {
        None
    } else {
        hashes.sort();
        let path = root.join("hash.txt");
        std::fs::write(&path, hashes.join("\n") + "\n")?;
        Some(std::path::absolute(path)?)
    };
    Ok(Some(Unpacked {
        root: root.to_owned(),
        hash_file,
    }))
}

/// `pkg/natter.<hash>.wasm` → `wasm: <hash>`, as cargo-leptos writes `hash.txt`.
fn hash_line(name: &str, output_name: &str) -> Option<String> {
    let file = name.strip_prefix("pkg/")?;
    let rest = file.strip_prefix(output_name)?.strip_prefix('.')?;
    let (hash, ext) = rest.rsplit_once('.')?;
    (!hash.is_empty() && !hash.contains('.') && ["js", "wasm", "css"].contains(&ext))
        .then(|| format!("{ext}: {hash}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_make_the_hash_file() {
        assert_eq!(
            hash_line("pkg/natter.GUJ8uZtv.wasm", "natter").as_deref(),
            Some("wasm: GUJ8uZtv")
        );
        assert_eq!(
            hash_line("pkg/natter.d28C_aE-B.js", "natter").as_deref(),
            Some("js: d28C_aE-B")
        );
        assert_eq!(hash_line("pkg/natter.wasm", "natter"), None, "no hash");
        assert_eq!(hash_line("pkg/natter.d.4QJ7.ts", "natter"), None);
        assert_eq!(hash_line("favicon.svg", "natter"), None);
        assert_eq!(hash_line("pkg/other.abc.js", "natter"), None);
    }
}
