//! The storage seam for moderation: roles, mutes and bans, rooms' rules, reports and the
//! audit log. Small and rare writes; the hub keeps a copy in memory
//! ([`ModerationRecord`]) and reads it on every send.

use std::collections::{HashMap, HashSet};

use super::StoreResult;
use crate::protocol::Seq;

/// A person's role in one room (a server admin's is above both, everywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoomRole {
    Moderator,
    /// Made the room (a private room's owner is `RoomRecord::owner` as well).
    Owner,
}

impl RoomRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomRole::Moderator => "moderator",
            RoomRole::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<RoomRole> {
        match s {
            "moderator" => Some(RoomRole::Moderator),
            "owner" => Some(RoomRole::Owner),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SanctionKind {
    /// May read, not write.
    Mute,
    /// May not even read (a kick is a ban of ten minutes).
    Ban,
}

impl SanctionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SanctionKind::Mute => "mute",
            SanctionKind::Ban => "ban",
        }
    }

    pub fn parse(s: &str) -> Option<SanctionKind> {
        match s {
            "mute" => Some(SanctionKind::Mute),
            "ban" => Some(SanctionKind::Ban),
            _ => None,
        }
    }
}

/// The room id of a sanction on the whole server.
pub const SERVER_WIDE: i64 = 0;

/// A mute or ban of `user` in `room` ([`SERVER_WIDE`]: everywhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanctionRecord {
    pub room: i64,
    pub user: String,
    pub kind: SanctionKind,
    /// Until when, ms since the epoch; `None`: until lifted.
    pub until_ms: Option<i64>,
    /// A banned guest's address: a new guest session from it is banned too.
    pub addr: Option<String>,
}

/// A room's rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomRules {
    /// Read-only, but for its moderators.
    pub locked: bool,
    /// At most one message per this many seconds per person (0: any pace).
    pub slow_s: u32,
    /// Read-only for everyone, and left out of room lists.
    pub archived: bool,
}

/// Everything moderation keeps, as loaded at start (and again whenever
/// [`ModerationStore::moderation_clock`] moves).
#[derive(Clone, Debug, Default)]
pub struct ModerationRecord {
    pub admins: HashSet<String>,
    pub roles: HashMap<(i64, String), RoomRole>,
    pub sanctions: Vec<SanctionRecord>,
    pub rules: HashMap<i64, RoomRules>,
    /// Every room's title and topic as they are now (a room renamed since start).
    pub names: HashMap<i64, (String, String)>,
    pub clock: i64,
}

/// One change of what moderation keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModerationChange {
    Admin {
        user: String,
        admin: bool,
    },
    Role {
        room: i64,
        user: String,
        role: Option<RoomRole>,
    },
    /// Sets the sanction (replacing one of the same kind, room and person). A server-wide
    /// ban also ends the person's sessions.
    Sanction(SanctionRecord),
    Lift {
        room: i64,
        user: String,
        kind: SanctionKind,
    },
    Rules {
        room: i64,
        rules: RoomRules,
    },
    /// A room's new title and topic.
    Rename {
        room: i64,
        title: String,
        topic: String,
    },
    /// Nothing changes but the audit log (an act recorded elsewhere: a purge).
    Note,
    /// A message was removed: its reports are resolved.
    Removed {
        room: i64,
        seq: Seq,
    },
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Who acted: a name, or `natter admin` for the command line.
    pub actor: String,
    /// What they did: `ban`, `mute`, `lock`, …
    pub action: String,
    /// To whom (a name), if anyone.
    pub target: String,
    /// Where (a room's slug), if anywhere.
    pub room: String,
    /// How long, why, what message.
    pub detail: String,
}

/// A reported message waiting for an admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    pub room: i64,
    pub seq: Seq,
    /// How many people reported it; when the first did.
    pub reporters: u32,
    pub at_ms: i64,
}

#[async_trait::async_trait]
pub trait ModerationStore: Send + Sync + 'static {
    async fn moderation(&self) -> StoreResult<ModerationRecord>;

    /// Moves on every change: a reader that saw it move loads [`Self::moderation`] again.
    async fn moderation_clock(&self) -> StoreResult<i64>;

    /// Stores `change` with its audit line, in one transaction; the new clock.
    async fn moderate(&self, change: &ModerationChange, audit: &AuditEntry) -> StoreResult<i64>;

    /// The newest `limit` lines of the audit log, newest first.
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;

    /// Files a report of message `seq` of `room` by `reporter`, once: a second one of
    /// the same person changes nothing.
    async fn report(&self, room: i64, seq: Seq, reporter: &str, now_ms: i64) -> StoreResult<()>;

    /// Reports nobody acted on yet, one per message, oldest first.
    async fn open_reports(&self, limit: u32) -> StoreResult<Vec<ReportRecord>>;

    /// Every message `user` wrote that is still there, as (room id, seq).
    async fn messages_of(&self, user: &str) -> StoreResult<Vec<(i64, Seq)>>;

    /// Forgets `user`: their account, sessions, push subscriptions, read marks,
    /// memberships and roles. Their messages stay, signed "deleted user".
    async fn forget_person(&self, user: &str) -> StoreResult<()>;

    /// Files a request of `natter admin` (JSON); its id.
    async fn file_request(&self, request: &str, now_ms: i64) -> StoreResult<i64>;

    /// Requests not carried out yet, oldest first, as (id, JSON).
    async fn pending_requests(&self) -> StoreResult<Vec<(i64, String)>>;

    async fn finish_request(&self, id: i64, outcome: &str, now_ms: i64) -> StoreResult<()>;

    /// What became of request `id`, once carried out.
    async fn request_outcome(&self, id: i64) -> StoreResult<Option<String>>;
}
