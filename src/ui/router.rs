//! The app's three pages — `/`, `/r/<room>` and "no such room" — and client-side
//! navigation between them, written by hand instead of with `leptos_router`: its general
//! matching, nested routes and transitions cost about a tenth of the WASM, and Natter
//! needs none of them.
//!
//! The server renders the page for the request's path; the browser hydrates the same
//! page, then follows same-origin link clicks and `history` itself (push, replace,
//! back and forward) without reloading. A change of room keeps the room page and only
//! changes its slug, as `leptos_router` did for a route that stays the same.

use leptos::prelude::*;

use super::home::Home;
use super::not_found::NotFound;
use super::room_page::RoomPage;

/// Which page a path shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Home,
    Room,
    NotFound,
}

/// The room a path names: `/r/<room>` and nothing more.
fn room_in(path: &str) -> Option<&str> {
    path.strip_prefix("/r/")
        .filter(|slug| !slug.is_empty() && !slug.contains('/'))
}

fn page_of(path: &str) -> Page {
    if path == "/" {
        Page::Home
    } else if room_in(path).is_some() {
        Page::Room
    } else {
        Page::NotFound
    }
}

/// The current path, shared by everything that navigates.
#[derive(Clone, Copy)]
pub struct Nav {
    path: RwSignal<String>,
}

/// Goes to `to` (a path on this site) without reloading the page; `replace` swaps the
/// history entry instead of adding one.
pub fn navigate(to: &str, replace: bool) {
    #[cfg(feature = "hydrate")]
    browser::go(expect_context::<Nav>(), to, replace);
    #[cfg(not(feature = "hydrate"))]
    let _ = (to, replace);
}

/// The page for the current path, kept in step with the address bar.
#[component]
pub fn Pages() -> impl IntoView {
    let nav = Nav {
        path: RwSignal::new(current_path()),
    };
    provide_context(nav);
    #[cfg(feature = "hydrate")]
    browser::follow(nav);
    #[cfg(feature = "ssr")]
    server::register_routes();

    let page = Memo::new(move |_| nav.path.with(|path| page_of(path)));
    let slug = Memo::new(move |_| {
        nav.path
            .with(|path| room_in(path).unwrap_or_default().to_owned())
    });
    view! {
        {move || match page.get() {
            Page::Home => view! { <Home/> }.into_any(),
            Page::Room => view! { <RoomPage slug/> }.into_any(),
            Page::NotFound => view! { <NotFound/> }.into_any(),
        }}
    }
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

/// The server's half: tells `leptos_axum` which paths are pages, as `<Routes>` did.
#[cfg(feature = "ssr")]
mod server {
    use leptos_router::{Method, PathSegment, RouteList, RouteListing, SsrMode};

    pub fn register_routes() {
        if !RouteList::is_generating() {
            return;
        }
        let page = |path: Vec<PathSegment>, mode| RouteListing::new(path, mode, [Method::Get], []);
        RouteList::register(RouteList::from(vec![
            page(vec![PathSegment::Static("".into())], SsrMode::OutOfOrder),
            // Async: the status code (404 for an unknown room) is set before sending.
            page(
                vec![
                    PathSegment::Static("r".into()),
                    PathSegment::Param("room".into()),
                ],
                SsrMode::Async,
            ),
        ]));
    }

    #[cfg(test)]
    mod tests {
        // The route list is made by rendering the app, which spawns tasks: tokio's.
        #[tokio::test]
        async fn the_server_serves_home_and_rooms_as_pages() {
            let routes = leptos_axum::generate_route_list(crate::app::App);
            let listed: Vec<_> = routes
                .iter()
                .map(|route| (route.path().to_owned(), format!("{:?}", route.mode())))
                .collect();
            assert_eq!(
                listed,
                [
                    ("/".to_owned(), "OutOfOrder".to_owned()),
                    ("/r/{room}".to_owned(), "Async".to_owned()),
                ]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_pages() {
        assert_eq!(page_of("/"), Page::Home);
        assert_eq!(page_of("/r/general"), Page::Room);
        assert_eq!(room_in("/r/general"), Some("general"));
        for other in ["", "/r", "/r/", "/r/a/b", "/x", "/general"] {
            assert_eq!(page_of(other), Page::NotFound, "{other}");
        }
    }
}
