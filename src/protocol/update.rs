//! Changes to a stored message. Each is an event of its room's stream with a seq of its
//! own, stored before it is sent, like a message: a client resuming after seq N gets the
//! changes it missed, once, in order, and history answers messages as they are now.
//!
//! Applying a change sets part of a message to a value (never "add one"), so applying
//! one twice — from the live stream and again from a resume — changes nothing more.
//!
//! On the wire these are JSON arrays, not objects (`[seq, target, cid, [kind, card]]`;
//! `protocol::wire`): an array's decoder is a fraction of a struct's or an enum's in the
//! page's WASM.

use serde::{Deserialize, Serialize};

use super::Seq;

/// A link's card, fetched by the server: what the first http(s) link of a message
/// points to. Its image is a thumbnail Natter made and serves itself, so the browser
/// never contacts the linked site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PreviewWire", into = "PreviewWire")]
pub struct Preview {
    /// The link, as the message has it.
    pub url: String,
    /// The site's name, or its host.
    pub site: String,
    pub title: String,
    pub description: String,
    /// Where Natter serves the thumbnail (`/previews/<hash>.jpg`), when the page has one.
    pub image: Option<String>,
}

as_array!(Preview as PreviewWire {
    url: String,
    site: String,
    title: String,
    description: String,
    image: Option<String>,
});

/// What a change does to its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ChangeWire", into = "ChangeWire")]
pub enum Change {
    /// The message's link card (made by the server).
    Preview(Box<Preview>),
    /// Its author took the card away.
    RemovePreview,
}

/// [`Change`] on the wire: `[kind, card]`; a card with kind 1, none with kind 2 (or
/// with a kind this page does not know, which it then reads as taking the card away).
type ChangeWire = (u8, Option<Box<Preview>>);

impl From<ChangeWire> for Change {
    fn from((kind, card): ChangeWire) -> Self {
        match (kind, card) {
            (1, Some(card)) => Change::Preview(card),
            _ => Change::RemovePreview,
        }
    }
}

impl From<Change> for ChangeWire {
    fn from(change: Change) -> Self {
        match change {
            Change::Preview(card) => (1, Some(card)),
            Change::RemovePreview => (2, None),
        }
    }
}

/// What a person may ask to change in a message (`ClientFrame::Change`). Kept apart
/// from [`Change`]: a card is the server's to make, never a client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edit {
    /// Take the link card off my message.
    RemovePreview,
}

impl Edit {
    /// The change it makes, once allowed.
    pub fn change(self) -> Change {
        match self {
            Edit::RemovePreview => Change::RemovePreview,
        }
    }
}

/// A stored change of the message `target`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "UpdateWire", into = "UpdateWire")]
pub struct Update {
    pub seq: Seq,
    /// The seq of the message it changes.
    pub target: Seq,
    /// The id its maker gave it: a client's, or the server's own for a card.
    pub cid: String,
    pub change: Change,
}

as_array!(Update as UpdateWire {
    seq: Seq,
    target: Seq,
    cid: String,
    change: Change,
});

impl Update {
    /// Changes `msg` (the message `target`) as this update says.
    pub fn apply(&self, msg: &mut super::ChatMessage) {
        match &self.change {
            Change::Preview(card) => msg.preview = Some(card.clone()),
            Change::RemovePreview => msg.preview = None,
        }
    }
}
