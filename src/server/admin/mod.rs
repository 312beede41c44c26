//! `natter admin …`: what the people who run a server do from its shell, with the same
//! binary, beside (or instead of) the running server.
//!
//! - [`backup`]: a consistent copy of a running server's database.
//! - [`export`]: a room and its messages, as JSON.

pub mod backup;
pub mod export;

use std::path::PathBuf;

/// `natter admin <command>`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Admin {
    /// Copies the database, consistently, while the server runs: every message confirmed
    /// before the copy began is in it. The copy is checked (`PRAGMA integrity_check`).
    Backup {
        /// Where to write the copy; must not exist yet.
        to: PathBuf,
    },
    /// Writes a room (its slug: `general`, `~1a2b…`) and all its messages, as they are
    /// now, to standard output as JSON.
    Export { room: String },
}

impl Admin {
    /// Runs the command against the database at `database`; what it did, for the person
    /// who asked.
    pub fn run(&self, database: &std::path::Path) -> Result<String, String> {
        match self {
            Admin::Backup { to } => backup::backup(database, to).map(|done| done.to_string()),
            Admin::Export { room } => export::export(database, room),
        }
    }
}
