//! What `natter admin` asks of the server: filed in the database as JSON, carried out by
//! the running server (or the next one to start) through the same code as the page's
//! moderators (`server::chat::operator`), its outcome written back for the command to
//! print. So a ban from the shell cuts the person's sockets at once, and the server
//! stays the only writer of every room's events.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRequest {
    /// A moderator's command (`/ban @bo 1d`), in `room`, or server-wide when it names
    /// none (`/admin @ana`, `/ban @bo everywhere`).
    Command {
        room: Option<String>,
        line: String,
    },
    CreateRoom {
        title: String,
        topic: String,
    },
    RenameRoom {
        room: String,
        title: String,
        topic: Option<String>,
    },
    ArchiveRoom {
        room: String,
        archived: bool,
    },
    /// Forgets a person: account, sessions, everything of theirs; their messages removed
    /// or kept, signed "deleted user".
    Purge {
        name: String,
        remove_messages: bool,
    },
}
