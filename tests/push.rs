//! Web Push end to end: the server's push queue (`Push::notify`) against a stand-in push
//! service on loopback (`end2end/push-service.mjs`, Node). The stand-in checks the VAPID
//! token (ES256 signature with the `k` key, `aud`, `exp` at most 24 h ahead), `TTL` and
//! `Content-Encoding: aes128gcm`, and decrypts the body with http_ece — an RFC 8291
//! implementation independent of ours — with the subscription keys it made; this test
//! compares what it decrypted with what was sent. Its next answer is 410, and the
//! subscription must then be gone.
//!
//! Needs Node.js and `end2end`'s packages (`scripts/test` installs both and sets
//! `NATTER_REQUIRE_NODE=1`); without them, and without that variable, it is skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use natter::api::push::{PushKey, PushSubscribe, PushUnsubscribe};
use natter::protocol::AppError;
use natter::server::config::Config;
use natter::server::net::ssrf::Reach;
use natter::server::push::{Push, PushConfig, PushNotice};
use natter::server::store::{PushStore, SqliteStore};
use serde_json::Value;

mod support;
use support::{call, call_with_cookie, guest_cookie};

struct StandIn {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl StandIn {
    fn start() -> Option<(StandIn, Value)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let required = std::env::var_os("NATTER_REQUIRE_NODE").is_some();
        if !root.join("end2end/node_modules/http_ece").exists() {
            assert!(
                !required,
                "end2end/node_modules lacks http_ece: npm ci in end2end"
            );
            eprintln!("skipped: needs end2end's npm packages (scripts/test installs them)");
            return None;
        }
        let spawned = Command::new("node")
            .arg(root.join("end2end/push-service.mjs"))
            .current_dir(root.join("end2end"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) if required => panic!("node: {err}"),
            Err(_) => {
                eprintln!("skipped: needs Node.js (scripts/test installs it)");
                return None;
            }
        };
        let lines = read_lines(child.stdout.take().unwrap());
        let stand_in = StandIn { child, lines };
        let hello = stand_in.next();
        Some((stand_in, hello))
    }

    fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(15))
            .expect("the stand-in said nothing")
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx
                .send(serde_json::from_str(&line).expect("JSON line"))
                .is_err()
            {
                break;
            }
        }
    });
    rx
}

// Multi-threaded: the test waits for the stand-in's lines on its own thread while the
// push queue works on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_reaches_the_service_encrypted_and_signed_then_410_deletes_it() {
    let Some((service, hello)) = StandIn::start() else {
        return;
    };
    let port = hello["port"].as_u64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let config = PushConfig {
        contact: "mailto:ops@example.com".into(),
        reach: Reach { loopback: true },
        ..PushConfig::default()
    };
    let push = Push::start(store.clone(), config).await.unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/push/browser-1");
    push.subscribe(
        "ana-id",
        &endpoint,
        hello["p256dh"].as_str().unwrap(),
        hello["auth"].as_str().unwrap(),
    )
    .await
    .unwrap();

    let notice = PushNotice {
        room: "general".into(),
        seq: 12,
        title: "bo in #general".into(),
        body: "Grüße, @ana — ünïcödé and \"quotes\"".into(),
    };
    push.notify("ana-id", notice.clone());
    let got = service.next();
    assert_eq!(got["errors"], serde_json::json!([]), "{got}");
    assert_eq!(got["path"], "/push/browser-1");
    assert_eq!(got["encoding"], "aes128gcm");
    assert_eq!(got["ttl"], "86400");
    assert_eq!(got["claims"]["aud"], format!("http://127.0.0.1:{port}"));
    assert_eq!(got["claims"]["sub"], "mailto:ops@example.com");
    let decrypted: Value = serde_json::from_str(got["payload"].as_str().unwrap()).unwrap();
    let sent: Value = serde_json::from_slice(&notice.payload()).unwrap();
    assert_eq!(decrypted, sent);
    assert_eq!(decrypted["url"], "/r/general");
    assert_eq!(decrypted["body"], "Grüße, @ana — ünïcödé and \"quotes\"");

    // The browser unsubscribed since: the service answers 410.
    push.notify("ana-id", notice);
    assert_eq!(service.next()["gone"], true);
    for _ in 0..500 {
        if push.stats().pruned == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(push.stats().pruned, 1, "{:?}", push.stats());
    assert!(store.push_subscriptions("ana-id").await.unwrap().is_empty());
    assert_eq!(push.stats().delivered, 1);
}

/// The server functions, through the real router: the key, subscribing (bad input
/// refused with a reason, nothing stored) and unsubscribing.
#[tokio::test]
async fn the_page_gets_the_key_and_bad_subscriptions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let config = Config::parse_from(["natter", "--database", db.to_str().unwrap()]);
    let state = natter::server::app_state(&config).await.unwrap();
    let key = state.push.public_key().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = natter::server::router(state);
    tokio::spawn(natter::server::serve(
        listener,
        router,
        std::future::pending(),
    ));

    let (status, body) = call(&addr, PushKey {}).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<String>(&body).unwrap(), key);
    assert_eq!(key.len(), 87, "65 bytes, base64url");

    let p256dh =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    let subscription = |endpoint: &str| PushSubscribe {
        endpoint: endpoint.into(),
        p256dh: p256dh.into(),
        auth: "BTBZMqHH6r4Tts7J_aSIgg".into(),
    };
    let ok = "https://push.example.com/wpush/v2/abc";
    let (status, body) = call(&addr, subscription(ok)).await;
    assert_eq!(status, 401, "signed out: {body}");

    let cookie = guest_cookie(&addr, None, "ana").await.unwrap();
    for (endpoint, why) in [
        ("http://push.example.com/x", "https"),
        ("http://127.0.0.1:9/x", "https"),
        ("https://169.254.169.254/latest", "public"),
        ("https://[::ffff:10.0.0.1]/x", "public"),
    ] {
        let (status, body, _) =
            call_with_cookie(&addr, Some(&cookie), subscription(endpoint)).await;
        assert_eq!(status, 422, "{endpoint}: {body}");
        let err: AppError = serde_json::from_str(&body).unwrap();
        assert!(
            matches!(&err, AppError::Invalid(m) if m.starts_with("Push subscription refused") && m.contains(why)),
            "{endpoint}: {err}"
        );
    }
    // A guest's user id is the server's secret: count every subscription instead.
    let count_subscriptions = || {
        let db = rusqlite::Connection::open(&db).unwrap();
        db.query_row("SELECT count(*) FROM push_subscriptions", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(count_subscriptions(), 0, "nothing stored");

    let (status, body, _) = call_with_cookie(&addr, Some(&cookie), subscription(ok)).await;
    assert_eq!((status, body.as_str()), (200, "null"));
    assert_eq!(count_subscriptions(), 1);
    let (status, _, _) = call_with_cookie(
        &addr,
        Some(&cookie),
        PushUnsubscribe {
            endpoint: ok.into(),
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(count_subscriptions(), 0);
}

/// Through the real server: a direct message reaches its reader's push service while no
/// tab of theirs is in front of them, and not while one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_is_pushed_only_when_no_tab_is_in_front() {
    use futures_util::SinkExt;
    use natter::api::people::OpenConversation;
    use natter::protocol::{ClientFrame, RoomInfo};
    use support::in_process::start_with;
    use support::{browser_cookie, join, send, welcome};
    use tokio_tungstenite::tungstenite::Message;

    let Some((service, hello)) = StandIn::start() else {
        return;
    };
    let port = hello["port"].as_u64().unwrap();
    let server = start_with(&["--push-allow-loopback"]).await;
    let (mut ana, ana_conn) = welcome(&server, "ana", "ana").await;
    let (mut bo, _bo_conn) = welcome(&server, "bo", "bo").await;
    let bo_cookie = browser_cookie(&server, "bo", "bo").await;
    let subscribe = PushSubscribe {
        endpoint: format!("http://127.0.0.1:{port}/push/bo-phone"),
        p256dh: hello["p256dh"].as_str().unwrap().into(),
        auth: hello["auth"].as_str().unwrap().into(),
    };
    let (status, body, _) = call_with_cookie(&server, Some(&bo_cookie), subscribe).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = call(
        &server,
        OpenConversation {
            conn: ana_conn.clone(),
            names: vec!["bo".into()],
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let dm: RoomInfo = serde_json::from_str(&body).unwrap();
    join(&server, &ana_conn, &dm.slug).await;

    // Bo's tab is in front of him: an alert on the socket, no push.
    send(&mut ana, &dm.slug, "push-dm-0001", "while you look").await;
    assert!(
        service
            .lines
            .recv_timeout(Duration::from_millis(700))
            .is_err(),
        "no push while a tab is visible"
    );
    // He switches away.
    let hidden = ClientFrame::Visibility { visible: false };
    bo.send(Message::text(hidden.encode())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(&mut ana, &dm.slug, "push-dm-0002", "are you there?").await;
    let got = service.next();
    assert_eq!(got["errors"], serde_json::json!([]), "{got}");
    let payload: Value = serde_json::from_str(got["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["title"], "ana");
    assert_eq!(payload["body"], "are you there?");
    assert_eq!(payload["url"], format!("/r/{}", dm.slug));
}
