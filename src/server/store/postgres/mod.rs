//! PostgreSQL: the store of several nodes (`--database postgres://…`), the same seam as
//! [`super::SqliteStore`] with the schema of `migrations_pg/` (one file for each of
//! `migrations/`, in PostgreSQL's dialect, and a 0012 of its own: the function that
//! appends a batch in one round trip).
//!
//! Every node writes at once, so nothing a node keeps in memory decides what is stored:
//! a room's seq comes from its counter row, taken in the transaction that stores the
//! event (see [`messages`]), and PostgreSQL's own locks order the writers.

mod accounts;
mod columns;
mod files;
mod messages;
mod moderation;
mod people;
mod previews;
mod push;
mod rooms;
mod search;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection;
use sqlx::PgPool;

use super::{Durability, StoreError, StoreResult};

pub struct PgStore {
    pub(super) pool: PgPool,
}

/// Connections one node keeps: writes are short transactions, and PostgreSQL commits
/// several sessions' transactions with one WAL flush when they arrive together.
const MAX_CONNECTIONS: u32 = 16;

/// How long a connection may sit in the pool before it is pinged before its next use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, durability: Durability) -> StoreResult<Self> {
        Self::open_with(url, durability, MAX_CONNECTIONS).await
    }

    pub(super) async fn open_with(
        url: &str,
        durability: Durability,
        connections: u32,
    ) -> StoreResult<Self> {
        let mut options: PgConnectOptions = url.parse().map_err(StoreError::new)?;
        // NORMAL: a commit is confirmed before its WAL record is flushed (a crash of the
        // database machine may lose the last moments; a killed node loses nothing).
        if durability == Durability::Normal {
            options = options.options([("synchronous_commit", "off")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            // sqlx pings a connection before each use by default: a round trip more for
            // every append. A busy connection is known to work; one idle for a while
            // (perhaps across a restart of PostgreSQL) is still tested first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::new)?;
        sqlx::migrate!("./migrations_pg")
            .run(&pool)
            .await
            .map_err(StoreError::new)?;
        Ok(PgStore { pool })
    }
}

/// Whether `database` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// `sqlx`'s error, as the seam's.
fn failed(err: sqlx::Error) -> StoreError {
    StoreError::new(err)
}
