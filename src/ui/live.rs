//! The browser's side of the live connection (feature `hydrate` only): one WebSocket per
//! tab, reconnected with backoff, and the outbox flushed through it.
//!
//! A supervisor task owns the socket. The browser's hints reach it as [`Kick`]s: coming
//! back online or to the tab skips the backoff (or, when connected, checks the socket is
//! still alive); going offline drops the socket at once instead of waiting for it to time
//! out.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::future::{select, Either};
use futures::StreamExt;
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::outbox::{Outbox, Queued};
use super::persist;
use super::socket::{self, Socket, SocketEvent};
use super::state::{Chat, Status};
use crate::protocol::{ClientFrame, ErrorCode, Me, ServerEvent};

/// Messages sent and not yet confirmed, at most. Enough to flush an outbox quickly, few
/// enough to stay inside the server's burst allowance, so none is refused out of order.
const SEND_WINDOW: usize = 8;
/// With nothing heard for this long, ask the server whether the socket is alive...
const QUIET_MS: f64 = 25_000.0;
/// ...and give up on it when the answer takes longer than this.
const PONG_WAIT_MS: f64 = 8_000.0;
/// A refusal that may pass later (rate limit, overload) is retried after this.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// Without network, look again this often anyway: `navigator.onLine` can be wrong.
const OFFLINE_RECHECK: Duration = Duration::from_secs(30);

thread_local! {
    /// The current socket, if there is one, for sending.
    static OUTGOING: RefCell<Option<web_sys::WebSocket>> = const { RefCell::new(None) };
    /// Wakes the supervisor.
    static KICK: RefCell<Option<UnboundedSender<Kick>>> = const { RefCell::new(None) };
    /// When the current socket last heard from the server, and when it last asked
    /// whether the server is there (ms since the epoch).
    static HEARD: Cell<f64> = const { Cell::new(0.0) };
    static PROBED: Cell<Option<f64>> = const { Cell::new(None) };
    /// Counter to order messages made within one millisecond.
    static MADE: Cell<u32> = const { Cell::new(0) };
}

/// Something that should change what the supervisor is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kick {
    /// Signed in as someone else, or out: reconnect as that now (the cookie says who).
    Restart,
    /// The network may be back, or the user is looking again: connect now if not
    /// connected, else make sure the socket still works.
    Wake,
    /// The browser lost the network: the socket is useless, drop it.
    Offline,
}

/// Restores the outbox and starts the connection. Called once, after hydration, when the
/// page knows who this is (the server said so in the page).
pub fn start(chat: Chat) {
    chat.outbox.set(Outbox::restore(persist::load_queued()));

    super::offline::keep(chat);
    super::unread::track_reading(chat);
    super::pwa::start(chat);

    let (kick_tx, kicks) = unbounded();
    KICK.with(|k| *k.borrow_mut() = Some(kick_tx));
    let _ = window_event_listener(leptos::ev::online, |_| kick(Kick::Wake));
    let _ = window_event_listener(leptos::ev::offline, |_| kick(Kick::Offline));
    let _ = window_event_listener(leptos::ev::focus, |_| kick(Kick::Wake));
    let _ = window_event_listener(leptos::ev::visibilitychange, |_| {
        if !document().hidden() {
            kick(Kick::Wake);
        }
    });
    spawn_local(supervise(chat, kicks));
    kick(Kick::Restart);
}

/// The server signed this browser in (as a guest, or to an account): reconnect as that.
pub fn signed_in(chat: Chat, me: Me) {
    chat.me.set(Some(me));
    chat.name_problem.set(None);
    chat.dialog.set(None);
    super::pwa::refresh_kept_pages();
    kick(Kick::Restart);
}

/// The session ended on purpose: nobody is signed in here now.
pub fn signed_out(chat: Chat) {
    chat.signed_out();
    super::pwa::refresh_kept_pages();
    kick(Kick::Restart);
}

/// Puts a message in the outbox (and storage) and sends it if connected; otherwise it
/// goes out once connected, even after a reload.
pub fn send_message(chat: Chat, room: &str, text: String) {
    let item = Queued {
        by: chat.name().unwrap_or_default(),
        room: room.to_owned(),
        cid: new_id(),
        text,
        made: js_sys::Date::now()
            + f64::from(MADE.with(|m| m.replace(m.get() + 1) % 1000)) / 1000.0,
        error: None,
        in_flight: false,
    };
    persist::save_queued(&item);
    chat.outbox.update(|outbox| outbox.add(item));
    chat.has_sent.set(true);
    flush_outbox(chat);
}

/// Sends what the outbox holds, oldest first, within the send window. Does nothing until
/// the socket is welcomed; every welcome flushes.
pub fn flush_outbox(chat: Chat) {
    if chat.conn.get_untracked().is_none() || OUTGOING.with(|out| out.borrow().is_none()) {
        return;
    }
    if chat.outbox.with_untracked(Outbox::is_empty) {
        return;
    }
    let Some(me) = chat.name() else { return };
    let mut batch = Vec::new();
    chat.outbox
        .update(|outbox| batch = outbox.take_to_send(&me, SEND_WINDOW));
    for item in batch {
        send_frame(&ClientFrame::Send {
            room: item.room,
            cid: item.cid,
            text: item.text,
        });
    }
}

/// Sends on the current socket. Without one the frame is dropped: the outbox sends again
/// what was not confirmed.
fn send_frame(frame: &ClientFrame) {
    OUTGOING.with(|out| {
        if let Some(ws) = out.borrow().as_ref() {
            socket::send(ws, &frame.encode());
        }
    });
}

fn kick(why: Kick) {
    KICK.with(|k| {
        if let Some(tx) = k.borrow().as_ref() {
            let _ = tx.unbounded_send(why);
        }
    });
}

fn browser_online() -> bool {
    window().navigator().on_line()
}

/// Asks the server for a `pong`; the heartbeat in [`run_socket`] gives up on the socket
/// if none comes.
fn probe() {
    if OUTGOING.with(|out| out.borrow().is_some()) && PROBED.get().is_none() {
        PROBED.set(Some(js_sys::Date::now()));
        send_frame(&ClientFrame::Ping);
    }
}

/// How a socket's life ended.
enum Ended {
    /// The server refused our name: wait for the user to pick another.
    NameRefused,
    /// Closed or never opened; `welcomed` if it had worked for a while.
    Lost { welcomed: bool },
    /// Cut short by a kick.
    Kicked(Kick),
    /// The page is going away.
    Stopped,
}

async fn supervise(chat: Chat, mut kicks: UnboundedReceiver<Kick>) {
    let mut failures: u32 = 0;
    loop {
        if chat.me.with_untracked(Option::is_none) {
            chat.status.set(Status::Idle);
            if kicks.next().await.is_none() {
                return;
            }
            continue;
        }
        if !browser_online() {
            chat.status.set(Status::Offline);
            let wait = Box::pin(gloo_timers::future::sleep(OFFLINE_RECHECK));
            if let Either::Right((None, _)) = select(wait, kicks.next()).await {
                return;
            }
            if !browser_online() {
                continue;
            }
        }
        chat.status.set(if failures == 0 {
            Status::Connecting
        } else {
            Status::Reconnecting
        });
        let ended = {
            let mut socket = Box::pin(run_socket(chat));
            loop {
                match select(socket.as_mut(), kicks.next()).await {
                    Either::Left((ended, _)) => break ended,
                    // Connected (or connecting): just check the socket still works.
                    Either::Right((Some(Kick::Wake), _)) => probe(),
                    Either::Right((Some(why), _)) => break Ended::Kicked(why),
                    Either::Right((None, _)) => break Ended::Stopped,
                }
            }
        };
        chat.conn.set(None);
        chat.joined_room.set(None);
        match ended {
            Ended::Stopped => return,
            Ended::NameRefused => failures = 0,
            Ended::Kicked(Kick::Offline) => {
                failures = 1;
                chat.status.set(Status::Offline);
            }
            Ended::Kicked(_) => failures = 0,
            Ended::Lost { welcomed } => {
                failures = if welcomed { 1 } else { failures + 1 };
                chat.status.set(if browser_online() {
                    Status::Reconnecting
                } else {
                    Status::Offline
                });
                let wait = Box::pin(gloo_timers::future::sleep(backoff(failures)));
                if let Either::Right((None, _)) = select(wait, kicks.next()).await {
                    return;
                }
            }
        }
    }
}

/// 0.5 s, 1 s, 2 s … up to 15 s, each with jitter so that a restarted server is not hit by
/// every client at the same instant.
fn backoff(failures: u32) -> Duration {
    let base = 500.0 * 2f64.powi(failures.saturating_sub(1).min(5) as i32);
    let jittered = base.min(15_000.0) * (0.5 + js_sys::Math::random() / 2.0);
    Duration::from_millis(jittered as u64)
}

/// One socket's life. The session cookie goes with the upgrade request and says who we
/// are; the server answers `welcome` (or says why not).
async fn run_socket(chat: Chat) -> Ended {
    let (tx, mut inputs) = unbounded::<Input>();
    let Some(socket) = Socket::open(&socket_url(), &tx, Input::Socket) else {
        return Ended::Lost { welcomed: false };
    };
    let _registered = Registered::install(socket.handle());
    // Whatever the last socket did not get confirmed goes out again on this one.
    chat.outbox.update(Outbox::socket_changed);
    // The heartbeat's clock; it stops when dropped, with the socket.
    let _ticks = Interval::new(1_000, move || {
        let _ = tx.unbounded_send(Input::Tick);
    });
    HEARD.set(js_sys::Date::now());
    PROBED.set(None);
    let mut last_tick = js_sys::Date::now();
    let mut welcomed = false;
    let mut refused = false;
    while let Some(input) = inputs.next().await {
        let text = match input {
            Input::Tick => {
                let now = js_sys::Date::now();
                // A late tick means the page was asleep or throttled: what the heartbeat
                // measured is meaningless, so ask afresh.
                let asleep = now - last_tick > 5_000.0;
                last_tick = now;
                if asleep {
                    PROBED.set(None);
                    probe();
                } else if !heartbeat_ok(now) {
                    leptos::logging::log!("no answer from the server; reconnecting");
                    break;
                }
                continue;
            }
            Input::Socket(SocketEvent::Text(text)) => text,
            Input::Socket(SocketEvent::Closed { code, reason }) => {
                leptos::logging::log!("socket closed: {code} {reason}");
                break;
            }
            Input::Socket(SocketEvent::Failed) => break,
        };
        HEARD.set(js_sys::Date::now());
        PROBED.set(None);
        let event = match super::json::from_text::<ServerEvent>(&text) {
            Ok(event) => event,
            Err(err) => {
                leptos::logging::warn!("unreadable event: {err}");
                continue;
            }
        };
        let after = match &event {
            ServerEvent::Welcome { .. } => {
                welcomed = true;
                AfterApply::Flush
            }
            ServerEvent::Message { .. } | ServerEvent::Ack { .. } => AfterApply::Flush,
            ServerEvent::Error {
                code: ErrorCode::NameTaken | ErrorCode::BadName | ErrorCode::SignedOut,
                cid: None,
                ..
            } => {
                refused = true;
                AfterApply::Nothing
            }
            ServerEvent::Error {
                code, cid: Some(_), ..
            } if code.is_transient() => AfterApply::FlushLater,
            _ => AfterApply::Nothing,
        };
        if let ServerEvent::Message { room, msg } = &event {
            super::notify::on_message(chat, room, msg);
        }
        chat.apply(event);
        match after {
            AfterApply::Flush => flush_outbox(chat),
            AfterApply::FlushLater => spawn_local(async move {
                gloo_timers::future::sleep(RETRY_AFTER).await;
                flush_outbox(chat);
            }),
            AfterApply::Nothing => {}
        }
    }
    if refused {
        Ended::NameRefused
    } else {
        Ended::Lost { welcomed }
    }
}

/// What [`run_socket`] waits for.
enum Input {
    Socket(SocketEvent),
    /// A second has passed: time to check the heartbeat.
    Tick,
}

/// What an event asks of the outbox once applied.
enum AfterApply {
    /// A welcome or a confirmation: the window has room.
    Flush,
    /// A send was refused for now: try again in a moment.
    FlushLater,
    Nothing,
}

/// Probes a quiet socket; false once a probe has gone unanswered for too long.
fn heartbeat_ok(now: f64) -> bool {
    match PROBED.get() {
        Some(asked) => now - asked < PONG_WAIT_MS,
        None => {
            if now - HEARD.get() > QUIET_MS {
                probe();
            }
            true
        }
    }
}

/// Makes `ws` the current socket for as long as this lives.
struct Registered;

impl Registered {
    fn install(ws: web_sys::WebSocket) -> Registered {
        OUTGOING.with(|out| *out.borrow_mut() = Some(ws));
        Registered
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        OUTGOING.with(|out| *out.borrow_mut() = None);
    }
}

fn socket_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}

/// 128 random bits as hex, from the browser's CSPRNG (works on plain-HTTP origins too,
/// unlike `crypto.randomUUID`).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes))
        .is_ok();
    if !filled {
        bytes.fill_with(|| (js_sys::Math::random() * 256.0) as u8);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
