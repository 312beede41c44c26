//! Changes to a stored message. Each is an event of its room's stream with a seq of its
//! own, stored before it is sent, like a message: a client resuming after seq N gets the
//! changes it missed, once, in order, and history answers messages as they are now.
//!
//! Applying a change sets part of a message to a value (never "add one"), so applying
//! one twice — from the live stream and again from a resume — changes nothing more.

use serde::{Deserialize, Serialize};

use super::Seq;

/// A link's card, fetched by the server: what the first http(s) link of a message
/// points to. Its image is a thumbnail Natter made and serves itself, so the browser
/// never contacts the linked site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// The link, as the message has it.
    pub url: String,
    /// The site's name, or its host.
    pub site: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where Natter serves the thumbnail (`/previews/<hash>.jpg`), when the page has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// What a change does to its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The message's link card (made by the server).
    Preview(Box<Preview>),
    /// Its author took the card away.
    RemovePreview,
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
pub struct Update {
    pub seq: Seq,
    /// The seq of the message it changes.
    pub target: Seq,
    /// The id its maker gave it: a client's, or the server's own for a card.
    pub cid: String,
    pub change: Change,
}

impl Update {
    /// Changes `msg` (the message `target`) as this update says.
    pub fn apply(&self, msg: &mut super::ChatMessage) {
        match &self.change {
            Change::Preview(card) => msg.preview = Some(card.clone()),
            Change::RemovePreview => msg.preview = None,
        }
    }
}
