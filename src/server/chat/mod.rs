//! The chat itself: rooms, who is connected, names in use ([`hub`]); what people do with
//! each other — conversations, private rooms, read marks ([`people`]); one room's
//! subscribers, presence and message writer ([`room`]); events for one person wherever
//! they are ([`inbox`]); and `@name` mentions ([`mentions`]).

pub mod hub;
pub mod inbox;
pub mod mentions;
pub mod people;
pub mod room;
