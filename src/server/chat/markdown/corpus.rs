//! The XSS corpus the browser tests use (`end2end/tests/xss-payloads.mjs`), read from
//! their file: for the markdown unit tests and `tests/markdown.rs`, which include this file.

/// Every payload of the corpus, as the page would receive it.
pub fn xss_corpus() -> Vec<String> {
    include_str!("../../../../end2end/tests/xss-payloads.mjs")
        .lines()
        .map(str::trim)
        .filter_map(|line| {
            let line = line.strip_suffix(',')?;
            let quote = line.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = line.strip_prefix(quote)?.strip_suffix(quote)?;
            Some(inner.replace("\\\\", "\\"))
        })
        .collect()
}
