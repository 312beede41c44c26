//! The page's reactive state, shared by every component through context, and how each
//! server event changes it.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::client::outbox::Outbox;
use crate::client::persist;
use crate::client::timeline::Timeline;
use crate::client::typing::{now_ms, Typists};
use crate::protocol::{
    AppError, ErrorCode, Me, NotifyLevel, RoomCount, RoomInfo, RoomKind, Seq, ServerEvent,
};

/// A message elsewhere that asked for the reader's attention (see `ServerEvent::Alert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub room: String,
    /// The message's number (`ChatMessage::n`).
    pub n: Seq,
    pub name: String,
    pub text: String,
    pub mention: bool,
}

/// Which account form is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Pick a name and chat as a guest (or change the guest name).
    Guest,
    LogIn,
    Register,
    ChangePassword,
    /// Delete one's own account (the password again, and what becomes of the messages).
    DeleteAccount,
}

/// The live connection, as the user should see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not started yet (server render, or no name chosen).
    Idle,
    Connecting,
    Online,
    /// Lost; trying again.
    Reconnecting,
    /// The browser says it has no network; waiting for it to come back.
    Offline,
}

impl Status {
    /// Its name in the page's `data-status` (the WASM is built without `Debug` output).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Connecting => "connecting",
            Status::Online => "online",
            Status::Reconnecting => "reconnecting",
            Status::Offline => "offline",
        }
    }
}

/// Who this browser is, and the account forms.
#[derive(Clone, Copy)]
pub struct Account {
    /// Who this browser is signed in as (a guest name or an account), once known.
    pub me: RwSignal<Option<Me>>,
    /// The server has said who we are (never true on the server), so a missing `me`
    /// really means "ask".
    pub loaded: RwSignal<bool>,
    /// Why the server refused the name, to show in the name form.
    pub name_problem: RwSignal<Option<String>>,
    /// The account form that is open, if any.
    pub dialog: RwSignal<Option<Dialog>>,
}

/// The tab's live connection, as far as the page needs to know it.
#[derive(Clone, Copy)]
pub struct Link {
    pub status: RwSignal<Status>,
    /// The token of this tab's socket, from `welcome`; a new one after every reconnect.
    pub conn: RwSignal<Option<String>>,
    /// The room the server has this socket in, as far as this tab knows.
    pub joined_room: RwSignal<Option<String>>,
    /// A problem worth telling the user that belongs to no message (too many tabs, …).
    pub alert: RwSignal<Option<String>>,
}

/// Every room, and how far this browser has read each.
#[derive(Clone, Copy)]
pub struct Rooms {
    /// As the room list shows them; rooms others create are added live.
    pub list: RwSignal<Vec<RoomInfo>>,
    /// Online counts and newest seqs by room slug, kept live by `counts` events.
    pub counts: RwSignal<HashMap<String, RoomCount>>,
    /// The newest seq the reader has seen, by room (see `unread`): this browser's marks,
    /// and for a registered user also those of their other devices.
    pub read: RwSignal<HashMap<String, Seq>>,
    /// The newest seq that mentions the reader, by room.
    pub mentions: RwSignal<HashMap<String, Seq>>,
    /// The newest alert, for a notification.
    pub alert: RwSignal<Option<Alert>>,
}

/// The room on screen.
#[derive(Clone, Copy)]
pub struct OpenRoom {
    pub timeline: RwSignal<Timeline>,
    /// Who is in it now.
    pub online: RwSignal<Vec<String>>,
    /// The members of a private room or conversation (empty for a public room).
    pub members: RwSignal<Vec<String>>,
    /// Who is typing in it now (never us), until when.
    pub typing: RwSignal<Typists>,
    /// The message the composer's next message answers.
    pub replying: RwSignal<Option<Seq>>,
    /// A message to show (a reply's original, a search hit, a link's): the message list
    /// brings it into view, fetching the history around it first if needed, then clears
    /// this.
    pub focus: RwSignal<Option<Seq>>,
}

/// The page around the chat: whether it is seen, the phone drawer, what it offers.
#[derive(Clone, Copy)]
pub struct Screen {
    /// The tab is in front of the reader (not hidden, not minimised).
    pub visible: RwSignal<bool>,
    /// The phone drawer with rooms and people is open.
    pub drawer_open: RwSignal<bool>,
    /// The user has sent a message on this page: a good moment to offer notifications.
    pub has_sent: RwSignal<bool>,
    /// A newer build of the app is installed and waits for a reload.
    pub update_ready: RwSignal<bool>,
    /// The browser offers to install the app.
    pub can_install: RwSignal<bool>,
    /// The name of the file being uploaded, if one is (a signal type the page has
    /// already: each new one costs the WASM its own code).
    pub upload: RwSignal<Option<String>>,
}

/// All of the page's state: what the live connection changes as events arrive. Views
/// take only the part they show, each provided through context on its own.
#[derive(Clone, Copy)]
pub struct Chat {
    pub account: Account,
    pub link: Link,
    pub rooms: Rooms,
    pub room: OpenRoom,
    /// Our messages not yet confirmed, in every room.
    pub outbox: RwSignal<Outbox>,
    pub screen: Screen,
}

impl Chat {
    pub fn new() -> Self {
        Chat {
            account: Account {
                me: RwSignal::new(None),
                loaded: RwSignal::new(false),
                name_problem: RwSignal::new(None),
                dialog: RwSignal::new(None),
            },
            link: Link {
                status: RwSignal::new(Status::Idle),
                conn: RwSignal::new(None),
                joined_room: RwSignal::new(None),
                alert: RwSignal::new(None),
            },
            rooms: Rooms {
                list: RwSignal::new(Vec::new()),
                counts: RwSignal::new(HashMap::new()),
                read: RwSignal::new(HashMap::new()),
                mentions: RwSignal::new(HashMap::new()),
                alert: RwSignal::new(None),
            },
            room: OpenRoom {
                timeline: RwSignal::new(Timeline::default()),
                online: RwSignal::new(Vec::new()),
                members: RwSignal::new(Vec::new()),
                typing: RwSignal::new(Typists::default()),
                replying: RwSignal::new(None),
                focus: RwSignal::new(None),
            },
            outbox: RwSignal::new(Outbox::default()),
            screen: Screen {
                visible: RwSignal::new(true),
                drawer_open: RwSignal::new(false),
                has_sent: RwSignal::new(false),
                update_ready: RwSignal::new(false),
                can_install: RwSignal::new(false),
                upload: RwSignal::new(None),
            },
        }
    }

    /// Makes the state, and each part of it, reachable through context.
    pub fn provide() -> Self {
        let chat = Chat::new();
        provide_context(chat);
        provide_context(chat.account);
        provide_context(chat.link);
        provide_context(chat.rooms);
        provide_context(chat.room);
        provide_context(chat.outbox);
        provide_context(chat.screen);
        chat
    }

    /// Applies one event from the socket.
    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Welcome { conn, name } => {
                self.account.me.update(|me| {
                    if let Some(me) = me {
                        me.name = name;
                    }
                });
                self.link.alert.set(None);
                self.link.status.set(Status::Online);
                self.link.conn.set(Some(conn));
            }
            ServerEvent::Message { room, msg } => {
                if self.remove_from_outbox(&msg.cid) {
                    self.link.alert.set(None);
                }
                if self.room.is(&room) {
                    self.room.stopped_typing(&msg.author);
                    // No counts come for the room one is in: its stream moves it up.
                    self.rooms.touch(std::slice::from_ref(&room));
                }
                self.room.change(&room, |t| t.add_message(msg));
            }
            // The message itself comes with the room's history or stream, like any other.
            ServerEvent::Ack { cid, .. } => {
                self.remove_from_outbox(&cid);
            }
            ServerEvent::Pong => {}
            ServerEvent::RoomAdded { room } => {
                // Made a moderator of the open room, or no longer: its lines are drawn
                // anew, with Remove in their menus or without.
                let moderator = room.moderator;
                let flips = self.rooms.info(&room.slug, |r| r.moderator != moderator);
                let open = self.room.is(&room.slug);
                self.rooms.learn(vec![room]);
                if open && flips == Some(true) {
                    self.room.timeline.update(|_| {});
                }
            }
            ServerEvent::RoomRemoved { room } => self.rooms.list.update(|list| {
                list.retain(|r| r.slug != room);
            }),
            ServerEvent::Alert {
                room,
                n,
                name,
                text,
                mention,
            } => {
                if mention {
                    self.rooms.mentions.update(|m| raise(m, &room, n));
                }
                self.rooms.alert.set(Some(Alert {
                    room,
                    n,
                    name,
                    text,
                    mention,
                }));
            }
            ServerEvent::Read { room, n } => self.rooms.read.update(|read| raise(read, &room, n)),
            ServerEvent::Update { room, update } => {
                self.remove_from_outbox(&update.cid);
                self.room.change(&room, |t| t.apply_update(&update));
            }
            ServerEvent::Joined { room, seq, name } => {
                if self.room.is(&room) {
                    self.room.online.update(|online| {
                        if !online.contains(&name) {
                            online.push(name.clone());
                            online.sort_by_key(|n| n.to_lowercase());
                        }
                    });
                    self.room
                        .change(&room, |t| t.add_notice(seq, format!("{name} joined")));
                }
            }
            ServerEvent::Left { room, seq, name } => {
                if self.room.is(&room) {
                    self.room
                        .online
                        .update(|online| online.retain(|n| *n != name));
                    self.room.stopped_typing(&name);
                    self.room
                        .change(&room, |t| t.add_notice(seq, format!("{name} left")));
                }
            }
            // Every room after `welcome`, then the ones that changed.
            ServerEvent::Counts { rooms } => {
                let moved: Vec<String> = self.rooms.counts.with_untracked(|counts| {
                    rooms
                        .iter()
                        .filter(|c| counts.get(&c.slug).is_some_and(|old| c.latest > old.latest))
                        .map(|c| c.slug.clone())
                        .collect()
                });
                self.rooms.counts.update(|counts| {
                    counts.extend(rooms.into_iter().map(|c| (c.slug.clone(), c)));
                });
                self.rooms.touch(&moved);
            }
            ServerEvent::Error { code, message, cid } => match (cid, code) {
                // Its room is gone: nowhere to show it, nothing to retry.
                (Some(cid), ErrorCode::NoSuchRoom) => {
                    self.remove_from_outbox(&cid);
                }
                // A change has no line to show its refusal on: the alert says it, and
                // it is not tried again unless the refusal may pass.
                (Some(cid), code)
                    if !code.is_transient()
                        && self.outbox.with_untracked(|o| o.is_change(&cid)) =>
                {
                    self.remove_from_outbox(&cid);
                    self.link.alert.set(Some(message));
                }
                (Some(cid), code) => {
                    // Retried by itself, but the user should know why it waits.
                    if code == ErrorCode::RateLimited {
                        self.link.alert.set(Some(message.clone()));
                    }
                    self.outbox.update(|outbox| {
                        if let Some(item) = outbox.refuse(&cid, message, code.is_transient()) {
                            persist::save_queued(item);
                        }
                    })
                }
                (None, ErrorCode::NameTaken | ErrorCode::BadName) => {
                    self.account.name_problem.set(Some(message));
                    self.account.dialog.set(Some(Dialog::Guest));
                }
                // The session ended (logged out elsewhere, password changed, expired).
                (None, ErrorCode::SignedOut) => self.account.signed_out(),
                // Too many tabs; put out of a room by a moderator.
                (None, ErrorCode::TooManyConnections | ErrorCode::NotAllowed) => {
                    self.link.alert.set(Some(message))
                }
                (None, _) => leptos::logging::warn!("server refused a frame: {message}"),
            },
            ServerEvent::Typing { room, name } => {
                if self.room.is(&room) {
                    self.room.typing.update(|t| t.typing(name, now_ms()));
                    #[cfg(feature = "hydrate")]
                    crate::client::typing::expire_later(self.room.typing);
                }
            }
        }
    }

    /// What sort of room `slug` is (public when unknown).
    pub fn room_kind(&self, slug: &str) -> RoomKind {
        self.rooms.info(slug, |r| r.kind).unwrap_or_default()
    }

    /// How much the reader hears of `slug`.
    pub fn notify_level(&self, slug: &str) -> NotifyLevel {
        self.rooms
            .info(slug, RoomInfo::notify_level)
            .unwrap_or(NotifyLevel::Mentions)
    }

    /// "#general", or a conversation's people.
    pub fn room_label(&self, slug: &str) -> String {
        self.rooms
            .info(slug, |r| match r.kind {
                RoomKind::Direct => r.title.clone(),
                _ => format!("#{}", r.title),
            })
            .unwrap_or_else(|| format!("#{slug}"))
    }

    /// Whether `name` is the reader's (names match whatever their case).
    /// Whether the reader may pin messages in `slug`: a private room's owner only (the
    /// server decides; this only hides what it would refuse).
    pub fn may_pin(&self, slug: &str) -> bool {
        self.rooms
            .info(slug, |r| {
                r.kind != RoomKind::Private || r.owner || r.moderator
            })
            .unwrap_or(true)
    }

    pub fn is_me(&self, name: &str) -> bool {
        self.account.me.with_untracked(|me| {
            me.as_ref()
                .is_some_and(|me| me.name.to_lowercase() == name.to_lowercase())
        })
    }

    /// Takes a message out of the outbox, here and in storage; returns whether it was
    /// there.
    pub fn remove_from_outbox(&self, cid: &str) -> bool {
        let held = self.outbox.with_untracked(|outbox| outbox.in_any_room(cid));
        if held {
            let mut file = false;
            self.outbox.update(|outbox| {
                file = outbox.confirm(cid).is_some_and(|q| q.needs_upload());
            });
            persist::forget_queued(cid);
            // Its file was still waiting to be uploaded (discarded, cancelled).
            #[cfg(feature = "hydrate")]
            if file {
                crate::client::idb::forget(cid);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = file;
        }
        held
    }
}

impl Account {
    pub fn name(&self) -> Option<String> {
        self.me.with(|me| me.as_ref().map(|me| me.name.clone()))
    }

    /// Signed in to an account (whose read marks the server keeps).
    pub fn is_registered(&self) -> bool {
        self.me
            .with_untracked(|me| me.as_ref().is_some_and(|me| me.registered))
    }

    /// What the server said about who this is, when the page was made.
    pub fn learn_who(&self, answer: Result<Option<Me>, AppError>) {
        match answer {
            Ok(Some(me)) => self.me.set(Some(me)),
            Ok(None) => self.dialog.set(Some(Dialog::Guest)),
            // The socket will say, and retry until it can.
            Err(err) => leptos::logging::warn!("could not ask who we are: {err}"),
        }
        self.loaded.set(true);
    }

    /// Nobody is signed in on this browser any more: ask who it is.
    pub fn signed_out(&self) {
        self.me.set(None);
        self.dialog.set(Some(Dialog::Guest));
    }
}

/// Moves `map[key]` up to `seq` (never down).
fn raise(map: &mut HashMap<String, Seq>, key: &str, seq: Seq) {
    let mark = map.entry(key.to_owned()).or_default();
    *mark = (*mark).max(seq);
}

impl Rooms {
    /// Something of the listed room `slug`.
    pub fn info<T>(&self, slug: &str, of: impl FnOnce(&RoomInfo) -> T) -> Option<T> {
        self.list
            .with_untracked(|list| list.iter().find(|r| r.slug == slug).map(of))
    }

    /// Takes rooms as the server describes them to this reader: new ones are listed,
    /// known ones updated, and the server's read marks and mentions kept where ahead.
    pub fn learn(&self, rooms: Vec<RoomInfo>) {
        for room in &rooms {
            if let Some(read) = room.read {
                self.read.update(|marks| raise(marks, &room.slug, read));
            }
            if room.mentioned > 0 {
                self.mentions
                    .update(|m| raise(m, &room.slug, room.mentioned));
            }
        }
        self.list.update(|list| {
            for room in rooms {
                match list.iter_mut().find(|r| r.slug == room.slug) {
                    Some(known) => *known = room,
                    None => list.push(room),
                }
            }
        });
    }

    /// Puts the rooms `slugs`, which just had news, at the top of "newest first".
    pub fn touch(&self, slugs: &[String]) {
        // Already above every other room (the open room, message after message; or no room
        // at all): the list is not drawn again for nothing.
        let on_top = self.list.with_untracked(|list| {
            let others = list.iter().filter(|r| !slugs.contains(&r.slug));
            let highest = others.map(|r| r.active_ms).max();
            list.iter()
                .filter(|r| slugs.contains(&r.slug))
                .all(|r| Some(r.active_ms) > highest)
        });
        if on_top {
            return;
        }
        self.list.update(|list| {
            let newest = list.iter().map(|r| r.active_ms).max().unwrap_or(0);
            for room in list.iter_mut().filter(|r| slugs.contains(&r.slug)) {
                room.active_ms = newest + 1;
            }
        });
    }

    /// Adds a room to the list, once.
    pub fn add(&self, room: RoomInfo) {
        self.list.update(|rooms| {
            if !rooms.iter().any(|r| r.slug == room.slug) {
                rooms.push(room);
            }
        });
    }
}

impl OpenRoom {
    fn is(&self, room: &str) -> bool {
        self.timeline.with_untracked(|t| t.room == room)
    }

    /// `name` is not typing any more: their message arrived.
    fn stopped_typing(&self, name: &str) {
        if self.typing.with_untracked(|t| t.has(name)) {
            self.typing.update(|t| t.stopped(name));
        }
    }

    /// Changes the timeline if `room` is the one open.
    fn change(&self, room: &str, change: impl FnOnce(&mut Timeline)) {
        if self.is(room) {
            self.timeline.update(change);
        }
    }
}

impl Default for Chat {
    fn default() -> Self {
        Chat::new()
    }
}

pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::outbox::Queued;
    use crate::protocol::ChatMessage;

    fn message(seq: Seq, cid: &str, text: &str) -> ChatMessage {
        ChatMessage {
            seq,
            n: seq,
            cid: cid.into(),
            author: "ana".into(),
            text: text.into(),
            at_ms: 0,
            ..Default::default()
        }
    }

    fn queued(room: &str, cid: &str) -> Queued {
        Queued {
            by: "ana".into(),
            room: room.into(),
            cid: cid.into(),
            text: "hi".into(),
            made: 1.0,
            error: None,
            in_flight: true,
            file: None,
            file_name: None,
            reply: None,
            change: None,
        }
    }

    /// A page signed in as ana, looking at #general.
    fn in_general() -> Chat {
        // Signals live in the current owner's arena; each test (its own thread) keeps
        // one for its whole run.
        let owner = Owner::new();
        owner.set();
        std::mem::forget(owner);
        let chat = Chat::new();
        chat.account.me.set(Some(Me {
            name: "ana".into(),
            registered: false,
            admin: false,
        }));
        chat.room.timeline.set(Timeline::for_room("general"));
        chat
    }

    fn error(code: ErrorCode, cid: Option<&str>) -> ServerEvent {
        ServerEvent::Error {
            code,
            message: format!("refused: {code:?}"),
            cid: cid.map(str::to_owned),
        }
    }

    fn open_seqs(chat: &Chat) -> Vec<Seq> {
        chat.room.timeline.with_untracked(|t| {
            t.lines()
                .filter_map(|(_, line)| match line {
                    crate::client::timeline::Line::Message(m) => Some(m.seq),
                    _ => None,
                })
                .collect()
        })
    }

    #[test]
    fn welcome_goes_online_with_the_new_token_and_name() {
        let chat = in_general();
        chat.link.alert.set(Some("too many tabs".into()));
        chat.apply(ServerEvent::Welcome {
            conn: "c1".into(),
            name: "Ana".into(),
        });
        assert_eq!(chat.link.status.get_untracked(), Status::Online);
        assert_eq!(chat.link.conn.get_untracked().as_deref(), Some("c1"));
        assert_eq!(chat.account.name().as_deref(), Some("Ana"));
        assert_eq!(chat.link.alert.get_untracked(), None);
    }

    #[test]
    fn a_message_lands_in_the_open_room_only_and_confirms_our_copy() {
        let chat = in_general();
        chat.outbox.update(|o| o.add(queued("general", "c-1")));
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: message(7, "c-1", "hello"),
        });
        chat.apply(ServerEvent::Message {
            room: "random".into(),
            msg: message(9, "c-2", "elsewhere"),
        });
        // The same message again (history and stream overlap): shown once.
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: message(7, "c-1", "hello"),
        });
        assert_eq!(open_seqs(&chat), [7]);
        assert!(chat.outbox.with_untracked(Outbox::is_empty));
    }

    #[test]
    fn an_ack_confirms_without_showing_anything() {
        let chat = in_general();
        chat.outbox.update(|o| o.add(queued("random", "c-9")));
        chat.apply(ServerEvent::Ack {
            room: "random".into(),
            cid: "c-9".into(),
            seq: 3,
        });
        assert!(chat.outbox.with_untracked(Outbox::is_empty));
        assert!(open_seqs(&chat).is_empty());
    }

    #[test]
    fn presence_in_the_open_room_keeps_a_sorted_list_and_notices() {
        let chat = in_general();
        for name in ["zoe", "Bo", "zoe"] {
            chat.apply(ServerEvent::Joined {
                room: "general".into(),
                seq: 0,
                name: name.into(),
            });
        }
        chat.apply(ServerEvent::Joined {
            room: "random".into(),
            seq: 0,
            name: "carl".into(),
        });
        assert_eq!(chat.room.online.get_untracked(), ["Bo", "zoe"]);
        chat.apply(ServerEvent::Left {
            room: "general".into(),
            seq: 0,
            name: "zoe".into(),
        });
        assert_eq!(chat.room.online.get_untracked(), ["Bo"]);
        let notices = chat.room.timeline.with_untracked(|t| t.lines().count());
        assert_eq!(notices, 4, "three joins and a leave in #general");
    }

    #[test]
    fn counts_merge_by_room_and_new_rooms_are_listed_once() {
        let chat = in_general();
        let count = |slug: &str, latest| RoomCount {
            slug: slug.into(),
            online: 1,
            latest,
        };
        chat.apply(ServerEvent::Counts {
            rooms: vec![count("general", 5), count("random", 2)],
        });
        chat.apply(ServerEvent::Counts {
            rooms: vec![count("random", 4)],
        });
        let latest = |slug: &str| chat.rooms.counts.with_untracked(|c| c[slug].latest);
        assert_eq!((latest("general"), latest("random")), (5, 4));
        let room = RoomInfo {
            slug: "new".into(),
            title: "New".into(),
            topic: String::new(),
            online: 0,
            latest: 0,
            ..Default::default()
        };
        chat.apply(ServerEvent::RoomAdded { room: room.clone() });
        chat.apply(ServerEvent::RoomAdded { room });
        assert_eq!(chat.rooms.list.with_untracked(Vec::len), 1);
    }

    #[test]
    fn a_message_in_the_open_room_moves_it_up_the_list() {
        // The server sends no counts of the room one is in: its stream does this.
        let chat = in_general();
        let listed = |slug: &str, active_ms| RoomInfo {
            slug: slug.into(),
            active_ms,
            ..Default::default()
        };
        chat.rooms
            .learn(vec![listed("general", 1), listed("random", 2)]);
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: message(1, "c1", "hi"),
        });
        let active = |slug: &str| chat.rooms.info(slug, |r| r.active_ms);
        assert!(active("general") > active("random"));
        // Once on top it stays there without the list changing (a busy room would redraw
        // the list with every message).
        let before = active("general");
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: message(2, "c2", "again"),
        });
        assert_eq!(active("general"), before);
    }

    #[test]
    fn refusals_of_a_message_wait_for_the_user_or_retry_by_themselves() {
        let chat = in_general();
        chat.outbox.update(|o| {
            o.add(queued("general", "slow"));
            o.add(queued("general", "bad"));
            o.add(queued("gone", "lost"));
        });
        chat.apply(error(ErrorCode::RateLimited, Some("slow")));
        chat.apply(error(ErrorCode::BadMessage, Some("bad")));
        chat.apply(error(ErrorCode::NoSuchRoom, Some("lost")));
        let item = |cid: &str| {
            chat.outbox.with_untracked(|o| {
                o.in_room("general", "ana")
                    .find(|q| q.cid == cid)
                    .map(|q| (q.error.clone(), q.in_flight))
            })
        };
        // Rate limited: said why, kept without an error, to be sent again.
        assert_eq!(item("slow"), Some((None, false)));
        assert!(chat.link.alert.get_untracked().is_some());
        // Refused for good: it waits for Retry or Discard, saying why.
        assert_eq!(
            item("bad"),
            Some((Some("refused: BadMessage".into()), false))
        );
        // Its room is gone: dropped.
        assert!(!chat.outbox.with_untracked(|o| o.in_any_room("lost")));
    }

    #[test]
    fn a_refused_name_opens_the_name_form_and_a_lost_session_signs_out() {
        let chat = in_general();
        chat.apply(error(ErrorCode::NameTaken, None));
        assert_eq!(chat.account.dialog.get_untracked(), Some(Dialog::Guest));
        assert_eq!(
            chat.account.name_problem.get_untracked().as_deref(),
            Some("refused: NameTaken")
        );
        chat.account.dialog.set(None);
        chat.apply(error(ErrorCode::SignedOut, None));
        assert_eq!(chat.account.me.get_untracked(), None);
        assert_eq!(chat.account.dialog.get_untracked(), Some(Dialog::Guest));
    }

    fn typing(room: &str, name: &str) -> ServerEvent {
        ServerEvent::Typing {
            room: room.into(),
            name: name.into(),
        }
    }

    fn typists(chat: &Chat) -> Vec<String> {
        chat.room
            .typing
            .with_untracked(|t| t.names().map(str::to_owned).collect())
    }

    #[test]
    fn typing_shows_for_the_open_room_and_goes_when_the_message_comes() {
        let chat = in_general();
        chat.apply(typing("general", "Bo"));
        chat.apply(typing("random", "carl"));
        chat.apply(typing("general", "zoe"));
        chat.apply(typing("general", "Bo"));
        assert_eq!(
            typists(&chat),
            ["Bo", "zoe"],
            "the open room only, once each"
        );
        let label = chat.room.typing.with_untracked(|t| t.label());
        assert_eq!(label.as_deref(), Some("Bo and zoe are typing…"));
        // Bo's message arrives: Bo is no longer typing; a message elsewhere changes nothing.
        let mut from_bo = message(1, "c-1", "hi");
        from_bo.author = "Bo".into();
        chat.apply(ServerEvent::Message {
            room: "random".into(),
            msg: from_bo.clone(),
        });
        assert_eq!(typists(&chat), ["Bo", "zoe"]);
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: from_bo,
        });
        assert_eq!(typists(&chat), ["zoe"]);
    }

    #[test]
    fn typing_expires_five_seconds_after_the_last_event() {
        let chat = in_general();
        let start = now_ms();
        chat.apply(typing("general", "Bo"));
        let shown = |at: f64| {
            chat.room.typing.update(|t| t.expire(at));
            typists(&chat)
        };
        assert_eq!(shown(start + 4_900.0), ["Bo"]);
        // Typing again extends it.
        chat.room
            .typing
            .update(|t| t.typing("Bo".into(), start + 4_000.0));
        assert_eq!(shown(start + 8_900.0), ["Bo"]);
        assert!(shown(start + 9_100.0).is_empty());
    }

    #[test]
    fn unread_is_the_newest_seq_less_what_this_browser_showed() {
        let chat = in_general();
        chat.rooms.list.set(
            ["general", "random", "never-opened"]
                .map(|slug| RoomInfo {
                    slug: slug.into(),
                    title: slug.into(),
                    topic: String::new(),
                    online: 0,
                    latest: 10,
                    ..Default::default()
                })
                .to_vec(),
        );
        chat.rooms.read.set(HashMap::from([
            ("general".into(), 10),
            ("random".into(), 4),
        ]));
        // Counts run ahead of the list.
        chat.apply(ServerEvent::Counts {
            rooms: vec![RoomCount {
                slug: "random".into(),
                online: 2,
                latest: 12,
            }],
        });
        assert_eq!(chat.unread("random"), 8);
        // A room never opened here shows no count.
        assert_eq!(chat.unread("never-opened"), 0);
        // The open room's stream runs ahead of the counts.
        chat.apply(ServerEvent::Message {
            room: "general".into(),
            msg: message(13, "x", "new"),
        });
        assert_eq!(chat.unread("general"), 3);
        // A change of a message (its link's card) takes a seq, but is no message to read.
        chat.apply(ServerEvent::Update {
            room: "general".into(),
            update: crate::protocol::Update {
                seq: 14,
                target: 13,
                cid: "preview-13".into(),
                change: crate::protocol::Change::RemovePreview,
            },
        });
        assert_eq!(chat.unread("general"), 3);
        assert_eq!(chat.unread_total(), 11);
        assert_eq!(
            crate::client::unread::page_title(chat, "general"),
            "(11) #general · Natter"
        );
    }

    fn conversation(slug: &str, latest: Seq, active_ms: i64) -> RoomInfo {
        RoomInfo {
            slug: slug.into(),
            title: "bo".into(),
            kind: RoomKind::Direct,
            latest,
            active_ms,
            ..RoomInfo::default()
        }
    }

    #[test]
    fn a_conversation_counts_unread_from_its_start_and_leaves_when_removed() {
        let chat = in_general();
        chat.apply(ServerEvent::RoomAdded {
            room: conversation("~dm1", 2, 5),
        });
        assert_eq!(
            chat.unread("~dm1"),
            2,
            "never opened, yet all of it is unread"
        );
        assert_eq!(chat.room_kind("~dm1"), RoomKind::Direct);
        assert_eq!(chat.notify_level("~dm1"), NotifyLevel::Everything);
        assert_eq!(chat.room_label("~dm1"), "bo");
        chat.apply(ServerEvent::RoomRemoved {
            room: "~dm1".into(),
        });
        assert!(chat.rooms.info("~dm1", |_| ()).is_none());
    }

    #[test]
    fn news_puts_a_conversation_first() {
        let chat = in_general();
        chat.rooms.learn(vec![
            conversation("~old", 1, 10),
            conversation("~new", 1, 20),
        ]);
        let counts = |slug: &str, latest| ServerEvent::Counts {
            rooms: vec![RoomCount {
                slug: slug.into(),
                online: 0,
                latest,
            }],
        };
        chat.apply(counts("~old", 1));
        chat.apply(counts("~old", 2));
        let old = chat.rooms.info("~old", |r| r.active_ms).unwrap();
        let new = chat.rooms.info("~new", |r| r.active_ms).unwrap();
        assert!(old > new, "{old} > {new}");
    }

    #[test]
    fn mentions_badge_a_room_until_read_and_read_marks_only_move_forward() {
        let chat = in_general();
        chat.rooms.learn(vec![RoomInfo {
            slug: "random".into(),
            latest: 9,
            read: Some(3),
            mentioned: 2,
            ..RoomInfo::default()
        }]);
        assert!(!chat.mentioned("random"), "the mention was read already");
        chat.apply(ServerEvent::Alert {
            room: "random".into(),
            n: 9,
            name: "bo".into(),
            text: "@ana look".into(),
            mention: true,
        });
        assert!(chat.mentioned("random"));
        assert_eq!(chat.rooms.alert.get_untracked().map(|a| a.n), Some(9));
        // Read on another device.
        chat.apply(ServerEvent::Read {
            room: "random".into(),
            n: 9,
        });
        assert!(!chat.mentioned("random"));
        assert_eq!(chat.unread("random"), 0);
        chat.apply(ServerEvent::Read {
            room: "random".into(),
            n: 4,
        });
        assert_eq!(chat.rooms.read.get_untracked().get("random"), Some(&9));
    }
}
