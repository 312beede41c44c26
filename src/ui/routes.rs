//! The route table: the app's three pages — `/`, `/r/<room>` (or `/r/<room>/<seq>`, the
//! room open at one message) and "no such room" — and
//! which one a path shows. Written by hand instead of with `leptos_router`: its general
//! matching, nested routes and transitions cost about a tenth of the WASM, and Natter
//! needs none of them. Moving between pages is [`crate::client::nav`]'s.
//!
//! The server renders the page for the request's path; the browser hydrates the same
//! page. A change of room keeps the room page and only changes its slug, as
//! `leptos_router` did for a route that stays the same.

use leptos::prelude::*;

use super::pages::home::Home;
use super::pages::not_found::NotFound;
use super::pages::room::RoomPage;
#[cfg(test)]
use crate::client::nav::message_path;
use crate::client::nav::Nav;
use crate::protocol::Seq;

/// Which page a path shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Home,
    Room,
    NotFound,
}

/// The room a path names, and the message if it names one: `/r/<room>` or
/// `/r/<room>/<seq>`, and nothing more.
fn room_in(path: &str) -> Option<(&str, Option<Seq>)> {
    let rest = path.strip_prefix("/r/")?;
    let (slug, seq) = match rest.split_once('/') {
        Some((slug, seq)) => (slug, Some(seq.parse().ok().filter(|&seq| seq > 0)?)),
        None => (rest, None),
    };
    (!slug.is_empty()).then_some((slug, seq))
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

/// The page for the current path, kept in step with the address bar.
#[component]
pub fn Pages() -> impl IntoView {
    let nav = Nav::provide();
    #[cfg(feature = "ssr")]
    server::register_routes();

    let page = Memo::new(move |_| nav.path.with(|path| page_of(path)));
    let slug = Memo::new(move |_| {
        nav.path.with(|path| {
            room_in(path)
                .map(|(slug, _)| slug.to_owned())
                .unwrap_or_default()
        })
    });
    // A message's path brings it into view, in this room or the one it opens.
    let chat = crate::client::state::use_chat();
    crate::client::effect(move || {
        if let Some(seq) = nav.path.with(|path| room_in(path).and_then(|(_, seq)| seq)) {
            chat.room.focus.set(Some(seq));
        }
    });
    view! {
        {move || match page.get() {
            Page::Home => view! { <Home/> }.into_any(),
            Page::Room => view! { <RoomPage slug/> }.into_any(),
            Page::NotFound => view! { <NotFound/> }.into_any(),
        }}
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
            page(
                vec![
                    PathSegment::Static("r".into()),
                    PathSegment::Param("room".into()),
                    PathSegment::Param("seq".into()),
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
                    ("/r/{room}/{seq}".to_owned(), "Async".to_owned()),
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
        assert_eq!(room_in("/r/general"), Some(("general", None)));
        assert_eq!(room_in("/r/general/42"), Some(("general", Some(42))));
        assert_eq!(page_of(&message_path("general", 42)), Page::Room);
        for other in [
            "", "/r", "/r/", "/r/a/b", "/r/a/0", "/r/a/1/2", "/r//3", "/x", "/general",
        ] {
            assert_eq!(page_of(other), Page::NotFound, "{other}");
        }
    }
}
