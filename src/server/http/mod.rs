//! The HTTP side of the server: the request a server function sees ([`request`]), and
//! how its answer's status is chosen ([`status`]).

pub mod request;
pub mod status;
