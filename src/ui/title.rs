//! `<Title>`: the tab's title while a part of the page is shown.
//!
//! The server uses `leptos_meta`'s, which writes the `<title>` into the page's head. The
//! browser keeps its own small stack instead — the newest title shown wins, and a removed
//! one gives way to the one under it, as in `leptos_meta` — so the WASM carries none of
//! `leptos_meta`. Neither puts any node in the body (not even the placeholder comment
//! `()` would), so hydration walks the same nodes.

use leptos::prelude::*;
use leptos::text_prop::TextProp;

#[component]
pub fn Title(#[prop(into)] text: TextProp) -> impl IntoView {
    // The server renders a page once: the text as it is now. (`leptos_axum` reads the
    // titles after the body; a closure read then, when the browser gave up on the page
    // and its signals are gone, panicked the worker.)
    #[cfg(feature = "ssr")]
    return view! { <leptos_meta::Title text=untrack(|| text.get().to_string())/> };
    #[cfg(not(feature = "ssr"))]
    {
        browser::show(text);
        browser::NoNodes
    }
}

#[cfg(not(feature = "ssr"))]
mod browser {
    use std::cell::{Cell, RefCell};

    use leptos::attr::{any_attribute::AnyAttribute, Attribute};
    use leptos::prelude::*;
    use leptos::tachys::hydration::Cursor;
    use leptos::tachys::view::add_attr::AddAnyAttr;
    use leptos::tachys::view::{Position, PositionState, Render, RenderHtml};
    use leptos::text_prop::TextProp;

    thread_local! {
        /// The titles of what is on screen, oldest first: (id, text).
        static SHOWN: RefCell<Vec<(u32, String)>> = const { RefCell::new(Vec::new()) };
        static NEXT_ID: Cell<u32> = const { Cell::new(0) };
    }

    pub fn show(text: TextProp) {
        let id = NEXT_ID.replace(NEXT_ID.get() + 1);
        let initial = untrack(|| text.get().to_string());
        SHOWN.with_borrow_mut(|shown| shown.push((id, initial)));
        crate::client::effect(move || {
            let now = text.get().to_string();
            SHOWN.with_borrow_mut(|shown| {
                if let Some(entry) = shown.iter_mut().find(|(of, _)| *of == id) {
                    entry.1 = now;
                }
            });
            write_newest();
        });
        on_cleanup(move || {
            SHOWN.with_borrow_mut(|shown| shown.retain(|(of, _)| *of != id));
            write_newest();
        });
    }

    fn write_newest() {
        if let Some(title) = SHOWN.with_borrow(|shown| shown.last().map(|(_, text)| text.clone())) {
            document().set_title(&title);
        }
    }

    /// A view without any DOM node, like the server's `leptos_meta::Title`.
    pub struct NoNodes;

    impl Render for NoNodes {
        type State = ();
        fn build(self) {}
        fn rebuild(self, _state: &mut ()) {}
    }

    impl AddAnyAttr for NoNodes {
        type Output<SomeNewAttr: Attribute> = NoNodes;
        fn add_any_attr<NewAttr: Attribute>(self, _attr: NewAttr) -> NoNodes {
            self
        }
    }

    impl RenderHtml for NoNodes {
        type AsyncOutput = Self;
        type Owned = Self;
        const MIN_LENGTH: usize = 0;
        const EXISTS: bool = false;

        fn dry_resolve(&mut self) {}

        async fn resolve(self) -> Self {
            self
        }

        fn to_html_with_buf(
            self,
            _buf: &mut String,
            _position: &mut Position,
            _escape: bool,
            _mark_branches: bool,
            _extra_attrs: Vec<AnyAttribute>,
        ) {
        }

        fn hydrate<const FROM_SERVER: bool>(self, _cursor: &Cursor, _position: &PositionState) {}

        fn into_owned(self) -> Self {
            self
        }
    }
}
