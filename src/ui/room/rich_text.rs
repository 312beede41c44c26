//! A formatted message drawn from its tree ([`crate::protocol::rich`]): DOM nodes made
//! one by one, text only as text nodes — no HTML string of a message reaches the page.
//! Links (http, https and mailto only, checked here again) open in a new tab.
//!
//! Every element is the one view type [`el`] makes, whatever its tag: each view type costs
//! the WASM its own rendering and hydration code (see `docs/wasm-size.md`).

use leptos::prelude::*;
use leptos::tachys::html::element::custom;

use crate::protocol::rich::{is_safe_href, Block, Inline};

/// The blocks of a message, in their `<div class="text rich">`; `is_me` tells whether a
/// mention names the reader.
pub fn message(doc: Vec<Block>, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    el("div", Some("text rich"), None, blocks(doc, is_me))
}

/// An element: `tag`, its class, a link's target, its children. (An ordered list
/// starts at 1 whatever its first number: one attribute less on every element.)
fn el(
    tag: &'static str,
    class: Option<&'static str>,
    href: Option<String>,
    children: Vec<AnyView>,
) -> AnyView {
    let link = href.is_some();
    custom(tag)
        .attr("class", class)
        .attr("href", href)
        .attr("target", link.then_some("_blank"))
        .attr("rel", link.then_some("noopener noreferrer nofollow ugc"))
        .child(children)
        .into_any()
}

fn blocks(doc: Vec<Block>, is_me: &dyn Fn(&str) -> bool) -> Vec<AnyView> {
    doc.into_iter().map(|b| block(b, is_me)).collect()
}

fn block(b: Block, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    match b {
        Block::Para(inlines) => el("p", None, None, inlines_of(inlines, is_me)),
        Block::Code(lang, text) => {
            let code = el("code", None, None, vec![text.into_any()]);
            let mut parts = Vec::with_capacity(2);
            if let Some(lang) = lang {
                parts.push(el("span", Some("lang"), None, vec![lang.into_any()]));
            }
            parts.push(el("pre", None, None, vec![code]));
            el("div", Some("code"), None, parts)
        }
        Block::Quote(inner) => el("blockquote", None, None, blocks(inner, is_me)),
        Block::List(start, items) => {
            let items = items
                .into_iter()
                .map(|item| el("li", None, None, blocks(item, is_me)))
                .collect();
            let tag = if start.is_some() { "ol" } else { "ul" };
            el(tag, None, None, items)
        }
    }
}

fn inlines_of(inlines: Vec<Inline>, is_me: &dyn Fn(&str) -> bool) -> Vec<AnyView> {
    inlines.into_iter().map(|i| inline(i, is_me)).collect()
}

fn inline(i: Inline, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    let (tag, children) = match i {
        Inline::Text(text) => return text.into_any(),
        Inline::Code(code) => return el("code", None, None, vec![code.into_any()]),
        Inline::Mention(name) => {
            let class = if is_me(name.trim_start_matches('@')) {
                "mention me"
            } else {
                "mention"
            };
            return el("mark", Some(class), None, vec![name.into_any()]);
        }
        Inline::Link(href, children) => {
            let children = inlines_of(children, is_me);
            return if is_safe_href(&href) {
                el("a", None, Some(href), children)
            } else {
                el("span", None, None, children)
            };
        }
        Inline::Strong(c) => ("strong", c),
        Inline::Em(c) => ("em", c),
        Inline::Strike(c) => ("s", c),
    };
    el(tag, None, None, inlines_of(children, is_me))
}
