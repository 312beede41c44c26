//! Stored events rung to the other nodes (`server::cluster` carries them over NATS).
//!
//! A room's writer hands each stored batch to the [`Relay`] once, encoded once: one
//! message per batch and room, never one per recipient. Receivers put the events
//! through the room's [`super::sequencer::Sequencer`], so a lost or late batch only
//! delays delivery until the gap is filled from the store.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::sequencer::Event;
use crate::protocol::Seq;

/// Where a node's stored events go for the other nodes. It never waits: a full queue
/// drops the batch, which the other nodes then read from the store.
pub trait Relay: Send + Sync + 'static {
    /// Room `room` stored these events (encoded by [`encode`]).
    fn stored(&self, room: i64, batch: Bytes);
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
