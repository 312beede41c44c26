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
/// An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RoomInfoWire", into = "RoomInfoWire")]
pub struct RoomInfo {
    pub slug: String,
    pub title: String,
    pub topic: String,
    /// Distinct users online in the room now.
    pub online: u32,
    /// Number (`ChatMessage::n`) of the room's newest message (0 when empty): with the
    /// number of the last one a reader saw, how many are unread.
    pub latest: Seq,
    pub kind: RoomKind,
    /// When the newest message was stored (or the room made), ms since the epoch:
    /// conversations are listed newest first.
    pub active_ms: i64,
    /// How much the reader wants to hear of it; `None`: the default for its kind.
    pub notify: Option<NotifyLevel>,
    /// The number of the newest message the reader has read, kept by the server for
    /// registered users.
    pub read: Option<Seq>,
    /// The number of the newest message that mentions the reader (0: none).
    pub mentioned: Seq,
    /// The reader owns it (may invite and remove people).
    pub owner: bool,
    /// The reader moderates it: removes anyone's messages (the page offers it).
    pub moderator: bool,
    /// Slow mode: at most one message per this many seconds per person (0: off); the
    /// composer counts down after each message.
    pub slow_s: u32,
}

as_array!(RoomInfo as RoomInfoWire {
    slug: String,
    title: String,
    topic: String,
    online: u32,
    latest: Seq,
    kind: RoomKind,
    active_ms: i64,
    notify: Option<NotifyLevel>,
    read: Option<Seq>,
    mentioned: Seq,
    owner: bool,
    moderator: bool,
    slow_s: u32,
});

impl RoomInfo {
    /// How much the reader hears of it.
    pub fn notify_level(&self) -> NotifyLevel {
        self.notify
            .unwrap_or_else(|| NotifyLevel::default_for(self.kind))
    }
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
/// An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "MemberInfoWire", into = "MemberInfoWire")]
pub struct MemberInfo {
    pub name: String,
    pub owner: bool,
    pub online: bool,
}

as_array!(MemberInfo as MemberInfoWire {
    name: String,
    owner: bool,
    online: bool,
});

/// One stored chat message. An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ChatMessageWire", into = "ChatMessageWire")]
pub struct ChatMessage {
    pub seq: Seq,
    /// Its number among the room's messages (changes between them not counted): what
    /// read marks and unread counts are made of.
    pub n: Seq,
    /// The id its sender made for it; lets the sender match it to its pending copy.
    pub cid: String,
    pub author: String,
    pub text: String,
    /// Server time when stored, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The names it mentions (`@Ana`), as the server recognised them when storing it.
    pub mentions: Vec<String>,
    /// Its formatting, parsed from its markdown when it was stored; `None` for plain
    /// text (then `text` is drawn as it is).
    pub doc: Option<Vec<super::rich::Node>>,
    /// The card of its first link, once the server has made one.
    pub preview: Option<Box<super::Preview>>,
    /// A file sent with it (its text is then the caption, and may be empty). Boxed:
    /// few messages have one, and every message in memory would pay for it.
    pub file: Option<Box<super::Attachment>>,
    /// 0 as sent; [`ChatMessage::EDITED`], [`ChatMessage::DELETED`] or
    /// [`ChatMessage::REMOVED`] since.
    pub state: u8,
    /// The seq of its newest change (0: none): the page draws its line anew when it moves.
    pub rev: Seq,
    /// Its reactions, in the order they were first given: each the emoji, then who gave
    /// it (a [`Reaction`](super::Reaction)).
    pub reactions: Vec<super::Reaction>,
    /// The message it answers, if it is a reply.
    pub reply: Option<Box<Reply>>,
    /// Pinned to its room (the room's pins list it).
    pub pinned: bool,
}

impl ChatMessage {
    /// Its author changed its text.
    pub const EDITED: u8 = 1;
    /// Its author took it back: only a "message deleted" line is left.
    pub const DELETED: u8 = 2;
    /// A moderator took it away: only a "removed by a moderator" line is left.
    pub const REMOVED: u8 = 3;
}

as_array!(ChatMessage as ChatMessageWire {
    seq: Seq,
    n: Seq,
    cid: String,
    author: String,
    text: String,
    at_ms: i64,
    mentions: Vec<String>,
    doc: Option<Vec<super::rich::Node>>,
    preview: Option<Box<super::Preview>>,
    file: Option<Box<super::Attachment>>,
    state: u8,
    rev: Seq,
    reactions: Vec<super::Reaction>,
    reply: Option<Box<Reply>>,
    pinned: bool,
});

/// What a reply shows of the message it answers: who wrote it and its first line, as it
/// is now (empty once deleted); a click jumps to `seq`. An array on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ReplyWire", into = "ReplyWire")]
pub struct Reply {
    pub seq: Seq,
    pub author: String,
    pub line: String,
}

as_array!(Reply as ReplyWire {
    seq: Seq,
    author: String,
    line: String,
});

impl Reply {
    /// Longest quoted line, in characters.
    pub const MAX_LINE_CHARS: usize = 120;

    /// The quote of the message `seq` by `author` with `text` (as it reads, without its
    /// markdown: the server's `markdown::plain_text`), in state `state`
    /// (`ChatMessage::DELETED`: nothing of its text).
    pub fn of(seq: Seq, author: String, text: &str, state: u8) -> Reply {
        let line = if state == ChatMessage::DELETED {
            String::new()
        } else {
            let first = text.trim().lines().next().unwrap_or_default();
            let mut line: String = first.chars().take(Self::MAX_LINE_CHARS).collect();
            if line.len() < first.len() {
                line.push('…');
            }
            line
        };
        Reply { seq, author, line }
    }
}

/// What `join_room` answers: enough to draw the room without waiting for anything else.
/// An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "JoinedRoomWire", into = "JoinedRoomWire")]
pub struct JoinedRoom {
    pub room: RoomInfo,
    /// Names of the users in the room now, sorted case-insensitively.
    pub online: Vec<String>,
    /// The newest messages (or those after the client's `after`), oldest first, as they
    /// are now. Every event with a higher seq than `upto` will arrive on the WebSocket.
    pub messages: Vec<ChatMessage>,
    /// With `after` (a resume): the changes stored after it, oldest first, for messages
    /// the client already holds.
    pub updates: Vec<super::Update>,
    /// Whether `messages` and `updates` are everything after the client's `after`; if
    /// not, they are the newest page and what the client held is stale.
    pub resumed: bool,
    /// Whether older messages exist before the first one returned.
    pub has_more: bool,
    /// The seq the live stream starts after: messages up to it are in this answer (or
    /// older), every later one comes on the socket — possibly before this answer does.
    pub upto: Seq,
}

as_array!(JoinedRoom as JoinedRoomWire {
    room: RoomInfo,
    online: Vec<String>,
    messages: Vec<ChatMessage>,
    updates: Vec<super::Update>,
    resumed: bool,
    has_more: bool,
    upto: Seq,
});

/// Who this browser's session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    /// Signed in to an account (rather than a guest name).
    pub registered: bool,
    /// A server admin: the page offers the report queue and the audit log.
    #[serde(default)]
    pub admin: bool,
}

/// A page of older messages, oldest first. An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "HistoryPageWire", into = "HistoryPageWire")]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
}

as_array!(HistoryPage as HistoryPageWire {
    messages: Vec<ChatMessage>,
    has_more: bool,
});

/// A room's online count and newest message number, as `counts` events carry them.
/// An array on the wire (`protocol::wire`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RoomCountWire", into = "RoomCountWire")]
pub struct RoomCount {
    pub slug: String,
    pub online: u32,
    /// `RoomInfo::latest`.
    pub latest: Seq,
}

as_array!(RoomCount as RoomCountWire {
    slug: String,
    online: u32,
    latest: Seq,
});

/// A message that answers a search: where it is (`/r/<room>/<seq>` opens the room at it),
/// who wrote it and when, and its text as it is now. An array on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SearchHitWire", into = "SearchHitWire")]
pub struct SearchHit {
    /// The room's slug.
    pub room: String,
    pub seq: Seq,
    pub author: String,
    pub text: String,
    pub at_ms: i64,
}

as_array!(SearchHit as SearchHitWire {
    room: String,
    seq: Seq,
    author: String,
    text: String,
    at_ms: i64,
});
