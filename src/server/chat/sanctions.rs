//! Who may do what where, as the hub keeps it in memory: roles, mutes and bans, rooms'
//! rules (a copy of what [`ModerationStore`](crate::server::store::ModerationStore)
//! holds). Read on every send, by the socket's check and again by the room's writer
//! ([`WriteGate`]); changed only by `moderation`, after the store.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use super::room::{Room, WriteGate};
use crate::server::clock::now_ms;
use crate::server::store::moderation::{
    ModerationChange, ModerationRecord, RoomRole, RoomRules, SanctionKind, SERVER_WIDE,
};

/// What a person may do in a room, lowest first. One may act only on people below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Member,
    Moderator,
    Owner,
    Admin,
}

#[derive(Default)]
pub struct Moderation {
    state: RwLock<State>,
    /// When each person last posted in each room with slow mode, by (room id, user id):
    /// per person, so more tabs do not buy a faster pace.
    pub(super) last_post: Mutex<HashMap<(i64, String), Instant>>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) admins: HashSet<String>,
    pub(super) roles: HashMap<(i64, String), RoomRole>,
    /// (room id or [`SERVER_WIDE`], user id, kind) → until when (`None`: until lifted).
    pub(super) sanctions: HashMap<(i64, String, SanctionKind), Option<i64>>,
    /// Addresses of guests banned from the server → until when.
    pub(super) banned_addrs: HashMap<String, Option<i64>>,
    pub(super) rules: HashMap<i64, RoomRules>,
    /// Every room's title and topic now, by room id.
    pub(super) names: HashMap<i64, (String, String)>,
    pub(super) clock: i64,
}

impl State {
    pub(super) fn load(record: ModerationRecord) -> State {
        let mut state = State {
            admins: record.admins,
            roles: record.roles,
            rules: record.rules,
            names: record.names,
            clock: record.clock,
            ..State::default()
        };
        for s in record.sanctions {
            state.apply(&ModerationChange::Sanction(s));
        }
        state
    }

    fn rank(&self, user: &str, room: &Room) -> Rank {
        if self.admins.contains(user) {
            return Rank::Admin;
        }
        if room.is_owner(user) {
            return Rank::Owner;
        }
        match self.roles.get(&(room.record.id, user.to_owned())) {
            Some(RoomRole::Owner) => Rank::Owner,
            Some(RoomRole::Moderator) => Rank::Moderator,
            None => Rank::Member,
        }
    }

    /// The same change the store made, on the copy.
    pub(super) fn apply(&mut self, change: &ModerationChange) {
        match change {
            ModerationChange::Admin { user, admin: true } => {
                self.admins.insert(user.clone());
            }
            ModerationChange::Admin { user, admin: false } => {
                self.admins.remove(user);
            }
            ModerationChange::Role { room, user, role } => match role {
                Some(role) => {
                    self.roles.insert((*room, user.clone()), *role);
                }
                None => {
                    self.roles.remove(&(*room, user.clone()));
                }
            },
            ModerationChange::Sanction(s) => {
                self.sanctions
                    .insert((s.room, s.user.clone(), s.kind), s.until_ms);
                if let Some(addr) = &s.addr {
                    self.banned_addrs.insert(addr.clone(), s.until_ms);
                }
            }
            ModerationChange::Lift { room, user, kind } => {
                self.sanctions.remove(&(*room, user.clone(), *kind));
            }
            ModerationChange::Rules { room, rules } => {
                self.rules.insert(*room, *rules);
            }
            ModerationChange::Rename { room, title, topic } => {
                self.names.insert(*room, (title.clone(), topic.clone()));
            }
            ModerationChange::Removed { .. } | ModerationChange::Note => {}
        }
    }

    /// Until when `user` is under `kind` in `room` (or everywhere), if they are now:
    /// `Some(None)` until lifted.
    pub(super) fn under(
        &self,
        room: i64,
        user: &str,
        kind: SanctionKind,
        now: i64,
    ) -> Option<Option<i64>> {
        [room, SERVER_WIDE]
            .into_iter()
            .filter_map(|r| self.sanctions.get(&(r, user.to_owned(), kind)))
            .find(|until| until.is_none_or(|until| until > now))
            .copied()
    }
}

impl Moderation {
    pub fn load(record: ModerationRecord) -> Moderation {
        Moderation {
            state: RwLock::new(State::load(record)),
            last_post: Mutex::default(),
        }
    }

    /// What `user` may do in `room`.
    pub fn rank(&self, user: &str, room: &Room) -> Rank {
        self.read().rank(user, room)
    }

    /// Why `user` may not write in `room` now, if not: the room archived (for everyone),
    /// or (for all but its moderators) a ban, a mute, a lock. One read of the state; with
    /// nobody sanctioned and the room open (the usual case) no look-up by person at all.
    pub(super) fn refuses(&self, room: &Room, user: &str) -> Option<String> {
        let state = self.read();
        let id = room.record.id;
        let slug = room.slug();
        let rules = state.rules.get(&id).copied().unwrap_or_default();
        if rules.archived {
            return Some(format!("#{slug} is archived: it is read-only."));
        }
        if !rules.locked && state.sanctions.is_empty() {
            return None;
        }
        if state.rank(user, room) >= Rank::Moderator {
            return None;
        }
        let now = now_ms();
        if let Some(until) = state.under(id, user, SanctionKind::Ban, now) {
            return Some(format!(
                "You are banned from #{slug} {}.",
                remaining(until, now)
            ));
        }
        if let Some(until) = state.under(id, user, SanctionKind::Mute, now) {
            return Some(format!(
                "You are muted in #{slug} {}.",
                remaining(until, now)
            ));
        }
        rules
            .locked
            .then(|| format!("#{slug} is locked: only its moderators write in it."))
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl WriteGate for Moderation {
    fn refuses(&self, room: &Room, user: &str) -> Option<String> {
        Moderation::refuses(self, room, user)
    }
}

/// "until lifted" or "for 9 more minutes".
pub(super) fn remaining(until: Option<i64>, now: i64) -> String {
    match until {
        None => "until a moderator lifts it".to_owned(),
        Some(until) => {
            let minutes = ((until - now).max(0) + 59_999) / 60_000;
            format!(
                "for {minutes} more minute{}",
                if minutes == 1 { "" } else { "s" }
            )
        }
    }
}
