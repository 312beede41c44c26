//! A connection's outgoing queue, bounded by count and by bytes, and the socket it
//! drains into.
//!
//! Producers (rooms, the hub) never wait on a client: a frame is queued at once or, when
//! the queue is full, the connection is cut off. The client then reconnects and catches
//! up from history, and nobody else in the room is slowed down.
//!
//! Whoever queues a frame also writes it, when the socket is free: a room that has just
//! stored a batch writes it to each subscriber's socket with one non-blocking write,
//! instead of waking fifty connection tasks to do so. One writer at a time holds the
//! socket's write side (the `writing` claim); the others only queue, and the holder
//! writes their frames too before letting go. No lock is held during a write. When a
//! socket takes less than it was offered, the connection's own task waits until it can
//! take more (see [`SendQueue::blocked`]).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use crate::server::ws::Frame;

/// Frames written with one system call, at most.
const FRAMES_PER_WRITE: usize = 32;
/// Queue slots an empty queue keeps (128 bytes): a quiet socket that gets a message now
/// and then should not allocate and free its queue for each one.
const KEPT_SLOTS: usize = 4;

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
    /// The socket failed: nothing more can be sent, not even a close frame (1006 is
    /// never sent on the wire, RFC 6455 §7.4.1).
    pub const LOST: CloseReason = CloseReason {
        code: 1006,
        reason: "connection lost",
    };
}

#[derive(Clone)]
pub struct SendQueue {
    inner: Arc<Inner>,
}

struct Inner {
    pending: Mutex<Pending>,
    /// None for an queue that only queues (tests).
    socket: Option<Arc<TcpStream>>,
    /// Tells the connection's task that the socket is full.
    blocked: Notify,
    /// Bytes queued and not yet written; at most `bound.bytes`.
    bytes: AtomicUsize,
    bound: QueueBound,
    closed: CancellationToken,
    /// The same as `closed.is_cancelled()`, without the token's lock: `queue` asks on
    /// every frame.
    is_closed: AtomicBool,
    reason: OnceLock<CloseReason>,
}

/// A plain deque rather than a channel: it holds no memory while empty, and most
/// connections are idle most of the time (a channel keeps a block of slots per
/// connection for good).
#[derive(Default)]
struct Pending {
    frames: VecDeque<Frame>,
    /// Bytes of the front frame already written.
    written: usize,
    /// Someone is writing; frames queued meanwhile go out with them.
    writing: bool,
    /// The socket took less than it was offered: only the connection's task writes,
    /// once the socket can take more.
    blocked: bool,
    /// Nothing is written until the connection's greeting is queued first.
    held: bool,
    /// The close frame [`SendQueue::finish`] was given while a writer held the claim: the
    /// queue cannot be cut then (see [`Pending::end_with`]), so the writer cuts it,
    /// under the lock, as soon as its write has returned and been counted.
    last: Option<Frame>,
}

impl Pending {
    /// Drops everything queued but a frame already partly written, which must be
    /// finished for the stream to stay whole, and queues `last` after it. Only while no
    /// write is in flight: a writer's batch is a copy of the front of the queue, and
    /// [`SendQueue::advance`] counts what it wrote against the front of the queue as it then
    /// is. Cut under a writer, the queue's front was the close frame, which the writer's
    /// count then dropped as written: the socket was shut without it (issue #14).
    fn end_with(&mut self, last: Frame, bytes: &AtomicUsize) {
        debug_assert!(!self.writing);
        let keep = usize::from(self.written > 0).min(self.frames.len());
        let dropped: usize = self.frames.drain(keep..).map(|f| f.len()).sum();
        bytes.fetch_sub(dropped, Ordering::Relaxed);
        bytes.fetch_add(last.len(), Ordering::Relaxed);
        self.frames.push_back(last);
        self.held = false;
    }
}

/// How much one connection may have queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueBound {
    pub frames: usize,
    pub bytes: usize,
}

impl SendQueue {
    /// The queue of a connection on `socket`. It writes nothing until [`SendQueue::greet`].
    pub fn new(bound: QueueBound, socket: Arc<TcpStream>) -> SendQueue {
        SendQueue::build(bound, Some(socket))
    }

    /// A queue with no socket, whose frames stay queued (for tests).
    pub fn detached(bound: QueueBound) -> SendQueue {
        SendQueue::build(bound, None)
    }

    fn build(bound: QueueBound, socket: Option<Arc<TcpStream>>) -> SendQueue {
        SendQueue {
            inner: Arc::new(Inner {
                pending: Mutex::new(Pending {
                    held: true,
                    ..Pending::default()
                }),
                socket,
                blocked: Notify::new(),
                bytes: AtomicUsize::new(0),
                bound: QueueBound {
                    frames: bound.frames.max(1),
                    bytes: bound.bytes,
                },
                closed: CancellationToken::new(),
                is_closed: AtomicBool::new(false),
                reason: OnceLock::new(),
            }),
        }
    }

    /// Queues `frame` and writes what is queued if the socket is free. Returns false
    /// when the connection is (now) closed. Never call it holding a lock: use
    /// [`SendQueue::queue`] there, and [`SendQueue::send`] after letting go.
    pub fn push(&self, frame: &Frame) -> bool {
        let Some(mut pending) = self.enqueue(frame) else {
            return false;
        };
        if self.claim(&mut pending) {
            self.write_queued(pending, Readiness::Assumed);
        }
        true
    }

    /// Queues `frame` without writing it. Returns false when the connection is (now)
    /// closed.
    pub fn queue(&self, frame: &Frame) -> bool {
        self.enqueue(frame).is_some()
    }

    /// Queues `frame` and writes it, only if nothing else is waiting to be written: for a
    /// frame worth something only while fresh ("… is typing"), the first thing dropped
    /// when the client is behind. A skipped frame is simply not sent: it never counts
    /// against the bound, never cuts the connection off. Returns whether it was queued.
    /// Like [`SendQueue::push`], never call it holding a lock.
    pub fn offer(&self, frame: &Frame) -> bool {
        if self.inner.is_closed.load(Ordering::Relaxed) {
            return false;
        }
        let mut pending = self.inner.pending();
        // Asked under the lock, as `enqueue` does: after the close frame nothing may
        // follow. Anything queued (a frame partly written, frames waiting for a full
        // socket or a writer, the held greeting) means the client is not keeping up.
        let behind =
            pending.held || pending.blocked || !pending.frames.is_empty() || pending.last.is_some();
        if behind || self.inner.is_closed.load(Ordering::Relaxed) {
            return false;
        }
        // The queue is empty, so one frame fits whatever its bounds.
        self.inner.bytes.fetch_add(frame.len(), Ordering::Relaxed);
        pending.frames.push_back(frame.clone());
        if self.claim(&mut pending) {
            self.write_queued(pending, Readiness::Assumed);
        }
        true
    }

    /// Queues `frame`; returns the queue, still locked, unless the connection is (now)
    /// closed.
    fn enqueue(&self, frame: &Frame) -> Option<MutexGuard<'_, Pending>> {
        if self.inner.is_closed.load(Ordering::Relaxed) {
            return None;
        }
        let len = frame.len();
        let queued = self.inner.bytes.fetch_add(len, Ordering::Relaxed) + len;
        // One frame always fits, however big, so a lone large event is never a reason.
        let too_many_bytes = queued > self.inner.bound.bytes && queued > len;
        if !too_many_bytes {
            let mut pending = self.inner.pending();
            // Asked again under the lock: once the connection's task has queued the close
            // frame (holding it), nothing may follow.
            if self.inner.is_closed.load(Ordering::Relaxed) {
                self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
                return None;
            }
            if pending.frames.len() < self.inner.bound.frames {
                pending.frames.push_back(frame.clone());
                return Some(pending);
            }
        }
        self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
        if !self.inner.is_closed.load(Ordering::Relaxed) {
            crate::server::metrics::counters::CUT_OFF.increment(1);
        }
        self.close(CloseReason::TOO_SLOW);
        None
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    /// Writes what is queued, unless someone else is writing (they will write it) or the
    /// socket is full (the connection's task will).
    pub fn send(&self) {
        let mut pending = self.inner.pending();
        if self.claim(&mut pending) {
            self.write_queued(pending, Readiness::Assumed);
        }
    }

    /// Puts `first` ahead of everything queued so far and starts writing.
    pub fn greet(&self, first: &[Frame]) {
        {
            let mut pending = self.inner.pending();
            for frame in first.iter().rev() {
                self.inner.bytes.fetch_add(frame.len(), Ordering::Relaxed);
                pending.frames.push_front(frame.clone());
            }
            pending.held = false;
        }
        self.send();
    }

    /// Asks the connection to close; the first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.inner.reason.set(reason);
        self.inner.is_closed.store(true, Ordering::Relaxed);
        self.inner.closed.cancel();
    }

    /// Resolves once [`SendQueue::close`] has been called.
    pub async fn closed(&self) -> CloseReason {
        self.inner.closed.cancelled().await;
        self.close_reason().unwrap_or(CloseReason::SHUTDOWN)
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.inner.reason.get().copied()
    }

    /// Resolves once the socket is full with frames still queued: the connection's task
    /// then waits for it to drain and calls [`SendQueue::resume`].
    pub async fn blocked(&self) {
        loop {
            let notified = self.inner.blocked.notified();
            if self.inner.pending().blocked {
                return;
            }
            notified.await;
        }
    }

    /// The socket can take more: writes what is queued.
    pub fn resume(&self) {
        let mut pending = self.inner.pending();
        if !pending.blocked {
            return;
        }
        pending.blocked = false;
        pending.writing = true;
        self.write_queued(pending, Readiness::Tracked);
    }

    /// Drops everything queued but a frame already partly written, which must be
    /// finished for the stream to stay whole, and queues `last` (a close frame). Then
    /// writes until it is all out; [`SendQueue::close`] must have been called.
    pub async fn finish(&self, last: Frame) {
        let Some(socket) = self.inner.socket.clone() else {
            return;
        };
        self.end_queue(last);
        loop {
            let state = {
                let pending = self.inner.pending();
                let empty = pending.frames.is_empty() && pending.last.is_none();
                (empty, pending.writing, pending.blocked)
            };
            match state {
                (true, false, _) => return,
                (_, _, true) => {
                    if socket.writable().await.is_err() {
                        return;
                    }
                    self.resume();
                }
                // Another writer is in the middle of a write: it will write the close
                // frame too, or find the socket full.
                (_, true, false) => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
                (false, false, false) => self.send(),
            }
            if self.close_reason() == Some(CloseReason::LOST) {
                return;
            }
        }
    }

    /// [`SendQueue::finish`]'s first step: queues `last` behind a frame partly written, if
    /// any, dropping the rest; or, while a write is in flight, leaves that to its writer.
    fn end_queue(&self, last: Frame) {
        let mut pending = self.inner.pending();
        if pending.writing {
            pending.last = Some(last);
        } else {
            pending.end_with(last, &self.inner.bytes);
        }
    }

    /// Takes the write claim, if writing is up to us.
    fn claim(&self, pending: &mut Pending) -> bool {
        if self.inner.socket.is_none() {
            return false;
        }
        let free = !(pending.writing || pending.blocked || pending.held);
        let claimed = free && !pending.frames.is_empty();
        if claimed {
            pending.writing = true;
        }
        claimed
    }

    /// Writes queued frames until the queue is empty or the socket is full; the caller
    /// holds the write claim, which this gives back, and the lock, which is let go
    /// before writing.
    fn write_queued(&self, mut pending: MutexGuard<'_, Pending>, readiness: Readiness) {
        let Some(socket) = self.inner.socket.as_deref() else {
            return;
        };
        // Copies of the front frames (shared bytes: the content is not copied), so no
        // lock is held while writing; they stay queued until written.
        let mut batch: [Option<Frame>; FRAMES_PER_WRITE] = Default::default();
        let Some(mut skip) = take_batch(&mut pending, &mut batch) else {
            return;
        };
        drop(pending);
        loop {
            let mut slices = [IoSlice::new(&[]); FRAMES_PER_WRITE];
            let mut count = 0;
            let mut offered = 0;
            for (slice, frame) in slices
                .iter_mut()
                .zip(batch.iter().map_while(Option::as_ref))
            {
                let bytes = &frame.as_bytes()[if count == 0 { skip } else { 0 }..];
                *slice = IoSlice::new(bytes);
                offered += bytes.len();
                count += 1;
            }
            // sendmsg rather than writev: a socket needs none of the file layer's work.
            let send = || socket2::SockRef::from(socket).send_vectored(&slices[..count]);
            let result = match readiness {
                Readiness::Assumed => send(),
                Readiness::Tracked => socket.try_io(Interest::WRITABLE, send),
            };
            let mut pending = self.inner.pending();
            match result {
                Ok(n) => {
                    self.advance(&mut pending, n);
                    // The connection is closing: only now, with this write counted, may
                    // the queue be cut and the close frame queued.
                    if let Some(last) = pending.last.take() {
                        pending.writing = false;
                        pending.end_with(last, &self.inner.bytes);
                        pending.writing = true;
                    }
                    if n < offered {
                        break block(pending, &self.inner.bytes);
                    }
                    match take_batch(&mut pending, &mut batch) {
                        Some(next) => skip = next,
                        None => return,
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    break block(pending, &self.inner.bytes)
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    pending.frames = VecDeque::new();
                    pending.last = None;
                    pending.writing = false;
                    drop(pending);
                    return self.close(CloseReason::LOST);
                }
            }
        }
        // The socket is full: the connection's task waits for it to drain.
        self.inner.blocked.notify_one();
    }

    /// `n` more bytes are on their way: drops the frames they finish.
    fn advance(&self, pending: &mut Pending, mut n: usize) {
        while n > 0 {
            let Some(front) = pending.frames.front() else {
                break;
            };
            let left = front.len() - pending.written;
            if n < left {
                pending.written += n;
                break;
            }
            n -= left;
            let len = front.len();
            pending.frames.pop_front();
            pending.written = 0;
            self.inner.bytes.fetch_sub(len, Ordering::Relaxed);
        }
        if pending.frames.is_empty() && pending.frames.capacity() > KEPT_SLOTS {
            // Give the memory back: most connections are idle most of the time.
            pending.frames = VecDeque::new();
        }
    }

    #[cfg(test)]
    pub(crate) fn try_take(&self) -> Option<Frame> {
        let frame = self.inner.pending().frames.pop_front()?;
        self.inner.bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }
}

/// Whether a write goes through tokio's record of the socket's readiness.
#[derive(Clone, Copy)]
enum Readiness {
    /// Straight to the socket, as if writable: a socket that is not merely says so
    /// (WouldBlock), and the connection's task takes over. Skips tokio's readiness
    /// bookkeeping, shared with the reactor's thread, on the hot path.
    Assumed,
    /// Through tokio, which clears its record on WouldBlock, so that waiting with
    /// `writable()` then sleeps until the socket drains. The connection's task writes
    /// this way; its first `writable()` after an assumed write may return at once (the
    /// record was not cleared), and this write then clears it.
    Tracked,
}

/// Fills `batch` with the front frames. Gives the write claim back and returns None when
/// there are none; else returns how much of the first is written already.
fn take_batch(pending: &mut Pending, batch: &mut [Option<Frame>]) -> Option<usize> {
    if pending.frames.is_empty() {
        pending.writing = false;
        return None;
    }
    let mut frames = pending.frames.iter();
    for slot in batch {
        *slot = frames.next().cloned();
    }
    Some(pending.written)
}

/// The socket is full: gives the write claim back, and the connection's task writes the
/// rest once the socket drains. A close frame waiting for the claim is queued now.
fn block(mut pending: MutexGuard<'_, Pending>, bytes: &AtomicUsize) {
    pending.writing = false;
    pending.blocked = true;
    if let Some(last) = pending.last.take() {
        pending.end_with(last, bytes);
    }
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // Queue operations cannot panic halfway; the queue is always whole.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connected loopback pair for tests: the server's side (for a queue) and the client's.
#[cfg(test)]
pub(crate) async fn socket_pair() -> (Arc<TcpStream>, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = tokio::join!(client, listener.accept());
    (Arc::new(accepted.unwrap().0), client.unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn text(s: &str) -> Frame {
        Frame::text(s)
    }

    #[test]
    fn a_full_queue_cuts_the_connection_off() {
        let queue = SendQueue::detached(QueueBound {
            frames: 2,
            bytes: 1 << 20,
        });
        assert!(queue.push(&text("x")));
        assert!(queue.push(&text("x")));
        assert_eq!(queue.close_reason(), None);
        assert!(!queue.push(&text("x")), "third frame does not fit");
        assert_eq!(queue.close_reason(), Some(CloseReason::TOO_SLOW));
        assert_eq!(queue.try_take(), Some(text("x")));
    }

    #[test]
    fn too_many_bytes_cut_the_connection_off() {
        // Each frame is 7 bytes on the wire.
        let queue = SendQueue::detached(QueueBound {
            frames: 100,
            bytes: 15,
        });
        let frame = text("12345");
        assert!(queue.push(&frame));
        assert!(queue.push(&frame));
        // One is written: room for one more.
        queue.try_take().unwrap();
        assert!(queue.push(&frame));
        assert_eq!(queue.close_reason(), None);
        assert!(!queue.push(&frame), "21 bytes do not fit in 15");
        assert_eq!(queue.close_reason(), Some(CloseReason::TOO_SLOW));
    }

    #[test]
    fn one_large_frame_always_fits() {
        let queue = SendQueue::detached(QueueBound {
            frames: 100,
            bytes: 10,
        });
        assert!(queue.push(&text(&"x".repeat(50))));
        assert_eq!(queue.close_reason(), None);
    }

    /// The race of issue #14, step by step: a writer copies the queue's front and writes
    /// it; meanwhile the connection closes; the write returns. The close frame must still
    /// be queued, after nothing but what was partly written.
    #[test]
    fn a_close_during_a_write_is_not_counted_as_written() {
        for written_before in [0, 3] {
            let queue = SendQueue::detached(QueueBound {
                frames: 100,
                bytes: 1 << 20,
            });
            for i in 0..5 {
                assert!(queue.queue(&text(&format!("frame {i}"))));
            }
            let close = Frame::close(1002, "bad frame");
            // A writer claims the socket and copies the front frames (as `write_queued`).
            let offered: usize = {
                let mut pending = queue.inner.pending();
                pending.held = false;
                pending.written = written_before;
                pending.writing = true;
                pending.frames.iter().take(3).map(Frame::len).sum::<usize>() - written_before
            };
            // The connection closes while the write is in flight.
            queue.close(CloseReason::SHUTDOWN);
            queue.end_queue(close.clone());
            // The write returns: its three frames went out whole.
            let mut pending = queue.inner.pending();
            queue.advance(&mut pending, offered);
            let last = pending.last.take().expect("left to the writer");
            pending.writing = false;
            pending.end_with(last, &queue.inner.bytes);
            assert_eq!(pending.written, 0);
            assert_eq!(
                pending.frames,
                std::slice::from_ref(&close),
                "the close frame is next, alone"
            );
            drop(pending);
            assert_eq!(queue.inner.bytes.load(Ordering::Relaxed), close.len());
        }
    }

    /// The race of issue #14 on a real socket: two threads keep queueing and writing
    /// frames (as room writers do) while the connection closes at a varying moment.
    /// Every try must end with whole frames, then the close frame, then nothing. Before
    /// the fix this failed in most tries (see the closing note of #14).
    #[test]
    fn a_close_racing_busy_writers_always_goes_out_whole_and_last() {
        use std::io::Read;
        use std::sync::atomic::AtomicBool;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let tries = 200;
        let mut failures = Vec::new();
        for attempt in 0..tries {
            let (server, client) = runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let client = std::net::TcpStream::connect(listener.local_addr().unwrap());
                (listener.accept().await.unwrap().0, client.unwrap())
            });
            let socket = Arc::new(server);
            let queue = SendQueue::new(
                QueueBound {
                    frames: 100_000,
                    bytes: 64 << 20,
                },
                socket.clone(),
            );
            queue.greet(&[]);
            let reader = std::thread::spawn(move || {
                let mut client = client;
                client
                    .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let mut got = Vec::new();
                let _ = client.read_to_end(&mut got);
                got
            });
            let stop = Arc::new(AtomicBool::new(false));
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    let (queue, stop) = (queue.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let frame = text(&format!("{w}{}", "x".repeat(2000 + 700 * w)));
                        while !stop.load(Ordering::Relaxed) && queue.push(&frame) {
                            std::thread::yield_now();
                        }
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_micros(200 + attempt * 37 % 2000));
            let close = Frame::close(1001, "going away");
            runtime.block_on(async {
                queue.close(CloseReason::SHUTDOWN);
                let finished = std::time::Duration::from_secs(5);
                let _ = tokio::time::timeout(finished, queue.finish(close.clone())).await;
                let _ = socket2::SockRef::from(&*socket).shutdown(std::net::Shutdown::Write);
            });
            stop.store(true, Ordering::Relaxed);
            for writer in writers {
                writer.join().unwrap();
            }
            let got = reader.join().unwrap();
            if let Err(why) = whole_frames_then(&got, close.as_bytes()) {
                failures.push(format!("try {attempt}: {why}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {tries} tries failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// Checks `bytes` are whole unmasked frames of this module's making, the last of them
    /// `last`.
    fn whole_frames_then(mut bytes: &[u8], last: &[u8]) -> Result<(), String> {
        let mut count = 0;
        while bytes.len() >= 2 {
            let (len, start) = match bytes[1] {
                126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
                127 => return Err(format!("frame {count}: a 64-bit length")),
                n => (usize::from(n), 2),
            };
            if bytes.len() < start + len {
                return Err(format!(
                    "frame {count} cut: {} of {len} bytes",
                    bytes.len() - start
                ));
            }
            let frame = &bytes[..start + len];
            let payload = &frame[start..];
            let whole_text =
                frame[0] == 0x81 && (payload.starts_with(b"0x") || payload.starts_with(b"1x"));
            if frame == last {
                return match bytes.len() - frame.len() {
                    0 => Ok(()),
                    after => Err(format!("{after} bytes after the close frame")),
                };
            }
            if !whole_text || !payload[1..].iter().all(|&b| b == b'x') {
                return Err(format!(
                    "frame {count} is spliced: {:02x?}",
                    &frame[..8.min(frame.len())]
                ));
            }
            bytes = &bytes[frame.len()..];
            count += 1;
        }
        Err(format!(
            "no close frame after {count} frames ({} bytes left)",
            bytes.len()
        ))
    }

    #[test]
    fn an_offered_frame_is_dropped_when_anything_is_waiting() {
        let queue = SendQueue::detached(QueueBound {
            frames: 2,
            bytes: 64,
        });
        let typing = text("typing");
        assert!(!queue.offer(&typing), "nothing goes before the greeting");
        queue.greet(&[]);
        assert!(queue.offer(&typing), "an idle client gets it");
        assert!(!queue.offer(&typing), "skipped: one is still unsent");
        assert!(queue.push(&text("message")));
        assert!(!queue.offer(&typing), "skipped behind a message");
        assert_eq!(queue.close_reason(), None, "skipping never cuts off");
        assert_eq!(queue.try_take(), Some(typing.clone()));
        assert_eq!(queue.try_take(), Some(text("message")));
        assert_eq!(queue.inner.bytes.load(Ordering::Relaxed), 0);
        // Caught up: offered frames go again, one however big.
        assert!(queue.offer(&text(&"x".repeat(100))));
        assert_eq!(queue.close_reason(), None);
        queue.try_take().unwrap();
        // A frame partly written, or a socket found full, is being behind too.
        assert!(queue.queue(&text("big")));
        queue.inner.pending().written = 2;
        assert!(!queue.offer(&typing));
        queue.try_take().unwrap();
        queue.inner.pending().written = 0;
        queue.inner.pending().blocked = true;
        assert!(!queue.offer(&typing));
        queue.inner.pending().blocked = false;
        queue.close(CloseReason::SHUTDOWN);
        assert!(!queue.offer(&typing), "nothing after a close");
        assert_eq!(queue.try_take(), None);
    }

    #[tokio::test]
    async fn the_greeting_goes_first_and_a_full_socket_loses_nothing() {
        let (server, mut client) = socket_pair().await;
        let queue = SendQueue::new(
            QueueBound {
                frames: 100_000,
                bytes: 1 << 30,
            },
            server,
        );
        // Queued before the greeting: held back until it is out.
        assert!(queue.push(&text("early")));
        queue.greet(&[text("welcome")]);
        // Far more than the socket buffers hold while nobody reads.
        let big = "y".repeat(64 * 1024);
        let count = 200;
        for _ in 0..count {
            assert!(queue.push(&text(&big)));
        }
        let writer = {
            let queue = queue.clone();
            tokio::spawn(async move {
                let socket = queue.inner.socket.clone().unwrap();
                while queue.inner.bytes.load(Ordering::Relaxed) > 0 {
                    tokio::select! {
                        () = queue.blocked() => {
                            socket.writable().await.unwrap();
                            queue.resume();
                        }
                        () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                    }
                }
            })
        };
        let want = [
            Frame::text("welcome").as_bytes(),
            Frame::text("early").as_bytes(),
        ]
        .concat();
        let mut got = vec![0; want.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, want);
        let frame = text(&big);
        let mut got = vec![0; frame.len()];
        for _ in 0..count {
            client.read_exact(&mut got).await.unwrap();
            assert_eq!(got, frame.as_bytes());
        }
        writer.await.unwrap();
    }
}
