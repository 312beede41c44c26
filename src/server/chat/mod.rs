//! The chat itself: rooms, who is connected, names in use ([`hub`]), and one room's
//! subscribers, presence and message writer ([`room`]); who may say they are typing, how
//! often ([`typing`]).

pub mod hub;
pub mod room;
pub mod typing;
