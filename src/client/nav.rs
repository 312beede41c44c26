//! Client-side navigation: the current path as a signal, kept in step with the address
//! bar. The browser follows same-origin link clicks and `history` itself (push, replace,
//! back and forward) without reloading; the server knows the path from the request.
//! Which page a path shows is the route table's ([`crate::ui::routes`]).

use leptos::prelude::*;

/// The current path, shared by everything that navigates.
#[derive(Clone, Copy)]
pub struct Nav {
    pub path: RwSignal<String>,
}

impl Nav {
    /// The path of this page, shared through context; in the browser, links and the back
    /// and forward buttons change it from here on.
    pub fn provide() -> Nav {
        let nav = Nav {
            path: RwSignal::new(current_path()),
        };
        provide_context(nav);
        #[cfg(feature = "hydrate")]
        browser::follow(nav);
        nav
    }
}

/// The path of the message `seq` of `room`: the room opens at it (`ui::routes`).
pub fn message_path(room: &str, seq: crate::protocol::Seq) -> String {
    format!("/r/{room}/{seq}")
}

/// Goes to `to` (a path on this site) without reloading the page; `replace` swaps the
/// history entry instead of adding one.
pub fn navigate(to: &str, replace: bool) {
    #[cfg(feature = "hydrate")]
    browser::go(expect_context::<Nav>(), to, replace);
    #[cfg(not(feature = "hydrate"))]
    let _ = (to, replace);
}

#[cfg(feature = "hydrate")]
fn current_path() -> String {
    window().location().pathname().unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
fn current_path() -> String {
    use_context::<axum::http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_default()
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlAnchorElement, MouseEvent};

    use super::Nav;

    /// Follows link clicks and the back and forward buttons for as long as the page lives.
    pub fn follow(nav: Nav) {
        let _ = window_event_listener(leptos::ev::click, move |ev| {
            if let Some(to) = local_link(&ev) {
                ev.prevent_default();
                go(nav, &to, false);
            }
        });
        let _ = window_event_listener(leptos::ev::popstate, move |_| {
            nav.path.set(super::current_path());
        });
    }

    pub fn go(nav: Nav, to: &str, replace: bool) {
        let location = window().location();
        let here = [location.pathname(), location.search(), location.hash()]
            .map(Result::unwrap_or_default)
            .concat();
        if let Ok(history) = window().history() {
            let _ = if replace {
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            } else if to != here {
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            } else {
                Ok(())
            };
        }
        let path = super::current_path();
        if nav.path.with_untracked(|now| *now != path) {
            nav.path.set(path);
        }
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    /// Where a click should take the page without reloading it: a plain left click on a
    /// link to this site that does not ask for a new tab, a download or to leave the app.
    fn local_link(ev: &MouseEvent) -> Option<String> {
        if ev.default_prevented()
            || ev.button() != 0
            || ev.meta_key()
            || ev.alt_key()
            || ev.ctrl_key()
            || ev.shift_key()
        {
            return None;
        }
        let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        let link = target
            .closest("a[href]")
            .ok()??
            .dyn_into::<HtmlAnchorElement>()
            .ok()?;
        let external = link
            .get_attribute("rel")
            .is_some_and(|rel| rel.split_ascii_whitespace().any(|word| word == "external"));
        if !link.target().is_empty()
            || link.has_attribute("download")
            || external
            || link.origin() != window().location().origin().ok()?
        {
            return None;
        }
        Some(link.pathname() + &link.search() + &link.hash())
    }
}
