//! What the integration tests share: a client that speaks the protocol over a real
//! WebSocket, server functions called the way the browser calls them, and the `natter`
//! binary run as a child process ([`binary`]). Each test file uses a part of it.
#![allow(dead_code)]

pub mod binary;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter::protocol::{ClientFrame, JoinedRoom, ServerEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
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

/// Connects and says hello; returns the socket and the first event the server sent.
pub async fn connect(server: &impl Target, user: &str, name: &str) -> (Socket, ServerEvent) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr()))
        .await
        .unwrap();
    let hello = ClientFrame::Hello {
        user: user.into(),
        name: name.into(),
    };
    ws.send(Message::text(hello.encode())).await.unwrap();
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
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event within 5 s")
            .expect("socket open")
            .expect("readable frame");
        match frame {
            Message::Text(text) => match ServerEvent::decode(text.as_str()).unwrap() {
                ServerEvent::Counts { .. } => continue,
                event => return event,
            },
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

/// POSTs a server function the way the browser does (URL-encoded arguments).
pub async fn call(server: &impl Target, function: &str, args: &[(&str, &str)]) -> (u16, String) {
    let addr = server.addr();
    let body: String = args
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/{function} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Joins `room`; `after` resumes from that seq.
pub async fn join_after(
    server: &impl Target,
    conn: &str,
    room: &str,
    after: Option<u64>,
) -> JoinedRoom {
    let after = after.map(|a| a.to_string());
    let mut args = vec![("conn", conn), ("room", room)];
    if let Some(after) = &after {
        args.push(("after", after));
    }
    let (status, body) = call(server, "join_room", &args).await;
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
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}
