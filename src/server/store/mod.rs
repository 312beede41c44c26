//! The storage seam. Rooms, messages and presence code talk to [`Store`] and never see SQL,
//! so a PostgreSQL implementation can sit beside [`SqliteStore`] later.

pub mod accounts;
pub mod files;
pub mod moderation;
pub mod people;
pub mod postgres;
pub mod previews;
pub mod push;
pub(crate) mod rows;
pub mod search;
mod sqlite;
mod sqlite_accounts;
mod sqlite_files;
mod sqlite_messages;
mod sqlite_moderation;
mod sqlite_people;
mod sqlite_previews;
mod sqlite_push;
mod sqlite_readers;
mod sqlite_search;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use accounts::{AccountRecord, AccountStore, Created, SessionRecord};
pub use files::{FileRecord, FileRecordStore};
pub use moderation::ModerationStore;
pub use people::{MemberRecord, PeopleStore, ReaderRecord};
pub use postgres::PgStore;
pub use previews::PreviewStore;
pub use push::{PushStore, PushSubscription};
pub use search::{SearchQuery, SearchStore};
pub use sqlite::SqliteStore;

use crate::protocol::{Attachment, Change, ChatMessage, HistoryPage, RoomKind, Seq, Update};

/// When a commit counts as done (SQLite's `synchronous`), and so when a message is
/// confirmed to its sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// The commit is on disk (fsynced): it survives a power cut.
    Full,
    /// The commit is in the WAL file, not yet on disk: it survives a killed process,
    /// but a power cut may lose the last second.
    Normal,
}

impl Durability {
    /// The value of SQLite's `synchronous` pragma.
    pub fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// A room as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomRecord {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub topic: String,
    pub kind: RoomKind,
    /// Who made a private room (a user id): they invite and remove people.
    pub owner: Option<String>,
    /// When its newest message was stored, or it was made.
    pub active_ms: i64,
}

/// A room to create. Members other than `owner` are added by [`PeopleStore`] calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoom {
    pub slug: String,
    pub title: String,
    pub topic: String,
    pub kind: RoomKind,
    pub owner: Option<String>,
    /// A conversation's people (sorted user ids): one room per set of people.
    pub people: Option<String>,
    /// Its first members (a private room's owner, a conversation's people).
    pub members: Vec<MemberRecord>,
}

/// A message to store; the store gives it its seq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub cid: String,
    /// Who wrote it, by name...
    pub author: String,
    /// ...and user id: only they may change it.
    pub author_id: String,
    pub text: String,
    pub at_ms: i64,
    /// The names it mentions.
    pub mentions: Vec<String>,
    /// Its formatting (`ChatMessage::doc`).
    pub doc: Option<Vec<crate::protocol::rich::Node>>,
    /// The file it carries, checked by the sender's connection (`server::files`).
    pub file: Option<Box<Attachment>>,
    /// The message it answers, as its sender's connection found it (the store keeps the
    /// seq; history quotes the message as it is then).
    pub reply: Option<Box<crate::protocol::Reply>>,
}

/// A formatted message's tree as the `doc` column keeps it: JSON, or NULL.
fn doc_to_column(doc: &Option<Vec<crate::protocol::rich::Node>>) -> Option<String> {
    doc.as_ref().and_then(|doc| serde_json::to_string(doc).ok())
}

/// The tree kept in a `doc` column; a column that cannot be read gives plain text.
fn doc_from_column(column: Option<String>) -> Option<Vec<crate::protocol::rich::Node>> {
    column.and_then(|json| serde_json::from_str(&json).ok())
}

/// A message's file as its `file` column keeps it: JSON, or NULL for none.
fn file_to_column(file: &Option<Box<Attachment>>) -> Option<String> {
    file.as_ref()
        .and_then(|file| serde_json::to_string(file).ok())
}

pub(crate) fn file_from_column(column: Option<String>) -> Option<Box<Attachment>> {
    column.and_then(|json| serde_json::from_str(&json).ok())
}

/// A message's reactions as its `reactions` column keeps them: JSON, or NULL for none.
fn reactions_to_column(reactions: &[crate::protocol::Reaction]) -> Option<String> {
    (!reactions.is_empty()).then(|| serde_json::to_string(reactions).expect("strings serialise"))
}

fn reactions_from_column(column: Option<String>) -> Vec<crate::protocol::Reaction> {
    column
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Names are never empty and never hold a line break, so one string keeps the list.
fn join_mentions(names: &[String]) -> String {
    names.join("\n")
}

pub(crate) fn split_mentions(joined: &str) -> Vec<String> {
    joined
        .split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A change to store; the store gives it its seq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUpdate {
    /// Its maker's id for it (a client's, or the server's own, `preview-<target>`).
    pub cid: String,
    /// The seq of the message it changes.
    pub target: Seq,
    pub change: Change,
    pub at_ms: i64,
    pub by: Asker,
}

/// Who asks for a change, which says which messages they may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asker {
    /// The server itself (a link's card): any message.
    Server,
    /// A person (their user id), on their own messages only: edits, deletes, cards.
    Author(String),
    /// A person acting on anyone's message: reacting, or pinning (the connection checked
    /// they may write in the room, and pin in it). For [`Change::Reacted`] the store
    /// toggles this person's reaction and fills in `names` with who reacts now.
    Member { user: String, name: String },
    /// A moderator of the room (their user id): deletes anyone's message, which then
    /// shows as removed by a moderator (their own as deleted).
    Moderator(String),
}

/// Distinct emoji one message may carry: the 21st is refused.
pub const MAX_REACTIONS: usize = 20;

/// Where a room's stream stands: its newest seq (messages and changes) and the number
/// of its newest message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Newest {
    pub seq: Seq,
    pub n: Seq,
}

/// The outcome of storing one [`NewMessage`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, with this seq and message number.
    Stored(Newest),
    /// The room already held a message with this client id (a retried send): that
    /// message. Nothing new was stored.
    Duplicate(ChatMessage),
}

impl Appended {
    pub fn seq(&self) -> Seq {
        match self {
            Appended::Stored(at) => at.seq,
            Appended::Duplicate(msg) => msg.seq,
        }
    }
}

/// The outcome of storing one [`NewUpdate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Stored now, as this.
    Stored(Update),
    /// The room already held a change with this id (a retry): that change. Nothing new
    /// was stored.
    Duplicate(Update),
    /// The room has no message with the target seq that the asker may change (theirs,
    /// when it must be; not deleted): nothing was stored.
    NoTarget,
    /// The message has [`MAX_REACTIONS`] emoji already: nothing was stored.
    TooManyReactions,
}

/// A change as the `change` column keeps it.
fn change_to_column(change: &Change) -> String {
    serde_json::to_string(change).expect("changes always serialise")
}

fn change_from_column(json: &str) -> Option<Change> {
    serde_json::from_str(json).ok()
}

/// A card as the `preview` column keeps it.
fn preview_to_column(preview: Option<&crate::protocol::Preview>) -> Option<String> {
    preview.and_then(|p| serde_json::to_string(p).ok())
}

pub(crate) fn preview_from_column(column: Option<String>) -> Option<Box<crate::protocol::Preview>> {
    column.and_then(|json| serde_json::from_str(&json).ok())
}

/// Opens the store `database` names: a PostgreSQL URL, or else a SQLite file.
pub async fn open(
    database: &std::path::Path,
    durability: Durability,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    Ok(
        match database.to_str().filter(|url| postgres::is_url(url)) {
            Some(url) => std::sync::Arc::new(PgStore::open(url, durability).await?),
            None => std::sync::Arc::new(SqliteStore::open_durable(database, durability).await?),
        },
    )
}

#[derive(Debug, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(String);

impl StoreError {
    pub fn new(err: impl std::fmt::Display) -> Self {
        StoreError(err.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait::async_trait]
pub trait Store:
    AccountStore
    + PeopleStore
    + PreviewStore
    + PushStore
    + SearchStore
    + ModerationStore
    + FileRecordStore
    + Send
    + Sync
    + 'static
{
    /// Every room, in a stable order.
    async fn rooms(&self) -> StoreResult<Vec<RoomRecord>>;

    /// Adds a room with its first members, unless its slug (or, for a conversation, its
    /// set of people) is taken.
    async fn create_room(&self, room: &NewRoom, now_ms: i64) -> StoreResult<Created<RoomRecord>>;

    /// Stores a batch of messages in one room, in order, in one transaction, giving each
    /// the next seq. Returns one [`Appended`] per input, in input order, once committed.
    async fn append(&self, room: i64, batch: &[NewMessage]) -> StoreResult<Vec<Appended>>;

    /// Stores a batch of changes in one room, in order, in one transaction, giving each
    /// the next seq and applying it to its message. Returns one [`Changed`] per input.
    async fn change(&self, room: i64, batch: &[NewUpdate]) -> StoreResult<Vec<Changed>>;

    /// Up to `limit` messages with seq < `before`, oldest first, as they are now, and
    /// whether older ones exist.
    async fn page_before(&self, room: i64, before: Seq, limit: u32) -> StoreResult<HistoryPage>;

    /// Messages with `after` < seq ≤ `upto`, oldest first, at most `limit`.
    async fn range(
        &self,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>>;

    /// Changes with `after` < seq ≤ `upto`, oldest first, at most `limit`.
    async fn updates(
        &self,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Update>>;

    /// The room's newest seq and message number (0 when empty).
    async fn newest(&self, room: i64) -> StoreResult<Newest>;

    /// [`Store::newest`] of each of `rooms` (several nodes look often, for all their
    /// rooms at once).
    async fn newest_of(&self, rooms: &[i64]) -> StoreResult<Vec<(i64, Newest)>> {
        let mut out = Vec::with_capacity(rooms.len());
        for &room in rooms {
            out.push((room, self.newest(room).await?));
        }
        Ok(out)
    }
}
