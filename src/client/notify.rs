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
use crate::protocol::ChatMessage;

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

/// A message arrived: tell the user if they cannot see it.
pub fn on_message(chat: Chat, room: &str, msg: &ChatMessage) {
    let mine = chat
        .account
        .me
        .with_untracked(|me| me.as_ref().is_some_and(|me| me.name == msg.author));
    if mine || !document().hidden() || !supported() {
        return;
    }
    if Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    let body: String = msg.text.chars().take(BODY_CHARS).collect();
    options.set_body(&body);
    // One notification per room, replaced by the next.
    options.set_tag(&format!("natter-{room}"));
    options.set_icon("/icons/icon-192.png");
    let title = format!("{} in #{room}", msg.author);
    if let Ok(notification) = Notification::new_with_options(&title, &options) {
        let shown = notification.clone();
        let open = Closure::once_into_js(move || {
            let _ = window().focus();
            shown.close();
        });
        notification.set_onclick(Some(open.unchecked_ref()));
    }
}
