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

/// What a change does to its message. Each sets a part of it to a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The message's link card (made by the server).
    Preview(Box<Preview>),
    /// Its author took the card away.
    RemovePreview,
    /// Its author changed its text; `doc` is the new text's formatting (parsed by the
    /// server, as when it was sent).
    Edited {
        text: String,
        doc: Option<Vec<super::rich::Node>>,
    },
    /// Its author took it back: its text, formatting, card, file and reactions are gone,
    /// and a "message deleted" line stays in its place.
    Deleted,
    /// Who reacts to it with `emoji` now, in the order they reacted (empty: nobody).
    Reacted { emoji: String, names: Vec<String> },
    /// Pinned to its room (`true`) or taken off its pins.
    Pinned(bool),
    /// A moderator took it away: as [`Change::Deleted`], with a "removed by a moderator"
    /// line in its place.
    Removed,
    /// Its author deleted their account and kept their messages: it is signed
    /// [`DELETED_USER`] now.
    Disowned,
}

/// Who wrote the messages of a deleted account that kept them.
pub const DELETED_USER: &str = "deleted user";

// On the wire: `[kind, …]`, the kind's fields after it — `[1, card]`, `[2]`, `[3, text,
// doc]`, `[4]`, `[5, emoji, names]`, `[6, pinned]`, `[7]`, `[8]`. Written by hand, not derived: an enum's derived
// decoder is several times the size of this one in the page's WASM. Elements after the
// ones a kind needs are skipped, so `[2, null]` (stored by earlier versions) still reads.
impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(None)?;
        match self {
            Change::Preview(card) => {
                seq.serialize_element(&1u8)?;
                seq.serialize_element(card)?;
            }
            Change::RemovePreview => seq.serialize_element(&2u8)?,
            Change::Edited { text, doc } => {
                seq.serialize_element(&3u8)?;
                seq.serialize_element(text)?;
                seq.serialize_element(doc)?;
            }
            Change::Deleted => seq.serialize_element(&4u8)?,
            Change::Removed => seq.serialize_element(&7u8)?,
            Change::Disowned => seq.serialize_element(&8u8)?,
            Change::Reacted { emoji, names } => {
                seq.serialize_element(&5u8)?;
                seq.serialize_element(emoji)?;
                seq.serialize_element(names)?;
            }
            Change::Pinned(pinned) => {
                seq.serialize_element(&6u8)?;
                seq.serialize_element(pinned)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Kinds;
        impl<'de> serde::de::Visitor<'de> for Kinds {
            type Value = Change;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a change: [kind, ...]")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Change, A::Error> {
                use serde::de::Error;
                fn next<'de, T: Deserialize<'de>, A: serde::de::SeqAccess<'de>>(
                    seq: &mut A,
                ) -> Result<T, A::Error> {
                    seq.next_element()?
                        .ok_or_else(|| A::Error::custom("a change is missing a part"))
                }
                let change = match next::<u8, A>(&mut seq)? {
                    1 => Change::Preview(next(&mut seq)?),
                    2 => Change::RemovePreview,
                    3 => Change::Edited {
                        text: next(&mut seq)?,
                        doc: next(&mut seq)?,
                    },
                    4 => Change::Deleted,
                    5 => Change::Reacted {
                        emoji: next(&mut seq)?,
                        names: next(&mut seq)?,
                    },
                    6 => Change::Pinned(next(&mut seq)?),
                    7 => Change::Removed,
                    8 => Change::Disowned,
                    _ => return Err(A::Error::custom("unknown kind of change")),
                };
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(change)
            }
        }
        deserializer.deserialize_seq(Kinds)
    }
}

/// What a person may ask to change in a message (`ClientFrame::Change`). Kept apart
/// from [`Change`]: a card is the server's to make, the formatting the server's to
/// parse, and who reacted the server's to count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edit {
    /// Take the link card off my message.
    RemovePreview,
    /// Change my message's text to this (markdown, as when sending).
    Text(String),
    /// Take my message back.
    Delete,
    /// Add my reaction with this emoji, or take it away if I gave it already.
    React(String),
    /// Pin the message to the room (`true`), or take it off the room's pins.
    Pin(bool),
    /// Report the message to the server's admins. Kept as a report, not a change of the
    /// message: answered by an `ack` (a second report of it by the same person too).
    Report,
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
    /// Changes `msg` (the message `target`) as this update says. A deleted message stays
    /// deleted (the server refuses changes to it; a card made before arrives after).
    pub fn apply(&self, msg: &mut super::ChatMessage) {
        use super::ChatMessage;
        if msg.state >= ChatMessage::DELETED {
            return;
        }
        msg.rev = self.seq;
        match &self.change {
            Change::Preview(card) => msg.preview = Some(card.clone()),
            Change::RemovePreview => msg.preview = None,
            Change::Edited { text, doc } => {
                msg.text = text.clone();
                msg.doc = doc.clone();
                msg.state = ChatMessage::EDITED;
            }
            Change::Deleted | Change::Removed => {
                msg.text.clear();
                msg.mentions.clear();
                msg.reactions.clear();
                (msg.doc, msg.preview, msg.file) = (None, None, None);
                msg.pinned = false;
                msg.state = if self.change == Change::Removed {
                    ChatMessage::REMOVED
                } else {
                    ChatMessage::DELETED
                };
            }
            Change::Reacted { emoji, names } => set_reaction(&mut msg.reactions, emoji, names),
            Change::Pinned(pinned) => msg.pinned = *pinned,
            Change::Disowned => msg.author = DELETED_USER.to_owned(),
        }
    }
}

/// One emoji given to a message: the emoji first, then who gave it, in order (never
/// empty). A list of strings rather than a pair: the page's decoder of a list of strings
/// is there already, for mentions.
pub type Reaction = Vec<String>;

/// Sets who reacted with `emoji` to `names`: a new emoji goes last, one nobody gives any
/// more goes away. Shared by the page and the store, so both agree on the order.
pub fn set_reaction(reactions: &mut Vec<Reaction>, emoji: &str, names: &[String]) {
    let at = reactions
        .iter()
        .position(|r| r.first().is_some_and(|e| e == emoji));
    let given = || {
        std::iter::once(emoji.to_owned())
            .chain(names.iter().cloned())
            .collect()
    };
    match at {
        Some(i) if names.is_empty() => {
            reactions.remove(i);
        }
        Some(i) => reactions[i] = given(),
        None if !names.is_empty() => reactions.push(given()),
        None => {}
    }
}
