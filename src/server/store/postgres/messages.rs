//! Writing a room's stream on PostgreSQL: messages and changes of messages, each batch in
//! one transaction that first takes the room's counter row (`SELECT … FOR NO KEY
//! UPDATE`: it orders the room's writers without holding up the foreign-key checks of
//! rows that merely refer to the room, such as memberships).
//!
//! That lock is what makes several nodes safe: a room's writers, on any node, go one at
//! a time; each sees every send committed before it (so a retried send is found by its
//! client id, never stored twice) and takes the seqs right after the last committed
//! one. A transaction that aborts hands out nothing, so the stream has no gaps — unlike
//! a SEQUENCE, whose numbers an abort would lose, and a gap looks like a lost message.
//! PostgreSQL's group commit flushes the WAL once for the sessions committing together.
//!
//! Tried and not kept: a node's own group commit, one task storing every busy room's
//! batch in one transaction (one WAL flush a round, as SQLite's writer does). On
//! `natter-bench fanout --nodes 3`, alternating with this code on a quiet machine, it
//! gave p99 21–45 ms at 252,500/s (this code: 33–47), 49 ms at 275,000/s (33–75), but
//! 7–17 ms at 64,000/s (9–25) and once 35 ms at 1,000/s (3.3–4.5); WAL flushes per run
//! 4,655–5,737 (4,204–4,212) and µs per delivery 1.40–1.96 (1.43–1.96): no clear gain,
//! and it put every room of a node behind one transaction at a time.

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Row, Transaction};

use super::super::{
    Appended, Asker, Changed, NewMessage, NewUpdate, Newest, StoreError, StoreResult,
};
use super::columns::{MESSAGES, MESSAGE_COLUMNS};
use super::failed;
use crate::protocol::{Change, ChatMessage, Seq, Update};

type Tx = Transaction<'static, Postgres>;

/// Opens the transaction that writes `room`, holding its counter row; and where it stands.
async fn lock_room(pool: &PgPool, room: i64) -> StoreResult<(Tx, Newest)> {
    let mut tx = pool.begin().await.map_err(failed)?;
    let row = sqlx::query("SELECT last_seq, last_n FROM rooms WHERE id = $1 FOR NO KEY UPDATE")
        .bind(room)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?
        .ok_or_else(|| StoreError::new(format!("no room {room}")))?;
    let last = Newest {
        seq: row.get::<i64, _>("last_seq") as Seq,
        n: row.get::<i64, _>("last_n") as Seq,
    };
    Ok((tx, last))
}

/// Moves `room`'s counters to `last` and commits.
async fn commit(mut tx: Tx, room: i64, last: Newest) -> StoreResult<()> {
    sqlx::query("UPDATE rooms SET last_seq = $2, last_n = $3 WHERE id = $1")
        .bind(room)
        .bind(last.seq as i64)
        .bind(last.n as i64)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    tx.commit().await.map_err(failed)
}

/// [`super::super::Store::append`]: one call of `natter_append` (see
/// `migrations_pg/0012_append_function.sql`), which locks the room's counter row, stores
/// the batch's new client ids and moves the counters, in one round trip. A client id it
/// did not store is a retry: read back as stored (rare, so after the commit).
pub(super) async fn append(
    pool: &PgPool,
    room: i64,
    batch: &[NewMessage],
) -> StoreResult<Vec<Appended>> {
    let column = |f: fn(&NewMessage) -> Option<String>| -> Vec<Option<String>> {
        batch.iter().map(f).collect()
    };
    let at_ms: Vec<i64> = batch.iter().map(|new| new.at_ms).collect();
    let replies: Vec<Option<i64>> = batch
        .iter()
        .map(|new| new.reply.as_ref().map(|r| r.seq as i64))
        .collect();
    let mut stored: HashMap<String, Newest> = sqlx::query(
        "SELECT o_cid, o_seq, o_n FROM natter_append($1, $2::bigint[], $3::bigint[],
             $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
    )
    .bind(room)
    .bind(at_ms)
    .bind(replies)
    .bind(column(|m| Some(m.cid.clone())))
    .bind(column(|m| Some(m.author.clone())))
    .bind(column(|m| Some(m.author_id.clone())))
    .bind(column(|m| Some(m.text.clone())))
    .bind(column(|m| Some(super::super::join_mentions(&m.mentions))))
    .bind(column(|m| super::super::doc_to_column(&m.doc)))
    .bind(column(|m| super::super::file_to_column(&m.file)))
    .fetch_all(pool)
    .await
    .map_err(failed)?
    .iter()
    .map(|row| {
        let at = Newest {
            seq: row.get::<i64, _>("o_seq") as Seq,
            n: row.get::<i64, _>("o_n") as Seq,
        };
        (row.get("o_cid"), at)
    })
    .collect();
    // The first of a client id in the batch is the one stored; `None`, a retry.
    let mut out: Vec<Option<Appended>> = batch
        .iter()
        .map(|new| stored.remove(new.cid.as_str()).map(Appended::Stored))
        .collect();
    let retried: Vec<&str> = (out.iter().zip(batch))
        .filter(|(outcome, _)| outcome.is_none())
        .map(|(_, new)| new.cid.as_str())
        .collect();
    if !retried.is_empty() {
        let known: HashMap<String, ChatMessage> = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} WHERE m.room_id = $1 AND m.cid = ANY($2)"
        ))
        .bind(room)
        .bind(&retried)
        .fetch_all(pool)
        .await
        .map_err(failed)?
        .iter()
        .map(|row| (row.get("cid"), super::super::rows::message(row)))
        .collect();
        for (outcome, new) in out.iter_mut().zip(batch).filter(|(o, _)| o.is_none()) {
            let msg = known.get(new.cid.as_str()).ok_or_else(|| {
                StoreError::new(format!("client id {} neither new nor stored", new.cid))
            })?;
            *outcome = Some(Appended::Duplicate(msg.clone()));
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// [`super::super::Store::change`]: changes are rare next to messages, so one by one.
pub(super) async fn change(
    pool: &PgPool,
    room: i64,
    batch: &[NewUpdate],
) -> StoreResult<Vec<Changed>> {
    let (mut tx, mut last) = lock_room(pool, room).await?;
    let mut out = Vec::with_capacity(batch.len());
    for new in batch {
        if let Some(done) = stored_update(&mut tx, room, &new.cid).await? {
            out.push(Changed::Duplicate(done));
            continue;
        }
        // A message as it is now: changed in place, so history needs no replay.
        let change = match apply(&mut tx, room, new, last.seq + 1).await? {
            Ok(change) => change,
            Err(refused) => {
                out.push(refused);
                continue;
            }
        };
        last.seq += 1;
        sqlx::query(
            "INSERT INTO updates (room_id, seq, target, cid, change, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(room)
        .bind(last.seq as i64)
        .bind(new.target as i64)
        .bind(&new.cid)
        .bind(super::super::change_to_column(&change))
        .bind(new.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        out.push(Changed::Stored(Update {
            seq: last.seq,
            target: new.target,
            cid: new.cid.clone(),
            change,
        }));
    }
    commit(tx, room, last).await?;
    Ok(out)
}

async fn stored_update(tx: &mut Tx, room: i64, cid: &str) -> StoreResult<Option<Update>> {
    let row =
        sqlx::query("SELECT seq, target, change FROM updates WHERE room_id = $1 AND cid = $2")
            .bind(room)
            .bind(cid)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failed)?;
    Ok(row.and_then(|row| {
        Some(Update {
            seq: row.get::<i64, _>("seq") as Seq,
            target: row.get::<i64, _>("target") as Seq,
            cid: cid.to_owned(),
            change: super::super::change_from_column(row.get("change"))?,
        })
    }))
}

/// Runs one statement on the message `(room, target)` with the change's seq as `$3`,
/// and `extra` bound after it.
macro_rules! on_message {
    ($tx:expr, $sql:expr, $room:expr, $target:expr, $seq:expr $(, $extra:expr)*) => {
        sqlx::query($sql)
            .bind($room)
            .bind($target)
            .bind($seq)
            $(.bind($extra))*
            .execute(&mut **$tx)
            .await
            .map_err(failed)?
    };
}

/// Applies `new` to its message's row, as the change with seq `seq`: the change as
/// stored (a reaction with who reacts now), or why nothing changed.
async fn apply(
    tx: &mut Tx,
    room: i64,
    new: &NewUpdate,
    seq: Seq,
) -> StoreResult<Result<Change, Changed>> {
    let target = new.target as i64;
    let seq = seq as i64;
    let row = sqlx::query(
        "SELECT author_id, state, file, reactions FROM messages WHERE room_id = $1 AND seq = $2",
    )
    .bind(room)
    .bind(target)
    .fetch_optional(&mut **tx)
    .await
    .map_err(failed)?;
    let Some(row) = row else {
        return Ok(Err(Changed::NoTarget));
    };
    let author: Option<String> = row.get("author_id");
    let state: i64 = row.get("state");
    let own = |user: &str| author.as_deref() == Some(user);
    let allowed = state < i64::from(ChatMessage::DELETED)
        && match &new.by {
            Asker::Server | Asker::Member { .. } | Asker::Moderator(_) => true,
            Asker::Author(user) => own(user),
        };
    if !allowed {
        return Ok(Err(Changed::NoTarget));
    }
    let change = match (&new.change, &new.by) {
        (Change::Preview(card), _) => {
            let card = super::super::preview_to_column(Some(card));
            on_message!(
                tx,
                "UPDATE messages SET preview = $4, rev = $3 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                card
            );
            new.change.clone()
        }
        (Change::RemovePreview, _) => {
            on_message!(
                tx,
                "UPDATE messages SET preview = NULL, rev = $3 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq
            );
            new.change.clone()
        }
        (Change::Edited { text, doc }, _) => {
            // Its words for search follow its text (a generated column).
            on_message!(
                tx,
                "UPDATE messages SET text = $4, doc = $5, state = $6, rev = $3
                 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                text,
                super::super::doc_to_column(doc),
                i64::from(ChatMessage::EDITED)
            );
            new.change.clone()
        }
        (Change::Deleted | Change::Removed, by) => {
            // A moderator's delete of someone else's message is a removal.
            let removed = match by {
                Asker::Moderator(user) => !own(user),
                _ => new.change == Change::Removed,
            };
            let state = if removed {
                ChatMessage::REMOVED
            } else {
                ChatMessage::DELETED
            };
            on_message!(
                tx,
                "UPDATE messages SET text = '', doc = NULL, preview = NULL, file = NULL,
                 mentions = '', reactions = NULL, pinned_at = NULL, state = $4, rev = $3
                 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                i64::from(state)
            );
            sqlx::query("DELETE FROM reactions WHERE room_id = $1 AND target = $2")
                .bind(room)
                .bind(target)
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            // Its file is no longer served to anyone (the bytes may be another upload's).
            if let Some(file) = super::super::file_from_column(row.get("file")) {
                sqlx::query("DELETE FROM files WHERE id = $1")
                    .bind(&file.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(failed)?;
            }
            if removed {
                Change::Removed
            } else {
                Change::Deleted
            }
        }
        (Change::Reacted { emoji, .. }, Asker::Member { user, name }) => {
            let mut all = super::super::reactions_from_column(row.get("reactions"));
            let took_back = sqlx::query(
                "DELETE FROM reactions
                 WHERE room_id = $1 AND target = $2 AND emoji = $3 AND user_id = $4",
            )
            .bind(room)
            .bind(target)
            .bind(emoji)
            .bind(user)
            .execute(&mut **tx)
            .await
            .map_err(failed)?
            .rows_affected()
                > 0;
            if !took_back {
                if all.len() >= super::super::MAX_REACTIONS
                    && !all.iter().any(|r| r.first() == Some(emoji))
                {
                    return Ok(Err(Changed::TooManyReactions));
                }
                sqlx::query(
                    "INSERT INTO reactions (room_id, target, emoji, user_id, name, at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(room)
                .bind(target)
                .bind(emoji)
                .bind(user)
                .bind(name)
                .bind(new.at_ms)
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            }
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM reactions WHERE room_id = $1 AND target = $2 AND emoji = $3
                 ORDER BY at_ms, id",
            )
            .bind(room)
            .bind(target)
            .bind(emoji)
            .fetch_all(&mut **tx)
            .await
            .map_err(failed)?;
            crate::protocol::set_reaction(&mut all, emoji, &names);
            on_message!(
                tx,
                "UPDATE messages SET reactions = $4, rev = $3 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                super::super::reactions_to_column(&all)
            );
            Change::Reacted {
                emoji: emoji.clone(),
                names,
            }
        }
        (Change::Pinned(pinned), _) => {
            // Pinned again, it keeps its place among the pins.
            on_message!(
                tx,
                "UPDATE messages SET rev = $3,
                 pinned_at = CASE WHEN $4 THEN COALESCE(pinned_at, $5) END
                 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                *pinned,
                new.at_ms
            );
            new.change.clone()
        }
        (Change::Disowned, _) => {
            on_message!(
                tx,
                "UPDATE messages SET author = $4, author_id = NULL, rev = $3
                 WHERE room_id = $1 AND seq = $2",
                room,
                target,
                seq,
                crate::protocol::DELETED_USER
            );
            Change::Disowned
        }
        // A reaction is only ever asked for by a member (`ws::connection`).
        (Change::Reacted { .. }, _) => return Ok(Err(Changed::NoTarget)),
    };
    Ok(Ok(change))
}
