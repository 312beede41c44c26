//! The browser's side of the live connection (feature `hydrate` only): one WebSocket per
//! tab, reconnected with backoff, plus the identity kept in `localStorage`.
//!
//! A supervisor task owns the socket. Anything that must make it reconnect at once — a new
//! name, the browser coming back online — "kicks" it through a channel.

use std::cell::RefCell;
use std::time::Duration;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::{Chat, Identity, Status};
use crate::protocol::{ClientFrame, ErrorCode, ServerEvent};

const IDENTITY_KEY: &str = "natter.identity";
const LAST_ROOM_KEY: &str = "natter.room";

thread_local! {
    /// Frames for the current socket, if one is open.
    static OUTGOING: RefCell<Option<UnboundedSender<String>>> = const { RefCell::new(None) };
    /// Wakes the supervisor.
    static KICK: RefCell<Option<UnboundedSender<()>>> = const { RefCell::new(None) };
}

/// Reads the stored identity and starts the connection. Called once, after hydration.
pub fn start(chat: Chat) {
    let identity = load_identity();
    if identity.is_none() {
        chat.asking_name.set(true);
    }
    chat.identity.set(identity);
    chat.identity_loaded.set(true);

    let (kick_tx, kicks) = unbounded();
    KICK.with(|k| *k.borrow_mut() = Some(kick_tx));
    // Coming back online or to the tab: do not wait for the backoff timer.
    let _ = window_event_listener(leptos::ev::online, |_| kick());
    let _ = window_event_listener(leptos::ev::focus, |_| kick_if_offline());
    spawn_local(supervise(chat, kicks));
}

/// Saves `name` (with this browser's id, made on first use) and reconnects under it.
pub fn set_name(chat: Chat, name: String) {
    let user = chat
        .identity
        .get_untracked()
        .map(|i| i.user)
        .unwrap_or_else(new_id);
    let identity = Identity { user, name };
    save(
        IDENTITY_KEY,
        &serde_json::to_string(&identity).unwrap_or_default(),
    );
    chat.identity.set(Some(identity));
    chat.name_problem.set(None);
    chat.asking_name.set(false);
    kick();
}

/// Queues a message as pending and sends it if the room is joined; otherwise it goes out
/// after the next join.
pub fn send_message(chat: Chat, room: &str, text: String) {
    let cid = new_id();
    chat.timeline
        .update(|t| t.add_pending(cid.clone(), text.clone()));
    if chat.joined_room.get_untracked().as_deref() == Some(room) {
        send_frame(&ClientFrame::Send {
            room: room.to_owned(),
            cid,
            text,
        });
    }
}

/// Sends every pending message of the open room again; the server stores each once.
pub fn resend_pending(chat: Chat) {
    let (room, frames) = chat.timeline.with_untracked(|t| {
        let frames: Vec<ClientFrame> = t
            .unsent()
            .map(|p| ClientFrame::Send {
                room: t.room.clone(),
                cid: p.cid.clone(),
                text: p.text.clone(),
            })
            .collect();
        (t.room.clone(), frames)
    });
    if chat.joined_room.get_untracked().as_deref() == Some(room.as_str()) {
        frames.iter().for_each(send_frame);
    }
}

pub fn remember_room(slug: &str) {
    save(LAST_ROOM_KEY, slug);
}

pub fn last_room() -> Option<String> {
    storage()?.get_item(LAST_ROOM_KEY).ok().flatten()
}

/// Sends on the current socket. Without one the frame is dropped: pending messages are
/// sent again after the next join.
fn send_frame(frame: &ClientFrame) {
    OUTGOING.with(|out| {
        if let Some(tx) = out.borrow().as_ref() {
            let _ = tx.unbounded_send(frame.encode());
        }
    });
}

fn kick() {
    KICK.with(|k| {
        if let Some(tx) = k.borrow().as_ref() {
            let _ = tx.unbounded_send(());
        }
    });
}

fn kick_if_offline() {
    if OUTGOING.with(|out| out.borrow().is_none()) {
        kick();
    }
}

/// How a socket's life ended.
enum Ended {
    /// The server refused our name: wait for the user to pick another.
    NameRefused,
    /// Closed or never opened; `welcomed` if it had worked for a while.
    Lost { welcomed: bool },
}

async fn supervise(chat: Chat, mut kicks: UnboundedReceiver<()>) {
    let mut failures: u32 = 0;
    loop {
        let identity = chat
            .identity
            .get_untracked()
            .filter(|_| !chat.asking_name.get_untracked());
        let Some(identity) = identity else {
            chat.status.set(Status::Idle);
            if kicks.next().await.is_none() {
                return;
            }
            continue;
        };
        chat.status.set(if failures == 0 {
            Status::Connecting
        } else {
            Status::Reconnecting
        });
        let socket = Box::pin(run_socket(chat, identity));
        let outcome = select(socket, kicks.next()).await;
        chat.conn.set(None);
        chat.joined_room.set(None);
        match outcome {
            Either::Left((Ended::NameRefused, _)) => failures = 0,
            Either::Left((Ended::Lost { welcomed }, _)) => {
                failures = if welcomed { 1 } else { failures + 1 };
                chat.status.set(Status::Reconnecting);
                let wait = Box::pin(gloo_timers::future::sleep(backoff(failures)));
                let _ = select(wait, kicks.next()).await;
            }
            // Kicked: a new name, or the network came back. Reconnect now.
            Either::Right(_) => failures = 0,
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

async fn run_socket(chat: Chat, identity: Identity) -> Ended {
    let Ok(socket) = WebSocket::open(&socket_url()) else {
        return Ended::Lost { welcomed: false };
    };
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = unbounded::<String>();
    let hello = ClientFrame::Hello {
        user: identity.user,
        name: identity.name,
    };
    let _ = tx.unbounded_send(hello.encode());
    spawn_local(async move {
        while let Some(text) = rx.next().await {
            if sink.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    });
    let _registered = Registered::install(tx);

    let mut welcomed = false;
    let mut refused = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(Message::Text(text)) => match ServerEvent::decode(&text) {
                Ok(event) => {
                    match &event {
                        ServerEvent::Welcome { .. } => welcomed = true,
                        ServerEvent::Error {
                            code: ErrorCode::NameTaken | ErrorCode::BadName,
                            cid: None,
                            ..
                        } => refused = true,
                        _ => {}
                    }
                    chat.apply(event);
                }
                Err(err) => leptos::logging::warn!("unreadable event: {err}"),
            },
            Ok(Message::Bytes(_)) => {}
            Err(WebSocketError::ConnectionClose(close)) => {
                leptos::logging::log!("socket closed: {} {}", close.code, close.reason);
            }
            Err(_) => {}
        }
    }
    if refused {
        Ended::NameRefused
    } else {
        Ended::Lost { welcomed }
    }
}

/// Makes `tx` the current socket's sender for as long as it lives.
struct Registered;

impl Registered {
    fn install(tx: UnboundedSender<String>) -> Registered {
        OUTGOING.with(|out| *out.borrow_mut() = Some(tx));
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

fn load_identity() -> Option<Identity> {
    let text = storage()?.get_item(IDENTITY_KEY).ok()??;
    let identity: Identity = serde_json::from_str(&text).ok()?;
    let valid = crate::protocol::is_valid_client_id(&identity.user)
        && crate::protocol::normalize_name(&identity.name).is_ok();
    valid.then_some(identity)
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn save(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
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
