//! The parts of WebSocket (RFC 6455) Natter uses, written for how it uses them.
//!
//! Why not tungstenite (axum's `ws`): a room hands one encoded frame to fifty sockets,
//! and with a library in between each socket needed its own task woken per message to
//! copy the frame into its own buffer and write it. Here a frame is encoded once, header
//! included ([`Frame`]), and whoever queues it writes it straight to an idle socket (see
//! [`send_queue`]); a socket's task wakes only for what the client sends, a full socket, or a
//! timer.
//!
//! - [`connection`]: one WebSocket connection, from its upgrade to its close.
//! - [`send_queue`]: a connection's bounded outgoing queue, and the writes to its socket.
//! - [`handshake`]: the HTTP upgrade, and taking the TCP stream over from hyper.
//! - [`frame`]: frames to clients (never masked nor fragmented) and the reader of
//!   frames from clients (masked, maybe fragmented), with every check the RFC asks for.

pub mod connection;
pub mod frame;
pub mod handshake;
pub mod send_queue;

pub use frame::{Frame, Incoming, Reader, Violation};
