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
            .fetch_all(&self.reader)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Change, RoomKind};
    use crate::server::store::{
        Asker, Created, MemberRecord, NewMessage, NewRoom, NewUpdate, Store,
    };

    fn msg(cid: &str, author: &str, text: &str) -> NewMessage {
        NewMessage {
            cid: cid.into(),
            author: author.into(),
            author_id: format!("u-{author}"),
            text: text.into(),
            at_ms: 1,
            mentions: Vec::new(),
            doc: None,
            file: None,
            reply: None,
        }
    }

    /// Waits until the writer has indexed every message (it does so just after storing).
    async fn indexed(store: &SqliteStore) {
        for _ in 0..500 {
            let left: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM messages
                         WHERE search_id IS NOT NULL AND text != '' AND state < 2)
                      - (SELECT COUNT(*) FROM search)",
            )
            .fetch_one(&store.reader)
            .await
            .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("messages still not indexed after 5 s");
    }

    async fn found(store: &SqliteStore, user: &str, typed: &str) -> Vec<(String, Seq)> {
        indexed(store).await;
        let query = SearchQuery::parse(typed).unwrap();
        store
            .search(user, &query, 30)
            .await
            .unwrap()
            .into_iter()
            .map(|hit| (hit.room, hit.seq))
            .collect()
    }

    #[tokio::test]
    async fn search_finds_stemmed_words_newest_first_in_readable_rooms_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        let rooms = store.rooms().await.unwrap();
        let general = rooms.iter().find(|r| r.slug == "general").unwrap().id;
        let Created::Created(secret) = store
            .create_room(
                &NewRoom {
                    slug: "secret".into(),
                    title: "Secret".into(),
                    topic: String::new(),
                    kind: RoomKind::Private,
                    owner: Some("u-ana".into()),
                    people: None,
                    members: vec![MemberRecord {
                        user_id: "u-ana".into(),
                        name: "ana".into(),
                    }],
                },
                1,
            )
            .await
            .unwrap()
        else {
            panic!("room taken")
        };
        store
            .append(
                general,
                &[
                    msg("c-000001", "ana", "We deployed the café menu"),
                    msg("c-000002", "bo", "deploying again tomorrow"),
                    msg("c-000003", "bo", "nothing to see"),
                ],
            )
            .await
            .unwrap();
        store
            .append(secret.id, &[msg("c-000004", "ana", "secret deploy plans")])
            .await
            .unwrap();

        // Stemmed (deployed, deploying, deploy), newest first; the private room only for
        // its member.
        let general_hits = vec![("general".to_owned(), 2), ("general".to_owned(), 1)];
        assert_eq!(found(&store, "u-bo", "deploy").await, general_hits);
        assert_eq!(
            found(&store, "u-ana", "deploy").await,
            [
                ("secret".to_owned(), 1),
                ("general".to_owned(), 2),
                ("general".to_owned(), 1)
            ]
        );
        // Accents and case ignored; filters.
        assert_eq!(
            found(&store, "u-bo", "CAFE").await,
            [("general".to_owned(), 1)]
        );
        assert_eq!(
            found(&store, "u-bo", "deploy from:BO").await,
            [("general".to_owned(), 2)]
        );
        assert_eq!(
            found(&store, "u-ana", "deploy in:#secret").await,
            [("secret".to_owned(), 1)]
        );
        assert!(found(&store, "u-bo", "deploy in:secret").await.is_empty());
        // What FTS5 would misread is only words.
        for typed in [
            "\"deploy",
            "deploy*",
            "NEAR(deploy menu)",
            "text:deploy",
            "deploy OR see",
            "^deploy",
        ] {
            let query = SearchQuery::parse(typed).unwrap();
            assert!(store.search("u-bo", &query, 30).await.is_ok(), "{typed}");
        }
        assert!(
            found(&store, "u-bo", "deploy OR see").await.is_empty(),
            "OR is a word"
        );

        // Edits and deletes keep the index in step.
        let by = |user: &str| Asker::Author(format!("u-{user}"));
        let edit = |cid: &str, target, text: &str, user: &str| NewUpdate {
            cid: cid.into(),
            target,
            change: Change::Edited {
                text: text.into(),
                doc: None,
            },
            at_ms: 2,
            by: by(user),
        };
        let delete = NewUpdate {
            cid: "d-1".into(),
            target: 2,
            change: Change::Deleted,
            at_ms: 2,
            by: by("bo"),
        };
        store
            .change(
                general,
                &[
                    edit("e-1", 1, "We shipped the menu", "ana"),
                    edit("e-2", 3, "deploy on friday", "bo"),
                    delete,
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            found(&store, "u-bo", "deploy").await,
            [("general".to_owned(), 3)]
        );
        assert_eq!(
            found(&store, "u-bo", "shipping").await,
            [("general".to_owned(), 1)]
        );
        assert!(found(&store, "u-bo", "again").await.is_empty(), "deleted");
    }
}
