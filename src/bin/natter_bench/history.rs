//! history: a database of many messages over many rooms; how long the `history` server
//! function takes for a room's newest page and for a page deep in the past.

use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::clients::histogram;
use crate::http::HttpClient;
use crate::server::Server;
use crate::Options;

#[derive(Debug, Serialize)]
pub struct History {
    pub messages: u64,
    pub rooms: usize,
    pub requests: usize,
    pub newest: Latency,
    pub deep: Latency,
    /// Pages that did not hold a full page of messages.
    pub short_pages: usize,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl From<&Histogram<u64>> for Latency {
    fn from(h: &Histogram<u64>) -> Latency {
        let ms = |v: u64| v as f64 / 1000.0;
        Latency {
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

pub async fn history(options: &Options) -> Result<History, String> {
    let rooms = options.history_rooms;
    let per_room = options.history_messages / rooms as u64;
    let database = options.cache.join(format!(
        "history-{rooms}x{per_room}-{}.db",
        crate::db::schema_tag()
    ));
    crate::db::with_history(&database, rooms, per_room).await?;
    // Read once, so the file is in the OS's page cache as a running server's would be:
    // right after a build has pushed it out, the first run measured the disk (p99 3 ms
    // against 0.8).
    std::fs::File::open(&database)
        .and_then(|mut file| std::io::copy(&mut file, &mut std::io::sink()))
        .map_err(|err| format!("reading {}: {err}", database.display()))?;
    let server = Server::start(&options.server, &database, &options.server_args).await?;
    let slugs = crate::db::history_rooms(rooms);
    let mut http = HttpClient::new(server.addr);
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let (mut newest, mut deep) = (histogram(), histogram());
    let mut short_pages = 0;
    // The first requests warm the connection and SQLite's page cache, as any running
    // server's would be.
    let warmup = 20.min(options.history_requests);
    for i in 0..warmup + options.history_requests {
        let room = &slugs[random.below(rooms as u64) as usize];
        // Alternate: the newest page, then one somewhere in the oldest tenth.
        let (before, into) = if i % 2 == 0 {
            (per_room + 1, &mut newest)
        } else {
            (51 + random.below((per_room / 10).max(1)), &mut deep)
        };
        let begun = Instant::now();
        let body = http.history(room, before).await?;
        let us = begun.elapsed().as_micros() as u64;
        let got = crate::http::page_len(&body)?;
        if i >= warmup {
            into.saturating_record(us);
            short_pages += usize::from(got < 50);
        }
    }
    Ok(History {
        messages: per_room * rooms as u64,
        rooms,
        requests: options.history_requests,
        newest: Latency::from(&newest),
        deep: Latency::from(&deep),
        short_pages,
    })
}

/// xorshift64: reproducible picks without a dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
