//! A room's events in seq order, whoever stored them.
//!
//! On one node the room's writer is the only one storing, so its events come in order.
//! With several nodes, another node's events arrive over the relay (NATS), which may
//! drop or reorder them, and this node's own commits may overtake them. The sequencer
//! hands on each event exactly once, in seq order: an old one is dropped, a later one is
//! held until the gap before it is filled (by the relay, or from the store).

use std::collections::BTreeMap;

use crate::protocol::Seq;

/// Events held at most, past a gap: beyond this the oldest wait in the store instead,
/// and the gap's filling brings them again.
const MAX_HELD: usize = 4_096;

/// One event of a room's stream: a message (with its number) or a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<F> {
    pub seq: Seq,
    /// A message's number among the room's messages; `None` for a change.
    pub n: Option<Seq>,
    pub frame: F,
}

#[derive(Debug)]
pub struct Sequencer<F> {
    /// The newest seq handed on: every one up to it was.
    published: Seq,
    /// The newest message number handed on.
    messages: Seq,
    held: BTreeMap<Seq, Event<F>>,
}

impl<F> Sequencer<F> {
    /// A stream whose events up to `published` (and messages up to `messages`) are known.
    pub fn new(published: Seq, messages: Seq) -> Self {
        Sequencer {
            published,
            messages,
            held: BTreeMap::new(),
        }
    }

    pub fn published(&self) -> Seq {
        self.published
    }

    pub fn messages(&self) -> Seq {
        self.messages
    }

    /// Takes `event`; calls `ready` with it, and with every held event it lets through,
    /// in seq order. An event already handed on (or held) is dropped.
    pub fn admit(&mut self, event: Event<F>, mut ready: impl FnMut(&Event<F>)) {
        if event.seq <= self.published {
            return;
        }
        if event.seq != self.published + 1 {
            if self.held.len() >= MAX_HELD {
                // The newest wait in the store: the gap's filling brings them.
                let newest = *self.held.keys().next_back().expect("held is full");
                if event.seq > newest {
                    return;
                }
                self.held.remove(&newest);
            }
            self.held.entry(event.seq).or_insert(event);
            return;
        }
        self.pass(&event, &mut ready);
        while let Some(next) = self.held.remove(&(self.published + 1)) {
            self.pass(&next, &mut ready);
        }
    }

    fn pass(&mut self, event: &Event<F>, ready: &mut impl FnMut(&Event<F>)) {
        self.published = event.seq;
        if let Some(n) = event.n {
            self.messages = n;
        }
        ready(event);
    }

    /// The seqs missing before the oldest held event, `(after, upto)`: the store has
    /// them (an event is relayed only once it is committed, and seqs are handed out
    /// without gaps).
    pub fn gap(&self) -> Option<(Seq, Seq)> {
        let first = *self.held.keys().next()?;
        Some((self.published, first - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: Seq) -> Event<Seq> {
        Event {
            seq,
            n: (seq % 2 == 1).then_some(seq.div_ceil(2)),
            frame: seq,
        }
    }

    fn admit(s: &mut Sequencer<Seq>, seq: Seq) -> Vec<Seq> {
        let mut out = Vec::new();
        s.admit(event(seq), |e| out.push(e.frame));
        out
    }

    #[test]
    fn events_pass_once_in_seq_order_whatever_order_they_come_in() {
        let mut s = Sequencer::new(2, 1);
        assert_eq!(admit(&mut s, 3), [3]);
        assert_eq!(admit(&mut s, 3), [] as [Seq; 0], "a duplicate is dropped");
        assert_eq!(admit(&mut s, 6), [] as [Seq; 0], "held behind the gap");
        assert_eq!(admit(&mut s, 5), [] as [Seq; 0]);
        assert_eq!(s.gap(), Some((3, 4)), "after 3, up to 4: seq 4 is missing");
        assert_eq!(admit(&mut s, 6), [] as [Seq; 0], "held once");
        assert_eq!(admit(&mut s, 4), [4, 5, 6]);
        assert_eq!(s.gap(), None);
        assert_eq!((s.published(), s.messages()), (6, 3));
        assert_eq!(admit(&mut s, 2), [] as [Seq; 0], "older than published");
    }

    #[test]
    fn a_full_hold_keeps_the_oldest() {
        let mut s = Sequencer::new(0, 0);
        for seq in 2..(2 + MAX_HELD as Seq) {
            admit(&mut s, seq);
        }
        assert_eq!(
            admit(&mut s, 100_000),
            [] as [Seq; 0],
            "past the hold: left to the store"
        );
        let passed = admit(&mut s, 1);
        assert_eq!(passed.len(), MAX_HELD + 1);
        assert_eq!(passed.last(), Some(&(1 + MAX_HELD as Seq)));
    }
}
