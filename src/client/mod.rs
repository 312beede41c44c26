//! The browser's runtime, apart from the views: the page's state and how server events
//! change it, the live socket, the outbox of unconfirmed messages, unread counts, what is
//! kept in `localStorage`, the service worker and notifications.
//!
//! The pure parts ([`state`], [`timeline`], [`outbox`], [`unread`], [`backoff`]) compile on
//! both sides and have native unit tests; the parts that need a browser are built with
//! feature `hydrate` only.
//!
//! - [`state`]: the page's signals, split by concern, and [`state::Chat::apply`], the
//!   reducer for server events.
//! - [`live`]: one WebSocket per tab (gloo-net), reconnected with [`backoff`], with a
//!   heartbeat; it flushes the [`outbox`].
//! - [`timeline`]: the open room's lines, merged from history and the live stream.
//! - [`nav`]: the current path and client-side navigation.
//! - [`unread`], [`notify`], [`push`], [`pwa`], [`offline`], [`persist`]: the rest of
//!   the page's life in a browser.
//! - [`mentions`]: `@name` in a message's text, and what to offer after an `@`.
//! - [`json`]: JSON read from bytes only, and the page's resources.
//! - [`typing`]: who is typing in the open room, and when to say that we are.
//! - `upload` and `idb`: a file's message waits in the outbox with the file in IndexedDB,
//!   and is uploaded (with its progress) before the message goes.

pub mod backoff;
#[cfg(feature = "hydrate")]
pub mod idb;
pub mod json;
#[cfg(feature = "hydrate")]
pub mod live;
pub mod mentions;
pub mod nav;
#[cfg(feature = "hydrate")]
pub mod notify;
pub mod offline;
pub mod outbox;
pub mod persist;
#[cfg(feature = "hydrate")]
pub mod push;
#[cfg(feature = "hydrate")]
pub mod pwa;
pub mod state;
pub mod timeline;
pub mod typing;
pub mod unread;
#[cfg(feature = "hydrate")]
pub mod upload;

/// `Effect::new`, its closure boxed: the effect's task is generic over the closure, so
/// each closure type would bring a copy of its own.
pub fn effect(run: impl FnMut() + 'static) {
    let run: Box<dyn FnMut()> = Box::new(run);
    leptos::prelude::Effect::new(run);
}

/// Calls `then` once, `delay` after the open room's timeline changes, however often it
/// changes meanwhile: what a busy room would otherwise do again for every message.
#[cfg(feature = "hydrate")]
pub fn after_timeline_changes(
    chat: state::Chat,
    delay: std::time::Duration,
    then: impl Fn() + Copy + 'static,
) {
    use leptos::prelude::*;
    let waiting = StoredValue::new(false);
    effect(move || {
        chat.room.timeline.track();
        if !waiting.get_value() {
            waiting.set_value(true);
            set_timeout(
                move || {
                    waiting.set_value(false);
                    then();
                },
                delay,
            );
        }
    });
}
