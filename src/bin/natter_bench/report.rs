//! The table for people, the JSON line for scripts, and the targets from the issue.

use serde::Serialize;

use crate::fanout::{Saturation, Shape, Step};
use crate::floor::Floor;
use crate::history::History;
use crate::idle::Idle;
use crate::joins::Joins;
use crate::search::Search;

#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub short: bool,
    pub shape: Option<Shape>,
    pub fanout: Option<Vec<Step>>,
    pub saturate: Option<Saturation>,
    pub bigroom: Option<Vec<Step>>,
    pub idle: Option<Idle>,
    pub history: Option<History>,
    pub joins: Option<Joins>,
    pub search: Option<Search>,
    pub floor: Option<Floor>,
    pub targets: Vec<Target>,
    /// What failed outright (setup errors, or in short mode any loss or failure).
    pub broken: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub what: String,
    pub measured: String,
    pub pass: bool,
}

/// One line as each step finishes, on stderr, so a long run shows life.
pub fn progress(scenario: &str, step: &Step) {
    eprintln!(
        "  {scenario}: {:>9.0}/s asked, {:>9.0}/s delivered, lost {}, p99 {:.2} ms; \
         {} out of order; server counted {} deliveries, {} commits of {:.2} ms, \
         commit to last write {:.2} ms; frame read to last write {:.2} ms, {:.2} % over 10 ms",
        step.target_per_s,
        step.delivered_per_s,
        step.lost,
        step.p99_ms,
        step.out_of_order,
        step.server_deliveries,
        step.server_commits,
        step.server_commit_mean_ms,
        step.server_fanout_mean_ms,
        step.server_send_mean_ms,
        step.server_send_over_10ms_pct
    );
    if step.nodes > 1 {
        eprintln!(
            "  {scenario}: {} nodes; {} batches stored, {} messages through NATS",
            step.nodes, step.server_batches, step.nats_messages
        );
    }
}

pub fn print_table(results: &Results) {
    if let Some(shape) = &results.shape {
        println!(
            "\nfanout shape: {} rooms x {} clients, {} sender(s) per room, {}-byte texts",
            shape.rooms, shape.clients, shape.senders, shape.text_bytes
        );
    }
    let steps: Vec<(&str, &Step)> = results
        .fanout
        .iter()
        .flatten()
        .map(|s| ("fanout", s))
        .chain(
            results
                .saturate
                .iter()
                .flat_map(|s| &s.steps)
                .map(|s| (if s.attempt > 1 { "again" } else { "saturate" }, s)),
        )
        .chain(results.bigroom.iter().flatten().map(|s| ("bigroom", s)))
        .collect();
    if !steps.is_empty() {
        println!(
            "{:<9} {:>10} {:>11} {:>10} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6}",
            "scenario",
            "asked/s",
            "delivered/s",
            "delivered",
            "lost",
            "p50ms",
            "p90ms",
            "p99ms",
            "p999ms",
            "maxms",
            "srv%",
            "srvµs/d",
            "srvMiB",
            "gen%"
        );
        for (name, s) in steps {
            println!(
                "{:<9} {:>10.0} {:>11.0} {:>10} {:>6} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6.0} {:>7.2} {:>7.1} {:>6.0}",
                name,
                s.target_per_s,
                s.delivered_per_s,
                s.delivered,
                s.lost,
                s.p50_ms,
                s.p90_ms,
                s.p99_ms,
                s.p999_ms,
                s.max_ms,
                s.server_cpu_pct,
                s.server_us_per_delivery,
                s.server_rss_kib as f64 / 1024.0,
                s.generator_cpu_pct
            );
        }
    }
    if let Some(sat) = &results.saturate {
        match sat.best_per_s {
            Some(best) => println!("saturate: highest passing rate {best:.0} delivered msgs/s"),
            None => println!("saturate: no rate passed"),
        }
    }
    if let Some(i) = &results.idle {
        println!(
            "idle:     {} connections joined ({} failed); server RSS {:.1} -> {:.1} MiB; {:.2} KiB per connection",
            i.joined,
            i.failures,
            i.rss_before_kib as f64 / 1024.0,
            i.rss_after_kib as f64 / 1024.0,
            i.kib_per_connection
        );
    }
    if let Some(h) = &results.history {
        println!(
            "history:  {} messages in {} rooms, {} requests: newest page p50 {:.2} p99 {:.2} max {:.2} ms; deep page p50 {:.2} p99 {:.2} max {:.2} ms",
            h.messages,
            h.rooms,
            h.requests,
            h.newest.p50_ms,
            h.newest.p99_ms,
            h.newest.max_ms,
            h.deep.p50_ms,
            h.deep.p99_ms,
            h.deep.max_ms
        );
    }
    if let Some(s) = &results.search {
        println!(
            "search:   {} messages, {} requests: search p50 {:.2} p99 {:.2} max {:.2} ms; jump 90 %+ back p50 {:.2} p99 {:.2} max {:.2} ms; {} misses",
            s.messages,
            s.requests,
            s.search.p50_ms,
            s.search.p99_ms,
            s.search.max_ms,
            s.jump.p50_ms,
            s.jump.p99_ms,
            s.jump.max_ms,
            s.misses
        );
    }
    if let Some(j) = &results.joins {
        println!(
            "joins:    {} of {} clients connected and joined in {:.2} s ({:.0}/s); each p50 {:.1} p99 {:.1} max {:.1} ms; server CPU {:.0}%",
            j.joined, j.clients, j.seconds, j.joins_per_s, j.p50_ms, j.p99_ms, j.max_ms, j.server_cpu_pct
        );
    }
    if let Some(f) = &results.floor {
        let list = |ms: &[f64]| {
            ms.iter()
                .map(|m| format!("{m:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "floor:    {} bare loopback sockets, one 100-byte write each from 2 threads, one reader: \
             all read after {} ms; all written after {} ms",
            f.members,
            list(&f.delivered_ms),
            list(&f.written_ms)
        );
    }
    if !results.targets.is_empty() {
        println!("\ntargets:");
        for t in &results.targets {
            let verdict = if t.pass { "pass" } else { "FAIL" };
            println!("  {verdict}  {:<58} {}", t.what, t.measured);
        }
    }
    for why in &results.broken {
        println!("BROKEN: {why}");
    }
}

/// The issue's targets, judged where this run measured them in the issue's shape.
/// The targets of the fan-out spread over several nodes (issue 20): 250,000 delivered/s
/// with p99 < 50 ms and nothing lost; p99 <= 5 ms at 1,000/s; one NATS message per
/// stored batch, never per recipient.
fn several_node_targets(steps: &[&Step]) -> Vec<Target> {
    let mut out = Vec::new();
    let best = steps
        .iter()
        .filter(|s| s.passes())
        .map(|s| s.delivered_per_s)
        .fold(0.0, f64::max);
    out.push(Target {
        what: "fanout on several nodes: >= 250,000 delivered/s, p99 < 50 ms, no loss".into(),
        measured: format!("best passing {best:.0}/s"),
        pass: best >= 250_000.0,
    });
    if let Some(s) = steps
        .iter()
        .find(|s| (s.target_per_s - 1_000.0).abs() < 10.0)
    {
        out.push(Target {
            what: "fanout on several nodes at 1,000/s: p99 <= 5 ms".into(),
            measured: format!("{:.2} ms", s.p99_ms),
            pass: s.p99_ms <= 5.0 && s.passes(),
        });
    }
    let (batches, nats): (u64, u64) = steps.iter().fold((0, 0), |(b, n), s| {
        (b + s.server_batches, n + s.nats_messages)
    });
    out.push(Target {
        what: "one NATS message per stored batch and room".into(),
        measured: format!("{nats} messages for {batches} batches"),
        // Leases and other signals add a few.
        pass: nats >= batches && nats <= batches + batches / 100 + 10,
    });
    out
}

pub fn targets(results: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let issue_shape = results
        .shape
        .is_some_and(|s| (s.rooms, s.clients, s.senders, s.text_bytes) == (10, 50, 1, 100));
    let near = |step: &&Step, rate: f64| (step.target_per_s - rate).abs() < rate * 0.01;
    let steps: Vec<&Step> = results
        .fanout
        .iter()
        .flatten()
        .chain(results.saturate.iter().flat_map(|s| &s.steps))
        .collect();
    let several = steps.first().is_some_and(|s| s.nodes > 1);
    if issue_shape && several {
        out.extend(several_node_targets(&steps));
    } else if issue_shape {
        let best = steps
            .iter()
            .filter(|s| s.passes())
            .map(|s| s.delivered_per_s)
            .fold(0.0, f64::max);
        if !steps.is_empty() {
            out.push(Target {
                what: "fanout: >= 1,000,000 delivered/s, p99 < 50 ms, no loss".into(),
                measured: format!("best passing {best:.0}/s"),
                pass: best >= 1_000_000.0,
            });
        }
        if let Some(s) = steps.iter().find(|s| near(s, 64_000.0)) {
            out.push(Target {
                what: "fanout at 64,000/s: server CPU <= 8 µs per delivery".into(),
                measured: format!("{:.2} µs", s.server_us_per_delivery),
                pass: s.server_us_per_delivery <= 8.0,
            });
        }
        // Issue 18: the fan-out's tail at a million deliveries a second.
        if let Some(s) = results
            .fanout
            .iter()
            .flatten()
            .find(|s| near(s, 1_000_000.0))
        {
            out.push(Target {
                what: "fanout at 1,000,000/s: p99 <= 10 ms".into(),
                measured: format!("{:.2} ms", s.p99_ms),
                pass: s.p99_ms <= 10.0 && s.passes(),
            });
        }
        if let Some(s) = steps.iter().find(|s| near(s, 1_000.0)) {
            out.push(Target {
                what: "fanout at 1,000/s: p99 <= 2 ms".into(),
                measured: format!("{:.2} ms", s.p99_ms),
                pass: s.p99_ms <= 2.0 && s.passes(),
            });
        }
    }
    // What the kernel alone takes for as many members, when `floor` ran too.
    let floor_note = results
        .floor
        .as_ref()
        .and_then(|f| {
            let mut ms = f.delivered_ms.clone();
            ms.sort_by(f64::total_cmp);
            ms.get(ms.len() / 2).copied()
        })
        .map_or(String::new(), |ms| format!("; kernel floor {ms:.1} ms"));
    for s in results.bigroom.iter().flatten() {
        let members = (s.target_per_s / s.sender_rate.max(1e-9)).round();
        if members >= 15_000.0 {
            out.push(Target {
                what: format!(
                    "bigroom {members:.0} members at {:.0} msg/s: p99 <= 50, p50 <= 20 ms, in order",
                    s.sender_rate
                ),
                measured: format!(
                    "p50 {:.2} ms, p99 {:.2} ms; server commit to last write {:.2} ms{}",
                    s.p50_ms, s.p99_ms, s.server_fanout_mean_ms, floor_note
                ),
                pass: s.passes() && s.p99_ms <= 50.0 && s.p50_ms <= 20.0,
            });
        }
    }
    if let Some(i) = results.idle.as_ref().filter(|i| i.connections >= 10_000) {
        out.push(Target {
            what: format!("idle: <= 8 KiB RSS per connection at {}", i.connections),
            measured: format!("{:.2} KiB", i.kib_per_connection),
            pass: i.kib_per_connection <= 8.0 && i.failures == 0,
        });
    }
    if let Some(h) = results.history.as_ref().filter(|h| h.messages >= 1_000_000) {
        let worst = h.newest.p99_ms.max(h.deep.p99_ms);
        out.push(Target {
            what: format!("history at {} messages: p99 <= 2 ms", h.messages),
            measured: format!(
                "newest {:.2} ms, deep {:.2} ms",
                h.newest.p99_ms, h.deep.p99_ms
            ),
            pass: worst <= 2.0 && h.short_pages == 0,
        });
    }
    if let Some(s) = results.search.as_ref().filter(|s| s.messages >= 1_000_000) {
        out.push(Target {
            what: format!("search over {} messages: p99 <= 50 ms", s.messages),
            measured: format!("{:.2} ms", s.search.p99_ms),
            pass: s.search.p99_ms <= 50.0 && s.misses == 0,
        });
        out.push(Target {
            what: "jump to a message 900,000 back: p99 <= 20 ms".into(),
            measured: format!("{:.2} ms", s.jump.p99_ms),
            pass: s.jump.p99_ms <= 20.0 && s.misses == 0,
        });
    }
    if let Some(j) = results.joins.as_ref().filter(|j| j.clients >= 10_000) {
        out.push(Target {
            what: format!("joins: {} clients connected and joined <= 2 s", j.clients),
            measured: format!("{:.2} s", j.seconds),
            pass: j.seconds <= 2.0 && j.failures == 0,
        });
    }
    out
}

/// In short mode: anything that says the benchmark (or the server) is broken.
pub fn short_mode_failures(results: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let steps = results
        .fanout
        .iter()
        .flatten()
        .chain(results.saturate.iter().flat_map(|s| &s.steps))
        .chain(results.bigroom.iter().flatten());
    for s in steps {
        if s.delivered == 0 || s.lost > 0 || s.errors > 0 || s.closed > 0 || s.out_of_order > 0 {
            out.push(format!(
                "fanout at {:.0}/s: delivered {}, lost {}, errors {} ({:?}), closed {}, out of order {}",
                s.target_per_s, s.delivered, s.lost, s.errors, s.first_error, s.closed, s.out_of_order
            ));
        }
    }
    if let Some(i) = &results.idle {
        if i.failures > 0 || i.joined != i.connections {
            out.push(format!(
                "idle: {} failed: {:?}",
                i.failures, i.first_failure
            ));
        }
    }
    if let Some(s) = results.search.as_ref().filter(|s| s.misses > 0) {
        out.push(format!("search: {} misses", s.misses));
    }
    if let Some(j) = &results.joins {
        if j.failures > 0 || j.joined != j.clients {
            out.push(format!(
                "joins: {} failed: {:?}",
                j.failures, j.first_failure
            ));
        }
    }
    if let Some(h) = &results.history {
        if h.short_pages > 0 {
            out.push(format!("history: {} pages were not full", h.short_pages));
        }
    }
    out
}
