//! The storage seam for who may see which room and how each person reads it, beside
//! [`super::Store`] for rooms and messages.

use super::StoreResult;
use crate::protocol::{NotifyLevel, Seq};

/// A member of a private room or conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: String,
    /// Their name when they joined, to name them while they are offline.
    pub name: String,
}

/// One person's relation to one room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderRecord {
    pub room_id: i64,
    /// `None`: the default for the room's kind.
    pub notify: Option<NotifyLevel>,
    /// The number of the newest message they have read (`ChatMessage::n`).
    pub last_read: Seq,
    /// The number of the newest message that mentions them.
    pub mentioned: Seq,
}

#[async_trait::async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// Every membership of every room, as (room id, member): loaded once at start.
    async fn memberships(&self) -> StoreResult<Vec<(i64, MemberRecord)>>;

    /// Adds `member` to `room` (nothing when they are in it already).
    async fn add_member(&self, room: i64, member: &MemberRecord, now_ms: i64) -> StoreResult<()>;

    async fn remove_member(&self, room: i64, user_id: &str) -> StoreResult<()>;

    /// Every setting of how much to hear, as (room id, user id, level): loaded at start,
    /// since each stored message consults them.
    async fn notify_settings(&self) -> StoreResult<Vec<(i64, String, NotifyLevel)>>;

    async fn set_notify(&self, user_id: &str, room: i64, level: NotifyLevel) -> StoreResult<()>;

    /// `user_id`'s relation to every room they have one with.
    async fn readers(&self, user_id: &str) -> StoreResult<Vec<ReaderRecord>>;

    /// Moves `user_id`'s read mark in `room` forward to `seq` (never back).
    async fn set_read(&self, user_id: &str, room: i64, seq: Seq) -> StoreResult<()>;

    /// Notes that `seq` of `room` mentions each of `user_ids`.
    async fn set_mentioned(&self, user_ids: &[String], room: i64, seq: Seq) -> StoreResult<()>;

    /// Every registered name, as (user id, name): who can be found by name while offline.
    async fn registered_names(&self) -> StoreResult<Vec<(String, String)>>;
}
