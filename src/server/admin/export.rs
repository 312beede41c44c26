//! `natter admin export <room>`: a room and every message in it, as they are now, as JSON
//! on standard output — for keeping, moving or reading elsewhere. Read from one snapshot
//! of the database, beside a running server.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::server::store;

#[derive(Serialize)]
struct Export {
    room: Room,
    messages: Vec<Message>,
}

#[derive(Serialize)]
struct Room {
    slug: String,
    title: String,
    topic: String,
    kind: String,
    created_ms: i64,
}

#[derive(Serialize)]
struct Message {
    seq: i64,
    author: String,
    text: String,
    at_ms: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mentions: Vec<String>,
    /// The link card it shows, if any: the link and the page's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<(String, String)>,
    /// The file it carries, if any: where the server serves it, and what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<File>,
}

#[derive(Serialize)]
struct File {
    url: String,
    name: String,
    mime: String,
    size: u64,
}

/// The room `slug` of the database at `database`, as pretty JSON.
pub fn export(database: &Path, slug: &str) -> Result<String, String> {
    let db = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| format!("cannot open the database {}: {err}", database.display()))?;
    let fail = |err: rusqlite::Error| err.to_string();
    // One read transaction: the room and its messages as of one moment.
    let tx = db.unchecked_transaction().map_err(fail)?;
    let room = tx
        .query_row(
            "SELECT id, slug, title, topic, kind, created_ms FROM rooms WHERE slug = ?1",
            [slug],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    Room {
                        slug: row.get(1)?,
                        title: row.get(2)?,
                        topic: row.get(3)?,
                        kind: row.get(4)?,
                        created_ms: row.get(5)?,
                    },
                ))
            },
        )
        .optional()
        .map_err(fail)?;
    let Some((id, room)) = room else {
        return Err(format!("there is no room {slug:?}"));
    };
    let mut query = tx
        .prepare(
            "SELECT seq, author, text, at_ms, mentions, preview, file FROM messages
             WHERE room_id = ?1 ORDER BY seq",
        )
        .map_err(fail)?;
    let messages = query
        .query_map([id], |row| {
            // Read as the store reads its own columns.
            let link = store::preview_from_column(row.get(5)?).map(|card| (card.url, card.title));
            Ok(Message {
                seq: row.get(0)?,
                author: row.get(1)?,
                text: row.get(2)?,
                at_ms: row.get(3)?,
                mentions: store::split_mentions(&row.get::<_, String>(4)?),
                link,
                file: store::file_from_column(row.get(6)?).map(|file| File {
                    url: format!("/files/{}", file.id),
                    name: file.name,
                    mime: file.mime,
                    size: file.size,
                }),
            })
        })
        .map_err(fail)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    serde_json::to_string_pretty(&Export { room, messages }).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{NewMessage, SqliteStore, Store};

    #[tokio::test]
    async fn a_room_comes_out_whole_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let general = store
            .rooms()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.slug == "general")
            .unwrap()
            .id;
        let new = |cid: &str, text: &str| NewMessage {
            cid: cid.into(),
            author: "ana".into(),
            author_id: "u-ana".into(),
            text: text.into(),
            at_ms: 5,
            mentions: vec!["bo".into()],
            doc: None,
            file: None,
            reply: None,
        };
        store
            .append(
                general,
                &[new("c-0000001", "hi @bo"), new("c-0000002", "<b>x</b>")],
            )
            .await
            .unwrap();
        drop(store);
        let json: serde_json::Value =
            serde_json::from_str(&export(&path, "general").unwrap()).unwrap();
        assert_eq!(json["room"]["title"], "General");
        assert_eq!(json["messages"][0]["text"], "hi @bo");
        assert_eq!(json["messages"][0]["mentions"][0], "bo");
        assert_eq!(json["messages"][1]["text"], "<b>x</b>");
        assert_eq!(json["messages"].as_array().unwrap().len(), 2);
        let missing = export(&path, "nowhere").unwrap_err();
        assert!(missing.contains("no room"), "{missing}");
    }
}
