//! The wire: every type that crosses between browser and server, compiled for both sides.
//!
//! Live traffic is JSON text frames on one WebSocket per tab (`/ws`): the browser sends
//! [`ClientFrame`]s, the server pushes [`ServerEvent`]s. Joining rooms and reading history
//! go through server functions, which return the DTOs below.
//!
//! Ordering rests on one number: every room has a monotonically increasing [`Seq`]. Each
//! stored message has its own; presence events carry the seq of the room's newest message
//! when they happened, so a client can place them in the timeline. A client that has seen
//! up to seq N of a room asks for "after N" and misses nothing and sees nothing twice.
//!
//! The validation helpers here run on both sides: the browser uses them to explain a
//! mistake before sending, the server to refuse it regardless of what the browser did.

use serde::{Deserialize, Serialize};

mod server_event_de;

/// Position of a message in its room; 1 is the first message, 0 means "nothing yet".
pub type Seq = u64;

/// Longest message, in characters (not bytes).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest username, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 32;
/// Shortest password, in characters: long enough that guessing takes too long, short
/// enough for a passphrase of three words.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password, in characters: plenty for any passphrase, cheap to hash.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest room title, in characters, after trimming.
pub const MAX_ROOM_TITLE_CHARS: usize = 32;
/// Longest room topic, in characters, after trimming.
pub const MAX_TOPIC_CHARS: usize = 200;
/// How many messages a history page holds.
pub const HISTORY_PAGE: u32 = 50;
/// Largest frame the server reads. A 4,000-character message of 4-byte characters, JSON
/// escaped, stays well below it.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

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

/// Browser → server, on the WebSocket. Who is speaking is not in any frame: the socket
/// belongs to the session whose cookie opened it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post `text` to `room`. `cid` is made by the client; a retry with the same `cid`
    /// is stored once.
    Send {
        room: String,
        cid: String,
        text: String,
    },
    /// "Are you there?" The server answers `pong`. Browsers cannot see WebSocket pings,
    /// so this is how a page notices a connection that died without closing (a laptop
    /// waking up, a phone changing networks).
    Ping,
}

/// Server → browser, on the WebSocket. Read by hand (`server_event_de`), to keep the
/// browser's decoder small; written by serde.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The first event on a socket: the id server functions use to subscribe this socket
    /// to rooms, and the name the session chats under.
    Welcome { conn: String, name: String },
    /// A stored message. For its sender, when subscribed to the room, this is also the
    /// confirmation that it is stored.
    Message { room: String, msg: ChatMessage },
    /// The sender's message `cid` is stored (durably) as `seq`. Sent only to the sender,
    /// and only when the `message` event does not reach it: a retry of a message already
    /// stored, or a send to a room this socket is not subscribed to (an outbox flushed
    /// after a reconnect).
    Ack { room: String, cid: String, seq: Seq },
    /// A user came online in the room.
    Joined {
        room: String,
        seq: Seq,
        name: String,
    },
    /// A user left the room (switched away, closed the last tab, lost the connection).
    Left {
        room: String,
        seq: Seq,
        name: String,
    },
    /// Online counts and newest seqs: of every room right after `welcome`, then of the
    /// rooms that changed (coalesced, at most twice a second).
    Counts { rooms: Vec<RoomCount> },
    /// Answer to `ping`.
    Pong,
    /// Someone created a room.
    RoomAdded { room: RoomInfo },
    /// Something the client sent was refused; `cid` names the message when it was one.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCount {
    pub slug: String,
    pub online: u32,
    pub latest: Seq,
}

/// Why the server refused a frame. Stable strings on the wire, so clients can branch on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or JSON of the wrong shape.
    Malformed,
    /// JSON with a `t` this server does not know.
    UnknownType,
    /// Binary frames carry nothing in this protocol.
    Binary,
    /// The socket was opened without a valid session (never signed in, signed out,
    /// expired, or revoked by a password change).
    SignedOut,
    /// Too many sockets from one address.
    TooManyConnections,
    BadName,
    NameTaken,
    NoSuchRoom,
    BadMessage,
    /// Too many messages too fast.
    RateLimited,
    /// The server is overloaded or its storage failed; retrying later may work.
    Unavailable,
}

impl ErrorCode {
    /// Whether a refused message may go through if sent again later, unchanged.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Unavailable)
    }
}

/// Why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is {0} bytes; the limit is {MAX_FRAME_BYTES}")]
    TooLarge(usize),
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("malformed frame: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge(_) | DecodeError::Malformed(_) => ErrorCode::Malformed,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

impl ClientFrame {
    /// Decodes one text frame, telling an unknown type apart from broken JSON.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(DecodeError::TooLarge(text.len()));
        }
        // serde would also read a tagged enum from an array (`["ping"]`); frames are
        // objects, and only objects are accepted.
        if !text.trim_start().starts_with('{') {
            return Err(DecodeError::Malformed("a frame is a JSON object".into()));
        }
        serde_json::from_str(text).map_err(|err| {
            // Only on the error path: look at the tag alone to say which mistake it was.
            #[derive(Deserialize)]
            struct Tag {
                t: String,
            }
            const KNOWN: [&str; 2] = ["send", "ping"];
            match serde_json::from_str::<Tag>(text) {
                // Quoted back in the error: keep it short, so a huge tag cannot make a
                // huge reply.
                Ok(Tag { t }) if !KNOWN.contains(&t.as_str()) => {
                    DecodeError::UnknownType(t.chars().take(32).collect())
                }
                _ => DecodeError::Malformed(err.to_string()),
            }
        })
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialise")
    }
}

impl ServerEvent {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server events always serialise")
    }

    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Errors of server functions, shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("There is no room called “{0}”.")]
    NoSuchRoom(String),
    #[error("{0}")]
    BadName(String),
    #[error("“{0}” is taken by someone online. Pick another name.")]
    NameTaken(String),
    /// The socket the call names is gone (closed, or the server restarted).
    #[error("Not connected to the chat server.")]
    NotConnected,
    #[error("{0}")]
    Invalid(String),
    #[error("Too many requests; slow down.")]
    RateLimited,
    #[error("“{0}” is a registered name. Log in to use it, or pick another.")]
    NameRegistered(String),
    #[error("Wrong name or password.")]
    WrongPassword,
    #[error("Only registered names can do that.")]
    NotRegistered,
    #[error("You are not signed in.")]
    SignedOut,
    #[error("There is a room called “{0}” already.")]
    RoomExists(String),
    #[error("Too many connections from your address; close some tabs.")]
    TooManyConnections,
    #[error("The server could not do that: {0}")]
    Server(String),
}

impl AppError {
    /// A failure of the server's own (storage, a lost task), worded as its cause says.
    pub fn server(err: impl std::fmt::Display) -> Self {
        AppError::Server(err.to_string())
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(err: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Server(err.to_string())
    }
}

/// Trims a username and checks it: 1–32 characters of letters, digits, spaces and `_ - .`.
pub fn normalize_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("Pick a name.".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!("Names are at most {MAX_NAME_CHARS} characters."));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.')))
    {
        return Err(format!(
            "Names may hold letters, digits, spaces and _ - . but not “{bad}”."
        ));
    }
    Ok(name.to_owned())
}

/// The form under which names are compared: "Ana" and "ana" are the same person.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Trims a message and checks it is neither empty nor over [`MAX_MESSAGE_CHARS`].
pub fn normalize_text(raw: &str) -> Result<&str, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Empty messages are not sent.".into());
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(format!(
            "Messages are at most {MAX_MESSAGE_CHARS} characters; this one has {chars}."
        ));
    }
    Ok(text)
}

/// Checks a new room's title and topic; returns the trimmed title, the room's address
/// (lowercase ASCII letters, digits and dashes, made from the title) and the trimmed topic.
pub fn normalize_room(title: &str, topic: &str) -> Result<(String, String, String), String> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 {
        return Err("Give the room a name.".into());
    }
    if chars > MAX_ROOM_TITLE_CHARS {
        return Err(format!(
            "Room names are at most {MAX_ROOM_TITLE_CHARS} characters."
        ));
    }
    if title.chars().any(char::is_control) {
        return Err("Room names are one line of text.".into());
    }
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty()
            && !slug.ends_with('-')
            && (c.is_whitespace() || c == '-' || c == '_')
        {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return Err("Room names need a letter or digit from a–z or 0–9.".into());
    }
    let topic = topic.trim();
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(format!("Topics are at most {MAX_TOPIC_CHARS} characters."));
    }
    Ok((title.to_owned(), slug, topic.to_owned()))
}

/// Ids made by clients (user ids, message ids): 8–64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_a_type_tag() {
        let send = ClientFrame::Send {
            room: "tech".into(),
            cid: "abcdefgh12".into(),
            text: "hi".into(),
        };
        let json = send.encode();
        assert_eq!(
            json,
            r#"{"t":"send","room":"tech","cid":"abcdefgh12","text":"hi"}"#
        );
        assert_eq!(ClientFrame::decode(&json), Ok(send));
    }

    #[test]
    fn unknown_type_is_told_apart_from_malformed() {
        assert_eq!(
            ClientFrame::decode(r#"{"t":"dance","room":"x"}"#),
            Err(DecodeError::UnknownType("dance".into()))
        );
        for bad in [
            "",
            "not json",
            "{",
            "[1,2]",
            r#"{"room":"x"}"#,
            r#"{"t":"send","room":"x"}"#,
            r#"{"t":"send","room":5,"cid":"abcdefgh","text":"x"}"#,
            r#"{"t":7}"#,
            r#"["ping"]"#,
            r#"["send","general","cid12345","hi"]"#,
        ] {
            assert!(
                matches!(ClientFrame::decode(bad), Err(DecodeError::Malformed(_))),
                "{bad:?} should be malformed"
            );
        }
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let big = format!(
            r#"{{"t":"send","room":"x","cid":"abcdefgh","text":"{}"}}"#,
            "a".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            ClientFrame::decode(&big),
            Err(DecodeError::TooLarge(_))
        ));
    }

    #[test]
    fn server_events_use_stable_names() {
        let ev = ServerEvent::Error {
            code: ErrorCode::NoSuchRoom,
            message: "no".into(),
            cid: None,
        };
        assert_eq!(
            ev.encode(),
            r#"{"t":"error","code":"no_such_room","message":"no"}"#
        );
        assert_eq!(ServerEvent::decode(&ev.encode()).unwrap(), ev);
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(normalize_name("  Ana Lu "), Ok("Ana Lu".into()));
        assert_eq!(normalize_name("jo_e-1.x"), Ok("jo_e-1.x".into()));
        assert_eq!(normalize_name("Zoë"), Ok("Zoë".into()));
        assert!(normalize_name("   ").is_err());
        assert!(normalize_name(&"a".repeat(33)).is_err());
        assert!(normalize_name(&"é".repeat(32)).is_ok());
        assert!(normalize_name("<b>").is_err());
        assert!(normalize_name("a\tb").is_err());
        assert_eq!(name_key("ANA"), name_key("ana"));
    }

    #[test]
    fn texts_are_trimmed_and_limited_in_characters() {
        assert_eq!(normalize_text("  hi \n"), Ok("hi"));
        assert!(normalize_text(" \n ").is_err());
        assert!(normalize_text(&"€".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(normalize_text(&"a".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn room_titles_make_addresses() {
        let ok = |t: &str| normalize_room(t, "").map(|(_, slug, _)| slug);
        assert_eq!(ok("  Board Games "), Ok("board-games".into()));
        assert_eq!(ok("Rust_and -- Go"), Ok("rust-and-go".into()));
        assert_eq!(
            ok("<script>alert(1)</script>"),
            Ok("scriptalert1script".into())
        );
        assert!(ok("   ").is_err());
        assert!(ok("日本語").is_err(), "no a–z/0–9 at all");
        assert!(ok(&"a".repeat(33)).is_err());
        assert!(ok("two\nlines").is_err());
        assert!(normalize_room("ok", &"t".repeat(201)).is_err());
    }

    #[test]
    fn client_ids_are_checked() {
        assert!(is_valid_client_id("abcd-EFG_123"));
        assert!(!is_valid_client_id("short"));
        assert!(!is_valid_client_id("has space in it"));
        assert!(!is_valid_client_id(&"a".repeat(65)));
    }
}
