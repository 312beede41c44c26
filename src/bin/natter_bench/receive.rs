//! The per-connection task: reads every frame, records delivery latency of benchmark
//! messages, answers pings and, for a sender, sends at the planned rate.
//!
//! All tasks run on one thread, so they share their counters through `RefCell`s that are
//! borrowed once per read (not per message).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::MissedTickBehavior;

use crate::clients::histogram;
use crate::ws::{self, Frame, Socket};

/// How often a sender looks whether messages are due.
const SEND_TICK: Duration = Duration::from_millis(1);
/// A benchmark message's text starts with the phase (4 digits) and its send time in µs
/// since [`Shared::base`] (20 digits).
const STAMP_LEN: usize = 24;

/// What every connection task adds to, for the phase under way.
pub struct Tally {
    /// Delivery latency of this phase's messages, µs.
    pub latency: Histogram<u64>,
    pub delivered: u64,
    /// `error` events (refused sends).
    pub errors: u64,
    pub first_error: Option<String>,
    /// Connections the server closed.
    pub closed: u64,
    pub first_close: Option<u16>,
    /// Messages that came to a client with a seq no higher than one it had: every
    /// member must see its room in seq order.
    pub out_of_order: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            latency: histogram(),
            delivered: 0,
            errors: 0,
            first_error: None,
            closed: 0,
            first_close: None,
            out_of_order: 0,
        }
    }
}

pub struct Shared {
    pub base: Instant,
    /// Messages stamped with another phase are not counted.
    pub phase: Cell<u32>,
    pub tally: RefCell<Tally>,
}

impl Shared {
    pub fn new() -> Rc<Shared> {
        Rc::new(Shared {
            base: Instant::now(),
            phase: Cell::new(1),
            tally: RefCell::new(Tally::new()),
        })
    }

    fn micros(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Ends the phase: returns its tally and starts counting the next.
    pub fn next_phase(&self) -> Tally {
        self.phase.set(self.phase.get() + 1);
        self.tally.replace(Tally::new())
    }
}

/// A sender's plan for the phase: `rate` messages per second to `room` from `start` until
/// `end`.
pub struct SendPlan {
    pub room: String,
    pub text_bytes: usize,
    pub rate: Cell<f64>,
    pub start: Cell<Instant>,
    pub end: Cell<Instant>,
    /// Sent in the current phase.
    pub sent: Cell<u64>,
}

impl SendPlan {
    pub fn new(room: String, text_bytes: usize) -> Rc<SendPlan> {
        let now = Instant::now();
        Rc::new(SendPlan {
            room,
            text_bytes: text_bytes.max(STAMP_LEN + 1),
            rate: Cell::new(0.0),
            start: Cell::new(now),
            end: Cell::new(now),
            sent: Cell::new(0),
        })
    }

    /// Whether every message of the phase has gone out (the last tick may come a little
    /// after the end).
    pub fn finished(&self) -> bool {
        self.rate.get() <= 0.0 || self.sent.get() >= self.due(self.end.get())
    }

    /// Messages due by `at`: the first goes at the start, then one every 1/rate until
    /// the end.
    fn due(&self, at: Instant) -> u64 {
        let elapsed = at
            .min(self.end.get())
            .saturating_duration_since(self.start.get());
        (elapsed.as_secs_f64() * self.rate.get()) as u64 + 1
    }

    pub fn arm(&self, rate: f64, start: Instant, end: Instant) {
        self.rate.set(rate);
        self.start.set(start);
        self.end.set(end);
        self.sent.set(0);
    }
}

/// Serves one connection until the server closes it (or the task is aborted).
pub async fn run(mut socket: Socket, id: usize, shared: Rc<Shared>, plan: Option<Rc<SendPlan>>) {
    // `["message","<room>",[seq,n,"cid","author","text",…]]`: the message array opens
    // right after the room's slug (which has no quote, comma or bracket in it).
    let msg_key = Finder::new(b"\",[").into_owned();
    let mut out = Vec::new();
    // The newest seq this client was sent (each client is in one room).
    let mut last_seq = 0;
    let mut tick = tokio::time::interval(SEND_TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        // Everything already buffered, under one borrow and one clock reading.
        let mut used = 0;
        {
            let now = shared.micros();
            let phase = shared.phase.get();
            let mut tally = shared.tally.borrow_mut();
            while let Some((frame, len)) = ws::parse(&socket.buf[used..]) {
                match frame {
                    Frame::Text(text) => {
                        if text.starts_with(b"[\"message\"") {
                            if let Some(seq) = seq_of(text, &msg_key) {
                                tally.out_of_order += u64::from(seq <= last_seq);
                                last_seq = seq;
                            }
                            if let Some(sent) = stamp(text, &msg_key, phase) {
                                tally.latency.saturating_record(now.saturating_sub(sent));
                                tally.delivered += 1;
                            }
                        } else if text.starts_with(b"[\"error\"") {
                            tally.errors += 1;
                            if tally.first_error.is_none() {
                                tally.first_error = Some(String::from_utf8_lossy(text).into());
                            }
                        }
                    }
                    Frame::Ping(payload) => ws::encode(&mut out, 0xA, payload),
                    Frame::Close(code) => {
                        tally.closed += 1;
                        tally.first_close.get_or_insert(code);
                        return;
                    }
                    Frame::Other => {}
                }
                used += len;
            }
        }
        socket.buf.drain(..used);
        if !out.is_empty() {
            if socket.tcp.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if socket.buf.capacity() - socket.buf.len() < 4096 {
            socket.buf.reserve(ws::READ_BUFFER);
        }
        tokio::select! {
            read = socket.tcp.read_buf(&mut socket.buf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    shared.tally.borrow_mut().closed += 1;
                    return;
                }
            }
            _ = tick.tick(), if plan.is_some() => {
                let plan = plan.as_deref().expect("a sender");
                compose_due(plan, id, &shared, &mut out);
            }
        }
    }
}

/// Appends the send frames due by now to `out`, stamped with the current time.
fn compose_due(plan: &SendPlan, id: usize, shared: &Shared, out: &mut Vec<u8>) {
    let now = Instant::now();
    if plan.rate.get() <= 0.0 || now < plan.start.get() {
        return;
    }
    let due = plan.due(now);
    let phase = shared.phase.get();
    let sent_at = shared.micros();
    let pad = "x".repeat(plan.text_bytes - STAMP_LEN - 1);
    while plan.sent.get() < due {
        let n = plan.sent.get();
        let frame = format!(
            r#"{{"t":"send","room":"{}","cid":"b{id:06}p{phase:04}n{n:010}","text":"{phase:04}{sent_at:020} {pad}"}}"#,
            plan.room
        );
        ws::encode(out, 0x1, frame.as_bytes());
        plan.sent.set(n + 1);
    }
}

/// A message's seq: the number that opens its array.
fn seq_of(frame: &[u8], msg_key: &Finder<'_>) -> Option<u64> {
    let start = msg_key.find(frame)? + msg_key.needle().len();
    let digits = frame.get(start..)?;
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    (len > 0).then_some(())?;
    digits[..len].iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// The send time of a message of `phase`, from its text. A message travels as an array
/// (`protocol::wire`), `[seq, n, "cid", "author", "text", …]`: nothing before the text
/// holds a comma here (numbers, the bench's ids and names), so it starts after the
/// fourth, past its opening quote.
fn stamp(frame: &[u8], msg_key: &Finder<'_>, phase: u32) -> Option<u64> {
    let mut start = msg_key.find(frame)? + msg_key.needle().len();
    for _ in 0..4 {
        start += memchr::memchr(b',', frame.get(start..)?)? + 1;
    }
    let start = start + 1;
    let stamp = frame.get(start..start + STAMP_LEN)?;
    let digits = |bytes: &[u8]| {
        bytes.iter().try_fold(0u64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    };
    (digits(&stamp[..4])? == u64::from(phase)).then_some(())?;
    digits(&stamp[4..])
}
