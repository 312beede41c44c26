//! What server functions answer: rooms, messages, pages of history, who this is.

use serde::{Deserialize, Serialize};

use super::Seq;

/// What sort of room it is, which decides who may see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Listed for everyone; anyone may read and write.
    #[default]
    Public,
    /// Only its members see it, read it or write in it; its owner invites and removes.
    Private,
    /// A conversation between 2–8 people, one per set of people.
    Direct,
}

/// How much of a room a person wants to hear about when they are not looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    Everything,
    Mentions,
    Nothing,
}

impl NotifyLevel {
    /// Conversations default to everything, rooms to mentions.
    pub fn default_for(kind: RoomKind) -> Self {
        match kind {
            RoomKind::Direct => NotifyLevel::Everything,
            RoomKind::Public | RoomKind::Private => NotifyLevel::Mentions,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyLevel::Everything => "everything",
            NotifyLevel::Mentions => "mentions",
            NotifyLevel::Nothing => "nothing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            NotifyLevel::Everything,
            NotifyLevel::Mentions,
            NotifyLevel::Nothing,
        ]
        .into_iter()
        .find(|level| level.as_str() == s)
    }

    /// Whether a message (mentioning the reader or not) is worth a notification.
    pub fn wants(self, mentioned: bool) -> bool {
        match self {
            NotifyLevel::Everything => true,
            NotifyLevel::Mentions => mentioned,
            NotifyLevel::Nothing => false,
        }
    }
}

/// A room as the room list shows it. Some fields are the reader's own (`notify`, `read`,
/// `mentioned`, `owner`, and a conversation's `title`, which names the other people).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub kind: RoomKind,
    /// When the newest message was stored (or the room made), ms since the epoch:
    /// conversations are listed newest first.
    #[serde(default)]
    pub active_ms: i64,
    /// How much the reader wants to hear of it; `None`: the default for its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyLevel>,
    /// The newest seq the reader has read, kept by the server for registered users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Seq>,
    /// The newest seq that mentions the reader (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mentioned: Seq,
    /// The reader owns it (may invite and remove people).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
}

impl RoomInfo {
    /// How much the reader hears of it.
    pub fn notify_level(&self) -> NotifyLevel {
        self.notify
            .unwrap_or_else(|| NotifyLevel::default_for(self.kind))
    }
}

fn is_zero(seq: &Seq) -> bool {
    *seq == 0
}

/// A change to a private room's members (`change_members`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// The owner lets the person of this name in.
    Invite(String),
    /// The owner takes the member of this name out.
    Remove(String),
    /// The caller leaves.
    Leave,
}

/// A member of a private room or conversation, as its member list shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub name: String,
    pub owner: bool,
    pub online: bool,
}

/// One stored chat message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub seq: Seq,
    /// The id its sender made for it; lets the sender match it to its pending copy.
    pub cid: String,
    pub author: String,
    pub text: String,
    /// Server time when stored, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The names it mentions (`@Ana`), as the server recognised them when storing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Its formatting, parsed from its markdown when it was stored; `None` for plain
    /// text (then `text` is drawn as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Vec<super::rich::Node>>,
    /// A file sent with it (its text is then the caption, and may be empty). Boxed:
    /// few messages have one, and every message in memory would pay for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<super::Attachment>>,
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
