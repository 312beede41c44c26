//! Who may moderate where, and what mutes, bans, locks and slow mode stop. The hub keeps
//! a copy of what [`ModerationStore`] holds and consults it on every send and join; each
//! action is stored (with its audit line) before it takes effect. `natter admin` writes
//! the same tables beside a running server, which notices by the moderation clock.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::commands::{spoken, Command, KICK_MS};
use super::hub::Hub;
use super::room::Room;
use super::sanctions::{remaining, Rank, State};
use crate::protocol::{AppError, ChatMessage, ErrorCode, RoomKind, SearchHit, Seq, ServerEvent};
use crate::server::clock::now_ms;
use crate::server::store::moderation::{
    AuditEntry, ModerationChange, RoomRole, RoomRules, SanctionKind, SanctionRecord, SERVER_WIDE,
};
use crate::server::ws::send_queue::CloseReason;

/// How often a running server looks whether `natter admin` changed something.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The sockets of a person banned from the server.
pub const BANNED: CloseReason = CloseReason {
    code: 4003,
    reason: "banned from this server",
};

/// Who acts: a person on a socket, or the command line.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: String,
    pub name: String,
    /// The command line (`natter admin`): above every role, in every room.
    pub operator: bool,
}

impl Hub {
    pub fn has_admin(&self) -> bool {
        !self.moderation.read().admins.is_empty()
    }

    pub fn is_admin(&self, user: &str) -> bool {
        self.moderation.read().admins.contains(user)
    }

    /// What `user` may do in `room`.
    pub fn rank(&self, user: &str, room: &Room) -> Rank {
        self.moderation.rank(user, room)
    }

    /// The room's title and topic now (renamed by `natter admin` since it started).
    pub fn names_of(&self, room: &Room) -> (String, String) {
        self.moderation
            .read()
            .names
            .get(&room.record.id)
            .cloned()
            .unwrap_or_else(|| (room.record.title.clone(), room.record.topic.clone()))
    }

    pub fn rules(&self, room: &Room) -> RoomRules {
        self.moderation
            .read()
            .rules
            .get(&room.record.id)
            .copied()
            .unwrap_or_default()
    }

    /// Whether `user` may write in `room` now: refused when muted or banned, when the room
    /// is locked, or (a `message`, not a change) sooner than slow mode allows. Moderators
    /// are held by none of these.
    pub fn check_write(
        &self,
        user: &str,
        room: &Room,
        message: bool,
    ) -> Result<(), (ErrorCode, String)> {
        if let Some(why) = self.moderation.refuses(room, user) {
            return Err((ErrorCode::NotAllowed, why));
        }
        let rules = self.rules(room);
        if message && rules.slow_s > 0 && self.rank(user, room) < Rank::Moderator {
            let pace = Duration::from_secs(rules.slow_s.into());
            let mut last = self
                .moderation
                .last_post
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let at = Instant::now();
            let key = (room.record.id, user.to_owned());
            if let Some(wait) = last.get(&key).map(|t| pace.saturating_sub(at - *t)) {
                if !wait.is_zero() {
                    return Err((
                        ErrorCode::RateLimited,
                        format!("Slow mode: wait {} s.", wait.as_secs().max(1)),
                    ));
                }
            }
            last.insert(key, at);
        }
        Ok(())
    }

    /// Refuses `user` a room they are banned from (or the whole server).
    pub fn check_read(&self, user: &str, room: &Room) -> Result<(), AppError> {
        let now = now_ms();
        let state = self.moderation.read();
        match state.under(room.record.id, user, SanctionKind::Ban, now) {
            Some(until) => Err(AppError::Invalid(format!(
                "You are banned from #{} {}.",
                room.slug(),
                remaining(until, now)
            ))),
            None => Ok(()),
        }
    }

    /// Refuses a person banned from the server: by their user id, and a guest also by
    /// address.
    pub fn check_visitor(&self, user: &str, addr: IpAddr, guest: bool) -> Result<(), AppError> {
        let now = now_ms();
        let state = self.moderation.read();
        let live = |until: &Option<i64>| until.is_none_or(|until| until > now);
        let by_user = state
            .sanctions
            .get(&(SERVER_WIDE, user.to_owned(), SanctionKind::Ban))
            .is_some_and(live);
        let by_addr = guest && state.banned_addrs.get(&addr.to_string()).is_some_and(live);
        if by_user || by_addr {
            return Err(AppError::Invalid("You are banned from this server.".into()));
        }
        Ok(())
    }

    /// Carries out a moderator's `command` typed in `room`: checked, stored with its audit
    /// line, in effect. The room's notice of it, as markdown.
    pub async fn command(
        &self,
        actor: &Actor,
        room: &Arc<Room>,
        command: Command,
    ) -> Result<String, String> {
        let rank = if actor.operator {
            Rank::Admin
        } else {
            self.rank(&actor.user, room)
        };
        let id = room.record.id;
        let slug = room.slug().to_owned();
        let need = |at_least: Rank, what: &str| {
            if rank >= at_least {
                Ok(())
            } else {
                Err(format!("Only {what} may do that."))
            }
        };
        let now = now_ms();
        let until = |for_ms: Option<i64>| for_ms.map(|ms| now + ms);
        let (change, action, target, detail, notice) = match command {
            Command::Lock(locked) => {
                need(Rank::Moderator, "the room's moderators")?;
                let rules = RoomRules {
                    locked,
                    ..self.rules(room)
                };
                let what = if locked { "locked" } else { "unlocked" };
                let notice = if locked {
                    "locked the room: only its moderators write in it now".to_owned()
                } else {
                    "unlocked the room".to_owned()
                };
                (
                    ModerationChange::Rules { room: id, rules },
                    what,
                    None,
                    String::new(),
                    notice,
                )
            }
            Command::Slow(slow_s) => {
                need(Rank::Moderator, "the room's moderators")?;
                let rules = RoomRules {
                    slow_s,
                    ..self.rules(room)
                };
                let notice = if slow_s == 0 {
                    "ended slow mode".to_owned()
                } else {
                    format!("set slow mode: one message every {slow_s} s per person")
                };
                let change = ModerationChange::Rules { room: id, rules };
                (change, "slow mode", None, format!("{slow_s} s"), notice)
            }
            Command::Mute { name, for_ms } => {
                let who = self.subject(actor, room, rank, &name)?;
                need(Rank::Moderator, "the room's moderators")?;
                let sanction = SanctionRecord {
                    room: id,
                    user: who.user.clone(),
                    kind: SanctionKind::Mute,
                    until_ms: until(for_ms),
                    addr: None,
                };
                let notice = format!("muted @{} {}", who.name, spoken(for_ms));
                (
                    ModerationChange::Sanction(sanction),
                    "mute",
                    Some(who),
                    spoken(for_ms),
                    notice,
                )
            }
            Command::Unmute { name } => {
                let who = self.subject(actor, room, rank, &name)?;
                need(Rank::Moderator, "the room's moderators")?;
                let change = ModerationChange::Lift {
                    room: id,
                    user: who.user.clone(),
                    kind: SanctionKind::Mute,
                };
                let notice = format!("unmuted @{}", who.name);
                (change, "unmute", Some(who), String::new(), notice)
            }
            Command::Kick { .. }
            | Command::Ban {
                everywhere: false, ..
            } if room.kind() == RoomKind::Direct => {
                return Err("Nobody can be put out of a conversation.".into());
            }
            Command::Kick { name } => {
                let who = self.subject(actor, room, rank, &name)?;
                need(Rank::Moderator, "the room's moderators")?;
                let sanction = SanctionRecord {
                    room: id,
                    user: who.user.clone(),
                    kind: SanctionKind::Ban,
                    until_ms: Some(now + KICK_MS),
                    addr: None,
                };
                let notice = format!("put @{} out of the room", who.name);
                (
                    ModerationChange::Sanction(sanction),
                    "kick",
                    Some(who),
                    spoken(Some(KICK_MS)),
                    notice,
                )
            }
            Command::Ban {
                name,
                for_ms,
                everywhere,
            } => {
                let who = self.subject(actor, room, rank, &name)?;
                let (scope, addr) = if everywhere {
                    need(Rank::Admin, "server admins")?;
                    let guest = !self.is_registered(&who.user);
                    (
                        SERVER_WIDE,
                        guest.then(|| self.address_of(&who.user)).flatten(),
                    )
                } else {
                    need(Rank::Moderator, "the room's moderators")?;
                    (id, None)
                };
                let sanction = SanctionRecord {
                    room: scope,
                    user: who.user.clone(),
                    kind: SanctionKind::Ban,
                    until_ms: until(for_ms),
                    addr,
                };
                let notice = if everywhere {
                    format!("banned @{} from this server {}", who.name, spoken(for_ms))
                } else {
                    format!("banned @{} from the room {}", who.name, spoken(for_ms))
                };
                let action = if everywhere { "server ban" } else { "ban" };
                (
                    ModerationChange::Sanction(sanction),
                    action,
                    Some(who),
                    spoken(for_ms),
                    notice,
                )
            }
            Command::Unban { name, everywhere } => {
                let who = self.person(&name)?;
                need(
                    if everywhere {
                        Rank::Admin
                    } else {
                        Rank::Moderator
                    },
                    if everywhere {
                        "server admins"
                    } else {
                        "the room's moderators"
                    },
                )?;
                let change = ModerationChange::Lift {
                    room: if everywhere { SERVER_WIDE } else { id },
                    user: who.user.clone(),
                    kind: SanctionKind::Ban,
                };
                let notice = format!("lifted the ban on @{}", who.name);
                (change, "unban", Some(who), String::new(), notice)
            }
            Command::Moderator { name, grant } => {
                let who = self.subject(actor, room, rank, &name)?;
                need(Rank::Owner, "the room's owner and server admins")?;
                if !self.is_registered(&who.user) {
                    return Err(format!(
                        "{} has no account: only registered people moderate.",
                        who.name
                    ));
                }
                let change = ModerationChange::Role {
                    room: id,
                    user: who.user.clone(),
                    role: grant.then_some(RoomRole::Moderator),
                };
                let notice = if grant {
                    format!("made @{} a moderator of the room", who.name)
                } else {
                    format!("made @{} no longer a moderator of the room", who.name)
                };
                let action = if grant { "moderator" } else { "unmoderator" };
                (change, action, Some(who), String::new(), notice)
            }
            Command::Admin { name, grant } => {
                need(Rank::Admin, "server admins")?;
                let who = self.person(&name)?;
                if who.user == actor.user {
                    return Err("Not on yourself.".into());
                }
                if !self.is_registered(&who.user) {
                    return Err(format!(
                        "{} has no account: only registered people are admins.",
                        who.name
                    ));
                }
                let change = ModerationChange::Admin {
                    user: who.user.clone(),
                    admin: grant,
                };
                let notice = if grant {
                    format!("made @{} a server admin", who.name)
                } else {
                    format!("made @{} no longer a server admin", who.name)
                };
                let action = if grant { "admin" } else { "unadmin" };
                (change, action, Some(who), String::new(), notice)
            }
        };
        let audit = AuditEntry {
            at_ms: now,
            actor: actor.name.clone(),
            action: action.to_owned(),
            target: target.map(|p| p.name).unwrap_or_default(),
            room: slug,
            detail,
        };
        // Whose view of the room changes: everyone in it for its rules, the new (or
        // former) moderator for a role.
        let told = match &change {
            ModerationChange::Rules { .. } => room.subscribed_users(),
            ModerationChange::Role { user, .. } => vec![user.clone()],
            _ => Vec::new(),
        };
        // Banned (or kicked) from a private room is out of its members, too.
        let put_out = match &change {
            ModerationChange::Sanction(s)
                if s.room == id
                    && s.kind == SanctionKind::Ban
                    && room.kind() == RoomKind::Private =>
            {
                Some(s.user.clone())
            }
            _ => None,
        };
        self.moderate(change, audit)
            .await
            .map_err(|err| err.to_string())?;
        for user in told {
            self.tell_added(room, &user);
        }
        if let Some(user) = put_out {
            self.drop_member(room, &user)
                .await
                .map_err(|err| err.to_string())?;
        }
        Ok(format!("_{notice}_"))
    }

    /// Stores `change` with its audit line, then puts it in effect here: a ban cuts the
    /// person off at once.
    pub async fn moderate(
        &self,
        change: ModerationChange,
        audit: AuditEntry,
    ) -> Result<(), AppError> {
        let clock = self
            .store
            .moderate(&change, &audit)
            .await
            .map_err(AppError::server)?;
        let in_step = {
            let mut state = self.moderation.write();
            state.apply(&change);
            let in_step = state.clock + 1 == clock;
            state.clock = clock;
            in_step
        };
        if !in_step {
            // Someone else (`natter admin`) changed something meanwhile.
            self.reload_moderation().await?;
        }
        if matches!(change, ModerationChange::Sanction(_)) {
            self.enforce_bans();
        }
        Ok(())
    }

    /// Loads moderation anew from the store, and puts it in effect.
    pub async fn reload_moderation(&self) -> Result<(), AppError> {
        let record = self.store.moderation().await.map_err(AppError::server)?;
        *self.moderation.write() = State::load(record);
        self.enforce_bans();
        Ok(())
    }

    /// Cuts off everyone banned: out of the rooms they are banned from (told by a
    /// `room_removed`), off the server (their sockets closed) when banned from it.
    fn enforce_bans(&self) {
        for conn in self.all_conns() {
            let banned_everywhere = self
                .check_visitor(&conn.user, conn.addr(), conn.account.is_none())
                .is_err();
            if banned_everywhere {
                conn.queue.close(BANNED);
                continue;
            }
            for room in conn.joined_rooms() {
                let Err(why) = self.check_read(&conn.user, &room) else {
                    continue;
                };
                self.leave(&conn, room.slug());
                if room.is_public() {
                    // Still listed (anyone may see it is there); the page says why it
                    // went quiet, as a join would.
                    let refusal = ServerEvent::Error {
                        code: ErrorCode::NotAllowed,
                        message: why.to_string(),
                        cid: None,
                    };
                    conn.queue.push(&refusal.encode().into());
                } else {
                    self.tell_removed(&conn.user, room.slug());
                }
            }
        }
    }

    /// The person named `name`, who must rank below `actor` here and not be them.
    fn subject(
        &self,
        actor: &Actor,
        room: &Room,
        rank: Rank,
        name: &str,
    ) -> Result<super::mentions::Person, String> {
        let who = self.person(name)?;
        if who.user == actor.user {
            return Err("Not on yourself.".into());
        }
        if self.rank(&who.user, room) >= rank {
            return Err(format!(
                "{} is a moderator here as much as you are, or more.",
                who.name
            ));
        }
        Ok(who)
    }

    fn person(&self, name: &str) -> Result<super::mentions::Person, String> {
        self.find_person(name)
            .ok_or_else(|| format!("There is nobody called “{name}” online or registered."))
    }

    fn is_registered(&self, user: &str) -> bool {
        self.registered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|p| p.user == user)
    }

    /// The address a person's sockets come from now, if online.
    fn address_of(&self, user: &str) -> Option<String> {
        self.conns_of(user).first().map(|c| c.addr().to_string())
    }
}

/// Carries out what `natter admin` asks (at start too: asked while no server ran), and
/// reloads moderation whenever its clock moves under the server.
pub async fn watch(hub: std::sync::Weak<Hub>) {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        if let Err(err) = hub.carry_out_requests().await {
            tracing::warn!(%err, "requests of natter admin could not be carried out");
        }
        let Ok(clock) = hub.store.moderation_clock().await else {
            continue;
        };
        if clock != hub.moderation.read().clock {
            if let Err(err) = hub.reload_moderation().await {
                tracing::warn!(%err, "moderation could not be reloaded");
            }
        }
    }
}

/// Reports, and what admins read of them and of the audit log.
impl Hub {
    /// `user` reports message `seq` of `slug`.
    pub async fn report(&self, user: &str, slug: &str, seq: Seq) -> Result<(), AppError> {
        let room = self.room_for(user, slug)?;
        self.check_read(user, &room)?;
        if self.message(&room, seq).await?.is_none() {
            return Err(AppError::Invalid("That message is not there.".into()));
        }
        // Once per person: a second report (a retry) changes nothing, and is no error.
        self.store
            .report(room.record.id, seq, user, now_ms())
            .await
            .map_err(AppError::server)?;
        Ok(())
    }

    /// Message `seq` of `room` as it is now, unless deleted or removed.
    async fn message(&self, room: &Room, seq: Seq) -> Result<Option<ChatMessage>, AppError> {
        let page = self
            .store
            .page_before(room.record.id, seq.saturating_add(1), 1)
            .await
            .map_err(AppError::server)?;
        Ok(page
            .messages
            .into_iter()
            .find(|m| m.seq == seq && m.state < ChatMessage::DELETED))
    }

    fn admin_only(&self, user: &str) -> Result<(), AppError> {
        if self.is_admin(user) {
            Ok(())
        } else {
            Err(AppError::Invalid("Only server admins see that.".into()))
        }
    }

    /// The report queue, oldest first, as links to the messages: how many reported each.
    pub async fn report_queue(&self, user: &str, limit: u32) -> Result<Vec<SearchHit>, AppError> {
        self.admin_only(user)?;
        let reports = self
            .store
            .open_reports(limit)
            .await
            .map_err(AppError::server)?;
        let mut hits = Vec::with_capacity(reports.len());
        for report in reports {
            let Some(room) = self.room_by_id(report.room) else {
                continue;
            };
            // Removed or deleted since: nothing left to look at.
            let Some(msg) = self.message(&room, report.seq).await? else {
                continue;
            };
            let times = if report.reporters == 1 {
                "reported once".to_owned()
            } else {
                format!("reported {} times", report.reporters)
            };
            hits.push(SearchHit {
                room: room.slug().to_owned(),
                seq: report.seq,
                author: msg.author,
                text: format!(
                    "({times}) {}",
                    crate::server::chat::markdown::plain_text(&msg.text)
                ),
                at_ms: report.at_ms,
            });
        }
        Ok(hits)
    }

    /// The newest lines of the audit log: who did what to whom, where, when.
    pub async fn audit_log(&self, user: &str, limit: u32) -> Result<Vec<SearchHit>, AppError> {
        self.admin_only(user)?;
        let lines = self
            .store
            .audit_log(limit)
            .await
            .map_err(AppError::server)?;
        Ok(lines
            .into_iter()
            .map(|line| {
                let words: Vec<&str> = [line.action.as_str(), &line.target, &line.detail]
                    .into_iter()
                    .filter(|w| !w.is_empty())
                    .collect();
                SearchHit {
                    room: line.room,
                    seq: 0,
                    author: line.actor,
                    text: words.join(" "),
                    at_ms: line.at_ms,
                }
            })
            .collect())
    }
}
