//! Conversation tools against the live server: edits, deletes and reactions are changes
//! of a message with seqs of their own, seen live by every reader, given once to a client
//! resuming after being away, and kept in history; only the author edits or deletes, a
//! reaction must be one emoji, and a second click takes a reaction back. Search finds
//! messages by their words as they are now, through its server function.

use futures_util::SinkExt;
use natter::protocol::{Change, ChatMessage, ClientFrame, Edit, ErrorCode, ServerEvent, Update};
use tokio_tungstenite::tungstenite::Message;

mod support;

use natter::api::search::Search;
use natter::protocol::SearchHit;
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
