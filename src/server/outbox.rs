//! A connection's outgoing queue: bounded, shared by everything that pushes to the socket.
//!
//! Producers (rooms, the hub) never wait on a client: [`Outbox::push`] either queues the
//! frame at once or, when the queue is full, cuts the connection off. The client then
//! reconnects and catches up from history, and nobody else in the room is slowed down.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One encoded event. Cloning shares the bytes, so a room encodes an event once for all
/// its members.
pub type Frame = Utf8Bytes;

/// Why the server closed a connection, sent to the client in the close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    pub const TOO_SLOW: CloseReason = CloseReason {
        code: 1013,
        reason: "too slow: outgoing queue full; resume from history",
    };
    pub const SHUTDOWN: CloseReason = CloseReason {
        code: 1001,
        reason: "server shutting down",
    };
}

#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Frame>,
    closed: CancellationToken,
    reason: OnceLock<CloseReason>,
}

impl Outbox {
    /// A queue of at most `capacity` frames, and its receiving end for the socket writer.
    pub fn new(capacity: usize) -> (Outbox, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(capacity);
        let inner = Inner {
            tx,
            closed: CancellationToken::new(),
            reason: OnceLock::new(),
        };
        (
            Outbox {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Queues `frame` without waiting. Returns false when the connection is (now) closed.
    pub fn push(&self, frame: &Frame) -> bool {
        match self.inner.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CloseReason::TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the connection to close; the first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.inner.reason.set(reason);
        self.inner.closed.cancel();
    }

    /// Resolves once [`Outbox::close`] has been called.
    pub async fn closed(&self) -> CloseReason {
        self.inner.closed.cancelled().await;
        self.close_reason().unwrap_or(CloseReason::SHUTDOWN)
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.inner.reason.get().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_cuts_the_connection_off() {
        let (outbox, mut rx) = Outbox::new(2);
        let frame = Frame::from("x");
        assert!(outbox.push(&frame));
        assert!(outbox.push(&frame));
        assert_eq!(outbox.close_reason(), None);
        assert!(!outbox.push(&frame), "third frame does not fit");
        assert_eq!(outbox.close_reason(), Some(CloseReason::TOO_SLOW));
        assert_eq!(rx.try_recv().unwrap().as_str(), "x");
    }
}
