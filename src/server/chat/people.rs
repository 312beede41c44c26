//! What people do with each other: conversations, private rooms and their members, how
//! much each person hears of a room, and read marks that follow a person across devices.
//!
//! Private rooms and conversations are rooms with members (see [`Room::admits`]); every
//! read and write of one goes through [`Hub::room_for`], so a non-member gets the answer a
//! missing room gets.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::protocol::{
    AppError, MemberInfo, NotifyLevel, RoomInfo, RoomKind, Seq, ServerEvent, MAX_CONVERSATION,
};
use crate::server::chat::hub::{lock, people_key, random_token, read, Conn, Hub};
use crate::server::chat::mentions::Person;
use crate::server::chat::relay::Signal;
use crate::server::chat::room::Room;
use crate::server::clock::now_ms;
use crate::server::store::{MemberRecord, NewRoom, ReaderRecord};
use crate::server::ws::send_queue::Frame;

/// Most members of one private room.
const MAX_MEMBERS: usize = 1_000;

impl Hub {
    /// Every room `user` may see, as they see it: a conversation named after the others
    /// in it, their notification level, their read mark (registered users) and mentions.
    pub async fn room_list(&self, user: &str, registered: bool) -> Result<Vec<RoomInfo>, AppError> {
        let readers = self.store.readers(user).await.map_err(AppError::server)?;
        Ok(self
            .rooms_for(user)
            .iter()
            // Archived: listed no more (an old link still opens it, read-only).
            .filter(|room| !self.rules(room).archived)
            .map(|room| {
                let reader = readers.iter().find(|r| r.room_id == room.record.id);
                let mut info = self.info_for(room, user, reader);
                if !registered {
                    info.read = None;
                }
                info
            })
            .collect())
    }

    /// `room` as `user` sees it; `reader` is what is stored of them and it, when known.
    pub(super) fn info_for(
        &self,
        room: &Room,
        user: &str,
        reader: Option<&ReaderRecord>,
    ) -> RoomInfo {
        let mut info = room.info();
        (info.title, info.topic) = self.names_of(room);
        if room.kind() == RoomKind::Direct {
            let others: Vec<String> = room
                .members()
                .into_iter()
                .filter(|(id, _)| id != user)
                .map(|(_, name)| name)
                .collect();
            info.title = others.join(", ");
        }
        info.notify = room.chosen_level(user);
        info.owner = room.is_owner(user);
        info.moderator = self.rank(user, room) >= super::sanctions::Rank::Moderator;
        info.slow_s = self.rules(room).slow_s;
        if let Some(reader) = reader {
            info.read = Some(reader.last_read);
            info.mentioned = reader.mentioned;
        }
        info
    }

    /// Opens the conversation between `user` (called `name`) and the people `names`
    /// (1–7 others), making it the first time. One set of people has one conversation.
    pub async fn open_conversation(
        &self,
        user: &str,
        name: &str,
        names: &[String],
    ) -> Result<RoomInfo, AppError> {
        let mut people = vec![Person {
            user: user.to_owned(),
            name: name.to_owned(),
        }];
        for wanted in names {
            let person = self.find_person(wanted).ok_or_else(|| unknown(wanted))?;
            if !people.iter().any(|p| p.user == person.user) {
                people.push(person);
            }
        }
        if people.len() < 2 {
            return Err(AppError::Invalid(
                "Pick someone other than yourself to talk to.".into(),
            ));
        }
        if people.len() > MAX_CONVERSATION {
            return Err(AppError::Invalid(format!(
                "A conversation holds at most {MAX_CONVERSATION} people."
            )));
        }
        let key = people_key(people.iter().map(|p| p.user.as_str()));
        let existing = read(&self.rooms).by_people.get(&key).cloned();
        if let Some(room) = existing {
            return Ok(self.info_for(&room, user, None));
        }
        if !self.people_moves.try_take(user, Instant::now()) {
            return Err(AppError::RateLimited);
        }
        let new = NewRoom {
            slug: format!("~{}", &random_token()[..12]),
            title: String::new(),
            topic: String::new(),
            kind: RoomKind::Direct,
            owner: None,
            people: Some(key.clone()),
            members: people
                .iter()
                .map(|p| MemberRecord {
                    user_id: p.user.clone(),
                    name: p.name.clone(),
                })
                .collect(),
        };
        let room = match self.add_room(&new).await? {
            Some(room) => room,
            // Opened at the same moment by someone else in it.
            None => read(&self.rooms)
                .by_people
                .get(&key)
                .cloned()
                .ok_or_else(|| AppError::Server("the conversation vanished".into()))?,
        };
        for person in people.iter().filter(|p| p.user != user) {
            self.tell_added(&room, &person.user);
        }
        Ok(self.info_for(&room, user, None))
    }

    /// The owner of the private room `slug` adds the person called `name`.
    pub async fn invite(&self, user: &str, slug: &str, name: &str) -> Result<MemberInfo, AppError> {
        let room = self.owned_room(user, slug)?;
        let person = self.find_person(name).ok_or_else(|| unknown(name))?;
        if room.member_name(&person.user).is_some() {
            return Err(AppError::Invalid(format!(
                "{} is in this room already.",
                person.name
            )));
        }
        if room.member_count() >= MAX_MEMBERS {
            return Err(AppError::Invalid(format!(
                "A private room holds at most {MAX_MEMBERS} people."
            )));
        }
        if !self.people_moves.try_take(user, Instant::now()) {
            return Err(AppError::RateLimited);
        }
        let member = MemberRecord {
            user_id: person.user.clone(),
            name: person.name.clone(),
        };
        self.store
            .add_member(room.record.id, &member, now_ms())
            .await
            .map_err(AppError::server)?;
        room.add_member(&person.user, &person.name);
        self.signal(Signal::Member {
            room: room.record.id,
            user: person.user.clone(),
            name: person.name.clone(),
            added: true,
        });
        self.tell_added(&room, &person.user);
        Ok(MemberInfo {
            online: self.inboxes().is_online(&person.user),
            name: person.name,
            owner: false,
        })
    }

    /// The owner of the private room `slug` removes the member called `name`.
    pub async fn remove_member(&self, user: &str, slug: &str, name: &str) -> Result<(), AppError> {
        let room = self.owned_room(user, slug)?;
        let key = crate::server::names::name_key(name.trim());
        let member = room
            .members()
            .into_iter()
            .find(|(_, n)| crate::server::names::name_key(n) == key)
            .ok_or_else(|| unknown(name))?;
        if member.0 == user {
            return Err(AppError::Invalid(
                "You own this room; you cannot remove yourself.".into(),
            ));
        }
        self.drop_member(&room, &member.0).await
    }

    /// A member leaves the private room `slug`.
    pub async fn quit(&self, user: &str, slug: &str) -> Result<(), AppError> {
        let room = self.room_for(user, slug)?;
        match room.kind() {
            RoomKind::Public => Err(AppError::Invalid(
                "Anyone may read a public room; there is nothing to leave.".into(),
            )),
            RoomKind::Direct => Err(AppError::Invalid(
                "A conversation cannot be left; set it to notify you of nothing instead.".into(),
            )),
            RoomKind::Private if room.is_owner(user) => Err(AppError::Invalid(
                "You own this room; it would have nobody to invite people.".into(),
            )),
            RoomKind::Private => self.drop_member(&room, user).await,
        }
    }

    /// The members of a private room or conversation `user` is in.
    pub fn members(&self, user: &str, slug: &str) -> Result<Vec<MemberInfo>, AppError> {
        let room = self.room_for(user, slug)?;
        Ok(room
            .members()
            .into_iter()
            .map(|(id, name)| MemberInfo {
                owner: room.is_owner(&id),
                online: self.inboxes().is_online(&id),
                name,
            })
            .collect())
    }

    /// How much `user` wants to hear of `slug`.
    pub async fn set_notify(
        &self,
        user: &str,
        slug: &str,
        level: NotifyLevel,
    ) -> Result<(), AppError> {
        let room = self.room_for(user, slug)?;
        self.store
            .set_notify(user, room.record.id, level)
            .await
            .map_err(AppError::server)?;
        room.set_notify_level(user, level);
        Ok(())
    }

    /// `conn`'s reader has seen `slug` up to its message number `n`. For a registered
    /// user the mark is kept and passed to their other tabs and devices; a guest's stays
    /// in the browser.
    pub fn mark_read(&self, conn: &Conn, slug: &str, n: Seq) {
        if conn.account.is_none() {
            return;
        }
        let Ok(room) = self.room_for(&conn.user, slug) else {
            return;
        };
        let seq = n.min(room.newest_message());
        {
            let mut marks = lock(&self.read_marks);
            let mark = marks
                .entry((conn.user.clone(), room.record.id))
                .or_default();
            if seq <= *mark {
                return;
            }
            *mark = seq;
        }
        let frame: Frame = ServerEvent::Read {
            room: slug.to_owned(),
            n: seq,
        }
        .encode()
        .into();
        self.inboxes().send(&conn.user, &frame);
        let (store, user, room) = (self.store.clone(), conn.user.clone(), room.record.id);
        tokio::spawn(async move {
            if let Err(err) = store.set_read(&user, room, seq).await {
                tracing::warn!(%err, "storing a read mark failed");
            }
        });
    }

    /// Whether `conn`'s tab is in front of its reader.
    pub fn set_visible(&self, conn: &Conn, visible: bool) {
        conn.visible.store(visible, Ordering::Relaxed);
    }

    /// `slug` if it is a private room `user` owns; as missing when they cannot see it.
    fn owned_room(&self, user: &str, slug: &str) -> Result<Arc<Room>, AppError> {
        let room = self.room_for(user, slug)?;
        if room.kind() != RoomKind::Private || !room.is_owner(user) {
            return Err(AppError::Invalid(
                "Only the owner of a private room may do that.".into(),
            ));
        }
        Ok(room)
    }

    /// Takes `member` out of `room`: stored, their tabs unsubscribed, and told.
    pub(super) async fn drop_member(&self, room: &Arc<Room>, member: &str) -> Result<(), AppError> {
        self.store
            .remove_member(room.record.id, member)
            .await
            .map_err(AppError::server)?;
        room.remove_member(member);
        self.signal(Signal::Member {
            room: room.record.id,
            user: member.to_owned(),
            name: String::new(),
            added: false,
        });
        for conn in self.conns_of(member) {
            self.leave(&conn, room.slug());
        }
        self.tell_removed(member, room.slug());
        Ok(())
    }

    /// Tells `user`'s tabs that they may no longer see the room `slug`.
    pub(super) fn tell_removed(&self, user: &str, slug: &str) {
        let frame: Frame = ServerEvent::RoomRemoved {
            room: slug.to_owned(),
        }
        .encode()
        .into();
        self.inboxes().send(user, &frame);
    }

    /// Tells `user`'s tabs of a room they were just let into, or how they see it now (a
    /// moderator made, a room's rules or name changed).
    pub(super) fn tell_added(&self, room: &Room, user: &str) {
        let frame: Frame = ServerEvent::RoomAdded {
            room: self.info_for(room, user, None),
        }
        .encode()
        .into();
        self.inboxes().send(user, &frame);
    }
}

fn unknown(name: &str) -> AppError {
    AppError::Invalid(format!(
        "There is nobody called “{}” here.",
        name.trim().chars().take(40).collect::<String>()
    ))
}
