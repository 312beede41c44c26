//! Notifications (feature `hydrate` only): when someone writes in the open room while the
//! tab is hidden. Permission is asked only after the user has sent a message, and only by
//! a button they press; "not now" is remembered.
//!
//! With permission, the browser is also subscribed for Web Push ([`crate::client::push`]).

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::client::persist;
use crate::client::state::Chat;
use crate::protocol::{ChatMessage, NotifyLevel, RoomKind, ServerEvent};

/// Longer texts are cut in the notification; the whole message is in the room.
const BODY_CHARS: usize = 200;

fn supported() -> bool {
    js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
}

/// Whether to offer notifications now: supported, not decided yet, not declined here.
pub fn worth_asking() -> bool {
    supported()
        && Notification::permission() == NotificationPermission::Default
        && !persist::notifications_declined()
}

/// Asks the browser for permission (from a click); once given, subscribes for push.
pub fn ask(chat: Chat) {
    if let Ok(promise) = Notification::request_permission() {
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
            crate::client::push::sync(chat);
        });
    }
}

/// A message arrived in the open room: tell the user if they cannot see it.
pub fn on_message(chat: Chat, room: &str, msg: &ChatMessage) {
    let mine = chat
        .account
        .me
        .with_untracked(|me| me.as_ref().is_some_and(|me| me.name == msg.author));
    // The room the reader left open is theirs to hear, unless they silenced it.
    let silenced = chat.notify_level(room) == NotifyLevel::Nothing;
    if mine || !document().hidden() || silenced {
        return;
    }
    show(chat, room, &msg.author, &msg.text);
}

/// A message elsewhere asks for attention (a mention, or a room the user hears everything
/// of): tell them unless they are looking at that room.
pub fn on_alert(chat: Chat, alert: &ServerEvent) {
    let ServerEvent::Alert {
        room,
        name,
        text,
        mention,
        ..
    } = alert
    else {
        return;
    };
    let open = chat.room.timeline.with_untracked(|t| t.room == *room);
    if (open && !document().hidden()) || !chat.notify_level(room).wants(*mention) {
        return;
    }
    show(chat, room, name, text);
}

fn show(chat: Chat, room: &str, author: &str, text: &str) {
    if !supported() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    let body: String = text.chars().take(BODY_CHARS).collect();
    options.set_body(&body);
    // One notification per room, replaced by the next.
    options.set_tag(&format!("natter-{room}"));
    options.set_icon("/icons/icon-192.png");
    let title = match chat.room_kind(room) {
        RoomKind::Direct => author.to_owned(),
        _ => format!("{author} in {}", chat.room_label(room)),
    };
    let path = format!("/r/{room}");
    if let Ok(notification) = Notification::new_with_options(&title, &options) {
        let shown = notification.clone();
        let open = Closure::once_into_js(move || {
            let _ = window().focus();
            crate::client::nav::navigate(&path, false);
            shown.close();
        });
        notification.set_onclick(Some(open.unchecked_ref()));
    }
}
