//! A message's file as DOM nodes: an image as a thumbnail that opens full size, a video
//! that plays in place, anything else as name · size · type with a download link. The
//! name is only ever text or an attribute's value: nothing of it becomes HTML.
//!
//! Every element is the one view type [`el`] makes, whatever its tag: each view type
//! costs the WASM its own rendering and hydration code (docs/wasm-size.md).

use leptos::prelude::*;
use leptos::tachys::html::element::custom;

use crate::protocol::{human_size, Attachment, AttachmentKind, THUMB_SIDE};

/// The thumbnail's size on the page, before it loads (so nothing jumps; CSS may make
/// it narrower, its shape kept).
fn thumb_size(width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (u64::from(width.max(1)), u64::from(height.max(1)));
    let side = w.max(h);
    let fit = |n: u64| {
        if side <= u64::from(THUMB_SIDE) {
            n as u32
        } else {
            ((n * u64::from(THUMB_SIDE) + side / 2) / side).max(1) as u32
        }
    };
    (fit(w), fit(h))
}

/// The attributes a file's elements use; `None` leaves one out.
#[derive(Default)]
struct Attrs {
    href: Option<String>,
    src: Option<String>,
    download: Option<String>,
    alt: Option<String>,
    style: Option<String>,
    controls: bool,
}

/// An element; a link that does not download (an image's) opens in a new tab.
fn el(tag: &'static str, class: &'static str, a: Attrs, children: Vec<AnyView>) -> AnyView {
    let tab = a.href.is_some() && a.download.is_none();
    custom(tag)
        .attr("class", class)
        .attr("target", tab.then_some("_blank"))
        .attr("rel", tab.then_some("noopener"))
        .attr("href", a.href)
        .attr("src", a.src)
        .attr("download", a.download)
        .attr("alt", a.alt)
        .attr("style", a.style)
        .attr("controls", a.controls.then_some(""))
        .child(children)
        .into_any()
}

/// How `file` shows in its message.
pub fn attachment(file: Attachment) -> AnyView {
    let url = Some(file.url());
    match file.kind {
        AttachmentKind::Image => {
            let (width, height) = thumb_size(file.width, file.height);
            let thumb = Attrs {
                src: Some(file.thumb_url()),
                alt: Some(file.name),
                style: Some(format!("width:{width}px;aspect-ratio:{width}/{height}")),
                ..Attrs::default()
            };
            let link = Attrs {
                href: url,
                ..Attrs::default()
            };
            el(
                "a",
                "attachment image",
                link,
                vec![el("img", "", thumb, vec![])],
            )
        }
        AttachmentKind::Video => {
            let video = Attrs {
                src: url,
                controls: true,
                ..Attrs::default()
            };
            el("video", "attachment video", video, vec![])
        }
        AttachmentKind::File => {
            let meta = format!("{} · {}", human_size(file.size), file.mime);
            let link = Attrs {
                href: url,
                download: Some(file.name.clone()),
                ..Attrs::default()
            };
            let name = el(
                "span",
                "file-name",
                Attrs::default(),
                vec![file.name.into_any()],
            );
            let meta = el("span", "file-meta", Attrs::default(), vec![meta.into_any()]);
            el("a", "attachment file", link, vec![name, meta])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_keep_their_shape() {
        assert_eq!(thumb_size(1200, 800), (320, 213));
        assert_eq!(thumb_size(100, 50), (100, 50));
        assert_eq!(thumb_size(10, 4000), (1, 320));
    }
}
