//! A connection's outgoing queue: bounded by count and by bytes, shared by everything that
//! pushes to the socket.
//!
//! Producers (rooms, the hub) never wait on a client: [`Outbox::push`] either queues the
//! frame at once or, when the queue is full, cuts the connection off. The client then
//! reconnects and catches up from history, and nobody else in the room is slowed down.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Bytes queued and not yet taken by the writer; at most `max_bytes`.
    bytes: AtomicUsize,
    max_bytes: usize,
    closed: CancellationToken,
    reason: OnceLock<CloseReason>,
}

/// How much one connection may have queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueBound {
    pub frames: usize,
    pub bytes: usize,
}

impl Outbox {
    /// A queue within `bound`, and its receiving end for the socket writer, which must
    /// report what it takes with [`Outbox::taken`].
    pub fn new(bound: QueueBound) -> (Outbox, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(bound.frames.max(1));
        let inner = Inner {
            tx,
            bytes: AtomicUsize::new(0),
            max_bytes: bound.bytes,
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
        let len = frame.len();
        let queued = self.inner.bytes.fetch_add(len, Ordering::Relaxed) + len;
        // One frame always fits, however big, so a lone large event is never a reason.
        if queued > self.inner.max_bytes && queued > len {
            self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
            self.close(CloseReason::TOO_SLOW);
            return false;
        }
        match self.inner.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(err) => {
                self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
                if matches!(err, mpsc::error::TrySendError::Full(_)) {
                    self.close(CloseReason::TOO_SLOW);
                }
                false
            }
        }
    }

    /// The writer handed `len` bytes of queued frames to the socket.
    pub fn taken(&self, len: usize) {
        self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
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
        let (outbox, mut rx) = Outbox::new(QueueBound {
            frames: 2,
            bytes: 1 << 20,
        });
        let frame = Frame::from("x");
        assert!(outbox.push(&frame));
        assert!(outbox.push(&frame));
        assert_eq!(outbox.close_reason(), None);
        assert!(!outbox.push(&frame), "third frame does not fit");
        assert_eq!(outbox.close_reason(), Some(CloseReason::TOO_SLOW));
        assert_eq!(rx.try_recv().unwrap().as_str(), "x");
    }

    #[test]
    fn too_many_bytes_cut_the_connection_off() {
        let (outbox, mut rx) = Outbox::new(QueueBound {
            frames: 100,
            bytes: 10,
        });
        let frame = Frame::from("12345");
        assert!(outbox.push(&frame));
        assert!(outbox.push(&frame));
        // The writer takes one: room for one more.
        let first = rx.try_recv().unwrap();
        outbox.taken(first.len());
        assert!(outbox.push(&frame));
        assert_eq!(outbox.close_reason(), None);
        assert!(!outbox.push(&frame), "eleven bytes do not fit in ten");
        assert_eq!(outbox.close_reason(), Some(CloseReason::TOO_SLOW));
    }

    #[test]
    fn one_large_frame_always_fits() {
        let (outbox, _rx) = Outbox::new(QueueBound {
            frames: 100,
            bytes: 10,
        });
        assert!(outbox.push(&Frame::from("x".repeat(50))));
        assert_eq!(outbox.close_reason(), None);
    }
}
