//! `natter admin` moderation, rooms and people against a running server: each command is
//! carried out by the server (a ban closes the person's sockets at once), printed, and
//! kept in the audit log; one asked while no server runs waits for the next to start.

use std::time::Duration;

use futures_util::StreamExt;
use natter::api::accounts::Register;
use natter::api::rooms::ListRooms;
use natter::protocol::ServerEvent;
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::binary::{natter, Natter};
use support::{arrive, call, call_with_cookie, guest_cookie, next_event};

/// Runs `natter admin <args>` on `database`: exit status, stdout and stderr together.
async fn admin(database: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut command = natter();
    command
        .arg("--database")
        .arg(database)
        .arg("admin")
        .args(args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

async fn register(server: &Natter, name: &str) {
    let guest = guest_cookie(server, None, name).await.unwrap();
    let register = Register {
        name: name.into(),
        password: "correct horse battery".into(),
    };
    let (status, body, _) = call_with_cookie(server, Some(&guest), register).await;
    assert_eq!(status, 200, "{body}");
}

async fn titles(server: &Natter) -> Vec<String> {
    let (status, body) = call(server, ListRooms {}).await;
    assert_eq!(status, 200, "{body}");
    let rooms: Vec<natter::protocol::RoomInfo> = serde_json::from_str(&body).unwrap();
    rooms.into_iter().map(|r| r.title).collect()
}

#[tokio::test]
async fn admin_commands_act_on_the_running_server_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Natter::start(&db, &[]).await;
    register(&server, "ana").await;
    register(&server, "bo").await;

    let (ok, said) = admin(&db, &["promote", "bo"]).await;
    assert!(ok, "{said}");
    assert!(said.contains("made @bo a server admin"), "{said}");
    // Who is not there is refused, clearly, and the command fails.
    let (ok, said) = admin(&db, &["promote", "nobody"]).await;
    assert!(!ok && said.contains("nobody called"), "{said}");

    // A ban from the server closes the person's socket at once.
    let (mut cy, _) = arrive(&server, "user-cy-00001", "cy", "general").await;
    let (ok, said) = admin(&db, &["ban", "cy"]).await;
    assert!(ok && said.contains("banned @cy from this server"), "{said}");
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match cy.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(4003));

    // Rooms: made, renamed, archived (listed no more), brought back.
    let (ok, said) = admin(
        &db,
        &["room", "create", "Book club", "--topic", "What we read"],
    )
    .await;
    assert!(ok && said.contains("made #book-club"), "{said}");
    assert!(titles(&server).await.contains(&"Book club".to_owned()));
    let (ok, said) = admin(&db, &["room", "rename", "book-club", "Readers"]).await;
    assert!(ok, "{said}");
    assert!(titles(&server).await.contains(&"Readers".to_owned()));
    let (ok, said) = admin(&db, &["room", "archive", "book-club"]).await;
    assert!(ok, "{said}");
    assert!(!titles(&server).await.contains(&"Readers".to_owned()));
    let (ok, said) = admin(&db, &["room", "archive", "book-club", "--undo"]).await;
    assert!(ok, "{said}");
    assert!(titles(&server).await.contains(&"Readers".to_owned()));

    // The audit log has each, newest first.
    let (ok, said) = admin(&db, &["audit"]).await;
    assert!(ok, "{said}");
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].contains("unarchive room"), "{said}");
    assert!(said.contains("natter admin · server ban · cy"), "{said}");
    assert!(said.contains("natter admin · admin · bo"), "{said}");
}

#[tokio::test]
async fn a_purge_removes_the_persons_messages_each_as_an_event_and_ends_their_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Natter::start(&db, &[]).await;
    register(&server, "ana").await;
    let (mut watcher, _) = arrive(&server, "user-wat-0001", "watcher", "general").await;
    let (mut spam, _) = arrive(&server, "user-spam-001", "spam", "general").await;
    for i in 0..3 {
        support::send(&mut spam, "general", &format!("spam-msg-{i:04}"), "buy").await;
    }
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        if let ServerEvent::Message { msg, .. } = next_event(&mut watcher).await {
            seqs.push(msg.seq);
        }
    }
    let (ok, said) = admin(&db, &["purge", "spam", "--remove-messages"]).await;
    assert!(ok && said.contains("3 messages removed"), "{said}");
    // Each removal reached the room as an event of its own.
    let mut removed = Vec::new();
    while removed.len() < 3 {
        if let ServerEvent::Update { update, .. } = next_event(&mut watcher).await {
            assert_eq!(update.change, natter::protocol::Change::Removed);
            removed.push(update.target);
        }
    }
    assert_eq!(removed, seqs);
    // Their socket is closed as signed out: the session is gone.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match spam.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    assert_eq!(closed.await.unwrap(), Some(4001));
}

#[tokio::test]
async fn a_request_made_while_no_server_runs_is_carried_out_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut server = Natter::start(&db, &[]).await;
    register(&server, "ana").await;
    server.kill9();
    let (ok, said) = admin(&db, &["room", "create", "Later"]).await;
    assert!(ok && said.contains("queued"), "{said}");
    server.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !titles(&server).await.contains(&"Later".to_owned()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queued room never came"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
