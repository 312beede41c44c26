//! The hub: every room and every connection of this server, and the names in use.
//!
//! Connections register here after their `hello`; server functions find them by their
//! token to subscribe them to rooms. Online counts for the room list are sent to every
//! connection at most every [`COUNTS_EVERY`], however many joins happen in between.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;

use super::outbox::{CloseReason, Frame, Outbox};
use super::rate_limit::{Rate, TokenBucket};
use super::room::{ConnId, Member, Room};
use super::store::{Store, StoreResult};
use crate::protocol::{
    name_key, normalize_name, AppError, HistoryPage, JoinedRoom, RoomCount, RoomInfo, Seq,
    ServerEvent, HISTORY_PAGE,
};

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

pub struct Hub {
    store: Arc<dyn Store>,
    rooms: Vec<Arc<Room>>,
    by_slug: HashMap<String, Arc<Room>>,
    conns: Mutex<HashMap<String, Arc<Conn>>>,
    names: Mutex<HashMap<String, NameClaim>>,
    next_conn: AtomicU64,
    counts_dirty: Arc<AtomicBool>,
}

/// A registered WebSocket connection.
pub struct Conn {
    pub id: ConnId,
    /// Unguessable: whoever holds it can subscribe this socket to rooms.
    pub token: String,
    pub user: String,
    pub name: String,
    pub outbox: Outbox,
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
            outbox: &self.outbox,
        }
    }

    fn joined(&self) -> MutexGuard<'_, Joined> {
        lock(&self.joined)
    }
}

impl Hub {
    /// Loads the rooms, starts their writers and the counts ticker.
    pub async fn start(store: Arc<dyn Store>) -> StoreResult<Arc<Hub>> {
        let counts_dirty = Arc::new(AtomicBool::new(false));
        let mut rooms = Vec::new();
        for record in store.rooms().await? {
            let last = store.last_seq(record.id).await?;
            rooms.push(Room::start(
                record,
                last,
                store.clone(),
                counts_dirty.clone(),
            ));
        }
        let by_slug = rooms
            .iter()
            .map(|r| (r.slug().to_owned(), r.clone()))
            .collect();
        let hub = Arc::new(Hub {
            store,
            rooms,
            by_slug,
            conns: Mutex::default(),
            names: Mutex::default(),
            next_conn: AtomicU64::new(1),
            counts_dirty,
        });
        tokio::spawn(send_counts(Arc::downgrade(&hub)));
        Ok(hub)
    }

    pub fn room(&self, slug: &str) -> Option<&Arc<Room>> {
        self.by_slug.get(slug)
    }

    pub fn room_infos(&self) -> Vec<RoomInfo> {
        self.rooms.iter().map(|r| r.info()).collect()
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

    /// Registers a connection under `name`, which no other user may hold while online.
    pub fn connect(&self, user: &str, name: &str, outbox: Outbox) -> Result<Arc<Conn>, AppError> {
        let name = normalize_name(name).map_err(AppError::BadName)?;
        {
            let mut names = lock(&self.names);
            let claim = names.entry(name_key(&name)).or_insert_with(|| NameClaim {
                user: user.to_owned(),
                conns: 0,
            });
            if claim.user != user {
                return Err(AppError::NameTaken(name));
            }
            claim.conns += 1;
        }
        let conn = Arc::new(Conn {
            id: self.next_conn.fetch_add(1, Ordering::Relaxed),
            token: random_token(),
            user: user.to_owned(),
            name,
            outbox,
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
            .ok_or_else(|| AppError::NoSuchRoom(slug.to_owned()))?
            .clone();
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
                    .map_err(server_error)?;
                (missed, after > 0)
            }
            _ => {
                let page = self
                    .store
                    .page_before(room.record.id, upto + 1, HISTORY_PAGE)
                    .await
                    .map_err(server_error)?;
                (page.messages, page.has_more)
            }
        };
        Ok(JoinedRoom {
            room: room.info(),
            online: room.online(),
            messages,
            has_more,
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
            .map_err(server_error)
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
            conn.outbox.close(CloseReason::SHUTDOWN);
        }
    }

    fn broadcast_counts(&self) {
        let rooms = self
            .rooms
            .iter()
            .map(|r| RoomCount {
                slug: r.slug().to_owned(),
                online: r.online_count(),
            })
            .collect();
        let frame: Frame = ServerEvent::Counts { rooms }.encode().into();
        let outboxes: Vec<Outbox> = lock(&self.conns)
            .values()
            .map(|c| c.outbox.clone())
            .collect();
        for outbox in outboxes {
            outbox.push(&frame);
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

fn server_error(err: impl std::fmt::Display) -> AppError {
    AppError::Server(err.to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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

    #[tokio::test]
    async fn a_join_racing_a_disconnect_leaves_nobody_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
        let hub = Hub::start(store).await.unwrap();
        let (outbox, _queue) = Outbox::new(super::super::outbox::QueueBound {
            frames: 8,
            bytes: 1 << 16,
        });
        let conn = hub.connect("user-ana-0001", "ana", outbox).unwrap();
        // The server function looked the connection up just before it closed.
        hub.disconnect(&conn);
        let joined = hub.join(&conn, "general", None, None).await;
        assert_eq!(joined, Err(AppError::NotConnected));
        assert_eq!(hub.room("general").unwrap().online_count(), 0);
    }
}
