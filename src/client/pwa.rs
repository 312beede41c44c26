//! The installed-app side of the page (feature `hydrate` only): registers the service
//! worker, offers a reload when a new build has been installed, and keeps the browser's
//! install offer for the "Install" button.

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorker, ServiceWorkerRegistration, ServiceWorkerState};

use crate::client::state::Chat;

thread_local! {
    /// The browser's `beforeinstallprompt` event, kept until the user asks to install.
    static INSTALL_OFFER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
    static REGISTRATION: RefCell<Option<ServiceWorkerRegistration>> = const { RefCell::new(None) };
}

pub fn start(chat: Chat) {
    let navigator = window().navigator();
    // Absent on plain-HTTP origins other than localhost: the app still works, uninstalled.
    if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        leptos::task::spawn_local(register(chat));
    }
    let _ = window_event_listener_untyped("beforeinstallprompt", move |event| {
        // Keeps Chrome's own mini-infobar away; our button makes the offer instead.
        event.prevent_default();
        INSTALL_OFFER.with(|offer| *offer.borrow_mut() = Some(event.into()));
        chat.screen.can_install.set(true);
    });
    let _ = window_event_listener_untyped("appinstalled", move |_| forget_offer(chat));
}

/// Shows the browser's install dialog (from a click: browsers require a user gesture).
pub fn install(chat: Chat) {
    let Some(offer) = INSTALL_OFFER.with(|offer| offer.borrow().clone()) else {
        return;
    };
    if let Ok(prompt) = js_sys::Reflect::get(&offer, &"prompt".into()) {
        if let Some(prompt) = prompt.dyn_ref::<js_sys::Function>() {
            let _ = prompt.call0(&offer);
        }
    }
    // An offer can be used once, whatever the answer.
    forget_offer(chat);
}

fn forget_offer(chat: Chat) {
    INSTALL_OFFER.with(|offer| *offer.borrow_mut() = None);
    chat.screen.can_install.set(false);
}

/// Who is signed in changed (or the worker just started): the pages the worker keeps for
/// offline starts must say who it is now.
pub fn refresh_kept_pages() {
    REGISTRATION.with(|r| {
        if let Some(worker) = r.borrow().as_ref().and_then(|r| r.active()) {
            let _ = worker.post_message(&"refresh-pages".into());
        }
    });
}

/// Takes the waiting new version into use; the page reloads once it is in control.
pub fn apply_update() {
    let waiting = REGISTRATION.with(|r| r.borrow().as_ref().and_then(|r| r.waiting()));
    let Some(waiting) = waiting else {
        return window().location().reload().unwrap_or_default();
    };
    let container = window().navigator().service_worker();
    let reload = Closure::<dyn Fn()>::new(|| {
        let _ = window().location().reload();
    });
    container.set_oncontrollerchange(Some(reload.as_ref().unchecked_ref()));
    reload.forget();
    let _ = waiting.post_message(&"skip-waiting".into());
}

async fn register(chat: Chat) {
    let container = window().navigator().service_worker();
    let registration = match JsFuture::from(container.register("/sw.js")).await {
        Ok(registration) => registration.unchecked_into::<ServiceWorkerRegistration>(),
        Err(err) => {
            // The error itself, not `{err:?}`: the WASM is built without `Debug` output.
            web_sys::console::warn_2(&"service worker not registered:".into(), &err);
            return;
        }
    };
    // A worker waiting already (installed while another tab held the old one)...
    if registration.waiting().is_some() && container.controller().is_some() {
        chat.screen.update_ready.set(true);
    }
    // ...or one that arrives while this page is open.
    let found = {
        let registration = registration.clone();
        Closure::<dyn Fn()>::new(move || {
            if let Some(worker) = registration.installing() {
                offer_when_installed(chat, worker);
            }
        })
    };
    registration.set_onupdatefound(Some(found.as_ref().unchecked_ref()));
    found.forget();
    REGISTRATION.with(|r| *r.borrow_mut() = Some(registration));
    // An installed app can stay open for days: look for a new build when it comes back.
    let _ = window_event_listener(leptos::ev::visibilitychange, |_| {
        if !document().hidden() {
            REGISTRATION.with(|r| {
                if let Some(registration) = r.borrow().as_ref() {
                    let _ = registration.update();
                }
            });
        }
    });
    // A first worker kept the pages as they were when it installed, which can be before
    // the user picked a name.
    if let Ok(ready) = container.ready() {
        if JsFuture::from(ready).await.is_ok() {
            refresh_kept_pages();
            // Keeps the server's copy of this browser's push subscription current.
            crate::client::push::sync(chat);
        }
    }
}

/// A new worker finished installing. With an old one in control this is an update (the
/// very first install is not: nothing to reload).
fn offer_when_installed(chat: Chat, worker: ServiceWorker) {
    let watched = worker.clone();
    let changed = Closure::<dyn Fn()>::new(move || {
        let has_old = window().navigator().service_worker().controller().is_some();
        if watched.state() == ServiceWorkerState::Installed && has_old {
            chat.screen.update_ready.set(true);
        }
    });
    worker.set_onstatechange(Some(changed.as_ref().unchecked_ref()));
    changed.forget();
}
