//! Search, and a room's pins: a panel under the room's header. It opens on the room's
//! pins (the query `in:<room> is:pinned`); what the reader types then goes to the
//! `search` server function as it is (words, `from:name`, `in:room`). Each hit is a link
//! to its message (`/r/<room>/<seq>`), which opens the room at it.

use leptos::prelude::*;

use crate::client::nav::message_path;
use crate::client::state::use_chat;
use crate::protocol::SearchHit;

/// What was typed in the box of the form `ev` submits.
fn typed(ev: &leptos::ev::SubmitEvent) -> String {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let input = ev
            .target()
            .and_then(|form| form.dyn_into::<leptos::web_sys::Element>().ok())
            .and_then(|form| form.query_selector("input").ok().flatten());
        if let Some(input) = input {
            return input
                .unchecked_into::<leptos::web_sys::HtmlInputElement>()
                .value();
        }
    }
    let _ = ev;
    String::new()
}

/// What the box offers when empty.
const HINT: &str = "Search messages (from:name in:room)";

/// The panel, open on the pins of `room`.
#[component]
pub fn SearchPanel(room: String) -> impl IntoView {
    let chat = use_chat();
    let hits = RwSignal::new(Vec::<SearchHit>::new());
    // What the list is ("Pinned in #tech"), "Nothing found." or why a search failed.
    let note = RwSignal::new(None::<String>);
    // `heading`: what the list is when it has hits, and when it has none.
    let run = move |query: String, heading: Option<(String, String)>| {
        if query.trim().is_empty() {
            return;
        }
        note.set(Some("Searching…".into()));
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::api::search::search(query).await {
                Ok(found) => {
                    note.set(match (heading, found.is_empty()) {
                        (Some((some, _)), false) => Some(some),
                        (Some((_, none)), true) => Some(none),
                        (None, empty) => empty.then(|| "Nothing found.".into()),
                    });
                    hits.set(found);
                }
                Err(err) => note.set(Some(err.to_string())),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = heading;
    };
    let label = chat.room_label(&room);
    // An admin's views: the report queue and the audit log (answered by `search` too).
    let admin = chat
        .account
        .me
        .with_untracked(|me| me.as_ref().is_some_and(|me| me.admin));
    let views = admin.then(|| {
        let view_of = move |query: &'static str, some: &'static str, none: &'static str| {
            move |_| run(query.into(), Some((some.into(), none.into())))
        };
        view! {
            <p class="admin-views">
                <button type="button" class="link-button" on:click=view_of("is:reported", "Reported messages, oldest first", "No reports waiting.")>"Reports"</button>
                <button type="button" class="link-button" on:click=view_of("is:audit", "Moderation, newest first", "Nothing in the audit log.")>"Audit log"</button>
            </p>
        }
    });
    run(
        format!("in:{room} is:pinned"),
        Some((
            format!("Pinned in {label}"),
            format!("Nothing is pinned in {label}."),
        )),
    );
    let list = move || {
        hits.get()
            .into_iter()
            .map(|hit| {
                let (_, day) = super::message_list::day_of(hit.at_ms);
                let when = format!("{day} {}", super::message_list::clock(hit.at_ms));
                // A line of the audit log names no message (seq 0), perhaps no room.
                let href = match hit.seq {
                    0 => format!("/r/{}", hit.room),
                    seq => message_path(&hit.room, seq),
                };
                view! {
                    <li>
                        <a href=href>
                            <span class="hit-meta">
                                <b>{hit.author}</b> " in " {chat.room_label(&hit.room)} " · " {when}
                            </span>
                            <span class="hit-text">{hit.text}</span>
                        </a>
                    </li>
                }
                .into_any()
            })
            .collect::<Vec<_>>()
    };
    view! {
        <section class="search-panel" aria-label="Search">
            <form role="search" on:submit=move |ev| { ev.prevent_default(); run(typed(&ev), None); }>
                <input
                    type="search"
                    aria-label="Search messages"
                    placeholder=HINT
                    enterkeyhint="search"
                    autofocus
                />
            </form>
            {views}
            <p class="search-note" role="status">{move || note.get()}</p>
            <ol class="hits">{list}</ol>
        </section>
    }
}
