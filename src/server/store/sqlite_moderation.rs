//! [`ModerationStore`] on SQLite: rare, small writes through the shared writer
//! connection, each with its audit line and a tick of the moderation clock.

use sqlx::{Connection, Row};

use super::moderation::{
    AuditEntry, ModerationChange, ModerationRecord, ModerationStore, ReportRecord, RoomRole,
    RoomRules, SanctionKind, SanctionRecord, SERVER_WIDE,
};
use super::{SqliteStore, StoreError, StoreResult};
use crate::protocol::Seq;

#[async_trait::async_trait]
impl ModerationStore for SqliteStore {
    async fn moderation(&self) -> StoreResult<ModerationRecord> {
        let mut record = ModerationRecord::default();
        // One read transaction: a change made meanwhile is all in, or all out.
        let mut reader = self.reader.get().await?;
        let mut tx = reader.begin().await.map_err(StoreError::new)?;
        for row in sqlx::query("SELECT user_id FROM admins")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::new)?
        {
            record.admins.insert(row.get("user_id"));
        }
        for row in sqlx::query("SELECT room_id, user_id, role FROM room_roles")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::new)?
        {
            if let Some(role) = RoomRole::parse(row.get("role")) {
                record
                    .roles
                    .insert((row.get("room_id"), row.get("user_id")), role);
            }
        }
        for row in sqlx::query("SELECT room_id, user_id, kind, until_ms, addr FROM sanctions")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::new)?
        {
            if let Some(kind) = SanctionKind::parse(row.get("kind")) {
                record.sanctions.push(SanctionRecord {
                    room: row.get("room_id"),
                    user: row.get("user_id"),
                    kind,
                    until_ms: row.get("until_ms"),
                    addr: row.get("addr"),
                });
            }
        }
        for row in sqlx::query("SELECT id, title, topic, locked, slow_s, archived FROM rooms")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::new)?
        {
            let rules = RoomRules {
                locked: row.get("locked"),
                slow_s: row.get::<i64, _>("slow_s").clamp(0, u32::MAX.into()) as u32,
                archived: row.get("archived"),
            };
            if rules != RoomRules::default() {
                record.rules.insert(row.get("id"), rules);
            }
            record
                .names
                .insert(row.get("id"), (row.get("title"), row.get("topic")));
        }
        record.clock = sqlx::query("SELECT v FROM moderation_clock")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::new)?
            .get("v");
        Ok(record)
    }

    async fn moderation_clock(&self) -> StoreResult<i64> {
        sqlx::query("SELECT v FROM moderation_clock")
            .fetch_one(&mut *self.reader.get().await?)
            .await
            .map(|row| row.get("v"))
            .map_err(StoreError::new)
    }

    async fn moderate(&self, change: &ModerationChange, audit: &AuditEntry) -> StoreResult<i64> {
        let mut writer = self.writer().await;
        let mut tx = writer.begin().await.map_err(StoreError::new)?;
        let q = match change {
            // Only the audit line below.
            ModerationChange::Note => sqlx::query("SELECT 1"),
            ModerationChange::Admin { user, admin: true } => sqlx::query(
                "INSERT INTO admins (user_id, since_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(user)
            .bind(audit.at_ms),
            ModerationChange::Admin { user, admin: false } => {
                sqlx::query("DELETE FROM admins WHERE user_id = ?").bind(user)
            }
            ModerationChange::Role {
                room,
                user,
                role: Some(role),
            } => sqlx::query(
                "INSERT INTO room_roles (room_id, user_id, role) VALUES (?, ?, ?)
                 ON CONFLICT DO UPDATE SET role = excluded.role",
            )
            .bind(room)
            .bind(user)
            .bind(role.as_str()),
            ModerationChange::Role {
                room,
                user,
                role: None,
            } => sqlx::query("DELETE FROM room_roles WHERE room_id = ? AND user_id = ?")
                .bind(room)
                .bind(user),
            ModerationChange::Sanction(s) => sqlx::query(
                "INSERT INTO sanctions (room_id, user_id, kind, until_ms, addr) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT DO UPDATE SET until_ms = excluded.until_ms, addr = excluded.addr",
            )
            .bind(s.room)
            .bind(&s.user)
            .bind(s.kind.as_str())
            .bind(s.until_ms)
            .bind(&s.addr),
            ModerationChange::Lift { room, user, kind } => sqlx::query(
                "DELETE FROM sanctions WHERE room_id = ? AND user_id = ? AND kind = ?",
            )
            .bind(room)
            .bind(user)
            .bind(kind.as_str()),
            ModerationChange::Rules { room, rules } => {
                sqlx::query("UPDATE rooms SET locked = ?, slow_s = ?, archived = ? WHERE id = ?")
                    .bind(rules.locked)
                    .bind(i64::from(rules.slow_s))
                    .bind(rules.archived)
                    .bind(room)
            }
            ModerationChange::Rename { room, title, topic } => {
                sqlx::query("UPDATE rooms SET title = ?, topic = ? WHERE id = ?")
                    .bind(title)
                    .bind(topic)
                    .bind(room)
            }
            ModerationChange::Removed { room, seq } => sqlx::query(
                "UPDATE reports SET resolved_ms = ? WHERE room_id = ? AND seq = ? AND resolved_ms IS NULL",
            )
            .bind(audit.at_ms)
            .bind(room)
            .bind(*seq as i64),
        };
        q.execute(&mut *tx).await.map_err(StoreError::new)?;
        // A ban from the whole server ends every session of the person: they are signed
        // out everywhere, and a guest's session is gone for good.
        if let ModerationChange::Sanction(s) = change {
            if s.room == SERVER_WIDE && s.kind == SanctionKind::Ban {
                sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                    .bind(&s.user)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::new)?;
            }
        }
        sqlx::query(
            "INSERT INTO audit (at_ms, actor, action, target, room, detail) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(audit.at_ms)
        .bind(&audit.actor)
        .bind(&audit.action)
        .bind(&audit.target)
        .bind(&audit.room)
        .bind(&audit.detail)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::new)?;
        let clock: i64 = sqlx::query("UPDATE moderation_clock SET v = v + 1 RETURNING v")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::new)?
            .get("v");
        tx.commit().await.map_err(StoreError::new)?;
        Ok(clock)
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at_ms, actor, action, target, room, detail FROM audit ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| AuditEntry {
                at_ms: row.get("at_ms"),
                actor: row.get("actor"),
                action: row.get("action"),
                target: row.get("target"),
                room: row.get("room"),
                detail: row.get("detail"),
            })
            .collect())
    }

    async fn report(&self, room: i64, seq: Seq, reporter: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO reports (room_id, seq, reporter, at_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(room)
        .bind(seq as i64)
        .bind(reporter)
        .bind(now_ms)
        .execute(&mut *self.writer().await)
        .await
        .map_err(StoreError::new)?;
        Ok(())
    }

    async fn open_reports(&self, limit: u32) -> StoreResult<Vec<ReportRecord>> {
        let rows = sqlx::query(
            "SELECT room_id, seq, COUNT(*) AS reporters, MIN(at_ms) AS at_ms
             FROM reports WHERE resolved_ms IS NULL
             GROUP BY room_id, seq ORDER BY at_ms LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| ReportRecord {
                room: row.get("room_id"),
                seq: row.get::<i64, _>("seq") as Seq,
                reporters: row.get::<i64, _>("reporters") as u32,
                at_ms: row.get("at_ms"),
            })
            .collect())
    }

    async fn messages_of(&self, user: &str) -> StoreResult<Vec<(i64, Seq)>> {
        // No index on the author: a scan, for a rare act (a million messages: under a
        // second), rather than an index every message would pay for.
        let rows = sqlx::query(
            "SELECT room_id, seq FROM messages WHERE author_id = ? AND state < 2 ORDER BY room_id, seq",
        )
        .bind(user)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("room_id"), row.get::<i64, _>("seq") as Seq))
            .collect())
    }

    async fn forget_person(&self, user: &str) -> StoreResult<()> {
        let mut writer = self.writer().await;
        let mut tx = writer.begin().await.map_err(StoreError::new)?;
        // Their messages were signed anew by events already (`Change::Disowned`); this
        // catches the deleted ones, which no event changes.
        for sql in [
            "UPDATE messages SET author = 'deleted user', author_id = NULL WHERE author_id = ?",
            "DELETE FROM sessions WHERE user_id = ?",
            "DELETE FROM push_subscriptions WHERE user_id = ?",
            "DELETE FROM readers WHERE user_id = ?",
            "DELETE FROM members WHERE user_id = ?",
            "DELETE FROM room_roles WHERE user_id = ?",
            "DELETE FROM admins WHERE user_id = ?",
            "DELETE FROM accounts WHERE user_id = ?",
        ] {
            sqlx::query(sql)
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::new)?;
        }
        sqlx::query("UPDATE moderation_clock SET v = v + 1")
            .execute(&mut *tx)
            .await
            .map_err(StoreError::new)?;
        tx.commit().await.map_err(StoreError::new)
    }

    async fn file_request(&self, request: &str, now_ms: i64) -> StoreResult<i64> {
        let row =
            sqlx::query("INSERT INTO admin_requests (at_ms, request) VALUES (?, ?) RETURNING id")
                .bind(now_ms)
                .bind(request)
                .fetch_one(&mut *self.writer().await)
                .await
                .map_err(StoreError::new)?;
        Ok(row.get("id"))
    }

    async fn pending_requests(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows =
            sqlx::query("SELECT id, request FROM admin_requests WHERE done_ms IS NULL ORDER BY id")
                .fetch_all(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("id"), row.get("request")))
            .collect())
    }

    async fn finish_request(&self, id: i64, outcome: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE admin_requests SET done_ms = ?, outcome = ? WHERE id = ?")
            .bind(now_ms)
            .bind(outcome)
            .bind(id)
            .execute(&mut *self.writer().await)
            .await
            .map_err(StoreError::new)?;
        Ok(())
    }

    async fn request_outcome(&self, id: i64) -> StoreResult<Option<String>> {
        let row =
            sqlx::query("SELECT outcome FROM admin_requests WHERE id = ? AND done_ms IS NOT NULL")
                .bind(id)
                .fetch_optional(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
        Ok(row.map(|row| row.get("outcome")))
    }
}
