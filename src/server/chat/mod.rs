//! The chat itself: rooms, who is connected, names in use ([`hub`]), and one room's
//! subscribers, presence and message writer ([`room`]).

pub mod hub;
pub mod room;
