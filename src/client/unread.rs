//! Unread counts: every room numbers its messages (`ChatMessage::n`, which changes of
//! messages do not take), and this browser keeps the newest number it has shown the
//! reader in each room they opened. The difference is what they have not seen; rooms never opened here show no count, as a chat shows none for
//! channels one has not joined.

use leptos::prelude::*;

use crate::client::state::Chat;
use crate::protocol::{RoomKind, Seq};

impl Chat {
    /// Number of the newest message in `slug`, as far as this page knows.
    pub fn latest(&self, slug: &str) -> Seq {
        let counted = self
            .rooms
            .counts
            .with(|counts| counts.get(slug).map(|c| c.latest))
            .unwrap_or(0);
        let listed = self.rooms.list.with(|rooms| {
            rooms
                .iter()
                .find(|r| r.slug == slug)
                .map_or(0, |r| r.latest)
        });
        // The open room's stream runs ahead of the coalesced counts.
        let shown = self.room.timeline.with(|t| {
            if t.room == slug {
                t.last_n().unwrap_or(0)
            } else {
                0
            }
        });
        counted.max(listed).max(shown)
    }

    pub fn unread(&self, slug: &str) -> Seq {
        let seen = self.rooms.read.with(|read| read.get(slug).copied());
        // A conversation or private room is the reader's own: all of it counts until read.
        let seen = seen.or_else(|| (self.room_kind(slug) != RoomKind::Public).then_some(0));
        seen.map_or(0, |seen| self.latest(slug).saturating_sub(seen))
    }

    /// Whether an unread message in `slug` mentions the reader.
    pub fn mentioned(&self, slug: &str) -> bool {
        let mention = self.rooms.mentions.with(|m| m.get(slug).copied());
        let seen = self.rooms.read.with(|read| read.get(slug).copied());
        mention.is_some_and(|m| seen.is_none_or(|seen| m > seen))
    }

    /// All unread messages, for the tab title.
    pub fn unread_total(&self) -> Seq {
        let slugs: Vec<String> = self
            .rooms
            .list
            .with(|rooms| rooms.iter().map(|r| r.slug.clone()).collect());
        slugs.iter().map(|slug| self.unread(slug)).sum()
    }
}

/// "(3) #general · Natter": the title a tab shows, with what waits unread.
pub fn page_title(chat: Chat, room: &str) -> String {
    match chat.unread_total() {
        0 => format!("#{room} · Natter"),
        n => format!("({n}) #{room} · Natter"),
    }
}

/// Marks the open room read up to what is on screen, whenever the reader can see it.
#[cfg(feature = "hydrate")]
pub fn track_reading(chat: Chat) {
    chat.rooms.read.set(crate::client::persist::read_marks());
    let watch = move || chat.screen.visible.set(!document().hidden());
    let _ = window_event_listener(leptos::ev::visibilitychange, move |_| watch());
    watch();
    crate::client::effect(move || {
        let (room, newest) = chat
            .room
            .timeline
            .with(|t| (t.room.clone(), t.loaded.then(|| t.last_n().unwrap_or(0))));
        let Some(newest) = newest.filter(|_| chat.screen.visible.get() && !room.is_empty()) else {
            return;
        };
        if chat
            .rooms
            .read
            .with_untracked(|read| read.get(&room) < Some(&newest))
        {
            chat.rooms.read.update(|read| {
                read.insert(room.clone(), newest);
            });
            chat.rooms
                .read
                .with_untracked(crate::client::persist::save_read_marks);
            // Kept by the server for registered users, for their other devices.
            if chat.account.is_registered() {
                crate::client::live::send_read(&room, newest);
            }
        }
    });
    // No push notifications while this tab is in front of the reader.
    crate::client::effect(move || {
        crate::client::live::send_visibility(chat.screen.visible.get());
    });
}
