//! People, against the live server: conversations, private rooms, mentions, how much to
//! hear, and read marks on every device. Membership is checked on every server function
//! and socket frame, and a room one may not see answers exactly as a missing one.

use futures_util::SinkExt;
use natter::api::accounts::Register;
use natter::api::messages::History;
use natter::api::people::{ChangeMembers, OpenConversation, RoomMembers, SetNotify};
use natter::api::rooms::{CreateRoom, JoinRoom, ListRooms};
use natter::protocol::{
    ClientFrame, ErrorCode, MemberChange, MemberInfo, NotifyLevel, RoomInfo, RoomKind, ServerEvent,
};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::in_process::{start, Server};
use support::{
    browser_cookie, call, call_with_cookie, join, next_event, next_event_or_counts, open_socket,
    send, welcome, Socket,
};

/// A call's status and its body, parsed when it succeeded.
async fn ok<T: serde::de::DeserializeOwned>(
    server: &Server,
    args: impl leptos::server_fn::ServerFn + serde::Serialize,
) -> T {
    let (status, body) = call(server, args).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn open_conversation(server: &Server, conn: &str, names: &[&str]) -> (u16, String) {
    let args = OpenConversation {
        conn: conn.into(),
        names: names.iter().map(|n| n.to_string()).collect(),
    };
    call(server, args).await
}

async fn rooms_of(server: &Server, user: &str, name: &str) -> Vec<RoomInfo> {
    let cookie = browser_cookie(server, user, name).await;
    let (status, body, _) = call_with_cookie(server, Some(&cookie), ListRooms {}).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn create_private(server: &Server, conn: &str, title: &str) -> RoomInfo {
    ok(
        server,
        CreateRoom {
            conn: conn.into(),
            title: title.into(),
            topic: "ours".into(),
            private: true,
        },
    )
    .await
}

/// The next event that is not a count or a presence notice.
async fn next_news(ws: &mut Socket) -> ServerEvent {
    loop {
        match next_event(ws).await {
            ServerEvent::Joined { .. } | ServerEvent::Left { .. } => continue,
            event => return event,
        }
    }
}

/// Nothing but counts and presence arrives for a little while.
async fn assert_no_news(ws: &mut Socket) {
    let quiet = std::time::Duration::from_millis(300);
    if let Ok(event) = tokio::time::timeout(quiet, next_news(ws)).await {
        panic!("expected silence, got {event:?}");
    }
}

/// What a person who may not see `room` gets from every way in: join, history, the
/// member list and a message on the socket. Each answer must read as a missing room's.
async fn assert_hidden(server: &Server, ws: &mut Socket, conn: &str, user: &str, room: &str) {
    let missing = "no-such-room-at-all";
    let ask = |slug: &str| {
        let slug = slug.to_owned();
        let conn = conn.to_owned();
        async move {
            let join = call(
                server,
                JoinRoom {
                    conn: conn.clone(),
                    room: slug.clone(),
                    leave: None,
                    after: None,
                },
            )
            .await;
            let cookie = browser_cookie(server, user, user).await;
            let history = call_with_cookie(
                server,
                Some(&cookie),
                History {
                    room: slug.clone(),
                    before: 100,
                    after: None,
                },
            )
            .await;
            let members = call(
                server,
                RoomMembers {
                    conn: conn.clone(),
                    room: slug.clone(),
                },
            )
            .await;
            let notify = call(
                server,
                SetNotify {
                    conn,
                    room: slug.clone(),
                    level: NotifyLevel::Everything,
                },
            )
            .await;
            [join, (history.0, history.1), members, notify]
                .map(|(status, body)| (status, body.replace(&slug, "ROOM")))
        }
    };
    assert_eq!(
        ask(room).await,
        ask(missing).await,
        "{user} must not see {room}"
    );
    send(ws, room, "hidden-send-1", "let me in").await;
    match next_news(ws).await {
        ServerEvent::Error { code, cid, .. } => {
            assert_eq!(code, ErrorCode::NoSuchRoom);
            assert_eq!(cid.as_deref(), Some("hidden-send-1"));
        }
        other => panic!("expected no_such_room, got {other:?}"),
    }
    assert!(
        !rooms_of(server, user, user)
            .await
            .iter()
            .any(|r| r.slug == room),
        "{room} is not listed for {user}"
    );
}

#[tokio::test]
async fn a_conversation_is_found_again_and_only_its_people_get_in() {
    let server = start().await;
    let (mut ana, ana_conn) = welcome(&server, "ana", "ana").await;
    let (mut bo, bo_conn) = welcome(&server, "bo", "bo").await;
    let (mut carl, carl_conn) = welcome(&server, "carl", "carl").await;

    let (status, body) = open_conversation(&server, &ana_conn, &["Bo"]).await;
    assert_eq!(status, 200, "{body}");
    let dm: RoomInfo = serde_json::from_str(&body).unwrap();
    assert_eq!(dm.kind, RoomKind::Direct);
    assert_eq!(dm.title, "bo", "named after the others in it");
    assert_eq!(dm.notify_level(), NotifyLevel::Everything);
    // Bo hears of it, named after Ana.
    match next_news(&mut bo).await {
        ServerEvent::RoomAdded { room } => {
            assert_eq!(
                (room.slug.as_str(), room.title.as_str()),
                (dm.slug.as_str(), "ana")
            );
        }
        other => panic!("expected room_added, got {other:?}"),
    }
    // One conversation per set of people, whoever opens it.
    let (_, again) = open_conversation(&server, &bo_conn, &["ana"]).await;
    let again: RoomInfo = serde_json::from_str(&again).unwrap();
    assert_eq!(again.slug, dm.slug);

    // A round trip.
    join(&server, &ana_conn, &dm.slug).await;
    join(&server, &bo_conn, &dm.slug).await;
    send(&mut ana, &dm.slug, "dm-msg-0001", "hi bo").await;
    loop {
        match next_news(&mut bo).await {
            ServerEvent::Message { room, msg } => {
                assert_eq!(
                    (room.as_str(), msg.text.as_str()),
                    (dm.slug.as_str(), "hi bo")
                );
                break;
            }
            // Bo is in the conversation and hears everything of it: the alert comes too.
            ServerEvent::Alert { .. } => {}
            other => panic!("expected the message, got {other:?}"),
        }
    }

    // Carl sees nothing of it, whichever way he asks.
    assert_hidden(&server, &mut carl, &carl_conn, "carl", &dm.slug).await;
    assert!(rooms_of(&server, "bo", "bo")
        .await
        .iter()
        .any(|r| r.slug == dm.slug));

    // A group of three is another conversation.
    let (status, body) = open_conversation(&server, &ana_conn, &["bo", "carl"]).await;
    assert_eq!(status, 200, "{body}");
    let group: RoomInfo = serde_json::from_str(&body).unwrap();
    assert_ne!(group.slug, dm.slug);
    assert_eq!(group.title, "bo, carl");
}

#[tokio::test]
async fn bad_conversations_are_refused_and_store_nothing() {
    let server = start().await;
    let (_ana, ana_conn) = welcome(&server, "ana", "ana").await;
    let mut refusals = Vec::new();
    for names in [
        vec!["nobody-here"],
        vec![],
        vec!["ana"],
        vec!["ANA "],
        (0..9).map(|_| "ana").collect(),
    ] {
        let (status, body) = open_conversation(&server, &ana_conn, &names).await;
        refusals.push((status, body));
    }
    for (status, body) in &refusals {
        assert_eq!(*status, 422, "{body}");
    }
    assert!(refusals[0].1.contains("nobody called"), "{}", refusals[0].1);
    assert!(refusals[1].1.contains("other than yourself"));
    assert!(refusals[4].1.contains("at most 8"));
    // More than 7 others, all real people.
    let mut names = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..8 {
        let name = format!("p{i}");
        sockets.push(welcome(&server, &name, &name).await);
        names.push(name);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (status, body) = open_conversation(&server, &ana_conn, &names).await;
    assert_eq!((status, body.contains("at most 8")), (422, true), "{body}");
    assert!(
        rooms_of(&server, "ana", "ana")
            .await
            .iter()
            .all(|r| r.kind == RoomKind::Public),
        "nothing was made"
    );
    // A flood of new conversations runs dry.
    let mut refused = false;
    for i in 0..7 {
        let (status, _) = open_conversation(&server, &ana_conn, &names[..=i]).await;
        assert_eq!(status, 200);
    }
    for i in 0..40 {
        let other = format!("flood{i}");
        let _s = welcome(&server, &other, &other).await;
        let (status, _) = open_conversation(&server, &ana_conn, &[other.as_str()]).await;
        if status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "opening conversations is rate limited");
}

#[tokio::test]
async fn a_private_room_is_invisible_until_its_owner_invites() {
    let server = start().await;
    let (mut ana, ana_conn) = welcome(&server, "ana", "ana").await;
    let (mut bo, bo_conn) = welcome(&server, "bo", "bo").await;

    let room = create_private(&server, &ana_conn, "Plans").await;
    assert_eq!(room.kind, RoomKind::Private);
    assert!(room.owner);
    assert!(room.slug.starts_with("plans-"), "{}", room.slug);
    // Not announced to anyone.
    assert_no_news(&mut bo).await;
    join(&server, &ana_conn, &room.slug).await;
    send(&mut ana, &room.slug, "plan-msg-001", "secret plan").await;
    assert_hidden(&server, &mut bo, &bo_conn, "bo", &room.slug).await;
    // Bo's first counts (on a new socket) do not mention it either.
    let cookie = browser_cookie(&server, "bo", "bo").await;
    let mut tab = open_socket(&server, Some(&cookie)).await;
    let _welcome = next_event_or_counts(&mut tab).await;
    match next_event_or_counts(&mut tab).await {
        ServerEvent::Counts { rooms } => {
            assert!(rooms.iter().all(|c| c.slug != room.slug), "{rooms:?}");
        }
        other => panic!("expected counts, got {other:?}"),
    }

    // Only the owner invites.
    let by_bo = call(
        &server,
        ChangeMembers {
            conn: bo_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Invite("bo".into()),
        },
    )
    .await;
    assert_eq!(by_bo.0, 404, "bo cannot see it, so it is missing to him");
    let members: Vec<MemberInfo> = ok(
        &server,
        ChangeMembers {
            conn: ana_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Invite("Bo".into()),
        },
    )
    .await;
    assert!(members.iter().any(|m| m.name == "bo"), "{members:?}");
    match next_news(&mut bo).await {
        ServerEvent::RoomAdded { room: added } => assert_eq!(added.slug, room.slug),
        other => panic!("expected room_added, got {other:?}"),
    }
    let joined = join(&server, &bo_conn, &room.slug).await;
    assert_eq!(joined.messages.len(), 1, "the history is his now");
    let members: Vec<MemberInfo> = ok(
        &server,
        RoomMembers {
            conn: bo_conn.clone(),
            room: room.slug.clone(),
        },
    )
    .await;
    let names: Vec<(&str, bool)> = members.iter().map(|m| (m.name.as_str(), m.owner)).collect();
    assert_eq!(names, [("ana", true), ("bo", false)]);
    // Bo may not invite or remove.
    let (status, _) = call(
        &server,
        ChangeMembers {
            conn: bo_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Remove("ana".into()),
        },
    )
    .await;
    assert_eq!(status, 422);

    // Removed: his socket leaves the room at once and he cannot come back.
    let _: Vec<MemberInfo> = ok(
        &server,
        ChangeMembers {
            conn: ana_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Remove("bo".into()),
        },
    )
    .await;
    match next_news(&mut bo).await {
        ServerEvent::RoomRemoved { room: gone } => assert_eq!(gone, room.slug),
        other => panic!("expected room_removed, got {other:?}"),
    }
    send(&mut ana, &room.slug, "plan-msg-002", "after bo").await;
    assert_hidden(&server, &mut bo, &bo_conn, "bo", &room.slug).await;

    // Invited again, he may leave by himself; the owner may not.
    let _: Vec<MemberInfo> = ok(
        &server,
        ChangeMembers {
            conn: ana_conn.clone(),
            room: room.slug.clone(),
            change: MemberChange::Invite("bo".into()),
        },
    )
    .await;
    let quit = |conn: &str| ChangeMembers {
        conn: conn.into(),
        room: room.slug.clone(),
        change: MemberChange::Leave,
    };
    assert_eq!(call(&server, quit(&ana_conn)).await.0, 422);
    assert_eq!(call(&server, quit(&bo_conn)).await.0, 200);
    assert!(!rooms_of(&server, "bo", "bo")
        .await
        .iter()
        .any(|r| r.slug == room.slug));
}

#[tokio::test]
async fn a_mention_elsewhere_alerts_and_badges_the_person_named() {
    let server = start().await;
    let (mut ana, ana_conn) = welcome(&server, "ana", "ana").await;
    let (mut bo, bo_conn) = welcome(&server, "bo", "Bo Li").await;
    join(&server, &ana_conn, "general").await;
    join(&server, &bo_conn, "random").await;

    send(&mut ana, "general", "mention-0001", "hey @bo li, look").await;
    let stored = match next_news(&mut ana).await {
        ServerEvent::Message { msg, .. } => msg,
        other => panic!("expected the message, got {other:?}"),
    };
    assert_eq!(stored.mentions, ["Bo Li"]);
    match next_news(&mut bo).await {
        ServerEvent::Alert {
            room,
            n,
            name,
            mention,
            ..
        } => {
            assert_eq!(
                (room.as_str(), n, name.as_str(), mention),
                ("general", stored.n, "ana", true)
            );
        }
        other => panic!("expected an alert, got {other:?}"),
    }
    // A plain message in a room Bo hears mentions of only: nothing.
    send(&mut ana, "general", "mention-0002", "no names here").await;
    assert_no_news(&mut bo).await;
    // The badge is kept for him.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let general = rooms_of(&server, "bo", "Bo Li")
        .await
        .into_iter()
        .find(|r| r.slug == "general")
        .unwrap();
    assert_eq!(general.mentioned, stored.seq);

    // Everything: every message alerts; nothing: none, not even a mention's notice.
    let _: () = ok(
        &server,
        SetNotify {
            conn: bo_conn.clone(),
            room: "general".into(),
            level: NotifyLevel::Everything,
        },
    )
    .await;
    send(&mut ana, "general", "mention-0003", "plain").await;
    match next_news(&mut bo).await {
        ServerEvent::Alert { mention, text, .. } => {
            assert_eq!((mention, text.as_str()), (false, "plain"))
        }
        other => panic!("expected an alert, got {other:?}"),
    }
    let _: () = ok(
        &server,
        SetNotify {
            conn: bo_conn.clone(),
            room: "general".into(),
            level: NotifyLevel::Nothing,
        },
    )
    .await;
    send(&mut ana, "general", "mention-0004", "plain again").await;
    assert_no_news(&mut bo).await;
    // Their own message never alerts the writer (who is told it is stored).
    send(&mut bo, "general", "mention-0005", "me, @Bo Li").await;
    assert!(matches!(next_news(&mut bo).await, ServerEvent::Ack { .. }));
    assert_no_news(&mut bo).await;
}

#[tokio::test]
async fn a_registered_readers_marks_follow_them_to_every_device() {
    let server = start().await;
    let cookie = browser_cookie(&server, "ana", "ana").await;
    let (status, body, cookie) = call_with_cookie(
        &server,
        Some(&cookie),
        Register {
            name: "ana".into(),
            password: "correct horse battery".into(),
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a new session");
    let mut phone = open_socket(&server, Some(&cookie)).await;
    let mut laptop = open_socket(&server, Some(&cookie)).await;
    let phone_conn = match next_event(&mut phone).await {
        ServerEvent::Welcome { conn, .. } => conn,
        other => panic!("{other:?}"),
    };
    let _ = next_event(&mut laptop).await;
    let (mut bo, bo_conn) = welcome(&server, "bo", "bo").await;
    join(&server, &bo_conn, "general").await;
    join(&server, &phone_conn, "general").await;
    for i in 0..3 {
        send(&mut bo, "general", &format!("read-msg-{i:03}"), "news").await;
    }
    let mut last = 0;
    while last < 3 {
        if let ServerEvent::Message { msg, .. } = next_news(&mut phone).await {
            last = msg.n;
        }
    }
    let read = ClientFrame::Read {
        room: "general".into(),
        n: last,
    };
    phone.send(Message::text(read.encode())).await.unwrap();
    match next_news(&mut laptop).await {
        ServerEvent::Read { room, n } => assert_eq!((room.as_str(), n), ("general", last)),
        other => panic!("expected the read mark, got {other:?}"),
    }
    // Kept: a new device starts from it. A mark that goes back changes nothing.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, body, _) = call_with_cookie(&server, Some(&cookie), ListRooms {}).await;
    let rooms: Vec<RoomInfo> = serde_json::from_str(&body).unwrap();
    let general = rooms.iter().find(|r| r.slug == "general").unwrap();
    assert_eq!(general.read, Some(last));
    let back = ClientFrame::Read {
        room: "general".into(),
        n: 1,
    };
    phone.send(Message::text(back.encode())).await.unwrap();
    assert_no_news(&mut laptop).await;

    // A guest's marks stay in their browser: nothing is kept or sent.
    let mut seen = 0;
    while seen < last {
        if let ServerEvent::Message { msg, .. } = next_news(&mut bo).await {
            seen = msg.n;
        }
    }
    let read = ClientFrame::Read {
        room: "general".into(),
        n: last,
    };
    bo.send(Message::text(read.encode())).await.unwrap();
    assert_no_news(&mut bo).await;
    let guest_general = rooms_of(&server, "bo", "bo")
        .await
        .into_iter()
        .find(|r| r.slug == "general")
        .unwrap();
    assert_eq!(guest_general.read, None);
}
