//! A formatted message drawn from its tree ([`crate::protocol::rich`]): DOM nodes made
//! one by one, text only as text nodes — no HTML string of a message reaches the page.
//! Links (http, https and mailto only, checked here again) open in a new tab.

use leptos::prelude::*;

use crate::protocol::rich::{is_safe_href, Block, Inline};

/// The blocks of a message; `is_me` tells whether a mention names the reader.
pub fn blocks(doc: Vec<Block>, is_me: &dyn Fn(&str) -> bool) -> Vec<AnyView> {
    doc.into_iter().map(|b| block(b, is_me)).collect()
}

fn block(b: Block, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    match b {
        Block::Para(inlines) => view! { <p>{inlines_of(inlines, is_me)}</p> }.into_any(),
        Block::Code { lang, text } => view! {
            <div class="code">
                {lang.map(|lang| view! { <span class="lang">{lang}</span> })}
                <pre><code>{text}</code></pre>
            </div>
        }
        .into_any(),
        Block::Quote(inner) => view! { <blockquote>{blocks(inner, is_me)}</blockquote> }.into_any(),
        Block::List {
            ordered,
            start,
            items,
        } => {
            let items = items
                .into_iter()
                .map(|item| view! { <li>{blocks(item, is_me)}</li> })
                .collect::<Vec<_>>();
            if ordered {
                view! { <ol start=start>{items}</ol> }.into_any()
            } else {
                view! { <ul>{items}</ul> }.into_any()
            }
        }
    }
}

fn inlines_of(inlines: Vec<Inline>, is_me: &dyn Fn(&str) -> bool) -> Vec<AnyView> {
    inlines.into_iter().map(|i| inline(i, is_me)).collect()
}

fn inline(i: Inline, is_me: &dyn Fn(&str) -> bool) -> AnyView {
    match i {
        Inline::Text(text) => text.into_any(),
        Inline::Strong(c) => view! { <strong>{inlines_of(c, is_me)}</strong> }.into_any(),
        Inline::Em(c) => view! { <em>{inlines_of(c, is_me)}</em> }.into_any(),
        Inline::Strike(c) => view! { <s>{inlines_of(c, is_me)}</s> }.into_any(),
        Inline::Code(code) => view! { <code>{code}</code> }.into_any(),
        Inline::Link { href, children } if is_safe_href(&href) => view! {
            <a href=href target="_blank" rel="noopener noreferrer nofollow ugc">
                {inlines_of(children, is_me)}
            </a>
        }
        .into_any(),
        Inline::Link { children, .. } => inlines_of(children, is_me).into_any(),
        Inline::Break => view! { <br/> }.into_any(),
        Inline::Mention(name) => {
            let me = is_me(name.trim_start_matches('@'));
            view! { <mark class="mention" class:me=me>{name}</mark> }.into_any()
        }
    }
}
