//! A consistent copy of a live database: SQLite's `VACUUM INTO` reads the database in one
//! read transaction — a snapshot, which in WAL mode never waits for the server's writer
//! nor holds it up — and writes it, compacted, to a new file. The copy is then opened and
//! checked, so a backup that says "done" can be restored.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// What a backup wrote.
#[derive(Debug)]
pub struct Done {
    pub rooms: i64,
    pub messages: i64,
    pub bytes: u64,
    pub took: Duration,
    pub to: std::path::PathBuf,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Backed up {} messages in {} rooms to {} ({:.1} MB) in {} ms; integrity_check: ok",
            self.messages,
            self.rooms,
            self.to.display(),
            self.bytes as f64 / 1e6,
            self.took.as_millis()
        )
    }
}

/// Copies the database at `from` to the new file `to`, and checks the copy.
pub fn backup(from: &Path, to: &Path) -> Result<Done, String> {
    let started = Instant::now();
    if to.exists() {
        return Err(format!(
            "{} exists already; a backup never overwrites a file.",
            to.display()
        ));
    }
    // Read-only and never created: a mistyped path must not make an empty database.
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| format!("cannot open the database {}: {err}", from.display()))?;
    source
        .busy_timeout(Duration::from_secs(10))
        .map_err(|err| err.to_string())?;
    let target = to
        .to_str()
        .ok_or_else(|| format!("{} is not a path SQLite can take", to.display()))?;
    source
        .execute("VACUUM INTO ?1", [target])
        .map_err(|err| format!("cannot write the backup to {}: {err}", to.display()))?;
    drop(source);
    let copy = Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| format!("cannot open the backup {}: {err}", to.display()))?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|err| err.to_string())?;
    if check != "ok" {
        return Err(format!("the backup {} is damaged: {check}", to.display()));
    }
    let count = |table: &str| -> Result<i64, String> {
        copy.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .map_err(|err| err.to_string())
    };
    Ok(Done {
        rooms: count("rooms")?,
        messages: count("messages")?,
        bytes: std::fs::metadata(to).map(|m| m.len()).unwrap_or(0),
        took: started.elapsed(),
        to: to.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_backup_is_a_checked_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let store = crate::server::store::SqliteStore::open(&db).await.unwrap();
        drop(store);
        let to = dir.path().join("copy.db");
        let done = backup(&db, &to).unwrap();
        assert_eq!((done.rooms, done.messages), (5, 0));
        assert!(done.to_string().contains("integrity_check: ok"), "{done}");
        let again = backup(&db, &to).unwrap_err();
        assert!(again.contains("exists already"), "{again}");
        let nowhere = backup(&db, &dir.path().join("no/such/dir/copy.db")).unwrap_err();
        assert!(nowhere.starts_with("cannot write the backup"), "{nowhere}");
        let missing = backup(&dir.path().join("missing.db"), &dir.path().join("x.db"));
        assert!(missing.unwrap_err().starts_with("cannot open the database"));
        assert!(!dir.path().join("missing.db").exists(), "nothing made up");
    }
}
