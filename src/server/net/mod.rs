//! Outgoing connections to addresses users give us (push endpoints now, link previews
//! later): which addresses the server may reach on their behalf.

pub mod ssrf;
