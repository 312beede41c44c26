//! What the browser keeps between visits, in `localStorage`: the last room and the
//! outbox. (Who this is lives in the session cookie, out of scripts' reach.) On the server (no storage) reads find nothing and writes do nothing.
//!
//! Each outbox message has a key of its own, so tabs of one browser add and remove their
//! own messages without overwriting each other's.

use super::outbox::Queued;

const LAST_ROOM_KEY: &str = "natter.room";
const OUTBOX_PREFIX: &str = "natter.outbox.";

pub fn remember_room(slug: &str) {
    set(LAST_ROOM_KEY, slug);
}

pub fn last_room() -> Option<String> {
    get(LAST_ROOM_KEY)
}

pub fn save_queued(item: &Queued) {
    if let Ok(json) = serde_json::to_string(item) {
        set(&format!("{OUTBOX_PREFIX}{}", item.cid), &json);
    }
}

pub fn forget_queued(cid: &str) {
    remove(&format!("{OUTBOX_PREFIX}{cid}"));
}

/// Every message left in the outbox by this or an earlier page of this browser.
pub fn load_queued() -> Vec<Queued> {
    keys()
        .into_iter()
        .filter(|key| key.starts_with(OUTBOX_PREFIX))
        .filter_map(|key| serde_json::from_str(&get(&key)?).ok())
        .collect()
}

#[cfg(feature = "hydrate")]
mod backend {
    fn storage() -> Option<web_sys::Storage> {
        leptos::prelude::window().local_storage().ok().flatten()
    }

    pub fn get(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }

    /// Best effort: storage can be full or disabled (private mode), and the page still
    /// works for this visit without it.
    pub fn set(key: &str, value: &str) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(key, value);
        }
    }

    pub fn remove(key: &str) {
        if let Some(storage) = storage() {
            let _ = storage.remove_item(key);
        }
    }

    pub fn keys() -> Vec<String> {
        let Some(storage) = storage() else {
            return Vec::new();
        };
        let len = storage.length().unwrap_or(0);
        (0..len)
            .filter_map(|i| storage.key(i).ok().flatten())
            .collect()
    }
}

#[cfg(not(feature = "hydrate"))]
mod backend {
    pub fn get(_key: &str) -> Option<String> {
        None
    }
    pub fn set(_key: &str, _value: &str) {}
    pub fn remove(_key: &str) {}
    pub fn keys() -> Vec<String> {
        Vec::new()
    }
}

use backend::{get, keys, remove, set};
