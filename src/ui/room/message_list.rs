//! The message pane: history on top, live messages below, our pending ones last. Stays
//! pinned to the bottom while the reader is there; scrolling to the top loads older pages.
//!
//! Only a window of the lines is drawn: the newest [`WINDOW`] while the reader is at the
//! bottom, growing by [`PAGE`] as they scroll up. A room with 10,000 messages loaded
//! then costs the page no more than one with 200, wherever the reader is reading now.

use leptos::html;
use leptos::prelude::*;

use crate::client::mentions::pieces;
use crate::client::outbox::Queued;
use crate::client::state::use_chat;
use crate::client::state::Status;
use crate::client::timeline::{Line, LineKey};
use crate::protocol::ChatMessage;

/// Consecutive messages of one author within this long are drawn as one group.
const GROUP_MS: i64 = 5 * 60 * 1000;
/// Lines drawn while the reader is at the bottom.
const WINDOW: usize = 150;
/// Lines added to the top of the window each time the reader reaches it.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const PAGE: usize = 100;

/// A line as drawn: `continued` messages omit the author and time; `day` is set on the
/// first message of each day, which gets a divider above it.
#[derive(Clone, PartialEq)]
pub(crate) struct Row {
    key: LineKey,
    line: Line,
    continued: bool,
    day: Option<String>,
    /// The message's revision (the seq of its newest change) times two, plus one when the
    /// reader moderates the room: the line is drawn anew when a change (a card, an edit, a
    /// reaction) arrives, and when the reader becomes a moderator (its menu offers Remove)
    /// or stops. One number, not two: the list's key stays the type it was.
    rev: crate::protocol::Seq,
}

#[component]
pub fn MessageList() -> impl IntoView {
    let chat = use_chat();
    let scroller = NodeRef::<html::Div>::new();
    // The reader's message being edited in place, if any.
    let editing = RwSignal::new(None::<crate::protocol::Seq>);
    // The oldest line drawn; `None` follows the newest `WINDOW` lines.
    let first_drawn = RwSignal::new(None::<LineKey>);
    let window_start = move |t: &crate::client::timeline::Timeline| {
        first_drawn.get().or_else(|| t.key_from_end(WINDOW))
    };
    let redraw = redraws(chat);
    let rows = Memo::new(move |_| {
        redraw.track();
        chat.room.timeline.with_untracked(|t| {
            // Not tracked: the listing changes with every message. A change of this
            // flag touches the timeline instead (`Chat::apply`).
            let moderator = chat
                .rooms
                .list
                .with_untracked(|l| l.iter().any(|r| r.slug == t.room && r.moderator));
            let mut previous: Option<&ChatMessage> = None;
            let mut last_day = None;
            t.drawn(window_start(t))
                .map(|(key, line)| {
                    let day = match line {
                        Line::Message(m) => {
                            let (day, label) = day_of(m.at_ms);
                            (last_day.replace(day) != Some(day)).then_some(label)
                        }
                        Line::Notice(_) => None,
                    };
                    let continued = match (line, previous) {
                        (Line::Message(m), Some(p)) => {
                            day.is_none() && p.author == m.author && m.at_ms - p.at_ms < GROUP_MS
                        }
                        _ => false,
                    };
                    previous = match line {
                        Line::Message(m) => Some(m),
                        Line::Notice(_) => None,
                    };
                    Row {
                        key: *key,
                        line: line.clone(),
                        continued,
                        day,
                        rev: match line {
                            Line::Message(m) => m.rev * 2 + u64::from(moderator),
                            Line::Notice(_) => 0,
                        },
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    let room = Memo::new(move |_| chat.room.timeline.with(|t| t.room.clone()));
    let pending = move || {
        let me = chat.account.name().unwrap_or_default();
        room.with(|room| {
            chat.outbox
                .with(|outbox| outbox.in_room(room, &me).cloned().collect::<Vec<_>>())
        })
    };

    // Lines held but not drawn, above the window.
    let hidden_above = Memo::new(move |_| {
        chat.room
            .timeline
            .with(|t| window_start(t).is_some_and(|first| t.key_before(first, 1).is_some()))
    });

    #[cfg(feature = "hydrate")]
    let (load_older, on_scroll, to_newest, on_reader) = scrolling::install(
        chat,
        scroller,
        scrolling::Window {
            first_drawn,
            rows: rows.into(),
            hidden_above,
        },
    );
    #[cfg(not(feature = "hydrate"))]
    let (load_older, on_scroll, to_newest, on_reader) =
        (|_: ()| {}, |_: ()| {}, |_: ()| {}, |_: ()| {});

    // What the top of the pane says changes rarely; the timeline, with every message.
    let top = Memo::new(move |_| {
        let (loaded, more) = chat.room.timeline.with(|t| (t.loaded, t.has_more));
        (loaded, more || hidden_above.get())
    });
    let edge = move || {
        let (loaded, more) = top.get();
        room.with(|room| {
            if !loaded {
                view! { <p class="edge">"Loading messages…"</p> }.into_any()
            } else if more {
                view! {
                    <button class="edge link-button" on:click=move |_| load_older(())>
                        "Load older messages"
                    </button>
                }
                .into_any()
            } else {
                let whose = match chat.room_kind(room) {
                    crate::protocol::RoomKind::Direct => {
                        format!("your conversation with {}", chat.room_label(room))
                    }
                    _ => chat.room_label(room),
                };
                view! { <p class="edge beginning">"This is the very beginning of " {whose} "."</p> }
                    .into_any()
            }
        })
    };

    view! {
        <div
            class="timeline"
            node_ref=scroller
            tabindex="0"
            aria-label=move || format!("Messages in {}", room.with(|room| chat.room_label(room)))
            data-loaded=move || top.get().0.to_string()
            on:scroll=move |_| on_scroll(())
            on:wheel=move |_| on_reader(())
            on:touchmove=move |_| on_reader(())
            on:keydown=move |_| on_reader(())
            on:pointerdown=move |_| on_reader(())
        >
            {move || edge()}
            // The log role is the live region; the list inside keeps list semantics.
            <div role="log" aria-live="polite" aria-relevant="additions">
            <ol
                class="lines"
                on:click=move |ev| super::message_tools::on_click(ev, editing)
                on:keydown=move |ev| super::message_tools::on_key(ev, editing)
                on:contextmenu=move |ev| super::message_tools::on_hold(ev, chat)
            >
                <For
                    each=move || rows.get()
                    key=|row| (row.key, row.continued, row.day.is_some(), row.rev)
                    let:row
                >
                    {render_row(row, editing)}
                </For>
                // Few at a time: a plain list (see `ui` on why not `<For>`).
                {move || {
                    pending()
                        .into_iter()
                        .map(|pending| view! { <PendingLine pending/> })
                        .collect::<Vec<_>>()
                }}
            </ol>
            </div>
            // After a jump far back: the way to the newest (reading down also gets there).
            {move || chat.room.timeline.with(|t| t.gap().is_some()).then(|| view! {
                <button class="edge link-button newest" on:click=move |_| to_newest(())>
                    "Jump to the newest messages ↓"
                </button>
            })}
        </div>
    }
}

/// Fires once the page has taken in what arrived with the open room's timeline changing:
/// a busy room's messages, queued while the page was busy, are drawn in one go, not one
/// redraw each. (Redrawn for each, a page 3× slower than this machine's took 15 s to show
/// its own message after 10,000 arrived: end2end `a busy room`, CPU throttled 3×.) A
/// timer, not the next animation frame: the scroll position is then set in the same frame
/// the lines are drawn in.
fn redraws(chat: crate::client::state::Chat) -> Trigger {
    let redraw = Trigger::new();
    #[cfg(feature = "hydrate")]
    crate::client::after_timeline_changes(chat, std::time::Duration::ZERO, move || redraw.notify());
    #[cfg(not(feature = "hydrate"))]
    let _ = chat;
    redraw
}

fn render_row(row: Row, editing: RwSignal<Option<crate::protocol::Seq>>) -> AnyView {
    match row.line {
        Line::Notice(text) => view! { <li class="notice">{text}</li> }.into_any(),
        Line::Message(msg) => {
            let hue = name_hue(&msg.author);
            let divider = row.day.map(|day| {
                view! {
                    <li class="day">
                        <span>{day}</span>
                    </li>
                }
                .into_any()
            });
            let chat = use_chat();
            let mine = chat.is_me(&msg.author);
            let for_me = msg.mentions.iter().any(|name| chat.is_me(name));
            let author = if mine {
                view! { <span class="author" style=format!("--hue:{hue}")>{msg.author}</span> }
                    .into_any()
            } else {
                let name = msg.author.clone();
                let label = format!("Message {name}");
                view! {
                    <button class="author" style=format!("--hue:{hue}") title=label on:click=move |_| message_author(name.clone())>
                        {msg.author}
                    </button>
                }
                .into_any()
            };
            let seq = msg.seq;
            // The time is the message's link (copy it to share the message; a click
            // brings it into view).
            let room = chat.room.timeline.with_untracked(|t| t.room.clone());
            let time = view! {
                <a class="time" href=crate::client::nav::message_path(&room, seq)>
                    <time>{clock(msg.at_ms)}</time>
                </a>
            };
            if msg.state >= ChatMessage::DELETED {
                let gone = if msg.state == ChatMessage::REMOVED {
                    "removed by a moderator"
                } else {
                    "message deleted"
                };
                return view! {
                    {divider}
                    <li class="msg deleted" class:continued=row.continued data-seq=seq>
                        <div class="meta">
                            {author}
                            {time}
                        </div>
                        <p class="text gone">{gone}</p>
                    </li>
                }
                .into_any();
            }
            let (text, doc, mentions) = (msg.text, msg.doc, msg.mentions);
            let body = {
                let text = text.clone();
                move || match (&doc, editing.get() == Some(seq)) {
                    (_, true) => super::message_tools::editor(text.clone()),
                    (Some(doc), _) => {
                        let is_me = |name: &str| chat.is_me(name);
                        super::rich_text::message(doc.clone(), &is_me)
                    }
                    (None, _) => plain_text(&text, &mentions, chat),
                }
            };
            let card = msg
                .preview
                .map(|card| super::link_card::card(*card, mine.then_some(seq)));
            let edited = (msg.state == ChatMessage::EDITED)
                .then(|| view! { <span class="edited">"(edited)"</span> });
            let pinned = msg
                .pinned
                .then(|| view! { <span class="pinned">"pinned"</span> });
            let may_pin = chat.may_pin(&room);
            let moderator = row.rev % 2 == 1;
            view! {
                {divider}
                <li class="msg" class:continued=row.continued class:mentions-me=for_me data-seq=seq>
                    <div class="meta">
                        {author}
                        {time}
                        {edited}
                        {pinned}
                    </div>
                    {super::message_tools::menu(mine, may_pin.then_some(msg.pinned), moderator)}
                    {msg.reply.map(|reply| super::message_tools::quote(*reply))}
                    {body}
                    {msg.file.map(|file| super::attachment::attachment(*file))}
                    {card}
                    {super::message_tools::reactions(msg.reactions, chat)}
                </li>
            }
            .into_any()
        }
    }
}

/// A message without formatting: its text, with its mentions marked.
fn plain_text(text: &str, mentions: &[String], chat: crate::client::state::Chat) -> AnyView {
    let text = pieces(text, mentions)
        .into_iter()
        .map(|piece| match piece.mention {
            Some(name) => {
                let me = chat.is_me(&name);
                view! { <mark class="mention" class:me=me>{piece.text}</mark> }.into_any()
            }
            None => piece.text.into_any(),
        })
        .collect::<Vec<_>>();
    view! { <p class="text">{text}</p> }.into_any()
}

/// Opens the conversation with a message's author.
fn message_author(name: String) {
    let alert = use_chat().link.alert;
    crate::ui::people::open_conversation(vec![name], alert, || {});
}

#[component]
fn PendingLine(pending: Queued) -> impl IntoView {
    let chat = use_chat();
    let me = chat.account.name().unwrap_or_default();
    let hue = name_hue(&me);
    let cid = pending.cid.clone();
    let failed = pending.error.clone();
    let is_failed = failed.is_some();
    // A file waiting to go: its name after the caption.
    let pending_text = match &pending.file_name {
        Some(name) => format!("{} 📎 {name}", pending.text),
        None => pending.text.clone(),
    };
    let data_cid = cid.clone();
    let state = move || match (is_failed, chat.link.status.get()) {
        (true, _) => "not sent",
        (false, Status::Online) => "sending…",
        // Kept in the browser; it goes out by itself once connected.
        (false, _) => "waiting for connection",
    };
    view! {
        <li class="msg pending" class:failed=is_failed data-cid=data_cid>
            <div class="meta">
                <span class="author" style=format!("--hue:{hue}")>{me}</span>
                <span class="state">{move || state()}</span>
            </div>
            <p class="text">{pending_text}</p>
            {failed.map(|why| {
                let retry_cid = cid.clone();
                view! {
                    <p class="send-error" role="alert">
                        {why} " "
                        <button class="link-button" on:click=move |_| retry(retry_cid.clone())>"Retry"</button>
                        " · "
                        <button class="link-button" on:click=move |_| discard(cid.clone())>"Discard"</button>
                    </p>
                }
                .into_any()
            })}
        </li>
    }
}

fn retry(cid: String) {
    let chat = use_chat();
    chat.outbox.update(|outbox| {
        if let Some(item) = outbox.retry(&cid) {
            crate::client::persist::save_queued(item);
        }
    });
    #[cfg(feature = "hydrate")]
    crate::client::live::flush_outbox(chat);
}

fn discard(cid: String) {
    use_chat().remove_from_outbox(&cid);
}

/// A stable colour per name, so a reader can follow who is talking.
fn name_hue(name: &str) -> u32 {
    // FNV-1a spreads short, similar names far apart on the colour wheel.
    let hash = name.to_lowercase().bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    hash % 360
}

/// "14:05" in the reader's time zone.
#[cfg(feature = "hydrate")]
pub(super) fn clock(at_ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// The reader's calendar day of `at_ms`, and how to name it: "Today", "Yesterday", or
/// the date.
#[cfg(feature = "hydrate")]
pub(super) fn day_of(at_ms: i64) -> (i64, String) {
    use wasm_bindgen::JsValue;
    let key = |d: &js_sys::Date| {
        d.get_full_year() as i64 * 10_000 + d.get_month() as i64 * 100 + d.get_date() as i64
    };
    let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
    let now = js_sys::Date::new_0();
    let yesterday = js_sys::Date::new(&JsValue::from_f64(now.get_time() - 86_400_000.0));
    let day = key(&date);
    let label = if day == key(&now) {
        "Today".to_owned()
    } else if day == key(&yesterday) {
        "Yesterday".to_owned()
    } else {
        let options = js_sys::Object::new();
        for (k, v) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
            let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
        }
        if date.get_full_year() != now.get_full_year() {
            let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
        }
        String::from(date.to_locale_date_string("default", &options))
    };
    (day, label)
}

/// Messages are only drawn in the browser; the server has no reader's time zone.
#[cfg(not(feature = "hydrate"))]
pub(super) fn clock(at_ms: i64) -> String {
    let minutes = at_ms.div_euclid(60_000);
    format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn day_of(at_ms: i64) -> (i64, String) {
    let day = at_ms.div_euclid(86_400_000);
    (day, format!("Day {day}"))
}

#[cfg(feature = "hydrate")]
mod scrolling {
    use leptos::html;
    use leptos::prelude::*;
    use leptos::task::spawn_local;

    use super::{PAGE, WINDOW};
    use crate::api::messages::history;
    use crate::client::state::Chat;
    use crate::client::timeline::{Held, LineKey};

    /// How close to an edge counts as "at" it, in pixels.
    const NEAR: i32 = 120;

    /// What part of the timeline is drawn (see the module doc).
    pub struct Window {
        pub first_drawn: RwSignal<Option<LineKey>>,
        /// Changes whenever what is drawn does.
        pub rows: Signal<Vec<super::Row>>,
        pub hidden_above: Memo<bool>,
    }

    /// Keeps the pane pinned to the bottom while the reader is there, and shows older
    /// lines when they reach the top: held ones first, then pages from the server. After
    /// a jump far back, reaching the bottom reads the next newer page. Brings a message
    /// asked for (`OpenRoom::focus`) into view. Returns the "show older" action, the
    /// scroll handler, "back to the newest" and the reader's input handler.
    // Four handlers, each an `impl Fn(())`: a struct of them would be generic over four
    // types and say no more.
    #[allow(clippy::type_complexity)]
    pub fn install(
        chat: Chat,
        scroller: NodeRef<html::Div>,
        window: Window,
    ) -> (
        impl Fn(()) + Copy + 'static,
        impl Fn(()) + Copy + 'static,
        impl Fn(()) + Copy + 'static,
        impl Fn(()) + Copy + 'static,
    ) {
        let Window {
            first_drawn,
            rows,
            hidden_above,
        } = window;
        let pinned = StoredValue::new(true);
        // Where this code last scrolled the pane to: a scroll event above it is the reader
        // moving away; one at it is only content growing below (a busy room).
        let auto_top = StoredValue::new(0);
        // The pane's height then: a scroll above `auto_top` while it has changed may be
        // the browser's (lines replaced by fewer cut the scroll short), unless the reader
        // has just touched the pane (`touched`, ms since the epoch).
        let auto_height = StoredValue::new(0);
        let touched = StoredValue::new(0.0);
        // Distance from the bottom to restore after older messages are put on top.
        let anchor = StoredValue::new(None::<i32>);
        let loading = StoredValue::new(false);
        let keep_place = move || {
            if let Some(el) = scroller.get_untracked() {
                anchor.set_value(Some(el.scroll_height() - el.scroll_top()));
            }
        };

        // Another room starts at its bottom. (The memo: only a change of room, not every
        // new line, resets where the reader is.)
        let room = Memo::new(move |_| chat.room.timeline.with(|t| t.room.clone()));
        crate::client::effect(move || {
            room.track();
            first_drawn.set(None);
            pinned.set_value(true);
        });

        let load_older = move |_: ()| {
            if hidden_above.get_untracked() {
                keep_place();
                first_drawn.set(chat.room.timeline.with_untracked(|t| {
                    let first = first_drawn
                        .get_untracked()
                        .or_else(|| t.key_from_end(WINDOW))?;
                    t.key_before(first, PAGE)
                }));
                return;
            }
            let (room, before, more) = chat
                .room
                .timeline
                .with_untracked(|t| (t.room.clone(), t.first_seq(), t.has_more));
            let Some(before) = before.filter(|_| more && !loading.get_value()) else {
                return;
            };
            loading.set_value(true);
            spawn_local(async move {
                let page = history(room.clone(), before, None).await;
                loading.set_value(false);
                match page {
                    Ok(page) if chat.room.timeline.with_untracked(|t| t.room == room) => {
                        keep_place();
                        chat.room.timeline.update(|t| t.add_older(page));
                        // Draw everything down from the oldest line now held.
                        first_drawn.set(
                            chat.room
                                .timeline
                                .with_untracked(|t| t.lines().next().map(|(key, _)| *key)),
                        );
                    }
                    Ok(_) => {}
                    Err(err) => leptos::logging::warn!("loading history failed: {err}"),
                }
            });
        };

        crate::client::effect(move || {
            rows.track();
            request_animation_frame(move || {
                let Some(el) = scroller.get_untracked() else {
                    return;
                };
                if let Some(from_bottom) = anchor.get_value() {
                    anchor.set_value(None);
                    el.set_scroll_top(el.scroll_height() - from_bottom);
                } else if pinned.get_value() {
                    el.set_scroll_top(el.scroll_height());
                }
                auto_top.set_value(el.scroll_top());
                auto_height.set_value(el.scroll_height());
            });
        });

        // After a jump far back: the page after the gap, under what is drawn.
        let load_newer = move || {
            let (room, gap) = chat
                .room
                .timeline
                .with_untracked(|t| (t.room.clone(), t.gap()));
            let Some(gap) = gap.filter(|_| !loading.get_value()) else {
                return;
            };
            loading.set_value(true);
            spawn_local(async move {
                let page = history(room.clone(), 0, Some(gap)).await;
                loading.set_value(false);
                match page {
                    Ok(page) if chat.room.timeline.with_untracked(|t| t.room == room) => {
                        // What is drawn stays where it is; the new lines go under it.
                        if first_drawn.get_untracked().is_none() {
                            first_drawn.set(
                                chat.room
                                    .timeline
                                    .with_untracked(|t| t.key_from_end(WINDOW)),
                            );
                        }
                        chat.room.timeline.update(|t| t.add_newer(page));
                    }
                    Ok(_) => {}
                    Err(err) => leptos::logging::warn!("loading history failed: {err}"),
                }
            });
        };

        let to_newest = move |_: ()| {
            chat.room.timeline.update(|t| t.to_newest());
            first_drawn.set(None);
            pinned.set_value(true);
        };

        // A message asked for: once the room is joined, drawn (fetched with the page
        // around it first when not held), scrolled to the middle and marked.
        crate::client::effect(move || {
            let Some(seq) = chat.room.focus.get() else {
                return;
            };
            let room = chat.room.timeline.with(|t| t.room.clone());
            if chat.link.joined_room.get().as_deref() != Some(room.as_str()) {
                return;
            }
            match chat.room.timeline.with(|t| t.find(seq)) {
                Held::Drawn => {
                    chat.room.focus.set(None);
                    pinned.set_value(false);
                    first_drawn.set(
                        chat.room.timeline.with_untracked(|t| {
                            t.key_before((seq, 0), PAGE / 2).or(Some((seq, 0)))
                        }),
                    );
                    request_animation_frame(move || reveal(scroller, seq));
                }
                Held::PastGap => to_newest(()),
                Held::No if !loading.get_value() => {
                    loading.set_value(true);
                    // The page that ends a little after it: the message and what led up to it.
                    spawn_local(async move {
                        let page = history(room.clone(), seq + 10, None).await;
                        loading.set_value(false);
                        match page {
                            Ok(page) if page.messages.iter().any(|m| m.seq == seq) => {
                                if chat.room.timeline.with_untracked(|t| t.room == room) {
                                    chat.room.timeline.update(|t| t.add_around(page));
                                }
                            }
                            Ok(_) => {
                                chat.room.focus.set(None);
                                chat.link
                                    .alert
                                    .set(Some("That message is not in this room.".into()));
                            }
                            Err(err) => {
                                chat.room.focus.set(None);
                                chat.link.alert.set(Some(err.to_string()));
                            }
                        }
                    });
                }
                Held::No => {}
            }
        });

        // Where the reader is: pinned to the bottom, or at the top wanting older pages.
        let on_scroll = move |_: ()| {
            let Some(el) = scroller.get_untracked() else {
                return;
            };
            let from_bottom = el.scroll_height() - el.scroll_top() - el.client_height();
            if chat.room.timeline.with_untracked(|t| t.gap().is_some()) {
                // Reading down from a jump: never pinned; the bottom brings newer pages.
                pinned.set_value(false);
                if from_bottom < NEAR {
                    load_newer();
                }
                if el.scroll_top() < NEAR {
                    load_older(());
                }
                return;
            }
            let moved_up = el.scroll_top() + 2 < auto_top.get_value()
                && (el.scroll_height() == auto_height.get_value()
                    || js_sys::Date::now() - touched.get_value() < 1_000.0);
            let at_bottom = from_bottom < NEAR || (pinned.get_value() && !moved_up);
            pinned.set_value(at_bottom);
            if at_bottom {
                // Back down: the window follows the newest lines again.
                if first_drawn.get_untracked().is_some() {
                    first_drawn.set(None);
                }
            } else if first_drawn.get_untracked().is_none() {
                // Reading above: new lines must not push the window from under the reader.
                let first = chat
                    .room
                    .timeline
                    .with_untracked(|t| t.key_from_end(WINDOW));
                first_drawn.set(first);
            }
            if el.scroll_top() < NEAR {
                load_older(());
            }
        };

        // Sending a message brings the reader back down to it (from a jump far back too):
        // when more of the reader's wait than before.
        let waiting = StoredValue::new(0);
        crate::client::effect(move || {
            let (room, gap) = chat.room.timeline.with(|t| (t.room.clone(), t.gap()));
            let me = chat.account.name().unwrap_or_default();
            let now = chat
                .outbox
                .with(|outbox| outbox.in_room(&room, &me).count());
            if now > waiting.get_value() {
                if gap.is_some() {
                    to_newest(());
                }
                pinned.set_value(true);
            }
            waiting.set_value(now);
        });

        // A wheel, a finger, a key or the scroll bar: what follows is the reader's doing.
        let on_reader = move |_: ()| touched.set_value(js_sys::Date::now());

        (load_older, on_scroll, to_newest, on_reader)
    }

    /// Scrolls the pane so the line of message `seq` is in its middle, and marks it.
    fn reveal(scroller: NodeRef<html::Div>, seq: crate::protocol::Seq) {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let Ok(Some(line)) = el.query_selector(&format!("li[data-seq=\"{seq}\"]")) else {
            return;
        };
        let (pane, at) = (
            el.get_bounding_client_rect(),
            line.get_bounding_client_rect(),
        );
        let middle = at.top() - pane.top() - (pane.height() - at.height()) / 2.0;
        el.set_scroll_top(el.scroll_top() + middle as i32);
        let _ = line.class_list().add_1("focus");
    }
}
