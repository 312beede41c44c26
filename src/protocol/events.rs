//! What goes over the WebSocket: [`ClientFrame`]s from the browser, [`ServerEvent`]s
//! from the server, and the [`ErrorCode`] of a refusal.

use serde::{Deserialize, Serialize};

use super::{ChatMessage, Edit, RoomCount, RoomInfo, Seq, Update, MAX_FRAME_BYTES};

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
        /// An upload's id (`api::files::upload`): the file this message carries. Its `text` is
        /// then the caption and may be empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// The seq of the message (of the same room) this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply: Option<Seq>,
    },
    /// "Are you there?" The server answers `pong`. Browsers cannot see WebSocket pings,
    /// so this is how a page notices a connection that died without closing (a laptop
    /// waking up, a phone changing networks).
    Ping,
    /// The reader has seen `room` up to its message number `n`. Kept by the server for
    /// registered users and passed to their other devices; ignored for guests, whose
    /// marks stay in the browser.
    Read { room: String, n: Seq },
    /// Whether this tab is in front of its reader: while any tab of a person is, the
    /// server sends them no push notifications.
    Visibility { visible: bool },
    /// "I am typing in `room`." Never stored; the server passes it on to the room's other
    /// subscribers at most once per user per
    /// [`TYPING_EVERY_MS`](super::TYPING_EVERY_MS), and ignores it for a room
    /// this socket has not joined.
    Typing { room: String },
    /// Change the message `target` of `room` as `edit` says. `cid` is made by the client:
    /// a retry is applied once. Answered by the `update` event, or an `ack`.
    Change {
        room: String,
        cid: String,
        target: Seq,
        edit: Edit,
    },
}

/// Server → browser, on the WebSocket: a JSON array, the event's tag (its name in
/// snake case) first, then its fields in the order declared here —
/// `["message", room, msg]`. Written and read by hand (`server_event_de`), to keep the
/// browser's reader small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// The first event on a socket: the id server functions use to subscribe this socket
    /// to rooms, and the name the session chats under.
    Welcome { conn: String, name: String },
    /// A stored message. For its sender, when subscribed to the room, this is also the
    /// confirmation that it is stored.
    Message { room: String, msg: ChatMessage },
    /// A stored change of a message (its link's card). Its maker, when a client, learns
    /// from it (or from an `ack`) that the change is stored.
    Update { room: String, update: Update },
    /// The sender's message (or change) `cid` is stored (durably) as `seq`. Sent only to the sender,
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
    /// The reader may no longer see this room (removed from it, or left it).
    RoomRemoved { room: String },
    /// A message in a room the reader belongs to and is not necessarily looking at, that
    /// wants their attention: it mentions them, or they hear everything of that room.
    Alert {
        room: String,
        /// The message's number (`ChatMessage::n`).
        n: Seq,
        /// Who wrote it.
        name: String,
        text: String,
        mention: bool,
    },
    /// The reader (on another device or tab) has read `room` up to message number `n`.
    Read { room: String, n: Seq },
    /// Something the client sent was refused; `cid` names the message when it was one.
    Error {
        code: ErrorCode,
        message: String,
        cid: Option<String>,
    },
    /// `name` is typing in `room` (sent to the room's others, never to the typer).
    Typing { room: String, name: String },
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
    /// The sender may not do this here (pin in someone else's private room).
    NotAllowed,
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
            const KNOWN: [&str; 6] = ["send", "ping", "read", "visibility", "typing", "change"];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_a_type_tag() {
        let send = ClientFrame::Send {
            room: "tech".into(),
            cid: "abcdefgh12".into(),
            text: "hi".into(),
            file: None,
            reply: None,
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
    fn typing_frames_round_trip() {
        let typing = ClientFrame::Typing {
            room: "tech".into(),
        };
        let json = typing.encode();
        assert_eq!(json, r#"{"t":"typing","room":"tech"}"#);
        assert_eq!(ClientFrame::decode(&json), Ok(typing));
        // A typing frame without its room is malformed, not unknown.
        assert!(matches!(
            ClientFrame::decode(r#"{"t":"typing"}"#),
            Err(DecodeError::Malformed(_))
        ));
        let event = ServerEvent::Typing {
            room: "tech".into(),
            name: "Ana".into(),
        };
        assert_eq!(event.encode(), r#"["typing","tech","Ana"]"#);
        assert_eq!(ServerEvent::decode(&event.encode()).unwrap(), event);
    }

    #[test]
    fn server_events_use_stable_names() {
        let ev = ServerEvent::Error {
            code: ErrorCode::NoSuchRoom,
            message: "no".into(),
            cid: None,
        };
        assert_eq!(ev.encode(), r#"["error","no_such_room","no"]"#);
        assert_eq!(ServerEvent::decode(&ev.encode()).unwrap(), ev);
    }
}
