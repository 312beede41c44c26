//! joins: how fast N clients connect (WebSocket upgrade, `welcome`) and join a room
//! (`join_room` answered).

use serde::Serialize;

use crate::clients::connect_all;
use crate::proc_stats;
use crate::server::Stage;
use crate::Options;

/// Clients connecting at once, like a crowd arriving after a restart.
const PARALLEL: usize = 256;

#[derive(Debug, Serialize)]
pub struct Joins {
    pub clients: usize,
    pub joined: usize,
    pub seconds: f64,
    pub joins_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu_pct: f64,
    pub failures: usize,
    pub first_failure: Option<String>,
}

pub async fn joins(options: &Options) -> Result<Joins, String> {
    let Stage {
        slugs,
        server,
        cookie,
    } = Stage::set(options, "joins", options.shape.rooms).await?;
    let count = options.joins;
    let rooms_of: Vec<usize> = (0..count).map(|i| i % slugs.len()).collect();
    let before = server.sample();
    let crowd = connect_all(&[server.addr], &cookie, &slugs, &rooms_of, PARALLEL).await;
    let usage = proc_stats::since(before, server.sample());
    let ms = |q: f64| crowd.latency.value_at_quantile(q) as f64 / 1000.0;
    let seconds = crowd.elapsed.as_secs_f64();
    Ok(Joins {
        clients: count,
        joined: crowd.joined(),
        seconds,
        joins_per_s: crowd.joined() as f64 / seconds,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: crowd.latency.max() as f64 / 1000.0,
        server_cpu_pct: usage.cpu_percent(),
        failures: crowd.failures.len(),
        first_failure: crowd.failures.into_iter().next(),
    })
}
