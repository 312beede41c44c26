//! The browser's side of the live connection (feature `hydrate` only): one WebSocket per
//! tab (gloo-net's), reconnected with backoff, and the outbox flushed through it.
//!
//! A supervisor task owns the socket. The browser's hints reach it as [`Kick`]s: coming
//! back online or to the tab skips the backoff (or, when connected, checks the socket is
//! still alive); going offline drops the socket at once instead of waiting for it to time
//! out.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use futures::channel::mpsc::{self, unbounded, Sender, UnboundedReceiver, UnboundedSender};
use futures::future::{select, Either};
use futures::{stream, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client::backoff::backoff;
use crate::client::outbox::{Outbox, Queued};
use crate::client::persist;
use crate::client::state::{Chat, Status};
use crate::protocol::{ClientFrame, ErrorCode, Me, Seq, ServerEvent};

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
/// Frames waiting for the socket to take them (while it opens). The send window and one
/// ping are all that is ever sent at once, so this never fills in practice; if it did,
/// the frame is dropped and the outbox sends it again on the next socket.
const OUTGOING_FRAMES: usize = 2 * SEND_WINDOW;

thread_local! {
    /// The way to the current socket, if there is one, for sending.
    static OUTGOING: RefCell<Option<Sender<String>>> = const { RefCell::new(None) };
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

    crate::client::offline::keep(chat);
    crate::client::pwa::start(chat);
    crate::client::upload::start();

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
    chat.account.me.set(Some(me));
    chat.account.name_problem.set(None);
    chat.account.dialog.set(None);
    crate::client::pwa::refresh_kept_pages();
    crate::client::push::sync(chat);
    kick(Kick::Restart);
}

/// The session ended on purpose: nobody is signed in here now.
pub fn signed_out(chat: Chat) {
    chat.account.signed_out();
    crate::client::pwa::refresh_kept_pages();
    crate::client::push::end();
    kick(Kick::Restart);
}

/// Puts a message (a reply to the message `reply`, if given) in the outbox (and storage)
/// and sends it if connected; otherwise it goes out once connected, even after a reload.
pub fn send_message(chat: Chat, room: &str, text: String, reply: Option<Seq>) {
    queue(
        chat,
        Queued {
            reply,
            ..new_item(chat, room, text, None)
        },
    );
}

/// A new message of the reader's; `file_name` for one that will carry a file.
fn new_item(chat: Chat, room: &str, text: String, file_name: Option<String>) -> Queued {
    Queued {
        by: chat.account.name().unwrap_or_default(),
        room: room.to_owned(),
        cid: new_id(),
        text,
        made: js_sys::Date::now()
            + f64::from(MADE.with(|m| m.replace(m.get() + 1) % 1000)) / 1000.0,
        error: None,
        in_flight: false,
        file: None,
        file_name,
        reply: None,
        change: None,
    }
}

/// Queues `file` as a message in `room`, `caption` its text (`client::upload`); or
/// says why not.
pub fn send_file(
    chat: Chat,
    room: &str,
    caption: String,
    file: web_sys::File,
) -> Result<(), String> {
    use crate::protocol::{human_size, MAX_FILE_BYTES};
    let name = file.name();
    if file.size() > MAX_FILE_BYTES as f64 {
        return Err(format!(
            "{name} is too large to send: at most {} a file.",
            human_size(MAX_FILE_BYTES)
        ));
    }
    let item = new_item(chat, room, caption, Some(name));
    // Kept first, then queued: a reload finds the message only with its file.
    wasm_bindgen_futures::spawn_local(async move {
        if crate::client::idb::keep(&item.cid, &file).await {
            queue(chat, item);
        } else {
            chat.link
                .alert
                .set(Some("This browser would not keep the file to send.".into()));
        }
    });
    Ok(())
}

/// Puts `item` in the outbox (and storage) and sends what may go.
fn queue(chat: Chat, item: Queued) {
    persist::save_queued(&item);
    chat.outbox.update(|outbox| outbox.add(item));
    chat.screen.has_sent.set(true);
    flush_outbox(chat);
}

/// Sends what the outbox holds, oldest first, within the send window. Does nothing until
/// the socket is welcomed; every welcome flushes.
pub fn flush_outbox(chat: Chat) {
    if chat.link.conn.get_untracked().is_none() || OUTGOING.with(|out| out.borrow().is_none()) {
        return;
    }
    if chat.outbox.with_untracked(Outbox::is_empty) {
        return;
    }
    let Some(me) = chat.account.name() else {
        return;
    };
    let mut batch = Vec::new();
    chat.outbox
        .update(|outbox| batch = outbox.take_to_send(&me, SEND_WINDOW));
    for item in batch {
        match item.change {
            Some(frame) => send_text(frame),
            None => send_frame(&ClientFrame::Send {
                room: item.room,
                cid: item.cid,
                text: item.text,
                file: item.file,
                reply: item.reply,
            }),
        }
    }
    crate::client::upload::next(chat, &me, flush_outbox);
}

/// Tells the server this reader has seen `room` up to message number `n` (kept for
/// registered users, and passed to their other devices).
pub fn send_read(room: &str, n: Seq) {
    send_frame(&ClientFrame::Read {
        room: room.to_owned(),
        n,
    });
}

/// Asks the server to change the message `target` of `room`; the change comes back as
/// an `update` event to every reader, this tab included. Through the outbox, like a
/// message: made offline, it goes once connected, and a retry is applied once.
pub fn send_change(chat: Chat, room: &str, target: Seq, edit: crate::protocol::Edit) {
    let mut item = new_item(chat, room, String::new(), None);
    item.change = Some(
        ClientFrame::Change {
            room: room.to_owned(),
            cid: item.cid.clone(),
            target,
            edit,
        }
        .encode(),
    );
    if chat.link.status.get_untracked() != Status::Online {
        chat.link
            .alert
            .set(Some("Offline: the change goes out once connected.".into()));
    }
    queue(chat, item);
}

/// Tells the server whether this tab is in front of its reader: no push notification
/// goes to someone looking at Natter.
pub fn send_visibility(visible: bool) {
    send_frame(&ClientFrame::Visibility { visible });
}

/// Sends on the current socket (once it is open). Without one the frame is dropped: the
/// outbox sends again what was not confirmed.
fn send_frame(frame: &ClientFrame) {
    send_text(frame.encode());
}

/// [`send_frame`] of a frame already encoded.
fn send_text(frame: String) {
    OUTGOING.with(|out| {
        if let Some(tx) = out.borrow_mut().as_mut() {
            if tx.try_send(frame).is_err() {
                leptos::logging::warn!("socket not taking frames; one dropped");
            }
        }
    });
}

/// Tells the room that the user is typing, when this socket is in it; otherwise, or
/// without a socket, nothing is sent (it matters only now).
pub fn send_typing(chat: Chat, room: &str) {
    if chat.link.joined_room.get_untracked().as_deref() == Some(room) {
        send_frame(&ClientFrame::Typing {
            room: room.to_owned(),
        });
    }
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
        if chat.account.me.with_untracked(Option::is_none) {
            chat.link.status.set(Status::Idle);
            if kicks.next().await.is_none() {
                return;
            }
            continue;
        }
        if !browser_online() {
            chat.link.status.set(Status::Offline);
            let wait = Box::pin(gloo_timers::future::sleep(OFFLINE_RECHECK));
            if let Either::Right((None, _)) = select(wait, kicks.next()).await {
                return;
            }
            if !browser_online() {
                continue;
            }
        }
        chat.link.status.set(if failures == 0 {
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
        chat.link.conn.set(None);
        chat.link.joined_room.set(None);
        match ended {
            Ended::Stopped => return,
            Ended::NameRefused => failures = 0,
            Ended::Kicked(Kick::Offline) => {
                failures = 1;
                chat.link.status.set(Status::Offline);
            }
            Ended::Kicked(_) => failures = 0,
            Ended::Lost { welcomed } => {
                failures = if welcomed { 1 } else { failures + 1 };
                chat.link.status.set(if browser_online() {
                    Status::Reconnecting
                } else {
                    Status::Offline
                });
                let wait = Box::pin(gloo_timers::future::sleep(backoff(
                    failures,
                    js_sys::Math::random(),
                )));
                if let Either::Right((None, _)) = select(wait, kicks.next()).await {
                    return;
                }
            }
        }
    }
}

/// One socket's life. The session cookie goes with the upgrade request and says who we
/// are; the server answers `welcome` (or says why not).
async fn run_socket(chat: Chat) -> Ended {
    let Ok(socket) = WebSocket::open(&socket_url()) else {
        return Ended::Lost { welcomed: false };
    };
    let (sink, received) = socket.split();
    // What we send waits here until the socket is open, then goes out in order. Dropping
    // both halves (when this returns) closes the socket.
    let (outgoing, to_send) = mpsc::channel::<String>(OUTGOING_FRAMES);
    let sending = to_send.map(|text| Ok(Message::Text(text))).forward(sink);
    spawn_local(async move {
        // Ends when the socket fails or `outgoing` goes (the error says nothing new).
        let _ = sending.await;
    });
    let _registered = Registered::install(outgoing);
    // Whatever the last socket did not get confirmed goes out again on this one.
    chat.outbox.update(Outbox::socket_changed);
    // The heartbeat's clock; it stops when dropped, with the socket.
    let (tick, ticks) = unbounded::<Input>();
    let _ticks = Interval::new(1_000, move || {
        let _ = tick.unbounded_send(Input::Tick);
    });
    let mut inputs = stream::select(received.map(Input::Socket), ticks);
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
            Input::Socket(Ok(Message::Text(text))) => text,
            // The server sends none.
            Input::Socket(Ok(Message::Bytes(_))) => continue,
            Input::Socket(Err(WebSocketError::ConnectionClose(close))) => {
                leptos::logging::log!("socket closed: {} {}", close.code, close.reason);
                break;
            }
            // Failed, or never opened.
            Input::Socket(Err(_)) => break,
        };
        HEARD.set(js_sys::Date::now());
        PROBED.set(None);
        let event = match crate::client::json::from_text::<ServerEvent>(&text) {
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
        match &event {
            ServerEvent::Message { room, msg } => {
                crate::client::notify::on_message(chat, room, msg)
            }
            ServerEvent::Alert { .. } => crate::client::notify::on_alert(chat, &event),
            ServerEvent::Welcome { .. } => send_visibility(!document().hidden()),
            _ => {}
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
    Socket(Result<Message, WebSocketError>),
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

/// Makes `outgoing` the way to the current socket for as long as this lives.
struct Registered;

impl Registered {
    fn install(outgoing: Sender<String>) -> Registered {
        OUTGOING.with(|out| *out.borrow_mut() = Some(outgoing));
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
