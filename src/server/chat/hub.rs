//! The hub: every room and every connection of this server, the names in use, and the
//! limits that hold across connections (per user, per address).
//!
//! Connections register here once their session is known; server functions find them by
//! their token to subscribe them to rooms. Online counts for the room list are sent to every
//! connection at most every [`COUNTS_EVERY`], however many joins happen in between.

use crate::server::store::moderation::{AuditEntry, ModerationChange, RoomRole};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::protocol::{
    normalize_name, normalize_room, AppError, HistoryPage, JoinedRoom, RoomCount, RoomInfo,
    RoomKind, Seq, ServerEvent, HISTORY_PAGE,
};
use crate::server::chat::inbox::Inboxes;
use crate::server::chat::mentions::Person;
use crate::server::chat::presence::NodeId;
use crate::server::chat::relay::{Relay, Relays, Signal};
use crate::server::chat::room::{ConnId, LinkSink, Links, Member, Room, RoomEnv};
use crate::server::clock::now_ms;
use crate::server::names::name_key;
use crate::server::rate_limit::keyed::KeyedLimiter;
use crate::server::rate_limit::{Rate, TokenBucket};
use crate::server::store::{Created, MemberRecord, NewRoom, Newest, Store, StoreResult};
use crate::server::ws::send_queue::{CloseReason, Frame, SendQueue};

const COUNTS_EVERY: Duration = Duration::from_millis(500);
/// How long a user whose connection dropped still counts as present. A reload or a phone
/// switching networks comes back within it, and the room does not read "left … joined".
/// Leaving on purpose (switching rooms) takes effect at once.
pub const LEAVE_GRACE: Duration = Duration::from_secs(3);
/// On a resume, at most this many missed messages are replayed; past that the client gets
/// the newest page and starts over, as a new visitor would.
const MAX_CATCH_UP: u64 = 1_000;
/// Joins (and room switches) one connection may make: plenty for a person clicking
/// through rooms, and a script asking thousands per second is refused cheaply.
const JOIN_RATE: Rate = Rate {
    per_second: 5.0,
    burst: 20.0,
};

/// Rooms created by users, server-wide: each costs a writer task and a row, forever.
/// Conversations are not counted: each person may open only so many, at [`PEOPLE_MOVES`].
const MAX_ROOMS: usize = 1_000;
/// Conversations opened and invitations sent by one person: a few a minute go through, a
/// script opening hundreds is refused.
const PEOPLE_MOVES: Rate = Rate {
    per_second: 0.2,
    burst: 20.0,
};
/// Closes the sockets of a session that ended (log out, password change).
pub const SIGNED_OUT: CloseReason = CloseReason {
    code: 4001,
    reason: "signed out",
};

/// Limits that span connections, from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct HubLimits {
    /// Messages per user, over all their connections.
    pub sends: Rate,
    /// Open sockets per client address.
    pub conns_per_addr: u32,
    /// Rooms one socket may be subscribed to at once.
    pub rooms_per_conn: usize,
    /// Rooms one user may create.
    pub new_rooms: Rate,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            sends: Rate {
                per_second: 5.0,
                burst: 20.0,
            },
            conns_per_addr: 64,
            rooms_per_conn: 10,
            new_rooms: Rate {
                per_second: 1.0 / 600.0,
                burst: 5.0,
            },
        }
    }
}

pub struct Hub {
    pub(super) store: Arc<dyn Store>,
    pub(super) env: RoomEnv,
    pub(super) rooms: RwLock<Rooms>,
    conns: Mutex<HashMap<String, Arc<Conn>>>,
    names: Mutex<HashMap<String, NameClaim>>,
    /// Names held on the other nodes (several nodes), by node, then by [`name_key`].
    pub(super) names_elsewhere: Mutex<HashMap<NodeId, HashMap<String, Person>>>,
    /// Registered names (by [`name_key`]) with their user ids: who can be found by name
    /// while offline.
    pub(super) registered: Mutex<HashMap<String, Person>>,
    per_addr: Mutex<HashMap<IpAddr, u32>>,
    sends: KeyedLimiter<String>,
    room_makers: KeyedLimiter<String>,
    /// Conversations opened and invitations sent, per user: floods are refused.
    pub(super) people_moves: KeyedLimiter<String>,
    limits: HubLimits,
    next_conn: AtomicU64,
    /// Read marks known to be stored, by (user id, room id): only a mark that moves
    /// forward is written and passed to the person's other devices.
    pub(super) read_marks: Mutex<HashMap<(String, i64), Seq>>,
    /// Uploads, which messages may carry (set once, at start).
    files: std::sync::OnceLock<Arc<crate::server::files::Files>>,
    /// Roles, mutes, bans and rooms' rules (`moderation`).
    pub(super) moderation: Arc<super::sanctions::Moderation>,
}

#[derive(Default)]
pub(super) struct Rooms {
    /// In creation order, as the room list shows them.
    pub(super) list: Vec<Arc<Room>>,
    by_slug: HashMap<String, Arc<Room>>,
    /// Conversations by their people (sorted user ids, comma-joined).
    pub(super) by_people: HashMap<String, Arc<Room>>,
}

/// Who a new connection is: from its session, and where it comes from.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub user: String,
    pub name: String,
    /// The session's key (hash of its token), to close its sockets when it ends.
    pub session: Vec<u8>,
    pub account: Option<i64>,
    pub addr: IpAddr,
}

/// A registered WebSocket connection.
pub struct Conn {
    pub id: ConnId,
    /// Unguessable: whoever holds it can subscribe this socket to rooms.
    pub token: String,
    pub user: String,
    pub name: String,
    session: Vec<u8>,
    pub account: Option<i64>,
    addr: IpAddr,
    pub queue: SendQueue,
    /// The tab is in front of its reader (it says so on the socket).
    pub visible: Arc<AtomicBool>,
    joined: Mutex<Joined>,
    joins: Mutex<TokenBucket>,
}

/// The rooms a connection is subscribed to. Once `closed`, it joins nothing more: a join
/// racing the disconnect must not leave a subscriber (and a presence) behind.
#[derive(Default)]
struct Joined {
    rooms: Vec<Arc<Room>>,
    closed: bool,
}

/// A name held by the user id that claimed it, for as long as it has connections.
struct NameClaim {
    user: String,
    /// The name as its holder writes it (the map's key is case-folded).
    name: String,
    conns: u32,
}

impl Conn {
    fn member(&self) -> Member<'_> {
        Member {
            conn: self.id,
            user: &self.user,
            name: &self.name,
            queue: &self.queue,
        }
    }

    fn joined(&self) -> MutexGuard<'_, Joined> {
        lock(&self.joined)
    }

    pub(super) fn joined_rooms(&self) -> Vec<Arc<Room>> {
        self.joined().rooms.clone()
    }

    pub(super) fn addr(&self) -> IpAddr {
        self.addr
    }
}

impl Hub {
    /// Loads the rooms, their members and who hears what, starts the rooms' writers and
    /// the counts ticker.
    pub async fn start(store: Arc<dyn Store>, limits: HubLimits) -> StoreResult<Arc<Hub>> {
        let moderation = Arc::new(super::sanctions::Moderation::load(
            store.moderation().await?,
        ));
        let relay = Relays::default();
        let env = RoomEnv {
            store: store.clone(),
            gate: moderation.clone(),
            counts_dirty: Arc::new(AtomicBool::new(false)),
            inboxes: Arc::new(Inboxes::with_relay(relay.clone())),
            links: Links::default(),
            relay,
        };
        let mut members: HashMap<i64, Vec<MemberRecord>> = HashMap::new();
        for (room, member) in store.memberships().await? {
            members.entry(room).or_default().push(member);
        }
        let mut rooms = Rooms::default();
        for record in store.rooms().await? {
            let newest = store.newest(record.id).await?;
            let members = members.remove(&record.id).unwrap_or_default();
            rooms.add(Room::start(record, newest, members, &env));
        }
        let by_id: HashMap<i64, Arc<Room>> = rooms
            .list
            .iter()
            .map(|r| (r.record.id, r.clone()))
            .collect();
        for (room, user, level) in store.notify_settings().await? {
            if let Some(room) = by_id.get(&room) {
                room.set_notify_level(&user, level);
            }
        }
        let registered = store
            .registered_names()
            .await?
            .into_iter()
            .map(|(user, name)| (name_key(&name), Person { user, name }))
            .collect();
        let hub = Arc::new(Hub {
            store,
            env,
            rooms: RwLock::new(rooms),
            conns: Mutex::default(),
            names: Mutex::default(),
            names_elsewhere: Mutex::default(),
            registered: Mutex::new(registered),
            per_addr: Mutex::default(),
            sends: KeyedLimiter::new(limits.sends),
            room_makers: KeyedLimiter::new(limits.new_rooms),
            people_moves: KeyedLimiter::new(PEOPLE_MOVES),
            limits,
            next_conn: AtomicU64::new(1),
            read_marks: Mutex::default(),
            files: std::sync::OnceLock::new(),
            moderation,
        });
        tokio::spawn(send_counts(Arc::downgrade(&hub)));
        Ok(hub)
    }

    /// Links in new messages go to `sink` for their cards from now on.
    pub fn set_links(&self, sink: Arc<dyn LinkSink>) {
        let _ = self.env.links.set(sink);
    }

    /// Stored events go to the other nodes through `relay` from now on.
    pub fn set_relay(&self, relay: Arc<dyn Relay>) {
        let _ = self.env.relay.set(relay);
    }

    /// The room at `slug`, whoever asks: for the server's own use. What a person asks
    /// for goes through [`Hub::room_for`].
    pub fn room(&self, slug: &str) -> Option<Arc<Room>> {
        read(&self.rooms).by_slug.get(slug).cloned()
    }

    /// The room at `slug` if `user` may see it. A private room or conversation they are
    /// not in answers exactly as a room that does not exist.
    pub fn room_for(&self, user: &str, slug: &str) -> Result<Arc<Room>, AppError> {
        self.room(slug)
            .filter(|room| room.admits(user))
            .ok_or_else(|| AppError::NoSuchRoom(slug.to_owned()))
    }

    /// The rooms `user` may see, in creation order.
    pub fn rooms_for(&self, user: &str) -> Vec<Arc<Room>> {
        read(&self.rooms)
            .list
            .iter()
            .filter(|room| room.admits(user))
            .cloned()
            .collect()
    }

    /// Where rooms and messages are kept.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Messages may carry files uploaded to `files` from now on.
    pub fn set_files(&self, files: Arc<crate::server::files::Files>) {
        let _ = self.files.set(files);
    }

    /// Where uploads are looked up; `None` before [`Hub::set_files`] (tests without files).
    pub fn files(&self) -> Option<&Arc<crate::server::files::Files>> {
        self.files.get()
    }

    pub fn inboxes(&self) -> &Inboxes {
        &self.env.inboxes
    }

    /// Creates a room titled `title` (its address made from the title) about `topic`.
    /// Everyone connected is told of a public one; a private one is its maker's, who
    /// invites people to it, and its address has a random tail.
    pub async fn create_room(
        &self,
        user: &str,
        name: &str,
        title: &str,
        topic: &str,
        private: bool,
    ) -> Result<RoomInfo, AppError> {
        let (title, mut slug, topic) = normalize_room(title, topic).map_err(AppError::Invalid)?;
        if private {
            slug = format!("{slug}-{}", &random_token()[..6]);
        }
        match self.room(&slug) {
            Some(room) if room.admits(user) => return Err(AppError::RoomExists(slug)),
            // Taken by a room this person may not know of: another address, rather than
            // an answer that tells it exists.
            Some(_) => slug = format!("{slug}-{}", &random_token()[..6]),
            None => {}
        }
        let count = read(&self.rooms)
            .list
            .iter()
            .filter(|r| r.kind() != RoomKind::Direct)
            .count();
        if count >= MAX_ROOMS {
            return Err(AppError::Invalid(
                "This server has all the rooms it can hold.".into(),
            ));
        }
        if !self.room_makers.try_take(user, Instant::now()) {
            return Err(AppError::RateLimited);
        }
        let new = NewRoom {
            slug: slug.clone(),
            title,
            topic,
            kind: if private {
                RoomKind::Private
            } else {
                RoomKind::Public
            },
            owner: private.then(|| user.to_owned()),
            people: None,
            members: if private {
                vec![MemberRecord {
                    user_id: user.to_owned(),
                    name: name.to_owned(),
                }]
            } else {
                Vec::new()
            },
        };
        let room = self.add_room(&new).await?;
        let Some(room) = room else {
            return Err(AppError::RoomExists(slug));
        };
        if room.is_public() && !user.is_empty() {
            // Its maker owns it: they moderate it, and name its moderators.
            let owner = ModerationChange::Role {
                room: room.record.id,
                user: user.to_owned(),
                role: Some(RoomRole::Owner),
            };
            let audit = AuditEntry {
                at_ms: now_ms(),
                actor: name.to_owned(),
                action: "create room".into(),
                target: String::new(),
                room: slug.clone(),
                detail: String::new(),
            };
            self.moderate(owner, audit).await?;
        }
        if room.is_public() {
            self.broadcast(&ServerEvent::RoomAdded { room: room.info() }.encode().into());
        }
        Ok(self.info_for(&room, user, None))
    }

    /// Stores a new room and starts it; `None` when its slug (or people) is taken.
    pub(super) async fn add_room(&self, new: &NewRoom) -> Result<Option<Arc<Room>>, AppError> {
        let created = self
            .store
            .create_room(new, now_ms())
            .await
            .map_err(AppError::server)?;
        let Created::Created(record) = created else {
            return Ok(None);
        };
        let room = Room::start(record, Newest::default(), new.members.clone(), &self.env);
        let mut rooms = write(&self.rooms);
        if let Some(people) = &new.people {
            rooms.by_people.insert(people.clone(), room.clone());
        }
        rooms.add(room.clone());
        drop(rooms);
        self.signal(Signal::RoomMade {
            room: room.record.id,
        });
        Ok(Some(room))
    }

    /// Tells the other nodes, when there are any.
    pub(super) fn signal(&self, signal: Signal) {
        if let Some(relay) = self.env.relay.get() {
            relay.signal(signal);
        }
    }

    /// Takes one of `user`'s message tokens, shared by all their connections.
    pub fn may_send(&self, user: &str) -> bool {
        self.sends.try_take(user, Instant::now())
    }

    /// Closes every socket of the session `key`, or of the account, as they end.
    pub fn sign_out(&self, key: &[u8], account: Option<i64>) {
        for conn in lock(&self.conns).values() {
            let ends = conn.session == key || (account.is_some() && conn.account == account);
            if ends {
                conn.queue.close(SIGNED_OUT);
            }
        }
    }

    pub fn conn(&self, token: &str) -> Option<Arc<Conn>> {
        lock(&self.conns).get(token).cloned()
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.conns).len()
    }

    /// Bytes queued for every connection, not yet written.
    pub fn queued_bytes(&self) -> usize {
        lock(&self.conns)
            .values()
            .map(|c| c.queue.queued_bytes())
            .sum()
    }

    /// Checks that `name` is valid and free for `user`; returns it trimmed.
    pub fn check_name(&self, user: &str, name: &str) -> Result<String, AppError> {
        let name = normalize_name(name).map_err(AppError::BadName)?;
        let key = name_key(&name);
        let held_here = match lock(&self.names).get(&key) {
            Some(claim) => claim.user != user,
            None => false,
        };
        if held_here || self.held_elsewhere(&key, user) {
            return Err(AppError::NameTaken(name));
        }
        Ok(name)
    }

    /// Whether another node has someone other than `user` online under the name `key`.
    fn held_elsewhere(&self, key: &str, user: &str) -> bool {
        lock(&self.names_elsewhere)
            .values()
            .any(|names| names.get(key).is_some_and(|p| p.user != user))
    }

    /// Registers a connection under the visitor's name, which no other user may hold
    /// while online, within the limit of connections per address.
    pub fn connect(&self, visitor: Visitor, queue: SendQueue) -> Result<Arc<Conn>, AppError> {
        let Visitor {
            user,
            name,
            session,
            account,
            addr,
        } = visitor;
        let user = user.as_str();
        let name = normalize_name(&name).map_err(AppError::BadName)?;
        self.check_visitor(user, addr, account.is_none())?;
        {
            let mut per_addr = lock(&self.per_addr);
            let count = per_addr.entry(addr).or_insert(0);
            if *count >= self.limits.conns_per_addr {
                return Err(AppError::TooManyConnections);
            }
            *count += 1;
        }
        let first_claim = {
            let key = name_key(&name);
            let elsewhere = self.held_elsewhere(&key, user);
            let mut names = lock(&self.names);
            let claim = names.entry(key).or_insert_with(|| NameClaim {
                user: user.to_owned(),
                name: name.clone(),
                conns: 0,
            });
            if claim.user != user || elsewhere {
                if claim.conns == 0 {
                    names.remove(&name_key(&name));
                }
                drop(names);
                self.release_addr(addr);
                return Err(AppError::NameTaken(name));
            }
            claim.conns += 1;
            claim.conns == 1
        };
        if first_claim {
            self.signal(Signal::Online {
                user: user.to_owned(),
                name: name.clone(),
                here: true,
            });
        }
        let conn = Arc::new(Conn {
            id: self.next_conn.fetch_add(1, Ordering::Relaxed),
            token: random_token(),
            user: user.to_owned(),
            name,
            session,
            account,
            addr,
            queue,
            visible: Arc::new(AtomicBool::new(true)),
            joined: Mutex::default(),
            joins: Mutex::new(TokenBucket::new(JOIN_RATE)),
        });
        lock(&self.conns).insert(conn.token.clone(), conn.clone());
        self.env.inboxes.add(
            &conn.user,
            conn.id,
            conn.queue.clone(),
            conn.visible.clone(),
        );
        if conn.account.is_some() {
            lock(&self.registered).insert(
                name_key(&conn.name),
                Person {
                    user: conn.user.clone(),
                    name: conn.name.clone(),
                },
            );
        }
        Ok(conn)
    }

    /// Takes a closed connection out of its rooms. Its user stays present in those rooms,
    /// and keeps the name, for [`LEAVE_GRACE`].
    pub fn disconnect(self: &Arc<Self>, conn: &Conn) {
        lock(&self.conns).remove(&conn.token);
        self.env.inboxes.remove(&conn.user, conn.id);
        self.release_addr(conn.addr);
        let lingering: Vec<Arc<Room>> = {
            let mut joined = conn.joined();
            joined.closed = true;
            joined
                .rooms
                .drain(..)
                .filter(|room| room.unsubscribe(conn.id))
                .collect()
        };
        let hub = Arc::downgrade(self);
        let (user, name) = (conn.user.clone(), conn.name.clone());
        tokio::spawn(async move {
            tokio::time::sleep(LEAVE_GRACE).await;
            for room in lingering {
                room.release(&user, &name);
            }
            if let Some(hub) = hub.upgrade() {
                hub.release_name(&name);
            }
        });
    }

    fn release_addr(&self, addr: IpAddr) {
        let mut per_addr = lock(&self.per_addr);
        if let Some(count) = per_addr.get_mut(&addr) {
            *count -= 1;
            if *count == 0 {
                per_addr.remove(&addr);
            }
        }
    }

    fn release_name(&self, name: &str) {
        let mut names = lock(&self.names);
        let key = name_key(name);
        let Some(claim) = names.get_mut(&key) else {
            return;
        };
        claim.conns -= 1;
        if claim.conns > 0 {
            return;
        }
        let claim = names.remove(&key).expect("just found");
        drop(names);
        self.signal(Signal::Online {
            user: claim.user,
            name: claim.name,
            here: false,
        });
    }

    /// Everyone online here, (user, name): part of this node's lease.
    pub(super) fn names_here(&self) -> Vec<(String, String)> {
        lock(&self.names)
            .values()
            .map(|claim| (claim.user.clone(), claim.name.clone()))
            .collect()
    }

    /// Subscribes `conn` to `slug` (leaving `leave` first, if given) and returns what the
    /// client needs to draw the room. Live messages start right after the last one
    /// returned: nothing is missed and nothing comes twice.
    ///
    /// `after` is the newest seq the client already has, when it is coming back to the
    /// room; then only what it missed is returned.
    pub async fn join(
        &self,
        conn: &Conn,
        slug: &str,
        leave: Option<&str>,
        after: Option<Seq>,
    ) -> Result<JoinedRoom, AppError> {
        if !lock(&conn.joins).try_take(Instant::now()) {
            return Err(AppError::RateLimited);
        }
        let room = self.room_for(&conn.user, slug)?;
        self.check_read(&conn.user, &room)?;
        if let Some(old) = leave.filter(|old| *old != slug) {
            self.leave(conn, old);
        }
        // A client coming from another node may have seen events this node has not
        // published yet (still on their way over NATS): this node catches up first, so
        // that the live stream starts after what the client has.
        if let Some(after) = after.filter(|&a| a > room.published()) {
            let newest = self
                .store
                .newest(room.record.id)
                .await
                .map_err(AppError::server)?;
            if newest.seq >= after {
                room.catch_up(room.published(), newest.seq)
                    .await
                    .map_err(AppError::server)?;
            }
        }
        let start = {
            let mut joined = conn.joined();
            if joined.closed {
                return Err(AppError::NotConnected);
            }
            if joined.rooms.iter().any(|r| Arc::ptr_eq(r, &room)) {
                None
            } else if joined.rooms.len() >= self.limits.rooms_per_conn {
                return Err(AppError::Invalid(format!(
                    "You can be in at most {} rooms at once; leave one first.",
                    self.limits.rooms_per_conn
                )));
            } else {
                joined.rooms.push(room.clone());
                crate::server::metrics::counters::JOINS.increment(1);
                Some(room.subscribe(conn.member()))
            }
        };
        // Already subscribed (a repeated join): live messages continue after the newest
        // one published.
        let upto = start.unwrap_or_else(|| room.published());
        let mut joined = JoinedRoom {
            room: self.info_for(&room, &conn.user, None),
            online: room.online(),
            messages: Vec::new(),
            updates: Vec::new(),
            has_more: false,
            resumed: false,
            upto,
        };
        if let Some(after) = after.filter(|&a| a <= upto && upto - a <= MAX_CATCH_UP) {
            // What was missed: the messages (as they are now) and the changes, which
            // together are every event after `after`.
            let id = room.record.id;
            let limit = MAX_CATCH_UP as u32;
            let store = &self.store;
            let (messages, updates) = futures_util::future::try_join(
                store.range(id, after, upto, limit),
                store.updates(id, after, upto, limit),
            )
            .await
            .map_err(AppError::server)?;
            joined.messages = messages;
            joined.updates = updates;
            joined.has_more = after > 0;
            joined.resumed = true;
            return Ok(joined);
        }
        let page = self
            .store
            .page_before(room.record.id, upto + 1, HISTORY_PAGE)
            .await
            .map_err(AppError::server)?;
        joined.messages = page.messages;
        joined.has_more = page.has_more;
        Ok(joined)
    }

    /// The page of messages of `slug` just before `before`, oldest first, for `user`;
    /// with `after`, the page just after it instead (`has_more`: newer ones exist), which
    /// a reader who jumped far back reads down by.
    pub async fn history(
        &self,
        user: &str,
        slug: &str,
        before: Seq,
        after: Option<Seq>,
    ) -> Result<HistoryPage, AppError> {
        let room = self.room_for(user, slug)?;
        self.check_read(user, &room)?;
        let Some(after) = after else {
            return self
                .store
                .page_before(room.record.id, before, HISTORY_PAGE)
                .await
                .map_err(AppError::server);
        };
        // One more than a page tells whether newer ones exist.
        let mut messages = self
            .store
            .range(room.record.id, after, Seq::MAX, HISTORY_PAGE + 1)
            .await
            .map_err(AppError::server)?;
        let has_more = messages.len() > HISTORY_PAGE as usize;
        messages.truncate(HISTORY_PAGE as usize);
        Ok(HistoryPage { messages, has_more })
    }

    /// Unsubscribes the connection from `slug`, if it was there.
    pub fn leave(&self, conn: &Conn, slug: &str) {
        let room = {
            let mut joined = conn.joined();
            let Some(index) = joined.rooms.iter().position(|r| r.slug() == slug) else {
                return;
            };
            joined.rooms.swap_remove(index)
        };
        if room.unsubscribe(conn.id) {
            room.release(&conn.user, &conn.name);
        }
        // Counts of a public room skip those in it (see `public_counts`): where it stands
        // now, for the room list.
        if room.is_public() {
            let counts = ServerEvent::Counts {
                rooms: vec![room.count()],
            };
            conn.queue.push(&counts.encode().into());
        }
    }

    /// Closes every connection, telling clients why.
    pub fn close_all(&self) {
        for conn in lock(&self.conns).values() {
            conn.queue.close(CloseReason::SHUTDOWN);
        }
    }

    /// The count of every room `user` may see, for a connection that just arrived.
    pub fn all_counts(&self, user: &str) -> Frame {
        let rooms = self.rooms_for(user).iter().map(|r| r.count()).collect();
        ServerEvent::Counts { rooms }.encode().into()
    }

    /// The rooms that changed since last time: public ones to everyone, the others to
    /// their members only.
    fn broadcast_counts(&self) {
        let changed: Vec<Arc<Room>> = read(&self.rooms)
            .list
            .iter()
            .filter(|r| r.take_changed())
            .cloned()
            .collect();
        let (public, private): (Vec<_>, Vec<_>) =
            changed.into_iter().partition(|room| room.is_public());
        if !public.is_empty() {
            self.public_counts(&public);
        }
        for room in private {
            let frame: Frame = ServerEvent::Counts {
                rooms: vec![room.count()],
            }
            .encode()
            .into();
            // Every node sends its own people the counts it works out.
            for (user, _) in room.members() {
                self.env.inboxes.send_here(&user, &frame);
            }
        }
    }

    /// Queues for every connection the counts of the public rooms `changed` that it is not
    /// in, each different set encoded once. A connection in a room follows it live (its
    /// messages, who joins and leaves) and is told where it stands when it leaves: in a
    /// room of 15,000 the counts after each message were a second write to every member,
    /// half of the server's CPU (perf, `natter-bench bigroom`, 2026-12-05).
    fn public_counts(&self, changed: &[Arc<Room>]) {
        let counts: Vec<RoomCount> = changed.iter().map(|r| r.count()).collect();
        let conns: Vec<Arc<Conn>> = lock(&self.conns).values().cloned().collect();
        // By the changed rooms a connection is in (their places in `changed`): nearly
        // always none or one.
        let mut frames: HashMap<Vec<usize>, Option<Frame>> = HashMap::new();
        for conn in conns {
            let inside: Vec<usize> = {
                let joined = conn.joined();
                (0..changed.len())
                    .filter(|&i| joined.rooms.iter().any(|r| Arc::ptr_eq(r, &changed[i])))
                    .collect()
            };
            let frame = frames.entry(inside).or_insert_with_key(|inside| {
                let rooms: Vec<RoomCount> = (0..counts.len())
                    .filter(|i| !inside.contains(i))
                    .map(|i| counts[i].clone())
                    .collect();
                (!rooms.is_empty()).then(|| ServerEvent::Counts { rooms }.encode().into())
            });
            if let Some(frame) = frame {
                conn.queue.push(frame);
            }
        }
    }

    /// The open connections of `user`.
    /// Everyone connected, each once.
    pub(super) fn all_users(&self) -> Vec<String> {
        let users: std::collections::HashSet<String> =
            lock(&self.conns).values().map(|c| c.user.clone()).collect();
        users.into_iter().collect()
    }

    pub(super) fn room_by_id(&self, id: i64) -> Option<Arc<Room>> {
        read(&self.rooms)
            .list
            .iter()
            .find(|r| r.record.id == id)
            .cloned()
    }

    /// `user` registered `name`: found by it from now on, online or not.
    pub fn note_registered(&self, user: &str, name: &str) {
        self.remember_registered(user, name);
        self.signal(Signal::Registered {
            user: user.to_owned(),
            name: name.to_owned(),
        });
    }

    /// [`Hub::note_registered`] on this node only (another node told it).
    pub(super) fn remember_registered(&self, user: &str, name: &str) {
        let person = Person {
            user: user.to_owned(),
            name: name.to_owned(),
        };
        lock(&self.registered).insert(name_key(name), person);
    }

    /// `user` is registered no more (their account is gone): their name is free.
    pub(super) fn unregister(&self, user: &str) {
        self.forget_registered(user);
        self.signal(Signal::Unregistered {
            user: user.to_owned(),
        });
    }

    /// [`Hub::unregister`] on this node only.
    pub(super) fn forget_registered(&self, user: &str) {
        lock(&self.registered).retain(|_, person| person.user != user);
    }

    pub(super) fn all_conns(&self) -> Vec<Arc<Conn>> {
        lock(&self.conns).values().cloned().collect()
    }

    pub(super) fn conns_of(&self, user: &str) -> Vec<Arc<Conn>> {
        lock(&self.conns)
            .values()
            .filter(|c| c.user == user)
            .cloned()
            .collect()
    }

    /// Who is online under `name` now, or holds it registered. Called for every `@` in
    /// a message being sent, so a map lookup, never a walk over the connections.
    pub fn find_person(&self, name: &str) -> Option<Person> {
        let key = name_key(name.trim());
        if let Some(claim) = lock(&self.names).get(&key) {
            return Some(Person {
                user: claim.user.clone(),
                name: claim.name.clone(),
            });
        }
        if let Some(person) = lock(&self.registered).get(&key) {
            return Some(person.clone());
        }
        lock(&self.names_elsewhere)
            .values()
            .find_map(|names| names.get(&key).cloned())
    }

    /// Queues `frame` for every connection.
    pub(super) fn broadcast(&self, frame: &Frame) {
        // Send queues are collected first so the lock is not held while pushing.
        let queues: Vec<SendQueue> = lock(&self.conns)
            .values()
            .map(|c| c.queue.clone())
            .collect();
        for queue in queues {
            queue.push(frame);
        }
    }
}

/// Sends online counts when they changed, at most every [`COUNTS_EVERY`].
async fn send_counts(hub: std::sync::Weak<Hub>) {
    let mut tick = tokio::time::interval(COUNTS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.env.counts_dirty.swap(false, Ordering::Relaxed) {
            hub.broadcast_counts();
        }
    }
}

impl Rooms {
    pub(super) fn add(&mut self, room: Arc<Room>) {
        if room.kind() == RoomKind::Direct {
            let people = people_key(room.members().iter().map(|(user, _)| user.as_str()));
            self.by_people.insert(people, room.clone());
        }
        self.by_slug.insert(room.slug().to_owned(), room.clone());
        self.list.push(room);
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// A conversation's people as one key: their user ids, sorted, comma-joined.
pub(super) fn people_key<'a>(users: impl Iterator<Item = &'a str>) -> String {
    let mut users: Vec<&str> = users.collect();
    users.sort_unstable();
    users.dedup();
    users.join(",")
}

/// 128 random bits, hex encoded.
pub(super) fn random_token() -> String {
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::SqliteStore;
    use crate::server::ws::send_queue::QueueBound;

    async fn hub(limits: HubLimits) -> (tempfile::TempDir, Arc<Hub>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
        (dir, Hub::start(store, limits).await.unwrap())
    }

    fn visitor(user: &str, name: &str, addr: [u8; 4]) -> Visitor {
        Visitor {
            user: user.into(),
            name: name.into(),
            session: user.as_bytes().to_vec(),
            account: None,
            addr: IpAddr::from(addr),
        }
    }

    fn queue() -> SendQueue {
        SendQueue::detached(QueueBound {
            frames: 8,
            bytes: 1 << 16,
        })
    }

    #[tokio::test]
    async fn a_join_racing_a_disconnect_leaves_nobody_behind() {
        let (_dir, hub) = hub(HubLimits::default()).await;
        let conn = hub
            .connect(visitor("user-ana-0001", "ana", [127, 0, 0, 1]), queue())
            .unwrap();
        // The server function looked the connection up just before it closed.
        hub.disconnect(&conn);
        let joined = hub.join(&conn, "general", None, None).await;
        assert_eq!(joined, Err(AppError::NotConnected));
        assert_eq!(hub.room("general").unwrap().online_count(), 0);
    }

    #[tokio::test]
    async fn connections_per_address_are_limited() {
        let limits = HubLimits {
            conns_per_addr: 2,
            ..HubLimits::default()
        };
        let (_dir, hub) = hub(limits).await;
        let here = [10, 0, 0, 1];
        let a = hub
            .connect(visitor("user-a-0001", "a", here), queue())
            .unwrap();
        let _b = hub
            .connect(visitor("user-b-0001", "b", here), queue())
            .unwrap();
        let third = hub.connect(visitor("user-c-0001", "c", here), queue());
        assert_eq!(third.err(), Some(AppError::TooManyConnections));
        assert!(hub
            .connect(visitor("user-d-0001", "d", [10, 0, 0, 2]), queue())
            .is_ok());
        hub.disconnect(&a);
        assert!(hub
            .connect(visitor("user-c-0001", "c", here), queue())
            .is_ok());
    }

    #[tokio::test]
    async fn rooms_joined_at_once_are_limited() {
        let limits = HubLimits {
            rooms_per_conn: 2,
            ..HubLimits::default()
        };
        let (_dir, hub) = hub(limits).await;
        let conn = hub
            .connect(visitor("user-ana-0001", "ana", [127, 0, 0, 1]), queue())
            .unwrap();
        hub.join(&conn, "general", None, None).await.unwrap();
        hub.join(&conn, "tech", None, None).await.unwrap();
        let third = hub.join(&conn, "music", None, None).await;
        assert!(matches!(third, Err(AppError::Invalid(why)) if why.contains("at most 2")));
        // Switching (leaving one) is fine.
        hub.join(&conn, "music", Some("tech"), None).await.unwrap();
    }

    #[tokio::test]
    async fn sends_are_limited_per_user_across_connections() {
        let limits = HubLimits {
            sends: Rate {
                per_second: 0.001,
                burst: 3.0,
            },
            ..HubLimits::default()
        };
        let (_dir, hub) = hub(limits).await;
        let allowed = (0..10).filter(|_| hub.may_send("user-ana-0001")).count();
        assert_eq!(allowed, 3);
        assert!(hub.may_send("user-bo-00001"), "others are not affected");
    }

    #[tokio::test]
    async fn created_rooms_are_announced_and_limited() {
        let limits = HubLimits {
            new_rooms: Rate {
                per_second: 0.001,
                burst: 1.0,
            },
            ..HubLimits::default()
        };
        let (_dir, hub) = hub(limits).await;
        let info = hub
            .create_room(
                "user-ana-0001",
                "ana",
                "  Rust Café ",
                "<b>borrowck</b>",
                false,
            )
            .await
            .unwrap();
        assert_eq!(
            (info.slug.as_str(), info.title.as_str()),
            ("rust-caf", "Rust Café")
        );
        assert_eq!(
            info.topic, "<b>borrowck</b>",
            "stored as given; shown as text"
        );
        assert!(hub.room("rust-caf").is_some());
        assert_eq!(
            hub.create_room("user-bo-00001", "bo", "rust caf", "", false)
                .await,
            Err(AppError::RoomExists("rust-caf".into()))
        );
        assert_eq!(
            hub.create_room("user-ana-0001", "ana", "Another", "", false)
                .await,
            Err(AppError::RateLimited)
        );
    }
}
