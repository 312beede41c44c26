//! fanout and saturate: R rooms × C clients, S of each room's clients also sending, at a
//! planned rate, after every join is confirmed. Every client (senders too: the message
//! coming back is their confirmation) records each message's delivery latency.

use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::clients::connect_all;
use crate::nodes::Nodes;
use crate::proc_stats;
use crate::receive::{self, SendPlan, Shared, Tally};
use crate::server::Stage;
use crate::Options;

/// After the senders stop, how long delivery may stall before the rest counts as lost.
const DRAIN_STALL: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Shape {
    pub rooms: usize,
    pub clients: usize,
    pub senders: usize,
    pub text_bytes: usize,
}

impl Shape {
    /// Deliveries per message sent.
    fn fan(&self) -> usize {
        self.clients
    }

    /// Per-sender rate that gives `delivered` deliveries per second in all.
    pub fn sender_rate(&self, delivered: f64) -> f64 {
        delivered / (self.rooms * self.senders * self.fan()) as f64
    }
}

/// One run at one rate.
#[derive(Debug, Serialize)]
pub struct Step {
    /// The delivery rate asked for.
    pub target_per_s: f64,
    pub sender_rate: f64,
    pub seconds: f64,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub delivered_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub server_cpu_pct: f64,
    /// Server CPU time per delivered message: the figure that matters when the
    /// generator, not the server, is the limit.
    pub server_us_per_delivery: f64,
    pub server_rss_kib: u64,
    pub generator_cpu_pct: f64,
    pub errors: u64,
    pub closed: u64,
    /// Messages a client got with a seq no higher than one it had before.
    pub out_of_order: u64,
    pub first_error: Option<String>,
    /// 2 for saturate's second try at a rate.
    pub attempt: u32,
    /// What the server itself counted over the step, from its `/metrics`: deliveries
    /// queued, group commits and their mean duration (ms).
    pub server_deliveries: u64,
    pub server_commits: u64,
    pub server_commit_mean_ms: f64,
    /// From a batch stored to its last socket write, as the server measured it
    /// (`natter_fanout_seconds`): its own share of the latency, without the generator's.
    pub server_fanout_mean_ms: f64,
    /// From a message's frame read to its last write, as the server measured it
    /// (`natter_send_seconds`): the mean, and the share of messages over 10 ms.
    pub server_send_mean_ms: f64,
    pub server_send_over_10ms_pct: f64,
    /// Nodes the step ran on, the batches they stored and published
    /// (`natter_fanout_seconds`' count) and the messages NATS took in between them: one
    /// per batch, whatever the number of recipients.
    pub nodes: usize,
    pub server_batches: u64,
    pub nats_messages: u64,
}

impl Step {
    /// p99 under 50 ms with nothing lost.
    pub fn passes(&self) -> bool {
        self.lost == 0
            && self.closed == 0
            && self.errors == 0
            && self.out_of_order == 0
            && self.p99_ms < 50.0
    }
}

/// The nodes with every client connected, joined and listening.
pub struct Fanout {
    pub shape: Shape,
    nodes: Nodes,
    shared: Rc<Shared>,
    plans: Vec<Rc<SendPlan>>,
    tasks: Vec<JoinHandle<()>>,
}

/// The unreported step that warms every node's connections to PostgreSQL: a rate at
/// which each node opens several.
const WARM_UP_RATE: f64 = 64_000.0;
const WARM_UP_FOR: Duration = Duration::from_secs(2);

impl Fanout {
    pub async fn start(options: &Options, shape: Shape, name: &str) -> Result<Fanout, String> {
        let (slugs, nodes, cookie) = Stage::set_nodes(options, name, shape.rooms).await?;
        let rooms_of: Vec<usize> = (0..shape.rooms * shape.clients)
            .map(|i| i / shape.clients)
            .collect();
        let crowd = connect_all(&nodes.addrs(), &cookie, &slugs, &rooms_of, 64).await;
        if let Some(failure) = crowd.failures.first() {
            return Err(format!(
                "{} of {} clients could not join; first: {failure}",
                crowd.failures.len(),
                rooms_of.len()
            ));
        }
        let shared = Shared::new();
        let mut plans = Vec::new();
        let mut tasks = Vec::new();
        for (i, member) in crowd.members.into_iter().flatten().enumerate() {
            let plan = (i % shape.clients < shape.senders).then(|| {
                let plan = SendPlan::new(slugs[member.room].clone(), shape.text_bytes);
                plans.push(plan.clone());
                plan
            });
            let task = receive::run(member.socket, i, shared.clone(), plan);
            tasks.push(tokio::task::spawn_local(task));
        }
        // Presence and online counts of the joins go out first; they are not measured.
        tokio::time::sleep(Duration::from_millis(700)).await;
        shared.next_phase();
        let mut bench = Fanout {
            shape,
            nodes,
            shared,
            plans,
            tasks,
        };
        if bench.nodes.on_postgres() {
            // A PostgreSQL session's first append compiles `natter_append`'s plans and
            // loads the search dictionaries: 5-20 ms, once per pooled connection, which
            // a running deployment paid long ago. Unwarmed, the first step's p99 was 8.7
            // ms at 1,000/s on one node, 2.7 ms warmed (a second step right after).
            bench.step(WARM_UP_RATE, WARM_UP_FOR).await;
        }
        Ok(bench)
    }

    /// Sends for `duration` at `target` deliveries per second in all, waits until every
    /// message has arrived (or delivery stalls), and reports.
    pub async fn step(&mut self, target: f64, duration: Duration) -> Step {
        self.shared.next_phase();
        let rate = self.shape.sender_rate(target);
        let start = Instant::now() + Duration::from_millis(10);
        let end = start + duration;
        // Senders take turns over one send interval: in step, every room's message would
        // reach the store at the same instant, a burst no real crowd makes.
        let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
        let senders = self.plans.len().max(1) as u32;
        for (k, plan) in self.plans.iter().enumerate() {
            let offset = (interval * k as u32 / senders).min(duration / 2);
            plan.arm(rate, start + offset, end);
        }
        let counted_before = self.nodes.scrape().await;
        let nats_before = self.nodes.nats_messages().await;
        let (server_before, self_before) = (self.nodes.sample(), proc_stats::sample(0));
        tokio::time::sleep_until(end.into()).await;
        self.drain().await;
        let sent = self.sent();
        let expected = sent * self.shape.fan() as u64;
        let (server_after, self_after) = (self.nodes.sample(), proc_stats::sample(0));
        let tally = self.shared.next_phase();
        let server = proc_stats::since(server_before, server_after);
        let generator = proc_stats::since(self_before, self_after);
        let counted = Counted::between(&counted_before, &self.nodes.scrape().await);
        let mut step = step_report(target, rate, sent, expected, tally, server, generator);
        step.server_deliveries = counted.deliveries;
        step.server_commits = counted.commits;
        step.server_commit_mean_ms = counted.commit_mean_ms;
        step.server_fanout_mean_ms = counted.fanout_mean_ms;
        step.server_send_mean_ms = counted.send_mean_ms;
        step.server_send_over_10ms_pct = counted.send_over_10ms_pct;
        step.nodes = self.nodes.servers.len();
        step.nats_messages = self.nodes.nats_messages().await - nats_before;
        step.server_batches = counted.batches;
        step
    }

    /// Waits until every sender has sent its last message and every message has reached
    /// every client, or delivery stalls.
    async fn drain(&self) {
        let mut last = (self.delivered(), Instant::now());
        let unfinished = || {
            let senders_done = self.plans.iter().all(|p| p.finished());
            !senders_done || self.delivered() < self.sent() * self.shape.fan() as u64
        };
        while unfinished() && last.1.elapsed() < DRAIN_STALL {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if self.delivered() != last.0 {
                last = (self.delivered(), Instant::now());
            }
        }
    }

    fn sent(&self) -> u64 {
        self.plans.iter().map(|p| p.sent.get()).sum()
    }

    fn delivered(&self) -> u64 {
        self.shared.tally.borrow().delivered
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn step_report(
    target: f64,
    rate: f64,
    sent: u64,
    expected: u64,
    tally: Tally,
    server: proc_stats::Usage,
    generator: proc_stats::Usage,
) -> Step {
    let ms = |q: f64| tally.latency.value_at_quantile(q) as f64 / 1000.0;
    let seconds = server.wall.as_secs_f64();
    Step {
        target_per_s: target,
        sender_rate: rate,
        seconds,
        sent,
        expected,
        delivered: tally.delivered,
        lost: expected.saturating_sub(tally.delivered),
        delivered_per_s: tally.delivered as f64 / seconds,
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: tally.latency.max() as f64 / 1000.0,
        server_cpu_pct: server.cpu_percent(),
        server_us_per_delivery: server.cpu.as_secs_f64() * 1e6 / tally.delivered.max(1) as f64,
        server_rss_kib: server.rss_kib,
        generator_cpu_pct: generator.cpu_percent(),
        errors: tally.errors,
        closed: tally.closed,
        out_of_order: tally.out_of_order,
        first_error: tally.first_error,
        attempt: 1,
        server_deliveries: 0,
        server_commits: 0,
        server_commit_mean_ms: 0.0,
        server_fanout_mean_ms: 0.0,
        server_send_mean_ms: 0.0,
        server_send_over_10ms_pct: 0.0,
        nodes: 1,
        server_batches: 0,
        nats_messages: 0,
    }
}

/// What the server's `/metrics` moved by over a step.
struct Counted {
    deliveries: u64,
    batches: u64,
    commits: u64,
    commit_mean_ms: f64,
    fanout_mean_ms: f64,
    send_mean_ms: f64,
    send_over_10ms_pct: f64,
}

impl Counted {
    fn between(
        before: &std::collections::HashMap<String, f64>,
        after: &std::collections::HashMap<String, f64>,
    ) -> Counted {
        let moved = |name: &str| {
            after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
        };
        let commits = moved("natter_commit_seconds_count");
        let fanouts = moved("natter_fanout_seconds_count");
        let sends = moved("natter_send_seconds_count");
        let within_10ms = moved("natter_send_seconds_bucket{le=\"0.01\"}");
        Counted {
            deliveries: moved("natter_deliveries_total") as u64,
            batches: fanouts as u64,
            commits: commits as u64,
            commit_mean_ms: moved("natter_commit_seconds_sum") * 1e3 / commits.max(1.0),
            fanout_mean_ms: moved("natter_fanout_seconds_sum") * 1e3 / fanouts.max(1.0),
            send_mean_ms: moved("natter_send_seconds_sum") * 1e3 / sends.max(1.0),
            send_over_10ms_pct: (sends - within_10ms) * 100.0 / sends.max(1.0),
        }
    }
}

/// fanout: one step per rate on one server.
pub async fn fanout(options: &Options) -> Result<Vec<Step>, String> {
    let mut bench = Fanout::start(options, options.shape, "fanout").await?;
    let mut steps = Vec::new();
    for &target in &options.rates {
        let step = bench.step(target, options.duration).await;
        crate::report::progress("fanout", &step);
        steps.push(step);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(steps)
}

#[derive(Debug, Serialize)]
pub struct Saturation {
    pub steps: Vec<Step>,
    /// The highest delivery rate that passed (p99 < 50 ms, nothing lost).
    pub best_per_s: Option<f64>,
}

/// saturate: rising rates until one fails.
pub async fn saturate(options: &Options) -> Result<Saturation, String> {
    let mut bench = Fanout::start(options, options.shape, "saturate").await?;
    let mut steps: Vec<Step> = Vec::new();
    let mut best_per_s = None;
    for &target in &options.saturate_rates {
        let mut step = bench.step(target, options.saturate_duration).await;
        crate::report::progress("saturate", &step);
        // On a shared machine one stall can fail a short step: a failing rate gets one
        // more try (both are reported), unless clients were cut off.
        if !step.passes() && step.closed == 0 {
            steps.push(step);
            tokio::time::sleep(Duration::from_millis(300)).await;
            step = bench.step(target, options.saturate_duration).await;
            step.attempt = 2;
            crate::report::progress("saturate (again)", &step);
        }
        let passed = step.passes();
        if passed {
            best_per_s = Some(step.delivered_per_s);
        }
        steps.push(step);
        if !passed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(Saturation { steps, best_per_s })
}

/// bigroom: one room of many members (15,000) and one sender, at a few messages a
/// second; what a member at the end of the room's list waits.
pub async fn bigroom(options: &Options) -> Result<Vec<Step>, String> {
    let shape = Shape {
        rooms: 1,
        clients: options.bigroom_members,
        senders: 1,
        text_bytes: options.shape.text_bytes,
    };
    let mut bench = Fanout::start(options, shape, "bigroom").await?;
    let mut steps = Vec::new();
    for &per_s in &options.bigroom_rates {
        let step = bench
            .step(per_s * shape.clients as f64, options.bigroom_duration)
            .await;
        crate::report::progress("bigroom", &step);
        steps.push(step);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(steps)
}
