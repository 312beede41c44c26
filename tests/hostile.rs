//! Hostile or broken input never takes the server down, and never reaches other users.
//!
//! (The decoder's property tests, once part one of this file, are in `tests/decoder.rs`.)
//!
//! **The live binary, by corpus.** The real `natter` runs with a 2 s idle timeout. Two
//! bystanders, alice and bob, stay in room `general` throughout, their sockets read all
//! the time so they answer the server's pings. The hostile client signs in as a guest
//! like anyone (a session cookie); then one hostile connection after another:
//! - a table of raw WebSocket cases ([`ws_corpus`]), written byte for byte on a socket
//!   whose HTTP upgrade this file does itself. Without a valid session (no cookie, a forged
//!   one, a mangled copy of the real one, garbage, or a guest name that another session
//!   holds online) the socket is refused at once, before the server reads anything from
//!   it: an `error`, then close 1008. After the welcome of the real session: binary
//!   garbage, random bytes, invalid UTF-8, oversized and fragmented-oversized messages,
//!   lying length headers, oversized and fragmented control frames, reserved opcodes and
//!   RSV bits, unmasked frames, bad close frames, unknown types (the retired `hello` among
//!   them), malformed and deeply nested JSON, and sends with a bad id, an over-long text
//!   or an unknown room. Each has an expected outcome: refused with these `error` codes
//!   and still open (a `ping` after it is answered), or closed with this code;
//! - a table of broken HTTP ([`http_corpus`]): random bytes instead of a request, broken
//!   upgrades, upgrades and server-function calls from another site's page (403 even with
//!   the session cookie), oversized headers, guest names that are invalid or taken by a
//!   bystander, junk arguments to server functions;
//! - a flood of 2,000 `join_room` calls from one connection, a few at a time: most are
//!   refused, and a bystander message crosses the server promptly in the middle of it;
//! - half-open connections, all with the hostile session: one that is welcomed and then
//!   answers no ping, one that stalls halfway through a frame, one that upgrades and then
//!   reads nothing and answers nothing. Each is closed for being idle (1001), the first
//!   two within the idle timeout plus a margin (the third, reading nothing, cannot time
//!   it).
//!
//! - slow HTTP clients (slowloris), watched alongside all of the above: a TCP connection
//!   that never sends a byte, one that sends half a request header, and one kept alive
//!   idle after its first request. Each is closed by the server within its header timeout
//!   ([`HEADER_TIMEOUT`]) plus a margin, and not before that timeout.
//!
//! After every case alice posts to `general` and bob must receive it within 2 s: the
//! server is up and others are unaffected. At the end the process is still running,
//! `/healthz` answers 200 and counts only the bystanders' connections, and the stored
//! history of every room holds exactly the bystanders' messages — no hostile input was
//! stored. Every case's outcome is printed (`--nocapture`).
//!
//! **Each case fails on its own.** A case runs as a task of its own: its failure (a
//! panic) is noted and the corpus goes on, and the test fails at the end listing every
//! case that failed, not only the first. Only a bystander's message not crossing the
//! server stops the run at once: then the server itself is in trouble.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use natter::protocol::{
    ChatMessage, ClientFrame, ErrorCode, HistoryPage, ServerEvent, MAX_FRAME_BYTES,
};
use natter::server::HEADER_TIMEOUT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

use natter::api::messages::History;
use natter::api::rooms::JoinRoom;
use support::binary::Natter;
use support::raw::{
    close_frame, encode_frame, frame, text, BINARY, CLOSE, CONTINUATION, FIN, MASK, PING, RSV1,
    TEXT,
};
use support::{call, Socket};

// ───────────────────────────── Part 2: the live server ─────────────────────────────

/// The server's idle timeout in this test, in seconds.
const IDLE_SECS: u64 = 2;
/// How long a bystander's message may take to cross the server.
const PROMPTLY: Duration = Duration::from_secs(2);
/// How long any single hostile case may take to play out.
const CASE_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole live test, server start included.
const LIVE_DEADLINE: Duration = Duration::from_secs(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_takes_the_server_down_or_reaches_other_users() {
    let dir = tempfile::tempdir().unwrap();
    let server = Natter::start(
        &dir.path().join("natter.db"),
        // The bystanders post after every case, faster than the default burst of 20
        // allows; the send rate limit is not what this test is about.
        &["--idle-timeout", "2", "--send-burst", "1000"],
    )
    .await;
    timeout(LIVE_DEADLINE, run_corpus(&server))
        .await
        .expect("the hostile corpus finishes within its deadline");
}

async fn run_corpus(server: &Natter) {
    let addr = server.addr;
    let started = Instant::now();
    let mut alice = Client::arrive(addr, "bystander-alice-01", "alice", "general").await;
    let mut bob = Client::arrive(addr, "bystander-bob-0001", "bob", "general").await;
    let mut said = Vec::new();
    let sessions = Sessions::sign_in(addr).await;
    // Online under the name of the other twin session, until the WebSocket cases are over.
    let twin_online = Client::open(addr, &sessions.twin_online).await;

    // Slow HTTP clients wait out the header timeout while the rest runs; see the end.
    let slow = tokio::spawn(slow_clients(addr));

    let mut failures = Failures::default();
    for case in ws_corpus(&sessions) {
        let name = case.name;
        let sessions = sessions.clone();
        let played = tokio::spawn(async move {
            let outcome = case.play(addr, &sessions).await;
            println!("{:<52} {outcome}", case.name);
            case.expect.check(case.name, &outcome);
        });
        failures.note(name, played.await);
        bystanders_unaffected(&mut alice, &mut bob, name, &mut said).await;
    }
    drop(twin_online);

    for case in http_corpus(addr, &sessions) {
        let name = case.name;
        let played = tokio::spawn(async move {
            let answer = exchange(addr, &case.bytes).await;
            println!("{:<52} {answer}", case.name);
            case.expect.check(case.name, &answer);
        });
        failures.note(name, played.await);
        bystanders_unaffected(&mut alice, &mut bob, name, &mut said).await;
    }

    join_flood(addr, &mut alice, &mut bob, &mut said, &mut failures).await;
    let half = tokio::spawn({
        let sessions = sessions.clone();
        async move { half_open(addr, &sessions).await }
    });
    failures.note("half-open connections", half.await);
    bystanders_unaffected(&mut alice, &mut bob, "half-open connections", &mut said).await;

    // Still running, healthy, and holding no hostile connection.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid()))
        .expect("the server process exists");
    let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
    failures.check(state != Some("Z"), || {
        format!("the server process exited: {stat}")
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, body) = healthz(addr).await;
        if status == 200 && body.trim() == "ok 2 connections" {
            break;
        }
        if Instant::now() >= deadline {
            failures.check(false, || {
                format!("hostile connections linger: {status} {body}")
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Nothing hostile was stored: general holds the bystanders' messages, the other rooms
    // nothing.
    let stored = full_history(addr, "general").await;
    let texts: Vec<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    failures.check(texts == said, || {
        format!("general holds exactly what the bystanders said: {texts:?}")
    });
    failures.check(stored.iter().all(|m| m.author == "alice"), || {
        "general holds messages of others than alice".to_owned()
    });
    for room in ["random", "tech", "music", "games"] {
        let stored = full_history(addr, room).await;
        failures.check(stored.is_empty(), || {
            format!("{room} stays empty: {stored:?}")
        });
    }

    match slow.await {
        Ok(closed) => {
            for (name, closed_after) in closed {
                println!(
                    "{name:<52} closed by the server after {:.1} s",
                    closed_after.as_secs_f64()
                );
            }
        }
        Err(err) => failures.note("slow HTTP clients", Err(err)),
    }
    println!(
        "{} bystander messages crossed; live part took {:.1} s",
        said.len(),
        started.elapsed().as_secs_f64()
    );
    failures.finish();
}

/// Every case's failure, for one report at the end.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    /// The outcome of a case run as a task: a panic is its failure.
    fn note(&mut self, case: &str, played: Result<(), tokio::task::JoinError>) {
        if let Err(err) = played {
            let why = match err.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".to_owned()),
                Err(err) => err.to_string(),
            };
            println!("{case:<52} FAILED: {why}");
            self.0.push(format!("{case}: {why}"));
        }
    }

    fn check(&mut self, fine: bool, why: impl FnOnce() -> String) {
        if !fine {
            let why = why();
            println!("FAILED: {why}");
            self.0.push(why);
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} hostile case(s) failed:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Three slow HTTP clients at once: one sends nothing, one half a request header, one a
/// whole request and then nothing more (an idle kept-alive connection). Each must be
/// closed by the server after [`HEADER_TIMEOUT`], within a margin; returns how long each
/// took. Only HTTP: a WebSocket's idle timeout is another matter (see [`half_open`]).
async fn slow_clients(addr: SocketAddr) -> Vec<(&'static str, Duration)> {
    let margin = Duration::from_secs(5);
    let closed_after = move |name: &'static str, sent: String| async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        tcp.write_all(sent.as_bytes()).await.unwrap();
        // Anything the server answers is read and dropped, until it closes.
        let closed = timeout(HEADER_TIMEOUT + margin, async {
            let mut buf = [0; 4096];
            while let Ok(1..) = tcp.read(&mut buf).await {}
        })
        .await;
        let took = started.elapsed();
        assert!(closed.is_ok(), "{name}: still open after {took:?}");
        // Not sooner either: the header timeout closed it, not something else.
        assert!(
            took >= HEADER_TIMEOUT - Duration::from_millis(500),
            "{name}: closed after only {took:?}"
        );
        (name, took)
    };
    let (silent, half, idle) = tokio::join!(
        closed_after("TCP connection that never sends a request", String::new()),
        closed_after(
            "half a request header, then silence",
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: slow"),
        ),
        closed_after(
            "a request kept alive, then silence",
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
        ),
    );
    vec![silent, half, idle]
}

/// Alice posts to `general`; bob must get it promptly, and alice her own copy.
async fn bystanders_unaffected(
    alice: &mut Client,
    bob: &mut Client,
    after: &str,
    said: &mut Vec<String>,
) -> Duration {
    let sent = Instant::now();
    let text = format!("bystander message {} after: {after}", said.len());
    alice
        .post(&format!("bystander-{:04}", said.len()), &text)
        .await;
    let context = format!("after “{after}”");
    let got = bob.expect_message(&text, &context).await;
    assert_eq!(got.author, "alice", "{context}");
    let crossed = sent.elapsed();
    alice.expect_message(&text, &context).await;
    said.push(text);
    crossed
}

// ─────────────────── well-behaved clients: the bystanders ───────────────────

/// A well-behaved client whose socket is read all the time, so that it answers the
/// server's pings and stays connected however long a case takes. What it receives (but
/// online counts) arrives on `events`.
struct Client {
    conn: String,
    sink: SplitSink<Socket, Message>,
    events: mpsc::UnboundedReceiver<ServerEvent>,
    reader: JoinHandle<()>,
}

impl Client {
    async fn arrive(addr: SocketAddr, user: &str, name: &str, room: &str) -> Client {
        let (ws, conn) = support::arrive(&addr, user, name, room).await;
        Client::pump(ws, conn)
    }

    async fn welcome(addr: SocketAddr, user: &str, name: &str) -> Client {
        let (ws, conn) = support::welcome(&addr, user, name).await;
        Client::pump(ws, conn)
    }

    /// Connects with the session `cookie`.
    async fn open(addr: SocketAddr, cookie: &str) -> Client {
        let mut ws = support::open_socket(&addr, Some(cookie)).await;
        match support::next_event(&mut ws).await {
            ServerEvent::Welcome { conn, .. } => Client::pump(ws, conn),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    fn pump(ws: Socket, conn: String) -> Client {
        let (sink, mut stream) = ws.split();
        let (tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            // Ends, closing the channel, when the socket does.
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    match ServerEvent::decode(text.as_str()) {
                        Ok(ServerEvent::Counts { .. }) => {}
                        Ok(event) => {
                            let _ = tx.send(event);
                        }
                        Err(err) => panic!("undecodable event {text:?}: {err}"),
                    }
                }
            }
        });
        Client {
            conn,
            sink,
            events,
            reader,
        }
    }

    async fn post(&mut self, cid: &str, text: &str) {
        let frame = ClientFrame::Send {
            room: "general".into(),
            cid: cid.into(),
            text: text.into(),
            file: None,
            reply: None,
        };
        self.sink.send(Message::text(frame.encode())).await.unwrap();
    }

    /// Waits for `text` in `general`, passing over presence; anything else is a failure.
    async fn expect_message(&mut self, text: &str, context: &str) -> ChatMessage {
        let deadline = Instant::now() + PROMPTLY;
        loop {
            let event = timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("{context}: “{text}” did not arrive within {PROMPTLY:?}")
                })
                .unwrap_or_else(|| panic!("{context}: a bystander's socket closed"));
            match event {
                ServerEvent::Message { room, msg } if room == "general" && msg.text == text => {
                    return msg
                }
                ServerEvent::Joined { .. } | ServerEvent::Left { .. } => {}
                other => panic!("{context}: a bystander got {other:?}"),
            }
        }
    }

    /// `ping` must be answered with `pong`, presence passed over.
    async fn ping(&mut self) {
        let ping = ClientFrame::Ping.encode();
        self.sink.send(Message::text(ping)).await.unwrap();
        let deadline = Instant::now() + PROMPTLY;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ServerEvent::Pong)) => return,
                Ok(Some(ServerEvent::Joined { .. } | ServerEvent::Left { .. })) => {}
                other => panic!("expected pong, got {other:?}"),
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

// ───────────────────────────── the hostile sessions ─────────────────────────────

/// The name the hostile client signs in under.
const HOSTILE: &str = "hostile";

/// Session cookies (`natter_session=…`) the hostile connections use.
#[derive(Clone)]
struct Sessions {
    /// The hostile client's own guest session, as any browser gets one.
    hostile: String,
    /// Two guest sessions of two different browsers under the same name, `twin` (allowed
    /// while neither is online): the first is held online throughout the WebSocket cases,
    /// so the second is refused there.
    twin_online: String,
    twin_refused: String,
}

impl Sessions {
    async fn sign_in(addr: SocketAddr) -> Sessions {
        let guest = |name: &'static str| async move {
            support::guest_cookie(&addr, None, name)
                .await
                .unwrap_or_else(|refusal| panic!("signing in as {name}: {refusal:?}"))
        };
        Sessions {
            hostile: guest(HOSTILE).await,
            twin_online: guest("twin").await,
            twin_refused: guest("twin").await,
        }
    }

    /// The hostile session's token, without the cookie's name.
    fn hostile_token(&self) -> &str {
        self.hostile
            .strip_prefix("natter_session=")
            .expect("a natter_session cookie")
    }
}

// ───────────────────── raw WebSocket: frames byte for byte ─────────────────────

fn texts(frames: &[&str]) -> Vec<u8> {
    frames.iter().flat_map(|json| text(json)).collect()
}

/// Deterministic junk (xorshift), so a failure can be replayed.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn send_frame(room: &str, cid: &str, text: &str) -> String {
    ClientFrame::Send {
        room: room.into(),
        cid: cid.into(),
        text: text.into(),
        file: None,
        reply: None,
    }
    .encode()
}

/// A WebSocket whose frames this file writes and reads itself.
struct Raw {
    tcp: TcpStream,
    buf: Vec<u8>,
}

/// How a connection ended, from the client's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Our trailing `ping` was answered: the socket is still open.
    Open,
    Eof,
    Reset,
    Timeout,
}

enum Read {
    Frame(u8, Vec<u8>),
    End(End),
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            tcp: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Connects and upgrades to a WebSocket as a page of this server would (same
    /// `Origin`), with `cookie` as the `Cookie` header if given.
    async fn upgrade(addr: SocketAddr, cookie: Option<&[u8]>) -> Raw {
        let mut raw = Raw::connect(addr).await;
        let mut request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        )
        .into_bytes();
        if let Some(cookie) = cookie {
            request.extend(b"Cookie: ");
            request.extend(cookie);
            request.extend(b"\r\n");
        }
        request.extend(b"\r\n");
        raw.tcp.write_all(&request).await.unwrap();
        let deadline = Instant::now() + CASE_TIMEOUT;
        let head_len = loop {
            if let Some(at) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(raw.fill(deadline).await.is_none(), "upgrade failed");
        };
        let head = String::from_utf8_lossy(&raw.buf[..head_len]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        raw.buf.drain(..head_len);
        raw
    }

    /// Writes, ignoring failures: the server may well have hung up already.
    async fn write(&mut self, bytes: &[u8]) {
        let _ = timeout(CASE_TIMEOUT, self.tcp.write_all(bytes)).await;
    }

    /// Reads the `welcome` the server sends first to a socket with a valid session, which
    /// must be the hostile client's.
    async fn welcomed(&mut self) {
        let deadline = Instant::now() + CASE_TIMEOUT;
        loop {
            match self.next_frame(deadline).await {
                Read::Frame(TEXT, payload) => {
                    let event = ServerEvent::decode(&String::from_utf8_lossy(&payload));
                    assert!(
                        matches!(&event, Ok(ServerEvent::Welcome { name, .. }) if name == HOSTILE),
                        "{event:?}"
                    );
                    return;
                }
                Read::Frame(..) => {}
                Read::End(end) => panic!("no welcome: {end:?}"),
            }
        }
    }

    /// Reads more bytes; `Some` when the connection ended instead.
    async fn fill(&mut self, deadline: Instant) -> Option<End> {
        match timeout_at(deadline, self.tcp.read_buf(&mut self.buf)).await {
            Err(_) => Some(End::Timeout),
            Ok(Ok(0)) => Some(End::Eof),
            Ok(Ok(_)) => None,
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionReset => Some(End::Reset),
            Ok(Err(err)) => panic!("read failed: {err}"),
        }
    }

    /// The next frame from the server (which never masks nor fragments).
    async fn next_frame(&mut self, deadline: Instant) -> Read {
        loop {
            if let Some((opcode, payload, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Read::Frame(opcode, payload);
            }
            if let Some(end) = self.fill(deadline).await {
                return Read::End(end);
            }
        }
    }

    /// Reads until our trailing `ping` is answered or the connection ends, noting every
    /// `error` event and the close frame on the way.
    async fn observe(&mut self, within: Duration) -> Outcome {
        let started = Instant::now();
        let deadline = started + within;
        let mut outcome = Outcome::default();
        let end = loop {
            match self.next_frame(deadline).await {
                Read::Frame(TEXT, payload) => {
                    match ServerEvent::decode(&String::from_utf8_lossy(&payload)) {
                        Ok(ServerEvent::Error { code, .. }) => outcome.errors.push(code),
                        Ok(ServerEvent::Pong) if outcome.close.is_none() => break End::Open,
                        Ok(ServerEvent::Counts { .. }) => {}
                        other => panic!("unexpected event for a hostile client: {other:?}"),
                    }
                }
                Read::Frame(CLOSE, payload) => {
                    // No status code in the payload reads as 1005 (RFC 6455 §7.1.5).
                    let code = payload
                        .get(..2)
                        .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                    outcome.close = Some(code);
                }
                Read::Frame(PING, _) => outcome.pings += 1,
                Read::Frame(..) => {}
                Read::End(end) => break end,
            }
        };
        outcome.end = Some(end);
        outcome.after = started.elapsed();
        outcome
    }
}

/// `(opcode, payload, bytes used)` of the first complete frame in `buf`.
fn parse_server_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    assert_eq!(b1 & 0x80, 0, "the server masked a frame");
    let (len, start) = match b1 & 0x7F {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().unwrap()) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap()) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(start..start + len)?;
    Some((b0 & 0x0F, payload.to_vec(), start + len))
}

/// What a hostile WebSocket client saw.
#[derive(Debug, Default)]
struct Outcome {
    errors: Vec<ErrorCode>,
    close: Option<u16>,
    end: Option<End>,
    pings: usize,
    after: Duration,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<String> = self.errors.iter().map(|c| code_name(*c)).collect();
        if !codes.is_empty() {
            write!(f, "error [{}], ", codes.join(", "))?;
        }
        if let Some(code) = self.close {
            write!(f, "close {code}, ")?;
        }
        match self.end {
            Some(End::Open) => write!(f, "still open"),
            Some(end) => write!(f, "{end:?} after {:.2} s", self.after.as_secs_f64()),
            None => write!(f, "?"),
        }
    }
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// When the hostile bytes come.
enum When {
    /// On a socket whose upgrade carries this `Cookie` header (or none), which names no
    /// session the server accepts: it refuses the socket at once, before reading anything
    /// (see [`unwelcome`]).
    Unwelcome(Option<Vec<u8>>),
    /// After the welcome of a socket opened with the hostile session; followed by a
    /// `ping`, to see whether the socket is open.
    AfterWelcome,
}
use When::{AfterWelcome, Unwelcome};

enum Expect {
    /// Refused with these `error` codes, one per bad frame; the socket stays open.
    Refused(&'static [&'static str]),
    /// Taken without complaint; the socket stays open.
    Accepted,
    /// These `error` codes, then a close frame with this code and the connection ends.
    Closed(&'static [&'static str], u16),
}
use Expect::{Accepted, Closed, Refused};

impl Expect {
    fn check(&self, case: &str, seen: &Outcome) {
        let codes: Vec<String> = seen.errors.iter().map(|c| code_name(*c)).collect();
        let ended = matches!(seen.end, Some(End::Eof | End::Reset));
        let fine = match self {
            Refused(want) => codes == *want && seen.end == Some(End::Open),
            Accepted => codes.is_empty() && seen.end == Some(End::Open),
            Closed(want, code) => codes == *want && seen.close == Some(*code) && ended,
        };
        assert!(fine, "{case}: got {seen}");
    }
}

/// One row of the WebSocket corpus.
struct WsCase {
    name: &'static str,
    when: When,
    bytes: Vec<u8>,
    expect: Expect,
}

fn ws(name: &'static str, when: When, bytes: Vec<u8>, expect: Expect) -> WsCase {
    WsCase {
        name,
        when,
        bytes,
        expect,
    }
}

/// A socket upgraded with `cookie` as its `Cookie` header (or none), which the server
/// must refuse at once: the `error` `code`, then close 1008. Nothing is sent on it:
/// the server reads nothing from such a socket, so bytes sent would only meet a closed
/// connection (and a reset could destroy the refusal before it is read).
fn unwelcome(name: &'static str, cookie: Option<Vec<u8>>, code: &'static [&'static str]) -> WsCase {
    ws(name, Unwelcome(cookie), vec![], Closed(code, 1008))
}

impl WsCase {
    async fn play(&self, addr: SocketAddr, sessions: &Sessions) -> Outcome {
        match &self.when {
            Unwelcome(cookie) => {
                assert!(self.bytes.is_empty(), "nothing is sent on a refused socket");
                let mut raw = Raw::upgrade(addr, cookie.as_deref()).await;
                raw.observe(CASE_TIMEOUT).await
            }
            AfterWelcome => {
                let mut raw = Raw::upgrade(addr, Some(sessions.hostile.as_bytes())).await;
                raw.welcomed().await;
                raw.write(&self.bytes).await;
                raw.write(&text(&ClientFrame::Ping.encode())).await;
                raw.observe(CASE_TIMEOUT).await
            }
        }
    }
}

/// Hostile WebSocket input, byte for byte, with what the server must do about it.
#[rustfmt::skip]
fn ws_corpus(sessions: &Sessions) -> Vec<WsCase> {
    let big_text = "a".repeat(MAX_FRAME_BYTES + 1);
    let chunk = vec![b'a'; 20 * 1024];
    let nested = |depth: usize| "[".repeat(depth);
    let cookie = |value: &[u8]| Some(value.to_vec());
    let session = |token: &str| cookie(format!("natter_session={token}").as_bytes());
    let token = sessions.hostile_token();
    let first_digit = if token.starts_with('0') { "1" } else { "0" };
    let one_digit_changed = format!("{first_digit}{}", &token[1..]);
    let not_ascii: Vec<u8> = garbage(5, 64).iter().map(|b| b | 0x80).collect();
    vec![
        // ── without a valid session: refused at once ──
        unwelcome("upgrade without a session cookie", None, &["signed_out"]),
        unwelcome("forged session (64 hex digits never issued)", session(&"ab".repeat(32)),
            &["signed_out"]),
        unwelcome("the real token with one digit changed", session(&one_digit_changed),
            &["signed_out"]),
        unwelcome("the real token, cut to 63 digits", session(&token[..63]), &["signed_out"]),
        unwelcome("the real token and one digit more", session(&format!("{token}0")),
            &["signed_out"]),
        unwelcome("the real token under NATTER_SESSION",
            cookie(format!("NATTER_SESSION={token}").as_bytes()), &["signed_out"]),
        unwelcome("session cookie of 64 non-hex characters", session(&"zq".repeat(32)),
            &["signed_out"]),
        unwelcome("session cookie of 4 KiB", session(&"a".repeat(4096)), &["signed_out"]),
        unwelcome("cookie header of separators only",
            cookie(b";;=; ;natter_session; =natter_session=;"), &["signed_out"]),
        unwelcome("cookie header with bytes that are not ASCII",
            cookie(&[&b"natter_session="[..], &not_ascii].concat()),
            &["signed_out"]),
        unwelcome("guest name another session holds online",
            cookie(sessions.twin_refused.as_bytes()), &["name_taken"]),
        // ── after welcome, bad content: refused, and the socket stays open ──
        ws("binary garbage after welcome", AfterWelcome,
            [frame(FIN | BINARY, &garbage(3, 300)), frame(FIN | BINARY, &[])].concat(),
            Refused(&["binary", "binary"])),
        ws("unknown event types", AfterWelcome,
            texts(&[r#"{"t":"dance"}"#, r#"{"t":"","room":"general"}"#, r#"{"t":"Ping"}"#,
                r#"{"t":"hello\u0000"}"#]),
            Refused(&["unknown_type"; 4])),
        // The refusal quotes the tag, escaped: about 3.5 times the input; see the report.
        ws("unknown type of 30,000 C1 control characters", AfterWelcome,
            text(&serde_json::json!({ "t": "\u{85}".repeat(30_000) }).to_string()),
            Refused(&["unknown_type"])),
        ws("tag of the wrong type", AfterWelcome,
            texts(&[r#"{"t":7}"#, r#"{"t":null}"#, r#"{"t":["ping"]}"#, r#"{"t":{"t":"ping"}}"#]),
            Refused(&["malformed"; 4])),
        ws("malformed JSON", AfterWelcome,
            texts(&["", "not json", "{", "null", "[]", r#"{"t":"ping"}x"#, r#"{"t":"send"}"#,
                r#"{"t":"send","room":"general","cid":"hostile-cid-0002","text":"\ud800"}"#,
                "{\"t\":\"send\",\"room\":\"general\",\"cid\":\"hostile-cid-0003\",\"text\":\"nul\u{0}\"}",
                r#"{"t":"send","room":"general","cid":"hostile-cid-0004","text":1e999999}"#]),
            Refused(&["malformed"; 10])),
        ws("60,000 nested arrays", AfterWelcome,
            text(&nested(60_000)), Refused(&["malformed"])),
        ws("hello, which the protocol no longer has", AfterWelcome,
            texts(&[r#"{"t":"hello","user":"hostile-user-again","name":"again"}"#,
                r#"{"t":"hello"}"#]),
            Refused(&["unknown_type"; 2])),
        ws("send with a bad cid", AfterWelcome,
            texts(&[&send_frame("general", "short", "hi"), &send_frame("general", "has spaces in it", "hi"),
                &send_frame("general", &"x".repeat(65), "hi")]),
            Refused(&["malformed"; 3])),
        ws("send with an over-long or empty text", AfterWelcome,
            texts(&[&send_frame("general", "hostile-cid-0005", &"é".repeat(4_001)),
                &send_frame("general", "hostile-cid-0006", &"x".repeat(60_000)),
                &send_frame("general", "hostile-cid-0007", " \n\t ")]),
            Refused(&["bad_message"; 3])),
        ws("send to unknown rooms", AfterWelcome,
            texts(&[&send_frame("nowhere", "hostile-cid-0008", "hi"), &send_frame("", "hostile-cid-0009", "hi"),
                &send_frame("General", "hostile-cid-0010", "hi"),
                &send_frame(&"r".repeat(10_000), "hostile-cid-0011", "hi")]),
            Refused(&["no_such_room"; 4])),
        ws("ping of 125 bytes, the most allowed", AfterWelcome,
            frame(FIN | PING, &[7; 125]), Accepted),
        ws("text split mid-character over fragments", AfterWelcome,
            [frame(TEXT, &"{\"t\":\"ping\",\"x\":\"\u{e9}".as_bytes()[..18]),
             frame(FIN | CONTINUATION, &"\u{e9}\"}".as_bytes()[1..])].concat(),
            Accepted),
        // ── after welcome, broken WebSocket: closed with the matching code ──
        ws("100,000 nested arrays (over 64 KiB)", AfterWelcome,
            text(&nested(100_000)), Closed(&[], 1009)),
        ws("text frame over 64 KiB", AfterWelcome,
            text(&big_text), Closed(&[], 1009)),
        ws("fragmented message over 64 KiB", AfterWelcome,
            [frame(TEXT, &chunk), frame(CONTINUATION, &chunk), frame(CONTINUATION, &chunk),
             frame(FIN | CONTINUATION, &chunk)].concat(),
            Closed(&[], 1009)),
        ws("header claiming 2^63 bytes", AfterWelcome,
            encode_frame(FIN | TEXT, true, 1 << 63, &[]), Closed(&[], 1009)),
        ws("invalid UTF-8 in a text frame", AfterWelcome,
            frame(FIN | TEXT, b"{\"t\":\"ping\",\"x\":\"\xc3\x28\"}"), Closed(&[], 1007)),
        ws("invalid UTF-8 across fragments", AfterWelcome,
            [frame(TEXT, b"{\"t\":\"ping\",\"x\":\"\xe2\x82"), frame(FIN | CONTINUATION, b"\x28\"}")].concat(),
            Closed(&[], 1007)),
        ws("overlong UTF-8 encoding of '/'", AfterWelcome,
            frame(FIN | TEXT, b"{\"t\":\"ping\",\"x\":\"\xc0\xaf\"}"), Closed(&[], 1007)),
        ws("ping over 125 bytes", AfterWelcome,
            frame(FIN | PING, &[7; 200]), Closed(&[], 1002)),
        ws("fragmented ping", AfterWelcome,
            frame(PING, b"half"), Closed(&[], 1002)),
        ws("reserved data opcode 0x3", AfterWelcome,
            frame(FIN | 0x3, b"?"), Closed(&[], 1002)),
        ws("reserved control opcode 0xB", AfterWelcome,
            frame(FIN | 0xB, b"?"), Closed(&[], 1002)),
        ws("RSV1 without an extension", AfterWelcome,
            frame(FIN | RSV1 | TEXT, br#"{"t":"ping"}"#), Closed(&[], 1002)),
        ws("unmasked client frame", AfterWelcome,
            encode_frame(FIN | TEXT, false, 12, br#"{"t":"ping"}"#), Closed(&[], 1002)),
        ws("continuation with nothing to continue", AfterWelcome,
            frame(FIN | CONTINUATION, b"{}"), Closed(&[], 1002)),
        ws("new message inside a fragmented one", AfterWelcome,
            [frame(TEXT, b"{\"t\":"), text(r#"{"t":"ping"}"#)].concat(), Closed(&[], 1002)),
        ws("close frame with a 1-byte payload", AfterWelcome,
            frame(FIN | CLOSE, &[3]), Closed(&[], 1002)),
        ws("close frame with invalid UTF-8 reason", AfterWelcome,
            close_frame(1000, b"\xff\xfe"), Closed(&[], 1007)),
        // A close is answered with a close: 1002 for a reserved code, 1000 echoed.
        ws("close frame with reserved code 999", AfterWelcome,
            close_frame(999, b""), Closed(&[], 1002)),
        ws("normal close, then more frames", AfterWelcome,
            [close_frame(1000, b"bye"), text(r#"{"t":"ping"}"#), frame(FIN | BINARY, b"x")].concat(),
            Closed(&[], 1000)),
        ws("random bytes after welcome", AfterWelcome, garbage(2, 4096), Closed(&[], 1002)),
    ]
}

// ───────────────────────────── broken HTTP ─────────────────────────────

struct HttpCase {
    name: &'static str,
    bytes: Vec<u8>,
    expect: HttpExpect,
}

enum HttpExpect {
    /// Answered with this status, or (for input that is not HTTP at all) hung up on.
    Status(u16),
    StatusOrHangUp(u16),
    /// A server function's refusal: this status, with this `AppError` as JSON.
    AppError(u16, &'static str),
}

/// What the server answered to a raw HTTP exchange.
struct Answer {
    status: Option<u16>,
    body: String,
    end: End,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status} {:?}, ", truncate(self.body.trim(), 40))?,
            None => write!(f, "no response, ")?,
        }
        write!(f, "{:?}", self.end)
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl HttpExpect {
    fn check(&self, case: &str, answer: &Answer) {
        let fine = answer.end != End::Timeout
            && match self {
                HttpExpect::Status(want) => answer.status == Some(*want),
                HttpExpect::StatusOrHangUp(want) => {
                    answer.status == Some(*want) || answer.status.is_none()
                }
                HttpExpect::AppError(want, error) => {
                    answer.status == Some(*want)
                        && serde_json::from_str::<serde_json::Value>(&answer.body)
                            .is_ok_and(|body| body.get(error).is_some())
                }
            };
        assert!(fine, "{case}: got {answer}");
    }
}

fn http_corpus(addr: SocketAddr, sessions: &Sessions) -> Vec<HttpCase> {
    use HttpExpect::{AppError, Status, StatusOrHangUp};
    // `headers`: more header lines, each ending in CRLF.
    let upgrade_with = |version: &str, key: &str, headers: &str| {
        format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             {key}Sec-WebSocket-Version: {version}\r\n{headers}\r\n"
        )
        .into_bytes()
    };
    let upgrade = |version: &str, key: &str| upgrade_with(version, key, "");
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let post_with = |function: &str, body: &str, headers: &str| {
        format!(
            "POST /api/{function} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Accept: application/json\r\nContent-Type: application/json\r\n\
             {headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let post = |function: &str, body: &str| post_with(function, body, "");
    // From a page of another site, with the hostile session's cookie riding along.
    let from = |origin: &str| format!("Origin: {origin}\r\nCookie: {}\r\n", sessions.hostile);
    let evil = from("http://evil.example");
    let http = |name, bytes, expect| HttpCase {
        name,
        bytes,
        expect,
    };
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nX-Junk: {}\r\n\r\n",
        "j".repeat(1 << 20)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\n{}\r\n",
        (0..500)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    #[rustfmt::skip]
    let corpus = vec![
        http("random bytes instead of an HTTP request", garbage(4, 2048), StatusOrHangUp(400)),
        http("NUL bytes instead of an HTTP request", vec![0; 1024], StatusOrHangUp(400)),
        http("GET /ws without upgrade headers",
            format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes(), Status(400)),
        http("upgrade with WebSocket version 12", upgrade("12", key), Status(400)),
        http("upgrade without a key", upgrade("13", ""), Status(400)),
        // Cross-site WebSocket hijacking: refused before the upgrade, cookie or not.
        http("upgrade from another site, with the session",
            upgrade_with("13", key, &evil), Status(403)),
        http("upgrade from Origin: null, with the session",
            upgrade_with("13", key, &from("null")), Status(403)),
        http("upgrade from this host on another port",
            upgrade_with("13", key, &from("http://127.0.0.1:1")), Status(403)),
        http("enter_as_guest from another site",
            post_with("enter_as_guest", r#"{"name":"mallory"}"#, &evil), Status(403)),
        http("log_out from another site, with the session",
            post_with("log_out", "{}", &evil), Status(403)),
        http("1 MiB request header", huge_header.into_bytes(), StatusOrHangUp(431)),
        http("500 request headers", many_headers.into_bytes(), StatusOrHangUp(431)),
        // Server functions answer a refusal with a status saying whose fault it is, and
        // the `AppError` as JSON; arguments that do not even parse are a 500.
        http("join_room with an unknown connection",
            post("join_room", r#"{"conn":"nobody","room":"general"}"#), Status(401)),
        http("join_room with junk arguments",
            post("join_room", r#"{"conn":7,"room":"general","after":-1,"":"="}"#), Status(500)),
        http("history with an absurd cursor",
            post("history", r#"{"room":"general","before":99999999999999999999999}"#), Status(500)),
        // Signing in under a name the server must refuse.
        http("guest name with markup",
            post("enter_as_guest", r#"{"name":"<script>"}"#), AppError(422, "BadName")),
        http("empty guest name", post("enter_as_guest", r#"{"name":""}"#), AppError(422, "BadName")),
        http("guest name of spaces only",
            post("enter_as_guest", r#"{"name":"   "}"#), AppError(422, "BadName")),
        http("guest name of 33 characters",
            post("enter_as_guest", &format!(r#"{{"name":"{}"}}"#, "n".repeat(33))), AppError(422, "BadName")),
        http("guest name with NUL and newline",
            post("enter_as_guest", r#"{"name":"a\u0000b\nc"}"#), AppError(422, "BadName")),
        http("guest name taking bob's, in another case",
            post("enter_as_guest", r#"{"name":" BOB "}"#), AppError(409, "NameTaken")),
        http("enter_as_guest without a name",
            post("enter_as_guest", r#"{"nom":"mallory"}"#), AppError(500, "Server")),
    ];
    corpus
}

/// Writes `bytes` on a fresh connection and reads the response: until the connection
/// ends, or (`End::Open`) until a response with a `Content-Length` is complete.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut raw = Raw::connect(addr).await;
    raw.write(bytes).await;
    let deadline = Instant::now() + CASE_TIMEOUT;
    let end = loop {
        if response_complete(&raw.buf) {
            break End::Open;
        }
        if let Some(end) = raw.fill(deadline).await {
            break end;
        }
    };
    let response = String::from_utf8_lossy(&raw.buf);
    Answer {
        status: response
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|s| s.parse().ok()),
        body: response
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, body)| body.to_owned()),
        end,
    }
}

fn response_complete(buf: &[u8]) -> bool {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|len| len.trim().parse::<usize>().ok())
        .is_some_and(|len| buf.len() >= head_end + 4 + len)
}

async fn healthz(addr: SocketAddr) -> (u16, String) {
    let answer = exchange(addr, b"GET /healthz HTTP/1.0\r\n\r\n").await;
    (answer.status.unwrap_or(0), answer.body)
}

// ───────────────────────────── the join flood ─────────────────────────────

const FLOOD_CALLS: usize = 2_000;
const FLOOD_CONCURRENCY: usize = 8;

/// One connection calls `join_room` 2,000 times as fast as it can, 8 at a time. The join
/// limit (burst 20, then 5/s) refuses nearly all of them, and meanwhile a bystander
/// message still crosses the server promptly.
async fn join_flood(
    addr: SocketAddr,
    alice: &mut Client,
    bob: &mut Client,
    said: &mut Vec<String>,
    failures: &mut Failures,
) {
    let mut flooder = Client::welcome(addr, "hostile-flooder-01", "flooder").await;
    let conn = flooder.conn.clone();
    let started = Instant::now();
    let workers: Vec<JoinHandle<Vec<(u16, String)>>> = (0..FLOOD_CONCURRENCY)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..FLOOD_CALLS / FLOOD_CONCURRENCY {
                    answers.push(
                        call(
                            &addr,
                            JoinRoom {
                                conn: conn.clone(),
                                room: "random".into(),
                                leave: None,
                                after: None,
                            },
                        )
                        .await,
                    );
                }
                answers
            })
        })
        .collect();
    // In the middle of the flood.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let crossed = bystanders_unaffected(alice, bob, "during the join flood", said).await;
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.unwrap());
    }
    let took = started.elapsed().as_secs_f64();
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<&(u16, String)> = answers
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    println!(
        "{:<52} {accepted} joined, {} refused ({}) in {took:.2} s; meanwhile a bystander \
         message crossed in {} ms",
        "2,000 join_room calls from one connection",
        refused.len(),
        refused
            .first()
            .map_or(String::new(), |(status, body)| format!(
                "HTTP {status} {body}"
            )),
        crossed.as_millis(),
    );
    // The burst, plus what refills while the flood lasts; one token of slack for timing.
    failures.check(accepted >= 20, || {
        format!("join flood: the burst is let through: {accepted}")
    });
    failures.check(accepted as f64 <= 20.0 + 5.0 * took + 1.0, || {
        format!("join flood: {accepted} joins in {took:.2} s is over the limit")
    });
    for (status, body) in &refused {
        failures.check(body.contains("RateLimited"), || {
            format!("join flood: HTTP {status}: {body}")
        });
    }
    // The flooder itself is still served; then it leaves.
    flooder.ping().await;
    drop(flooder);
    bystanders_unaffected(alice, bob, "the join flood", said).await;
}

// ───────────────────────────── half-open connections ─────────────────────────────

/// Clients that go quiet are closed once the idle timeout passes, whatever state they are
/// in; all three run at once, with the hostile session.
async fn half_open(addr: SocketAddr, sessions: &Sessions) {
    let window = Duration::from_secs(IDLE_SECS + 3);
    let cookie = Some(sessions.hostile.as_bytes());
    let silent_after_welcome = async {
        let mut raw = Raw::upgrade(addr, cookie).await;
        raw.welcomed().await;
        raw.observe(window).await
    };
    let stalled_mid_frame = async {
        let mut raw = Raw::upgrade(addr, cookie).await;
        raw.welcomed().await;
        // A header announcing 50 masked bytes, then half the mask and nothing more.
        raw.write(&[FIN | TEXT, 0x80 | 50, MASK[0], MASK[1]]).await;
        raw.observe(window).await
    };
    // Reads the upgrade's response and then nothing until the window has passed: what
    // the server sent in the meantime (the welcome, pings, the close) is waiting.
    let never_reads = async {
        let mut raw = Raw::upgrade(addr, cookie).await;
        tokio::time::sleep(window).await;
        raw.welcomed().await;
        raw.observe(Duration::from_millis(500)).await
    };
    let (silent, stalled, deaf) =
        tokio::join!(silent_after_welcome, stalled_mid_frame, never_reads);
    for (name, outcome, timed) in [
        ("welcome, then no pong to the server's pings", &silent, true),
        ("welcome, then half a frame and silence", &stalled, true),
        ("upgrade, then nothing read or answered", &deaf, false),
    ] {
        let read = if timed {
            String::new()
        } else {
            format!(" (read only after {window:?})")
        };
        println!(
            "{name:<52} {outcome}{read}; server pings left unanswered: {}",
            outcome.pings
        );
        assert_eq!(outcome.close, Some(1001), "{name}: {outcome}");
        assert!(
            matches!(outcome.end, Some(End::Eof | End::Reset)),
            "{name}: not closed: {outcome}"
        );
        // Closed for being idle: not before the timeout, and not long after it.
        let after = outcome.after.as_secs_f64();
        assert!(
            !timed || (IDLE_SECS as f64 - 0.3..=IDLE_SECS as f64 + 3.0).contains(&after),
            "{name}: closed after {after:.2} s"
        );
    }
    assert!(silent.pings >= 1, "the server pings a quiet client");
    assert!(
        deaf.pings >= 1,
        "the server pings a client that reads nothing"
    );
}

// ───────────────────────────── history ─────────────────────────────

/// Every stored message of `room`, oldest first, page by page.
async fn full_history(addr: SocketAddr, room: &str) -> Vec<ChatMessage> {
    let mut all = Vec::new();
    let mut before = 1_000_000;
    loop {
        let args = History {
            room: room.into(),
            before,
            after: None,
        };
        let (status, body) = call(&addr, args).await;
        assert_eq!(status, 200, "{body}");
        let page: HistoryPage = serde_json::from_str(&body).unwrap();
        let first = page.messages.first().map(|m| m.seq);
        all.splice(0..0, page.messages);
        match first {
            Some(seq) if page.has_more => before = seq,
            _ => return all,
        }
    }
}
