//! The real router on a loopback port, driven by real WebSocket and HTTP clients: the
//! protocol as a browser speaks it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use leptos::server_fn::ServerFn;
use natter::api::accounts::{CheckName, EnterAsGuest, LogOut};
use natter::api::rooms::{JoinRoom, LeaveRoom, ListRooms};
use natter::protocol::{ErrorCode, JoinedRoom, ServerEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

mod support;

use support::in_process::{start, Server};
use support::{
    arrive, assert_quiet, assert_quiet_for, browser_cookie, call, call_with_cookie, guest_cookie,
    join, next_event, open_socket, send, welcome, Socket,
};

#[tokio::test]
async fn two_users_chat_live_and_history_matches() {
    let server = start().await;
    let (mut ana, ana_conn) = welcome(&server, "user-ana-0001", "ana").await;
    let joined = join(&server, &ana_conn, "general").await;
    assert_eq!(joined.online, ["ana"]);
    assert!(joined.messages.is_empty());
    assert!(
        matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "ana")
    );

    let (mut bo, bo_conn) = welcome(&server, "user-bo-00001", "Bo").await;
    let joined = join(&server, &bo_conn, "general").await;
    assert_eq!(joined.online, ["ana", "Bo"]);
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "Bo"));
    assert!(matches!(
        next_event(&mut bo).await,
        ServerEvent::Joined { .. }
    ));

    send(&mut bo, "general", "msg-0000001", "  hello <b>ana</b>  ").await;
    for ws in [&mut ana, &mut bo] {
        match next_event(ws).await {
            ServerEvent::Message { room, msg } => {
                assert_eq!(room, "general");
                assert_eq!((msg.seq, msg.author.as_str()), (1, "Bo"));
                assert_eq!(msg.text, "hello <b>ana</b>", "trimmed, stored as given");
                assert_eq!(msg.cid, "msg-0000001");
            }
            other => panic!("expected the message, got {other:?}"),
        }
    }

    // A retry of the same send: the sender gets an ack naming the stored copy, nobody
    // sees the message again, and it is stored once.
    send(&mut bo, "general", "msg-0000001", "hello <b>ana</b>").await;
    assert_eq!(
        next_event(&mut bo).await,
        ServerEvent::Ack {
            room: "general".into(),
            cid: "msg-0000001".into(),
            seq: 1
        }
    );
    assert_quiet(&mut ana).await;
    send(&mut ana, "general", "msg-0000002", "hi Bo").await;
    assert!(matches!(next_event(&mut bo).await, ServerEvent::Message { msg, .. } if msg.seq == 2));

    let (_carl, carl_conn) = welcome(&server, "user-carl-001", "carl").await;
    let history = join(&server, &carl_conn, "general").await;
    let seqs: Vec<u64> = history.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert!(!history.has_more);

    // Resuming after seq 1 returns only what came after it.
    let (status, body) = call(
        &server,
        JoinRoom {
            conn: carl_conn.clone(),
            room: "general".into(),
            leave: None,
            after: Some(1),
        },
    )
    .await;
    assert_eq!(status, 200);
    let resumed: JoinedRoom = serde_json::from_str(&body).unwrap();
    assert_eq!(
        resumed.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [2]
    );
}

#[tokio::test]
async fn switching_and_closing_move_people_between_rooms() {
    let server = start().await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;

    // Two tabs of one user count once.
    let (bo1, bo1_conn) = welcome(&server, "user-bo-00001", "bo").await;
    let (mut bo2, bo2_conn) = welcome(&server, "user-bo-00001", "bo").await;
    join(&server, &bo1_conn, "general").await;
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "bo"));
    let joined = join(&server, &bo2_conn, "general").await;
    assert_eq!(joined.online, ["ana", "bo"]);
    assert_quiet(&mut ana).await;

    // One tab moves to tech: bo is still in general through the other.
    let (status, _) = call(
        &server,
        JoinRoom {
            conn: bo1_conn.clone(),
            room: "tech".into(),
            leave: Some("general".into()),
            after: None,
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_quiet(&mut ana).await;

    // The other tab closes: now bo has left general.
    bo2.close(None).await.unwrap();
    drop(bo2);
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Left { name, .. } if name == "bo"));
    let (status, body) = call(&server, ListRooms {}).await;
    assert_eq!(status, 200);
    let rooms: Vec<natter::protocol::RoomInfo> = serde_json::from_str(&body).unwrap();
    let online = |slug: &str| rooms.iter().find(|r| r.slug == slug).unwrap().online;
    assert_eq!((online("general"), online("tech")), (1, 1));
    drop(bo1);
}

#[tokio::test]
async fn a_quick_reconnect_is_not_announced_but_a_lost_connection_is() {
    let server = start().await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (bo, bo_conn) = welcome(&server, "user-bo-00001", "bo").await;
    join(&server, &bo_conn, "general").await;
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "bo"));

    // A reload: the socket drops and a new one joins at once.
    drop(bo);
    let (bo, bo_conn) = welcome(&server, "user-bo-00001", "bo").await;
    let joined = join(&server, &bo_conn, "general").await;
    assert_eq!(joined.online, ["ana", "bo"]);
    assert_quiet_for(
        &mut ana,
        natter::server::chat::hub::LEAVE_GRACE + Duration::from_millis(500),
    )
    .await;

    // The connection is lost for good: bo leaves once the grace period is over.
    drop(bo);
    let started = tokio::time::Instant::now();
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Left { name, .. } if name == "bo"));
    assert!(
        started.elapsed() >= natter::server::chat::hub::LEAVE_GRACE - Duration::from_millis(100)
    );
}

#[tokio::test]
async fn online_names_are_unique_ignoring_case_and_look_alike_letters() {
    let server = start().await;
    let (_ana, _) = welcome(&server, "user-ana-0001", "Ana").await;
    // The same name in other case, with a Cyrillic А, in full-width letters.
    for alike in ["ana", "\u{410}na", "\u{FF21}\u{FF2E}\u{FF21}"] {
        let (status, body) = guest_cookie(&server, None, alike).await.unwrap_err();
        assert_eq!(status, 409, "{alike}: {body}");
        assert!(body.contains("NameTaken"), "{alike}: {body}");
    }
    // The same person in a second tab keeps the name.
    let (_tab2, _) = welcome(&server, "user-ana-0001", "Ana").await;
    let (status, body) = call(
        &server,
        CheckName {
            name: " ANA ".into(),
        },
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("NameTaken"), "{body}");
    let (status, body) = call(
        &server,
        CheckName {
            name: " Zoë ".into(),
        },
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "\"Zoë\""));
    for bad in ["", "<script>", &"x".repeat(33)] {
        let (_, body) = guest_cookie(&server, None, bad).await.unwrap_err();
        assert!(body.contains("BadName"), "{bad:?}: {body}");
    }
    // Two guests may pick one name while neither is online; the second to connect is
    // told it is taken.
    let zoe = guest_cookie(&server, None, "zoe").await.unwrap();
    let other_zoe = guest_cookie(&server, None, "Zoe").await.unwrap();
    let (_zoe_ws, _) = welcome_with(&server, &zoe).await;
    let mut late = open_socket(&server, Some(&other_zoe)).await;
    expect_error(&mut late, ErrorCode::NameTaken).await;
}

async fn welcome_with(server: &Server, cookie: &str) -> (Socket, String) {
    let mut ws = open_socket(server, Some(cookie)).await;
    match next_event(&mut ws).await {
        ServerEvent::Welcome { conn, .. } => (ws, conn),
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn sockets_need_a_session_from_this_site() {
    let server = start().await;
    // No cookie: told to sign in, then closed.
    let mut ws = open_socket(&server, None).await;
    expect_error(&mut ws, ErrorCode::SignedOut).await;
    // A forged cookie is no better.
    let forged = format!("natter_session={}", "ab".repeat(32));
    let mut ws = open_socket(&server, Some(&forged)).await;
    expect_error(&mut ws, ErrorCode::SignedOut).await;

    // Another site's page cannot open a socket with the user's cookie (cross-site
    // WebSocket hijacking), nor call a server function that changes anything.
    let cookie = browser_cookie(&server, "user-ana-0001", "ana").await;
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        matches!(&refused, Err(tungstenite::Error::Http(r)) if r.status() == 403),
        "{refused:?}"
    );
    let (status, _) = raw_post(
        &server,
        EnterAsGuest::PATH,
        r#"{"name":"mallory"}"#,
        Some("http://evil.example"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = raw_post(
        &server,
        EnterAsGuest::PATH,
        r#"{"name":"mallory"}"#,
        Some("null"),
    )
    .await;
    assert_eq!(status, 403);

    // Logging out ends the session: its sockets close, and it cannot reconnect.
    let (mut ws, _) = welcome_with(&server, &cookie).await;
    let (status, _, _) =
        call_with_cookie(&server, Some(&cookie), LogOut { everywhere: false }).await;
    assert_eq!(status, 200);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Close(Some(close)) = frame {
                return u16::from(close.code);
            }
        }
        0
    })
    .await
    .unwrap();
    assert_eq!(closed, 4001);
    let mut again = open_socket(&server, Some(&cookie)).await;
    expect_error(&mut again, ErrorCode::SignedOut).await;
}

/// A POST with a chosen `Origin` (or none) and no cookie.
async fn raw_post(server: &Server, path: &str, body: &str, origin: Option<&str>) -> (u16, String) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {}\r\n{origin}Accept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    (
        status,
        response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

async fn expect_error(ws: &mut Socket, code: ErrorCode) {
    match next_event(ws).await {
        ServerEvent::Error { code: got, .. } => assert_eq!(got, code),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_frames_get_clear_errors_and_store_nothing() {
    let server = start().await;
    let (mut ws, conn) = arrive(&server, "user-ana-0001", "ana", "general").await;

    ws.send(Message::text("not json")).await.unwrap();
    expect_error(&mut ws, ErrorCode::Malformed).await;
    ws.send(Message::text(r#"{"t":"dance"}"#)).await.unwrap();
    expect_error(&mut ws, ErrorCode::UnknownType).await;
    ws.send(Message::binary(vec![0xff, 0x00, 0x13]))
        .await
        .unwrap();
    expect_error(&mut ws, ErrorCode::Binary).await;
    // The old first frame means nothing now: identity comes from the session.
    ws.send(Message::text(
        r#"{"t":"hello","user":"user-ana-0001","name":"x"}"#,
    ))
    .await
    .unwrap();
    expect_error(&mut ws, ErrorCode::UnknownType).await;
    send(&mut ws, "nowhere", "msg-0000001", "hi").await;
    expect_error(&mut ws, ErrorCode::NoSuchRoom).await;
    // A room this socket has not joined takes the message (an outbox flushed after a
    // reconnect) and confirms it with an ack, since no `message` event reaches us.
    send(&mut ws, "tech", "msg-0000002", "hi").await;
    assert_eq!(
        next_event(&mut ws).await,
        ServerEvent::Ack {
            room: "tech".into(),
            cid: "msg-0000002".into(),
            seq: 1
        }
    );
    send(&mut ws, "general", "msg-0000003", "  \n ").await;
    expect_error(&mut ws, ErrorCode::BadMessage).await;
    send(&mut ws, "general", "msg-0000004", &"a".repeat(4_001)).await;
    expect_error(&mut ws, ErrorCode::BadMessage).await;
    send(&mut ws, "general", "bad id!", "hi").await;
    expect_error(&mut ws, ErrorCode::Malformed).await;

    // Still connected, and the first real message is seq 1: nothing above was stored.
    send(&mut ws, "general", "msg-0000005", &"é".repeat(4_000)).await;
    assert!(matches!(next_event(&mut ws).await, ServerEvent::Message { msg, .. } if msg.seq == 1));

    // Joining an unknown room, or with a made-up connection, is refused.
    let (status, body) = call(
        &server,
        JoinRoom {
            conn: conn.clone(),
            room: "nowhere".into(),
            leave: None,
            after: None,
        },
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("NoSuchRoom"), "{body}");
    let (status, body) = call(
        &server,
        JoinRoom {
            conn: "made-up".into(),
            room: "general".into(),
            leave: None,
            after: None,
        },
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("NotConnected"), "{body}");
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let server = start().await;
    let (mut ws, _) = welcome(&server, "user-ana-0001", "ana").await;
    ws.send(Message::text(
        "x".repeat(natter::protocol::MAX_FRAME_BYTES + 1),
    ))
    .await
    .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1009);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    // The server is fine.
    let (_ws, _) = welcome(&server, "user-bo-00001", "bo").await;
}

#[tokio::test]
async fn pages_and_health() {
    let server = start().await;
    let get = |path: &'static str| async move {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        response
    };
    assert!(get("/healthz").await.starts_with("HTTP/1.0 200"));
    let room = get("/r/tech").await;
    assert!(room.starts_with("HTTP/1.0 200"), "{room}");
    assert!(
        room.contains("Code, gadgets"),
        "the topic is rendered on the server"
    );
    let missing = get("/r/no-such-room").await;
    assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
    assert!(missing.contains("No such room"));
}

#[tokio::test]
async fn a_flood_from_one_user_is_throttled_while_others_chat() {
    let server = start().await;
    // Two tabs of one browser: the limit is per user, so a second tab buys nothing.
    let (mut tab1, _) = arrive(&server, "user-flood-01", "flood", "general").await;
    let (mut tab2, conn2) = welcome(&server, "user-flood-01", "flood").await;
    join(&server, &conn2, "general").await;
    let (mut calm, _) = arrive(&server, "user-calm-001", "calm", "general").await;

    for n in 0..60 {
        let ws = if n % 2 == 0 { &mut tab1 } else { &mut tab2 };
        send(ws, "general", &format!("flood-{n:04}"), "spam").await;
    }
    send(&mut calm, "general", "calm-00001", "still here").await;

    // The calm user's message gets through and is seen by everyone.
    let mut stored = 0;
    let mut refused = 0;
    let mut calm_seen = false;
    // Everything the room stored, until it has been quiet for a moment.
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_millis(500), calm.next()).await
    {
        match ServerEvent::decode(text.as_str()) {
            Ok(ServerEvent::Message { msg, .. }) if msg.author == "calm" => calm_seen = true,
            Ok(ServerEvent::Message { .. }) => stored += 1,
            _ => {}
        }
    }
    assert!(calm_seen, "the calm user's message arrived");
    for ws in [&mut tab1, &mut tab2] {
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(300), ws.next()).await
        {
            if let Ok(ServerEvent::Error {
                code: ErrorCode::RateLimited,
                ..
            }) = ServerEvent::decode(text.as_str())
            {
                refused += 1;
            }
        }
    }
    assert!(
        (20..=25).contains(&stored),
        "{stored} flood messages stored"
    );
    assert!(refused >= 35, "{refused} refused with rate_limited");
}

/// The next `counts` event, skipping everything else.
async fn next_counts(ws: &mut Socket) -> Vec<natter::protocol::RoomCount> {
    loop {
        if let ServerEvent::Counts { rooms } = support::next_event_or_counts(ws).await {
            return rooms;
        }
    }
}

#[tokio::test]
async fn counts_tell_every_socket_each_rooms_newest_seq_for_unread_counts() {
    let server = start().await;
    let (mut ana, ana_conn) = arrive(&server, "user-ana-0001", "ana", "general").await;
    for i in 0..3 {
        send(&mut ana, "general", &format!("cid-count-{i:04}"), "hello").await;
    }
    for _ in 0..3 {
        next_event(&mut ana).await;
    }
    drop(ana_conn);

    // A socket in no room at all: right after `welcome`, where every room stands.
    let cookie = browser_cookie(&server, "user-bo-00001", "bo").await;
    let mut bo = open_socket(&server, Some(&cookie)).await;
    let first = bo.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"welcome\""));
    let all = next_counts(&mut bo).await;
    assert_eq!(all.len(), 5, "every room: {all:?}");
    let general = all.iter().find(|c| c.slug == "general").unwrap();
    assert_eq!((general.latest, general.online), (3, 1));
    assert!(all
        .iter()
        .filter(|c| c.slug != "general")
        .all(|c| c.latest == 0));

    // Then only what changed: a new message in #general.
    send(&mut ana, "general", "cid-count-0003", "one more").await;
    loop {
        let changed = next_counts(&mut bo).await;
        assert!(
            changed.len() == 1 && changed[0].slug == "general",
            "only the room that changed: {changed:?}"
        );
        if changed[0].latest == 4 {
            break;
        }
    }

    // The room list has it too, for the page's first render.
    let (status, body) = call(&server, ListRooms {}).await;
    assert_eq!(status, 200);
    let rooms: Vec<natter::protocol::RoomInfo> = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rooms.iter().find(|r| r.slug == "general").unwrap().latest,
        4
    );
}

/// A socket in a room follows it live, so counts skip that room (in a room of thousands
/// they were a second write to every member after each message); leaving, it is told
/// where the room stands.
#[tokio::test]
async fn counts_skip_the_room_a_socket_is_in_until_it_leaves() {
    let server = start().await;
    let (mut ana, ana_conn) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _bo_conn) = arrive(&server, "user-bo-00001", "bo", "tech").await;
    send(&mut ana, "general", "cid-skip-0001", "hello").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Message { .. }
    ));
    // Bo, elsewhere, is told of it.
    let news = |rooms: &[natter::protocol::RoomCount]| {
        rooms.iter().any(|c| c.slug == "general" && c.latest == 1)
    };
    while !news(&next_counts(&mut bo).await) {}
    // Ana, in the room, is not, over several rounds of counts (one every 500 ms).
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1_500);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ana.next()).await {
        if let Message::Text(text) = &frame {
            if let Ok(ServerEvent::Counts { rooms }) = ServerEvent::decode(text.as_str()) {
                assert!(!news(&rooms), "counts of the room ana is in: {rooms:?}");
            }
        }
    }
    // Leaving, she is told at once: one message, nobody left in it.
    let (status, body) = call(
        &server,
        LeaveRoom {
            conn: ana_conn,
            room: "general".into(),
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rooms = next_counts(&mut ana).await;
    let general = rooms.iter().find(|c| c.slug == "general").expect("general");
    assert_eq!((general.latest, general.online), (1, 0), "{rooms:?}");
}

#[tokio::test]
async fn the_service_worker_is_served_fresh_with_this_builds_version() {
    let server = start().await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /sw.js HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    let lower = response.to_lowercase();
    assert!(lower.contains("content-type: text/javascript"));
    assert!(
        lower.contains("cache-control: no-cache"),
        "checked on every visit"
    );
    assert!(response.contains("const VERSION = \""));
    assert!(response.contains("\"/manifest.webmanifest\""));
    assert!(response.contains("addEventListener('fetch'"));
}

/// Opens `/ws` with `cookie`, saying (in `X-Forwarded-For`) it comes from `forwarded`.
async fn socket_forwarded_for(server: &Server, cookie: &str, forwarded: &str) -> Socket {
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", format!("http://{}", server.addr).parse().unwrap());
    headers.insert("cookie", cookie.parse().unwrap());
    headers.insert("x-forwarded-for", forwarded.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    use support::in_process::start_with;
    // One socket per address. The tests' connections come from 127.0.0.1.
    let limits = ["--conns-per-addr", "1"];
    let behind = start_with(&[limits[0], limits[1], "--trusted-proxy", "127.0.0.0/8"]).await;
    let cookies = [
        browser_cookie(&behind, "user-ana-0001", "ana").await,
        browser_cookie(&behind, "user-bo-00001", "bo").await,
        browser_cookie(&behind, "user-cy-00001", "cy").await,
    ];
    // Through the trusted proxy: two clients are two addresses...
    let mut ana = socket_forwarded_for(&behind, &cookies[0], "203.0.113.7").await;
    let mut bo = socket_forwarded_for(&behind, &cookies[1], "198.51.100.9").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Welcome { .. }
    ));
    assert!(matches!(
        next_event(&mut bo).await,
        ServerEvent::Welcome { .. }
    ));
    // ...and one address is one, whoever claims otherwise further left.
    let mut cy = socket_forwarded_for(&behind, &cookies[2], "10.9.9.9, 203.0.113.7").await;
    expect_error(&mut cy, ErrorCode::TooManyConnections).await;

    // No trusted proxy: the header is anyone's to forge, and ignored.
    let direct = start_with(&limits).await;
    let ana_cookie = browser_cookie(&direct, "user-ana-0001", "ana").await;
    let bo_cookie = browser_cookie(&direct, "user-bo-00001", "bo").await;
    let mut ana = socket_forwarded_for(&direct, &ana_cookie, "203.0.113.7").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Welcome { .. }
    ));
    let mut bo = socket_forwarded_for(&direct, &bo_cookie, "198.51.100.9").await;
    expect_error(&mut bo, ErrorCode::TooManyConnections).await;
}

/// Waits for `ws` to be closed; returns the close code (0 if it ended without one).
async fn close_code(ws: &mut Socket) -> u16 {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Close(Some(close)) = frame {
                return u16::from(close.code);
            }
        }
        0
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_of_the_account() {
    use natter::api::accounts::{LogIn, Register};
    let server = start().await;
    let guest = guest_cookie(&server, None, "ana").await.unwrap();
    let (status, body, phone) = call_with_cookie(
        &server,
        Some(&guest),
        Register {
            name: "ana".into(),
            password: "plum tractor violin".into(),
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let phone = phone.expect("a session");
    let log_in = LogIn {
        name: "ana".into(),
        password: "plum tractor violin".into(),
    };
    let (status, body, laptop) = call_with_cookie(&server, None, log_in).await;
    assert_eq!(status, 200, "{body}");
    let laptop = laptop.expect("a second session");
    // Someone else, whose session must not end.
    let bo = guest_cookie(&server, None, "bo").await.unwrap();
    let (mut phone_ws, _) = welcome_with(&server, &phone).await;
    let (mut laptop_ws, _) = welcome_with(&server, &laptop).await;
    let (mut bo_ws, _) = welcome_with(&server, &bo).await;

    let (status, _, _) =
        call_with_cookie(&server, Some(&laptop), LogOut { everywhere: true }).await;
    assert_eq!(status, 200);
    assert_eq!(close_code(&mut laptop_ws).await, 4001);
    assert_eq!(
        close_code(&mut phone_ws).await,
        4001,
        "the other device too"
    );
    for cookie in [&phone, &laptop] {
        let mut again = open_socket(&server, Some(cookie)).await;
        expect_error(&mut again, ErrorCode::SignedOut).await;
    }
    // Bo is untouched.
    send(&mut bo_ws, "general", "still-here-1", "hi").await;
    assert!(matches!(
        next_event(&mut bo_ws).await,
        ServerEvent::Ack { .. } | ServerEvent::Message { .. }
    ));
}
