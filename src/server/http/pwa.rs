//! What makes Natter an installable app: the service worker script, made for this build,
//! and the names of the files it keeps for offline starts.
//!
//! The worker's `VERSION` is a hash of the app shell's contents, so it changes exactly
//! when a build changes what the browser runs; the browser then installs the new worker,
//! which fills a fresh cache, and the page offers a reload.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::prelude::LeptosOptions;
use sha2::{Digest, Sha256};

const WORKER_TEMPLATE: &str = include_str!("sw.js");

/// Files besides the build's JS, WASM and CSS that an offline start needs. (Pages are
/// kept as they are visited: they hold who the user is.)
const STATIC_SHELL: &[&str] = &[
    "/manifest.webmanifest",
    "/favicon.svg",
    "/icons/icon-192.png",
    "/icons/maskable-192.png",
];

/// This build's front end, as the browser asks for it.
#[derive(Clone, Debug)]
pub struct Release {
    /// Changes whenever a file of the shell changes.
    pub version: String,
    /// `/sw.js`, ready to send.
    worker: Arc<str>,
    /// The build's file names carry content hashes: each name's content never changes.
    hashed_names: bool,
}

impl Release {
    /// Reads the built front end under the site root. Missing files (a test build without
    /// a front end) just make a version of their own.
    pub fn load(options: &LeptosOptions) -> Release {
        let mut shell = front_end_files(options);
        shell.extend(STATIC_SHELL.iter().map(|f| f.to_string()));

        let mut hash = Sha256::new();
        hash.update(WORKER_TEMPLATE);
        for url in &shell {
            hash.update(url);
            if let Ok(bytes) = std::fs::read(Path::new(options.site_root.as_ref()).join(&url[1..]))
            {
                hash.update(&bytes);
            }
        }
        let version: String = hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let worker = format!(
            "const VERSION = {};\nconst SHELL = {};\n\n{WORKER_TEMPLATE}",
            serde_json::Value::from(version.clone()),
            serde_json::Value::from(shell),
        );
        Release {
            version,
            worker: worker.into(),
            hashed_names: options.hash_files,
        }
    }
}

/// The JS, WASM and CSS URLs the pages load. With cargo-leptos' `hash-files`, the names
/// carry content hashes (read from the `hash.txt` it writes beside the binary), which is
/// what lets the worker serve them from its cache without ever asking again.
pub fn front_end_files(options: &LeptosOptions) -> Vec<String> {
    let (mut js, mut wasm, mut css) = (
        options.output_name.to_string(),
        options.output_name.to_string(),
        options.output_name.to_string(),
    );
    if options.hash_files {
        for (kind, hash) in read_hashes(options) {
            match kind.as_str() {
                "js" => js = format!("{js}.{hash}"),
                "wasm" => wasm = format!("{wasm}.{hash}"),
                "css" => css = format!("{css}.{hash}"),
                _ => {}
            }
        }
    } else if option_env!("LEPTOS_OUTPUT_NAME").is_none() {
        // Leptos' own rule for builds outside cargo-leptos.
        wasm.push_str("_bg");
    }
    let pkg = &options.site_pkg_dir;
    vec![
        format!("/{pkg}/{js}.js"),
        format!("/{pkg}/{wasm}.wasm"),
        format!("/{pkg}/{css}.css"),
    ]
}

/// cargo-leptos' `hash.txt` (lines such as `js: 0a1b…`), found as Leptos finds it: the
/// options' `hash_file`, beside the binary unless it is an absolute path (the unpacked
/// front end's, `http::site`).
pub fn hash_file(options: &LeptosOptions) -> std::path::PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    beside.join(options.hash_file.as_ref())
}

fn read_hashes(options: &LeptosOptions) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(hash_file(options)).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim().to_owned(), hash.trim().to_owned()))
        .collect()
}

/// `GET /sw.js`. Never cached by HTTP, so a new build is noticed on the next visit.
pub async fn service_worker(State(release): State<Arc<Release>>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        release.worker.to_string(),
    )
        .into_response()
}

/// Build files with a content hash in their name never change: browsers may keep them a
/// year without asking. Icons change rarely; a day.
pub async fn cache_headers(
    State(release): State<Arc<Release>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let rule = if path.starts_with("/pkg/") && release.hashed_names {
        Some("public, max-age=31536000, immutable")
    } else if path.starts_with("/icons/") || path == "/manifest.webmanifest" {
        Some("public, max-age=86400")
    } else {
        None
    };
    let mut response = next.run(request).await;
    if let Some(rule) = rule.filter(|_| response.status().is_success()) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(rule));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(site_root: &Path) -> LeptosOptions {
        let mut options = LeptosOptions::builder().output_name("natter").build();
        options.site_root = site_root.to_string_lossy().as_ref().into();
        options
    }

    #[test]
    fn the_version_follows_the_shell_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        let css = dir.path().join("pkg/natter.css");
        std::fs::write(&css, "body{}").unwrap();
        let first = Release::load(&options(dir.path()));
        assert_eq!(first.version, Release::load(&options(dir.path())).version);
        std::fs::write(&css, "body{color:red}").unwrap();
        let second = Release::load(&options(dir.path()));
        assert_ne!(
            first.version, second.version,
            "a changed file is a new release"
        );
        assert!(second
            .worker
            .starts_with(&format!("const VERSION = \"{}\";", second.version)));
        assert!(second.worker.contains("\"/pkg/natter.css\""));
        assert!(second.worker.contains("\"/manifest.webmanifest\""));
    }
}
