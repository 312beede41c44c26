//! A formatted message as a small tree, made once by the server when the message is
//! stored (from its markdown) and drawn by the page as DOM nodes, never as HTML.
//!
//! The server builds it typed ([`Block`], [`Inline`]); it travels and is kept as uniform
//! [`Node`]s, `[kind, text, children]` — `[1,"",[[6,"hi ",[]],[7,"",[[6,"you",[]]]]]]` —
//! whose one small decoder is all the page's WASM carries (enum decoders cost kilobytes
//! of it). A message without formatting has no tree at all (`ChatMessage::doc` is `None`).

use serde::{Deserialize, Serialize};

/// Deepest nesting the server makes (blocks and inlines together); deeper input is kept
/// as plain text.
pub const MAX_DEPTH: usize = 8;
/// Most nodes in one message's tree; more, and the message is kept as plain text.
pub const MAX_NODES: usize = 1_000;

/// A block: a paragraph, a code block, a quote or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A paragraph (headings come as a paragraph of bold text); line breaks are `\n`s
    /// in its text.
    Para(Vec<Inline>),
    /// A code block: the language its fence named, and its text.
    Code(Option<String>, String),
    Quote(Vec<Block>),
    /// A list: `None` for bullets, else the number of an ordered list's first item; its
    /// items, each its blocks.
    List(Option<u64>, Vec<Vec<Block>>),
}

/// A piece of text within a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Strong(Vec<Inline>),
    Em(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    /// A link: its target, always http, https or mailto (the server checks), and text.
    Link(String, Vec<Inline>),
    /// `@name`, as written; the name is among the message's `mentions`.
    Mention(String),
}

/// A node of the tree as it travels: its kind (`kind::*`), its text (a text's, a code
/// block's or inline code's, a link's target, an ordered list's first number or empty),
/// and its children (a code block's: its language, as one text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node(pub u8, pub String, pub Vec<Node>);

/// The kinds of [`Node`].
pub mod kind {
    pub const PARA: u8 = 1;
    pub const CODE_BLOCK: u8 = 2;
    pub const QUOTE: u8 = 3;
    /// Bullets when its text is empty, else numbered from it.
    pub const LIST: u8 = 4;
    pub const ITEM: u8 = 5;
    pub const TEXT: u8 = 6;
    pub const STRONG: u8 = 7;
    pub const EM: u8 = 8;
    pub const STRIKE: u8 = 9;
    pub const CODE: u8 = 10;
    pub const LINK: u8 = 11;
    pub const MENTION: u8 = 12;
}

/// The nodes of typed `blocks`.
pub fn to_nodes(blocks: Vec<Block>) -> Vec<Node> {
    blocks.into_iter().map(block_node).collect()
}

fn block_node(block: Block) -> Node {
    let leaf = |k, text| Node(k, text, Vec::new());
    match block {
        Block::Para(inlines) => Node(kind::PARA, String::new(), inline_nodes(inlines)),
        Block::Code(lang, text) => Node(
            kind::CODE_BLOCK,
            text,
            lang.map(|l| leaf(kind::TEXT, l)).into_iter().collect(),
        ),
        Block::Quote(blocks) => Node(kind::QUOTE, String::new(), to_nodes(blocks)),
        Block::List(start, items) => Node(
            kind::LIST,
            start.map(|n| n.to_string()).unwrap_or_default(),
            items
                .into_iter()
                .map(|item| Node(kind::ITEM, String::new(), to_nodes(item)))
                .collect(),
        ),
    }
}

fn inline_nodes(inlines: Vec<Inline>) -> Vec<Node> {
    inlines
        .into_iter()
        .map(|inline| {
            let (k, text, children) = match inline {
                Inline::Text(t) => (kind::TEXT, t, Vec::new()),
                Inline::Strong(c) => (kind::STRONG, String::new(), c),
                Inline::Em(c) => (kind::EM, String::new(), c),
                Inline::Strike(c) => (kind::STRIKE, String::new(), c),
                Inline::Code(t) => (kind::CODE, t, Vec::new()),
                Inline::Link(href, c) => (kind::LINK, href, c),
                Inline::Mention(t) => (kind::MENTION, t, Vec::new()),
            };
            Node(k, text, inline_nodes(children))
        })
        .collect()
}

/// Whether `href` may be a link's target: http, https or mailto, nothing else. The page
/// checks again before drawing a link (a tree from elsewhere should not be trusted more).
pub fn is_safe_href(href: &str) -> bool {
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:"))
        && !href.chars().any(|c| c.is_control() || c.is_whitespace())
}
