//! One WebSocket connection: authorised by its session cookie at the upgrade, welcomed,
//! then served by one task until it closes.
//!
//! The task reads the client's frames; a frame it cannot use gets an `error` event and
//! changes nothing. It does not write what rooms publish: whoever queues a frame writes
//! it (see [`SendQueue`]). The task steps in only when the socket is full, and for the pings
//! that keep an idle connection alive and find a dead one.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::protocol::{
    is_valid_client_id, normalize_text, AppError, Change, ChatMessage, ClientFrame, Edit,
    ErrorCode, Reply, Seq, ServerEvent, MAX_FRAME_BYTES,
};
use crate::server::chat::commands;
use crate::server::chat::hub::{Conn, Hub, Visitor};
use crate::server::chat::mentions::{find_mentions, Person};
use crate::server::chat::moderation::Actor;
use crate::server::chat::room::{ChangeRequest, Room, SendRequest};
use crate::server::chat::sanctions::Rank;
use crate::server::clock::now_ms;
use crate::server::config::ConnectionLimits;
use crate::server::http::guard::ClientAddr;
use crate::server::names::name_key;
use crate::server::state::AppState;
use crate::server::store::moderation::{AuditEntry, ModerationChange};
use crate::server::store::{Asker, NewMessage, NewUpdate};
use crate::server::ws::send_queue::{CloseReason, SendQueue};
use crate::server::ws::{handshake, Frame, Incoming, Reader};

/// How long a close frame may take to go out, and then the client to close its side,
/// before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same for a client cut off as too slow: its close frame waits behind everything
/// already in the socket's buffers, so give it time to read them and learn why.
const SLOW_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read from a socket at once, at most. Client frames are small (a send is a few
/// hundred bytes); a rare large one takes a few more reads. The buffer exists only while
/// a frame is incomplete, so idle connections hold none.
const READ_CHUNK: usize = 4096;

const IDLE: CloseReason = CloseReason {
    code: 1001,
    reason: "idle timeout",
};
const SLOW_FRAME: CloseReason = CloseReason {
    code: 1008,
    reason: "frame not finished in time",
};
const BYE: CloseReason = CloseReason {
    code: 1000,
    reason: "bye",
};

/// Why a socket is refused right after the upgrade: told to the client in an `error`
/// event (which a browser can read, unlike an HTTP status on an upgrade) and the close.
type Refusal = (ErrorCode, String);

/// `GET /ws`: upgrades to the live event stream, as the session in the cookie.
pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    mut request: Request,
) -> Response {
    let accepted = match handshake::accept(&mut request) {
        Ok(accepted) => accepted,
        Err(refused) => return refused,
    };
    let visitor = visitor(&state, request.headers(), addr).await;
    let hub = state.hub.clone();
    let limits = state.limits;
    tokio::spawn(async move {
        match handshake::take_over(accepted.upgrade).await {
            Ok((tcp, first)) => serve(tcp, first, hub, limits, visitor).await,
            Err(err) => tracing::warn!(%err, "websocket upgrade failed"),
        }
    });
    accepted.response
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
    tcp: TcpStream,
    first: Bytes,
    hub: Arc<Hub>,
    limits: ConnectionLimits,
    visitor: Result<Visitor, Refusal>,
) {
    // A copy: `first` may be a slice of hyper's whole read buffer, kept alive by it.
    let mut reader = Reader::new(&first, MAX_FRAME_BYTES);
    drop(first);
    let socket = Arc::new(tcp);
    let queue = SendQueue::new(limits.queue, socket.clone());
    let conn = match register(&hub, visitor, queue.clone()) {
        Ok(conn) => conn,
        Err((code, message)) => return refuse(&socket, &queue, code, message).await,
    };
    tracing::debug!(conn = conn.id, name = %conn.name, "connected");
    let welcome = ServerEvent::Welcome {
        conn: conn.token.clone(),
        name: conn.name.clone(),
    };
    // Then where every room stands, so the page's unread counts start right.
    queue.greet(&[welcome.encode().into(), hub.all_counts(&conn.user)]);
    run(&socket, &mut reader, &hub, &conn, limits).await;
    drop(reader);
    hub.disconnect(&conn);
    queue.close(BYE);
    let reason = queue.close_reason().unwrap_or(BYE);
    let patience = if reason == CloseReason::TOO_SLOW {
        SLOW_CLOSE_TIMEOUT
    } else {
        CLOSE_TIMEOUT
    };
    if reason != CloseReason::LOST {
        close(
            &socket,
            &queue,
            Frame::close(reason.code, reason.reason),
            patience,
        )
        .await;
    }
    if reason.code != 1000 {
        tracing::info!(conn = conn.id, name = %conn.name, code = reason.code, reason = reason.reason, "connection closed");
    } else {
        tracing::debug!(conn = conn.id, "disconnected");
    }
}

/// Registers the connection with the hub.
fn register(
    hub: &Arc<Hub>,
    visitor: Result<Visitor, Refusal>,
    queue: SendQueue,
) -> Result<Arc<Conn>, Refusal> {
    hub.connect(visitor?, queue).map_err(|err| match err {
        AppError::NameTaken(_) => (ErrorCode::NameTaken, err.to_string()),
        AppError::BadName(_) => (ErrorCode::BadName, err.to_string()),
        AppError::TooManyConnections => (ErrorCode::TooManyConnections, err.to_string()),
        _ => (ErrorCode::Unavailable, err.to_string()),
    })
}

/// Tells a refused client why, in an `error` event and the close frame, without reading
/// anything it sent.
async fn refuse(socket: &TcpStream, queue: &SendQueue, code: ErrorCode, message: String) {
    let event = ServerEvent::Error {
        code,
        message: message.clone(),
        cid: None,
    };
    queue.greet(&[event.encode().into()]);
    queue.close(CloseReason {
        code: 1008,
        reason: "refused",
    });
    close(socket, queue, Frame::close(1008, &message), CLOSE_TIMEOUT).await;
}

/// Serves the connection until it is closed, by either side or the server.
async fn run(
    socket: &TcpStream,
    reader: &mut Reader,
    hub: &Arc<Hub>,
    conn: &Conn,
    limits: ConnectionLimits,
) {
    let queue = &conn.queue;
    let closed = queue.closed();
    tokio::pin!(closed);
    let ping_every = limits.idle / 2;
    let mut heard = Instant::now();
    let mut ping_at = heard + ping_every;
    // One timer for both: pinging, and giving up on a client that answers nothing. It is
    // moved only when it fires, not on every frame read.
    let timer = tokio::time::sleep_until(ping_at);
    tokio::pin!(timer);
    // When the frame (or fragmented message) not yet whole began.
    let mut frame_began: Option<Instant> = None;
    // Frames that came with the upgrade request.
    if !handle_frames(reader, hub, conn) {
        return;
    }
    if reader.incomplete() {
        frame_began = Some(heard);
        timer.as_mut().reset(ping_at.min(heard + limits.frame));
    }
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => return,
            () = queue.blocked() => {
                tokio::select! {
                    ready = socket.writable() => match ready {
                        Ok(()) => queue.resume(),
                        Err(_) => return queue.close(CloseReason::LOST),
                    },
                    _ = &mut closed => return,
                }
            }
            ready = socket.readable() => {
                if ready.is_err() {
                    return queue.close(CloseReason::LOST);
                }
                match socket.try_read_buf(reader.buffer(READ_CHUNK)) {
                    // The client went away without a close frame.
                    Ok(0) => return queue.close(CloseReason::LOST),
                    Ok(_) => {
                        heard = Instant::now();
                        if !handle_frames(reader, hub, conn) {
                            return;
                        }
                        match (reader.incomplete(), frame_began) {
                            (true, None) => {
                                frame_began = Some(heard);
                                let due = heard + limits.frame;
                                if due < timer.deadline() {
                                    timer.as_mut().reset(due);
                                }
                            }
                            (false, Some(_)) => frame_began = None,
                            _ => {}
                        }
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return queue.close(CloseReason::LOST),
                }
            }
            () = &mut timer => {
                let now = Instant::now();
                if now >= heard + limits.idle {
                    return queue.close(IDLE);
                }
                let frame_due = frame_began.map(|began| began + limits.frame);
                if frame_due.is_some_and(|due| now >= due) {
                    return queue.close(SLOW_FRAME);
                }
                if now >= ping_at {
                    queue.push(&Frame::ping());
                    ping_at = now + ping_every;
                }
                let next = ping_at.min(heard + limits.idle);
                timer.as_mut().reset(frame_due.map_or(next, |due| next.min(due)));
            }
        }
    }
}

/// Handles every whole frame the reader holds. Returns false when the connection is to
/// close.
fn handle_frames(reader: &mut Reader, hub: &Arc<Hub>, conn: &Conn) -> bool {
    loop {
        let incoming = match reader.next_message() {
            Ok(Some(incoming)) => incoming,
            Ok(None) => return true,
            Err(violation) => {
                tracing::debug!(conn = conn.id, reason = violation.reason, "bad frame");
                conn.queue.close(CloseReason {
                    code: violation.code,
                    reason: violation.reason,
                });
                return false;
            }
        };
        let refusal = match incoming {
            Incoming::Text(text) => handle_text(hub, conn, &text),
            Incoming::Binary => Err(refuse_frame(
                ErrorCode::Binary,
                "binary frames are not used",
                None,
            )),
            Incoming::Ping(payload) => {
                conn.queue.push(&Frame::pong(&payload));
                Ok(())
            }
            // Any frame proves the client alive.
            Incoming::Pong => Ok(()),
            Incoming::Close => {
                conn.queue.close(BYE);
                return false;
            }
        };
        if let Err(event) = refusal {
            conn.queue.push(&event.encode().into());
        }
    }
}

/// Sends the close frame (after a frame already partly written, if any), then waits a
/// moment for the client to close its side: dropping a socket with unread bytes resets
/// it, and a reset can destroy the close frame before the client reads it.
async fn close(socket: &TcpStream, queue: &SendQueue, frame: Frame, patience: Duration) {
    let _ = tokio::time::timeout(patience, queue.finish(frame)).await;
    let _ = socket2::SockRef::from(socket).shutdown(std::net::Shutdown::Write);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        let mut sink = [0; 512];
        loop {
            if socket.readable().await.is_err() {
                return;
            }
            match socket.try_read(&mut sink) {
                Ok(0) => return,
                Err(err) if err.kind() != std::io::ErrorKind::WouldBlock => return,
                _ => {}
            }
        }
    })
    .await;
}

fn handle_text(hub: &Arc<Hub>, conn: &Conn, text: &str) -> Result<(), Box<ServerEvent>> {
    let received = std::time::Instant::now();
    let frame = ClientFrame::decode(text)
        .map_err(|err| refuse_frame(err.code(), &err.to_string(), None))?;
    match frame {
        ClientFrame::Ping => {
            conn.queue.push(&ServerEvent::Pong.encode().into());
            Ok(())
        }
        ClientFrame::Read { room, n } => {
            hub.mark_read(conn, &room, n);
            Ok(())
        }
        ClientFrame::Visibility { visible } => {
            hub.set_visible(conn, visible);
            Ok(())
        }
        ClientFrame::Send {
            room,
            cid,
            text,
            file,
            reply,
        } => {
            let target = writable_room(hub, conn, &room, &cid)?;
            let fail = |code, message: &str| refuse_frame(code, message, Some(cid.clone()));
            // With a file, the text is its caption, and may be empty.
            let text = match (&file, normalize_text(&text)) {
                (_, Ok(text)) => text,
                (Some(_), Err(_)) if text.trim().is_empty() => "",
                (_, Err(why)) => return Err(fail(ErrorCode::BadMessage, &why)),
            };
            // Per user, not per socket: more tabs do not buy a faster flood.
            if !hub.may_send(&conn.user) {
                return Err(fail(ErrorCode::RateLimited, "slow down: too many messages"));
            }
            if file.is_none() && reply.is_none() {
                if let Some(command) = commands::parse(text) {
                    let command = command.map_err(|why| fail(ErrorCode::BadMessage, &why))?;
                    run_command(hub, conn, target, cid, command, received);
                    return Ok(());
                }
            }
            hub.check_write(&conn.user, &target, true)
                .map_err(|(code, why)| fail(code, &why))?;
            let request =
                message_request(hub, Sender::of(conn), &target, cid.clone(), text, received);
            match (file, reply) {
                (None, None) => target
                    .submit(request)
                    .map_err(|code| fail(code, "the room is busy; try again")),
                (file, reply) => {
                    send_looked_up(hub, target, request, file, reply);
                    Ok(())
                }
            }
        }
        ClientFrame::Change {
            room,
            cid,
            target,
            edit,
        } => {
            let target_room = writable_room(hub, conn, &room, &cid)?;
            let fail = |code, message: &str| refuse_frame(code, message, Some(cid.clone()));
            // Changes count against the same budget as messages.
            if !hub.may_send(&conn.user) {
                return Err(fail(ErrorCode::RateLimited, "slow down: too many changes"));
            }
            // Looked up only by the edits it decides (a delete, a pin): not per reaction.
            let moderates = || hub.rank(&conn.user, &target_room) >= Rank::Moderator;
            // Taking one's own words back, or reporting, is never refused (a muted person
            // may still report); anything else is writing.
            if !matches!(edit, Edit::Delete | Edit::Report) {
                hub.check_write(&conn.user, &target_room, false)
                    .map_err(|(code, why)| fail(code, &why))?;
            }
            // Whose message it is, the store checks as it applies the change.
            let (change, by) = match edit {
                Edit::Report => {
                    report_beside(hub, conn, target_room, target, cid);
                    return Ok(());
                }
                Edit::RemovePreview => (Change::RemovePreview, Asker::Author(conn.user.clone())),
                Edit::Delete if moderates() => {
                    log_removal(hub, conn, &target_room, target);
                    (Change::Deleted, Asker::Moderator(conn.user.clone()))
                }
                Edit::Delete => (Change::Deleted, Asker::Author(conn.user.clone())),
                Edit::Text(text) => {
                    let text =
                        normalize_text(&text).map_err(|why| fail(ErrorCode::BadMessage, &why))?;
                    let mentions: Vec<String> = mentioned_in(hub, &target_room, text)
                        .into_iter()
                        .map(|p| p.name)
                        .collect();
                    // Parsed here, as a sent message is.
                    use crate::protocol::rich::to_nodes;
                    let doc = crate::server::chat::markdown::parse(text, &mentions).map(to_nodes);
                    let change = Change::Edited {
                        text: text.to_owned(),
                        doc,
                    };
                    (change, Asker::Author(conn.user.clone()))
                }
                Edit::React(emoji) => {
                    if emojis::get(&emoji).is_none() {
                        return Err(fail(ErrorCode::BadMessage, "a reaction is one emoji"));
                    }
                    let change = Change::Reacted {
                        emoji,
                        names: Vec::new(),
                    };
                    (change, member(conn))
                }
                Edit::Pin(pinned) => {
                    // A private room is its owner's and moderators' to pin in; a
                    // conversation, and the rooms everyone shares, everyone's.
                    if target_room.record.owner.is_some() && !moderates() {
                        return Err(fail(
                            ErrorCode::NotAllowed,
                            "only the room's owner pins messages here",
                        ));
                    }
                    (Change::Pinned(pinned), member(conn))
                }
            };
            let request = ChangeRequest {
                update: NewUpdate {
                    cid: cid.clone(),
                    target,
                    change,
                    at_ms: now_ms(),
                    by,
                },
                reply: Some((conn.id, conn.queue.clone())),
            };
            target_room
                .submit_change(request)
                .map_err(|code| fail(code, "the room is busy; try again"))
        }
        // Never an error: a room that does not exist, or that this socket is not in,
        // looks the same as a typing frame passed on (or throttled), so nothing leaks.
        ClientFrame::Typing { room } => {
            if let Some(target) = typing_room(hub, conn, &room) {
                target.typing(conn.id, &conn.user, &conn.name, std::time::Instant::now());
            }
            Ok(())
        }
    }
}

/// The room a `send` or `change` names, checked with its client id `cid`: a valid id, a
/// room `conn`'s user may write in. Joining is not required: a browser's outbox flushed
/// after a reconnect holds messages for rooms the tab has since left. Being allowed in is.
fn writable_room(
    hub: &Hub,
    conn: &Conn,
    room: &str,
    cid: &str,
) -> Result<Arc<Room>, Box<ServerEvent>> {
    if !is_valid_client_id(cid) {
        return Err(refuse_frame(
            ErrorCode::Malformed,
            "client ids are 8–64 characters of A-Z a-z 0-9 _ -",
            None,
        ));
    }
    hub.room_for(&conn.user, room).map_err(|_| {
        refuse_frame(
            ErrorCode::NoSuchRoom,
            "there is no such room",
            Some(cid.to_owned()),
        )
    })
}

/// Sends `request` once what it refers to is checked: the upload `file`, uploaded by
/// this very user to this very room; the message `reply` answers, in the same room and
/// not deleted (its quote goes with the live message). That takes a look in the
/// database, so it happens beside the socket's loop; a refusal comes back to the sender
/// as an `error` for the message.
fn send_looked_up(
    hub: &Hub,
    target: Arc<Room>,
    mut request: SendRequest,
    file: Option<String>,
    reply: Option<Seq>,
) {
    let files = hub.files().cloned();
    let store = hub.store().clone();
    tokio::spawn(async move {
        let refuse = |code, message: &str| {
            let event = refuse_frame(code, message, Some(request.msg.cid.clone()));
            request.reply.push(&event.encode().into());
        };
        if let Some(seq) = reply {
            // The page before seq + 1 ends with the message seq, if it is one.
            let quoted = match store
                .page_before(target.record.id, seq.saturating_add(1), 1)
                .await
            {
                Ok(page) => page.messages.into_iter().find(|m| m.seq == seq),
                Err(_) => return refuse(ErrorCode::Unavailable, "try again"),
            };
            match quoted {
                Some(m) if m.state < ChatMessage::DELETED => {
                    let line = crate::server::chat::markdown::plain_text(&m.text);
                    request.msg.reply = Some(Box::new(Reply::of(seq, m.author, &line, m.state)));
                }
                _ => return refuse(ErrorCode::BadMessage, "the message replied to is not there"),
            }
        }
        if let Some(file) = file {
            let Some(files) = files else {
                return refuse(ErrorCode::BadMessage, "files are not taken here");
            };
            match files
                .attachment(&file, &request.user, target.record.id)
                .await
            {
                Ok(Some(attachment)) => request.msg.file = Some(Box::new(attachment)),
                Ok(None) => return refuse(ErrorCode::BadMessage, "no such file: upload it again"),
                Err(_) => {
                    return refuse(
                        ErrorCode::Unavailable,
                        "the file could not be checked; try again",
                    )
                }
            }
        }
        let reply = request.reply.clone();
        let cid = request.msg.cid.clone();
        if let Err(code) = target.submit(request) {
            let event = refuse_frame(code, "the room is busy; try again", Some(cid));
            reply.push(&event.encode().into());
        }
    });
}

/// What a message needs of the connection that sends it.
struct Sender {
    id: crate::server::chat::inbox::ConnId,
    user: String,
    name: String,
    queue: SendQueue,
}

impl Sender {
    fn of(conn: &Conn) -> Sender {
        Sender {
            id: conn.id,
            user: conn.user.clone(),
            name: conn.name.clone(),
            queue: conn.queue.clone(),
        }
    }
}

/// The message `text` of `sender` to `target`, its mentions found and its markdown parsed.
fn message_request(
    hub: &Hub,
    sender: Sender,
    target: &Room,
    cid: String,
    text: &str,
    received: std::time::Instant,
) -> SendRequest {
    let mentioned = mentioned_in(hub, target, text);
    let mentions: Vec<String> = mentioned.iter().map(|p| p.name.clone()).collect();
    // Parsed once, here: history gives the tree back as it was stored.
    use crate::protocol::rich::to_nodes;
    let doc = crate::server::chat::markdown::parse(text, &mentions).map(to_nodes);
    SendRequest {
        msg: NewMessage {
            cid,
            author: sender.name,
            author_id: sender.user.clone(),
            text: text.to_owned(),
            at_ms: now_ms(),
            mentions,
            doc,
            file: None,
            reply: None,
        },
        from: sender.id,
        user: sender.user,
        mentioned: mentioned.into_iter().map(|p| p.user).collect(),
        reply: sender.queue,
        received,
    }
}

/// Carries out a moderator's command beside the socket's loop (it is stored first); the
/// room gets its notice as a message of the moderator's under the command's own client
/// id, so their pending line turns into it. A refusal comes back as the message's error.
fn run_command(
    hub: &Arc<Hub>,
    conn: &Conn,
    target: Arc<Room>,
    cid: String,
    command: commands::Command,
    received: std::time::Instant,
) {
    let hub = hub.clone();
    let sender = Sender::of(conn);
    tokio::spawn(async move {
        let actor = Actor {
            user: sender.user.clone(),
            name: sender.name.clone(),
            operator: false,
        };
        let queue = sender.queue.clone();
        let refuse = |code, why: &str| {
            queue.push(&refuse_frame(code, why, Some(cid.clone())).encode().into());
        };
        match hub.command(&actor, &target, command).await {
            Ok(notice) => {
                let request =
                    message_request(&hub, sender, &target, cid.clone(), &notice, received);
                if let Err(code) = target.submit(request) {
                    refuse(code, "the room is busy; try again");
                }
            }
            Err(why) => refuse(ErrorCode::NotAllowed, &why),
        }
    });
}

/// Files a report of message `seq` beside the socket's loop (it takes a look in the
/// database); answered by an `ack`, or the refusal.
fn report_beside(hub: &Arc<Hub>, conn: &Conn, room: Arc<Room>, seq: Seq, cid: String) {
    let (hub, user, queue) = (hub.clone(), conn.user.clone(), conn.queue.clone());
    tokio::spawn(async move {
        let event = match hub.report(&user, room.slug(), seq).await {
            Ok(()) => ServerEvent::Ack {
                room: room.slug().to_owned(),
                cid,
                seq,
            },
            Err(err) => *refuse_frame(ErrorCode::BadMessage, &err.to_string(), Some(cid)),
        };
        queue.push(&event.encode().into());
    });
}

/// Keeps a moderator's delete in the audit log (and closes the message's reports),
/// beside the socket's loop.
fn log_removal(hub: &Arc<Hub>, conn: &Conn, room: &Room, seq: Seq) {
    let hub = hub.clone();
    let change = ModerationChange::Removed {
        room: room.record.id,
        seq,
    };
    let audit = AuditEntry {
        at_ms: now_ms(),
        actor: conn.name.clone(),
        action: "remove message".into(),
        target: String::new(),
        room: room.slug().to_owned(),
        detail: format!("#{seq}"),
    };
    tokio::spawn(async move {
        if let Err(err) = hub.moderate(change, audit).await {
            tracing::warn!(%err, "a removal was not logged");
        }
    });
}

/// A person acting on anyone's message: the asker of a reaction or a pin.
fn member(conn: &Conn) -> Asker {
    Asker::Member {
        user: conn.user.clone(),
        name: conn.name.clone(),
    }
}

/// The room a `typing` frame names, if `conn`'s user may be in it (as for a `send`); the
/// room itself then ignores the frame unless `conn` is subscribed to it. The one place
/// typing finds a room.
fn typing_room(hub: &Hub, conn: &Conn, slug: &str) -> Option<Arc<Room>> {
    hub.room_for(&conn.user, slug).ok()
}

/// The people `text` mentions who may read `room`: its members by the names they joined
/// under, then whoever is online or registered under the name.
fn mentioned_in(hub: &Hub, room: &Room, text: &str) -> Vec<Person> {
    if !text.contains('@') {
        return Vec::new();
    }
    let members = room.members();
    find_mentions(text, |key| {
        let member = members
            .iter()
            .find(|(_, name)| name_key(name) == key)
            .map(|(user, name)| Person {
                user: user.clone(),
                name: name.clone(),
            });
        member
            .or_else(|| hub.find_person(key))
            .filter(|person| room.admits(&person.user))
    })
}

/// An `error` event for a frame that changes nothing.
/// Boxed: refusals are rare, and `ServerEvent` is large.
fn refuse_frame(code: ErrorCode, message: &str, cid: Option<String>) -> Box<ServerEvent> {
    Box::new(ServerEvent::Error {
        code,
        message: message.to_owned(),
        cid,
    })
}
