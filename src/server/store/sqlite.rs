//! Embedded SQLite: the default store, nothing to install.
//!
//! SQLite allows one writer at a time, so writes go through one lock (they queue
//! in-process instead of failing with SQLITE_BUSY): messages through the thread in
//! [`super::sqlite_messages`], everything else through one sqlx connection. Reads use
//! their own connections ([`super::sqlite_readers`]) and, thanks to WAL mode, never wait
//! for the writer.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection};

use super::sqlite_messages::MessageWriter;
use super::sqlite_readers::Readers;
use super::{
    Appended, Changed, Created, Durability, NewMessage, NewRoom, NewUpdate, Newest, RoomRecord,
    Store, StoreError, StoreResult,
};
use crate::protocol::{ChatMessage, HistoryPage, RoomKind, Seq, Update};

pub struct SqliteStore {
    /// The writing connections, behind one lock: SQLite takes one writer at a time, and
    /// writes wait here, in order, instead of failing with SQLITE_BUSY.
    writers: Arc<WriterLock>,
    /// Messages: the hot path, on a thread of its own (which takes the writer lock).
    messages: MessageWriter,
    /// Reads, on connections of their own: in WAL mode they never wait for the writer.
    pub(super) reader: Readers,
}

/// Not a pool of one: a pool tests every connection given back with a round trip to
/// SQLite's thread, which the next writer would wait for.
struct Writers {
    /// Rooms and accounts: rare writes, through sqlx like every read.
    sqlx: SqliteConnection,
}

type WriterLock = tokio::sync::Mutex<Writers>;

/// Reading connections: each has a thread of its own, and the machine's cores are few.
const READERS: usize = 4;

/// A message's columns, read from [`MESSAGES`] (`m`, the message; `q`, the one it replies to).
const MESSAGE_COLUMNS: &str = "m.seq, m.n, m.cid, m.author, m.text, m.at_ms, m.mentions, m.doc, \
     m.preview, m.file, m.state, m.rev, m.reactions, m.pinned_at, \
     q.seq AS q_seq, q.author AS q_author, q.text AS q_text, q.state AS q_state";

/// Messages, each with the one it replies to, quoted as it is now.
const MESSAGES: &str =
    "messages AS m LEFT JOIN messages AS q ON q.room_id = m.room_id AND q.seq = m.reply_to";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to
    /// date; commits are [`Durability::Full`].
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::open_durable(path, Durability::Full).await
    }

    /// [`open`](Self::open), with commits as durable as `durability` says.
    pub async fn open_durable(path: &Path, durability: Durability) -> StoreResult<Self> {
        Self::open_with(path, CHECKPOINTS, durability).await
    }

    /// [`open_durable`](Self::open_durable), checkpointing as `checkpoints` says.
    async fn open_with(
        path: &Path,
        checkpoints: Checkpoints,
        durability: Durability,
    ) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::new)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(StoreError::new)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk (the WAL fsynced) before it counts as done. NORMAL
            // in WAL mode survives a killed process; only power loss can undo the newest
            // commits.
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // A checkpoint (copying the WAL into the database file, then an fsync) would run
        // inside whichever commit crossed the WAL's size threshold, and every room would
        // wait behind it; a connection of its own does it beside the writer instead.
        // After a burst the WAL is cut back to this size when it starts over.
        let writer_options = options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
        let mut writer = SqliteConnection::connect_with(&writer_options)
            .await
            .map_err(StoreError::new)?;
        sqlx::migrate!("./migrations")
            .run(&mut writer)
            .await
            .map_err(StoreError::new)?;
        let checkpointer = SqliteConnection::connect_with(&options)
            .await
            .map_err(StoreError::new)?;
        let writers = Arc::new(tokio::sync::Mutex::new(Writers { sqlx: writer }));
        let messages =
            MessageWriter::open(path, WAL_SIZE_LIMIT, durability, Arc::downgrade(&writers))
                .map_err(StoreError::new)?;
        tokio::spawn(checkpoint(
            checkpointer,
            Arc::downgrade(&writers),
            checkpoints,
            messages.handed(),
        ));
        let reader = Readers::open(&options, READERS).await?;
        Ok(SqliteStore {
            writers,
            messages,
            reader,
        })
    }
}

/// When the WAL is copied into the database file, and made to start over.
#[derive(Clone, Copy)]
struct Checkpoints {
    /// How often the checkpointer looks whether a copy is due.
    look_every: Duration,
    /// A copy is due once this many messages were handed to the writer since the last...
    after_messages: u64,
    /// ...or once this long has passed, whichever comes first.
    at_least_every: Duration,
}

impl Checkpoints {
    /// Whether a copy is due, `messages` and `elapsed` since the last.
    fn due(&self, messages: u64, elapsed: Duration) -> bool {
        messages >= self.after_messages || elapsed >= self.at_least_every
    }
}

/// Copied once a second, or sooner when busy: after 4,000 messages. Each copy ends with
/// a sync of the database file, and on this project's VM the WAL's syncs wait behind it.
/// Copying a second of fan-out at 1,000,000 deliveries/s (~17 MB) at once made the
/// writer's commits wait up to 10 ms each second (`perf sched timehist`): 3.3–5.6 % of
/// messages took over 10 ms in the server (`natter_send_seconds`), p99 22–30 ms. Copied
/// every 200 ms (4,000 messages at that rate): p99 12–18 ms. Every 200 ms whatever the
/// load cost the quiet rates instead (1,000/s: p99 2.1–2.9 → 5–6.5 ms), hence counted in
/// messages. natter-bench fanout, 2026-12-04.
const CHECKPOINTS: Checkpoints = Checkpoints {
    look_every: Duration::from_millis(100),
    after_messages: 4_000,
    at_least_every: Duration::from_secs(1),
};
/// Bytes of WAL kept on disk once it starts over: a steady 64,000 deliveries/s writes
/// about 18 MB between checkpoints, so only a burst beyond that is given back.
const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// Checkpoints the WAL when `checkpoints` says, in two steps. First beside the writer (PASSIVE:
/// nobody waits, and what readers still need stays for a later round), which copies
/// nearly everything. Then again holding the writer, for the few frames committed
/// meanwhile: only a checkpoint that has copied the whole WAL lets the next commit start
/// it over from the beginning, and a busy writer never gives the first step that chance —
/// without the second the WAL grew by about 17 MB/s under load, without bound.
/// Durability does not depend on any of this: a commit is safe once it is in the WAL.
/// Ends with the store.
async fn checkpoint(
    mut db: SqliteConnection,
    writer: Weak<WriterLock>,
    checkpoints: Checkpoints,
    handed: Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval(checkpoints.look_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut last_handed, mut last_at) = (handed.load(Ordering::Relaxed), Instant::now());
    loop {
        tick.tick().await;
        let now_handed = handed.load(Ordering::Relaxed);
        if !checkpoints.due(now_handed - last_handed, last_at.elapsed()) {
            continue;
        }
        (last_handed, last_at) = (now_handed, Instant::now());
        let result = match wal_checkpoint(&mut db).await {
            Ok(0) => Ok(0),
            Ok(_) => {
                let Some(writer) = writer.upgrade() else {
                    return;
                };
                let _writing = writer.lock().await;
                wal_checkpoint(&mut db).await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(%err, "checkpointing the database failed");
        }
    }
}

/// One PASSIVE checkpoint; returns the frames the WAL held.
async fn wal_checkpoint(db: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(db)
            .await?;
    Ok(frames)
}

fn kind_str(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

fn kind_from_str(kind: &str) -> RoomKind {
    match kind {
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => RoomKind::Public,
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn rooms(&self) -> StoreResult<Vec<RoomRecord>> {
        // The newest message's time through the primary key: one index probe a room.
        let rows = sqlx::query(
            "SELECT id, slug, title, topic, kind, owner, MAX(created_ms, COALESCE(
                 (SELECT at_ms FROM messages WHERE room_id = rooms.id ORDER BY seq DESC LIMIT 1),
                 0)) AS active_ms
             FROM rooms ORDER BY id",
        )
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
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
        let mut writer = self.writer().await;
        let mut tx = writer.begin().await.map_err(StoreError::new)?;
        let inserted = sqlx::query(
            "INSERT INTO rooms (slug, title, topic, created_ms, kind, owner, people)
             VALUES (?, ?, ?, ?, ?, ?, ?)
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
        .map_err(StoreError::new)?;
        let Some(row) = inserted else {
            return Ok(Created::Taken);
        };
        let id: i64 = row.get("id");
        for member in &room.members {
            sqlx::query(
                "INSERT INTO members (room_id, user_id, name, joined_ms) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&member.user_id)
            .bind(&member.name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::new)?;
        }
        tx.commit().await.map_err(StoreError::new)?;
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
        self.messages
            .append(room, batch)
            .await
            .map_err(StoreError::new)
    }

    async fn change(&self, room: i64, batch: &[NewUpdate]) -> StoreResult<Vec<Changed>> {
        self.messages
            .change(room, batch)
            .await
            .map_err(StoreError::new)
    }

    async fn page_before(&self, room: i64, before: Seq, limit: u32) -> StoreResult<HistoryPage> {
        // One row more than asked tells whether older messages exist.
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} WHERE m.room_id = ? AND m.seq < ? \
             ORDER BY m.seq DESC LIMIT ?"
        ))
        .bind(room)
        .bind(before.min(i64::MAX as u64) as i64)
        .bind(limit as i64 + 1)
        .fetch_all(&mut *self.reader.get().await?)
        .await
        .map_err(StoreError::new)?;
        let has_more = rows.len() > limit as usize;
        let mut messages: Vec<ChatMessage> = rows
            .iter()
            .take(limit as usize)
            .map(super::rows::message)
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
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} WHERE {MESSAGES_BETWEEN}");
        let rows = self.rows_between(&sql, room, after, upto, limit).await?;
        Ok(rows.iter().map(super::rows::message).collect())
    }

    async fn updates(
        &self,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Update>> {
        let sql = format!("SELECT seq, target, cid, change FROM updates WHERE {BETWEEN}");
        let rows = self.rows_between(&sql, room, after, upto, limit).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                Some(Update {
                    seq: row.get::<i64, _>("seq") as Seq,
                    target: row.get::<i64, _>("target") as Seq,
                    cid: row.get("cid"),
                    change: super::change_from_column(row.get("change"))?,
                })
            })
            .collect())
    }

    async fn newest(&self, room: i64) -> StoreResult<Newest> {
        // Numbers grow with seqs: the newest message has both, found through the key.
        let message =
            sqlx::query("SELECT seq, n FROM messages WHERE room_id = ? ORDER BY seq DESC LIMIT 1")
                .bind(room)
                .fetch_optional(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
        let (seq, n) = message.map_or((0, 0), |row| (row.get::<i64, _>("seq"), row.get("n")));
        let changed: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM updates WHERE room_id = ?")
                .bind(room)
                .fetch_one(&mut *self.reader.get().await?)
                .await
                .map_err(StoreError::new)?;
        Ok(Newest {
            seq: seq.max(changed) as Seq,
            n: n as Seq,
        })
    }
}

/// A range of a room's stream, in seq order: the room, after, up to, at most.
const BETWEEN: &str = "room_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?";
/// [`BETWEEN`] over [`MESSAGES`].
const MESSAGES_BETWEEN: &str = "m.room_id = ? AND m.seq > ? AND m.seq <= ? ORDER BY m.seq LIMIT ?";

impl SqliteStore {
    /// The rows `sql` (ending in [`BETWEEN`]) selects from a range of `room`'s stream.
    async fn rows_between(
        &self,
        sql: &str,
        room: i64,
        after: Seq,
        upto: Seq,
        limit: u32,
    ) -> StoreResult<Vec<sqlx::sqlite::SqliteRow>> {
        sqlx::query(sql)
            .bind(room)
            .bind(after.min(i64::MAX as u64) as i64)
            .bind(upto.min(i64::MAX as u64) as i64)
            .bind(limit as i64)
            .fetch_all(&mut *self.reader.get().await?)
            .await
            .map_err(StoreError::new)
    }

    /// The connection for rare writes, once every write before has finished.
    pub(super) async fn writer(&self) -> tokio::sync::MappedMutexGuard<'_, SqliteConnection> {
        tokio::sync::MutexGuard::map(self.writers.lock().await, |w| &mut w.sqlx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::stream::new;
    use super::*;

    async fn room_id(store: &SqliteStore, slug: &str) -> i64 {
        store
            .rooms()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.slug == slug)
            .unwrap()
            .id
    }

    /// The writer keeps where each room stands; reopened, it finds that from both
    /// tables (the stream tests themselves are in `store::tests`, on both stores).
    #[tokio::test]
    async fn a_reopened_store_goes_on_from_messages_and_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("changes.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let room = room_id(&store, "general").await;
        store.append(room, &[new("c-000001", "a")]).await.unwrap();
        let card = |title: &str| {
            crate::protocol::Change::Preview(Box::new(crate::protocol::Preview {
                title: title.into(),
                ..Default::default()
            }))
        };
        let update = |cid: &str, title: &str| NewUpdate {
            cid: cid.into(),
            target: 1,
            change: card(title),
            at_ms: 1,
            by: crate::server::store::Asker::Server,
        };
        store.change(room, &[update("p-1", "A")]).await.unwrap();
        drop(store);
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.newest(room).await.unwrap(), Newest { seq: 2, n: 1 });
        let after = store.change(room, &[update("p-2", "B")]).await.unwrap();
        assert!(matches!(&after[0], Changed::Stored(u) if u.seq == 3));
        let last = store.append(room, &[new("c-000002", "c")]).await.unwrap();
        assert_eq!(last, [Appended::Stored(Newest { seq: 4, n: 2 })]);
    }

    #[test]
    fn the_wal_is_copied_each_second_or_sooner_when_busy() {
        let c = CHECKPOINTS;
        let (quiet, busy) = (Duration::from_millis(300), Duration::from_millis(100));
        assert!(!c.due(20, quiet), "a quiet server waits for the second");
        assert!(c.due(20, Duration::from_secs(1)));
        assert!(c.due(4_000, busy), "a busy one does not");
    }

    #[tokio::test]
    async fn the_wal_starts_over_while_the_writer_never_pauses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let checkpoints = Checkpoints {
            look_every: Duration::from_millis(50),
            after_messages: u64::MAX,
            at_least_every: Duration::from_millis(50),
        };
        let store = SqliteStore::open_with(&path, checkpoints, Durability::Normal)
            .await
            .unwrap();
        let room = room_id(&store, "general").await;
        let started = std::time::Instant::now();
        let mut commits = 0;
        while started.elapsed() < Duration::from_secs(1) || commits < 500 {
            commits += 1;
            let cid = format!("busy-{commits:06}");
            store.append(room, &[new(&cid, "x")]).await.unwrap();
        }
        // The WAL header counts the times the WAL started over (its "checkpoint sequence
        // number", bytes 12..16): a checkpoint a busy writer never lets finish keeps it
        // at 0 while the file grows by every commit.
        let wal = std::fs::read(dir.path().join("busy.db-wal")).unwrap();
        let restarts = u32::from_be_bytes(wal[12..16].try_into().unwrap());
        assert!(
            restarts >= 3,
            "the WAL started over {restarts} times in {commits} commits; {} bytes",
            wal.len()
        );
    }

    #[tokio::test]
    async fn messages_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.db");
        {
            let store = SqliteStore::open(&path).await.unwrap();
            let room = room_id(&store, "music").await;
            store
                .append(room, &[new("persist-1", "<b>still here</b>")])
                .await
                .unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let room = room_id(&store, "music").await;
        let page = store.page_before(room, Seq::MAX, 50).await.unwrap();
        assert_eq!(page.messages.len(), 1);
        assert_eq!(page.messages[0].text, "<b>still here</b>");
        assert_eq!(store.rooms().await.unwrap().len(), 5, "migrations run once");
    }
}
