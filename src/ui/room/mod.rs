//! The open room's parts: its messages, who is typing, and the box to write in.

pub mod attachment;
pub mod composer;
pub mod message_list;
pub mod rich_text;
pub mod typing;
