//! Conversation tools against the live server: edits, deletes and reactions are changes
//! of a message with seqs of their own, seen live by every reader, given once to a client
//! resuming after being away, and kept in history; only the author edits or deletes, a
//! reaction must be one emoji, and a second click takes a reaction back. Search finds
//! messages by their words as they are now, through its server function. A reply quotes
//! the message it answers as it is now; pins are changes too, listed by search.

use futures_util::SinkExt;
use natter::protocol::{Change, ChatMessage, ClientFrame, Edit, ErrorCode, ServerEvent, Update};
use tokio_tungstenite::tungstenite::Message;

mod support;

use natter::api::messages::History;
use natter::api::people::ChangeMembers;
use natter::api::rooms::CreateRoom;
use natter::api::search::Search;
use natter::protocol::{HistoryPage, MemberChange, Reply, RoomInfo, SearchHit};
use support::in_process::start_with;
use support::{
    arrive, assert_quiet, browser_cookie, call_with_cookie, join_after, next_event, send, Socket,
};

async fn ask(ws: &mut Socket, cid: &str, target: u64, edit: Edit) {
    let frame = ClientFrame::Change {
        room: "general".into(),
        cid: cid.into(),
        target,
        edit,
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

async fn next_update(ws: &mut Socket) -> Update {
    match next_event(ws).await {
        ServerEvent::Update { update, .. } => update,
        other => panic!("expected an update, got {other:?}"),
    }
}

async fn refused(ws: &mut Socket, cid: &str) -> String {
    match next_event(ws).await {
        ServerEvent::Error {
            code,
            cid: Some(got),
            message,
        } if got == cid => {
            assert_eq!(code, ErrorCode::BadMessage);
            message
        }
        other => panic!("expected {cid} refused, got {other:?}"),
    }
}

async fn message(ws: &mut Socket) -> ChatMessage {
    match next_event(ws).await {
        ServerEvent::Message { msg, .. } => msg,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn edits_deletes_and_reactions_reach_everyone_once() {
    let server = start_with(&[]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, bo_conn) = arrive(&server, "user-bo-00001", "bo", "general").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Joined { .. }
    ));
    send(&mut ana, "general", "msg-0000001", "first **draft**").await;
    send(&mut ana, "general", "msg-0000002", "a mistake").await;
    for ws in [&mut ana, &mut bo] {
        assert_eq!(message(ws).await.seq, 1);
        assert_eq!(message(ws).await.seq, 2);
    }

    // Ana edits her first message; the new text is parsed as a sent one is.
    ask(
        &mut ana,
        "edit-000001",
        1,
        Edit::Text("second _draft_".into()),
    )
    .await;
    for ws in [&mut ana, &mut bo] {
        let update = next_update(ws).await;
        assert_eq!((update.seq, update.target), (3, 1));
        let Change::Edited { text, doc } = update.change else {
            panic!("expected an edit, got {:?}", update.change);
        };
        assert_eq!(text, "second _draft_");
        assert!(doc.is_some(), "formatting parsed on the server");
    }
    // Bo may neither edit nor delete Ana's message.
    ask(&mut bo, "edit-000002", 1, Edit::Text("bo was here".into())).await;
    assert!(refused(&mut bo, "edit-000002").await.contains("not yours"));
    ask(&mut bo, "delete-0001", 2, Edit::Delete).await;
    refused(&mut bo, "delete-0001").await;
    // A reaction is one emoji.
    ask(&mut bo, "react-00001", 1, Edit::React("<b>".into())).await;
    assert!(refused(&mut bo, "react-00001").await.contains("emoji"));
    assert_quiet(&mut ana).await;

    // Bo reacts; a retry of the same change is applied once; a second click takes it back.
    ask(&mut bo, "react-00002", 1, Edit::React("👍".into())).await;
    for ws in [&mut ana, &mut bo] {
        let update = next_update(ws).await;
        assert_eq!(
            update.change,
            Change::Reacted {
                emoji: "👍".into(),
                names: vec!["bo".into()]
            }
        );
    }
    ask(&mut bo, "react-00002", 1, Edit::React("👍".into())).await;
    assert!(matches!(
        next_event(&mut bo).await,
        ServerEvent::Ack { seq: 4, .. }
    ));
    assert_quiet(&mut ana).await;
    ask(&mut ana, "react-00003", 1, Edit::React("👍".into())).await;
    ask(&mut bo, "react-00004", 1, Edit::React("🎉".into())).await;
    ask(&mut ana, "delete-0002", 2, Edit::Delete).await;
    for ws in [&mut ana, &mut bo] {
        let seqs: Vec<_> = [
            next_update(ws).await,
            next_update(ws).await,
            next_update(ws).await,
        ]
        .map(|u| (u.seq, u.change))
        .into();
        assert_eq!(
            seqs,
            [
                (
                    5,
                    Change::Reacted {
                        emoji: "👍".into(),
                        names: vec!["bo".into(), "ana".into()]
                    }
                ),
                (
                    6,
                    Change::Reacted {
                        emoji: "🎉".into(),
                        names: vec!["bo".into()]
                    }
                ),
                (7, Change::Deleted),
            ]
        );
    }
    // A deleted message takes no more changes.
    ask(&mut ana, "edit-000003", 2, Edit::Text("back again".into())).await;
    refused(&mut ana, "edit-000003").await;

    // Bo, back after seq 2, gets every change he missed once, in order, and the
    // messages as they are now agree with what the changes make of them.
    let resumed = join_after(&server, &bo_conn, "general", Some(2)).await;
    assert!(resumed.resumed);
    assert!(resumed.messages.is_empty());
    assert_eq!(
        resumed.updates.iter().map(|u| u.seq).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7]
    );
    let fresh = join_after(&server, &bo_conn, "general", None).await;
    let (first, second) = (&fresh.messages[0], &fresh.messages[1]);
    assert_eq!(
        (first.text.as_str(), first.state),
        ("second _draft_", ChatMessage::EDITED)
    );
    assert_eq!(first.reactions, [vec!["👍", "bo", "ana"], vec!["🎉", "bo"]]);
    assert_eq!(
        (second.text.as_str(), second.state),
        ("", ChatMessage::DELETED)
    );
    assert_eq!((first.rev, second.rev), (6, 7));
}

#[tokio::test]
async fn search_answers_through_its_server_function() {
    let server = start_with(&[]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    send(
        &mut ana,
        "general",
        "msg-0000001",
        "Deploying the café today",
    )
    .await;
    send(&mut ana, "general", "msg-0000002", "lunch?").await;
    assert_eq!(message(&mut ana).await.seq, 1);
    assert_eq!(message(&mut ana).await.seq, 2);
    let cookie = browser_cookie(&server, "user-cy-00001", "cy").await;
    let search = |query: &str| Search {
        query: query.into(),
    };
    // A message is indexed a moment after it is sent.
    let mut hits: Vec<SearchHit> = Vec::new();
    for _ in 0..100 {
        let (status, body, _) =
            call_with_cookie(&server, Some(&cookie), search("deployed cafe")).await;
        assert_eq!(status, 200, "{body}");
        hits = serde_json::from_str(&body).unwrap();
        if !hits.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        hits,
        [SearchHit {
            room: "general".into(),
            seq: 1,
            author: "ana".into(),
            text: "Deploying the café today".into(),
            at_ms: hits[0].at_ms,
        }]
    );
    // An edit is found by its new words only.
    ask(
        &mut ana,
        "edit-000001",
        1,
        Edit::Text("Shipping it tomorrow".into()),
    )
    .await;
    next_update(&mut ana).await;
    let (_, body, _) = call_with_cookie(&server, Some(&cookie), search("deploy")).await;
    assert_eq!(body, "[]");
    let (_, body, _) = call_with_cookie(&server, Some(&cookie), search("shipped")).await;
    assert_eq!(
        serde_json::from_str::<Vec<SearchHit>>(&body).unwrap().len(),
        1
    );
    // A query without a word is refused, with a reason.
    let (status, body, _) = call_with_cookie(&server, Some(&cookie), search("from:ana ***")).await;
    assert!(status >= 400, "{status}");
    assert!(body.contains("at least one word"), "{body}");
}

async fn send_reply(ws: &mut Socket, room: &str, cid: &str, text: &str, reply: u64) {
    let frame = ClientFrame::Send {
        room: room.into(),
        cid: cid.into(),
        text: text.into(),
        file: None,
        reply: Some(reply),
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

async fn ask_in(ws: &mut Socket, room: &str, cid: &str, target: u64, edit: Edit) {
    let frame = ClientFrame::Change {
        room: room.into(),
        cid: cid.into(),
        target,
        edit,
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

#[tokio::test]
async fn replies_quote_the_message_as_it_is_now_and_pins_are_listed() {
    let server = start_with(&[]).await;
    let (mut ana, ana_conn) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _) = arrive(&server, "user-bo-00001", "bo", "general").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Joined { .. }
    ));
    send(
        &mut ana,
        "general",
        "msg-0000001",
        "  The **plan**\nin two lines",
    )
    .await;
    for ws in [&mut ana, &mut bo] {
        assert_eq!(message(ws).await.seq, 1);
    }
    // Bo answers it: everyone gets the reply with its quote.
    send_reply(&mut bo, "general", "msg-0000002", "agreed", 1).await;
    let quote = Reply {
        seq: 1,
        author: "ana".into(),
        line: "The plan".into(),
    };
    for ws in [&mut ana, &mut bo] {
        let reply = message(ws).await;
        assert_eq!((reply.seq, reply.reply.as_deref()), (2, Some(&quote)));
    }
    // A reply to a message that is not there is refused, and stores nothing.
    send_reply(&mut bo, "general", "msg-0000003", "to nothing", 99).await;
    assert!(refused(&mut bo, "msg-0000003").await.contains("not there"));
    assert_quiet(&mut ana).await;

    // Anyone pins in a room everyone shares; the pin is a change with its own seq.
    ask(&mut bo, "pin-0000001", 1, Edit::Pin(true)).await;
    for ws in [&mut ana, &mut bo] {
        let update = next_update(ws).await;
        assert_eq!((update.seq, update.change), (3, Change::Pinned(true)));
    }
    let cookie = browser_cookie(&server, "user-cy-00001", "cy").await;
    let pins = |query: &str| Search {
        query: query.into(),
    };
    let (status, body, _) =
        call_with_cookie(&server, Some(&cookie), pins("in:general is:pinned")).await;
    assert_eq!(status, 200, "{body}");
    let listed: Vec<SearchHit> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.iter().map(|h| h.seq).collect::<Vec<_>>(), [1]);

    // Edited, the quote shows the new first line; deleted, nothing of it, and no pin.
    ask(
        &mut ana,
        "edit-000001",
        1,
        Edit::Text("The new plan".into()),
    )
    .await;
    next_update(&mut ana).await;
    let fresh = join_after(&server, &ana_conn, "general", None).await;
    assert!(fresh.messages[0].pinned);
    assert_eq!(
        fresh.messages[1].reply.as_ref().map(|r| r.line.as_str()),
        Some("The new plan")
    );
    ask(&mut ana, "delete-0001", 1, Edit::Delete).await;
    next_update(&mut ana).await;
    let fresh = join_after(&server, &ana_conn, "general", None).await;
    assert!(!fresh.messages[0].pinned);
    assert_eq!(
        fresh.messages[1].reply.as_deref(),
        Some(&Reply {
            line: String::new(),
            ..quote
        })
    );
    let (_, body, _) = call_with_cookie(&server, Some(&cookie), pins("in:general is:pinned")).await;
    assert_eq!(body, "[]");
    // A deleted message takes no replies.
    send_reply(&mut ana, "general", "msg-0000004", "late", 1).await;
    assert!(refused(&mut ana, "msg-0000004").await.contains("not there"));

    // Reading down after a jump: the page after a seq.
    let (status, body, _) = call_with_cookie(
        &server,
        Some(&cookie),
        History {
            room: "general".into(),
            before: 0,
            after: Some(1),
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page: HistoryPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [2]);
    assert!(!page.has_more);
}

#[tokio::test]
async fn in_a_private_room_only_its_owner_pins() {
    let server = start_with(&[]).await;
    let (mut ana, ana_conn) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _) = arrive(&server, "user-bo-00001", "bo", "general").await;
    let (status, body) = support::call(
        &server,
        CreateRoom {
            conn: ana_conn.clone(),
            title: "Plans".into(),
            topic: "ours".into(),
            private: true,
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let room: RoomInfo = serde_json::from_str(&body).unwrap();
    let (status, body) = support::call(
        &server,
        ChangeMembers {
            conn: ana_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Invite("bo".into()),
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    send(&mut ana, &room.slug, "msg-0000001", "secret plan").await;
    let stored = loop {
        match next_event(&mut ana).await {
            ServerEvent::Ack { seq, .. } => break seq,
            ServerEvent::Message { msg, .. } => break msg.seq,
            _ => continue,
        }
    };
    ask_in(&mut bo, &room.slug, "pin-0000001", stored, Edit::Pin(true)).await;
    loop {
        match next_event(&mut bo).await {
            ServerEvent::Error { code, cid, .. } => {
                assert_eq!(
                    (code, cid.as_deref()),
                    (ErrorCode::NotAllowed, Some("pin-0000001"))
                );
                break;
            }
            ServerEvent::Update { update, .. } => panic!("bo pinned: {update:?}"),
            _ => continue,
        }
    }
    ask_in(&mut ana, &room.slug, "pin-0000002", stored, Edit::Pin(true)).await;
    loop {
        match next_event(&mut ana).await {
            ServerEvent::Update { update, .. } => {
                assert_eq!(update.change, Change::Pinned(true));
                break;
            }
            ServerEvent::Ack { .. } => break,
            ServerEvent::Error { message, .. } => panic!("ana could not pin: {message}"),
            _ => continue,
        }
    }
}

/// Sends and changes that come faster than the store commits are stored in runs, several
/// to a commit: every reader still gets each event once, in seq order, in the order they
/// were sent (a change after the sends before it). Checked by storing a change ahead of
/// the sends before it: this fails.
#[tokio::test]
async fn a_burst_of_sends_and_changes_reaches_everyone_in_seq_order() {
    let server = start_with(&["--send-rate", "100000", "--send-burst", "100000"]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _) = arrive(&server, "user-bo-00001", "bo", "general").await;
    assert!(matches!(
        next_event(&mut ana).await,
        ServerEvent::Joined { .. }
    ));
    send(&mut ana, "general", "msg-0000000", "to be edited").await;
    assert_eq!(message(&mut bo).await.seq, 1);
    // Runs of five sends, each followed by an edit of the first message.
    let count = 600;
    for i in 1..=count {
        if i % 6 == 0 {
            let edit = Edit::Text(format!("edit {i}"));
            ask(&mut ana, &format!("edit-{i:07}"), 1, edit).await;
        } else {
            send(
                &mut ana,
                "general",
                &format!("msg-{i:07}"),
                &format!("burst {i}"),
            )
            .await;
        }
    }
    // Frame i is stored as seq i + 1 (message 1 came first), and read in that order.
    for i in 1..=count {
        let (seq, text) = match next_event(&mut bo).await {
            ServerEvent::Message { msg, .. } => (msg.seq, msg.text),
            ServerEvent::Update {
                update:
                    Update {
                        seq,
                        change: Change::Edited { text, .. },
                        ..
                    },
                ..
            } => (seq, text),
            other => panic!("expected a message or an edit, got {other:?}"),
        };
        let frame: u64 = text.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!((frame, seq), (i, i + 1), "the {i}th event read: {text:?}");
    }
}
