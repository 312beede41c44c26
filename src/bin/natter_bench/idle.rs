//! idle: N connections joined to rooms and held; what each costs the server in memory.

use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;

use crate::clients::connect_all;
use crate::receive::{self, Shared};
use crate::server::Stage;
use crate::Options;

#[derive(Debug, Serialize)]
pub struct Idle {
    pub connections: usize,
    pub joined: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_connection: f64,
    pub failures: usize,
    pub first_failure: Option<String>,
}

pub async fn idle(options: &Options) -> Result<Idle, String> {
    let Stage {
        slugs,
        server,
        cookie,
    } = Stage::set(options, "idle", options.shape.rooms).await?;
    // The baseline includes one connection's worth of first-use allocations (the runtime's
    // worker buffers, the database pools), which are no part of the per-connection cost.
    let warm = connect_all(&[server.addr], &cookie, &slugs, &[0], 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.sample().rss_kib;
    let count = options.idle_connections;
    let rooms_of: Vec<usize> = (0..count).map(|i| i % slugs.len()).collect();
    let crowd = connect_all(&[server.addr], &cookie, &slugs, &rooms_of, 128).await;
    let shared = Shared::new();
    let tasks: Vec<_> = crowd
        .members
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| tokio::task::spawn_local(receive::run(m.socket, i, Rc::clone(&shared), None)))
        .collect();
    let joined = tasks.len();
    // Let presence and online counts go out, as they would on a real server.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.sample().rss_kib;
    for task in &tasks {
        task.abort();
    }
    drop(warm);
    Ok(Idle {
        connections: count,
        joined,
        rss_before_kib: before,
        rss_after_kib: after,
        kib_per_connection: after.saturating_sub(before) as f64 / joined.max(1) as f64,
        failures: crowd.failures.len(),
        first_failure: crowd.failures.into_iter().next(),
    })
}
