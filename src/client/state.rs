//! The page's reactive state, shared by every component through context, and how each
//! server event changes it.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::client::outbox::Outbox;
use crate::client::persist;
use crate::client::timeline::Timeline;
use crate::protocol::{AppError, ErrorCode, Me, RoomCount, RoomInfo, Seq, ServerEvent};

/// Which account form is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Pick a name and chat as a guest (or change the guest name).
    Guest,
    LogIn,
    Register,
    ChangePassword,
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

#[derive(Clone, Copy)]
pub struct Chat {
    /// Who this browser is signed in as (a guest name or an account), once known.
    pub me: RwSignal<Option<Me>>,
    /// The server has said who we are (never true on the server), so a missing `me`
    /// really means "ask".
    pub me_loaded: RwSignal<bool>,
    /// Why the server refused the name, to show in the name form.
    pub name_problem: RwSignal<Option<String>>,
    /// The account form that is open, if any.
    pub dialog: RwSignal<Option<Dialog>>,
    /// A problem worth telling the user that belongs to no message (too many tabs, …).
    pub alert: RwSignal<Option<String>>,
    /// Every room, as the room list shows them; rooms others create are added live.
    pub rooms: RwSignal<Vec<RoomInfo>>,
    pub status: RwSignal<Status>,
    /// The token of this tab's socket, from `welcome`; a new one after every reconnect.
    pub conn: RwSignal<Option<String>>,
    /// The room the server has this socket in, as far as this tab knows.
    pub joined_room: RwSignal<Option<String>>,
    /// Online counts and newest seqs by room slug, kept live by `counts` events.
    pub counts: RwSignal<HashMap<String, RoomCount>>,
    /// The newest seq this browser has shown the reader, by room (see `unread`).
    pub read: RwSignal<HashMap<String, Seq>>,
    /// The tab is in front of the reader (not hidden, not minimised).
    pub visible: RwSignal<bool>,
    /// The user has sent a message on this page: a good moment to offer notifications.
    pub has_sent: RwSignal<bool>,
    /// A newer build of the app is installed and waits for a reload.
    pub update_ready: RwSignal<bool>,
    /// The browser offers to install the app.
    pub can_install: RwSignal<bool>,
    pub timeline: RwSignal<Timeline>,
    /// Our messages not yet confirmed, in every room.
    pub outbox: RwSignal<Outbox>,
    /// Who is in the open room now.
    pub online: RwSignal<Vec<String>>,
    /// The phone drawer with rooms and people is open.
    pub drawer_open: RwSignal<bool>,
}

impl Chat {
    pub fn new() -> Self {
        Chat {
            me: RwSignal::new(None),
            me_loaded: RwSignal::new(false),
            name_problem: RwSignal::new(None),
            dialog: RwSignal::new(None),
            alert: RwSignal::new(None),
            rooms: RwSignal::new(Vec::new()),
            status: RwSignal::new(Status::Idle),
            conn: RwSignal::new(None),
            joined_room: RwSignal::new(None),
            counts: RwSignal::new(HashMap::new()),
            read: RwSignal::new(HashMap::new()),
            visible: RwSignal::new(true),
            has_sent: RwSignal::new(false),
            update_ready: RwSignal::new(false),
            can_install: RwSignal::new(false),
            timeline: RwSignal::new(Timeline::default()),
            outbox: RwSignal::new(Outbox::default()),
            online: RwSignal::new(Vec::new()),
            drawer_open: RwSignal::new(false),
        }
    }

    pub fn name(&self) -> Option<String> {
        self.me.with(|me| me.as_ref().map(|me| me.name.clone()))
    }

    /// Applies one event from the socket.
    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Welcome { conn, name } => {
                self.me.update(|me| {
                    if let Some(me) = me {
                        me.name = name;
                    }
                });
                self.alert.set(None);
                self.status.set(Status::Online);
                self.conn.set(Some(conn));
            }
            ServerEvent::Message { room, msg } => {
                if self.remove_from_outbox(&msg.cid) {
                    self.alert.set(None);
                }
                self.in_room(&room, |t| t.add_message(msg));
            }
            // The message itself comes with the room's history or stream, like any other.
            ServerEvent::Ack { cid, .. } => {
                self.remove_from_outbox(&cid);
            }
            ServerEvent::Pong => {}
            ServerEvent::RoomAdded { room } => self.add_room(room),
            ServerEvent::Joined { room, seq, name } => {
                if self.is_open(&room) {
                    self.online.update(|online| {
                        if !online.contains(&name) {
                            online.push(name.clone());
                            online.sort_by_key(|n| n.to_lowercase());
                        }
                    });
                    self.in_room(&room, |t| t.add_notice(seq, format!("{name} joined")));
                }
            }
            ServerEvent::Left { room, seq, name } => {
                if self.is_open(&room) {
                    self.online.update(|online| online.retain(|n| *n != name));
                    self.in_room(&room, |t| t.add_notice(seq, format!("{name} left")));
                }
            }
            // Every room after `welcome`, then the ones that changed.
            ServerEvent::Counts { rooms } => self.counts.update(|counts| {
                counts.extend(rooms.into_iter().map(|c| (c.slug.clone(), c)));
            }),
            ServerEvent::Error { code, message, cid } => match (cid, code) {
                // Its room is gone: nowhere to show it, nothing to retry.
                (Some(cid), ErrorCode::NoSuchRoom) => {
                    self.remove_from_outbox(&cid);
                }
                (Some(cid), code) => {
                    // Retried by itself, but the user should know why it waits.
                    if code == ErrorCode::RateLimited {
                        self.alert.set(Some(message.clone()));
                    }
                    self.outbox.update(|outbox| {
                        if let Some(item) = outbox.refuse(&cid, message, code.is_transient()) {
                            persist::save_queued(item);
                        }
                    })
                }
                (None, ErrorCode::NameTaken | ErrorCode::BadName) => {
                    self.name_problem.set(Some(message));
                    self.dialog.set(Some(Dialog::Guest));
                }
                // The session ended (logged out elsewhere, password changed, expired).
                (None, ErrorCode::SignedOut) => self.signed_out(),
                (None, ErrorCode::TooManyConnections) => self.alert.set(Some(message)),
                (None, _) => leptos::logging::warn!("server refused a frame: {message}"),
            },
        }
    }

    /// What the server said about who this is, when the page was made.
    pub fn learn_who(&self, answer: Result<Option<Me>, AppError>) {
        match answer {
            Ok(Some(me)) => self.me.set(Some(me)),
            Ok(None) => self.dialog.set(Some(Dialog::Guest)),
            // The socket will say, and retry until it can.
            Err(err) => leptos::logging::warn!("could not ask who we are: {err}"),
        }
        self.me_loaded.set(true);
    }

    /// Nobody is signed in on this browser any more: ask who it is.
    pub fn signed_out(&self) {
        self.me.set(None);
        self.dialog.set(Some(Dialog::Guest));
    }

    /// Adds a room to the list, once.
    pub fn add_room(&self, room: RoomInfo) {
        self.rooms.update(|rooms| {
            if !rooms.iter().any(|r| r.slug == room.slug) {
                rooms.push(room);
            }
        });
    }

    /// Takes a message out of the outbox, here and in storage; returns whether it was
    /// there.
    pub fn remove_from_outbox(&self, cid: &str) -> bool {
        let held = self.outbox.with_untracked(|outbox| outbox.in_any_room(cid));
        if held {
            self.outbox.update(|outbox| {
                outbox.confirm(cid);
            });
            persist::forget_queued(cid);
        }
        held
    }

    fn is_open(&self, room: &str) -> bool {
        self.timeline.with_untracked(|t| t.room == room)
    }

    fn in_room(&self, room: &str, change: impl FnOnce(&mut Timeline)) {
        if self.is_open(room) {
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
