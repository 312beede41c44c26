//! The room list with online counts, who is in the open room, and who you are. A column
//! on desktop, a drawer on phones.

use leptos::prelude::*;

use super::state::use_chat;
use crate::protocol::RoomInfo;

#[component]
pub fn Sidebar(rooms: Vec<RoomInfo>, current: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let me = move || chat.name().unwrap_or_default();
    view! {
        <aside class="sidebar" id="sidebar" aria-label="Rooms and people">
            <a class="brand" href="/">"Natter"</a>
            <nav class="rooms" aria-label="Rooms">
                <h2>"Rooms"</h2>
                <ul>
                    {rooms
                        .into_iter()
                        .map(|room| view! { <RoomLink room current/> })
                        .collect_view()}
                </ul>
            </nav>
            <section class="people" aria-labelledby="people-title">
                <h2 id="people-title">
                    "Online in #" {move || current.get()}
                    <span class="count">{move || chat.online.with(Vec::len)}</span>
                </h2>
                <ul class="online-list">
                    <For
                        each=move || chat.online.get()
                        key=|name| name.clone()
                        children=move |name| {
                            let is_me = me() == name;
                            view! {
                                <li class:me=is_me>
                                    <span class="dot" aria-hidden="true"></span>
                                    {name}
                                </li>
                            }
                        }
                    />
                </ul>
            </section>
            <div class="whoami">
                <span>"You are "<strong>{me}</strong></span>
                <button class="link-button" on:click=move |_| chat.asking_name.set(true)>
                    "Change name"
                </button>
            </div>
        </aside>
    }
}

#[component]
fn RoomLink(room: RoomInfo, current: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let slug = room.slug.clone();
    let here = {
        let slug = slug.clone();
        move || current.get() == slug
    };
    let count = {
        let slug = slug.clone();
        // Live counts once the socket has sent any; the server-rendered ones before.
        let initial = room.online;
        Signal::derive(move || {
            chat.counts
                .with(|counts| counts.get(&slug).copied())
                .unwrap_or(initial)
        })
    };
    view! {
        <li>
            <a
                href=format!("/r/{slug}")
                class="room-link"
                aria-current=move || here().then_some("page")
            >
                <span class="hash" aria-hidden="true">"#"</span>
                <span class="name">{room.title}</span>
                <span class="count" aria-label=move || format!("{} online", count.get())>
                    {count}
                </span>
            </a>
        </li>
    }
}
