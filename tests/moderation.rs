//! Moderation through the real router and sockets: who may do what (admins, owners,
//! moderators, everyone else), what a mute, ban, lock and slow mode stop, and a ban
//! ending the person's sockets at once.

use std::time::Duration;

use futures_util::SinkExt;
use natter::api::accounts::Register;
use natter::api::rooms::JoinRoom;
use natter::protocol::{ClientFrame, Edit, ErrorCode, ServerEvent};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::in_process::{start, Server};
use support::{call, call_with_cookie, guest_cookie, join, next_event, open_socket, send, Socket};

/// A registered person with a socket in `room`: their socket and its conn id.
async fn registered(server: &Server, name: &str, room: &str) -> (Socket, String) {
    let guest = guest_cookie(server, None, name).await.unwrap();
    let register = Register {
        name: name.into(),
        password: "correct horse battery".into(),
    };
    let (status, body, cookie) = call_with_cookie(server, Some(&guest), register).await;
    assert_eq!(status, 200, "{body}");
    socket_in(server, &cookie.unwrap(), room).await
}

async fn guest(server: &Server, name: &str, room: &str) -> (Socket, String) {
    let cookie = guest_cookie(server, None, name).await.unwrap();
    socket_in(server, &cookie, room).await
}

/// Ana (registered first: the admin) and the guest cy, both in #general; ana's conn id.
async fn admin_and_guest(server: &Server) -> (Socket, String, Socket) {
    let (ana, ana_conn) = registered(server, "ana", "general").await;
    let (cy, _) = guest(server, "cy", "general").await;
    (ana, ana_conn, cy)
}

async fn socket_in(server: &Server, cookie: &str, room: &str) -> (Socket, String) {
    let mut ws = open_socket(server, Some(cookie)).await;
    let conn = match next_event(&mut ws).await {
        ServerEvent::Welcome { conn, .. } => conn,
        other => panic!("{other:?}"),
    };
    join(server, &conn, room).await;
    (ws, conn)
}

/// Sends `text` to #general and waits for what became of it: the message stored (its
/// text: a command's is its notice), or the refusal.
async fn say(ws: &mut Socket, cid: &str, text: &str) -> Result<String, (ErrorCode, String)> {
    send(ws, "general", cid, text).await;
    outcome(ws, cid).await
}

async fn outcome(ws: &mut Socket, cid: &str) -> Result<String, (ErrorCode, String)> {
    loop {
        match next_event(ws).await {
            ServerEvent::Message { msg, .. } if msg.cid == cid => return Ok(msg.text),
            ServerEvent::Error {
                code,
                message,
                cid: Some(c),
            } if c == cid => return Err((code, message)),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn the_first_account_is_admin_and_moderators_act_only_below_them() {
    let server = start().await;
    let (mut ana, _) = registered(&server, "ana", "general").await; // first: admin
    let (mut bo, _) = registered(&server, "bo", "general").await;
    let (mut cy, _) = guest(&server, "cy", "general").await;

    // Nobody but a moderator moderates.
    let refused = say(&mut bo, "bo-mute-cy", "/mute @cy").await.unwrap_err();
    assert_eq!(refused.0, ErrorCode::NotAllowed, "{refused:?}");
    // The admin names bo a moderator of #general.
    let notice = say(&mut ana, "ana-mod-bo", "/mod @bo").await.unwrap();
    assert_eq!(notice, "_made @bo a moderator of the room_");
    // A moderator mutes a guest, who is then refused, with how long.
    let notice = say(&mut bo, "bo-mute-cy-2", "/mute @cy 5m").await.unwrap();
    assert_eq!(notice, "_muted @cy for 5 minutes_");
    let (code, why) = say(&mut cy, "cy-speaks-1", "can I talk?")
        .await
        .unwrap_err();
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(
        why.contains("muted") && why.contains("5 more minutes"),
        "{why}"
    );
    // A moderator's reach ends at the room: no server bans, no naming moderators or
    // admins; a member locks nothing.
    for (cid, text) in [
        ("bo-sban-cy-1", "/ban @cy everywhere"),
        ("bo-mod-cy-01", "/mod @cy"),
        ("bo-admin-cy1", "/admin @cy"),
    ] {
        let (code, _) = say(&mut bo, cid, text).await.unwrap_err();
        assert_eq!(code, ErrorCode::NotAllowed, "{text}");
    }
    let (code, _) = say(&mut cy, "cy-locks-it1", "/lock").await.unwrap_err();
    assert_eq!(code, ErrorCode::NotAllowed);
    // Not on an admin, not on oneself, not by a command used wrongly.
    for (cid, text) in [("bo-on-ana-1", "/mute @ana"), ("bo-on-bo-01", "/kick @bo")] {
        let (code, _) = say(&mut bo, cid, text).await.unwrap_err();
        assert_eq!(code, ErrorCode::NotAllowed, "{text}");
    }
    let (code, why) = say(&mut bo, "bo-badcmd-1", "/mute @cy soon")
        .await
        .unwrap_err();
    assert_eq!(code, ErrorCode::BadMessage);
    assert!(why.contains("not a duration"), "{why}");
    // Unmuted, cy talks again.
    assert_eq!(
        say(&mut bo, "bo-unmute-1", "/unmute @cy").await.unwrap(),
        "_unmuted @cy_"
    );
    assert_eq!(
        say(&mut cy, "cy-speaks-2", "thanks").await.unwrap(),
        "thanks"
    );
}

#[tokio::test]
async fn a_ban_ends_the_persons_sockets_in_the_room_and_they_cannot_come_back() {
    let server = start().await;
    let (mut ana, _) = registered(&server, "ana", "general").await;
    let (mut cy, cy_conn) = guest(&server, "cy", "general").await;
    let notice = say(&mut ana, "ana-ban-cy-1", "/ban @cy").await.unwrap();
    assert_eq!(notice, "_banned @cy from the room until lifted_");
    // Cy's socket is told why, and hears the room no more.
    loop {
        match next_event(&mut cy).await {
            ServerEvent::Error {
                code,
                message,
                cid: None,
            } => {
                assert_eq!(code, ErrorCode::NotAllowed);
                assert!(message.contains("banned from #general"), "{message}");
                break;
            }
            _ => continue,
        }
    }
    say(&mut ana, "ana-after-ban", "cy cannot read this")
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            if let ServerEvent::Message { msg, .. } = next_event(&mut cy).await {
                return msg.text;
            }
        }
    });
    assert!(heard.await.is_err(), "a banned person still hears the room");
    // Joining again is refused, and so is writing.
    let args = JoinRoom {
        conn: cy_conn.clone(),
        room: "general".into(),
        leave: None,
        after: None,
    };
    let (status, body) = call(&server, args).await;
    assert_ne!(status, 200);
    assert!(body.contains("banned"), "{body}");
    let refused = say(&mut cy, "cy-still-here", "hello?").await.unwrap_err();
    assert_eq!(refused.0, ErrorCode::NotAllowed);
    // Lifted, cy comes back.
    let notice = say(&mut ana, "ana-unban-cy1", "/unban @cy").await.unwrap();
    assert_eq!(notice, "_lifted the ban on @cy_");
    join(&server, &cy_conn, "general").await;
}

#[tokio::test]
async fn a_server_ban_closes_every_socket_and_refuses_the_guest_again() {
    let server = start().await;
    let (mut ana, _) = registered(&server, "ana", "general").await;
    let cookie = guest_cookie(&server, None, "cy").await.unwrap();
    let (mut tab1, _) = socket_in(&server, &cookie, "general").await;
    let (mut tab2, _) = socket_in(&server, &cookie, "tech").await;
    let notice = say(&mut ana, "ana-sban-cy-1", "/ban @cy everywhere")
        .await
        .unwrap();
    assert_eq!(notice, "_banned @cy from this server until lifted_");
    for tab in [&mut tab1, &mut tab2] {
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            use futures_util::StreamExt;
            loop {
                match tab.next().await {
                    Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                    Some(Ok(_)) => continue,
                    _ => return 0,
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(closed, 4003);
    }
    // The session is gone, and a new guest from the same address is refused.
    let again = guest_cookie(&server, None, "cy2").await.unwrap_err();
    assert!(again.1.contains("banned"), "{again:?}");
}

#[tokio::test]
async fn lock_and_slow_mode_hold_everyone_but_moderators_across_tabs() {
    let server = start().await;
    let (mut ana, _) = registered(&server, "ana", "general").await;
    let cookie = guest_cookie(&server, None, "cy").await.unwrap();
    let (mut tab1, _) = socket_in(&server, &cookie, "general").await;
    let (mut tab2, _) = socket_in(&server, &cookie, "general").await;

    let notice = say(&mut ana, "ana-slow-30s", "/slow 30s").await.unwrap();
    assert_eq!(notice, "_set slow mode: one message every 30 s per person_");
    assert_eq!(say(&mut tab1, "cy-first-msg", "one").await.unwrap(), "one");
    // The second tab does not buy a second message.
    let (code, why) = say(&mut tab2, "cy-second-tab", "two").await.unwrap_err();
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(why.starts_with("Slow mode: wait"), "{why}");
    // Moderators are not held.
    say(&mut ana, "ana-fast-1", "a").await.unwrap();
    say(&mut ana, "ana-fast-2", "b").await.unwrap();
    assert!(say(&mut ana, "ana-lock-it", "/lock")
        .await
        .unwrap()
        .starts_with("_locked"));
    // Locked: not even a reaction.
    let react = ClientFrame::Change {
        room: "general".into(),
        cid: "cy-react-001".into(),
        target: 1,
        edit: Edit::React("👍".into()),
    };
    tab1.send(Message::text(react.encode())).await.unwrap();
    let (code, why) = outcome(&mut tab1, "cy-react-001").await.unwrap_err();
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(why.contains("locked"), "{why}");
}

#[tokio::test]
async fn a_moderator_removes_anyones_message_and_it_stays_removed() {
    let server = start().await;
    let (mut ana, ana_conn, mut cy) = admin_and_guest(&server).await;
    say(&mut cy, "cy-spam-0001", "buy my stuff").await.unwrap();
    let seq = loop {
        if let ServerEvent::Message { msg, .. } = next_event(&mut ana).await {
            break msg.seq;
        }
    };
    // Cy may not remove ana's messages; ana (admin) removes cy's.
    let delete = |cid: &str| ClientFrame::Change {
        room: "general".into(),
        cid: cid.into(),
        target: seq,
        edit: Edit::Delete,
    };
    ana.send(Message::text(delete("ana-removes-1").encode()))
        .await
        .unwrap();
    loop {
        if let ServerEvent::Update { update, .. } = next_event(&mut cy).await {
            assert_eq!(update.change, natter::protocol::Change::Removed);
            break;
        }
    }
    let page = join(&server, &ana_conn, "general").await;
    let msg = page.messages.iter().find(|m| m.seq == seq).unwrap();
    assert_eq!(
        (msg.text.as_str(), msg.state),
        ("", natter::protocol::ChatMessage::REMOVED)
    );
}

#[tokio::test]
async fn deleting_ones_account_keeps_its_messages_as_a_deleted_users_and_frees_the_name() {
    use natter::api::accounts::DeleteAccount;
    let server = start().await;
    let (mut ana, ana_conn) = registered(&server, "ana", "general").await;
    let guest = guest_cookie(&server, None, "bo").await.unwrap();
    let register = Register {
        name: "bo".into(),
        password: "correct horse battery".into(),
    };
    let (_, _, bo_cookie) = call_with_cookie(&server, Some(&guest), register).await;
    let bo_cookie = bo_cookie.unwrap();
    let (mut bo, _) = socket_in(&server, &bo_cookie, "general").await;
    say(&mut bo, "bo-says-0001", "remember me").await.unwrap();

    // The wrong password changes nothing.
    let wrong = DeleteAccount {
        password: "not my password".into(),
        remove_messages: false,
    };
    let (status, body, _) = call_with_cookie(&server, Some(&bo_cookie), wrong).await;
    assert_ne!(status, 200);
    assert!(body.contains("WrongPassword"), "{body}");

    // Kept: the message stays, signed "deleted user"; the name is free; the socket ends.
    let right = DeleteAccount {
        password: "correct horse battery".into(),
        remove_messages: false,
    };
    let (status, body, _) = call_with_cookie(&server, Some(&bo_cookie), right).await;
    assert_eq!(status, 200, "{body}");
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        use futures_util::StreamExt;
        loop {
            match bo.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    assert_eq!(closed.await.unwrap(), Some(4001));
    // Open pages learn it as an event of the room, like any change.
    loop {
        if let ServerEvent::Update { update, .. } = next_event(&mut ana).await {
            assert_eq!(update.change, natter::protocol::Change::Disowned);
            break;
        }
    }
    let page = join(&server, &ana_conn, "general").await;
    let kept = page
        .messages
        .iter()
        .find(|m| m.cid == "bo-says-0001")
        .unwrap();
    assert_eq!(
        (kept.author.as_str(), kept.text.as_str()),
        ("deleted user", "remember me")
    );
    // Free once the closed socket's grace is over, as after any goodbye.
    tokio::time::sleep(natter::server::chat::hub::LEAVE_GRACE + Duration::from_millis(300)).await;
    guest_cookie(&server, None, "bo")
        .await
        .expect("the name is free");
    say(&mut ana, "ana-after-bo", "bye bo").await.unwrap();
}

/// A ban racing a flood of sends: whatever the person sent is stored before the ban's
/// notice or refused, never after it.
#[tokio::test]
async fn nothing_from_a_banned_person_is_stored_after_the_ban() {
    // No flood limit: every send is in flight when the ban lands.
    let server =
        support::in_process::start_with(&["--send-rate", "10000", "--send-burst", "10000"]).await;
    let (mut ana, ana_conn) = registered(&server, "ana", "general").await;
    let (mut cy, _) = guest(&server, "cy", "general").await;
    say(&mut ana, "ana-anchor-01", "anchor").await.unwrap();
    // Replies: each waits on a look-up of the message it answers between the socket's
    // check and the room's queue, the widest window a ban can fall into.
    let flood = tokio::spawn(async move {
        for i in 0..400 {
            let frame = ClientFrame::Send {
                room: "general".into(),
                cid: format!("cy-flood-{i:05}"),
                text: "spam".into(),
                file: None,
                reply: Some(1),
            };
            cy.send(Message::text(frame.encode())).await.unwrap();
            if i % 50 == 0 {
                tokio::task::yield_now().await;
            }
        }
        cy
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let notice = say(&mut ana, "ana-bans-cy-1", "/ban @cy").await.unwrap();
    assert!(notice.contains("banned @cy"), "{notice}");
    let _cy = flood.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut messages = Vec::new();
    let mut before = None;
    loop {
        let args = natter::api::messages::History {
            room: "general".into(),
            before: before.unwrap_or(u64::MAX),
            after: None,
        };
        let (status, body) = call(&server, args).await;
        assert_eq!(status, 200, "{body}");
        let page: natter::protocol::HistoryPage = serde_json::from_str(&body).unwrap();
        before = page.messages.first().map(|m| m.seq);
        messages.extend(page.messages);
        if !page.has_more {
            break;
        }
    }
    let ban = messages
        .iter()
        .find(|m| m.cid == "ana-bans-cy-1")
        .unwrap()
        .seq;
    let late: Vec<_> = messages
        .iter()
        .filter(|m| m.author == "cy" && m.seq > ban)
        .map(|m| m.seq)
        .collect();
    assert!(
        late.is_empty(),
        "{} stored after the ban (seq {ban}), first {:?}",
        late.len(),
        &late[..late.len().min(5)]
    );
    let _ = ana_conn;
}

#[tokio::test]
async fn a_report_is_acknowledged_once_and_one_of_nothing_refused() {
    let server = start().await;
    let (mut ana, _, mut cy) = admin_and_guest(&server).await;
    say(&mut ana, "ana-says-0001", "something").await.unwrap();
    let report = |cid: &str, target| ClientFrame::Change {
        room: "general".into(),
        cid: cid.into(),
        target,
        edit: Edit::Report,
    };
    let ack = |event: ServerEvent, want: &str| matches!(event, ServerEvent::Ack { cid, .. } if cid == want);
    // A retry (same cid) and a second report by the same person are both acknowledged.
    for cid in ["cy-report-01", "cy-report-01", "cy-report-02"] {
        cy.send(Message::text(report(cid, 1).encode()))
            .await
            .unwrap();
        loop {
            if ack(next_event(&mut cy).await, cid) {
                break;
            }
        }
    }
    cy.send(Message::text(report("cy-report-03", 99).encode()))
        .await
        .unwrap();
    let (code, why) = outcome(&mut cy, "cy-report-03").await.unwrap_err();
    assert_eq!(code, ErrorCode::BadMessage);
    assert!(why.contains("not there"), "{why}");
}
