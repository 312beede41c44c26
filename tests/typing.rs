//! "… is typing" against the real binary: passed on to the room's others, once per user
//! per 3 s whatever the tabs and frames, never to the typer, never for a room the socket
//! is not in, and never stored.

use std::time::Duration;

use futures_util::SinkExt;
use natter::protocol::{ClientFrame, ServerEvent};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::binary::Natter;
use support::{arrive, assert_quiet, assert_quiet_for, join, next_event, send, welcome, Socket};

async fn typing(ws: &mut Socket, room: &str) {
    let frame = ClientFrame::Typing { room: room.into() };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

/// The socket is still open and served: a `ping` gets its `pong` next, with no error first.
async fn answers(ws: &mut Socket) {
    ws.send(Message::text(ClientFrame::Ping.encode()))
        .await
        .unwrap();
    assert_eq!(next_event(ws).await, ServerEvent::Pong);
}

fn typing_event(room: &str, name: &str) -> ServerEvent {
    ServerEvent::Typing {
        room: room.into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn typing_reaches_the_others_once_per_three_seconds_and_is_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Natter::start(&dir.path().join("typing.db"), &[]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _) = arrive(&server, "user-bo-00001", "Bo", "general").await;
    assert!(matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "Bo"));
    // Bo's second tab, in the same room: one person, already present.
    let (mut bo_tab, bo_tab_conn) = welcome(&server, "user-bo-00001", "Bo").await;
    join(&server, &bo_tab_conn, "general").await;
    // Carl is in another room.
    let (mut carl, _) = arrive(&server, "user-carl-001", "carl", "tech").await;

    // Twice quickly, then from the other tab: ana hears it once; Bo's tabs, nothing.
    typing(&mut bo, "general").await;
    typing(&mut bo, "general").await;
    typing(&mut bo_tab, "general").await;
    assert_eq!(next_event(&mut ana).await, typing_event("general", "Bo"));
    assert_quiet_for(&mut ana, Duration::from_millis(1_000)).await;
    assert_quiet(&mut bo).await;
    assert_quiet(&mut bo_tab).await;
    assert_quiet(&mut carl).await;

    // A flood: no error, no cut-off, still nothing more for ana within the 3 s.
    for _ in 0..500 {
        typing(&mut bo, "general").await;
    }
    answers(&mut bo).await;
    assert_quiet(&mut ana).await;

    // A room this socket has not joined, or that does not exist: ignored, and the typer
    // cannot tell (no error), nor does anyone there hear of it.
    typing(&mut ana, "tech").await;
    typing(&mut ana, "nowhere").await;
    answers(&mut ana).await;
    assert_quiet(&mut carl).await;

    // Three seconds on, Bo's typing passes again (here from the second tab).
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    typing(&mut bo_tab, "general").await;
    assert_eq!(next_event(&mut ana).await, typing_event("general", "Bo"));
    assert_quiet(&mut bo).await;

    // Nothing was stored: a newcomer finds no history, and the first message is seq 1.
    let (_dan, dan_conn) = welcome(&server, "user-dan-0001", "dan").await;
    assert!(join(&server, &dan_conn, "general")
        .await
        .messages
        .is_empty());
    assert!(join(&server, &dan_conn, "tech").await.messages.is_empty());
    assert!(
        matches!(next_event(&mut ana).await, ServerEvent::Joined { name, .. } if name == "dan")
    );
    send(&mut ana, "general", "msg-0000001", "hi").await;
    match next_event(&mut ana).await {
        ServerEvent::Message { msg, .. } => assert_eq!(msg.seq, 1),
        other => panic!("expected the message, got {other:?}"),
    }
}
