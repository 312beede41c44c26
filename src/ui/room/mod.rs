//! The open room's parts: its messages and the box to write in.

pub mod composer;
pub mod message_list;
