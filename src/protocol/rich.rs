//! A formatted message as a small tree, made once by the server when the message is
//! stored (from its markdown) and drawn by the page as DOM nodes, never as HTML.
//!
//! Short tags keep it small on the wire: `{"p":[{"t":"hi "},{"b":[{"t":"you"}]}]}`.
//! A message without formatting has no tree at all (`ChatMessage::doc` is `None`).

use serde::{Deserialize, Serialize};

/// Deepest nesting the server makes (blocks and inlines together); deeper input is kept
/// as plain text.
pub const MAX_DEPTH: usize = 8;
/// Most nodes in one message's tree; more, and the message is kept as plain text.
pub const MAX_NODES: usize = 1_000;

/// A block: a paragraph, a code block, a quote or a list. (Tuple variants: their
/// decoders are smaller in the WASM than those of struct variants.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A paragraph (headings come as a paragraph of bold text); line breaks are `\n`s
    /// in its text.
    #[serde(rename = "p")]
    Para(Vec<Inline>),
    /// A code block: the language its fence named, and its text.
    #[serde(rename = "c")]
    Code(Option<String>, String),
    #[serde(rename = "q")]
    Quote(Vec<Block>),
    /// A list: `None` for bullets, else the number of an ordered list's first item; its
    /// items, each its blocks.
    #[serde(rename = "l")]
    List(Option<u64>, Vec<Vec<Block>>),
}

/// A piece of text within a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inline {
    #[serde(rename = "t")]
    Text(String),
    #[serde(rename = "b")]
    Strong(Vec<Inline>),
    #[serde(rename = "i")]
    Em(Vec<Inline>),
    #[serde(rename = "s")]
    Strike(Vec<Inline>),
    #[serde(rename = "c")]
    Code(String),
    /// A link: its target, always http, https or mailto (the server checks), and text.
    #[serde(rename = "a")]
    Link(String, Vec<Inline>),
    /// `@name`, as written; the name is among the message's `mentions`.
    #[serde(rename = "m")]
    Mention(String),
}

/// Whether `href` may be a link's target: http, https or mailto, nothing else. The page
/// checks again before drawing a link (a tree from elsewhere should not be trusted more).
pub fn is_safe_href(href: &str) -> bool {
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:"))
        && !href.chars().any(|c| c.is_control() || c.is_whitespace())
}
