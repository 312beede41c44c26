//! Databases for the scenarios, made before the server starts: the schema comes from the
//! server's own migrations (the server finds them applied), rows are written with plain SQL in one
//! transaction, which is far faster than sending them.

use std::path::Path;
use std::time::Instant;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// A fresh database at `path` with the rooms `slugs` (beside the built-in ones).
pub async fn with_rooms(path: &Path, slugs: &[String]) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let mut db = open(path).await?;
    let mut tx = db.begin().await.map_err(err)?;
    insert_rooms(&mut tx, slugs).await?;
    tx.commit().await.map_err(err)?;
    db.close().await.map_err(err)
}

/// A database at `path` with `rooms` rooms (`hist-000`, …) of `per_room` messages each,
/// made once and kept: later runs find it and skip the fill.
pub async fn with_history(path: &Path, rooms: usize, per_room: u64) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    let started = Instant::now();
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut db = open(&partial).await?;
    // Nothing here needs to survive a crash: the file is renamed into place when done.
    sqlx::raw_sql("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;")
        .execute(&mut db)
        .await
        .map_err(err)?;
    let slugs = history_rooms(rooms);
    let mut tx = db.begin().await.map_err(err)?;
    insert_rooms(&mut tx, &slugs).await?;
    for slug in &slugs {
        // SQLite makes the rows itself: no per-row round trip. In seq order, as the
        // server appends them, so the clustered table fills front to back.
        sqlx::query(
            "INSERT INTO messages (room_id, seq, n, cid, author, text, at_ms)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             SELECT (SELECT id FROM rooms WHERE slug = ?1), i, i,
                    printf('%s-%010d', ?1, i), 'historian',
                    printf('message %010d of %s: %s', i, ?1, ?3),
                    1700000000000 + i * 1000
             FROM n",
        )
        .bind(slug)
        .bind(per_room as i64)
        .bind("x".repeat(64))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    sqlx::raw_sql("PRAGMA journal_mode = WAL;")
        .execute(&mut db)
        .await
        .map_err(err)?;
    db.close().await.map_err(err)?;
    std::fs::rename(&partial, path).map_err(err)?;
    eprintln!(
        "  filled {} with {} messages in {:.1} s",
        path.display(),
        rooms as u64 * per_room,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn history_rooms(rooms: usize) -> Vec<String> {
    (0..rooms).map(|i| format!("hist-{i:03}")).collect()
}

/// Creates the file with the server's schema.
async fn open(path: &Path) -> Result<SqliteConnection, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut db = SqliteConnection::connect_with(&options)
        .await
        .map_err(err)?;
    sqlx::migrate!("./migrations")
        .run(&mut db)
        .await
        .map_err(err)?;
    Ok(db)
}

async fn insert_rooms(db: &mut SqliteConnection, slugs: &[String]) -> Result<(), String> {
    for slug in slugs {
        sqlx::query(
            "INSERT INTO rooms (slug, title, topic, created_ms) VALUES (?1, ?1, 'natter-bench', 0)",
        )
        .bind(slug)
        .execute(&mut *db)
        .await
        .map_err(err)?;
    }
    Ok(())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}
