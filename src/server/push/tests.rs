//! The queue against a push-service stand-in on 127.0.0.1: retries with backoff,
//! giving up, pruning on 404/410, dropping when full, and what a subscription must be.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;

use super::*;
use crate::server::store::SqliteStore;

// RFC 8291 Appendix A's browser keys: any valid pair would do.
const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

/// One request the stand-in got.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    at: Instant,
}

/// Answers each path with its scripted statuses in turn, then 201; `hang` paths never
/// answer.
#[derive(Clone, Default)]
struct StandIn {
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    async fn start(script: &[(&str, &[u16])]) -> (StandIn, SocketAddr) {
        let stand_in = StandIn::default();
        for (path, statuses) in script {
            stand_in
                .script
                .lock()
                .unwrap()
                .insert(path.to_string(), statuses.iter().copied().collect());
        }
        let app = axum::Router::new()
            .route("/{path}", axum::routing::post(answer))
            .with_state(stand_in.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (stand_in, addr)
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == path).cloned().collect()
    }
}

async fn answer(
    State(stand_in): State<StandIn>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> axum::response::Response {
    stand_in.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers,
        at: Instant::now(),
    });
    if path.starts_with("hang") {
        std::future::pending::<()>().await;
    }
    let next = stand_in
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(201);
    let status = StatusCode::from_u16(next).unwrap();
    if next == 429 {
        return (status, [("retry-after", "0")]).into_response();
    }
    status.into_response()
}

fn test_config() -> PushConfig {
    PushConfig {
        reach: Reach { loopback: true },
        attempts: 3,
        backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        ..PushConfig::default()
    }
}

async fn start(config: PushConfig) -> (Arc<Push>, Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let push = Push::start(store.clone(), config).await.unwrap();
    (push, store, dir)
}

/// Subscribes "ana" at the stand-in's `path`.
async fn subscribe(push: &Push, addr: SocketAddr, path: &str) {
    let endpoint = format!("http://{addr}/{path}");
    push.subscribe("ana", &endpoint, P256DH, AUTH)
        .await
        .unwrap();
}

fn notice() -> PushNotice {
    PushNotice {
        room: "general".into(),
        seq: 7,
        title: "ana in #general".into(),
        body: "hello".into(),
    }
}

/// Waits (at most 10 s) until the stats say `done`.
async fn until(push: &Push, done: impl Fn(PushStats) -> bool) -> PushStats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = push.stats();
        if done(stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "timed out: {stats:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn endpoints(store: &SqliteStore, user: &str) -> Vec<String> {
    let subs = store.push_subscriptions(user).await.unwrap();
    subs.into_iter().map(|s| s.endpoint).collect()
}

#[tokio::test]
async fn busy_and_failing_services_are_retried_with_backoff() {
    let (service, addr) = StandIn::start(&[("a", &[503, 429])]).await;
    let (push, _store, _dir) = start(test_config()).await;
    subscribe(&push, addr, "a").await;
    push.notify("ana", notice());
    let stats = until(&push, |s| s.delivered == 1).await;
    assert_eq!((stats.retried, stats.failed), (2, 0));
    let seen = service.seen("a");
    assert_eq!(seen.len(), 3, "503, 429, then delivered");
    // The first retry waited for the backoff (40 ms or a little more); the 429's
    // `Retry-After: 0` sent the third at once.
    let first_wait = seen[1].at - seen[0].at;
    assert!(first_wait >= Duration::from_millis(40), "{first_wait:?}");
    let headers = &seen[2].headers;
    assert_eq!(headers["content-encoding"], "aes128gcm");
    assert_eq!(headers["ttl"], "86400");
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(authorization.starts_with("vapid t="), "{authorization}");
    assert!(authorization.ends_with(&format!(", k={}", push.public_key())));
}

#[tokio::test]
async fn a_push_that_keeps_failing_is_given_up_after_the_last_try() {
    let (service, addr) = StandIn::start(&[("down", &[500, 502, 503, 504])]).await;
    let (push, store, _dir) = start(test_config()).await;
    let endpoint = format!("http://{addr}/down");
    push.subscribe("ana", &endpoint, P256DH, AUTH)
        .await
        .unwrap();
    push.notify("ana", notice());
    let stats = until(&push, |s| s.failed == 1).await;
    assert_eq!((stats.delivered, stats.retried), (0, 3));
    assert_eq!(service.seen("down").len(), 3, "three tries, no more");
    assert_eq!(endpoints(&store, "ana").await, vec![endpoint], "kept");
}

#[tokio::test]
async fn an_unreachable_service_is_retried_then_given_up() {
    // A port nobody listens on: connection refused, which may pass.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (push, _store, _dir) = start(test_config()).await;
    subscribe(&push, addr, "x").await;
    push.notify("ana", notice());
    let stats = until(&push, |s| s.failed == 1).await;
    assert_eq!(stats.retried, 3);
}

#[tokio::test]
async fn gone_subscriptions_are_deleted_and_others_kept() {
    let (service, addr) =
        StandIn::start(&[("gone", &[410]), ("missing", &[404]), ("bad", &[400])]).await;
    let (push, store, _dir) = start(test_config()).await;
    for path in ["gone", "missing", "bad", "fine"] {
        subscribe(&push, addr, path).await;
    }
    push.notify("ana", notice());
    let stats = until(&push, |s| s.pruned + s.failed + s.delivered == 4).await;
    assert_eq!(
        (stats.pruned, stats.failed, stats.delivered, stats.retried),
        (2, 1, 1, 0)
    );
    assert_eq!(service.seen("bad").len(), 1, "a 400 is not retried");
    let mut left = endpoints(&store, "ana").await;
    left.sort();
    assert_eq!(
        left,
        vec![format!("http://{addr}/bad"), format!("http://{addr}/fine")]
    );
}

#[tokio::test]
async fn notify_never_waits_and_a_full_queue_drops() {
    let (_service, addr) = StandIn::start(&[]).await;
    let config = PushConfig {
        queue: 2,
        concurrency: 1,
        timeout: Duration::from_secs(30),
        ..test_config()
    };
    let (push, _store, _dir) = start(config).await;
    // A push service that never answers holds the only delivery slot.
    subscribe(&push, addr, "hang").await;
    let began = Instant::now();
    for _ in 0..50 {
        push.notify("ana", notice());
    }
    assert!(
        began.elapsed() < Duration::from_millis(50),
        "notify does not wait"
    );
    let stats = until(&push, |s| s.dropped > 0).await;
    assert!(stats.dropped >= 45, "{stats:?}");
}

#[tokio::test]
async fn bad_subscriptions_are_refused_and_nothing_is_stored() {
    let (push, store, _dir) = start(PushConfig::default()).await;
    let refused = [
        ("http://push.example.com/x", P256DH, AUTH),
        ("http://127.0.0.1:9/x", P256DH, AUTH),
        ("https://127.0.0.1/x", P256DH, AUTH),
        ("https://10.1.2.3/x", P256DH, AUTH),
        ("not a url", P256DH, AUTH),
        ("https://push.example.com/x", "BAAA", AUTH),
        ("https://push.example.com/x", "!!", AUTH),
        ("https://push.example.com/x", P256DH, "c2hvcnQ"),
    ];
    for (endpoint, p256dh, auth) in refused {
        let err = push
            .subscribe("ana", endpoint, p256dh, auth)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AppError::Invalid(why) if why.starts_with("Push subscription refused")),
            "{endpoint}: {err:?}"
        );
    }
    assert!(endpoints(&store, "ana").await.is_empty());
    let long = format!("https://push.example.com/{}", "x".repeat(3000));
    assert!(push.subscribe("ana", &long, P256DH, AUTH).await.is_err());
    push.subscribe("ana", "https://push.example.com/ok", P256DH, AUTH)
        .await
        .unwrap();
    push.unsubscribe("bo", "https://push.example.com/ok")
        .await
        .unwrap();
    assert_eq!(
        endpoints(&store, "ana").await.len(),
        1,
        "not bo's to remove"
    );
    push.unsubscribe("ana", "https://push.example.com/ok")
        .await
        .unwrap();
    assert!(endpoints(&store, "ana").await.is_empty());
}

#[test]
fn backoff_doubles_within_bounds() {
    let config = PushConfig {
        backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
        ..PushConfig::default()
    };
    for (attempt, base) in [(1, 1), (2, 2), (3, 4), (6, 30), (40, 30)] {
        let wait = backoff(&config, attempt);
        let base = Duration::from_secs(base);
        assert!(
            wait >= base && wait <= base + base / 4,
            "{attempt}: {wait:?}"
        );
    }
    // The keys decode in either base64url form browsers and libraries use.
    assert_eq!(decode_key(AUTH), decode_key("BTBZMqHH6r4Tts7J_aSIgg=="));
    assert_eq!(decode_key(AUTH).unwrap(), B64URL.decode(AUTH).unwrap());
}

#[tokio::test]
async fn notices_for_users_without_subscriptions_cost_nothing() {
    let (_service, addr) = StandIn::start(&[("gone", &[410])]).await;
    let config = PushConfig {
        queue: 1,
        ..test_config()
    };
    let (push, store, dir) = start(config).await;
    for _ in 0..1000 {
        push.notify("nobody", notice());
    }
    assert_eq!(push.stats(), PushStats::default(), "not even queued");

    // Known after a restart too (the set is read from the store).
    let endpoint = format!("http://{addr}/gone");
    push.subscribe("ana", &endpoint, P256DH, AUTH)
        .await
        .unwrap();
    drop(push);
    let push = Push::start(store.clone(), test_config()).await.unwrap();
    push.notify("ana", notice());
    until(&push, |s| s.pruned == 1).await;
    // Gone now: the next notice finds no subscription, and the one after is not queued.
    push.notify("ana", notice());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!push.shared.has_subscribers("ana"));
    drop(dir);
}
