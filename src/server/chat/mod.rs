//! The chat itself: rooms, who is connected, names in use ([`hub`]); what people do with
//! each other — conversations, private rooms, read marks ([`people`]); one room's
//! subscribers, presence and message writer ([`room`]); events for one person wherever
//! they are ([`inbox`]); `@name` mentions ([`mentions`]); formatting ([`markdown`]);
//! which link of a message gets a card ([`links`]);
//! who may say they are typing, how often ([`typing`]); and, with several nodes, a
//! room's events in seq order whoever stored them ([`sequencer`]), rung to the other
//! nodes ([`relay`]).

pub mod commands;
pub mod hub;
pub mod inbox;
pub mod links;
pub mod markdown;
pub mod mentions;
pub mod moderation;
pub mod nodes;
pub mod operator;
pub mod people;
pub mod presence;
pub mod relay;
pub mod room;
pub mod sanctions;
pub mod sequencer;
pub mod typing;
