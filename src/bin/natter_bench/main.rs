//! natter-bench: a load generator for Natter. It starts the real `natter` binary (fresh
//! database per scenario, on a free loopback port), drives it over real WebSockets and
//! server functions with Natter's own protocol, and prints a table and one JSON line.
//!
//! Scenarios (README, "Benchmark"):
//! - `fanout`: R rooms × C clients, S senders per room, at given delivery rates, each for
//!   D seconds after every join is confirmed; delivery latency, loss, server and
//!   generator CPU, server memory.
//! - `saturate`: the fanout shape at rising rates until p99 ≥ 50 ms or anything is lost.
//! - `bigroom`: one room of 15,000 members, one sender at 1 and at 10 messages a second;
//!   latency to every member, and the server's own time from commit to last write.
//! - `idle`: N connections joined and held; server memory per connection.
//! - `history`: a database of 1,000,000 messages over 100 rooms (made once, cached under
//!   target/bench); latency of the newest page and of a page deep in the past.
//! - `joins`: how fast N clients connect and join.
//! - `search`: one room of 1,000,000 messages (made once, cached under target/bench);
//!   latency of searches and of a jump to a message 900,000 back.
//! - `floor`: the bigroom's members as bare loopback sockets, no server: what the kernel
//!   alone takes to get a frame to every one of them.
//!
//! `--short` runs all of them with tiny numbers in a few seconds and fails on any loss
//! or failed join: the test command runs it so the benchmark keeps working.
//!
//! The generator is one thread (a current-thread runtime): the server gets the rest of
//! the machine, and its own CPU figure shows when the generator is the limit. Clients
//! speak a minimal WebSocket ([`ws`]) and find the send time in a message with a byte
//! search, not a JSON parse.

mod clients;
mod db;
mod fanout;
mod floor;
mod history;
mod http;
mod idle;
mod joins;
mod nodes;
mod proc_stats;
mod receive;
mod report;
mod search;
mod server;
mod ws;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use fanout::Shape;
use report::Results;

#[derive(Parser, Debug)]
#[command(name = "natter-bench", about = "Load generator for the natter server")]
struct Args {
    /// Scenarios to run, in this order; all of them when none is named.
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,

    /// Tiny numbers, a few seconds in all; exits non-zero on any loss or failure.
    #[arg(long)]
    short: bool,

    /// The natter binary (default: beside this one).
    #[arg(long)]
    server: Option<PathBuf>,

    /// Extra flags for the server, e.g. --server-arg=--queue=2048 (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// fanout/saturate: nodes, on PostgreSQL with NATS between them (the database is made
    /// on `--postgres`, else on the server NATTER_TEST_POSTGRES names).
    #[arg(long, default_value_t = 1)]
    nodes: usize,

    /// fanout/saturate: a PostgreSQL server to make the database on (also with one node).
    #[arg(long)]
    postgres: Option<String>,

    /// fanout/saturate/idle/joins: rooms.
    #[arg(long)]
    rooms: Option<usize>,
    /// fanout/saturate: clients per room.
    #[arg(long)]
    clients: Option<usize>,
    /// fanout/saturate: senders per room (among its clients).
    #[arg(long)]
    senders: Option<usize>,
    /// fanout/saturate: length of each message's text, in bytes.
    #[arg(long, default_value_t = 100)]
    text_bytes: usize,
    /// fanout: delivery rates to run, in delivered messages per second in all.
    #[arg(long, value_delimiter = ',')]
    rates: Option<Vec<f64>>,
    /// fanout: seconds of sending per rate.
    #[arg(long)]
    duration: Option<f64>,
    /// saturate: delivery rates to try, rising.
    #[arg(long, value_delimiter = ',')]
    saturate_rates: Option<Vec<f64>>,
    /// saturate: seconds of sending per rate.
    #[arg(long)]
    saturate_duration: Option<f64>,
    /// bigroom: members of the room.
    #[arg(long)]
    bigroom_members: Option<usize>,
    /// bigroom: messages per second to run, from its one sender.
    #[arg(long, value_delimiter = ',')]
    bigroom_rates: Option<Vec<f64>>,
    /// bigroom: seconds of sending per rate.
    #[arg(long)]
    bigroom_duration: Option<f64>,
    /// idle: connections held.
    #[arg(long)]
    idle_connections: Option<usize>,
    /// history: messages stored in all.
    #[arg(long)]
    history_messages: Option<u64>,
    /// history: rooms they are spread over.
    #[arg(long)]
    history_rooms: Option<usize>,
    /// history: requests of each kind (newest page, deep page).
    #[arg(long)]
    history_requests: Option<usize>,
    /// joins: clients that connect and join.
    #[arg(long)]
    joins: Option<usize>,
    /// search: messages in the room searched.
    #[arg(long)]
    search_messages: Option<u64>,
    /// search: searches (and as many jumps).
    #[arg(long)]
    search_requests: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Fanout,
    Saturate,
    Bigroom,
    Idle,
    History,
    Joins,
    Search,
    Floor,
}

/// Every setting a scenario reads, with the defaults of the mode filled in.
pub struct Options {
    pub server: PathBuf,
    /// Nodes the fan-out runs on, and the PostgreSQL server (with one node, SQLite
    /// unless it is given).
    pub nodes: usize,
    pub postgres: Option<String>,
    pub server_args: Vec<String>,
    /// This run's databases (removed at the end).
    pub scratch: PathBuf,
    /// Databases kept between runs (the history fill).
    pub cache: PathBuf,
    pub shape: Shape,
    pub rates: Vec<f64>,
    pub duration: Duration,
    pub saturate_rates: Vec<f64>,
    pub saturate_duration: Duration,
    pub bigroom_members: usize,
    pub bigroom_rates: Vec<f64>,
    pub bigroom_duration: Duration,
    pub idle_connections: usize,
    pub history_messages: u64,
    pub history_rooms: usize,
    pub history_requests: usize,
    pub joins: usize,
    pub search_messages: u64,
    pub search_requests: usize,
}

impl Options {
    fn from(args: &Args) -> Options {
        let short = args.short;
        let shape = Shape {
            rooms: args.rooms.unwrap_or(pick(short, 10, 2)),
            clients: args.clients.unwrap_or(pick(short, 50, 5)),
            senders: args.senders.unwrap_or(1),
            text_bytes: args.text_bytes,
        };
        let rates = if short {
            vec![100.0, 1_000.0]
        } else {
            vec![1_000.0, 64_000.0, 1_000_000.0]
        };
        let saturate_rates = if short {
            vec![500.0, 2_000.0]
        } else {
            vec![
                64_000.0,
                125_000.0,
                250_000.0,
                500_000.0,
                750_000.0,
                900_000.0,
                1_000_000.0,
                1_100_000.0,
                1_250_000.0,
                1_500_000.0,
                2_000_000.0,
            ]
        };
        let seconds = |s: Option<f64>, full: f64, small: f64| {
            Duration::from_secs_f64(s.unwrap_or(pick(short, full, small)))
        };
        let target = server::target_dir();
        Options {
            server: args.server.clone().unwrap_or_else(server::default_binary),
            nodes: args.nodes.max(1),
            postgres: args.postgres.clone(),
            server_args: args.server_args.clone(),
            scratch: server::scratch_dir(),
            cache: target.join("bench"),
            shape,
            rates: args.rates.clone().unwrap_or(rates),
            duration: seconds(args.duration, 5.0, 1.0),
            saturate_rates: args.saturate_rates.clone().unwrap_or(saturate_rates),
            saturate_duration: seconds(args.saturate_duration, 3.0, 0.5),
            // 15,000: with the generator's own sockets, as many as this machine's 20,000
            // open files per process allow.
            bigroom_members: args.bigroom_members.unwrap_or(pick(short, 15_000, 300)),
            bigroom_rates: args.bigroom_rates.clone().unwrap_or(vec![1.0, 10.0]),
            bigroom_duration: seconds(args.bigroom_duration, 10.0, 1.0),
            // 19,000 (issue 18): as many as the 20,000 open files per process allow.
            idle_connections: args.idle_connections.unwrap_or(pick(short, 19_000, 300)),
            history_messages: args
                .history_messages
                .unwrap_or(pick(short, 1_000_000, 20_000)),
            history_rooms: args.history_rooms.unwrap_or(pick(short, 100, 10)).max(1),
            history_requests: args.history_requests.unwrap_or(pick(short, 2_000, 100)),
            joins: args.joins.unwrap_or(pick(short, 10_000, 300)),
            search_messages: args
                .search_messages
                .unwrap_or(pick(short, 1_000_000, 20_000)),
            search_requests: args.search_requests.unwrap_or(pick(short, 500, 50)),
        }
    }
}

/// The full run's number, or the short run's.
fn pick<T>(short: bool, full: T, small: T) -> T {
    if short {
        small
    } else {
        full
    }
}

/// The server's allocator here too (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    proc_stats::raise_file_limit();
    // The floor scenario's reader, started by this program itself.
    if let Ok(spec) = std::env::var(floor::READER_ENV) {
        if let Err(why) = floor::read_rounds(&spec) {
            eprintln!("natter-bench floor reader: {why}");
            std::process::exit(1);
        }
        return;
    }
    let args = Args::parse();
    let options = Options::from(&args);
    let scenarios = if args.scenarios.is_empty() {
        Scenario::value_variants().to_vec()
    } else {
        args.scenarios.clone()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, run(&options, &scenarios, args.short));
    drop(local);
    let _ = std::fs::remove_dir_all(&options.scratch);
    report::print_table(&results);
    println!(
        "{}",
        serde_json::to_string(&results).expect("results serialise")
    );
    if !results.broken.is_empty() {
        std::process::exit(1);
    }
}

async fn run(options: &Options, scenarios: &[Scenario], short: bool) -> Results {
    let mut results = Results {
        short,
        ..Results::default()
    };
    for &scenario in scenarios {
        eprintln!("natter-bench: {scenario:?}");
        let outcome = match scenario {
            Scenario::Fanout => fanout::fanout(options).await.map(|r| {
                results.shape = Some(options.shape);
                results.fanout = Some(r);
            }),
            Scenario::Saturate => fanout::saturate(options).await.map(|r| {
                results.shape = Some(options.shape);
                results.saturate = Some(r);
            }),
            Scenario::Bigroom => fanout::bigroom(options)
                .await
                .map(|r| results.bigroom = Some(r)),
            Scenario::Idle => idle::idle(options).await.map(|r| results.idle = Some(r)),
            Scenario::History => history::history(options)
                .await
                .map(|r| results.history = Some(r)),
            Scenario::Joins => joins::joins(options).await.map(|r| results.joins = Some(r)),
            Scenario::Search => search::search(options)
                .await
                .map(|r| results.search = Some(r)),
            Scenario::Floor => {
                // An earlier scenario's aborted clients close their sockets once the
                // runtime runs again: before the floor needs as many files itself.
                tokio::time::sleep(Duration::from_millis(500)).await;
                floor::floor(options.bigroom_members).map(|r| results.floor = Some(r))
            }
        };
        if let Err(why) = outcome {
            results.broken.push(format!("{scenario:?}: {why}"));
        }
    }
    if short {
        results.broken.extend(report::short_mode_failures(&results));
    } else {
        results.targets = report::targets(&results);
    }
    results
}
