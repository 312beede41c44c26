//! Storing messages: the one hot write path, on a thread of its own that commits every
//! room's batch waiting at that moment in one transaction (group commit).
//!
//! A commit is confirmed to senders only once it is durable (`Durability`): with
//! synchronous=FULL, SQLite fsyncs the WAL in every commit, which on this project's
//! machine took 4 ms (median; 16 ms p99, ext4 on a virtual disk). Run on the async
//! threads, as this writer was while commits took tens of microseconds (synchronous=
//! NORMAL), each fsync would stall a tokio worker — one of two — and every room would
//! commit, and fsync, in turn behind the writer lock. Here the thread blocks instead, and
//! what rooms queue while it waits goes out in the next transaction, so the cost is one
//! fsync per round, not per room or per message. The hand-off (a channel send and a
//! oneshot reply) is per batch, not per delivery.
//!
//! Measured with `natter-bench fanout` (release, 10 rooms x 50 clients, 3 runs each,
//! alternating, on the shared 2-core development machine): at 64,000 deliveries/s the
//! server spent 5.4, 4.5, 5.4 µs of CPU per delivery with FULL against 5.8, 3.2, 5.3
//! with NORMAL through this thread and 3.8, 3.6, 3.6 with the former inline NORMAL
//! commits; p99 12.5, 3.7, 10.0 ms (FULL) against 4.1, 2.5, 4.9 ms (NORMAL). At
//! 1,000,000/s asked nothing was lost and p99 stayed under 40 ms with either. At
//! 1,000/s the fsync shows: p50 1.5–2 ms with FULL against 0.7–0.8 ms.
//!
//! Why the thread: FULL with the former inline commits (each room committing, and
//! fsyncing, on an async thread, one room after another behind the writer lock) gave,
//! in 3 runs alternating with this writer: at 64,000/s p50 19–23 ms and p99 44–52 ms
//! (this writer: p50 1.9–3.0 ms, p99 11–15 ms); at 1,000,000/s asked p99 64–67 ms, over
//! the 50 ms target (this writer: 27–34 ms). The hand-off costs about 1 µs of CPU per
//! delivery at 64,000/s (4.3 µs inline, 5.3–5.7 µs here), within the 8 µs target.
//!
//! Each room's batch is a savepoint of the round's transaction: a batch holding a retried
//! send (a unique-index clash) is undone alone and stored again by the careful path,
//! without undoing the other rooms' batches.
//!
//! Changes of messages (`updates`) go through the same thread: they take seqs from the
//! same counter as the room's messages, so only one writer may hand them out.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use super::{Appended, Asker, Changed, Durability, NewMessage, NewUpdate, Newest};
use crate::protocol::{Change, ChatMessage, Seq, Update};

/// Batches committed in one transaction, at most: a round still ends within a few
/// milliseconds of SQLite's work however many rooms are busy.
const JOBS_PER_ROUND: usize = 64;

/// What one room's batch came to.
type Outcome = Result<Done, String>;

/// One room's batch: messages, or changes of messages.
enum Work {
    Messages(Vec<NewMessage>),
    Updates(Vec<NewUpdate>),
}

enum Done {
    Messages(Vec<Appended>),
    Updates(Vec<Changed>),
}

struct Job {
    room: i64,
    work: Work,
    reply: oneshot::Sender<Outcome>,
}

/// The way to the writing thread; it ends when this is dropped.
pub(super) struct MessageWriter {
    jobs: mpsc::Sender<Job>,
    /// Messages handed to the thread so far: the checkpointer copies the WAL sooner when
    /// they come fast.
    handed: Arc<AtomicU64>,
}

impl MessageWriter {
    /// Opens a writing connection to the database at `path`, which already exists with
    /// its schema, and starts its thread. The WAL is checkpointed elsewhere, and cut back
    /// to `wal_size_limit` bytes when it starts over. Each round takes `lock` (SQLite's
    /// one writer at a time, shared with the other writes) while it writes.
    pub fn open<T: Send + 'static>(
        path: &Path,
        wal_size_limit: u64,
        durability: Durability,
        lock: Weak<tokio::sync::Mutex<T>>,
    ) -> rusqlite::Result<Self> {
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.busy_timeout(Duration::from_secs(5))?;
        db.pragma_update(None, "synchronous", durability.pragma())?;
        // Read back: a confirmation means what `durability` says, or the server does not
        // start. (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.)
        let synchronous: i64 = db.pragma_query_value(None, "synchronous", |row| row.get(0))?;
        let wanted = match durability {
            Durability::Full => 2,
            Durability::Normal => 1,
        };
        if synchronous != wanted {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "synchronous is {synchronous}, not {wanted}"
            )));
        }
        db.pragma_update(None, "foreign_keys", true)?;
        db.pragma_update(None, "wal_autocheckpoint", 0)?;
        db.pragma_update(None, "journal_size_limit", wal_size_limit as i64)?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("natter-messages".into())
            .spawn(move || run(db, queue, lock, durability))
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        Ok(MessageWriter {
            jobs,
            handed: Arc::default(),
        })
    }

    /// Stores `batch` in `room`, in order, each with the next seq; resolves once that is
    /// committed. Messages the room already holds (retries, also within the batch) come
    /// back as they were stored.
    pub async fn append(&self, room: i64, batch: &[NewMessage]) -> Result<Vec<Appended>, String> {
        self.handed
            .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        match self.run(room, Work::Messages(batch.to_vec())).await? {
            Done::Messages(out) => Ok(out),
            Done::Updates(_) => Err("the message writer answered changes".to_owned()),
        }
    }

    /// Stores `batch` of changes in `room`, in order, each with the next seq, applying
    /// each to its message; resolves once that is committed.
    pub async fn change(&self, room: i64, batch: &[NewUpdate]) -> Result<Vec<Changed>, String> {
        match self.run(room, Work::Updates(batch.to_vec())).await? {
            Done::Updates(out) => Ok(out),
            Done::Messages(_) => Err("the message writer answered messages".to_owned()),
        }
    }

    /// The count of messages handed to the thread so far.
    pub fn handed(&self) -> Arc<AtomicU64> {
        self.handed.clone()
    }

    async fn run(&self, room: i64, work: Work) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let job = Job { room, work, reply };
        self.jobs
            .send(job)
            .map_err(|_| "the message writer has stopped".to_owned())?;
        answer
            .await
            .unwrap_or_else(|_| Err("the message writer has stopped".to_owned()))
    }
}

/// The writing thread: a round is whatever jobs are waiting, in one transaction.
fn run<T>(
    mut db: Connection,
    queue: mpsc::Receiver<Job>,
    lock: Weak<tokio::sync::Mutex<T>>,
    durability: Durability,
) {
    // Where each room written here stands, so an append need not ask SQLite first. Only
    // this connection stores messages and changes, so it stays right.
    let mut last_seqs: HashMap<i64, Newest> = HashMap::new();
    let mut round = Vec::with_capacity(JOBS_PER_ROUND);
    // Messages stored since the search index last caught up (unknown at start: check).
    let mut unindexed = 1usize;
    // The newest message in the search index: the ones after it are still to index.
    let mut indexed_upto: Option<i64> = None;
    let mut index = |db: &mut Connection| {
        let lock = lock.upgrade();
        let _writing = lock.as_ref().map(|lock| lock.blocking_lock());
        // The index is written without a sync of its own: the next commit of messages
        // syncs the WAL, index frames and all, and a power cut before that loses only
        // index rows, which the next start makes again (`index_for_search`). A sync per
        // index batch held every message behind it: fan-out at 1,000,000 deliveries/s
        // went from p99 19 to 28–35 ms with it.
        let unsynced = db
            .pragma_update(None, "synchronous", Durability::Normal.pragma())
            .and_then(|()| index_for_search(db, &mut indexed_upto));
        let synced = db.pragma_update(None, "synchronous", durability.pragma());
        if let Err(err) = unsynced.and(synced) {
            tracing::error!(%err, "indexing messages for search failed");
        }
    };
    loop {
        // Idle for a moment, or many messages behind: the index catches up.
        let first = if unindexed == 0 {
            queue.recv().map_err(|_| ())
        } else {
            match queue.recv_timeout(INDEX_WHEN_IDLE) {
                Ok(job) => Ok(job),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    index(&mut db);
                    unindexed = 0;
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(()),
            }
        };
        let Ok(first) = first else {
            index(&mut db);
            return;
        };
        round.push(first);
        while round.len() < JOBS_PER_ROUND {
            match queue.try_recv() {
                Ok(job) => round.push(job),
                Err(_) => break,
            }
        }
        let outcomes = {
            let lock = lock.upgrade();
            let _writing = lock.as_ref().map(|lock| lock.blocking_lock());
            let started = std::time::Instant::now();
            let outcomes = commit_round(&mut db, &mut last_seqs, &round);
            crate::server::metrics::counters::COMMIT_SECONDS.record(started.elapsed());
            outcomes
        };
        for (job, outcome) in round.drain(..).zip(outcomes) {
            if let (Work::Messages(batch), Ok(_)) = (&job.work, &outcome) {
                unindexed += batch.len();
            }
            let _ = job.reply.send(outcome);
        }
        if unindexed >= INDEX_BATCH {
            index(&mut db);
            unindexed = 0;
        }
    }
}

/// Messages are indexed for search after they are stored and sent, in batches: indexing
/// each in its sending transaction cost each commit about 30 µs (an FTS5 segment each),
/// which took fan-out at 1,000,000 deliveries/s from p99 19 ms to 35 ms and server CPU
/// at 64,000/s from 7.4 to 8.8 µs per delivery (natter-bench fanout, 2026-12-04). A
/// search finds a message once the writer has been idle this long, or once this many
/// messages wait.
const INDEX_WHEN_IDLE: Duration = Duration::from_millis(50);
const INDEX_BATCH: usize = 512;

/// Adds to the search index every message not in it yet (its text as it is now; a
/// deleted one never), in the order they were stored, a thousand per transaction. Each
/// message got its place (`search_id`, counting up) when it was stored, so this only
/// reads the messages after `upto` and writes the index: a crash loses nothing, and the
/// next start catches up from the newest row of the index.
fn index_for_search(db: &mut Connection, upto: &mut Option<i64>) -> rusqlite::Result<()> {
    let mut from = match *upto {
        Some(id) => id,
        None => db
            .prepare("SELECT rowid FROM search ORDER BY rowid DESC LIMIT 1")?
            .query_row([], |row| row.get(0))
            .optional()?
            .unwrap_or(0),
    };
    loop {
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows = tx
            .prepare_cached(
                "SELECT search_id, text, state FROM messages WHERE search_id > ?1
                 ORDER BY search_id LIMIT 1000",
            )?
            .query_map([from], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        {
            let mut words =
                tx.prepare_cached("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?;
            for (id, text, state) in &rows {
                if *state < i64::from(ChatMessage::DELETED) && !text.is_empty() {
                    words.execute((id, text))?;
                }
            }
        }
        tx.commit()?;
        if let Some((id, _, _)) = rows.last() {
            from = *id;
        }
        *upto = Some(from);
        if rows.len() < 1000 {
            return Ok(());
        }
    }
}

/// Stores every job's batch in one transaction; returns each one's outcome.
fn commit_round(
    db: &mut Connection,
    last_seqs: &mut HashMap<i64, Newest>,
    round: &[Job],
) -> Vec<Outcome> {
    let failed = |err: &rusqlite::Error| (0..round.len()).map(|_| Err(err.to_string())).collect();
    let mut tx = match db.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => return failed(&err),
    };
    let mut outcomes = Vec::with_capacity(round.len());
    let mut standing = Vec::with_capacity(round.len());
    for job in round {
        let cached = last_seqs.get(&job.room).copied();
        let result = tx.savepoint().and_then(|mut savepoint| {
            let stored = match &job.work {
                Work::Messages(batch) => append(&mut savepoint, job.room, cached, batch)
                    .map(|(out, last)| (Done::Messages(out), last)),
                Work::Updates(batch) => change(&savepoint, job.room, cached, batch)
                    .map(|(out, last)| (Done::Updates(out), last)),
            }?;
            savepoint.commit()?;
            Ok(stored)
        });
        match result {
            Ok((out, last)) => {
                outcomes.push(Ok(out));
                standing.push((job.room, last));
            }
            Err(err) => {
                // Nobody knows for sure what was stored: ask next time.
                last_seqs.remove(&job.room);
                outcomes.push(Err(err.to_string()));
            }
        }
    }
    match tx.commit() {
        Ok(()) => {
            last_seqs.extend(standing);
            outcomes
        }
        Err(err) => {
            for job in round {
                last_seqs.remove(&job.room);
            }
            failed(&err)
        }
    }
}

/// Stores `batch` in `room` within the savepoint `sp`; returns the outcomes and where
/// the room stands.
fn append(
    sp: &mut rusqlite::Savepoint<'_>,
    room: i64,
    cached_last: Option<Newest>,
    batch: &[NewMessage],
) -> rusqlite::Result<(Vec<Appended>, Newest)> {
    // Nearly always none of the batch is a retry: then it is stored as it comes. A retry
    // breaks the unique (room, cid) index; the savepoint is undone and the careful path
    // below sorts it out.
    let last = match cached_last {
        Some(last) => last,
        None => newest(sp, room)?,
    };
    let fresh: Vec<(&NewMessage, Newest)> = batch
        .iter()
        .zip(1..)
        .map(|(new, i)| {
            let at = Newest {
                seq: last.seq + i,
                n: last.n + i,
            };
            (new, at)
        })
        .collect();
    match insert(sp, room, &fresh) {
        Ok(()) => {
            let newest = fresh.last().map_or(last, |&(_, at)| at);
            let out = fresh.into_iter().map(|(_, at)| Appended::Stored(at));
            return Ok((out.collect(), newest));
        }
        Err(err) if is_unique_violation(&err) => sp.rollback()?,
        Err(err) => return Err(err),
    }
    append_with_retries(sp, room, batch)
}

/// Stores what is new in `batch`; returns the outcomes and where the room stands.
fn append_with_retries(
    tx: &Connection,
    room: i64,
    batch: &[NewMessage],
) -> rusqlite::Result<(Vec<Appended>, Newest)> {
    // Asked again rather than cached: this path also runs after surprises.
    let mut last = newest(tx, room)?;
    let mut known: HashMap<&str, ChatMessage> = HashMap::new();
    let mut out = Vec::with_capacity(batch.len());
    let mut fresh: Vec<(&NewMessage, Newest)> = Vec::with_capacity(batch.len());
    for new in batch {
        let stored = match known.get(new.cid.as_str()) {
            Some(msg) => Some(msg.clone()),
            None => stored_with_cid(tx, room, &new.cid)?,
        };
        if let Some(msg) = stored {
            out.push(Appended::Duplicate(msg.clone()));
            known.insert(new.cid.as_str(), msg);
            continue;
        }
        last = Newest {
            seq: last.seq + 1,
            n: last.n + 1,
        };
        let msg = ChatMessage {
            seq: last.seq,
            n: last.n,
            cid: new.cid.clone(),
            author: new.author.clone(),
            text: new.text.clone(),
            at_ms: new.at_ms,
            mentions: new.mentions.clone(),
            doc: new.doc.clone(),
            preview: None,
            file: new.file.clone(),
            reply: new.reply.clone(),
            ..ChatMessage::default()
        };
        known.insert(new.cid.as_str(), msg);
        fresh.push((new, last));
        out.push(Appended::Stored(last));
    }
    insert(tx, room, &fresh)?;
    Ok((out, last))
}

fn insert(tx: &Connection, room: i64, rows: &[(&NewMessage, Newest)]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (room_id, seq, n, cid, author, author_id, text, at_ms, mentions, doc, file, reply_to, search_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, CASE WHEN ?7 = '' THEN NULL ELSE (
             SELECT COALESCE(MAX(search_id), 0) + 1 FROM messages WHERE search_id IS NOT NULL) END)",
    )?;
    for &(new, at) in rows {
        let mentions = super::join_mentions(&new.mentions);
        insert.execute((
            room,
            at.seq as i64,
            at.n as i64,
            &new.cid,
            &new.author,
            &new.author_id,
            &new.text,
            new.at_ms,
            mentions,
            super::doc_to_column(&new.doc),
            super::file_to_column(&new.file),
            new.reply.as_ref().map(|r| r.seq as i64),
        ))?;
    }
    Ok(())
}

/// Stores the changes of `batch` that are new, each applied to its message; returns the
/// outcomes and where the room stands. Changes are rare next to messages: one by one.
fn change(
    tx: &Connection,
    room: i64,
    cached_last: Option<Newest>,
    batch: &[NewUpdate],
) -> rusqlite::Result<(Vec<Changed>, Newest)> {
    let mut last = match cached_last {
        Some(last) => last,
        None => newest(tx, room)?,
    };
    let mut out = Vec::with_capacity(batch.len());
    for new in batch {
        if let Some(done) = stored_update(tx, room, &new.cid)? {
            out.push(Changed::Duplicate(done));
            continue;
        }
        // A message as it is now: changed in place, so history needs no replay.
        let change = match apply(tx, room, new, last.seq + 1)? {
            Ok(change) => change,
            Err(refused) => {
                out.push(refused);
                continue;
            }
        };
        last.seq += 1;
        tx.prepare_cached(
            "INSERT INTO updates (room_id, seq, target, cid, change, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            room,
            last.seq as i64,
            new.target as i64,
            &new.cid,
            super::change_to_column(&change),
            new.at_ms,
        ))?;
        out.push(Changed::Stored(Update {
            seq: last.seq,
            target: new.target,
            cid: new.cid.clone(),
            change,
        }));
    }
    Ok((out, last))
}

/// Applies `new` to its message's row, as the change with seq `seq`: the change as
/// stored (a reaction with who reacts now), or why nothing changed.
fn apply(
    tx: &Connection,
    room: i64,
    new: &NewUpdate,
    seq: Seq,
) -> rusqlite::Result<Result<Change, Changed>> {
    let target = new.target as i64;
    let row = tx
        .prepare_cached(
            "SELECT author_id, state, file, reactions, search_id FROM messages
             WHERE room_id = ?1 AND seq = ?2",
        )?
        .query_row((room, target), |row| {
            Ok((
                row.get::<_, Option<String>>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    let Some((author, state, file, reactions, search_id)) = row else {
        return Ok(Err(Changed::NoTarget));
    };
    let own = |user: &str| author.as_deref() == Some(user);
    let allowed = state < i64::from(ChatMessage::DELETED)
        && match &new.by {
            Asker::Server | Asker::Member { .. } | Asker::Moderator(_) => true,
            Asker::Author(user) => own(user),
        };
    if !allowed {
        return Ok(Err(Changed::NoTarget));
    }
    let at = (room, target, seq as i64);
    let change = match (&new.change, &new.by) {
        (Change::Preview(card), _) => {
            let card = super::preview_to_column(Some(card));
            tx.prepare_cached(
                "UPDATE messages SET preview = ?4, rev = ?3 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((at.0, at.1, at.2, card))?;
            new.change.clone()
        }
        (Change::RemovePreview, _) => {
            tx.prepare_cached(
                "UPDATE messages SET preview = NULL, rev = ?3 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute(at)?;
            new.change.clone()
        }
        (Change::Edited { text, doc }, _) => {
            tx.prepare_cached(
                "UPDATE messages SET text = ?4, doc = ?5, state = ?6, rev = ?3
                 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((
                at.0,
                at.1,
                at.2,
                text,
                super::doc_to_column(doc),
                ChatMessage::EDITED,
            ))?;
            // Found by its new words, not its old ones. One not indexed yet will be, as it
            // is then; one that had no words (a file's empty caption) gets its place now.
            match search_id {
                Some(id) => {
                    tx.prepare_cached("UPDATE search SET text = ?2 WHERE rowid = ?1")?
                        .execute((id, text))?;
                }
                None => {
                    tx.prepare_cached(
                        "UPDATE messages SET search_id = (SELECT COALESCE(MAX(search_id), 0) + 1
                             FROM messages WHERE search_id IS NOT NULL)
                         WHERE room_id = ?1 AND seq = ?2",
                    )?
                    .execute((at.0, at.1))?;
                }
            }
            new.change.clone()
        }
        (Change::Deleted | Change::Removed, by) => {
            // A moderator's delete of someone else's message is a removal.
            let removed = match by {
                Asker::Moderator(user) => !own(user),
                _ => new.change == Change::Removed,
            };
            tx.prepare_cached(
                "UPDATE messages SET text = '', doc = NULL, preview = NULL, file = NULL,
                 mentions = '', reactions = NULL, pinned_at = NULL, state = ?4, rev = ?3
                 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((
                at.0,
                at.1,
                at.2,
                if removed {
                    ChatMessage::REMOVED
                } else {
                    ChatMessage::DELETED
                },
            ))?;
            if let Some(id) = search_id {
                tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
                    .execute([id])?;
            }
            tx.prepare_cached("DELETE FROM reactions WHERE room_id = ?1 AND target = ?2")?
                .execute((room, target))?;
            // Its file is no longer served to anyone (the bytes may be another upload's).
            if let Some(file) = super::file_from_column(file) {
                tx.prepare_cached("DELETE FROM files WHERE id = ?1")?
                    .execute([&file.id])?;
            }
            if removed {
                Change::Removed
            } else {
                Change::Deleted
            }
        }
        (Change::Reacted { emoji, .. }, Asker::Member { user, name }) => {
            let mut all = super::reactions_from_column(reactions);
            let took_back = tx
                .prepare_cached(
                    "DELETE FROM reactions WHERE room_id = ?1 AND target = ?2 AND emoji = ?3 AND user_id = ?4",
                )?
                .execute((room, target, emoji, user))?
                > 0;
            if !took_back {
                if all.len() >= super::MAX_REACTIONS
                    && !all.iter().any(|r| r.first() == Some(emoji))
                {
                    return Ok(Err(Changed::TooManyReactions));
                }
                tx.prepare_cached(
                    "INSERT INTO reactions (room_id, target, emoji, user_id, name, at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute((room, target, emoji, user, name, new.at_ms))?;
            }
            let names = tx
                .prepare_cached(
                    "SELECT name FROM reactions WHERE room_id = ?1 AND target = ?2 AND emoji = ?3
                     ORDER BY at_ms, rowid",
                )?
                .query_map((room, target, emoji), |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            crate::protocol::set_reaction(&mut all, emoji, &names);
            tx.prepare_cached(
                "UPDATE messages SET reactions = ?4, rev = ?3 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((at.0, at.1, at.2, super::reactions_to_column(&all)))?;
            Change::Reacted {
                emoji: emoji.clone(),
                names,
            }
        }
        (Change::Pinned(pinned), _) => {
            // Pinned again, it keeps its place among the pins.
            tx.prepare_cached(
                "UPDATE messages SET rev = ?3,
                 pinned_at = CASE WHEN ?4 THEN COALESCE(pinned_at, ?5) END
                 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((at.0, at.1, at.2, pinned, new.at_ms))?;
            new.change.clone()
        }
        (Change::Disowned, _) => {
            tx.prepare_cached(
                "UPDATE messages SET author = ?4, author_id = NULL, rev = ?3
                 WHERE room_id = ?1 AND seq = ?2",
            )?
            .execute((at.0, at.1, at.2, crate::protocol::DELETED_USER))?;
            Change::Disowned
        }
        // A reaction is only ever asked for by a member (`ws::connection`).
        (Change::Reacted { .. }, _) => return Ok(Err(Changed::NoTarget)),
    };
    Ok(Ok(change))
}

/// Where `room` stands: its newest seq of either kind, and its newest message number.
fn newest(tx: &Connection, room: i64) -> rusqlite::Result<Newest> {
    // Numbers grow with seqs: the newest message has both, found through the key.
    let (seq, n): (i64, i64) = tx
        .prepare_cached("SELECT seq, n FROM messages WHERE room_id = ?1 ORDER BY seq DESC LIMIT 1")?
        .query_row([room], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .unwrap_or((0, 0));
    let changed: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM updates WHERE room_id = ?1")?
        .query_row([room], |row| row.get(0))?;
    Ok(Newest {
        seq: seq.max(changed) as Seq,
        n: n as Seq,
    })
}

fn stored_update(tx: &Connection, room: i64, cid: &str) -> rusqlite::Result<Option<Update>> {
    let row = tx
        .prepare_cached("SELECT seq, target, change FROM updates WHERE room_id = ?1 AND cid = ?2")?
        .query_row((room, cid), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    Ok(row.and_then(|(seq, target, change)| {
        Some(Update {
            seq: seq as Seq,
            target: target as Seq,
            cid: cid.to_owned(),
            change: super::change_from_column(&change)?,
        })
    }))
}

fn stored_with_cid(tx: &Connection, room: i64, cid: &str) -> rusqlite::Result<Option<ChatMessage>> {
    tx.prepare_cached(
        "SELECT seq, n, cid, author, text, at_ms, mentions, doc, preview, file, state, rev, reactions
         FROM messages WHERE room_id = ?1 AND cid = ?2",
    )?
    .query_row((room, cid), |row| {
        Ok(ChatMessage {
            seq: row.get::<_, i64>(0)? as Seq,
            n: row.get::<_, i64>(1)? as Seq,
            cid: row.get(2)?,
            author: row.get(3)?,
            text: row.get(4)?,
            at_ms: row.get(5)?,
            mentions: super::split_mentions(&row.get::<_, String>(6)?),
            doc: super::doc_from_column(row.get(7)?),
            preview: super::preview_from_column(row.get(8)?),
            file: super::file_from_column(row.get(9)?),
            state: row.get::<_, i64>(10)? as u8,
            rev: row.get::<_, i64>(11)? as Seq,
            reactions: super::reactions_from_column(row.get(12)?),
            // A retry is only acknowledged: its cid and seq are what is read of it.
            ..ChatMessage::default()
        })
    })
    .optional()
}

/// A clash on the (room, cid) index, or on (room, seq) when the cached seq was stale.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error(),
        Some(e) if e.code == ErrorCode::ConstraintViolation
            && matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
    )
}
