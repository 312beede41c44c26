//! The source tree keeps its shape: no file imports one that imports it back.
//!
//! A file's imports are the `crate::…` and `super::…` paths it names outside comments and
//! its `#[cfg(test)] mod tests`, each taken to the file of the longest module path that
//! exists. A cycle among files (the router and the pages, `auth` and `hub`, `state` and
//! the handlers, as there once were) means two parts cannot be read, tested or moved
//! apart; this fails naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of the library: its path (`client::live`) and its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // The binaries are crates of their own.
                if !path.ends_with("bin") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            found.insert(parts.join("::"), path);
        }
    }
    found
}

/// The code of a file without comments and without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    // Unit tests come last in a file (or last in an inner module, before the file's own).
    let tests = text.match_indices("#[cfg(test)]").find(|(at, attr)| {
        text[at + attr.len()..]
            .trim_start()
            .starts_with("mod tests")
    });
    let text = &text[..tests.map_or(text.len(), |(at, _)| at)];
    text.lines()
        .map(|line| line.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths named after each `prefix` (`crate::`, `super::`) in `code`.
fn paths_after<'a>(code: &'a str, prefix: &'a str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    code.match_indices(prefix).filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let rest = &code[at + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end].split("::").filter(|p| !p.is_empty()).collect();
        (!path.is_empty()).then_some(path)
    })
}

fn imports(name: &str, path: &Path, all: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code = code(path);
    let own: Vec<&str> = name.split("::").collect();
    // `super` is the parent of a `mod.rs`'s module, and the parent of a plain file's.
    let parent = &own[..own.len() - 1];
    let mut named: Vec<Vec<&str>> = paths_after(&code, "crate::").collect();
    for path in paths_after(&code, "super::") {
        named.push(parent.iter().copied().chain(path).collect());
    }
    named
        .into_iter()
        .filter_map(|mut path| {
            while !path.is_empty() {
                let candidate = path.join("::");
                if all.contains_key(&candidate) {
                    return Some(candidate);
                }
                path.pop();
            }
            None
        })
        .filter(|target| target != name)
        .collect()
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let all = modules(&src);
    assert!(all.len() > 40, "found only {} modules", all.len());
    let edges: BTreeMap<&str, BTreeSet<String>> = all
        .iter()
        .map(|(name, path)| (name.as_str(), imports(name, path, &all)))
        .collect();
    let mut cycles = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            // A path back from `to` to `from` closes a cycle through this import.
            let mut seen = BTreeSet::new();
            let mut stack = vec![(to.as_str(), vec![from.to_string(), to.clone()])];
            while let Some((at, trail)) = stack.pop() {
                if !seen.insert(at) {
                    continue;
                }
                for next in &edges[at] {
                    if next == from {
                        cycles.push(trail.join(" → ") + " → " + from);
                        stack.clear();
                        break;
                    }
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.as_str(), longer));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_check_sees_a_cycle() {
    // The same reading, on two modules that name each other.
    let code = "use crate::client::state::Chat;\nfn f() { super::live::go() }";
    let crate_paths: Vec<_> = paths_after(code, "crate::").collect();
    // Types and functions (capitalised, or past the module) are walked back from.
    assert_eq!(crate_paths, [vec!["client", "state"]]);
    let super_paths: Vec<_> = paths_after(code, "super::").collect();
    assert_eq!(super_paths, [vec!["live", "go"]]);
}
