//! The hub's side of several nodes: what the other nodes stored, signalled and sent to
//! one person (`server::cluster` brings it), and this node's lease.

use std::collections::HashMap;
use std::sync::Arc;

use super::hub::{lock, read, write, Hub};
use super::mentions::Person;
use super::presence::NodeId;
use super::relay::Signal;
use super::room::Room;
use super::sequencer::Event;
use crate::protocol::ServerEvent;
use crate::server::names::name_key;
use crate::server::store::{MemberRecord, StoreResult};
use crate::server::ws::send_queue::Frame;

impl Hub {
    /// Events another node stored in room `id`. A room made on another node since this
    /// one started is loaded first.
    pub async fn receive_relayed(&self, id: i64, events: Vec<Event<String>>) {
        if let Some(room) = self.room_or_load(id).await {
            room.receive(events);
        }
    }

    /// Starts room `id` as the store has it (made on another node): `None` if there is
    /// no such room.
    async fn load_room(&self, id: i64) -> StoreResult<Option<Arc<Room>>> {
        let Some(record) = self.store.rooms().await?.into_iter().find(|r| r.id == id) else {
            return Ok(None);
        };
        let members: Vec<MemberRecord> = self
            .store
            .memberships()
            .await?
            .into_iter()
            .filter(|(room, _)| *room == id)
            .map(|(_, member)| member)
            .collect();
        let newest = self.store.newest(id).await?;
        let mut rooms = write(&self.rooms);
        // Loaded meanwhile by another event.
        if let Some(room) = rooms.list.iter().find(|r| r.record.id == id) {
            return Ok(Some(room.clone()));
        }
        let room = Room::start(record, newest, members, &self.env);
        rooms.add(room.clone());
        Ok(Some(room))
    }

    /// Brings every room's stream up to the store's: after the relay was cut off, what
    /// the other nodes stored meanwhile never rang here.
    pub async fn catch_up_all(&self) {
        let rooms = read(&self.rooms).list.clone();
        for room in rooms {
            let result = async {
                let newest = self.store.newest(room.record.id).await?;
                let published = room.published();
                if newest.seq > published {
                    room.catch_up(published, newest.seq).await?;
                }
                StoreResult::Ok(())
            };
            if let Err(err) = result.await {
                tracing::warn!(%err, room = %room.record.slug, "catching up failed");
            }
        }
    }

    /// Brings the streams of the rooms people here are in up to the store's. A batch
    /// the relay dropped, or that a dying node never sent, shows as a gap only once a
    /// later event arrives; at the end of a burst none does, so this looks every second.
    pub async fn catch_up_active(&self) {
        let active: Vec<Arc<Room>> = read(&self.rooms)
            .list
            .iter()
            .filter(|room| room.has_subscribers())
            .cloned()
            .collect();
        if active.is_empty() {
            return;
        }
        let ids: Vec<i64> = active.iter().map(|room| room.record.id).collect();
        let newest = match self.store.newest_of(&ids).await {
            Ok(newest) => newest,
            Err(err) => {
                tracing::warn!(%err, "reading where the rooms stand failed");
                return;
            }
        };
        for (id, newest) in newest {
            if let Some(room) = active.iter().find(|room| room.record.id == id) {
                room.catch_up_to(newest.seq);
            }
        }
    }

    /// What node `node` signalled.
    pub async fn receive_signal(&self, node: NodeId, signal: Signal) {
        match signal {
            Signal::Presence {
                room,
                user,
                name,
                here,
            } => {
                if let Some(room) = self.room_or_load(room).await {
                    room.remote_presence(node, &user, &name, here);
                }
            }
            Signal::Typing { room, user, name } => {
                if let Some(room) = self.room_or_load(room).await {
                    room.tell_typing(&user, &name);
                }
            }
            Signal::Member {
                room,
                user,
                name,
                added,
            } => {
                let Some(room) = self.room_or_load(room).await else {
                    return;
                };
                if added {
                    room.add_member(&user, &name);
                } else if room.remove_member(&user) {
                    for conn in self.conns_of(&user) {
                        self.leave(&conn, room.slug());
                    }
                }
            }
            Signal::RoomMade { room } => {
                let known = read(&self.rooms).list.iter().any(|r| r.record.id == room);
                if known {
                    return;
                }
                match self.load_room(room).await {
                    Ok(Some(room)) if room.is_public() => self
                        .broadcast(&ServerEvent::RoomAdded { room: room.info() }.encode().into()),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, room, "loading a room made elsewhere failed"),
                }
            }
            Signal::Registered { user, name } => self.remember_registered(&user, &name),
            Signal::Unregistered { user } => self.forget_registered(&user),
            Signal::Online { user, name, here } => {
                let mut elsewhere = lock(&self.names_elsewhere);
                let names = elsewhere.entry(node).or_default();
                match here {
                    true => names.insert(name_key(&name), Person { user, name }),
                    false => names.remove(&name_key(&name)),
                };
            }
            Signal::Lease {
                present,
                online,
                looking,
            } => self.apply_lease(node, present, online, looking),
            // Answered by the cluster, which sends this node's lease.
            Signal::Hello => {}
        }
    }

    /// `frame` for `user`'s tabs, from another node.
    pub fn receive_for_user(&self, user: &str, frame: Frame) {
        self.inboxes().send_here(user, &frame);
    }

    /// What this node has, for the others: who is present where, and who is looking.
    pub fn lease(&self) -> Signal {
        let rooms = read(&self.rooms).list.clone();
        let present = rooms
            .iter()
            .flat_map(|room| {
                let id = room.record.id;
                room.here()
                    .into_iter()
                    .map(move |(user, name)| (id, user, name))
            })
            .collect();
        Signal::Lease {
            present,
            online: self.names_here(),
            looking: self.inboxes().looking_here(),
        }
    }

    /// Node `node` has exactly these people present, and looking.
    fn apply_lease(
        &self,
        node: NodeId,
        present: Vec<(i64, String, String)>,
        online: Vec<(String, String)>,
        looking: Vec<String>,
    ) {
        let names: HashMap<String, Person> = online
            .into_iter()
            .map(|(user, name)| (name_key(&name), Person { user, name }))
            .collect();
        let mut elsewhere = lock(&self.names_elsewhere);
        match names.is_empty() {
            true => elsewhere.remove(&node),
            false => elsewhere.insert(node, names),
        };
        drop(elsewhere);
        let mut by_room: HashMap<i64, HashMap<String, (String, String)>> = HashMap::new();
        for (room, user, name) in present {
            let key = super::room::presence_key(&user, &name);
            by_room.entry(room).or_default().insert(key, (user, name));
        }
        let none = HashMap::new();
        for room in read(&self.rooms).list.clone() {
            room.remote_lease(node, by_room.get(&room.record.id).unwrap_or(&none));
        }
        self.inboxes().set_looking_elsewhere(node, looking);
    }

    /// Node `node` is gone (its lease ran out): its people leave.
    pub fn forget_node(&self, node: NodeId) {
        self.apply_lease(node, Vec::new(), Vec::new(), Vec::new());
    }

    /// The room with id `id`, loaded from the store when it was made elsewhere.
    async fn room_or_load(&self, id: i64) -> Option<Arc<Room>> {
        match self.room_by_id(id) {
            Some(room) => Some(room),
            None => self.load_room(id).await.ok().flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::*;
    use crate::protocol::Seq;
    use crate::server::chat::hub::{HubLimits, Visitor};
    use crate::server::chat::relay::{self, Relay};
    use crate::server::chat::room::SendRequest;
    use crate::server::store::{NewMessage, SqliteStore, Store};
    use crate::server::ws::send_queue::{QueueBound, SendQueue};

    /// What this node told the others.
    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<(i64, Bytes)>>,
    }

    impl Relay for Recorder {
        fn stored(&self, room: i64, batch: Bytes) {
            self.batches.lock().unwrap().push((room, batch));
        }
        fn signal(&self, _: Signal) {}
        fn to_user(&self, _: &str, _: &Frame) {}
    }

    fn new(cid: &str) -> NewMessage {
        NewMessage {
            cid: cid.into(),
            author: "Ana".into(),
            author_id: "user-ana-0001".into(),
            text: format!("text of {cid}"),
            at_ms: 1,
            mentions: Vec::new(),
            doc: None,
            file: None,
            reply: None,
        }
    }

    /// The seqs of the messages queued for a subscriber, in order.
    fn seqs_queued(queue: &SendQueue) -> Vec<Seq> {
        std::iter::from_fn(|| queue.try_take())
            .filter_map(|frame| {
                // A server's text frame: its header (RFC 6455 §5.2, unmasked), then the event.
                let bytes = frame.as_bytes();
                let header = match bytes[1] & 0x7f {
                    126 => 4,
                    127 => 10,
                    _ => 2,
                };
                let json = std::str::from_utf8(&bytes[header..]).ok()?;
                match ServerEvent::decode(json).ok()? {
                    ServerEvent::Message { msg, .. } => Some(msg.seq),
                    _ => None,
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn a_stored_batch_rings_once_and_a_relayed_one_arrives_in_order_gaps_filled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
        let hub = Hub::start(store.clone(), HubLimits::default())
            .await
            .unwrap();
        let recorder = Arc::new(Recorder::default());
        hub.set_relay(recorder.clone());
        let bound = QueueBound {
            frames: 64,
            bytes: 1 << 20,
        };
        let mut queues = Vec::new();
        for (user, name) in [("user-ana-0001", "Ana"), ("user-bo-00001", "Bo")] {
            let queue = SendQueue::detached(bound);
            let visitor = Visitor {
                user: user.into(),
                name: name.into(),
                session: user.as_bytes().to_vec(),
                account: None,
                addr: [127, 0, 0, 1].into(),
            };
            let conn = hub.connect(visitor, queue.clone()).unwrap();
            hub.join(&conn, "general", None, None).await.unwrap();
            queues.push(queue);
        }
        let room = hub.room("general").unwrap();
        // Three sends queued together: one batch, one transaction, one ring for both
        // subscribers.
        for cid in ["c-000001", "c-000002", "c-000003"] {
            let request = SendRequest {
                msg: new(cid),
                from: 0,
                user: "user-ana-0001".into(),
                mentioned: Vec::new(),
                reply: queues[0].clone(),
                received: Instant::now(),
            };
            room.submit(request).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while room.published() < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let rung = recorder.batches.lock().unwrap().clone();
        assert_eq!(rung.len(), 1, "one message to the other nodes per batch");
        let events = relay::decode(rung[0].1.clone()).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        for queue in &queues {
            assert_eq!(seqs_queued(queue), [1, 2, 3]);
        }

        // Another node stored 4 and 5; only 5 rings here (4's ring was lost): 5 waits,
        // 4 is read from the store, and both arrive in order, once.
        let id = room.record.id;
        store
            .append(id, &[new("c-000004"), new("c-000005")])
            .await
            .unwrap();
        let stored = store.range(id, 4, 5, 1).await.unwrap().remove(0);
        let json = ServerEvent::Message {
            room: "general".into(),
            msg: stored,
        }
        .encode();
        let five = relay::decode(relay::encode([(5, Some(5), json.as_str())])).unwrap();
        hub.receive_relayed(room.record.id, five).await;
        assert_eq!(room.published(), 3, "5 is held behind the gap");
        while room.published() < 5 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(room.published(), 5);
        for queue in &queues {
            assert_eq!(
                seqs_queued(queue),
                [4, 5],
                "4 from the store, then 5 as relayed"
            );
        }
        // 4 again, late: dropped.
        let four = relay::decode(relay::encode([(4, Some(4), "{}")])).unwrap();
        hub.receive_relayed(room.record.id, four).await;
        assert!(queues[0].try_take().is_none());
    }
}
