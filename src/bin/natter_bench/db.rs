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
    for (r, slug) in slugs.iter().enumerate() {
        // SQLite makes the rows itself: no per-row round trip. In seq order, as the
        // server appends them, so the clustered table fills front to back. Indexed for
        // search too (below), as the server would have: it finds nothing left to index.
        sqlx::query(
            "INSERT INTO messages (room_id, seq, n, cid, author, text, at_ms, search_id)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             SELECT (SELECT id FROM rooms WHERE slug = ?1), i, i,
                    printf('%s-%010d', ?1, i), 'historian',
                    printf('message %010d of %s: %s', i, ?1, ?3),
                    1700000000000 + i * 1000, ?4 + i
             FROM n",
        )
        .bind(slug)
        .bind(per_room as i64)
        .bind("x".repeat(64))
        .bind(r as i64 * per_room as i64)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    }
    sqlx::query("INSERT INTO search (rowid, text) SELECT search_id, text FROM messages")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
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

/// The room of the search database.
pub const SEARCH_ROOM: &str = "search-000";

/// A database at `path` with one room of `messages` messages for the search scenario,
/// made once and kept. Each message is "message <n>" and six made-up words of 6 letters
/// (8,000 of them, so a word is in about 0.4 % of the messages); every tenth also says
/// "natter". The index is filled as the server fills it: a message's row is its order.
pub async fn with_search(path: &Path, messages: u64) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    let started = Instant::now();
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut db = open(&partial).await?;
    sqlx::raw_sql("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;")
        .execute(&mut db)
        .await
        .map_err(err)?;
    let mut tx = db.begin().await.map_err(err)?;
    insert_rooms(&mut tx, &[SEARCH_ROOM.to_owned()]).await?;
    // The words, as `search_word` makes them, then the messages picking six each.
    sqlx::raw_sql("CREATE TEMP TABLE words (k INTEGER PRIMARY KEY, w TEXT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    sqlx::query(
        "INSERT INTO words
         WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 7999)
         SELECT k, substr(?1, k % 20 * 2 + 1, 2) || substr(?1, k / 20 % 20 * 2 + 1, 2)
                   || substr(?1, k / 400 * 2 + 1, 2)
         FROM n",
    )
    .bind(SYLLABLES)
    .execute(&mut *tx)
    .await
    .map_err(err)?;
    sqlx::query(
        "INSERT INTO messages (room_id, seq, n, cid, author, text, at_ms, search_id)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         SELECT (SELECT id FROM rooms WHERE slug = ?1), i, i, printf('s-%010d', i), 'historian',
                printf('message %d', i)
                || ' ' || (SELECT w FROM words WHERE k = i * 7919 % 8000)
                || ' ' || (SELECT w FROM words WHERE k = (i * 104729 + 1) % 8000)
                || ' ' || (SELECT w FROM words WHERE k = (i * 1299709 + 2) % 8000)
                || ' ' || (SELECT w FROM words WHERE k = (i * 15485863 + 3) % 8000)
                || ' ' || (SELECT w FROM words WHERE k = (i * 32452843 + 4) % 8000)
                || ' ' || (SELECT w FROM words WHERE k = (i * 49979687 + 5) % 8000)
                || CASE WHEN i % 10 = 0 THEN ' natter' ELSE '' END,
                1700000000000 + i * 1000, i
         FROM n",
    )
    .bind(SEARCH_ROOM)
    .bind(messages as i64)
    .execute(&mut *tx)
    .await
    .map_err(err)?;
    sqlx::query("INSERT INTO search (rowid, text) SELECT search_id, text FROM messages")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    sqlx::raw_sql("PRAGMA journal_mode = WAL;")
        .execute(&mut db)
        .await
        .map_err(err)?;
    db.close().await.map_err(err)?;
    std::fs::rename(&partial, path).map_err(err)?;
    eprintln!(
        "  filled {} with {messages} searchable messages in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The made-up word number `k` (of 8,000), as [`with_search`] writes it.
pub fn search_word(k: u64) -> String {
    let k = k % 8_000;
    [k % 20, (k / 20) % 20, k / 400]
        .iter()
        .map(|&i| SYLLABLES[i as usize * 2..i as usize * 2 + 2].to_owned())
        .collect()
}

/// Twenty syllables of two letters.
const SYLLABLES: &str = "bakedifogahijokulamenopirasotuvawexiyoze";

/// A tag of the server's schema for the names of cached databases: a database made with
/// other migrations is made again, rather than refused by the server at start.
pub fn schema_tag() -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for migration in sqlx::migrate!("./migrations").iter() {
        for &byte in migration.checksum.iter() {
            hash = (hash ^ byte as u32).wrapping_mul(0x0100_0193);
        }
    }
    format!("{hash:08x}")
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
