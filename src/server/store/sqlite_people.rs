//! [`PeopleStore`] on SQLite: memberships and readers are rare, small writes through the
//! shared writer connection.

use sqlx::Row;

use super::people::{MemberRecord, PeopleStore, ReaderRecord};
use super::{SqliteStore, StoreError, StoreResult};
use crate::protocol::{NotifyLevel, Seq};

#[async_trait::async_trait]
impl PeopleStore for SqliteStore {
    async fn memberships(&self) -> StoreResult<Vec<(i64, MemberRecord)>> {
        let rows = sqlx::query("SELECT room_id, user_id, name FROM members ORDER BY joined_ms")
            .fetch_all(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
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
            "INSERT INTO members (room_id, user_id, name, joined_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(room)
        .bind(&member.user_id)
        .bind(&member.name)
        .bind(now_ms)
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn remove_member(&self, room: i64, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM members WHERE room_id = ? AND user_id = ?")
            .bind(room)
            .bind(user_id)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(())
    }

    async fn notify_settings(&self) -> StoreResult<Vec<(i64, String, NotifyLevel)>> {
        let rows =
            sqlx::query("SELECT room_id, user_id, notify FROM readers WHERE notify IS NOT NULL")
                .fetch_all(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
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
            "INSERT INTO readers (user_id, room_id, notify) VALUES (?, ?, ?)
             ON CONFLICT DO UPDATE SET notify = excluded.notify",
        )
        .bind(user_id)
        .bind(room)
        .bind(level.as_str())
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn readers(&self, user_id: &str) -> StoreResult<Vec<ReaderRecord>> {
        let rows = sqlx::query(
            "SELECT room_id, notify, last_read, mentioned FROM readers WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(crate::server::store::rows::reader)
            .collect())
    }

    async fn set_read(&self, user_id: &str, room: i64, seq: Seq) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO readers (user_id, room_id, last_read) VALUES (?, ?, ?)
             ON CONFLICT DO UPDATE SET last_read = MAX(last_read, excluded.last_read)",
        )
        .bind(user_id)
        .bind(room)
        .bind(seq.min(i64::MAX as u64) as i64)
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn set_mentioned(&self, user_ids: &[String], room: i64, seq: Seq) -> StoreResult<()> {
        let mut writer = self.writer().await;
        for user_id in user_ids {
            sqlx::query(
                "INSERT INTO readers (user_id, room_id, mentioned) VALUES (?, ?, ?)
                 ON CONFLICT DO UPDATE SET mentioned = MAX(mentioned, excluded.mentioned)",
            )
            .bind(user_id)
            .bind(room)
            .bind(seq.min(i64::MAX as u64) as i64)
            .execute(&mut *writer)
            .await
            .map_err(StoreError::new)?;
        }
        Ok(())
    }

    async fn registered_names(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT user_id, name FROM accounts")
            .fetch_all(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("user_id"), row.get("name")))
            .collect())
    }
}
