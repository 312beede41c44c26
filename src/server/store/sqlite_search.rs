//! [`SearchStore`] on SQLite: the FTS5 index `search` (migration 0009), read newest
//! first, joined to the messages and filtered by the rooms the reader may read, in one
//! query on the read pool.

use sqlx::Row;

use super::search::{SearchQuery, SearchStore};
use super::{SqliteStore, StoreError, StoreResult};
use crate::protocol::{SearchHit, Seq};

/// A hit's room is one `?2` may read (public, or they are a member), by `?3` if given,
/// in the room `?4` if given.
const READABLE_AND_FILTERED: &str = "(r.kind = 'public'
        OR EXISTS (SELECT 1 FROM members WHERE room_id = r.id AND user_id = ?2))
    AND (?3 IS NULL OR m.author = ?3 COLLATE NOCASE)
    AND (?4 IS NULL OR r.slug = ?4)";

#[async_trait::async_trait]
impl SearchStore for SqliteStore {
    async fn search(
        &self,
        user: &str,
        query: &SearchQuery,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // The index is walked backwards (its rowid grows with every message), each match
        // kept only if its room is readable and it fits the filters, until `limit`. Pins
        // without words are read from their own index, newest pin first. (Both queries
        // name every parameter: they are bound alike.)
        let sql = if query.words.is_empty() {
            format!(
                "SELECT r.slug, m.seq, m.author, m.text, m.at_ms FROM messages AS m
                 JOIN rooms AS r ON r.id = m.room_id
                 WHERE m.pinned_at IS NOT NULL AND ?1 = '' AND ?6 AND {READABLE_AND_FILTERED}
                 ORDER BY m.pinned_at DESC LIMIT ?5"
            )
        } else {
            format!(
                "SELECT r.slug, m.seq, m.author, m.text, m.at_ms FROM search
                 JOIN messages AS m ON m.search_id = search.rowid
                 JOIN rooms AS r ON r.id = m.room_id
                 WHERE search MATCH ?1 AND (?6 = 0 OR m.pinned_at IS NOT NULL)
                   AND {READABLE_AND_FILTERED}
                 ORDER BY search.rowid DESC LIMIT ?5"
            )
        };
        let rows = sqlx::query(&sql)
            .bind(query.fts_match())
            .bind(user)
            .bind(query.from.as_deref())
            .bind(query.room.as_deref())
            .bind(limit)
            .bind(query.pinned)
            .fetch_all(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| SearchHit {
                room: row.get("slug"),
                seq: row.get::<i64, _>("seq") as Seq,
                author: row.get("author"),
                text: crate::server::chat::markdown::plain_text(row.get("text")).into_owned(),
                at_ms: row.get("at_ms"),
            })
            .collect())
    }
}
