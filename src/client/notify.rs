//! Notifications (feature `hydrate` only): when someone writes in the open room while the
//! tab is hidden. Permission is asked only after the user has sent a message, and only by
//! a button they press; "not now" is remembered.
//!
//! With permission, the browser is also subscribed for Web Push (the server's VAPID key
//! from `push_key`, the subscription to `push_subscribe`), so direct messages, mentions
//! and busy rooms reach the user while Natter is closed; the service worker shows those.
//! The push manager's few calls are a few lines of JS: the web-sys bindings would cost
//! the WASM more.

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
            sync_push(chat);
        });
    }
}

#[wasm_bindgen(inline_js = r#"
const keys = (s) => { const j = s.toJSON(); return [j.endpoint, j.keys.p256dh, j.keys.auth]; };
export async function subscribe(key) {
  const registration = await navigator.serviceWorker.ready;
  const options = { userVisibleOnly: true, applicationServerKey: key };
  try {
    return keys(await registration.pushManager.subscribe(options));
  } catch (err) {
    // One made with another key (the server's key changed): start over.
    const old = await registration.pushManager.getSubscription();
    if (!old) throw err;
    await old.unsubscribe();
    return keys(await registration.pushManager.subscribe(options));
  }
}
export async function unsubscribe() {
  const registration = await navigator.serviceWorker.getRegistration();
  const old = registration && (await registration.pushManager.getSubscription());
  if (old) await old.unsubscribe();
}
export const pushable = () => 'serviceWorker' in navigator && 'PushManager' in self;
"#)]
extern "C" {
    /// The browser's push subscription for `key` (made if need be): endpoint, p256dh
    /// and auth, base64url.
    #[wasm_bindgen(catch)]
    async fn subscribe(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn unsubscribe() -> Result<JsValue, JsValue>;
    fn pushable() -> bool;
}

/// With permission and someone signed in: (re)subscribes this browser for push and tells
/// the server, which keeps the subscription for whoever is signed in now. Run on every
/// start and sign-in, so a changed key or a new name is picked up.
pub fn sync_push(chat: Chat) {
    let signed_in = chat.account.me.with_untracked(Option::is_some);
    if !signed_in || !supported() || !pushable() {
        return;
    }
    if Notification::permission() != NotificationPermission::Granted {
        return;
    }
    leptos::task::spawn_local(async move {
        let Ok(key) = crate::api::push::push_key().await else {
            return;
        };
        let subscription = match subscribe(&key).await {
            Ok(subscription) => js_sys::Array::from(&subscription),
            Err(err) => return web_sys::console::warn_2(&"push not available:".into(), &err),
        };
        let part = |i| subscription.get(i).as_string().unwrap_or_default();
        let sent = crate::api::push::push_subscribe(part(0), part(1), part(2)).await;
        if let Err(err) = sent {
            web_sys::console::warn_1(&err.to_string().into());
        }
    });
}

/// Signed out on purpose: this browser's push subscription ends (the push service then
/// tells the server it is gone), so nobody's messages reach it any more.
pub fn end_push() {
    if supported() && pushable() {
        leptos::task::spawn_local(async {
            let _ = unsubscribe().await;
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
