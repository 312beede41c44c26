//! One WebSocket connection: authorised by its session cookie at the upgrade, welcomed,
//! then served by a reader and a writer that share nothing but the connection's
//! [`Outbox`].
//!
//! The writer feeds every queued frame and flushes once per batch, so a busy socket costs
//! one write per batch rather than one per message. The reader handles the client's
//! frames; a frame it cannot use gets an `error` event and changes nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use super::guard::ClientAddr;
use super::hub::{Conn, Hub, Visitor};
use super::outbox::{CloseReason, Outbox, Queue, QueueBound};
use super::room::SendRequest;
use super::state::AppState;
use super::store::NewMessage;
use crate::protocol::{
    is_valid_client_id, normalize_text, AppError, ClientFrame, ErrorCode, ServerEvent,
    MAX_FRAME_BYTES,
};

/// How long a close frame may take to go out before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same for a client cut off as too slow: its close frame waits behind everything
/// already in the socket's buffers, so give it time to read them and learn why.
const SLOW_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes each socket reads at once (see [`upgrade`]).
const READ_BUFFER: usize = 1024;

/// Per-connection limits, from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// What may be queued for one client before it is cut off as too slow.
    pub queue: QueueBound,
    /// A connection that sends nothing at all, not even a pong, for this long is dead.
    /// The server pings at half of it, which also keeps proxies from dropping a quiet
    /// connection.
    pub idle: Duration,
}

const TOO_BIG: CloseReason = CloseReason {
    code: 1009,
    reason: "frame too large",
};
const BROKEN: CloseReason = CloseReason {
    code: 1002,
    reason: "protocol error",
};
const IDLE: CloseReason = CloseReason {
    code: 1001,
    reason: "idle timeout",
};

/// Why a socket is refused right after the upgrade: told to the client in an `error`
/// event (which a browser can read, unlike an HTTP status on an upgrade) and the close.
type Refusal = (ErrorCode, String);

/// `GET /ws`: upgrades to the live event stream, as the session in the cookie.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let visitor = visitor(&state, &headers, addr).await;
    let hub = state.hub.clone();
    let limits = state.limits;
    // A small read buffer keeps idle connections cheap: every connection holds it for
    // good. Client frames are small (a send is a few hundred bytes); a rare large one is
    // read in a few more calls. The write buffer is flushed once per batch anyway, and a
    // small one bounds what a client that stops reading holds beyond its queue.
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(32 * 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve(socket, hub, limits, visitor))
}

/// Who the cookie says this is.
async fn visitor(
    state: &AppState,
    headers: &HeaderMap,
    addr: std::net::IpAddr,
) -> Result<Visitor, Refusal> {
    let unavailable = |_| {
        (
            ErrorCode::Unavailable,
            "The server could not check your session; try again.".to_owned(),
        )
    };
    let Some(session) = state.auth.session(headers).await.map_err(unavailable)? else {
        return Err((
            ErrorCode::SignedOut,
            "Pick a name or log in first.".to_owned(),
        ));
    };
    let record = session.record;
    // A guest name someone registered since this session began is theirs now.
    if record.account_id.is_none()
        && state
            .auth
            .registered_to_other(&record.name, &record.user_id)
            .await
            .map_err(unavailable)?
    {
        let taken = AppError::NameRegistered(record.name);
        return Err((ErrorCode::NameTaken, taken.to_string()));
    }
    Ok(Visitor {
        user: record.user_id,
        name: record.name,
        session: session.key,
        account: record.account_id,
        addr,
    })
}

async fn serve(
    mut socket: WebSocket,
    hub: Arc<Hub>,
    limits: ConnectionLimits,
    visitor: Result<Visitor, Refusal>,
) {
    // Boxed: its state lives only while greeting, instead of widening this task's future
    // (held for the connection's whole life) by its size.
    let Some((conn, queue)) = Box::pin(greet(&mut socket, &hub, limits, visitor)).await else {
        return;
    };
    tracing::debug!(conn = conn.id, name = %conn.name, "connected");
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(
        sink,
        queue,
        conn.outbox.clone(),
        limits.idle / 2,
    ));
    read_loop(stream, &hub, &conn, limits).await;
    hub.disconnect(&conn);
    conn.outbox.close(CloseReason {
        code: 1000,
        reason: "bye",
    });
    let _ = writer.await;
    match conn.outbox.close_reason() {
        Some(reason) if reason.code != 1000 => {
            tracing::info!(conn = conn.id, name = %conn.name, code = reason.code, reason = reason.reason, "connection closed");
        }
        _ => tracing::debug!(conn = conn.id, "disconnected"),
    }
}

/// Registers the connection and sends `welcome`. On a refusal, tells the client why and
/// closes.
async fn greet(
    socket: &mut WebSocket,
    hub: &Arc<Hub>,
    limits: ConnectionLimits,
    visitor: Result<Visitor, Refusal>,
) -> Option<(Arc<Conn>, Queue)> {
    let registered = visitor.and_then(|visitor| {
        let (outbox, queue) = Outbox::new(limits.queue);
        match hub.connect(visitor, outbox) {
            Ok(conn) => Ok((conn, queue)),
            Err(err @ AppError::NameTaken(_)) => Err((ErrorCode::NameTaken, err.to_string())),
            Err(err @ AppError::BadName(_)) => Err((ErrorCode::BadName, err.to_string())),
            Err(err @ AppError::TooManyConnections) => {
                Err((ErrorCode::TooManyConnections, err.to_string()))
            }
            Err(err) => Err((ErrorCode::Unavailable, err.to_string())),
        }
    });
    let (code, message) = match registered {
        Ok((conn, queue)) => {
            let welcome = ServerEvent::Welcome {
                conn: conn.token.clone(),
                name: conn.name.clone(),
            };
            // Then where every room stands, so the page's unread counts start right.
            let counts = hub.all_counts();
            let sent = async {
                socket.feed(Message::Text(welcome.encode().into())).await?;
                socket.send(Message::Text(counts)).await
            };
            if sent.await.is_err() {
                hub.disconnect(&conn);
                return None;
            }
            return Some((conn, queue));
        }
        Err(refusal) => refusal,
    };
    let event = ServerEvent::Error {
        code,
        message: message.clone(),
        cid: None,
    };
    let _ = socket.send(Message::Text(event.encode().into())).await;
    let close = CloseFrame {
        code: 1008,
        reason: truncate(&message, 120).into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(close)))).await;
    None
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    queue: Queue,
    outbox: Outbox,
    ping_every: Duration,
) {
    // Grows while frames flow and is given back once the queue is empty: most
    // connections are idle most of the time, and then hold no batch buffer at all.
    let mut batch = VecDeque::new();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    // One wait for the close, registered once rather than on every frame.
    let closed = outbox.closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => break,
            () = queue.next_batch(&mut batch) => {
                let write = async {
                    while let Some(frame) = batch.pop_front() {
                        let len = frame.len();
                        sink.feed(Message::Text(frame)).await?;
                        // Counted as queued until the socket has taken it.
                        outbox.taken(len);
                    }
                    sink.flush().await
                };
                // A client that stops reading blocks this write; its queue then fills up
                // and `closed` fires, which must win.
                tokio::select! {
                    result = write => if result.is_err() { return },
                    _ = &mut closed => break,
                }
                if queue.shrink_if_empty() {
                    batch = VecDeque::new();
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
    // Nothing queued goes out any more: free it now, not after the close frame's wait
    // (up to SLOW_CLOSE_TIMEOUT behind a client that stopped reading).
    drop(batch);
    queue.clear();
    if let Some(reason) = outbox.close_reason() {
        let close = CloseFrame {
            code: reason.code,
            reason: reason.reason.into(),
        };
        let patience = if reason == CloseReason::TOO_SLOW {
            SLOW_CLOSE_TIMEOUT
        } else {
            CLOSE_TIMEOUT
        };
        let _ = tokio::time::timeout(patience, async {
            // When the client closed first, sending our own close fails, but the socket
            // has queued the echo of the client's close; the flush sends it.
            if sink.send(Message::Close(Some(close))).await.is_err() {
                let _ = sink.flush().await;
            }
        })
        .await;
    }
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    hub: &Hub,
    conn: &Conn,
    limits: ConnectionLimits,
) {
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(limits.idle, stream.next()) => next,
            _ = conn.outbox.closed() => return,
        };
        let message = match next {
            Err(_elapsed) => return conn.outbox.close(IDLE),
            Ok(None) => return,
            Ok(Some(Ok(Message::Close(_)))) => {
                return conn.outbox.close(CloseReason {
                    code: 1000,
                    reason: "bye",
                })
            }
            Ok(Some(Err(err))) => {
                tracing::debug!(conn = conn.id, %err, "websocket read failed");
                return conn.outbox.close(read_error_reason(&err));
            }
            Ok(Some(Ok(message))) => message,
        };
        let refusal = match message {
            Message::Text(text) => handle_text(hub, conn, text.as_str()),
            Message::Binary(_) => Err(refuse(
                ErrorCode::Binary,
                "binary frames are not used",
                None,
            )),
            // Pings are answered by the socket itself; any frame proves the client alive.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(()),
        };
        if let Err(event) = refusal {
            conn.outbox.push(&event.encode().into());
        }
    }
}

fn handle_text(hub: &Hub, conn: &Conn, text: &str) -> Result<(), ServerEvent> {
    let frame =
        ClientFrame::decode(text).map_err(|err| refuse(err.code(), &err.to_string(), None))?;
    match frame {
        ClientFrame::Ping => {
            conn.outbox.push(&ServerEvent::Pong.encode().into());
            Ok(())
        }
        ClientFrame::Send { room, cid, text } => {
            if !is_valid_client_id(&cid) {
                return Err(refuse(
                    ErrorCode::Malformed,
                    "message ids are 8–64 characters of A-Z a-z 0-9 _ -",
                    None,
                ));
            }
            let fail = |code, message: &str| refuse(code, message, Some(cid.clone()));
            // Joining is not required: an outbox flushed after a reconnect holds messages
            // for rooms the tab has since left. Rooms are public either way.
            let Some(target) = hub.room(&room) else {
                return Err(fail(ErrorCode::NoSuchRoom, "there is no such room"));
            };
            let text = normalize_text(&text).map_err(|why| fail(ErrorCode::BadMessage, &why))?;
            // Per user, not per socket: more tabs do not buy a faster flood.
            if !hub.may_send(&conn.user) {
                return Err(fail(ErrorCode::RateLimited, "slow down: too many messages"));
            }
            let request = SendRequest {
                msg: NewMessage {
                    cid: cid.clone(),
                    author: conn.name.clone(),
                    text: text.to_owned(),
                    at_ms: now_ms(),
                },
                from: conn.id,
                reply: conn.outbox.clone(),
            };
            target
                .submit(request)
                .map_err(|code| fail(code, "the room is busy; try again"))
        }
    }
}

/// The close code for a frame the socket could not read. axum hides tungstenite's error
/// type, so its message is all there is to go on.
fn read_error_reason(err: &axum::Error) -> CloseReason {
    let text = err.to_string();
    // "Control frame too big" is a protocol violation, not a message over our limit.
    if text.contains("Control frame") {
        BROKEN
    } else if text.contains("too long") || text.contains("too big") {
        TOO_BIG
    } else if text.contains("UTF-8") || text.contains("utf-8") {
        CloseReason {
            code: 1007,
            reason: "text frame is not valid UTF-8",
        }
    } else {
        BROKEN
    }
}

fn refuse(code: ErrorCode, message: &str, cid: Option<String>) -> ServerEvent {
    ServerEvent::Error {
        code,
        message: message.to_owned(),
        cid,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn truncate(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
