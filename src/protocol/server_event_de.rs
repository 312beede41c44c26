//! Reading a [`ServerEvent`] without serde's buffering of tagged enums.
//!
//! The derived `Deserialize` of an internally tagged enum first copies the whole object
//! into serde's generic `Content` tree, then reads each variant from that copy: a second
//! decoder for every type inside, which the browser's WASM would carry. Here the event is
//! read in one pass into the union of all variants' fields (the tag may come anywhere,
//! as before), then the tag picks the variant and checks its fields are there. The JSON
//! is the same as what the derived `Serialize` writes.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::{ChatMessage, ErrorCode, RoomCount, RoomInfo, Seq, ServerEvent};

const VARIANTS: &[&str] = &[
    "welcome",
    "message",
    "ack",
    "joined",
    "left",
    "counts",
    "pong",
    "room_added",
    "error",
];

/// Every field any event has; each variant uses some.
#[derive(Deserialize)]
struct Fields {
    t: String,
    conn: Option<String>,
    name: Option<String>,
    room: Option<Room>,
    msg: Option<ChatMessage>,
    cid: Option<String>,
    seq: Option<Seq>,
    rooms: Option<Vec<RoomCount>>,
    code: Option<ErrorCode>,
    message: Option<String>,
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
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Room, A::Error> {
                RoomInfo::deserialize(de::value::MapAccessDeserializer::new(map)).map(Room::Info)
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
        Room::Info(_) => Err(E::invalid_type(de::Unexpected::Map, &"a room's slug")),
    }
}

impl<'de> Deserialize<'de> for ServerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = Fields::deserialize(deserializer)?;
        Ok(match f.t.as_str() {
            "welcome" => ServerEvent::Welcome {
                conn: need(f.conn, "conn")?,
                name: need(f.name, "name")?,
            },
            "message" => ServerEvent::Message {
                room: slug(f.room)?,
                msg: need(f.msg, "msg")?,
            },
            "ack" => ServerEvent::Ack {
                room: slug(f.room)?,
                cid: need(f.cid, "cid")?,
                seq: need(f.seq, "seq")?,
            },
            "joined" => ServerEvent::Joined {
                room: slug(f.room)?,
                seq: need(f.seq, "seq")?,
                name: need(f.name, "name")?,
            },
            "left" => ServerEvent::Left {
                room: slug(f.room)?,
                seq: need(f.seq, "seq")?,
                name: need(f.name, "name")?,
            },
            "counts" => ServerEvent::Counts {
                rooms: need(f.rooms, "rooms")?,
            },
            "pong" => ServerEvent::Pong,
            "room_added" => match need(f.room, "room")? {
                Room::Info(room) => ServerEvent::RoomAdded { room },
                Room::Slug(_) => {
                    return Err(de::Error::invalid_type(
                        de::Unexpected::Str("slug"),
                        &"a room",
                    ))
                }
            },
            "error" => ServerEvent::Error {
                code: need(f.code, "code")?,
                message: need(f.message, "message")?,
                cid: f.cid,
            },
            other => return Err(de::Error::unknown_variant(other, VARIANTS)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn every_event() -> Vec<ServerEvent> {
        let room = RoomInfo {
            slug: "tech".into(),
            title: "Tech".into(),
            topic: "chips".into(),
            online: 2,
            latest: 9,
        };
        let msg = ChatMessage {
            seq: 9,
            cid: "abcdefgh12".into(),
            author: "ana".into(),
            text: "hi \"there\"\n".into(),
            at_ms: 1_700_000_000_000,
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
        ]
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
            r#"{"t":"ack","room":"tech","cid":"x","seq":-1}"#,
            r#"{"conn":"c1","name":"ana"}"#,
            "[]",
            "null",
        ] {
            assert!(ServerEvent::decode(bad).is_err(), "{bad}");
        }
    }
}
