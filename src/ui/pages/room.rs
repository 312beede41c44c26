//! `/r/:room`: the chat itself — sidebar, header, messages, composer.

use leptos::prelude::*;

use super::not_found::NotFound;
use crate::client::json;
use crate::client::offline::rooms_or_cached;
use crate::client::state::{use_chat, Rooms, Status};
use crate::client::unread::page_title;
use crate::protocol::{RoomInfo, RoomKind};
use crate::ui::banners::{NotifyOffer, UpdateBanner};
use crate::ui::people::{kind_icon, MembersPanel, NotifySelect};
use crate::ui::room::composer::Composer;
use crate::ui::room::message_list::MessageList;
use crate::ui::room::search::SearchPanel;
use crate::ui::room::typing::TypingLine;
use crate::ui::sidebar::Sidebar;
use crate::ui::title::Title;

#[component]
pub fn RoomPage(slug: Memo<String>) -> impl IntoView {
    let rooms = json::resource(rooms_or_cached, false);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rooms.await {
                    Ok(list) => {
                        let rooms = expect_context::<Rooms>();
                        rooms.learn(list);
                        view! { <ChatLayout slug/> }.into_any()
                    }
                    Err(err) => view! { <p class="page-error">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChatLayout(slug: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let current = Memo::new(move |_| {
        let slug = slug.get();
        chat.rooms
            .list
            .with(|list| list.iter().find(|r| r.slug == slug).cloned())
    });

    #[cfg(feature = "hydrate")]
    join_on_change(
        chat,
        // Its slug alone: the listing changes with every message (counts, activity),
        // and each change would join again.
        Memo::new(move |_| current.with(|r| r.as_ref().map(|r| r.slug.clone()))),
    );
    #[cfg(feature = "hydrate")]
    let (touch_start, touch_end) = swipe::drawer_gestures(chat);
    #[cfg(not(feature = "hydrate"))]
    let (touch_start, touch_end) = (|_| {}, |_| {});

    // Drawn again only when the room appears or disappears, as `<Show>` would.
    let known = Memo::new(move |_| current.with(Option::is_some));
    let layout = move || {
        view! {
            <Title text=move || page_title(chat, &slug.get())/>
            <div
                class="chat"
                class:drawer-open=move || chat.screen.drawer_open.get()
                data-status=move || chat.link.status.get().as_str()
                on:touchstart=touch_start
                on:touchend=touch_end
            >
                <Sidebar current=slug/>
                <div class="scrim" aria-hidden="true" on:click=move |_| chat.screen.drawer_open.set(false)></div>
                <main class="room">
                    <RoomHeader current slug/>
                    <UpdateBanner/>
                    {move || chat.link.alert.get().map(|text| view! { <p class="alert" role="alert">{text}</p> }.into_any())}
                    <NotifyOffer/>
                    <MessageList/>
                    <TypingLine/>
                    <Composer room=slug/>
                </main>
            </div>
        }
        .into_any()
    };
    view! {
        {move || if known.get() { layout() } else { view! { <NotFound/> }.into_any() }}
    }
}

#[component]
fn RoomHeader(current: Memo<Option<RoomInfo>>, slug: Memo<String>) -> impl IntoView {
    let chat = use_chat();
    let title = move || current.with(|r| r.as_ref().map(|r| r.title.clone()).unwrap_or_default());
    let kind = Memo::new(move |_| current.with(|r| r.as_ref().map(|r| r.kind).unwrap_or_default()));
    let owner = Memo::new(move |_| current.with(|r| r.as_ref().is_some_and(|r| r.owner)));
    let showing_members = RwSignal::new(false);
    // The search panel (open on the room's pins).
    let searching = RwSignal::new(false);
    let path = expect_context::<crate::client::nav::Nav>().path;
    // Another room: the panels close; a search hit followed closes search.
    crate::client::effect(move || {
        slug.track();
        path.track();
        showing_members.set(false);
        searching.set(false);
    });
    let topic = move || current.with(|r| r.as_ref().map(|r| r.topic.clone()).unwrap_or_default());
    // The first connect takes a blink; only a lost connection is worth a word. What is
    // written meanwhile waits in the outbox, so the composer stays usable.
    let status = move || match chat.link.status.get() {
        Status::Reconnecting => Some("reconnecting…"),
        Status::Offline => Some("offline"),
        _ => None,
    };
    view! {
        <header class="room-header">
            <button
                class="icon-button menu-button"
                aria-label="Rooms and people"
                aria-controls="sidebar"
                aria-expanded=move || chat.screen.drawer_open.get().to_string()
                on:click=move |_| chat.screen.drawer_open.update(|open| *open = !*open)
            >
                <svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
                    <path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>
                </svg>
            </button>
            <div class="room-title">
                <h1><span class="hash">{move || kind_icon(kind.get())}</span>{move || title()}</h1>
                <p class="topic">{move || topic()}</p>
            </div>
            {move || status().map(|s| view! { <span class="status" role="status">{s}</span> }.into_any())}
            // Written out like the members button below: one function for both was 0.3 KiB
            // more of WASM (docs/wasm-size.md).
            <button
                class="icon-button"
                aria-label="Search and pinned messages"
                title="Search and pinned messages"
                aria-expanded=move || searching.get().to_string()
                on:click=move |_| searching.update(|s| *s = !*s)
            >
                <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
                    <path d="M10.5 4a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM15.5 15.5 21 21" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>
                </svg>
            </button>
            <NotifySelect room=slug/>
            {move || (kind.get() != RoomKind::Public).then(|| view! {
                <button
                    class="icon-button members-button"
                    aria-label="Members"
                    title="Members"
                    aria-expanded=move || showing_members.get().to_string()
                    on:click=move |_| showing_members.update(|s| *s = !*s)
                >
                    <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
                        <path d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 10a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 21a5 5 0 0 0-4-5" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>
                    </svg>
                </button>
            }.into_any())}
            <button
                class="people-count"
                aria-label=move || format!("{} online; show who", chat.room.online.with(Vec::len))
                on:click=move |_| chat.screen.drawer_open.set(true)
            >
                <span class="dot" aria-hidden="true"></span>
                {move || chat.room.online.with(Vec::len)}
            </button>
        </header>
        {move || showing_members.get().then(|| view! {
            <MembersPanel room=slug kind=kind.get_untracked() owner=owner.get_untracked()/>
        }.into_any())}
        {move || searching.get().then(|| view! { <SearchPanel room=slug.get_untracked()/> }.into_any())}
    }
}

/// Joins the room in the URL (`current`, once listed) whenever it changes or the socket
/// (re)connects, and puts the answer on screen; a failed join is asked again. A rejoin on
/// the same room asks only for what was missed.
#[cfg(feature = "hydrate")]
fn join_on_change(chat: crate::client::state::Chat, current: Memo<Option<String>>) {
    use crate::api::rooms::{join_room, leave_room};
    use crate::client::timeline::Timeline;
    use crate::protocol::AppError;
    use leptos::task::spawn_local;

    // A join that failed asks again through this.
    let retry = Trigger::new();
    crate::client::effect(move || {
        retry.track();
        let Some(slug) = current.get() else { return };
        let conn = chat.link.conn.get();
        if chat.room.timeline.with_untracked(|t| t.room != slug) {
            // As last seen here, at once (and offline); the join brings what is new.
            let timeline = match crate::client::persist::recent(&slug) {
                Some(recent) => Timeline::restored(&slug, recent.messages, recent.has_more),
                None => Timeline::for_room(&slug),
            };
            chat.room.timeline.set(timeline);
            chat.room.online.set(Vec::new());
            chat.room.typing.set(Default::default());
            chat.room.replying.set(None);
            chat.screen.drawer_open.set(false);
            crate::client::persist::remember_room(&slug);
        }
        let Some(conn) = conn else { return };
        let after = chat
            .room
            .timeline
            .with_untracked(|t| t.loaded.then(|| t.cursor()));
        let leave = chat.link.joined_room.get_untracked().filter(|r| *r != slug);
        spawn_local(async move {
            let answer = join_room(conn.clone(), slug.clone(), leave, after).await;
            let still_here = chat.room.timeline.with_untracked(|t| t.room == slug)
                && chat.link.conn.get_untracked().as_deref() == Some(conn.as_str());
            match answer {
                Ok(joined) if still_here => {
                    // Ours among them are stored: their pending copies go now, as a
                    // `message` event would take them, or both would show until the
                    // resend's `ack` comes back on the socket.
                    for msg in &joined.messages {
                        chat.remove_from_outbox(&msg.cid);
                    }
                    chat.link.joined_room.set(Some(slug.clone()));
                    chat.link.alert.set(None);
                    // The room as this reader may use it now (a moderator, slow mode).
                    chat.rooms.learn(vec![joined.room.clone()]);
                    chat.room.online.set(joined.online.clone());
                    let private = joined.room.kind != crate::protocol::RoomKind::Public;
                    chat.room.timeline.update(|t| t.apply_join(joined, after));
                    // Who `@` offers, beside those online.
                    chat.room.members.set(Vec::new());
                    if private {
                        if let Ok(members) = crate::api::people::room_members(conn, slug).await {
                            chat.room
                                .members
                                .set(members.into_iter().map(|m| m.name).collect());
                        }
                    }
                }
                // The user moved on while this was under way.
                Ok(_) => {
                    let _ = leave_room(conn, slug).await;
                }
                Err(err) => {
                    chat.link.alert.set(Some(err.to_string()));
                    // Asked again in a moment while the page is still here on this
                    // socket (a reconnect asks anew by itself): a failed join must not
                    // leave the room unloaded.
                    if matches!(err, AppError::NoSuchRoom(_)) {
                        return;
                    }
                    // Nor a refusal that stands (a ban): what this device kept of the
                    // room goes from the screen too.
                    if matches!(err, AppError::Invalid(_)) {
                        chat.room.timeline.set(Timeline::for_room(&slug));
                        return;
                    }
                    gloo_timers::future::sleep(JOIN_RETRY).await;
                    if chat.room.timeline.with_untracked(|t| t.room == slug)
                        && chat.link.conn.get_untracked().as_deref() == Some(conn.as_str())
                    {
                        retry.notify();
                    }
                }
            }
        });
    });
}

/// How long a failed join waits before it is asked again.
#[cfg(feature = "hydrate")]
const JOIN_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// On a phone, a swipe to the right opens the drawer of rooms and people, one to the left
/// closes it (the menu button does the same).
#[cfg(feature = "hydrate")]
mod swipe {
    use leptos::ev::TouchEvent;
    use leptos::prelude::*;

    use crate::client::state::Chat;

    /// Horizontal travel, in CSS pixels, that makes a swipe...
    const MIN_TRAVEL: f64 = 60.0;
    /// ...and only when it is clearly sideways, not a scroll.
    const SIDEWAYS: f64 = 2.0;

    pub fn drawer_gestures(
        chat: Chat,
    ) -> (
        impl Fn(TouchEvent) + Copy + 'static,
        impl Fn(TouchEvent) + Copy + 'static,
    ) {
        let start = StoredValue::new(None::<(f64, f64)>);
        let point = |ev: &TouchEvent| {
            let touch = ev.changed_touches().get(0)?;
            Some((f64::from(touch.client_x()), f64::from(touch.client_y())))
        };
        let on_start = move |ev: TouchEvent| start.set_value(point(&ev));
        let on_end = move |ev: TouchEvent| {
            let (Some((x0, y0)), Some((x1, y1))) = (start.get_value(), point(&ev)) else {
                return;
            };
            start.set_value(None);
            let (dx, dy) = (x1 - x0, y1 - y0);
            if dx.abs() < MIN_TRAVEL || dx.abs() < SIDEWAYS * dy.abs() {
                return;
            }
            chat.screen.drawer_open.set(dx > 0.0);
        };
        (on_start, on_end)
    }
}
