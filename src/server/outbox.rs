//! A connection's outgoing queue: bounded by count and by bytes, shared by everything that
//! pushes to the socket.
//!
//! Producers (rooms, the hub) never wait on a client: [`Outbox::push`] either queues the
//! frame at once or, when the queue is full, cuts the connection off. The client then
//! reconnects and catches up from history, and nobody else in the room is slowed down.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;
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

/// The writer's end of an [`Outbox`].
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    /// A plain deque rather than a channel: it holds no memory while empty, and most
    /// connections are idle most of the time (a channel keeps a block of slots per
    /// connection for good).
    frames: Mutex<VecDeque<Frame>>,
    /// Wakes the writer after a push.
    ready: Notify,
    /// Bytes queued and not yet taken by the writer; at most `bound.bytes`.
    bytes: AtomicUsize,
    bound: QueueBound,
    closed: CancellationToken,
    /// The same as `closed.is_cancelled()`, without the token's lock: `push` asks on
    /// every frame.
    is_closed: AtomicBool,
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
    pub fn new(bound: QueueBound) -> (Outbox, Queue) {
        let inner = Arc::new(Inner {
            frames: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            bytes: AtomicUsize::new(0),
            bound: QueueBound {
                frames: bound.frames.max(1),
                bytes: bound.bytes,
            },
            closed: CancellationToken::new(),
            is_closed: AtomicBool::new(false),
            reason: OnceLock::new(),
        });
        (
            Outbox {
                inner: inner.clone(),
            },
            Queue { inner },
        )
    }

    /// Queues `frame` without waiting. Returns false when the connection is (now) closed.
    pub fn push(&self, frame: &Frame) -> bool {
        if self.inner.is_closed.load(Ordering::Relaxed) {
            return false;
        }
        let len = frame.len();
        let queued = self.inner.bytes.fetch_add(len, Ordering::Relaxed) + len;
        // One frame always fits, however big, so a lone large event is never a reason.
        let too_many_bytes = queued > self.inner.bound.bytes && queued > len;
        let fits = !too_many_bytes && {
            let mut frames = self.inner.frames();
            let fits = frames.len() < self.inner.bound.frames;
            if fits {
                frames.push_back(frame.clone());
            }
            fits
        };
        if !fits {
            self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
            self.close(CloseReason::TOO_SLOW);
            return false;
        }
        self.inner.ready.notify_one();
        true
    }

    /// The writer handed `len` bytes of queued frames to the socket.
    pub fn taken(&self, len: usize) {
        self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
    }

    /// Asks the connection to close; the first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.inner.reason.set(reason);
        self.inner.is_closed.store(true, Ordering::Relaxed);
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

impl Queue {
    /// Waits until frames are queued, then moves all of them into `batch`, which must be
    /// empty. Cancel-safe: nothing is taken until it returns.
    pub async fn next_batch(&self, batch: &mut VecDeque<Frame>) {
        debug_assert!(batch.is_empty());
        loop {
            {
                let mut frames = self.inner.frames();
                if !frames.is_empty() {
                    // The emptied batch goes back as the queue: no copying, no allocation.
                    std::mem::swap(&mut *frames, batch);
                    return;
                }
            }
            self.inner.ready.notified().await;
        }
    }

    /// Drops every queued frame: the connection is closing.
    pub fn clear(&self) {
        *self.inner.frames() = VecDeque::new();
    }

    /// Gives back the queue's memory if it is empty; returns whether it was.
    pub fn shrink_if_empty(&self) -> bool {
        let mut frames = self.inner.frames();
        let empty = frames.is_empty();
        if empty {
            *frames = VecDeque::new();
        }
        empty
    }

    #[cfg(test)]
    fn try_take(&self) -> Option<Frame> {
        self.inner.frames().pop_front()
    }
}

impl Inner {
    fn frames(&self) -> MutexGuard<'_, VecDeque<Frame>> {
        // Pushing or swapping cannot panic halfway; the deque is always whole.
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_cuts_the_connection_off() {
        let (outbox, rx) = Outbox::new(QueueBound {
            frames: 2,
            bytes: 1 << 20,
        });
        let frame = Frame::from("x");
        assert!(outbox.push(&frame));
        assert!(outbox.push(&frame));
        assert_eq!(outbox.close_reason(), None);
        assert!(!outbox.push(&frame), "third frame does not fit");
        assert_eq!(outbox.close_reason(), Some(CloseReason::TOO_SLOW));
        assert_eq!(rx.try_take().unwrap().as_str(), "x");
    }

    #[test]
    fn too_many_bytes_cut_the_connection_off() {
        let (outbox, rx) = Outbox::new(QueueBound {
            frames: 100,
            bytes: 10,
        });
        let frame = Frame::from("12345");
        assert!(outbox.push(&frame));
        assert!(outbox.push(&frame));
        // The writer takes one: room for one more.
        let first = rx.try_take().unwrap();
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
