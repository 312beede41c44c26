//! The handles events are counted with (see `server::metrics`). Made on first use: a
//! no-op unless `/metrics` was started before.

use std::sync::LazyLock;

use metrics::{Counter, Histogram};

/// Clients that joined a room (`join_room` calls that subscribed a socket).
pub static JOINS: LazyLock<Counter> = LazyLock::new(|| metrics::counter!("natter_joins_total"));
/// Events queued for a client: one per event per recipient.
pub static DELIVERIES: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!("natter_deliveries_total"));
/// Clients cut off because their queue was full (close 1013, "too slow").
pub static CUT_OFF: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!("natter_slow_clients_cut_off_total"));
/// How long each group commit of messages took, disk flush included, in seconds.
pub static COMMIT_SECONDS: LazyLock<Histogram> =
    LazyLock::new(|| metrics::histogram!("natter_commit_seconds"));
/// From a batch of messages stored to its last write to a subscriber's socket, seconds.
pub static FANOUT_SECONDS: LazyLock<Histogram> =
    LazyLock::new(|| metrics::histogram!("natter_fanout_seconds"));
/// From a message's frame read off its sender's socket to its last write to a
/// subscriber's, seconds: the server's own share of its latency.
pub static SEND_SECONDS: LazyLock<Histogram> =
    LazyLock::new(|| metrics::histogram!("natter_send_seconds"));
