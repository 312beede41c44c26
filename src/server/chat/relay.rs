//! What the other nodes of a server must hear (`server::cluster` carries it over NATS):
//! stored events, what is live but not stored ([`Signal`]: presence, typing, members),
//! and events for one person's tabs wherever they are.
//!
//! A room's writer hands each stored batch to the [`Relay`] once, encoded once: one
//! message per batch and room, never one per recipient. Receivers put the events
//! through the room's [`super::sequencer::Sequencer`], so a lost or late batch only
//! delays delivery until the gap is filled from the store. Signals are not stored: a
//! lost one is made good by the next lease (presence) or not at all (typing).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::sequencer::Event;
use crate::protocol::Seq;
use crate::server::ws::send_queue::Frame;

/// Where a node's news goes for the other nodes. It never waits: a full queue drops
/// what it is given (a batch is then read from the store).
pub trait Relay: Send + Sync + 'static {
    /// Room `room` stored these events (encoded by [`encode`]).
    fn stored(&self, room: i64, batch: Bytes);
    /// Something live, not stored, that the other nodes must know.
    fn signal(&self, signal: Signal);
    /// `frame` is for every tab of `user`, on whichever node.
    fn to_user(&self, user: &str, frame: &Frame);
}

/// What nodes tell each other beside stored events. Each arrives with the node that
/// sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// `user`, as `name`, has a first tab in `room` on the sending node (`here`), or no
    /// longer any.
    Presence {
        room: i64,
        user: String,
        name: String,
        here: bool,
    },
    /// `user`, as `name`, is typing in `room`.
    Typing {
        room: i64,
        user: String,
        name: String,
    },
    /// `user` was let into (`added`) or taken out of the private room or conversation
    /// `room`.
    Member {
        room: i64,
        user: String,
        name: String,
        added: bool,
    },
    /// `user` is online on the sending node under `name` (`here`), or no longer.
    Online {
        user: String,
        name: String,
        here: bool,
    },
    /// `user` registered the name `name`: people may find them by it.
    Registered { user: String, name: String },
    /// `user`'s account is gone, and its name free.
    Unregistered { user: String },
    /// The room `room` was made: load it from the store.
    RoomMade { room: i64 },
    /// Everything the sending node has, renewed every few seconds: who is present in
    /// which room (room, user, name), who is online under which name (user, name), and
    /// who has a tab in front of them. A node whose
    /// lease is not renewed is taken as gone, and its people leave.
    Lease {
        present: Vec<(i64, String, String)>,
        online: Vec<(String, String)>,
        looking: Vec<String>,
    },
    /// A node started: the others answer with their leases.
    Hello,
}

/// The relay, once the server has one (several nodes).
pub type Relays = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn Relay>>>;

/// A batch as relayed: per event its seq, its message number (0 for a change), then the
/// length and bytes of its JSON (`ServerEvent`, as sent to clients).
pub fn encode<'a>(events: impl IntoIterator<Item = (Seq, Option<Seq>, &'a str)>) -> Bytes {
    let mut out = BytesMut::new();
    for (seq, n, json) in events {
        out.put_u64(seq);
        out.put_u64(n.unwrap_or(0));
        out.put_u32(json.len() as u32);
        out.put_slice(json.as_bytes());
    }
    out.freeze()
}

/// The events of a relayed batch; `None` when it is not one.
pub fn decode(mut batch: Bytes) -> Option<Vec<Event<String>>> {
    let mut events = Vec::new();
    while batch.has_remaining() {
        if batch.remaining() < 20 {
            return None;
        }
        let seq = batch.get_u64();
        let n = batch.get_u64();
        let len = batch.get_u32() as usize;
        if batch.remaining() < len {
            return None;
        }
        let json = String::from_utf8(batch.split_to(len).to_vec()).ok()?;
        events.push(Event {
            seq,
            n: (n > 0).then_some(n),
            frame: json,
        });
    }
    Some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_comes_back_as_it_went() {
        let batch = encode([(7, Some(4), "{\"a\":1}"), (8, None, "é")]);
        let events = decode(batch.clone()).unwrap();
        assert_eq!(
            events,
            [
                Event {
                    seq: 7,
                    n: Some(4),
                    frame: "{\"a\":1}".to_owned()
                },
                Event {
                    seq: 8,
                    n: None,
                    frame: "é".to_owned()
                },
            ]
        );
        assert_eq!(decode(batch.slice(..batch.len() - 1)), None, "cut short");
        assert_eq!(decode(Bytes::new()), Some(vec![]));
    }
}
