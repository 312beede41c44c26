//! Storing messages: the one hot write path, run on the calling thread.
//!
//! sqlx gives each SQLite connection a thread of its own and hands every statement across
//! to it. For the commit of one message that handoff (two thread wake-ups, and the async
//! runtime's waker) cost about as much as SQLite's own work. This connection is used
//! inline instead, under the store's writer lock: a commit of a few rows takes tens of
//! microseconds, too little to be worth leaving the async thread for.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use super::{Appended, NewMessage};
use crate::protocol::{ChatMessage, Seq};

pub(super) struct MessageWriter {
    db: Connection,
    /// The newest seq of each room written here, so an append need not ask SQLite
    /// first. Only this connection stores messages, so it stays right.
    last_seqs: HashMap<i64, i64>,
}

impl MessageWriter {
    /// Opens a writing connection to the database at `path`, which already exists with
    /// its schema; the WAL is checkpointed elsewhere, and cut back to `wal_size_limit`
    /// bytes when it starts over.
    pub fn open(path: &Path, wal_size_limit: u64) -> rusqlite::Result<Self> {
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.busy_timeout(Duration::from_secs(5))?;
        // NORMAL in WAL mode survives a killed process; only power loss can undo the
        // newest commits.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", true)?;
        db.pragma_update(None, "wal_autocheckpoint", 0)?;
        db.pragma_update(None, "journal_size_limit", wal_size_limit as i64)?;
        Ok(MessageWriter {
            db,
            last_seqs: HashMap::new(),
        })
    }

    /// Stores `batch` in `room`, in order, in one transaction, each with the next seq.
    /// Messages the room already holds (retries, also within the batch) come back as
    /// they were stored.
    pub fn append(&mut self, room: i64, batch: &[NewMessage]) -> rusqlite::Result<Vec<Appended>> {
        let cached = self.last_seqs.get(&room).copied();
        let result = append(&mut self.db, room, cached, batch);
        match &result {
            Ok((_, last)) => self.last_seqs.insert(room, *last),
            // After a failure nobody knows for sure what was committed: ask next time.
            Err(_) => self.last_seqs.remove(&room),
        };
        result.map(|(out, _)| out)
    }
}

/// [`MessageWriter::append`]; also returns the room's newest seq.
fn append(
    db: &mut Connection,
    room: i64,
    cached_last: Option<i64>,
    batch: &[NewMessage],
) -> rusqlite::Result<(Vec<Appended>, i64)> {
    // Nearly always none of the batch is a retry: then it is stored as it comes. A retry
    // breaks the unique (room, cid) index, which undoes the transaction; the careful
    // path below sorts it out.
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let last = match cached_last {
        Some(last) => last,
        None => max_seq(&tx, room)?,
    };
    let fresh: Vec<(&NewMessage, i64)> = batch.iter().zip(last + 1..).collect();
    match insert(&tx, room, &fresh) {
        Ok(()) => {
            tx.commit()?;
            let out = fresh.iter().map(|&(_, seq)| Appended::Stored(seq as Seq));
            return Ok((out.collect(), last + batch.len() as i64));
        }
        Err(err) if is_unique_violation(&err) => drop(tx),
        Err(err) => return Err(err),
    }
    append_with_retries(db, room, batch)
}

/// Stores what is new in `batch`; returns the outcomes and the room's newest seq.
fn append_with_retries(
    db: &mut Connection,
    room: i64,
    batch: &[NewMessage],
) -> rusqlite::Result<(Vec<Appended>, i64)> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Asked again rather than cached: this path also runs after surprises.
    let mut last = max_seq(&tx, room)?;
    let mut known: HashMap<&str, ChatMessage> = HashMap::new();
    let mut out = Vec::with_capacity(batch.len());
    let mut fresh: Vec<(&NewMessage, i64)> = Vec::with_capacity(batch.len());
    for new in batch {
        let stored = match known.get(new.cid.as_str()) {
            Some(msg) => Some(msg.clone()),
            None => stored_with_cid(&tx, room, &new.cid)?,
        };
        if let Some(msg) = stored {
            out.push(Appended::Duplicate(msg.clone()));
            known.insert(new.cid.as_str(), msg);
            continue;
        }
        last += 1;
        let msg = ChatMessage {
            seq: last as Seq,
            cid: new.cid.clone(),
            author: new.author.clone(),
            text: new.text.clone(),
            at_ms: new.at_ms,
        };
        known.insert(new.cid.as_str(), msg);
        fresh.push((new, last));
        out.push(Appended::Stored(last as Seq));
    }
    insert(&tx, room, &fresh)?;
    tx.commit()?;
    Ok((out, last))
}

fn insert(tx: &Transaction, room: i64, rows: &[(&NewMessage, i64)]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (room_id, seq, cid, author, text, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for &(new, seq) in rows {
        insert.execute((room, seq, &new.cid, &new.author, &new.text, new.at_ms))?;
    }
    Ok(())
}

fn max_seq(tx: &Transaction, room: i64) -> rusqlite::Result<i64> {
    tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room_id = ?1")?
        .query_row([room], |row| row.get(0))
}

fn stored_with_cid(
    tx: &Transaction,
    room: i64,
    cid: &str,
) -> rusqlite::Result<Option<ChatMessage>> {
    tx.prepare_cached(
        "SELECT seq, cid, author, text, at_ms FROM messages WHERE room_id = ?1 AND cid = ?2",
    )?
    .query_row((room, cid), |row| {
        Ok(ChatMessage {
            seq: row.get::<_, i64>(0)? as Seq,
            cid: row.get(1)?,
            author: row.get(2)?,
            text: row.get(3)?,
            at_ms: row.get(4)?,
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
