//! `/metrics` on its own address: off by default; when on, Prometheus' text format with
//! the server's connections, joins, deliveries, commits and their latency, queued bytes,
//! WAL size and pushes, moving as the chat does.

use std::collections::HashMap;

mod support;

use support::binary::{free_port, Natter};
use support::{arrive, next_event, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Scrapes `/metrics` at `addr`: each sample line's value by its name (labels included).
async fn scrape(addr: std::net::SocketAddr) -> HashMap<String, f64> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.to_lowercase().contains("content-type: text/plain"),
        "{head}"
    );
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_follow_the_chat_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let address = metrics.to_string();
    let server = Natter::start(&dir.path().join("m.db"), &["--metrics-addr", &address]).await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, _) = arrive(&server, "user-bo-00001", "bo", "general").await;
    next_event(&mut ana).await; // bo joined
    for i in 0..3 {
        send(&mut ana, "general", &format!("metric-{i:04}"), "counted").await;
        next_event(&mut ana).await;
        next_event(&mut bo).await;
    }
    let m = scrape(metrics).await;
    assert_eq!(m["natter_connections"], 2.0);
    assert_eq!(m["natter_joins_total"], 2.0);
    assert!(m["natter_deliveries_total"] >= 6.0, "{m:?}");
    assert!(m["natter_commit_seconds_count"] >= 1.0, "{m:?}");
    assert!(
        m.contains_key("natter_commit_seconds_bucket{le=\"0.01\"}"),
        "{m:?}"
    );
    assert!(m.contains_key("natter_queued_bytes"));
    assert!(m["natter_wal_bytes"] > 0.0, "{m:?}");
    assert!(m.contains_key("natter_pushes_total{outcome=\"delivered\"}"));
    // The app's own address does not serve it.
    let (head, _) = {
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        answer
            .split_once("\r\n\r\n")
            .map(|(h, b)| (h.to_owned(), b.to_owned()))
            .unwrap()
    };
    assert!(!head.contains(" 200"), "{head}");
}
