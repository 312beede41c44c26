//! [`Store`] on PostgreSQL: rooms, and reading a room's stream. Writing it is
//! [`super::messages`].

use sqlx::Row;

use super::super::{
    Appended, Changed, Created, MemberRecord, NewMessage, NewRoom, NewUpdate, Newest, RoomRecord,
    Store, StoreResult,
};
use super::columns::{MESSAGES, MESSAGE_COLUMNS};
use super::{failed, PgStore};
use crate::protocol::{ChatMessage, HistoryPage, RoomKind, Seq, Update};

pub(super) fn kind_str(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

pub(super) fn kind_from_str(kind: &str) -> RoomKind {
    match kind {
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => RoomKind::Public,
    }
}

/// A seq as a column holds it.
pub(super) fn col(seq: Seq) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn rooms(&self) -> StoreResult<Vec<RoomRecord>> {
        let rows = sqlx::query(
            "SELECT id, slug, title, topic, kind, owner, GREATEST(created_ms, COALESCE(
                 (SELECT at_ms FROM messages WHERE room_id = rooms.id ORDER BY seq DESC LIMIT 1),
                 0)) AS active_ms
             FROM rooms ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|row| RoomRecord {
                id: row.get("id"),
                slug: row.get("slug"),
                title: row.get("title"),
                topic: row.get("topic"),
                kind: kind_from_str(row.get("kind")),
                owner: row.get("owner"),
                active_ms: row.get("active_ms"),
            })
            .collect())
    }

    async fn create_room(&self, room: &NewRoom, now_ms: i64) -> StoreResult<Created<RoomRecord>> {
        let mut tx = self.pool.begin().await.map_err(failed)?;
        let inserted = sqlx::query(
            "INSERT INTO rooms (slug, title, topic, created_ms, kind, owner, people)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&room.slug)
        .bind(&room.title)
        .bind(&room.topic)
        .bind(now_ms)
        .bind(kind_str(room.kind))
        .bind(&room.owner)
        .bind(&room.people)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        let Some(row) = inserted else {
            return Ok(Created::Taken);
        };
        let id: i64 = row.get("id");
        for MemberRecord { user_id, name } in &room.members {
            sqlx::query(
                "INSERT INTO members (room_id, user_id, name, joined_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(user_id)
            .bind(name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        Ok(Created::Created(RoomRecord {
            id,
            slug: room.slug.clone(),
            title: room.title.clone(),
            topic: room.topic.clone(),
            kind: room.kind,
            owner: room.owner.clone(),
            active_ms: now_ms,
        }))
    }

    async fn append(&self, room: i64, batch: &[NewMessage]) -> StoreResult<Vec<Appended>> {
        super::messages::append(&self.pool, room, batch).await
    }

    async fn change(&self, room: i64, batch: &[NewUpdate]) -> StoreResult<Vec<Changed>> {
        super::messages::change(&self.pool, room, batch).await
    }

    async fn page_before(&self, room: i64, before: Seq, limit: u32) -> StoreResult<HistoryPage> {
        // One row more than asked tells whether older messages exist.
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} WHERE m.room_id = $1 AND m.seq < $2 \
             ORDER BY m.seq DESC LIMIT $3"
        ))
        .bind(room)
        .bind(col(before))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        let has_more = rows.len() > limit as usize;
        let mut messages: Vec<ChatMessage> = rows
            .iter()
            .take(limit as usize)
            .map(super::super::rows::message)
            .collect();
        messages.reverse();
        Ok(HistoryPage { messages, has_more })
    }

    async fn range(
        &self,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES}
             WHERE m.room_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4"
        ))
        .bind(room)
        .bind(col(after))
        .bind(col(upto))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows.iter().map(super::super::rows::message).collect())
    }

    async fn updates(
        &self,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Update>> {
        let rows = sqlx::query(
            "SELECT seq, target, cid, change FROM updates
             WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
        )
        .bind(room)
        .bind(col(after))
        .bind(col(upto))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                Some(Update {
                    seq: row.get::<i64, _>("seq") as Seq,
                    target: row.get::<i64, _>("target") as Seq,
                    cid: row.get("cid"),
                    change: super::super::change_from_column(row.get("change"))?,
                })
            })
            .collect())
    }

    async fn newest_of(&self, rooms: &[i64]) -> StoreResult<Vec<(i64, Newest)>> {
        let rows = sqlx::query("SELECT id, last_seq, last_n FROM rooms WHERE id = ANY($1)")
            .bind(rooms)
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|row| {
                let newest = Newest {
                    seq: row.get::<i64, _>("last_seq") as Seq,
                    n: row.get::<i64, _>("last_n") as Seq,
                };
                (row.get("id"), newest)
            })
            .collect())
    }

    async fn newest(&self, room: i64) -> StoreResult<Newest> {
        // The counters are the room's stream as committed: every seq up to `last_seq`
        // is stored, since it was taken in the transaction that stored it.
        let row = sqlx::query("SELECT last_seq, last_n FROM rooms WHERE id = $1")
            .bind(room)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        Ok(row.map_or(Newest::default(), |row| Newest {
            seq: row.get::<i64, _>("last_seq") as Seq,
            n: row.get::<i64, _>("last_n") as Seq,
        }))
    }
}
