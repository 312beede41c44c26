//! Messages the user wrote, and changes they made to messages (a reaction, an edit, a
//! delete, a pin), that the server has not confirmed yet, for every room.
//!
//! Each one is kept in `localStorage` (see `persist`) until the server says it is stored,
//! so neither a lost connection nor a reload loses it. Sending is at-least-once: whatever
//! was not confirmed on one socket is sent again on the next, and the server stores each
//! client id once, so the room still shows it once.

use serde::{Deserialize, Serialize};

use crate::protocol::Seq;

/// One message (or change) waiting for its confirmation. Kept as a JSON array (`[by,
/// room, cid, text, made, error, file, file_name, reply, change]`): a struct's decoder is
/// 4 KB of the page's WASM, an array's a fraction of it (docs/wasm-size.md). An array kept
/// by an earlier version, shorter, is read with the fields it lacks empty
/// (`persist::load_queued`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "QueuedWire", into = "QueuedWire")]
pub struct Queued {
    /// The name it was written under; only sent while signed in under that name.
    pub by: String,
    pub room: String,
    /// The client-made id the server deduplicates on.
    pub cid: String,
    pub text: String,
    /// When it was written (ms since the epoch, plus a counter): the order to send in.
    pub made: f64,
    /// Why the server refused it, for good; it waits for Retry or Discard.
    pub error: Option<String>,
    /// Sent on the current socket; not sent again until that socket is gone. Not kept.
    pub in_flight: bool,
    /// The file it carries, by its name (its text is then the caption), and its upload's
    /// id once uploaded; until then the file waits in IndexedDB (`client::upload`). Not
    /// the whole `Attachment`: its serializer would be in the front end only for this
    /// (docs/wasm-size.md).
    pub file: Option<String>,
    pub file_name: Option<String>,
    /// The seq of the message (of the same room) it answers.
    pub reply: Option<Seq>,
    /// Not a message but a change of one: the `change` frame to send, as its JSON text
    /// (kept as it will go, so the page needs no decoder of edits).
    pub change: Option<String>,
}

/// Fields of [`QueuedWire`]: what an earlier version's shorter array is filled up to.
pub const QUEUED_FIELDS: u32 = 10;

/// [`Queued`] as kept, in field order; `in_flight` is not kept.
type QueuedWire = (
    String,
    String,
    String,
    String,
    f64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Seq>,
    Option<String>,
);

impl From<QueuedWire> for Queued {
    fn from(
        (by, room, cid, text, made, error, file, file_name, reply, change): QueuedWire,
    ) -> Self {
        Queued {
            by,
            room,
            cid,
            text,
            made,
            error,
            in_flight: false,
            file,
            file_name,
            reply,
            change,
        }
    }
}

impl From<Queued> for QueuedWire {
    fn from(q: Queued) -> Self {
        (
            q.by,
            q.room,
            q.cid,
            q.text,
            q.made,
            q.error,
            q.file,
            q.file_name,
            q.reply,
            q.change,
        )
    }
}

impl Queued {
    /// Its file is still to be uploaded: it, and what was written after it, wait.
    pub fn needs_upload(&self) -> bool {
        self.file_name.is_some() && self.file.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    items: Vec<Queued>,
}

impl Outbox {
    /// An outbox holding `items` (read back after a reload), in the order they were made.
    pub fn restore(mut items: Vec<Queued>) -> Self {
        items.sort_by(|a, b| a.made.total_cmp(&b.made));
        for item in &mut items {
            item.in_flight = false;
        }
        Outbox { items }
    }

    pub fn add(&mut self, item: Queued) {
        if !self.items.iter().any(|q| q.cid == item.cid) {
            self.items.push(item);
        }
    }

    pub fn in_any_room(&self, cid: &str) -> bool {
        self.items.iter().any(|q| q.cid == cid)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The messages (not changes) `by` has waiting in `room`, oldest first.
    pub fn in_room<'a>(
        &'a self,
        room: &'a str,
        by: &'a str,
    ) -> impl Iterator<Item = &'a Queued> + 'a {
        self.items
            .iter()
            .filter(move |q| q.room == room && q.by == by && q.change.is_none())
    }

    /// Whether `cid` is a change waiting here.
    pub fn is_change(&self, cid: &str) -> bool {
        self.items
            .iter()
            .any(|q| q.cid == cid && q.change.is_some())
    }

    /// The server stored it: it leaves the outbox. Returns it if it was here.
    pub fn confirm(&mut self, cid: &str) -> Option<Queued> {
        let index = self.items.iter().position(|q| q.cid == cid)?;
        Some(self.items.remove(index))
    }

    /// The server refused it. A transient refusal (rate limit, overload) leaves it to be
    /// sent again; any other is kept with its reason until the user decides. Returns the
    /// changed item, to save.
    pub fn refuse(&mut self, cid: &str, why: String, transient: bool) -> Option<&Queued> {
        let item = self.items.iter_mut().find(|q| q.cid == cid)?;
        item.in_flight = false;
        if !transient {
            item.error = Some(why);
        }
        Some(item)
    }

    /// The user chose Retry: it is sent again like a new message, under the same id.
    pub fn retry(&mut self, cid: &str) -> Option<&Queued> {
        let item = self.items.iter_mut().find(|q| q.cid == cid)?;
        item.error = None;
        item.in_flight = false;
        Some(item)
    }

    /// The oldest of `by`'s messages whose file is still to be uploaded.
    pub fn next_upload(&self, by: &str) -> Option<&Queued> {
        self.items
            .iter()
            .filter(|q| q.error.is_none() && q.by == by)
            .find(|q| q.needs_upload())
    }

    /// The file of `cid` is uploaded as `id`: the message may go. Returns it, to save.
    pub fn uploaded(&mut self, cid: &str, id: String) -> Option<&Queued> {
        let item = self.items.iter_mut().find(|q| q.cid == cid)?;
        item.file = Some(id);
        Some(item)
    }

    /// A new socket: nothing is in flight on it yet.
    pub fn socket_changed(&mut self) {
        for item in &mut self.items {
            item.in_flight = false;
        }
    }

    /// The messages to send now, oldest first, marked as in flight: as many as keep at
    /// most `window` in flight. A small window keeps a long outbox from tripping the
    /// server's rate limit, which would refuse some out of order.
    /// Only messages written `by` the current name go: a browser shared by two people
    /// never sends one's words as the other's.
    pub fn take_to_send(&mut self, by: &str, window: usize) -> Vec<Queued> {
        let waiting = self
            .items
            .iter()
            .filter(|q| q.error.is_none() && q.by == by);
        let room = window.saturating_sub(waiting.clone().filter(|q| q.in_flight).count());
        // In order: nothing goes past a file still to be uploaded.
        self.items
            .iter_mut()
            .filter(|q| q.error.is_none() && q.by == by)
            .take_while(|q| !q.needs_upload())
            .filter(|q| !q.in_flight)
            .take(room)
            .map(|q| {
                q.in_flight = true;
                q.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(room: &str, cid: &str, made: f64) -> Queued {
        Queued {
            by: "ana".into(),
            room: room.into(),
            cid: cid.into(),
            text: format!("text of {cid}"),
            made,
            error: None,
            in_flight: false,
            file: None,
            file_name: None,
            reply: None,
            change: None,
        }
    }

    fn cids(items: &[Queued]) -> Vec<&str> {
        items.iter().map(|q| q.cid.as_str()).collect()
    }

    #[test]
    fn sends_in_order_once_per_socket_until_confirmed() {
        let mut outbox = Outbox::restore(vec![
            queued("tech", "c2", 2.0),
            queued("general", "c1", 1.0),
        ]);
        outbox.add(queued("general", "c3", 3.0));
        outbox.add(queued("general", "c3", 3.0));
        assert_eq!(cids(&outbox.take_to_send("ana", 2)), ["c1", "c2"]);
        assert!(
            outbox.take_to_send("ana", 2).is_empty(),
            "two in flight already"
        );

        assert!(outbox.confirm("c2").is_some());
        assert!(outbox.confirm("c2").is_none());
        assert_eq!(cids(&outbox.take_to_send("ana", 2)), ["c3"]);
        outbox.socket_changed();
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c1", "c3"]);
        let general: Vec<_> = outbox
            .in_room("general", "ana")
            .map(|q| q.cid.as_str())
            .collect();
        assert_eq!(general, ["c1", "c3"]);
    }

    #[test]
    fn nothing_goes_past_a_file_still_to_upload() {
        let mut file = queued("general", "c2", 2.0);
        file.file_name = Some("cat.png".into());
        let mut outbox = Outbox::restore(vec![queued("general", "c1", 1.0), file]);
        outbox.add(queued("general", "c3", 3.0));
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c1"]);
        assert_eq!(
            outbox.next_upload("ana").map(|q| q.cid.as_str()),
            Some("c2")
        );
        assert!(outbox
            .uploaded("c2", "0123456789abcdef0123456789abcdef".into())
            .is_some());
        assert_eq!(outbox.next_upload("ana"), None);
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c2", "c3"]);
        // A file refused for good waits for the user; what follows it goes.
        let mut refused = queued("general", "c4", 4.0);
        refused.file_name = Some("big.bin".into());
        outbox.add(refused);
        outbox.add(queued("general", "c5", 5.0));
        outbox.refuse("c4", "too large".into(), false);
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c5"]);
    }

    #[test]
    fn refusals_wait_for_the_user_unless_transient() {
        let mut outbox = Outbox::default();
        outbox.add(queued("general", "c1", 1.0));
        outbox.add(queued("general", "c2", 2.0));
        outbox.take_to_send("ana", 10);
        outbox.refuse("c1", "too long".into(), false);
        outbox.refuse("c2", "slow down".into(), true);
        assert_eq!(
            cids(&outbox.take_to_send("ana", 10)),
            ["c2"],
            "a transient refusal is sent again"
        );
        assert_eq!(
            outbox
                .in_room("general", "ana")
                .next()
                .unwrap()
                .error
                .as_deref(),
            Some("too long")
        );

        outbox.retry("c1");
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c1"]);
        assert!(outbox.confirm("c1").is_some());
        assert!(outbox.confirm("c2").is_some());
        assert!(outbox.is_empty());
    }

    #[test]
    fn only_the_writer_s_messages_are_sent() {
        let mut outbox = Outbox::default();
        outbox.add(queued("general", "c1", 1.0));
        assert!(outbox.take_to_send("bo", 10).is_empty());
        assert_eq!(outbox.in_room("general", "bo").count(), 0);
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c1"]);
    }

    #[test]
    fn changes_go_in_order_with_messages_and_are_not_drawn_as_lines() {
        let mut change = queued("general", "c2", 2.0);
        change.change = Some(r#"{"t":"change"}"#.into());
        let mut outbox = Outbox::restore(vec![queued("general", "c1", 1.0), change]);
        assert!(outbox.is_change("c2") && !outbox.is_change("c1"));
        assert_eq!(cids(&outbox.take_to_send("ana", 10)), ["c1", "c2"]);
        let drawn: Vec<_> = outbox
            .in_room("general", "ana")
            .map(|q| q.cid.as_str())
            .collect();
        assert_eq!(drawn, ["c1"]);
    }

    #[test]
    fn survives_a_round_trip_through_storage() {
        let mut item = queued("general", "c1", 1.5);
        item.error = Some("no".into());
        item.in_flight = true;
        let json = serde_json::to_string(&item).unwrap();
        let back: Queued = serde_json::from_str(&json).unwrap();
        assert_eq!(back.error.as_deref(), Some("no"));
        assert!(!back.in_flight, "nothing is in flight after a reload");
    }
}
