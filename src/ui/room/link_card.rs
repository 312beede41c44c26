//! A link's card under its message: site, title, description and picture, all as text
//! nodes and one `<img>` of Natter's own thumbnail (the page never loads anything from
//! the linked site). The whole card is the link; its author may take it away.

use leptos::prelude::*;
use leptos::tachys::html::element::custom;

use super::rich_text::el;
use crate::protocol::rich::is_safe_href;
use crate::protocol::{Preview, Seq};

/// The card of `preview`; `removable` is the seq of the reader's own message it sits
/// under, which gets a button to take it away.
pub fn card(preview: Preview, removable: Option<Seq>) -> AnyView {
    let Preview {
        url,
        site,
        title,
        description,
        image,
    } = preview;
    let text = |class, text: String| el("span", Some(class), None, vec![text.into_any()]);
    let mut parts = Vec::with_capacity(4);
    // Only a thumbnail Natter serves: `img-src 'self'` would refuse anything else anyway.
    if let Some(src) = image.filter(|src| src.starts_with("/previews/")) {
        parts.push(
            custom("img")
                .attr("src", src)
                .attr("alt", "")
                .attr("loading", "lazy")
                .into_any(),
        );
    }
    parts.push(text("site", site));
    parts.push(text("title", title));
    if !description.is_empty() {
        parts.push(text("about", description));
    }
    let link = el(
        "a",
        Some("card-link"),
        is_safe_href(&url).then_some(url),
        parts,
    );
    let remove = removable.map(|seq| {
        view! {
            <button class="card-remove" title="Remove preview" aria-label="Remove preview" on:click=move |_| super::message_tools::change(seq, crate::protocol::Edit::RemovePreview)>
                "×"
            </button>
        }
        .into_any()
    });
    el("div", Some("card"), None, vec![link, remove.into_any()])
}
