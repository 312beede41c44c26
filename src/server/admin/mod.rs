//! `natter admin …`: what the people who run a server do from its shell, with the same
//! binary, beside (or instead of) the running server.
//!
//! - [`backup`]: a consistent copy of a running server's database.
//! - [`export`]: a room and its messages, as JSON.
//! - [`request`]: moderation, rooms and people, asked of the server (which carries them
//!   out through the same code as the page's moderators) and answered here.

pub mod backup;
pub mod export;
pub mod request;

use std::path::{Path, PathBuf};
use std::time::Duration;

use request::AdminRequest;

/// How long a command waits for the running server to carry out its request.
const PATIENCE: Duration = Duration::from_secs(5);

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
    /// Makes a registered person a server admin.
    Promote { name: String },
    /// Makes a server admin an ordinary person again.
    Demote { name: String },
    /// Bans a person from a room, or (without --room) from the whole server: their
    /// sockets close at once.
    Ban {
        name: String,
        #[arg(long)]
        room: Option<String>,
        /// How long: 30m, 2h, 1d, forever (the default).
        #[arg(long = "for", default_value = "forever")]
        duration: String,
    },
    /// Lifts a ban, from a room or (without --room) from the server.
    Unban {
        name: String,
        #[arg(long)]
        room: Option<String>,
    },
    /// Makes a person a moderator of a room (--revoke: no longer).
    Moderator {
        name: String,
        #[arg(long)]
        room: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Rooms: create, rename, archive.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Forgets a person: their account and everything of theirs. Their messages stay,
    /// signed "deleted user", unless --remove-messages.
    Purge {
        name: String,
        #[arg(long)]
        remove_messages: bool,
    },
    /// The newest lines of the audit log: who did what to whom, where, when.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Reported messages nobody acted on yet.
    Reports,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum RoomCommand {
    Create {
        title: String,
        #[arg(long, default_value = "")]
        topic: String,
    },
    Rename {
        room: String,
        title: String,
        #[arg(long)]
        topic: Option<String>,
    },
    /// Read-only for everyone, and listed no more (--undo: back).
    Archive {
        room: String,
        #[arg(long)]
        undo: bool,
    },
}

impl Admin {
    /// Runs the command against the database at `database`; what it did, for the person
    /// who asked.
    pub async fn run(&self, database: &Path) -> Result<String, String> {
        let postgres = database
            .to_str()
            .is_some_and(crate::server::store::postgres::is_url);
        let request = match self {
            Admin::Backup { .. } | Admin::Export { .. } if postgres => {
                return Err(
                    "backup and export read a SQLite file; on PostgreSQL, use pg_dump".into(),
                )
            }
            Admin::Backup { to } => {
                return backup::backup(database, to).map(|done| done.to_string())
            }
            Admin::Export { room } => return export::export(database, room),
            Admin::Audit { limit } => return audit(database, *limit).await,
            Admin::Reports => return reports(database).await,
            Admin::Promote { name } => command(None, format!("/admin @{name}")),
            Admin::Demote { name } => command(None, format!("/unadmin @{name}")),
            Admin::Ban {
                name,
                room,
                duration,
            } => command(
                room.clone(),
                match room {
                    Some(_) => format!("/ban @{name} {duration}"),
                    None => format!("/ban @{name} {duration} everywhere"),
                },
            ),
            Admin::Unban { name, room } => command(
                room.clone(),
                match room {
                    Some(_) => format!("/unban @{name}"),
                    None => format!("/unban @{name} everywhere"),
                },
            ),
            Admin::Moderator { name, room, revoke } => command(
                Some(room.clone()),
                format!("/{} @{name}", if *revoke { "unmod" } else { "mod" }),
            ),
            Admin::Room(RoomCommand::Create { title, topic }) => AdminRequest::CreateRoom {
                title: title.clone(),
                topic: topic.clone(),
            },
            Admin::Room(RoomCommand::Rename { room, title, topic }) => AdminRequest::RenameRoom {
                room: room.clone(),
                title: title.clone(),
                topic: topic.clone(),
            },
            Admin::Room(RoomCommand::Archive { room, undo }) => AdminRequest::ArchiveRoom {
                room: room.clone(),
                archived: !undo,
            },
            Admin::Purge {
                name,
                remove_messages,
            } => AdminRequest::Purge {
                name: name.clone(),
                remove_messages: *remove_messages,
            },
        };
        ask(database, &request).await
    }
}

fn command(room: Option<String>, line: String) -> AdminRequest {
    AdminRequest::Command { room, line }
}

/// The store `database` names: a SQLite file that must exist, or a PostgreSQL URL.
async fn open(database: &Path) -> Result<std::sync::Arc<dyn crate::server::store::Store>, String> {
    let url = database
        .to_str()
        .filter(|d| crate::server::store::postgres::is_url(d));
    if url.is_none() && !database.exists() {
        return Err(format!("there is no database at {}", database.display()));
    }
    crate::server::store::open(database, crate::server::store::Durability::Full)
        .await
        .map_err(|err| format!("cannot open the database: {err}"))
}

/// Files `request` and waits for the running server's outcome.
async fn ask(database: &Path, request: &AdminRequest) -> Result<String, String> {
    let store = open(database).await?;
    let json = serde_json::to_string(request).map_err(|err| err.to_string())?;
    let id = store
        .file_request(&json, crate::server::clock::now_ms())
        .await
        .map_err(|err| err.to_string())?;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if let Some(outcome) = store
            .request_outcome(id)
            .await
            .map_err(|err| err.to_string())?
        {
            return match outcome.strip_prefix("refused: ") {
                Some(why) => Err(why.to_owned()),
                None => Ok(outcome),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok("queued: no server answered; the next one to start carries it out".to_owned())
}

async fn audit(database: &Path, limit: u32) -> Result<String, String> {
    let lines = open(database)
        .await?
        .audit_log(limit)
        .await
        .map_err(|err| err.to_string())?;
    Ok(lines
        .iter()
        .map(|l| {
            let words: Vec<&str> = [l.actor.as_str(), &l.action, &l.target, &l.room, &l.detail]
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect();
            format!("{} {}", l.at_ms, words.join(" · "))
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

async fn reports(database: &Path) -> Result<String, String> {
    let store = open(database).await?;
    let rooms = store.rooms().await.map_err(|err| err.to_string())?;
    let open = store
        .open_reports(1000)
        .await
        .map_err(|err| err.to_string())?;
    Ok(open
        .iter()
        .map(|r| {
            let slug = rooms
                .iter()
                .find(|room| room.id == r.room)
                .map_or("?", |room| room.slug.as_str());
            format!("/r/{slug}/{} reported by {}", r.seq, r.reporters)
        })
        .collect::<Vec<_>>()
        .join("\n"))
}
