//! The page's reactive state, shared by every component through context, and how each
//! server event changes it.

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::outbox::Outbox;
use super::persist;
use super::timeline::Timeline;
use crate::protocol::{ErrorCode, ServerEvent};

/// Who this browser is: a random id made once, and the chosen name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user: String,
    pub name: String,
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

#[derive(Clone, Copy)]
pub struct Chat {
    pub identity: RwSignal<Option<Identity>>,
    /// The stored identity has been read (always false on the server), so a missing name
    /// really means "ask for one".
    pub identity_loaded: RwSignal<bool>,
    /// Why the server refused the name, to show in the name form.
    pub name_problem: RwSignal<Option<String>>,
    /// The name form is open (first visit, refused name, or the user wants a new one).
    pub asking_name: RwSignal<bool>,
    pub status: RwSignal<Status>,
    /// The token of this tab's socket, from `welcome`; a new one after every reconnect.
    pub conn: RwSignal<Option<String>>,
    /// The room the server has this socket in, as far as this tab knows.
    pub joined_room: RwSignal<Option<String>>,
    /// Online counts by room slug, kept live by `counts` events.
    pub counts: RwSignal<HashMap<String, u32>>,
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
            identity: RwSignal::new(None),
            identity_loaded: RwSignal::new(false),
            name_problem: RwSignal::new(None),
            asking_name: RwSignal::new(false),
            status: RwSignal::new(Status::Idle),
            conn: RwSignal::new(None),
            joined_room: RwSignal::new(None),
            counts: RwSignal::new(HashMap::new()),
            timeline: RwSignal::new(Timeline::default()),
            outbox: RwSignal::new(Outbox::default()),
            online: RwSignal::new(Vec::new()),
            drawer_open: RwSignal::new(false),
        }
    }

    pub fn name(&self) -> Option<String> {
        self.identity.with(|i| i.as_ref().map(|i| i.name.clone()))
    }

    /// Applies one event from the socket.
    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Welcome { conn, name } => {
                self.identity.update(|i| {
                    if let Some(i) = i {
                        i.name = name;
                    }
                });
                self.status.set(Status::Online);
                self.conn.set(Some(conn));
            }
            ServerEvent::Message { room, msg } => {
                self.remove_from_outbox(&msg.cid);
                self.in_room(&room, |t| t.add_message(msg));
            }
            // The message itself comes with the room's history or stream, like any other.
            ServerEvent::Ack { cid, .. } => self.remove_from_outbox(&cid),
            ServerEvent::Pong => {}
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
            ServerEvent::Counts { rooms } => {
                self.counts
                    .set(rooms.into_iter().map(|c| (c.slug, c.online)).collect());
            }
            ServerEvent::Error { code, message, cid } => match (cid, code) {
                // Its room is gone: nowhere to show it, nothing to retry.
                (Some(cid), ErrorCode::NoSuchRoom) => self.remove_from_outbox(&cid),
                (Some(cid), code) => self.outbox.update(|outbox| {
                    if let Some(item) = outbox.refuse(&cid, message, code.is_transient()) {
                        persist::save_queued(item);
                    }
                }),
                (None, ErrorCode::NameTaken | ErrorCode::BadName) => {
                    self.name_problem.set(Some(message));
                    self.asking_name.set(true);
                }
                (None, _) => leptos::logging::warn!("server refused a frame: {message}"),
            },
        }
    }

    /// Takes a message out of the outbox, here and in storage, if it is there.
    pub fn remove_from_outbox(&self, cid: &str) {
        let held = self.outbox.with_untracked(|outbox| outbox.in_any_room(cid));
        if held {
            self.outbox.update(|outbox| {
                outbox.confirm(cid);
            });
            persist::forget_queued(cid);
        }
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
