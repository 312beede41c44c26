//! [`PeopleStore`] on PostgreSQL: memberships and readers, each write one statement (an
//! upsert where a row may exist), so nodes writing at once need no lock of ours.

use sqlx::Row;

use super::super::people::{MemberRecord, PeopleStore, ReaderRecord};
use super::super::StoreResult;
use super::rooms::col;
use super::{failed, PgStore};
use crate::protocol::{NotifyLevel, Seq};

#[async_trait::async_trait]
impl PeopleStore for PgStore {
    async fn memberships(&self) -> StoreResult<Vec<(i64, MemberRecord)>> {
        let rows = sqlx::query("SELECT room_id, user_id, name FROM members ORDER BY joined_ms")
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|row| {
                let member = MemberRecord {
                    user_id: row.get("user_id"),
                    name: row.get("name"),
                };
                (row.get("room_id"), member)
            })
            .collect())
    }

    async fn add_member(&self, room: i64, member: &MemberRecord, now_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO members (room_id, user_id, name, joined_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(room)
        .bind(&member.user_id)
        .bind(&member.name)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn remove_member(&self, room: i64, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM members WHERE room_id = $1 AND user_id = $2")
            .bind(room)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn notify_settings(&self) -> StoreResult<Vec<(i64, String, NotifyLevel)>> {
        let rows =
            sqlx::query("SELECT room_id, user_id, notify FROM readers WHERE notify IS NOT NULL")
                .fetch_all(&self.pool)
                .await
                .map_err(failed)?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let level = NotifyLevel::parse(row.get("notify"))?;
                Some((row.get("room_id"), row.get("user_id"), level))
            })
            .collect())
    }

    async fn set_notify(&self, user_id: &str, room: i64, level: NotifyLevel) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO readers (user_id, room_id, notify) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, room_id) DO UPDATE SET notify = excluded.notify",
        )
        .bind(user_id)
        .bind(room)
        .bind(level.as_str())
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn readers(&self, user_id: &str) -> StoreResult<Vec<ReaderRecord>> {
        let rows = sqlx::query(
            "SELECT room_id, notify, last_read, mentioned FROM readers WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows
            .iter()
            .map(crate::server::store::rows::reader)
            .collect())
    }

    async fn set_read(&self, user_id: &str, room: i64, seq: Seq) -> StoreResult<()> {
        // A mark only moves forward, whichever node writes last.
        sqlx::query(
            "INSERT INTO readers (user_id, room_id, last_read) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, room_id)
             DO UPDATE SET last_read = GREATEST(readers.last_read, excluded.last_read)",
        )
        .bind(user_id)
        .bind(room)
        .bind(col(seq))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn set_mentioned(&self, user_ids: &[String], room: i64, seq: Seq) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO readers (user_id, room_id, mentioned)
             SELECT user_id, $2, $3 FROM UNNEST($1::text[]) AS user_id
             ON CONFLICT (user_id, room_id)
             DO UPDATE SET mentioned = GREATEST(readers.mentioned, excluded.mentioned)",
        )
        .bind(user_ids)
        .bind(room)
        .bind(col(seq))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn registered_names(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT user_id, name FROM accounts")
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("user_id"), row.get("name")))
            .collect())
    }
}
