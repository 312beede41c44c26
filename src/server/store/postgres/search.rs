//! [`SearchStore`] on PostgreSQL: the words of every message in one GIN index
//! (`messages.words`, migration 0009: English stemming, accents removed), read newest
//! first, filtered by the rooms the reader may read, in one query.

use sqlx::Row;

use super::super::search::{SearchQuery, SearchStore};
use super::super::StoreResult;
use super::{failed, PgStore};
use crate::protocol::{SearchHit, Seq};

/// A hit's room is one `$2` may read (public, or they are a member), by `$3` if given,
/// in the room `$4` if given.
const READABLE_AND_FILTERED: &str = "(r.kind = 'public'
        OR EXISTS (SELECT 1 FROM members WHERE room_id = r.id AND user_id = $2))
    AND ($3::TEXT IS NULL OR lower(m.author) = lower($3))
    AND ($4::TEXT IS NULL OR r.slug = $4)";

#[async_trait::async_trait]
impl SearchStore for PgStore {
    async fn search(
        &self,
        user: &str,
        query: &SearchQuery,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        // Words: each must be there (plainto_tsquery ANDs them; nothing in them is an
        // operator). Pins without words come newest pin first.
        let sql = if query.words.is_empty() {
            format!(
                "SELECT r.slug, m.seq, m.author, m.text, m.at_ms FROM messages AS m
                 JOIN rooms AS r ON r.id = m.room_id
                 WHERE m.pinned_at IS NOT NULL AND $1 = '' AND $6 AND {READABLE_AND_FILTERED}
                 ORDER BY m.pinned_at DESC LIMIT $5"
            )
        } else {
            format!(
                "SELECT r.slug, m.seq, m.author, m.text, m.at_ms FROM messages AS m
                 JOIN rooms AS r ON r.id = m.room_id
                 WHERE m.words @@ natter_query($1) AND (NOT $6 OR m.pinned_at IS NOT NULL)
                   AND {READABLE_AND_FILTERED}
                 ORDER BY m.search_id DESC LIMIT $5"
            )
        };
        let rows = sqlx::query(&sql)
            .bind(query.words.join(" "))
            .bind(user)
            .bind(query.from.as_deref())
            .bind(query.room.as_deref())
            .bind(i64::from(limit))
            .bind(query.pinned)
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
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
