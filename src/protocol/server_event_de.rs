//! Reading a [`ServerEvent`] without serde's buffering of tagged enums.
//!
//! The derived `Deserialize` of an internally tagged enum first copies the whole object
//! into serde's generic `Content` tree, then reads each variant from that copy: a second
//! decoder for every type inside, which the browser's WASM would carry. Here the event is
//! read in one pass into the union of all variants' fields (the tag may come anywhere,
//! as before), then the tag picks the variant and checks its fields are there. The JSON
//! is the same as what the derived `Serialize` writes.
//!
//! Nothing is listed by hand: [`Tag::of`] matches every [`ServerEvent`] variant, so a new
//! variant does not compile until it has a [`Tag`], and a new tag does not compile until
//! the reader below builds its event.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::{ChatMessage, ErrorCode, RoomCount, RoomInfo, Seq, ServerEvent, Update};

/// Which event a JSON object is: its `t`.
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

/// Every field any event has; each variant uses some.
#[derive(Deserialize)]
struct Fields {
    t: String,
    conn: Option<String>,
    name: Option<String>,
    room: Option<Room>,
    msg: Option<ChatMessage>,
    update: Option<Update>,
    cid: Option<String>,
    seq: Option<Seq>,
    n: Option<Seq>,
    rooms: Option<Vec<RoomCount>>,
    code: Option<ErrorCode>,
    message: Option<String>,
    text: Option<String>,
    mention: Option<bool>,
}

/// `room` is a slug in most events and the whole room in `room_added`.
enum Room {
    Slug(String),
    Info(RoomInfo),
}

impl<'de> Deserialize<'de> for Room {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SlugOrInfo;
        impl<'de> Visitor<'de> for SlugOrInfo {
            type Value = Room;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a room's slug or the room")
            }
            fn visit_str<E: de::Error>(self, slug: &str) -> Result<Room, E> {
                Ok(Room::Slug(slug.to_owned()))
            }
            // A room travels as an array (`protocol::wire`).
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Room, A::Error> {
                RoomInfo::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Room::Info)
            }
        }
        deserializer.deserialize_any(SlugOrInfo)
    }
}

fn need<T, E: de::Error>(field: Option<T>, name: &'static str) -> Result<T, E> {
    field.ok_or_else(|| E::missing_field(name))
}

fn slug<E: de::Error>(room: Option<Room>) -> Result<String, E> {
    match need(room, "room")? {
        Room::Slug(slug) => Ok(slug),
        Room::Info(_) => Err(E::invalid_type(de::Unexpected::Seq, &"a room's slug")),
    }
}

impl<'de> Deserialize<'de> for ServerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = Fields::deserialize(deserializer)?;
        let Some(tag) = Tag::named(&f.t) else {
            return Err(de::Error::unknown_variant(&f.t, &VARIANTS));
        };
        let event = match tag {
            Tag::Welcome => ServerEvent::Welcome {
                conn: need(f.conn, "conn")?,
                name: need(f.name, "name")?,
            },
            Tag::Message => ServerEvent::Message {
                room: slug(f.room)?,
                msg: need(f.msg, "msg")?,
            },
            Tag::Update => ServerEvent::Update {
                room: slug(f.room)?,
                update: need(f.update, "update")?,
            },
            Tag::Ack => ServerEvent::Ack {
                room: slug(f.room)?,
                cid: need(f.cid, "cid")?,
                seq: need(f.seq, "seq")?,
            },
            Tag::Joined => ServerEvent::Joined {
                room: slug(f.room)?,
                seq: need(f.seq, "seq")?,
                name: need(f.name, "name")?,
            },
            Tag::Left => ServerEvent::Left {
                room: slug(f.room)?,
                seq: need(f.seq, "seq")?,
                name: need(f.name, "name")?,
            },
            Tag::Counts => ServerEvent::Counts {
                rooms: need(f.rooms, "rooms")?,
            },
            Tag::Pong => ServerEvent::Pong,
            Tag::RoomAdded => match need(f.room, "room")? {
                Room::Info(room) => ServerEvent::RoomAdded { room },
                Room::Slug(_) => {
                    return Err(de::Error::invalid_type(
                        de::Unexpected::Str("slug"),
                        &"a room",
                    ))
                }
            },
            Tag::RoomRemoved => ServerEvent::RoomRemoved {
                room: slug(f.room)?,
            },
            Tag::Alert => ServerEvent::Alert {
                room: slug(f.room)?,
                n: need(f.n, "n")?,
                name: need(f.name, "name")?,
                text: need(f.text, "text")?,
                mention: need(f.mention, "mention")?,
            },
            Tag::Read => ServerEvent::Read {
                room: slug(f.room)?,
                n: need(f.n, "n")?,
            },
            Tag::Error => ServerEvent::Error {
                code: need(f.code, "code")?,
                message: need(f.message, "message")?,
                cid: f.cid,
            },
            Tag::Typing => ServerEvent::Typing {
                room: slug(f.room)?,
                name: need(f.name, "name")?,
            },
        };
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
            assert_eq!(json["t"], tag.name());
        }
    }

    #[test]
    fn every_event_reads_back_as_written() {
        for event in every_event() {
            assert_eq!(ServerEvent::decode(&event.encode()).unwrap(), event);
        }
    }

    #[test]
    fn the_tag_may_come_anywhere() {
        let event = ServerEvent::decode(r#"{"room":"tech","seq":3,"name":"bo","t":"joined"}"#);
        assert_eq!(
            event.unwrap(),
            ServerEvent::Joined {
                room: "tech".into(),
                seq: 3,
                name: "bo".into()
            }
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for bad in [
            r#"{"t":"dance"}"#,
            r#"{"t":"welcome","conn":"c1"}"#,
            r#"{"t":"message","room":{"slug":"a","title":"A","topic":"","online":0},"msg":null}"#,
            r#"{"t":"room_added","room":"tech"}"#,
            r#"{"t":"typing","room":"tech"}"#,
            r#"{"t":"typing","name":"Ana"}"#,
            r#"{"t":"typing","room":{"slug":"a","title":"A","topic":"","online":0,"latest":0},"name":"Ana"}"#,
            r#"{"t":"typing","room":["a","A","",0,0,"public",0,null,null,0,false],"name":"Ana"}"#,
            r#"{"t":"room_added","room":["a","A"]}"#,
            r#"{"t":"ack","room":"tech","cid":"x","seq":-1}"#,
            r#"{"conn":"c1","name":"ana"}"#,
            "[]",
            "null",
        ] {
            assert!(ServerEvent::decode(bad).is_err(), "{bad}");
        }
    }
}
