//! A formatted message drawn from its tree ([`crate::protocol::rich`]): DOM nodes made
//! one by one, text only as text nodes — no HTML string of a message reaches the page.
//! Links (http, https and mailto only, checked here again) open in a new tab.
//!
//! Every element is the one view type [`el`] makes, whatever its tag: each view type costs
//! the WASM its own rendering and hydration code (see `docs/wasm-size.md`).

use leptos::prelude::*;
use leptos::tachys::html::element::custom;

use crate::protocol::rich::{is_safe_href, kind, Node};

/// A message's tree, in its `<div class="text rich">`; `is_me` tells whether a mention
/// names the reader.
pub fn message(doc: Vec<Node>, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    el("div", Some("text rich"), None, nodes(doc, is_me))
}

/// An element: `tag`, its class, a link's target, its children. (An ordered list
/// starts at 1 whatever its first number: one attribute less on every element.)
pub(super) fn el(
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

fn nodes(nodes: Vec<Node>, is_me: &dyn Fn(&str) -> bool) -> Vec<AnyView> {
    nodes.into_iter().map(|n| node(n, is_me)).collect()
}

fn node(Node(k, text, children): Node, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    let tag = match k {
        kind::TEXT => return text.into_any(),
        kind::CODE => return el("code", None, None, vec![text.into_any()]),
        kind::MENTION => {
            let me = is_me(text.trim_start_matches('@'));
            let class = if me { "mention me" } else { "mention" };
            return el("mark", Some(class), None, vec![text.into_any()]);
        }
        kind::CODE_BLOCK => {
            let mut parts: Vec<AnyView> = children
                .into_iter()
                .map(|lang| el("span", Some("lang"), None, vec![lang.1.into_any()]))
                .collect();
            let code = el("code", None, None, vec![text.into_any()]);
            parts.push(el("pre", None, None, vec![code]));
            return el("div", Some("code"), None, parts);
        }
        kind::LINK if is_safe_href(&text) => {
            return el("a", None, Some(text), nodes(children, is_me));
        }
        kind::PARA => "p",
        kind::QUOTE => "blockquote",
        kind::LIST if text.is_empty() => "ul",
        kind::LIST => "ol",
        kind::ITEM => "li",
        kind::STRONG => "strong",
        kind::EM => "em",
        kind::STRIKE => "s",
        // A link that may not be one, or a kind this page does not know: its text.
        _ => "span",
    };
    el(tag, None, None, nodes(children, is_me))
}
