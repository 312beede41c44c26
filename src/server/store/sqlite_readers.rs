//! The SQLite store's reading connections: a few read-only sqlx connections, lent one
//! at a time.
//!
//! Not an `sqlx::Pool`: a pool pings every connection it is given back (sqlx 0.8, always),
//! a round trip to the connection's thread that wakes it and then the task again. A read
//! costs its query's round trip and no more here. On the 10,000-joins scenario (three
//! reads per arrival) hand-offs to the connections' threads were a quarter of the server's
//! CPU, mostly thread switches (perf); without the pool's pings the 10,000 joins took
//! 1.63–1.66 s against 2.31–2.44 s, 238 µs of server CPU per arrival against 345
//! (`natter-bench joins`, alternating runs, 2026-12-05).
//!
//! A connection to a local file has nothing to lose between uses, and a read dropped
//! half-way leaves nothing behind: the connection's thread finishes it before the next.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{StoreError, StoreResult};

pub(super) struct Readers {
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per idle connection: a read waits here when all are lent.
    available: Semaphore,
}

impl Readers {
    /// Opens `count` read-only connections with `options`.
    pub(super) async fn open(options: &SqliteConnectOptions, count: usize) -> StoreResult<Self> {
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            let options = options.clone().read_only(true);
            idle.push(
                SqliteConnection::connect_with(&options)
                    .await
                    .map_err(StoreError::new)?,
            );
        }
        Ok(Readers {
            idle: Mutex::new(idle),
            available: Semaphore::new(count),
        })
    }

    /// A connection to read with, for as long as the returned guard lives.
    pub(super) async fn get(&self) -> StoreResult<Reader<'_>> {
        let permit = self.available.acquire().await.map_err(StoreError::new)?;
        let conn = self.idle().pop().expect("a permit per idle connection");
        Ok(Reader {
            conn: Some(conn),
            readers: self,
            _permit: permit,
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // Pushing and popping cannot leave the list half-changed.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A lent connection; given back when dropped (before its permit, which is dropped after
/// it as the last field).
pub(super) struct Reader<'a> {
    conn: Option<SqliteConnection>,
    readers: &'a Readers,
    _permit: SemaphorePermit<'a>,
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("lent until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle().push(conn);
        }
    }
}
