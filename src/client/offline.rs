//! Keeps what an offline start needs: the rooms and the newest messages of each room
//! opened, in `localStorage` (see `persist`). The service worker keeps the pages (who
//! this is comes with them) and files; this keeps the data.

use crate::api::rooms::list_rooms;
use crate::client::persist;
use crate::protocol::{AppError, RoomInfo};

#[cfg(feature = "hydrate")]
pub use keeping::keep;

/// The room list from the server or, when it cannot be reached, as last seen here.
pub async fn rooms_or_cached() -> Result<Vec<RoomInfo>, AppError> {
    match list_rooms().await {
        Err(err) => {
            let cached = persist::cached_rooms();
            if cached.is_empty() {
                Err(err)
            } else {
                Ok(cached)
            }
        }
        fresh => fresh,
    }
}

#[cfg(feature = "hydrate")]
mod keeping {
    use leptos::prelude::*;

    use crate::client::persist::{self, Recent};
    use crate::client::state::Chat;

    /// Messages kept per room.
    const KEEP: usize = 50;
    /// A busy room changes many times a second; its messages are written at most this
    /// often.
    const SAVE_EVERY_MS: u64 = 1_000;

    pub fn keep(chat: Chat) {
        crate::client::effect(move || {
            chat.rooms.list.with(|rooms| {
                if !rooms.is_empty() {
                    persist::save_rooms(rooms);
                }
            })
        });
        crate::client::after_timeline_changes(
            chat,
            std::time::Duration::from_millis(SAVE_EVERY_MS),
            move || save_recent(chat),
        );
        // A phone may kill a backgrounded app without warning.
        let _ = window_event_listener(leptos::ev::pagehide, move |_| save_recent(chat));
    }

    fn save_recent(chat: Chat) {
        chat.room.timeline.with_untracked(|t| {
            if t.loaded && !t.room.is_empty() {
                let (messages, has_more) = t.recent(KEEP);
                persist::save_recent(&t.room, &Recent { messages, has_more });
            }
        });
    }
}
