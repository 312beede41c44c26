//! What the integration tests share: a client that speaks the protocol over a real
//! WebSocket, server functions called the way the browser calls them (cookies included),
//! and the `natter` binary run as a child process ([`binary`]). Each test file uses a
//! part of it.
//!
//! A socket is authorised by a session cookie, which a browser gets by signing in (here:
//! as a guest, with `enter_as_guest`). Tests name their "browsers" by a user label: the
//! first [`connect`] under a label signs in; later ones reuse its cookie, as a second tab
//! of that browser would, or rename it when the name differs.
#![allow(dead_code)]

pub mod binary;
pub mod cluster;
pub mod in_process;
pub mod raw;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use leptos::server_fn::ServerFn;
use natter::api::accounts::EnterAsGuest;
use natter::api::rooms::JoinRoom;
use natter::protocol::{ClientFrame, JoinedRoom, ServerEvent};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server under test: in-process or the binary.
pub trait Target {
    fn addr(&self) -> SocketAddr;
}

impl Target for SocketAddr {
    fn addr(&self) -> SocketAddr {
        *self
    }
}

/// A test's browser: the server and the label the test gave it.
type BrowserKey = (SocketAddr, String);

/// Session cookies by browser, with the name each was made for.
static BROWSERS: Mutex<Option<HashMap<BrowserKey, (String, String)>>> = Mutex::new(None);

/// Signs in as a guest named `name` (renaming the guest `cookie` is, if given); returns
/// the new session cookie (`natter_session=…`), or the server's refusal.
pub async fn guest_cookie(
    server: &impl Target,
    cookie: Option<&str>,
    name: &str,
) -> Result<String, (u16, String)> {
    let (status, body, set_cookie) =
        call_with_cookie(server, cookie, EnterAsGuest { name: name.into() }).await;
    match (status, set_cookie) {
        (200, Some(cookie)) => Ok(cookie),
        _ => Err((status, body)),
    }
}

/// The cookie of the browser labelled `user`, signed in as `name`.
pub async fn browser_cookie(server: &impl Target, user: &str, name: &str) -> String {
    let key = (server.addr(), user.to_owned());
    let known = BROWSERS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .get(&key)
        .cloned();
    let cookie = match known {
        Some((cookie, had)) if had == name => return cookie,
        Some((cookie, _)) => guest_cookie(server, Some(&cookie), name).await,
        None => guest_cookie(server, None, name).await,
    };
    let cookie = cookie.unwrap_or_else(|refusal| panic!("signing in as {name:?}: {refusal:?}"));
    BROWSERS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(key, (cookie.clone(), name.to_owned()));
    cookie
}

/// Opens `/ws` with `cookie`, as a page of this server would (same `Origin`).
pub async fn open_socket(server: &impl Target, cookie: Option<&str>) -> Socket {
    let mut request = format!("ws://{}/ws", server.addr())
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "origin",
        format!("http://{}", server.addr()).parse().unwrap(),
    );
    if let Some(cookie) = cookie {
        headers.insert("cookie", cookie.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Connects as the browser labelled `user`, signed in as `name`; returns the socket and
/// the first event the server sent (`welcome`, or why not).
pub async fn connect(server: &impl Target, user: &str, name: &str) -> (Socket, ServerEvent) {
    let cookie = browser_cookie(server, user, name).await;
    let mut ws = open_socket(server, Some(&cookie)).await;
    let first = next_event(&mut ws).await;
    (ws, first)
}

pub async fn welcome(server: &impl Target, user: &str, name: &str) -> (Socket, String) {
    match connect(server, user, name).await {
        (ws, ServerEvent::Welcome { conn, .. }) => (ws, conn),
        (_, other) => panic!("expected welcome, got {other:?}"),
    }
}

/// The next event, skipping online counts (they come on a timer).
pub async fn next_event(ws: &mut Socket) -> ServerEvent {
    loop {
        match next_event_or_counts(ws).await {
            ServerEvent::Counts { .. } => continue,
            event => return event,
        }
    }
}

/// The next event of any kind.
pub async fn next_event_or_counts(ws: &mut Socket) -> ServerEvent {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event within 5 s")
            .expect("socket open")
            .expect("readable frame");
        match frame {
            Message::Text(text) => return ServerEvent::decode(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Nothing but counts arrives for a little while.
pub async fn assert_quiet(ws: &mut Socket) {
    assert_quiet_for(ws, Duration::from_millis(300)).await
}

pub async fn assert_quiet_for(ws: &mut Socket, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + quiet;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(text) = &frame {
            if let Ok(ServerEvent::Counts { .. }) = ServerEvent::decode(text.as_str()) {
                continue;
            }
        }
        panic!("expected silence, got {frame:?}");
    }
}

/// Calls a server function the way the page does, without a session: a POST of its
/// generated argument type, as JSON, to its path. Built from the functions themselves, so
/// a renamed argument or endpoint fails to compile here too.
pub async fn call<F: ServerFn + Serialize>(server: &impl Target, args: F) -> (u16, String) {
    let (status, body, _) = call_with_cookie(server, None, args).await;
    (status, body)
}

/// Calls a server function with the session `cookie`; returns the status, the body and
/// the session cookie the response sets, if any.
pub async fn call_with_cookie<F: ServerFn + Serialize>(
    server: &impl Target,
    cookie: Option<&str>,
    args: F,
) -> (u16, String, Option<String>) {
    try_call(server.addr(), cookie, args)
        .await
        .expect("the server answers")
}

/// [`call_with_cookie`], failing (rather than panicking) when the server is gone.
pub async fn try_call<F: ServerFn + Serialize>(
    addr: SocketAddr,
    cookie: Option<&str>,
    args: F,
) -> std::io::Result<(u16, String, Option<String>)> {
    let body = serde_json::to_string(&args)?;
    post_with_cookie(addr, cookie, F::PATH, &body).await
}

/// POSTs `body` (JSON) to `path` as the page would, with the session `cookie`.
pub async fn post_with_cookie(
    addr: SocketAddr,
    cookie: Option<&str>,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, Option<String>)> {
    let cookie_line = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let mut tcp = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Accept: application/json\r\n{cookie_line}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await?;
    let broken = || std::io::Error::other(format!("not an HTTP response: {response:?}"));
    let status = response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .ok_or_else(broken)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(broken)?;
    let set_cookie = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.trim().split(';').next())
        .find(|pair| pair.starts_with("natter_session=") && pair.len() > "natter_session=".len())
        .map(str::to_owned);
    Ok((status, body.to_owned(), set_cookie))
}

/// Joins `room`; `after` resumes from that seq.
pub async fn join_after(
    server: &impl Target,
    conn: &str,
    room: &str,
    after: Option<u64>,
) -> JoinedRoom {
    let args = JoinRoom {
        conn: conn.into(),
        room: room.into(),
        leave: None,
        after,
    };
    let (status, body) = call(server, args).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub async fn join(server: &impl Target, conn: &str, room: &str) -> JoinedRoom {
    join_after(server, conn, room, None).await
}

/// Connects, joins `room` and reads the announcement of one's own arrival.
pub async fn arrive(server: &impl Target, user: &str, name: &str, room: &str) -> (Socket, String) {
    let (mut ws, conn) = welcome(server, user, name).await;
    join(server, &conn, room).await;
    match next_event(&mut ws).await {
        ServerEvent::Joined { name: who, .. } => assert_eq!(who, name),
        other => panic!("expected our own arrival, got {other:?}"),
    }
    (ws, conn)
}

pub async fn send(ws: &mut Socket, room: &str, cid: &str, text: &str) {
    let frame = ClientFrame::Send {
        room: room.into(),
        cid: cid.into(),
        text: text.into(),
        file: None,
        reply: None,
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}
