//! Link cards against the live server: a message's first link gets its card a moment
//! later, as a change of the message with a seq of its own, which history, a resume and
//! every reader get once; its picture is re-encoded and served by Natter; cards are kept
//! and reused; only the author may take a card away; private addresses get none.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use futures_util::SinkExt;
use natter::api::rooms::ListRooms;
use natter::protocol::{Change, ClientFrame, Edit, ErrorCode, RoomInfo, ServerEvent, Update};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::in_process::start_with;
use support::{
    arrive, assert_quiet, assert_quiet_for, browser_cookie, call_with_cookie, join, join_after,
    next_event, send, Socket,
};

/// A site on loopback: a page with a card and a picture, and pages that give none.
async fn site(hits: Arc<AtomicUsize>) -> SocketAddr {
    let png = {
        let picture = image::RgbImage::from_fn(1200, 630, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let app = Router::new()
        .route(
            "/page",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async {
                    (
                        [(header::CONTENT_TYPE, "text/html")],
                        r#"<html><head><title>Plain</title>
                        <meta property="og:site_name" content="Stand-in">
                        <meta property="og:title" content="A page worth a card">
                        <meta property="og:description" content="What it is about <b>really</b>">
                        <meta property="og:image" content="/picture.png">
                        </head><body>hi</body></html>"#,
                    )
                }
            }),
        )
        .route(
            "/picture.png",
            get(move || {
                let png = png.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], png) }
            }),
        )
        .route(
            "/to-private",
            get(|| async { Redirect::to("http://10.1.2.3/secret").into_response() }),
        )
        .route(
            "/json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A plain GET of `path`: the head (status line and headers) and the body.
async fn get_raw(server: SocketAddr, path: &str) -> (String, Vec<u8>) {
    let mut tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    (
        String::from_utf8_lossy(&answer[..split]).to_lowercase(),
        answer[split + 4..].to_vec(),
    )
}

async fn message_seq(ws: &mut Socket) -> u64 {
    match next_event(ws).await {
        ServerEvent::Message { msg, .. } => msg.seq,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn next_update(ws: &mut Socket) -> Update {
    match next_event(ws).await {
        ServerEvent::Update { update, .. } => update,
        other => panic!("expected an update, got {other:?}"),
    }
}

async fn change(ws: &mut Socket, cid: &str, target: u64) {
    let frame = ClientFrame::Change {
        room: "general".into(),
        cid: cid.into(),
        target,
        edit: Edit::RemovePreview,
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

#[tokio::test]
async fn a_link_gets_its_card_as_a_change_of_the_message() {
    let hits = Arc::new(AtomicUsize::new(0));
    let site = site(hits.clone()).await;
    let server = start_with(&["--preview-allow-loopback"]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, bo_conn) = arrive(&server, "user-bo-00001", "bo", "general").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Joined { .. }
    ));

    let link = format!("http://{site}/page");
    send(&mut ana, "general", "link-000001", &format!("look: {link}")).await;
    // The message first, never held back by the fetch; its card after, seq 2.
    assert_eq!(message_seq(&mut ana).await, 1);
    assert_eq!(message_seq(&mut bo).await, 1);
    for ws in [&mut ana, &mut bo] {
        let update = next_update(ws).await;
        assert_eq!((update.seq, update.target), (2, 1));
        let Change::Preview(card) = update.change else {
            panic!("expected a card, got {:?}", update.change);
        };
        assert_eq!(card.url, link);
        assert_eq!(card.site, "Stand-in");
        assert_eq!(card.title, "A page worth a card");
        assert_eq!(
            card.description, "What it is about <b>really</b>",
            "text, as written"
        );
        let image = card.image.expect("a thumbnail");
        assert!(
            image.starts_with("/previews/") && image.ends_with(".jpg"),
            "{image}"
        );
        // Natter serves the picture itself, re-encoded: a JPEG at most 400 px wide.
        let (head, body) = get_raw(server.addr, &image).await;
        assert!(
            head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200"),
            "{head}"
        );
        assert!(head.contains("content-type: image/jpeg"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        let picture = image::load_from_memory(&body).unwrap();
        assert_eq!((picture.width(), picture.height()), (400, 210));
    }
    let (missing, _) = get_raw(
        server.addr,
        "/previews/0123456789abcdef0123456789abcdef.jpg",
    )
    .await;
    assert!(missing.contains(" 404"), "{missing}");
    let (bad, _) = get_raw(server.addr, "/previews/..%2fnatter.db").await;
    assert!(bad.contains(" 404"), "{bad}");

    // The same link again: the kept card, the page not fetched again.
    send(&mut bo, "general", "link-000002", &link).await;
    assert_eq!(message_seq(&mut ana).await, 3);
    let again = next_update(&mut ana).await;
    assert_eq!((again.seq, again.target), (4, 3));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    message_seq(&mut bo).await;
    next_update(&mut bo).await;

    // History has the messages as they are now; a resume after seq 1 gets the rest once.
    let fresh = join(&server, &bo_conn, "general").await;
    assert!(fresh.messages.iter().all(|m| m.preview.is_some()));
    assert_eq!(
        fresh
            .messages
            .iter()
            .map(|m| (m.seq, m.n))
            .collect::<Vec<_>>(),
        [(1, 1), (3, 2)],
        "cards take seqs, not message numbers"
    );
    let resumed = join_after(&server, &bo_conn, "general", Some(1)).await;
    assert!(resumed.resumed);
    assert_eq!(
        resumed.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(
        resumed.updates.iter().map(|u| u.seq).collect::<Vec<_>>(),
        [2, 4]
    );
    // Unread counts count messages: two, not four.
    let cookie = browser_cookie(&server, "user-cy-00001", "cy").await;
    let (_, body, _) = call_with_cookie(&server, Some(&cookie), ListRooms {}).await;
    let rooms: Vec<RoomInfo> = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rooms.iter().find(|r| r.slug == "general").unwrap().latest,
        2
    );

    // Only the author takes a card away: bo's try is refused, nothing changes.
    change(&mut bo, "remove-0001", 1).await;
    match next_event(&mut bo).await {
        ServerEvent::Error { code, cid, .. } => {
            assert_eq!(
                (code, cid.as_deref()),
                (ErrorCode::BadMessage, Some("remove-0001"))
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_quiet(&mut ana).await;
    // Ana's: everyone sees it go; a retry is confirmed to her alone, applied once.
    change(&mut ana, "remove-0002", 1).await;
    for ws in [&mut ana, &mut bo] {
        let update = next_update(ws).await;
        assert_eq!(
            (update.seq, update.target, update.change),
            (5, 1, Change::RemovePreview)
        );
    }
    change(&mut ana, "remove-0002", 1).await;
    match next_event(&mut ana).await {
        ServerEvent::Ack { cid, seq, .. } => assert_eq!((cid.as_str(), seq), ("remove-0002", 5)),
        other => panic!("expected the ack, got {other:?}"),
    }
    assert_quiet(&mut bo).await;
    let now = join(&server, &bo_conn, "general").await;
    assert_eq!(now.messages[0].preview, None);
    assert!(now.messages[1].preview.is_some());

    // Links that give no card: a redirect to a private address, a page that is not HTML.
    for path in ["to-private", "json"] {
        send(
            &mut ana,
            "general",
            &format!("link-{path:0>6}"),
            &format!("http://{site}/{path}"),
        )
        .await;
        message_seq(&mut bo).await;
        message_seq(&mut ana).await;
    }
    assert_quiet_for(&mut bo, Duration::from_millis(1_500)).await;
}

#[tokio::test]
async fn without_the_test_allowance_loopback_links_get_no_card() {
    let hits = Arc::new(AtomicUsize::new(0));
    let site = site(hits.clone()).await;
    let server = start_with(&[]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    send(
        &mut ana,
        "general",
        "link-000001",
        &format!("http://{site}/page"),
    )
    .await;
    assert_eq!(message_seq(&mut ana).await, 1);
    assert_quiet_for(&mut ana, Duration::from_millis(1_500)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server never connected");
}
