//! Web Push subscription (feature `hydrate` only). Once notifications are allowed, the
//! browser's push manager subscribes with the server's VAPID key (`push_key`) and the
//! subscription goes to `push_subscribe`, so direct messages, mentions and busy rooms
//! reach the user while Natter is closed (the service worker shows them).
//!
//! The push manager is called through `js_sys::Reflect`: no web-sys bindings (they cost
//! the WASM more) and no inline JS module (a file the service worker's shell and the
//! immutable caching of `/pkg/` do not know).

use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Notification, NotificationPermission};

use crate::client::state::Chat;

/// With permission and someone signed in: (re)subscribes this browser and tells the
/// server, which keeps the subscription for whoever is signed in now. Run on every start
/// and sign-in, so a changed server key or another user is picked up.
pub fn sync(chat: Chat) {
    let signed_in = chat.account.me.with_untracked(Option::is_some);
    if !signed_in || !pushable() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    leptos::task::spawn_local(async move {
        let Ok(key) = crate::api::push::push_key().await else {
            return;
        };
        let [endpoint, p256dh, auth] = match subscribe(&key).await {
            Ok(subscription) => subscription,
            // Private windows and browsers without a push service: notifications stay
            // page-only.
            Err(err) => return web_sys::console::warn_2(&"push not available:".into(), &err),
        };
        let sent = crate::api::push::push_subscribe(endpoint, p256dh, auth).await;
        if let Err(err) = sent {
            web_sys::console::warn_1(&err.to_string().into());
        }
    });
}

/// Signed out on purpose: this browser's subscription ends (the push service then tells
/// the server it is gone), so nobody's messages reach it any more.
pub fn end() {
    if !pushable() {
        return;
    }
    leptos::task::spawn_local(async {
        let _ = async {
            let manager = manager().await?;
            let old = call(&manager, "getSubscription", None).await?;
            if !old.is_null() {
                call(&old, "unsubscribe", None).await?;
            }
            Ok::<_, JsValue>(())
        }
        .await;
    });
}

/// Service workers, the Push API and notifications are all there.
fn pushable() -> bool {
    let has = |on: &JsValue, name: &str| Reflect::has(on, &name.into()).unwrap_or(false);
    has(&window().navigator(), "serviceWorker")
        && has(&window(), "PushManager")
        && has(&window(), "Notification")
}

/// The push manager of the service worker's registration (once it is ready).
async fn manager() -> Result<JsValue, JsValue> {
    let ready = window().navigator().service_worker().ready()?;
    let registration = JsFuture::from(ready).await?;
    Reflect::get(&registration, &"pushManager".into())
}

/// This browser's subscription for `key` (made if need be): endpoint, p256dh and auth,
/// base64url.
async fn subscribe(key: &str) -> Result<[String; 3], JsValue> {
    let manager = manager().await?;
    let options = Object::new();
    Reflect::set(&options, &"userVisibleOnly".into(), &true.into())?;
    Reflect::set(&options, &"applicationServerKey".into(), &key.into())?;
    let subscription = match call(&manager, "subscribe", Some(&options)).await {
        Ok(subscription) => subscription,
        Err(err) => {
            // One made with another key (the server's key changed): start over.
            let old = call(&manager, "getSubscription", None).await?;
            if old.is_null() {
                return Err(err);
            }
            call(&old, "unsubscribe", None).await?;
            call(&manager, "subscribe", Some(&options)).await?
        }
    };
    let json = call(&subscription, "toJSON", None).await?;
    let keys = Reflect::get(&json, &"keys".into())?;
    let text = |from: &JsValue, name: &str| {
        Reflect::get(from, &name.into()).map(|v| v.as_string().unwrap_or_default())
    };
    Ok([
        text(&json, "endpoint")?,
        text(&keys, "p256dh")?,
        text(&keys, "auth")?,
    ])
}

/// Calls `target.name(arg)` and awaits what it returns (a promise, or a plain value).
async fn call(target: &JsValue, name: &str, arg: Option<&JsValue>) -> Result<JsValue, JsValue> {
    let method: Function = Reflect::get(target, &name.into())?.dyn_into()?;
    let args: Array = arg.into_iter().collect();
    let result = method.apply(target, &args)?;
    JsFuture::from(Promise::resolve(&result)).await
}
