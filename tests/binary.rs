//! The `natter` binary as an operator runs it: flags, health check, clean shutdown.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use natter::protocol::ServerEvent;
use tokio_tungstenite::tungstenite::Message;

use support::binary::{free_port, natter};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[test]
fn help_lists_every_setting() {
    let out = natter().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--addr",
        "NATTER_ADDR",
        "--database",
        "NATTER_DATABASE",
        "--queue",
        "--send-rate",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[tokio::test]
async fn serves_health_and_shuts_down_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = dir.path().join("sub").join("natter.db");
    let child = natter()
        .env("NATTER_ADDR", format!("127.0.0.1:{port}"))
        .env("NATTER_DATABASE", &db)
        .env("NATTER_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Running(child);

    // Up, with its database created (folder included) on first start.
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while let Err(err) = tokio::net::TcpStream::connect(addr).await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "natter did not start: {err}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(db.exists());
    // Signed in as a guest, the session cookie opens a socket that is welcomed by name.
    let cookie = support::guest_cookie(&addr, None, "ops")
        .await
        .unwrap_or_else(|refusal| panic!("signing in: {refusal:?}"));
    let mut ws = support::open_socket(&addr, Some(&cookie)).await;
    match support::next_event(&mut ws).await {
        ServerEvent::Welcome { name, .. } => assert_eq!(name, "ops"),
        other => panic!("expected welcome, got {other:?}"),
    }

    // SIGTERM: the socket is closed with "going away", and the process exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = ws.next().await {
            if let Ok(Message::Close(Some(close))) = frame {
                return Some(close);
            }
        }
        None
    })
    .await
    .expect("closed within 5 s")
    .expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    drop(ws);
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}
