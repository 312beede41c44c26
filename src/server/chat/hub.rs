//! The hub: every room and every connection of this server, the names in use, and the
//! limits that hold across connections (per user, per address).
//!
//! Connections register here once their session is known; server functions find them by
//! their token to subscribe them to rooms. Online counts for the room list are sent to every
//! connection at most every [`COUNTS_EVERY`], however many joins happen in between.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::protocol::{
    name_key, normalize_name, normalize_room, AppError, HistoryPage, JoinedRoom, RoomCount,
    RoomInfo, Seq, ServerEvent, HISTORY_PAGE,
};
use crate::server::chat::room::{ConnId, Member, Room};
use crate::server::clock::now_ms;
use crate::server::rate_limit::keyed::KeyedLimiter;
use crate::server::rate_limit::{Rate, TokenBucket};
use crate::server::store::{Created, Store, StoreResult};
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
const MAX_ROOMS: usize = 1_000;
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
    store: Arc<dyn Store>,
    rooms: RwLock<Rooms>,
    conns: Mutex<HashMap<String, Arc<Conn>>>,
    names: Mutex<HashMap<String, NameClaim>>,
    per_addr: Mutex<HashMap<IpAddr, u32>>,
    sends: KeyedLimiter<String>,
    room_makers: KeyedLimiter<String>,
    limits: HubLimits,
    next_conn: AtomicU64,
    counts_dirty: Arc<AtomicBool>,
}

#[derive(Default)]
struct Rooms {
    /// In creation order, as the room list shows them.
    list: Vec<Arc<Room>>,
    by_slug: HashMap<String, Arc<Room>>,
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
    account: Option<i64>,
    addr: IpAddr,
    pub queue: SendQueue,
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
}

impl Hub {
    /// Loads the rooms, starts their writers and the counts ticker.
    pub async fn start(store: Arc<dyn Store>, limits: HubLimits) -> StoreResult<Arc<Hub>> {
        let counts_dirty = Arc::new(AtomicBool::new(false));
        let mut rooms = Rooms::default();
        for record in store.rooms().await? {
            let last = store.last_seq(record.id).await?;
            rooms.add(Room::start(
                record,
                last,
                store.clone(),
                counts_dirty.clone(),
            ));
        }
        let hub = Arc::new(Hub {
            store,
            rooms: RwLock::new(rooms),
            conns: Mutex::default(),
            names: Mutex::default(),
            per_addr: Mutex::default(),
            sends: KeyedLimiter::new(limits.sends),
            room_makers: KeyedLimiter::new(limits.new_rooms),
            limits,
            next_conn: AtomicU64::new(1),
            counts_dirty,
        });
        tokio::spawn(send_counts(Arc::downgrade(&hub)));
        Ok(hub)
    }

    pub fn room(&self, slug: &str) -> Option<Arc<Room>> {
        read(&self.rooms).by_slug.get(slug).cloned()
    }

    pub fn room_infos(&self) -> Vec<RoomInfo> {
        read(&self.rooms).list.iter().map(|r| r.info()).collect()
    }

    /// Creates a room titled `title` (its address made from the title) about `topic`,
    /// and tells everyone connected.
    pub async fn create_room(
        &self,
        user: &str,
        title: &str,
        topic: &str,
    ) -> Result<RoomInfo, AppError> {
        let (title, slug, topic) = normalize_room(title, topic).map_err(AppError::Invalid)?;
        if self.room(&slug).is_some() {
            return Err(AppError::RoomExists(slug));
        }
        if read(&self.rooms).list.len() >= MAX_ROOMS {
            return Err(AppError::Invalid(
                "This server has all the rooms it can hold.".into(),
            ));
        }
        if !self.room_makers.try_take(user, Instant::now()) {
            return Err(AppError::RateLimited);
        }
        let created = self
            .store
            .create_room(&slug, &title, &topic, now_ms())
            .await
            .map_err(AppError::server)?;
        let Created::Created(record) = created else {
            return Err(AppError::RoomExists(slug));
        };
        let room = Room::start(record, 0, self.store.clone(), self.counts_dirty.clone());
        let info = room.info();
        write(&self.rooms).add(room);
        self.broadcast(
            &ServerEvent::RoomAdded { room: info.clone() }
                .encode()
                .into(),
        );
        Ok(info)
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

    /// Checks that `name` is valid and free for `user`; returns it trimmed.
    pub fn check_name(&self, user: &str, name: &str) -> Result<String, AppError> {
        let name = normalize_name(name).map_err(AppError::BadName)?;
        match lock(&self.names).get(&name_key(&name)) {
            Some(claim) if claim.user != user => Err(AppError::NameTaken(name)),
            _ => Ok(name),
        }
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
        {
            let mut per_addr = lock(&self.per_addr);
            let count = per_addr.entry(addr).or_insert(0);
            if *count >= self.limits.conns_per_addr {
                return Err(AppError::TooManyConnections);
            }
            *count += 1;
        }
        {
            let mut names = lock(&self.names);
            let claim = names.entry(name_key(&name)).or_insert_with(|| NameClaim {
                user: user.to_owned(),
                conns: 0,
            });
            if claim.user != user {
                drop(names);
                self.release_addr(addr);
                return Err(AppError::NameTaken(name));
            }
            claim.conns += 1;
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
            joined: Mutex::default(),
            joins: Mutex::new(TokenBucket::new(JOIN_RATE)),
        });
        lock(&self.conns).insert(conn.token.clone(), conn.clone());
        Ok(conn)
    }

    /// Takes a closed connection out of its rooms. Its user stays present in those rooms,
    /// and keeps the name, for [`LEAVE_GRACE`].
    pub fn disconnect(self: &Arc<Self>, conn: &Conn) {
        lock(&self.conns).remove(&conn.token);
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
        if let Some(claim) = names.get_mut(&key) {
            claim.conns -= 1;
            if claim.conns == 0 {
                names.remove(&key);
            }
        }
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
        let room = self
            .room(slug)
            .ok_or_else(|| AppError::NoSuchRoom(slug.to_owned()))?;
        if let Some(old) = leave.filter(|old| *old != slug) {
            self.leave(conn, old);
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
                Some(room.subscribe(conn.member()))
            }
        };
        // Already subscribed (a repeated join): live messages continue after the newest
        // one published.
        let upto = start.unwrap_or_else(|| room.published());
        let (messages, has_more) = match after {
            Some(after) if after <= upto && upto - after <= MAX_CATCH_UP => {
                let missed = self
                    .store
                    .range(room.record.id, after, upto, MAX_CATCH_UP as u32)
                    .await
                    .map_err(AppError::server)?;
                (missed, after > 0)
            }
            _ => {
                let page = self
                    .store
                    .page_before(room.record.id, upto + 1, HISTORY_PAGE)
                    .await
                    .map_err(AppError::server)?;
                (page.messages, page.has_more)
            }
        };
        Ok(JoinedRoom {
            room: room.info(),
            online: room.online(),
            messages,
            has_more,
            upto,
        })
    }

    /// The page of messages of `slug` just before `before`, oldest first.
    pub async fn history(&self, slug: &str, before: Seq) -> Result<HistoryPage, AppError> {
        let room = self
            .room(slug)
            .ok_or_else(|| AppError::NoSuchRoom(slug.to_owned()))?;
        self.store
            .page_before(room.record.id, before, HISTORY_PAGE)
            .await
            .map_err(AppError::server)
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
    }

    /// Closes every connection, telling clients why.
    pub fn close_all(&self) {
        for conn in lock(&self.conns).values() {
            conn.queue.close(CloseReason::SHUTDOWN);
        }
    }

    /// Every room's count, for a connection that just arrived.
    pub fn all_counts(&self) -> Frame {
        let rooms = read(&self.rooms).list.iter().map(|r| r.count()).collect();
        ServerEvent::Counts { rooms }.encode().into()
    }

    /// The rooms that changed since last time, to everyone.
    fn broadcast_counts(&self) {
        let rooms: Vec<RoomCount> = read(&self.rooms)
            .list
            .iter()
            .filter(|r| r.take_changed())
            .map(|r| r.count())
            .collect();
        if !rooms.is_empty() {
            self.broadcast(&ServerEvent::Counts { rooms }.encode().into());
        }
    }

    /// Queues `frame` for every connection.
    fn broadcast(&self, frame: &Frame) {
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
        if hub.counts_dirty.swap(false, Ordering::Relaxed) {
            hub.broadcast_counts();
        }
    }
}

impl Rooms {
    fn add(&mut self, room: Arc<Room>) {
        self.by_slug.insert(room.slug().to_owned(), room.clone());
        self.list.push(room);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// 128 random bits, hex encoded.
fn random_token() -> String {
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
            .create_room("user-ana-0001", "  Rust Café ", "<b>borrowck</b>")
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
            hub.create_room("user-bo-00001", "rust caf", "").await,
            Err(AppError::RoomExists("rust-caf".into()))
        );
        assert_eq!(
            hub.create_room("user-ana-0001", "Another", "").await,
            Err(AppError::RateLimited)
        );
    }
}
