//! search: one room of many messages (made once, cached under target/bench); how long the
//! `search` server function takes, and how long a jump to a message far back takes (the
//! `history` page that holds it, as a message link opens it).

use std::time::Instant;

use serde::Serialize;

use crate::clients::histogram;
use crate::db::{search_word, SEARCH_ROOM};
use crate::history::Latency;
use crate::http::HttpClient;
use crate::server::Server;
use crate::Options;

#[derive(Debug, Serialize)]
pub struct Search {
    pub messages: u64,
    pub requests: usize,
    /// Queries of five kinds in turn: one word, two words, a word in every message, a
    /// word and `from:`, a word in none.
    pub search: Latency,
    /// Pages holding a message at least 90 % of the room back.
    pub jump: Latency,
    /// Searches that found nothing although they should have, and jumps whose page did
    /// not hold the message.
    pub misses: usize,
}

pub async fn search(options: &Options) -> Result<Search, String> {
    let messages = options.search_messages;
    let database = options
        .cache
        .join(format!("search-{messages}-{}.db", crate::db::schema_tag()));
    crate::db::with_search(&database, messages).await?;
    std::fs::File::open(&database)
        .and_then(|mut file| std::io::copy(&mut file, &mut std::io::sink()))
        .map_err(|err| format!("reading {}: {err}", database.display()))?;
    let server = Server::start(&options.server, &database, &options.server_args).await?;
    let mut http = HttpClient::new(server.addr);
    let (mut searches, mut jumps) = (histogram(), histogram());
    let mut misses = 0;
    let mut pick = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        pick ^= pick << 13;
        pick ^= pick >> 7;
        pick ^= pick << 17;
        pick % n.max(1)
    };
    let warmup = 10.min(options.search_requests);
    for i in 0..warmup + options.search_requests {
        let (a, b) = (search_word(next(8_000)), search_word(next(8_000)));
        let (query, expect_hits) = match i % 5 {
            0 => (a, true),
            1 => (format!("{a} {b}"), false),
            2 => ("natter".to_owned(), true),
            3 => (format!("{a} from:historian"), true),
            _ => ("zzzzzz".to_owned(), false),
        };
        let begun = Instant::now();
        let hits = http.search(&query).await?;
        let us = begun.elapsed().as_micros() as u64;
        // The jump: a message in the oldest tenth, its page as a link to it loads it.
        let target = 1 + next((messages / 10).max(1));
        let begun = Instant::now();
        let body = http.history(SEARCH_ROOM, target + 26).await?;
        let jump_us = begun.elapsed().as_micros() as u64;
        if i >= warmup {
            searches.saturating_record(us);
            jumps.saturating_record(jump_us);
            misses += usize::from(expect_hits && hits == 0 && messages >= 10_000);
            misses += usize::from(!crate::http::page_holds(&body, target)?);
        }
    }
    Ok(Search {
        messages,
        requests: options.search_requests,
        search: Latency::from(&searches),
        jump: Latency::from(&jumps),
        misses,
    })
}
