//! A [`ServerEvent`] on the wire, both ways: a JSON array, its tag first, then the
//! variant's fields in order (see the `Serialize` impl below).
//!
//! Nothing is listed by hand: [`Tag::of`] matches every [`ServerEvent`] variant, so a new
//! variant does not compile until it has a [`Tag`], and a new tag does not compile until
//! the reader and the writer below handle its event.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::ServerEvent;

/// Which event an array is: its first element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Welcome,
    Message,
    Update,
    Ack,
    Joined,
    Left,
    Counts,
    Pong,
    RoomAdded,
    RoomRemoved,
    Alert,
    Read,
    Error,
    Typing,
}

impl Tag {
    const ALL: [Tag; 14] = [
        Tag::Welcome,
        Tag::Message,
        Tag::Update,
        Tag::Ack,
        Tag::Joined,
        Tag::Left,
        Tag::Counts,
        Tag::Pong,
        Tag::RoomAdded,
        Tag::RoomRemoved,
        Tag::Alert,
        Tag::Read,
        Tag::Error,
        Tag::Typing,
    ];

    /// The tag of an event: every variant, so none can be added without one.
    fn of(event: &ServerEvent) -> Tag {
        match event {
            ServerEvent::Welcome { .. } => Tag::Welcome,
            ServerEvent::Message { .. } => Tag::Message,
            ServerEvent::Update { .. } => Tag::Update,
            ServerEvent::Ack { .. } => Tag::Ack,
            ServerEvent::Joined { .. } => Tag::Joined,
            ServerEvent::Left { .. } => Tag::Left,
            ServerEvent::Counts { .. } => Tag::Counts,
            ServerEvent::Pong => Tag::Pong,
            ServerEvent::RoomAdded { .. } => Tag::RoomAdded,
            ServerEvent::RoomRemoved { .. } => Tag::RoomRemoved,
            ServerEvent::Alert { .. } => Tag::Alert,
            ServerEvent::Read { .. } => Tag::Read,
            ServerEvent::Error { .. } => Tag::Error,
            ServerEvent::Typing { .. } => Tag::Typing,
        }
    }

    /// As serde writes it (`rename_all = "snake_case"`).
    const fn name(self) -> &'static str {
        match self {
            Tag::Welcome => "welcome",
            Tag::Message => "message",
            Tag::Update => "update",
            Tag::Ack => "ack",
            Tag::Joined => "joined",
            Tag::Left => "left",
            Tag::Counts => "counts",
            Tag::Pong => "pong",
            Tag::RoomAdded => "room_added",
            Tag::RoomRemoved => "room_removed",
            Tag::Alert => "alert",
            Tag::Read => "read",
            Tag::Error => "error",
            Tag::Typing => "typing",
        }
    }

    fn named(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|tag| tag.name() == name)
    }
}

/// The tags, for the error that names an unknown one.
const VARIANTS: [&str; Tag::ALL.len()] = {
    let mut names = [""; Tag::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Tag::ALL[i].name();
        i += 1;
    }
    names
};

/// An event on the wire: `[tag, field, …]`, the variant's fields in the order they are
/// declared (`["message", room, msg]`, `["pong"]`). Written by hand, not derived, both
/// ways: an internally tagged enum's derived reader buffers every event in serde's
/// generic `Content` tree, and a struct's matches every field's name; an array is read in
/// order, in one pass — the smallest reader in the page's WASM (docs/wasm-size.md).
impl Serialize for ServerEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        seq.serialize_element(Tag::of(self).name())?;
        match self {
            ServerEvent::Welcome { conn, name } => {
                seq.serialize_element(conn)?;
                seq.serialize_element(name)?;
            }
            ServerEvent::Message { room, msg } => {
                seq.serialize_element(room)?;
                seq.serialize_element(msg)?;
            }
            ServerEvent::Update { room, update } => {
                seq.serialize_element(room)?;
                seq.serialize_element(update)?;
            }
            ServerEvent::Ack { room, cid, seq: at } => {
                seq.serialize_element(room)?;
                seq.serialize_element(cid)?;
                seq.serialize_element(at)?;
            }
            ServerEvent::Joined {
                room,
                seq: at,
                name,
            }
            | ServerEvent::Left {
                room,
                seq: at,
                name,
            } => {
                seq.serialize_element(room)?;
                seq.serialize_element(at)?;
                seq.serialize_element(name)?;
            }
            ServerEvent::Counts { rooms } => seq.serialize_element(rooms)?,
            ServerEvent::Pong => {}
            ServerEvent::RoomAdded { room } => seq.serialize_element(room)?,
            ServerEvent::RoomRemoved { room } => seq.serialize_element(room)?,
            ServerEvent::Alert {
                room,
                n,
                name,
                text,
                mention,
            } => {
                seq.serialize_element(room)?;
                seq.serialize_element(n)?;
                seq.serialize_element(name)?;
                seq.serialize_element(text)?;
                seq.serialize_element(mention)?;
            }
            ServerEvent::Read { room, n } => {
                seq.serialize_element(room)?;
                seq.serialize_element(n)?;
            }
            ServerEvent::Error { code, message, cid } => {
                seq.serialize_element(code)?;
                seq.serialize_element(message)?;
                if cid.is_some() {
                    seq.serialize_element(cid)?;
                }
            }
            ServerEvent::Typing { room, name } => {
                seq.serialize_element(room)?;
                seq.serialize_element(name)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ServerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(Events)
    }
}

struct Events;

/// The next element of an event, which must be there.
fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::custom("an event is missing a part"))
}

impl<'de> Visitor<'de> for Events {
    type Value = ServerEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event: [tag, ...]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ServerEvent, A::Error> {
        let t: String = next(&mut seq)?;
        let Some(tag) = Tag::named(&t) else {
            return Err(de::Error::unknown_variant(&t, &VARIANTS));
        };
        let s = &mut seq;
        let event = match tag {
            Tag::Welcome => ServerEvent::Welcome {
                conn: next(s)?,
                name: next(s)?,
            },
            Tag::Message => ServerEvent::Message {
                room: next(s)?,
                msg: next(s)?,
            },
            Tag::Update => ServerEvent::Update {
                room: next(s)?,
                update: next(s)?,
            },
            Tag::Ack => ServerEvent::Ack {
                room: next(s)?,
                cid: next(s)?,
                seq: next(s)?,
            },
            Tag::Joined => ServerEvent::Joined {
                room: next(s)?,
                seq: next(s)?,
                name: next(s)?,
            },
            Tag::Left => ServerEvent::Left {
                room: next(s)?,
                seq: next(s)?,
                name: next(s)?,
            },
            Tag::Counts => ServerEvent::Counts { rooms: next(s)? },
            Tag::Pong => ServerEvent::Pong,
            Tag::RoomAdded => ServerEvent::RoomAdded { room: next(s)? },
            Tag::RoomRemoved => ServerEvent::RoomRemoved { room: next(s)? },
            Tag::Alert => ServerEvent::Alert {
                room: next(s)?,
                n: next(s)?,
                name: next(s)?,
                text: next(s)?,
                mention: next(s)?,
            },
            Tag::Read => ServerEvent::Read {
                room: next(s)?,
                n: next(s)?,
            },
            Tag::Error => ServerEvent::Error {
                code: next(s)?,
                message: next(s)?,
                cid: s.next_element::<Option<String>>()?.flatten(),
            },
            Tag::Typing => ServerEvent::Typing {
                room: next(s)?,
                name: next(s)?,
            },
        };
        // Parts a later version may add are skipped.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        debug_assert_eq!(Tag::of(&event), tag);
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::Tag;

    fn every_event() -> Vec<ServerEvent> {
        let room = RoomInfo {
            slug: "tech".into(),
            title: "Tech".into(),
            topic: "chips".into(),
            online: 2,
            latest: 9,
            kind: RoomKind::Private,
            active_ms: 5,
            notify: Some(NotifyLevel::Everything),
            read: Some(4),
            mentioned: 3,
            owner: true,
            moderator: true,
            slow_s: 30,
        };
        let msg = ChatMessage {
            seq: 9,
            cid: "abcdefgh12".into(),
            author: "ana".into(),
            text: "hi \"there\" @bo\n".into(),
            at_ms: 1_700_000_000_000,
            mentions: vec!["bo".into()],
            n: 7,
            file: Some(Box::new(crate::protocol::Attachment {
                id: "0123456789abcdef0123456789abcdef".into(),
                name: "cat.png".into(),
                mime: "image/png".into(),
                size: 1234,
                kind: crate::protocol::AttachmentKind::Image,
                width: 640,
                height: 480,
            })),
            ..ChatMessage::default()
        };
        let card = Preview {
            url: "https://example.com/a".into(),
            site: "Example".into(),
            title: "A page".into(),
            description: "About it".into(),
            image: Some("/previews/ab.jpg".into()),
        };
        vec![
            ServerEvent::Welcome {
                conn: "c1".into(),
                name: "ana".into(),
            },
            ServerEvent::Message {
                room: "tech".into(),
                msg,
            },
            ServerEvent::Update {
                room: "tech".into(),
                update: Update {
                    seq: 10,
                    target: 9,
                    cid: "preview-9".into(),
                    change: Change::Preview(Box::new(card)),
                },
            },
            ServerEvent::Update {
                room: "tech".into(),
                update: Update {
                    seq: 11,
                    target: 9,
                    cid: "abcdefgh13".into(),
                    change: Change::RemovePreview,
                },
            },
            ServerEvent::Ack {
                room: "tech".into(),
                cid: "abcdefgh12".into(),
                seq: 9,
            },
            ServerEvent::Joined {
                room: "tech".into(),
                seq: 9,
                name: "bo".into(),
            },
            ServerEvent::Left {
                room: "tech".into(),
                seq: 9,
                name: "bo".into(),
            },
            ServerEvent::Counts {
                rooms: vec![RoomCount {
                    slug: "tech".into(),
                    online: 2,
                    latest: 9,
                }],
            },
            ServerEvent::Pong,
            ServerEvent::RoomAdded { room },
            ServerEvent::RoomRemoved {
                room: "tech".into(),
            },
            ServerEvent::Alert {
                room: "tech".into(),
                n: 7,
                name: "ana".into(),
                text: "hi @bo".into(),
                mention: true,
            },
            ServerEvent::Read {
                room: "tech".into(),
                n: 7,
            },
            ServerEvent::Error {
                code: ErrorCode::RateLimited,
                message: "slow".into(),
                cid: None,
            },
            ServerEvent::Error {
                code: ErrorCode::BadMessage,
                message: "long".into(),
                cid: Some("abcdefgh12".into()),
            },
            ServerEvent::Typing {
                room: "tech".into(),
                name: "Ana".into(),
            },
        ]
    }

    #[test]
    fn every_tag_is_read_and_written_alike() {
        let events = every_event();
        for tag in Tag::ALL {
            let event = events.iter().find(|e| Tag::of(e) == tag);
            let event = event.unwrap_or_else(|| panic!("no {} in every_event()", tag.name()));
            let json: serde_json::Value = serde_json::from_str(&event.encode()).unwrap();
            assert_eq!(json[0], tag.name());
        }
    }

    #[test]
    fn every_event_reads_back_as_written() {
        for event in every_event() {
            assert_eq!(ServerEvent::decode(&event.encode()).unwrap(), event);
        }
    }

    #[test]
    fn parts_a_later_version_adds_are_skipped() {
        let event = ServerEvent::decode(r#"["joined","tech",3,"bo",{"new":1}]"#);
        assert_eq!(
            event.unwrap(),
            ServerEvent::Joined {
                room: "tech".into(),
                seq: 3,
                name: "bo".into()
            }
        );
        assert_eq!(
            ServerEvent::decode(r#"["error","malformed","no"]"#).unwrap(),
            ServerEvent::Error {
                code: ErrorCode::Malformed,
                message: "no".into(),
                cid: None
            }
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for bad in [
            r#"["dance"]"#,
            r#"["welcome","c1"]"#,
            r#"["message","a",null]"#,
            r#"["room_added","tech"]"#,
            r#"["typing","tech"]"#,
            r#"["typing",["a","A","",0,0,"public",0,null,null,0,false],"Ana"]"#,
            r#"["room_added",["a","A"]]"#,
            r#"["ack","tech","x",-1]"#,
            r#"{"t":"pong"}"#,
            "[]",
            "[1]",
            "null",
        ] {
            assert!(ServerEvent::decode(bad).is_err(), "{bad}");
        }
    }
}
