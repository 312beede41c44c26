//! The open room's parts: its messages (formatted ones, link cards, reactions and what a
//! reader may do to one), who is typing, the box to write in, and search (with the
//! room's pins).

pub mod attachment;
pub mod composer;
pub mod link_card;
pub mod message_list;
pub mod message_tools;
pub mod rich_text;
pub mod search;
pub mod typing;
