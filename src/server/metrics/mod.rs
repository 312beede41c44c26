//! `/metrics`, in Prometheus' text format, on a listen address of its own
//! (`--metrics-addr`, off by default), through the `metrics` crates.
//!
//! Events are counted where they happen — joins, deliveries, slow clients cut off,
//! commits and how long they took — with handles made once, so the hot path pays one
//! atomic add (nothing at all while metrics are off: the handles are no-ops). What is a
//! state rather than an event — connections, bytes queued, the WAL's size, pushes — is
//! read when Prometheus asks.
//!
//! - [`counters`]: the events' handles, for the code that counts (it imports nothing of
//!   the server, so anything may use it).

pub mod counters;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::server::chat::hub::Hub;
use crate::server::push::Push;

/// The process's recorder: one, however many servers a test process starts.
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Buckets of the delivery timings, seconds: natter-bench reads how many took over 10 ms.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

/// Installs the recorder (once per process) and returns its handle.
fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("natter_commit_seconds".into()),
                    &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
                )
                .expect("valid buckets")
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("natter_fanout_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .expect("valid buckets")
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("natter_send_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Only fails when another recorder is set: then that one records.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What the scrape reads at the moment it asks.
#[derive(Clone)]
struct Live {
    handle: PrometheusHandle,
    hub: Arc<Hub>,
    push: Arc<Push>,
    wal: PathBuf,
}

/// Serves `/metrics` on `addr` until the process ends. Call before any event is counted
/// (the handles above bind to the recorder installed here).
pub async fn serve(
    addr: SocketAddr,
    hub: Arc<Hub>,
    push: Arc<Push>,
    database: &std::path::Path,
) -> std::io::Result<SocketAddr> {
    let live = Live {
        handle: recorder(),
        hub,
        push,
        wal: wal_of(database),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state(live.clone());
    // The recorder keeps histograms as they come; this drains them into their buckets.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            live.handle.run_upkeep();
        }
    });
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

fn wal_of(database: &std::path::Path) -> PathBuf {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

async fn scrape(State(live): State<Live>) -> ([(&'static str, &'static str); 1], String) {
    let hub = &live.hub;
    metrics::gauge!("natter_connections").set(hub.connection_count() as f64);
    metrics::gauge!("natter_queued_bytes").set(hub.queued_bytes() as f64);
    let wal = std::fs::metadata(&live.wal).map_or(0, |m| m.len());
    metrics::gauge!("natter_wal_bytes").set(wal as f64);
    let push = live.push.stats();
    for (outcome, count) in [
        ("delivered", push.delivered),
        ("retried", push.retried),
        ("pruned", push.pruned),
        ("failed", push.failed),
        ("dropped", push.dropped),
    ] {
        metrics::counter!("natter_pushes_total", "outcome" => outcome).absolute(count);
    }
    live.handle.run_upkeep();
    (
        [("content-type", "text/plain; version=0.0.4")],
        live.handle.render(),
    )
}
