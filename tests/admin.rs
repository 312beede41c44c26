//! `natter admin backup` against a running server in a send storm: the copy passes
//! `PRAGMA integrity_check` and holds every message confirmed before the backup began;
//! a path it cannot write, or a file that exists, is refused with a clear error.
//! `natter admin export` writes the room as JSON beside the running server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use natter::protocol::ServerEvent;

mod support;

use support::binary::{natter, Natter};
use support::{arrive, next_event, send};

/// Runs `natter admin backup` on `database`, writing `to`: exit status, stdout, stderr.
async fn backup(database: &std::path::Path, to: &std::path::Path) -> (bool, String, String) {
    let mut command = natter();
    command
        .arg("--database")
        .arg(database)
        .args(["admin", "backup"])
        .arg(to);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_backup_during_a_send_storm_holds_every_confirmed_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Natter::start(&db, &["--send-rate", "10000", "--send-burst", "10000"]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;

    // The storm: ana sends without pause; what the server confirms is noted as it comes.
    let confirmed = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = {
        let (confirmed, stop) = (confirmed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..20 {
                    sent += 1;
                    send(&mut ana, "general", &format!("storm-{sent:08}"), "rain").await;
                }
                for _ in 0..20 {
                    if let ServerEvent::Message { msg, .. } = next_event(&mut ana).await {
                        confirmed.lock().unwrap().push(msg.cid);
                    }
                }
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before: Vec<String> = confirmed.lock().unwrap().clone();
    assert!(before.len() >= 20, "the storm is on: {}", before.len());
    let to = dir.path().join("backup.db");
    let (ok, out, err) = backup(&db, &to).await;
    assert!(ok, "{err}");
    assert!(out.contains("integrity_check: ok"), "{out}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = storm.await.unwrap();
    assert!(sent as usize > before.len());

    let copy = rusqlite::Connection::open(&to).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut kept = copy.prepare("SELECT cid FROM messages").unwrap();
    let kept: std::collections::HashSet<String> = kept
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let missing: Vec<&String> = before.iter().filter(|cid| !kept.contains(*cid)).collect();
    assert!(
        missing.is_empty(),
        "confirmed before the backup, not in it: {missing:?}"
    );

    // The room as JSON, beside the running server: every message confirmed so far.
    let mut command = natter();
    command
        .arg("--database")
        .arg(&db)
        .args(["admin", "export", "general"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let room: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(room["room"]["slug"], "general");
    assert!(room["messages"].as_array().unwrap().len() >= before.len());

    // Refusals: a file that exists, a folder that does not.
    let (ok, _, err) = backup(&db, &to).await;
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = backup(&db, &dir.path().join("nowhere/backup.db")).await;
    assert!(!ok && err.contains("cannot write the backup"), "{err}");
    drop(server);
}
