//! Rows read back into the seam's types, the same for both stores: what a column holds
//! is the same on SQLite and PostgreSQL (integers as i64, text as String); only the
//! SQL that selects them is in each store's dialect.

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::accounts::AccountRecord;
use super::files::{kind_from_str, FileRecord};
use super::people::ReaderRecord;
use crate::protocol::{Attachment, ChatMessage, NotifyLevel, Seq};

/// A row of either store whose columns are read by name.
pub(crate) trait Columns: Row
where
    for<'a> &'a str: ColumnIndex<Self>,
{
}

impl<R: Row> Columns for R where for<'a> &'a str: ColumnIndex<R> {}

/// A message as `MESSAGE_COLUMNS` of its store select it: the message (`m`) and the one
/// it replies to (`q_…`), quoted as it is now.
pub(crate) fn message<R: Columns>(row: &R) -> ChatMessage
where
    for<'a> &'a str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    ChatMessage {
        seq: row.get::<i64, _>("seq") as Seq,
        n: row.get::<i64, _>("n") as Seq,
        cid: row.get("cid"),
        author: row.get("author"),
        text: row.get("text"),
        at_ms: row.get("at_ms"),
        mentions: super::split_mentions(&row.get::<String, _>("mentions")),
        doc: super::doc_from_column(row.get("doc")),
        preview: super::preview_from_column(row.get("preview")),
        file: super::file_from_column(row.get("file")),
        state: row.get::<i64, _>("state") as u8,
        rev: row.get::<i64, _>("rev") as Seq,
        reactions: super::reactions_from_column(row.get("reactions")),
        reply: row.get::<Option<i64>, _>("q_seq").map(|seq| {
            let text: String = row.get("q_text");
            Box::new(crate::protocol::Reply::of(
                seq as Seq,
                row.get("q_author"),
                &crate::server::chat::markdown::plain_text(&text),
                row.get::<i64, _>("q_state") as u8,
            ))
        }),
        pinned: row.get::<Option<i64>, _>("pinned_at").is_some(),
    }
}

pub(crate) fn account<R: Columns>(row: &R) -> AccountRecord
where
    for<'a> &'a str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    AccountRecord {
        id: row.get("id"),
        user_id: row.get("user_id"),
        name: row.get("name"),
        password_hash: row.get("password_hash"),
    }
}

/// A `files` row with its room's `slug`.
pub(crate) fn file<R: Columns>(row: &R) -> (FileRecord, String)
where
    for<'a> &'a str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    let record = FileRecord {
        file: Attachment {
            id: row.get("id"),
            name: row.get("name"),
            mime: row.get("mime"),
            size: row.get::<i64, _>("size") as u64,
            kind: kind_from_str(&row.get::<String, _>("kind")),
            width: row.get::<i64, _>("width") as u32,
            height: row.get::<i64, _>("height") as u32,
        },
        hash: row.get("hash"),
        thumb: row.get("thumb"),
        room_id: row.get("room_id"),
        uploader: row.get("uploader"),
        created_ms: row.get("created_ms"),
    };
    (record, row.get("slug"))
}

pub(crate) fn reader<R: Columns>(row: &R) -> ReaderRecord
where
    for<'a> &'a str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    ReaderRecord {
        room_id: row.get("room_id"),
        notify: row
            .get::<Option<String>, _>("notify")
            .as_deref()
            .and_then(NotifyLevel::parse),
        last_read: row.get::<i64, _>("last_read") as Seq,
        mentioned: row.get::<i64, _>("mentioned") as Seq,
    }
}
