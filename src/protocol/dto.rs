//! What server functions answer: rooms, messages, pages of history, who this is.

use serde::{Deserialize, Serialize};

use super::Seq;

/// A room as the room list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub slug: String,
    pub title: String,
    pub topic: String,
    /// Distinct users online in the room now.
    pub online: u32,
    /// Seq of the room's newest message (0 when empty): with the last seq a reader saw,
    /// how many are unread.
    #[serde(default)]
    pub latest: Seq,
}

/// One stored chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub seq: Seq,
    /// The id its sender made for it; lets the sender match it to its pending copy.
    pub cid: String,
    pub author: String,
    pub text: String,
    /// Server time when stored, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// What `join_room` answers: enough to draw the room without waiting for anything else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedRoom {
    pub room: RoomInfo,
    /// Names of the users in the room now, sorted case-insensitively.
    pub online: Vec<String>,
    /// The newest messages (or those after the client's `after`), oldest first. Every
    /// message with a higher seq will arrive on the WebSocket.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist before the first one returned.
    pub has_more: bool,
    /// The seq the live stream starts after: messages up to it are in this answer (or
    /// older), every later one comes on the socket — possibly before this answer does.
    pub upto: Seq,
}

/// Who this browser's session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    /// Signed in to an account (rather than a guest name).
    pub registered: bool,
}

/// A page of older messages, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

/// A room's online count and newest seq, as `counts` events carry them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCount {
    pub slug: String,
    pub online: u32,
    pub latest: Seq,
}
