//! One live room: its subscribers, who is present, and the task that stores its messages.
//!
//! Each room has a single writer task. Sends and changes of messages queue up in front of
//! it; it stores them in batches (one transaction each) and publishes them in seq order,
//! so every subscriber sees the room's events in the same order as the history.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::protocol::{
    ChatMessage, ErrorCode, NotifyLevel, RoomCount, RoomInfo, RoomKind, Seq, ServerEvent, Update,
};
use crate::server::chat::inbox::{Inboxes, Notice};
use crate::server::chat::links::first_web_link;
use crate::server::chat::presence::{NodeId, Present, Seen};
use crate::server::chat::relay::{self, Relays, Signal};
use crate::server::chat::sequencer::{Event, Sequencer};
use crate::server::chat::typing::TypingThrottle;
use crate::server::metrics::counters::{FANOUT_SECONDS, SEND_SECONDS};
use crate::server::names::name_key;
use crate::server::store::{
    Appended, Changed, MemberRecord, NewMessage, NewUpdate, Newest, RoomRecord, Store, StoreResult,
};
use crate::server::ws::send_queue::{Frame, SendQueue};

/// Sends waiting for the writer, per room. When it is full, senders are told to retry.
const WRITE_QUEUE: usize = 4_096;
/// How many queued sends the writer stores in one transaction.
const WRITE_BATCH: usize = 256;

pub use crate::server::chat::inbox::ConnId;

/// A connection as a room sees it.
pub struct Member<'a> {
    pub conn: ConnId,
    pub user: &'a str,
    pub name: &'a str,
    pub queue: &'a SendQueue,
}

/// A message on its way to the writer, with the connection that sent it, which is told
/// once the message is stored.
pub struct SendRequest {
    pub msg: NewMessage,
    pub from: ConnId,
    /// The sender's user id: nobody is alerted of their own message.
    pub user: String,
    /// User ids of the people it mentions (their names are in `msg`).
    pub mentioned: Vec<String>,
    pub reply: SendQueue,
    /// When its frame was read: the server's own share of a message's latency is
    /// measured from here to its last write (`natter_send_seconds`).
    pub received: Instant,
}

/// A change of a message on its way to the writer, with the connection that asked for
/// it (told once it is stored), or none when the server makes it.
pub struct ChangeRequest {
    pub update: NewUpdate,
    pub reply: Option<(ConnId, SendQueue)>,
}

/// Makes link cards in the background (`server::previews` on a real server; nothing in
/// most tests), so the chat never waits for a linked site. `offer` never waits: when the
/// maker is busy, the link simply gets no card.
pub trait LinkSink: Send + Sync + 'static {
    /// The message `target` of `room` links to `url`: make its card, and store it as a
    /// change of that message ([`Room::submit_change`]).
    fn offer(&self, room: Arc<Room>, target: Seq, url: String);
}

/// Where cards are made, once the server has set it.
pub type Links = Arc<std::sync::OnceLock<Arc<dyn LinkSink>>>;

/// What the writer task stores, in the order it came.
enum Request {
    Send(SendRequest),
    Change(ChangeRequest),
}

/// What every room shares with the hub.
/// Whether a person may write in a room now (a ban, a mute, a lock): asked once more by
/// the room's writer as it stores each message, so one that passed the socket's check
/// just before a ban is stored after the ban's notice never.
pub trait WriteGate: Send + Sync + 'static {
    /// Why `user` may not write in `room` now, if not.
    fn refuses(&self, room: &Room, user: &str) -> Option<String>;
}

#[derive(Clone)]
pub struct RoomEnv {
    pub store: Arc<dyn Store>,
    pub gate: Arc<dyn WriteGate>,
    /// Set when any room's online count or newest seq changes.
    pub counts_dirty: Arc<AtomicBool>,
    pub inboxes: Arc<Inboxes>,
    /// Where links in new messages go to get their cards.
    pub links: Links,
    /// Where stored events go for the other nodes, when there are any.
    pub relay: Relays,
}

pub struct Room {
    pub record: RoomRecord,
    live: Mutex<Live>,
    writer: mpsc::Sender<Request>,
    /// Who may see a private room or conversation (user id → name); empty for a public
    /// room, which everyone may see.
    members: Mutex<HashMap<String, String>>,
    /// How much people asked to hear of it, by user id, where they chose.
    prefs: Mutex<HashMap<String, NotifyLevel>>,
    /// When its newest message was stored.
    active_ms: AtomicI64,
    inboxes: Arc<Inboxes>,
    store: Arc<dyn Store>,
    gate: Arc<dyn WriteGate>,
    links: Links,
    relay: Relays,
    /// A task is filling a gap in the stream from the store (several nodes).
    filling: AtomicBool,
    /// Set when the room's online count or newest seq changes...
    changed: AtomicBool,
    /// ...and this one, shared by all rooms, so the hub's counts ticker looks at rooms
    /// only when one did.
    counts_dirty: Arc<AtomicBool>,
}

struct Live {
    /// The events published to subscribers, in seq order: up to which seq, and up to
    /// which message number (`ChatMessage::n`); with several nodes, also those held
    /// behind a gap.
    stream: Sequencer<Frame>,
    subscribers: HashMap<ConnId, SendQueue>,
    /// Present people by [`presence_key`], here or on other nodes: two tabs count once.
    present: Present,
    /// The user of each subscriber, so a user's typing goes to everyone but their own tabs.
    users: HashMap<ConnId, String>,
    /// When each user's typing was last passed on.
    typing: TypingThrottle,
}

impl Room {
    /// Creates the room and starts its writer task.
    pub fn start(
        record: RoomRecord,
        newest: Newest,
        members: Vec<MemberRecord>,
        env: &RoomEnv,
    ) -> Arc<Room> {
        let (writer, queue) = mpsc::channel(WRITE_QUEUE);
        let room = Arc::new(Room {
            active_ms: AtomicI64::new(record.active_ms),
            record,
            live: Mutex::new(Live {
                stream: Sequencer::new(newest.seq, newest.n),
                subscribers: HashMap::new(),
                present: Present::default(),
                users: HashMap::new(),
                typing: TypingThrottle::default(),
            }),
            writer,
            members: Mutex::new(members.into_iter().map(|m| (m.user_id, m.name)).collect()),
            prefs: Mutex::default(),
            inboxes: env.inboxes.clone(),
            store: env.store.clone(),
            gate: env.gate.clone(),
            links: env.links.clone(),
            relay: env.relay.clone(),
            filling: AtomicBool::new(false),
            changed: AtomicBool::new(false),
            counts_dirty: env.counts_dirty.clone(),
        });
        tokio::spawn(run_writer(room.clone(), env.store.clone(), queue));
        room
    }

    pub fn kind(&self) -> RoomKind {
        self.record.kind
    }

    pub fn is_public(&self) -> bool {
        self.record.kind == RoomKind::Public
    }

    /// Whether `user` may see, read and write in this room.
    pub fn admits(&self, user: &str) -> bool {
        self.is_public() || lock(&self.members).contains_key(user)
    }

    pub fn is_owner(&self, user: &str) -> bool {
        self.record.owner.as_deref() == Some(user)
    }

    /// The members of a private room or conversation: (user id, name), by name.
    pub fn members(&self) -> Vec<(String, String)> {
        let mut members: Vec<(String, String)> = lock(&self.members)
            .iter()
            .map(|(user, name)| (user.clone(), name.clone()))
            .collect();
        members.sort_by_key(|(_, name)| name.to_lowercase());
        members
    }

    pub fn member_count(&self) -> usize {
        lock(&self.members).len()
    }

    /// A member's name, when `user` is one.
    pub fn member_name(&self, user: &str) -> Option<String> {
        lock(&self.members).get(user).cloned()
    }

    /// Adds a member; returns whether they were not one already.
    pub fn add_member(&self, user: &str, name: &str) -> bool {
        lock(&self.members)
            .insert(user.to_owned(), name.to_owned())
            .is_none()
    }

    /// Removes a member; returns whether they were one.
    pub fn remove_member(&self, user: &str) -> bool {
        lock(&self.members).remove(user).is_some()
    }

    /// How much `user` hears of this room.
    pub fn notify_level(&self, user: &str) -> NotifyLevel {
        self.chosen_level(user)
            .unwrap_or_else(|| NotifyLevel::default_for(self.kind()))
    }

    /// What `user` chose to hear of this room, if they chose.
    pub fn chosen_level(&self, user: &str) -> Option<NotifyLevel> {
        lock(&self.prefs).get(user).copied()
    }

    pub fn set_notify_level(&self, user: &str, level: NotifyLevel) {
        lock(&self.prefs).insert(user.to_owned(), level);
    }

    pub fn active_ms(&self) -> i64 {
        self.active_ms.load(Ordering::Relaxed)
    }

    pub fn slug(&self) -> &str {
        &self.record.slug
    }

    pub fn info(&self) -> RoomInfo {
        RoomInfo {
            slug: self.record.slug.clone(),
            title: self.record.title.clone(),
            topic: self.record.topic.clone(),
            online: self.online_count(),
            latest: self.newest_message(),
            kind: self.kind(),
            active_ms: self.active_ms(),
            ..RoomInfo::default()
        }
    }

    /// The room's line in a `counts` event.
    pub fn count(&self) -> RoomCount {
        let live = self.live();
        RoomCount {
            slug: self.record.slug.clone(),
            online: live.present.len() as u32,
            latest: live.stream.messages(),
        }
    }

    /// Whether the room changed since the last call: its line is due in the next
    /// `counts`.
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::Relaxed)
    }

    fn mark_changed(&self) {
        self.changed.store(true, Ordering::Relaxed);
        self.counts_dirty.store(true, Ordering::Relaxed);
    }

    pub fn online_count(&self) -> u32 {
        self.live().present.len() as u32
    }

    /// The user ids of everyone subscribed now, each once.
    pub fn subscribed_users(&self) -> Vec<String> {
        let users: std::collections::HashSet<String> =
            self.live().users.values().cloned().collect();
        users.into_iter().collect()
    }

    /// Whether anyone on this node is subscribed.
    pub fn has_subscribers(&self) -> bool {
        !self.live().subscribers.is_empty()
    }

    /// Seq of the newest event pushed to subscribers.
    pub fn published(&self) -> Seq {
        self.live().stream.published()
    }

    /// Number of the newest message pushed to subscribers: read marks go no further.
    pub fn newest_message(&self) -> Seq {
        self.live().stream.messages()
    }

    /// Names of the users here now, sorted case-insensitively.
    pub fn online(&self) -> Vec<String> {
        let mut names: Vec<String> = self.live().present.names().map(str::to_owned).collect();
        names.sort_by_key(|n| n.to_lowercase());
        names
    }

    /// Adds a subscriber and returns the seq it starts after: every message with a higher
    /// seq will be pushed to it. Announces the user when this is their first tab here.
    pub fn subscribe(&self, member: Member<'_>) -> Seq {
        let mut live = self.live();
        live.subscribers.insert(member.conn, member.queue.clone());
        live.users.insert(member.conn, member.user.to_owned());
        let key = presence_key(member.user, member.name);
        let (seen, first_here) = live.present.open_tab(key, member.user, member.name);
        let recipients = self.announce(&mut live, seen);
        let published = live.stream.published();
        drop(live);
        send_all(recipients, None);
        if first_here {
            self.signal_presence(member.user, member.name, true);
        }
        published
    }

    /// Queues the announcement of someone's arrival or leaving for every subscriber;
    /// returns who to write to.
    fn announce(&self, live: &mut Live, seen: Seen) -> Vec<SendQueue> {
        let seq = live.stream.published();
        let room = self.record.slug.clone();
        let event = match seen {
            Seen::Same => return Vec::new(),
            Seen::Arrived(name) => ServerEvent::Joined { room, seq, name },
            Seen::Left(name) => ServerEvent::Left { room, seq, name },
        };
        live.queue_all(&event.encode().into());
        self.mark_changed();
        live.recipients()
    }

    /// Tells the other nodes that `user` has a first tab here, or no longer any.
    fn signal_presence(&self, user: &str, name: &str, here: bool) {
        if let Some(relay) = self.relay.get() {
            relay.signal(Signal::Presence {
                room: self.record.id,
                user: user.to_owned(),
                name: name.to_owned(),
                here,
            });
        }
    }

    /// Node `node` has (`here`) or no longer has tabs of `user`, as `name`, in this room.
    pub fn remote_presence(&self, node: NodeId, user: &str, name: &str, here: bool) {
        let mut live = self.live();
        let seen = live
            .present
            .remote(node, presence_key(user, name), user, name, here);
        let recipients = self.announce(&mut live, seen);
        drop(live);
        send_all(recipients, None);
    }

    /// Node `node` has tabs of exactly `people` (presence key → (user, name)) here.
    pub fn remote_lease(&self, node: NodeId, people: &HashMap<String, (String, String)>) {
        let mut live = self.live();
        let mut recipients = Vec::new();
        for seen in live.present.lease(node, people) {
            recipients = self.announce(&mut live, seen);
        }
        drop(live);
        send_all(recipients, None);
    }

    /// The people with a tab in this room on this node, (user, name).
    pub fn here(&self) -> Vec<(String, String)> {
        self.live()
            .present
            .here()
            .map(|(user, name)| (user.to_owned(), name.to_owned()))
            .collect()
    }

    /// Stops pushing events to `conn`. Returns whether it was subscribed; if so, the
    /// caller owes a [`Room::release`] for its user.
    pub fn unsubscribe(&self, conn: ConnId) -> bool {
        let mut live = self.live();
        live.users.remove(&conn);
        live.subscribers.remove(&conn).is_some()
    }

    /// Drops one tab of `user` under `name` from the room's presence; announces their
    /// leaving when it was the last. Kept apart from [`Room::unsubscribe`] so that a
    /// dropped connection can linger for a moment (see the hub) and a reload does not read
    /// "left, joined".
    pub fn release(&self, user: &str, name: &str) {
        let key = presence_key(user, name);
        let mut live = self.live();
        let (seen, last_here) = live.present.close_tab(&key);
        let recipients = self.announce(&mut live, seen);
        drop(live);
        send_all(recipients, None);
        if last_here {
            self.signal_presence(user, name, false);
        }
    }

    /// Hands a message to the writer. Fails at once, rather than waiting, when the room's
    /// write queue is full.
    pub fn submit(&self, request: SendRequest) -> Result<(), ErrorCode> {
        self.writer
            .try_send(Request::Send(request))
            .map_err(|_| ErrorCode::Unavailable)
    }

    /// Hands a change of a message to the writer, behind the messages sent before it.
    /// Fails at once when the room's write queue is full.
    pub fn submit_change(&self, request: ChangeRequest) -> Result<(), ErrorCode> {
        self.writer
            .try_send(Request::Change(request))
            .map_err(|_| ErrorCode::Unavailable)
    }

    /// [`Room::submit_change`], giving the request back when the queue is full, for a
    /// caller that would rather wait than drop it.
    pub fn submit_change_or_return(
        &self,
        request: ChangeRequest,
    ) -> Result<(), Box<ChangeRequest>> {
        self.writer
            .try_send(Request::Change(request))
            .map_err(|err| match err.into_inner() {
                Request::Change(request) => Box::new(request),
                Request::Send(_) => unreachable!("a change was sent"),
            })
    }

    /// Sends newly stored messages to every subscriber, in seq order. Each subscriber's
    /// socket gets the whole batch in one write. A sender learns its message is stored
    /// from that same event or, when not subscribed, from an `ack`.
    fn publish(self: &Arc<Self>, stored: Vec<Stored>) {
        let mut timing = Timing {
            stored_at: Instant::now(),
            received: Vec::with_capacity(stored.len()),
        };
        let mut unconfirmed = Vec::with_capacity(stored.len());
        let mut attention = Vec::new();
        // Alerts cost a copy of the message; most messages in a public room need none.
        let anyone_listens = !self.is_public()
            || lock(&self.prefs)
                .values()
                .any(|level| *level == NotifyLevel::Everything);
        // Encoded once, outside the lock; every subscriber gets the same bytes.
        let relay = self.relay.get();
        let mut relayed = Vec::new();
        let events: Vec<Event<Frame>> = stored
            .into_iter()
            .map(|stored| {
                let Stored {
                    msg,
                    from,
                    user,
                    mentioned,
                    reply,
                    received,
                } = stored;
                timing.received.push(received);
                let (seq, n) = (msg.seq, msg.n);
                unconfirmed.push((from, reply, msg.cid.clone(), seq));
                self.active_ms.fetch_max(msg.at_ms, Ordering::Relaxed);
                if anyone_listens || !mentioned.is_empty() {
                    attention.push((msg.clone(), user, mentioned));
                }
                let json = ServerEvent::Message {
                    room: self.record.slug.clone(),
                    msg,
                }
                .encode();
                let frame = Frame::text(&json);
                if relay.is_some() {
                    relayed.push((seq, Some(n), json));
                }
                Event {
                    seq,
                    n: Some(n),
                    frame,
                }
            })
            .collect();
        self.relay_out(relay, &relayed);
        let recipients = {
            let mut live = self.live();
            live.admit(events);
            unconfirmed.retain(|(from, ..)| !live.subscribers.contains_key(from));
            live.recipients()
        };
        self.fill_gaps();
        // Readers elsewhere count them as unread.
        self.mark_changed();
        for (_, reply, cid, seq) in unconfirmed {
            self.ack(&reply, cid, seq);
        }
        send_all(recipients, Some(timing));
        for (msg, author, mentioned) in attention {
            self.alert(&msg, &author, &mentioned);
        }
    }

    /// Sends newly stored changes to every subscriber, in seq order, like messages. One
    /// asked for by a connection not subscribed here is confirmed to it by an `ack`.
    fn publish_changes(self: &Arc<Self>, stored: Vec<(Update, Option<(ConnId, SendQueue)>)>) {
        let mut askers = Vec::new();
        let relay = self.relay.get();
        let mut relayed = Vec::new();
        let events: Vec<Event<Frame>> = stored
            .into_iter()
            .map(|(update, reply)| {
                let seq = update.seq;
                if let Some((from, queue)) = reply {
                    askers.push((from, queue, update.cid.clone(), seq));
                }
                let json = ServerEvent::Update {
                    room: self.record.slug.clone(),
                    update,
                }
                .encode();
                let frame = Frame::text(&json);
                if relay.is_some() {
                    relayed.push((seq, None, json));
                }
                Event {
                    seq,
                    n: None,
                    frame,
                }
            })
            .collect();
        self.relay_out(relay, &relayed);
        let recipients = {
            let mut live = self.live();
            live.admit(events);
            askers.retain(|(from, ..)| !live.subscribers.contains_key(from));
            live.recipients()
        };
        self.fill_gaps();
        for (_, queue, cid, seq) in askers {
            self.ack(&queue, cid, seq);
        }
        send_all(recipients, None);
    }

    /// Tells the people a message concerns, wherever they are: those it mentions, and
    /// those who hear everything of this room. Mentions are noted for their badges.
    fn alert(&self, msg: &ChatMessage, author: &str, mentioned: &[String]) {
        let level_of = |user: &str| self.notify_level(user);
        let mut to: Vec<(String, bool)> = mentioned
            .iter()
            .filter(|user| *user != author && self.admits(user))
            .map(|user| (user.clone(), true))
            .collect();
        let hears_all: Vec<String> = if self.is_public() {
            lock(&self.prefs)
                .iter()
                .filter(|(_, level)| **level == NotifyLevel::Everything)
                .map(|(user, _)| user.clone())
                .collect()
        } else {
            lock(&self.members).keys().cloned().collect()
        };
        for user in hears_all {
            if user != author && !to.iter().any(|(u, _)| *u == user) {
                to.push((user, false));
            }
        }
        if !mentioned.is_empty() {
            let (store, users, room, seq) = (
                self.store.clone(),
                mentioned.to_vec(),
                self.record.id,
                msg.n,
            );
            tokio::spawn(async move {
                if let Err(err) = store.set_mentioned(&users, room, seq).await {
                    tracing::warn!(%err, "noting a mention failed");
                }
            });
        }
        let excerpt: String = msg.text.chars().take(ALERT_CHARS).collect();
        let frame = |mention| -> Frame {
            ServerEvent::Alert {
                room: self.record.slug.clone(),
                n: msg.n,
                name: msg.author.clone(),
                text: excerpt.clone(),
                mention,
            }
            .encode()
            .into()
        };
        let (plain, mentioning) = (frame(false), frame(true));
        for (user, mention) in to {
            // A mention still badges the room for someone who hears nothing of it; they
            // are just not notified.
            let wanted = level_of(&user).wants(mention);
            if !wanted && !mention {
                continue;
            }
            let frame = if mention { &mentioning } else { &plain };
            let notice = || Notice {
                room: self.record.slug.clone(),
                seq: msg.seq,
                title: match self.kind() {
                    RoomKind::Direct => msg.author.clone(),
                    _ => format!("{} in #{}", msg.author, self.record.title),
                },
                body: excerpt.clone(),
            };
            if wanted {
                self.inboxes.alert(&user, frame, notice);
            } else {
                self.inboxes.send(&user, frame);
            }
        }
    }

    /// `user`, as `name`, is typing on the subscriber `conn`: tells the room's other
    /// people, unless `conn` is not subscribed here (ignored: it learns nothing) or the
    /// user's typing was passed on less than [`TYPING_EVERY`] ago, from any tab. Nothing is
    /// stored; the event goes only to sockets with nothing waiting (see
    /// [`SendQueue::offer`]). Returns whether it was passed on.
    ///
    /// [`TYPING_EVERY`]: crate::server::chat::typing::TYPING_EVERY
    pub fn typing(&self, conn: ConnId, user: &str, name: &str, now: std::time::Instant) -> bool {
        {
            let mut live = self.live();
            if !live.subscribers.contains_key(&conn) || !live.typing.may_pass(user, now) {
                return false;
            }
        }
        if let Some(relay) = self.relay.get() {
            relay.signal(Signal::Typing {
                room: self.record.id,
                user: user.to_owned(),
                name: name.to_owned(),
            });
        }
        self.tell_typing(user, name);
        true
    }

    /// Tells this node's subscribers but `user`'s own tabs that `user` is typing.
    pub fn tell_typing(&self, user: &str, name: &str) {
        let others: Vec<SendQueue> = {
            let live = self.live();
            live.subscribers
                .iter()
                .filter(|(id, _)| live.users.get(*id).is_none_or(|u| u != user))
                .map(|(_, queue)| queue.clone())
                .collect()
        };
        // Encoded once, outside the lock; written with no lock held.
        let event = ServerEvent::Typing {
            room: self.record.slug.clone(),
            name: name.to_owned(),
        };
        let frame: Frame = event.encode().into();
        for queue in others {
            queue.offer(&frame);
        }
    }

    /// Rings the other nodes with events this node stored, once per batch.
    fn relay_out(
        &self,
        relay: Option<&Arc<dyn relay::Relay>>,
        events: &[(Seq, Option<Seq>, String)],
    ) {
        if let Some(relay) = relay.filter(|_| !events.is_empty()) {
            let batch = relay::encode(
                events
                    .iter()
                    .map(|(seq, n, json)| (*seq, *n, json.as_str())),
            );
            relay.stored(self.record.id, batch);
        }
    }

    /// Events another node stored in this room (relayed): published in seq order with
    /// this node's own, each once.
    pub fn receive(self: &Arc<Self>, events: Vec<Event<String>>) {
        let events: Vec<Event<Frame>> = events
            .into_iter()
            .map(|e| Event {
                seq: e.seq,
                n: e.n,
                frame: Frame::text(&e.frame),
            })
            .collect();
        if events.iter().any(|e| e.n.is_some()) {
            self.active_ms
                .fetch_max(crate::server::clock::now_ms(), Ordering::Relaxed);
        }
        let recipients = {
            let mut live = self.live();
            live.admit(events);
            live.recipients()
        };
        self.mark_changed();
        send_all(recipients, None);
        self.fill_gaps();
    }

    /// Fills a gap in the stream from the store, when events wait behind one: after a
    /// moment (the relay may still bring what is missing), then until none is left.
    /// One task at a time per room.
    fn fill_gaps(self: &Arc<Self>) {
        if self.live().stream.gap().is_none() || self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let room = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GAP_WAIT).await;
            loop {
                let gap = room.live().stream.gap();
                let Some((after, upto)) = gap else {
                    break;
                };
                let result = room.catch_up(after, upto).await;
                if let Err(err) = &result {
                    tracing::warn!(room = %room.record.slug, %err, "filling a gap failed");
                }
                // The store cannot have fallen short (an event is relayed once committed,
                // after every lower seq), but if it did, it is asked again calmly.
                if result.is_err() || room.live().stream.gap() == gap {
                    tokio::time::sleep(GAP_WAIT).await;
                }
            }
            room.filling.store(false, Ordering::Release);
            // An event held while the flag was still set would have found it taken.
            if room.live().stream.gap().is_some() {
                room.fill_gaps();
            }
        });
    }

    /// Makes sure every event up to `seq` is published, reading what is missing from
    /// the store (in the background).
    pub fn catch_up_to(self: &Arc<Self>, seq: Seq) {
        let published = self.published();
        if seq <= published {
            return;
        }
        let room = self.clone();
        tokio::spawn(async move {
            if let Err(err) = room.catch_up(published, seq).await {
                tracing::warn!(room = %room.record.slug, %err, "catching up failed");
            }
        });
    }

    /// Publishes the events with `after` < seq <= `upto` from the store, in seq order.
    pub async fn catch_up(self: &Arc<Self>, mut after: Seq, upto: Seq) -> StoreResult<()> {
        let id = self.record.id;
        while after < upto {
            let limit = (upto - after).min(CATCH_UP_PAGE as Seq) as u32;
            let messages = self.store.range(id, after, upto, limit).await?;
            let updates = self.store.updates(id, after, upto, limit).await?;
            // A kind cut short by the limit is complete only up to its last seq.
            let complete = |seqs: Vec<Seq>| match seqs.len() as u32 == limit {
                true => seqs.last().copied().unwrap_or(upto),
                false => upto,
            };
            let end = complete(messages.iter().map(|m| m.seq).collect())
                .min(complete(updates.iter().map(|u| u.seq).collect()));
            let mut events: Vec<Event<String>> = messages
                .into_iter()
                .filter(|msg| msg.seq <= end)
                .map(|msg| Event {
                    seq: msg.seq,
                    n: Some(msg.n),
                    frame: ServerEvent::Message {
                        room: self.record.slug.clone(),
                        msg,
                    }
                    .encode(),
                })
                .chain(updates.into_iter().filter(|u| u.seq <= end).map(|update| {
                    Event {
                        seq: update.seq,
                        n: None,
                        frame: ServerEvent::Update {
                            room: self.record.slug.clone(),
                            update,
                        }
                        .encode(),
                    }
                }))
                .collect();
            events.sort_by_key(|e| e.seq);
            self.receive(events);
            after = end;
        }
        Ok(())
    }

    fn ack(&self, reply: &SendQueue, cid: String, seq: Seq) {
        let event = ServerEvent::Ack {
            room: self.record.slug.clone(),
            cid,
            seq,
        };
        reply.push(&event.encode().into());
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding this lock cannot leave `Live` half-updated in a way that
        // matters more than losing the room, so carry on with the data.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How much of a message an alert carries: enough for a notification.
const ALERT_CHARS: usize = 200;

/// A stored message on its way to subscribers, with who sent it.
struct Stored {
    msg: ChatMessage,
    from: ConnId,
    user: String,
    mentioned: Vec<String>,
    reply: SendQueue,
    received: Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One person under one name: someone who renames shows up under the new name at once
/// while the old one leaves like any closed tab.
pub(super) fn presence_key(user: &str, name: &str) -> String {
    // User ids never contain '/', so the key is unambiguous.
    format!("{user}/{}", name_key(name))
}

/// How long events wait behind a gap for the relay to bring what is missing, before
/// it is read from the store.
const GAP_WAIT: std::time::Duration = std::time::Duration::from_millis(25);
/// Events read from the store at once when filling a gap.
const CATCH_UP_PAGE: usize = 512;

impl Live {
    /// Publishes `events` in seq order (see [`Sequencer`]): each subscriber's queue gets
    /// those that are next, to be sent once the lock is let go.
    fn admit(&mut self, events: Vec<Event<Frame>>) {
        let Live {
            stream,
            subscribers,
            ..
        } = self;
        let mut passed = 0;
        for event in events {
            stream.admit(event, |ready| {
                passed += 1;
                for queue in subscribers.values() {
                    queue.queue(&ready.frame);
                }
            });
        }
        crate::server::metrics::counters::DELIVERIES.increment((passed * subscribers.len()) as u64);
    }

    /// Queues `frame` for every subscriber, to be sent once the lock is let go (see
    /// [`send_all`]). Never blocks: a full queue cuts that one subscriber off, and its
    /// connection task cleans up.
    fn queue_all(&self, frame: &Frame) {
        for queue in self.subscribers.values() {
            queue.queue(frame);
        }
    }

    fn recipients(&self) -> Vec<SendQueue> {
        self.subscribers.values().cloned().collect()
    }
}

/// Recipients one task writes to. A room with more shares its writes out over the
/// runtime's threads: one thread writing to 15,000 sockets in turn made the last member
/// wait for all the others. natter-bench `bigroom`, one message a second, on this
/// project's 2-core VM: from commit to last write 136 ms in turn, 82–87 ms shared out in
/// parts of 1,024 (84 ms in parts of 256); p99 140 → 113–126 ms. Each write costs ~11 µs
/// of kernel time here (loopback TCP, waking the reader), which is now the limit.
const WRITES_PER_TASK: usize = 1_024;

/// Writes what was queued for `recipients`, outside the room's lock: a socket write is
/// never made while holding it. Each recipient's frames are already queued in the room's
/// order, so whichever task writes them, each socket gets them in that order.
/// `timing`, for messages: the time until the last write is recorded.
fn send_all(recipients: Vec<SendQueue>, timing: Option<Timing>) {
    write_in_parts(recipients, WRITES_PER_TASK, timing);
}

/// When a batch of messages was stored, and when each was read off its sender's socket.
struct Timing {
    stored_at: Instant,
    received: Vec<Instant>,
}

impl Timing {
    /// The batch is written to every subscriber.
    fn record(&self) {
        FANOUT_SECONDS.record(self.stored_at.elapsed());
        for received in &self.received {
            SEND_SECONDS.record(received.elapsed());
        }
    }
}

/// [`send_all`] with parts of `per_task` recipients: the first written here, the others
/// by tasks of their own.
fn write_in_parts(recipients: Vec<SendQueue>, per_task: usize, timing: Option<Timing>) {
    let runtime = tokio::runtime::Handle::try_current();
    if recipients.len() <= per_task || runtime.is_err() {
        for queue in &recipients {
            queue.send();
        }
        if let Some(timing) = timing {
            timing.record();
        }
        return;
    }
    let parts = recipients.len().div_ceil(per_task);
    let shared = Arc::new(SharedWrites {
        recipients,
        per_task,
        unfinished: AtomicUsize::new(parts),
        timing,
    });
    if let Ok(runtime) = runtime {
        for part in 1..parts {
            let shared = shared.clone();
            runtime.spawn(async move { shared.write(part) });
        }
    }
    shared.write(0);
}

/// The recipients of a big room's events, written by several tasks (see [`send_all`]).
struct SharedWrites {
    recipients: Vec<SendQueue>,
    per_task: usize,
    /// Parts not yet written: the last task to finish records the time.
    unfinished: AtomicUsize,
    timing: Option<Timing>,
}

impl SharedWrites {
    fn write(&self, part: usize) {
        let start = part * self.per_task;
        let end = (start + self.per_task).min(self.recipients.len());
        for queue in &self.recipients[start..end] {
            queue.send();
        }
        if self.unfinished.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(timing) = &self.timing {
                timing.record();
            }
        }
    }
}

/// Who sent a message: connection, user, the user ids it mentions, where to confirm, and
/// when its frame was read.
type Sender = (ConnId, String, Vec<String>, SendQueue, Instant);

async fn run_writer(room: Arc<Room>, store: Arc<dyn Store>, mut queue: mpsc::Receiver<Request>) {
    let mut requests = Vec::with_capacity(WRITE_BATCH);
    while queue.recv_many(&mut requests, WRITE_BATCH).await > 0 {
        // In the order they came: each run of sends, then each run of changes.
        let mut sends = Vec::new();
        let mut changes = Vec::new();
        for request in requests.drain(..) {
            match request {
                Request::Send(send) => {
                    if let Some(why) = room.gate.refuses(&room, &send.user) {
                        let event = ServerEvent::Error {
                            code: ErrorCode::NotAllowed,
                            message: why,
                            cid: Some(send.msg.cid),
                        };
                        send.reply.push(&event.encode().into());
                        continue;
                    }
                    if !changes.is_empty() {
                        store_changes(&room, &store, std::mem::take(&mut changes)).await;
                    }
                    sends.push(send);
                }
                Request::Change(change) => {
                    if !sends.is_empty() {
                        store_sends(&room, &store, std::mem::take(&mut sends)).await;
                    }
                    changes.push(change);
                }
            }
        }
        if !sends.is_empty() {
            store_sends(&room, &store, sends).await;
        }
        if !changes.is_empty() {
            store_changes(&room, &store, changes).await;
        }
    }
}

/// Stores a run of sends, then publishes them; links in them go to get their cards.
async fn store_sends(room: &Arc<Room>, store: &Arc<dyn Store>, requests: Vec<SendRequest>) {
    let (batch, senders): (Vec<NewMessage>, Vec<Sender>) = requests
        .into_iter()
        .map(|r| (r.msg, (r.from, r.user, r.mentioned, r.reply, r.received)))
        .unzip();
    // Nothing is published before the commit: a confirmed message survives a crash.
    match store.append(room.record.id, &batch).await {
        Ok(outcomes) => {
            let mut stored = Vec::with_capacity(outcomes.len());
            for ((new, (from, user, mentioned, reply, received)), outcome) in
                batch.into_iter().zip(senders).zip(outcomes)
            {
                match outcome {
                    Appended::Stored(at) => stored.push(Stored {
                        msg: ChatMessage {
                            seq: at.seq,
                            n: at.n,
                            cid: new.cid,
                            author: new.author,
                            text: new.text,
                            at_ms: new.at_ms,
                            mentions: new.mentions,
                            doc: new.doc,
                            file: new.file,
                            reply: new.reply,
                            ..ChatMessage::default()
                        },
                        from,
                        user,
                        mentioned,
                        reply,
                        received,
                    }),
                    // A retry of a message the room already has: confirm it to the
                    // sender only. (With several nodes, it may have been stored by a node
                    // that died before telling the others: read it from the store.)
                    Appended::Duplicate(msg) => {
                        room.catch_up_to(msg.seq);
                        room.ack(&reply, msg.cid, msg.seq);
                    }
                }
            }
            // Links are looked for only where cards are made (not with previews off).
            let sink = room.links.get();
            let links: Vec<(Seq, String)> = stored
                .iter()
                .filter(|_| sink.is_some())
                .filter_map(|s| Some((s.msg.seq, first_web_link(&s.msg)?.to_owned())))
                .collect();
            room.publish(stored);
            if let Some(sink) = sink {
                for (seq, url) in links {
                    sink.offer(room.clone(), seq, url);
                }
            }
        }
        Err(err) => {
            tracing::error!(room = %room.record.slug, %err, "storing messages failed");
            for (new, (_, _, _, sender, _)) in batch.into_iter().zip(senders) {
                let event = ServerEvent::Error {
                    code: ErrorCode::Unavailable,
                    message: "The message could not be stored; try again.".into(),
                    cid: Some(new.cid),
                };
                sender.push(&event.encode().into());
            }
        }
    }
}

/// Stores a run of changes, then publishes them.
async fn store_changes(room: &Arc<Room>, store: &Arc<dyn Store>, requests: Vec<ChangeRequest>) {
    let (batch, replies): (Vec<NewUpdate>, Vec<_>) =
        requests.into_iter().map(|r| (r.update, r.reply)).unzip();
    let refuse = |reply: Option<(ConnId, SendQueue)>, cid: String, code, message: &str| {
        if let Some((_, queue)) = reply {
            let event = ServerEvent::Error {
                code,
                message: message.to_owned(),
                cid: Some(cid),
            };
            queue.push(&event.encode().into());
        }
    };
    match store.change(room.record.id, &batch).await {
        Ok(outcomes) => {
            let mut stored = Vec::with_capacity(outcomes.len());
            for ((new, reply), outcome) in batch.into_iter().zip(replies).zip(outcomes) {
                match outcome {
                    Changed::Stored(update) => stored.push((update, reply)),
                    Changed::Duplicate(update) => {
                        room.catch_up_to(update.seq);
                        if let Some((_, queue)) = reply {
                            room.ack(&queue, update.cid, update.seq);
                        }
                    }
                    Changed::NoTarget => refuse(
                        reply,
                        new.cid,
                        ErrorCode::BadMessage,
                        "That message cannot be changed: it is gone, or not yours.",
                    ),
                    Changed::TooManyReactions => refuse(
                        reply,
                        new.cid,
                        ErrorCode::BadMessage,
                        "That message has all the kinds of reaction it can take.",
                    ),
                }
            }
            room.publish_changes(stored);
        }
        Err(err) => {
            tracing::error!(room = %room.record.slug, %err, "storing changes failed");
            for (new, reply) in batch.into_iter().zip(replies) {
                refuse(
                    reply,
                    new.cid,
                    ErrorCode::Unavailable,
                    "The change could not be stored; try again.",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::server::ws::send_queue::{socket_pair, QueueBound};
    use crate::server::ws::Frame;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_big_rooms_writes_are_shared_out_and_each_socket_gets_every_frame_in_order() {
        let bound = QueueBound {
            frames: 16,
            bytes: 1 << 16,
        };
        let (mut queues, mut clients) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            let (server, client) = socket_pair().await;
            let queue = SendQueue::new(bound, server);
            queue.greet(&[]);
            queues.push(queue);
            clients.push(client);
        }
        let frames: Vec<Frame> = (0..3).map(|i| Frame::text(&format!("event {i}"))).collect();
        for frame in &frames {
            for queue in &queues {
                assert!(queue.queue(frame));
            }
        }
        // Four parts of two: three of them written by tasks of their own.
        write_in_parts(queues, 2, None);
        let want: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
        for mut client in clients {
            let mut got = vec![0; want.len()];
            tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got))
                .await
                .expect("every recipient is written to")
                .unwrap();
            assert_eq!(got, want);
        }
    }
}
