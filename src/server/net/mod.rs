//! Outgoing connections to addresses users give us (push endpoints, pages to preview):
//! which addresses the server may reach on their behalf ([`ssrf`]), and the one client
//! that keeps to them ([`client`]).

pub mod client;
pub mod ssrf;
