//! What the browser keeps between visits, in `localStorage`: the last room, the outbox,
//! how far the reader got in each room, and what an offline start shows (the rooms, the
//! newest messages of each room opened). Who this is lives in the session cookie, out of
//! scripts' reach, and in the pages the service worker keeps. On the server (no storage) reads find nothing and
//! writes do nothing.
//!
//! Each outbox message has a key of its own, so tabs of one browser add and remove their
//! own messages without overwriting each other's.

use std::collections::HashMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::client::outbox::Queued;
use crate::protocol::{ChatMessage, RoomInfo, Seq};

const LAST_ROOM_KEY: &str = "natter.room";
const OUTBOX_PREFIX: &str = "natter.outbox2.";
/// Where earlier versions kept the outbox, as JSON objects: moved over on load.
const OLD_OUTBOX_PREFIX: &str = "natter.outbox.";
const ROOMS_KEY: &str = "natter.rooms";
const READ_KEY: &str = "natter.read";
const RECENT_PREFIX: &str = "natter.recent.";
const NOTIFY_KEY: &str = "natter.notify";

/// The newest messages of a room, as last seen, for an offline start.
#[derive(Serialize, Deserialize)]
pub struct Recent {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

pub fn save_rooms(rooms: &[RoomInfo]) {
    save_json(ROOMS_KEY, &rooms);
}

pub fn cached_rooms() -> Vec<RoomInfo> {
    load_json(ROOMS_KEY).unwrap_or_default()
}

pub fn save_read_marks(read: &HashMap<String, Seq>) {
    save_json(READ_KEY, read);
}

pub fn read_marks() -> HashMap<String, Seq> {
    load_json(READ_KEY).unwrap_or_default()
}

pub fn save_recent(room: &str, recent: &Recent) {
    save_json(&format!("{RECENT_PREFIX}{room}"), recent);
}

pub fn recent(room: &str) -> Option<Recent> {
    load_json(&format!("{RECENT_PREFIX}{room}"))
}

/// The user said "not now" to notifications: do not ask again on this browser.
pub fn decline_notifications() {
    set(NOTIFY_KEY, "declined");
}

pub fn notifications_declined() -> bool {
    get(NOTIFY_KEY).is_some()
}

fn save_json(key: &str, value: &impl Serialize) {
    if let Ok(json) = serde_json::to_string(value) {
        set(key, &json);
    }
}

fn load_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    crate::client::json::from_text(&get(key)?).ok()
}

pub fn remember_room(slug: &str) {
    set(LAST_ROOM_KEY, slug);
}

pub fn last_room() -> Option<String> {
    get(LAST_ROOM_KEY)
}

pub fn save_queued(item: &Queued) {
    save_json(&format!("{OUTBOX_PREFIX}{}", item.cid), item);
}

pub fn forget_queued(cid: &str) {
    remove(&format!("{OUTBOX_PREFIX}{cid}"));
}

/// Every message left in the outbox by this or an earlier page of this browser.
pub fn load_queued() -> Vec<Queued> {
    for key in keys().iter().filter(|k| k.starts_with(OLD_OUTBOX_PREFIX)) {
        if let Some(item) = get(key).as_deref().and_then(backend::old_queued) {
            save_queued(&item);
        }
        remove(key);
    }
    keys()
        .into_iter()
        .filter(|key| key.starts_with(OUTBOX_PREFIX))
        .filter_map(|key| {
            let kept = backend::filled_up(&get(&key)?, crate::client::outbox::QUEUED_FIELDS)?;
            crate::client::json::from_text(&kept).ok()
        })
        .collect()
}

#[cfg(feature = "hydrate")]
mod backend {
    use wasm_bindgen::JsCast;

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

    /// A message an earlier version kept as a JSON object, read through the browser's
    /// own JSON (the page has no decoder of that form any more): nothing waiting is lost
    /// in the upgrade.
    pub fn old_queued(json: &str) -> Option<crate::client::outbox::Queued> {
        use js_sys::Reflect;
        let object = js_sys::JSON::parse(json).ok()?;
        let field = |name: &str| Reflect::get(&object, &name.into()).ok();
        let text = |name: &str| field(name).and_then(|v| v.as_string());
        Some(crate::client::outbox::Queued {
            by: text("by").unwrap_or_default(),
            room: text("room")?,
            cid: text("cid")?,
            text: text("text")?,
            made: field("made")?.as_f64()?,
            error: text("error"),
            in_flight: false,
            file: text("file"),
            file_name: text("file_name"),
            reply: None,
            change: None,
        })
    }

    /// A kept array with `null`s added up to `len` elements: an earlier version kept
    /// fewer fields (through the browser's JSON, so the page needs no second decoder).
    pub fn filled_up(json: &str, len: u32) -> Option<String> {
        let array: js_sys::Array = js_sys::JSON::parse(json).ok()?.dyn_into().ok()?;
        while array.length() < len {
            array.push(&wasm_bindgen::JsValue::NULL);
        }
        js_sys::JSON::stringify(&array).ok().map(String::from)
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
    pub fn old_queued(_json: &str) -> Option<crate::client::outbox::Queued> {
        None
    }
    pub fn filled_up(json: &str, _len: u32) -> Option<String> {
        Some(json.to_owned())
    }
}

use backend::{get, keys, remove, set};
