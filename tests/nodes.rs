//! Two nodes sharing PostgreSQL and NATS, a person on each: what one does, the other
//! sees, as if both were on one server — messages, presence, typing, a conversation —
//! and a node that dies takes its people with it within 30 s.
//!
//! Skipped without `NATTER_TEST_POSTGRES` (see `support::cluster`); the test command
//! sets it, and requires it.

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use natter::api::people::OpenConversation;
use natter::protocol::{ClientFrame, RoomInfo, ServerEvent};
use tokio_tungstenite::tungstenite::Message;

use support::binary::Natter;
use support::{arrive, join, next_event, send, Socket};

/// The next event `want` accepts, skipping others (counts, arrivals of nobody in
/// particular); panics after 10 s.
async fn wait_for(ws: &mut Socket, what: &str, want: impl Fn(&ServerEvent) -> bool) -> ServerEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = next_event(ws).await;
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_on_two_nodes_talk_see_each_other_and_type() {
    let Some(services) = support::cluster::start().await else {
        return;
    };
    let nats = ["--nats", services.nats_url.as_str()];
    let a = Natter::start(&services.database, &nats).await;
    let b = Natter::start(&services.database, &nats).await;

    let (mut ana, ana_conn) = arrive(&a, "ana", "Ana", "general").await;
    let (mut bo, _) = arrive(&b, "bo", "Bo", "general").await;
    // Bo's arrival on B is announced on A.
    wait_for(
        &mut ana,
        "Bo's arrival",
        |e| matches!(e, ServerEvent::Joined { name, .. } if name == "Bo"),
    )
    .await;

    // A message sent on B reaches A, with the seq the store gave it.
    send(&mut bo, "general", "bo-000001", "hello from B").await;
    // Bo's own copy first: stored.
    wait_for(
        &mut bo,
        "Bo's own message",
        |e| matches!(e, ServerEvent::Message { msg, .. } if msg.cid == "bo-000001"),
    )
    .await;
    let on_a = wait_for(&mut ana, "Bo's message", |e| {
        matches!(e, ServerEvent::Message { .. })
    })
    .await;
    let ServerEvent::Message { msg, .. } = on_a else {
        unreachable!()
    };
    assert_eq!(
        (msg.seq, msg.text.as_str(), msg.author.as_str()),
        (1, "hello from B", "Bo")
    );
    // And one sent on A reaches B, next in seq.
    send(&mut ana, "general", "ana-000001", "and from A").await;
    let on_b = wait_for(
        &mut bo,
        "Ana's message",
        |e| matches!(e, ServerEvent::Message { msg, .. } if msg.cid == "ana-000001"),
    )
    .await;
    assert!(matches!(on_b, ServerEvent::Message { msg, .. } if msg.seq == 2));

    // Typing on A shows on B.
    let typing = ClientFrame::Typing {
        room: "general".into(),
    };
    ana.send(Message::text(typing.encode())).await.unwrap();
    wait_for(
        &mut bo,
        "Ana typing",
        |e| matches!(e, ServerEvent::Typing { name, .. } if name == "Ana"),
    )
    .await;

    // Ana, on A, opens a conversation with Bo, a guest on B: B's page hears of it, and
    // Bo reads it there.
    let (status, body) = support::call(
        &a,
        OpenConversation {
            conn: ana_conn,
            names: vec!["Bo".into()],
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let room: RoomInfo = serde_json::from_str(&body).unwrap();
    wait_for(
        &mut bo,
        "the conversation",
        |e| matches!(e, ServerEvent::RoomAdded { room: r } if r.slug == room.slug),
    )
    .await;
    let (mut bo_tab, bo_conn) = support::welcome(&b, "bo", "Bo").await;
    join(&b, &bo_conn, &room.slug).await;
    send(&mut ana, &room.slug, "dm-0000001", "just us").await;
    wait_for(
        &mut bo_tab,
        "the conversation's message",
        |e| matches!(e, ServerEvent::Message { msg, .. } if msg.text == "just us"),
    )
    .await;
    drop(services);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_people_leave_within_thirty_seconds() {
    let Some(services) = support::cluster::start().await else {
        return;
    };
    let nats = ["--nats", services.nats_url.as_str()];
    let a = Natter::start(&services.database, &nats).await;
    let mut b = Natter::start(&services.database, &nats).await;
    let (mut ana, _) = arrive(&a, "ana", "Ana", "general").await;
    let (_bo, _) = arrive(&b, "bo", "Bo", "general").await;
    wait_for(
        &mut ana,
        "Bo's arrival",
        |e| matches!(e, ServerEvent::Joined { name, .. } if name == "Bo"),
    )
    .await;
    let killed = std::time::Instant::now();
    b.kill9();
    tokio::time::timeout(Duration::from_secs(35), async {
        loop {
            if let ServerEvent::Left { name, .. } = next_event_patient(&mut ana).await {
                if name == "Bo" {
                    return;
                }
            }
        }
    })
    .await
    .expect("Bo leaves once B's lease runs out");
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(30),
        "Bo left {took:?} after B died"
    );
    assert!(
        took >= Duration::from_secs(10),
        "not before the lease ran out: {took:?}"
    );
}

/// The next event, however long it takes (the lease is long).
async fn next_event_patient(ws: &mut Socket) -> ServerEvent {
    use futures_util::StreamExt;
    loop {
        match ws.next().await.expect("socket open").expect("readable") {
            Message::Text(text) => match ServerEvent::decode(text.as_str()).unwrap() {
                ServerEvent::Counts { .. } => continue,
                event => return event,
            },
            _ => continue,
        }
    }
}
