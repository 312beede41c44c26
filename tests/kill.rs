//! Crash safety end to end: SIGKILL the server again and again while many clients send,
//! and check that nothing a client was told is stored goes missing, nothing is stored
//! twice, and every client sees its room's history exactly once, in order.
//!
//! How: the real `natter` binary runs on a fresh database. Several clients in each of
//! several rooms connect and join before anyone sends; then each sends its own messages
//! (unique client ids) at small random intervals while a controller kills the server with
//! SIGKILL and starts it again on the same port and database, several times over the
//! sending period. Each client signs in as a guest once, before the first kill; the
//! session is stored in the database, so its cookie must keep working across every
//! SIGKILL. Each behaves like the browser: on a lost connection it reconnects with a short
//! jittered backoff, opening the socket with that same cookie (and must be welcomed under
//! its own name), sends again everything not yet confirmed (same client id, same text),
//! and rejoins its room with `after` = the last seq it has, appending the catch-up to what
//! it received live. Every message it receives, catch-up or live, must carry the next
//! seq.
//!
//! At the end, once every send is confirmed and every client has caught up to its room's
//! last confirmed seq, the server is killed one last time and the database read directly.
//! Per room: the stored seqs are exactly 1..=n, each client id is stored once, the stored
//! client ids are exactly the ones sent, each confirmation names the seq actually stored,
//! and every client's received list equals the stored history, field for field.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter::api::rooms::JoinRoom;
use natter::protocol::{ChatMessage, ClientFrame, JoinedRoom, Seq, ServerEvent};
use natter::server::store::Durability;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use support::binary::Natter;
use support::Socket;

/// Rooms the clients talk in; the fifth seeded room (`games`) must stay empty.
const ROOMS: [&str; 4] = ["general", "random", "tech", "music"];
const CLIENTS_PER_ROOM: usize = 6;
/// 6 × 100 = 600 messages a room: a client that missed them all still catches up in
/// one join (the server replays at most 1,000).
const SENDS_PER_CLIENT: usize = 100;
/// Pause before each send, in ms: about 5 s of sending, some 500 messages a second in all,
/// so that every kill catches messages in flight.
const SEND_GAP_MS: (u64, u64) = (20, 80);
const RESTARTS: usize = 5;
/// The server is killed when this share of all messages has been sent (give or take a
/// little jitter): spread over the sending period however fast the machine is.
const RESTART_AT: [f64; RESTARTS] = [0.10, 0.28, 0.46, 0.64, 0.82];
/// ...but no sooner than this after the previous restart, so clients are back first.
const RESTART_MIN_GAP: Duration = Duration::from_millis(400);
/// Any single network step (connect and welcome, join call, write) that takes longer
/// counts as a lost connection.
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Clients give up (and report it) this long after the start; the whole test stays well
/// under a minute even when something is wrong.
const CLIENT_DEADLINE: Duration = Duration::from_secs(40);
const HARD_DEADLINE: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_restarts_lose_nothing_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("natter.db");
    storm(&database, &[], 1, Chaos::KillNodes).await;
}

/// The same storm on three nodes sharing PostgreSQL and NATS, clients spread over them.
/// Each SIGKILL takes one node down (in turn); its clients come back through the next
/// node, as behind a balancer, while the killed one restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_one_killed_at_a_time_lose_nothing_and_duplicate_nothing() {
    let Some(services) = support::cluster::start().await else {
        return;
    };
    let args = ["--nats", services.nats_url.as_str()];
    storm(&services.database, &args, 3, Chaos::KillNodes).await;
}

/// Three nodes again, but NATS dies and comes back, several times: whatever it was
/// carrying is lost, and the nodes fill the gaps from PostgreSQL once they resubscribe.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_lose_nothing_when_nats_restarts() {
    let Some(mut services) = support::cluster::start().await else {
        return;
    };
    let (database, args) = (
        services.database.clone(),
        ["--nats".to_owned(), services.nats_url.clone()],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    storm(&database, &args, 3, Chaos::RestartNats(&mut services)).await;
}

/// Three nodes, and PostgreSQL crashes and restarts, several times: sends in flight are
/// refused as retryable, clients send them again, and nothing is lost or stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_lose_nothing_when_postgres_restarts() {
    let Some(mut services) = support::cluster::start_with_own_postgres().await else {
        return;
    };
    let (database, args) = (
        services.database.clone(),
        ["--nats".to_owned(), services.nats_url.clone()],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    storm(&database, &args, 3, Chaos::RestartPostgres(&mut services)).await;
}

/// What goes wrong, again and again, during the storm.
enum Chaos<'a> {
    /// A node dies (SIGKILL), one after another, and starts again.
    KillNodes,
    /// NATS dies and starts again.
    RestartNats(&'a mut support::cluster::Services),
    /// PostgreSQL crashes and starts again.
    RestartPostgres(&'a mut support::cluster::Services),
}

/// Clients send in every room while `chaos` strikes (`nodes` nodes on `database`, with
/// the extra flags `args`); then the database is the truth every client's view is held
/// to.
async fn storm(database: &std::path::Path, args: &[&str], nodes: usize, mut chaos: Chaos<'_>) {
    let test_started = Instant::now();
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("kill: seed {seed} (set KILL_SEED to replay the same schedule)");
    let mut rng = StdRng::seed_from_u64(seed);

    // High send limits: this test is about crashes, not about the rate limiter.
    let mut flags = vec!["--send-rate", "1000", "--send-burst", "1000"];
    flags.extend_from_slice(args);
    // One after another: the first brings the schema up to date.
    let mut servers = Vec::new();
    for _ in 0..nodes {
        servers.push(Natter::start(database, &flags).await);
    }
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();

    // Everyone is signed in, connected and in their room before the first message is sent.
    let mut clients = Vec::new();
    for index in 0..ROOMS.len() * CLIENTS_PER_ROOM {
        // Spread over the nodes; the session, signed in on the first, is valid on all.
        let spec = ClientSpec::new(index, &servers[0]).await;
        let server = &servers[index % nodes];
        let (mut ws, conn) = try_welcome(server.addr, &spec.cookie, &spec.name)
            .await
            .unwrap_or_else(|refused| panic!("{} not welcomed: {refused:?}", spec.name));
        let joined = support::join_after(server, &conn, spec.room, None).await;
        assert!(
            joined.messages.is_empty() && !joined.has_more,
            "{} found messages in a fresh room: {joined:?}",
            spec.name
        );
        // Our own arrival is announced to us; nothing in the room yet.
        match support::next_event(&mut ws).await {
            ServerEvent::Joined { seq: 0, name, .. } if name == spec.name => {}
            other => panic!(
                "{}: expected our own arrival at seq 0, got {other:?}",
                spec.name
            ),
        }
        clients.push((spec, ws));
    }

    let progress: Vec<Arc<RoomProgress>> = ROOMS
        .iter()
        .map(|_| Arc::new(RoomProgress::new(CLIENTS_PER_ROOM)))
        .collect();
    let counters = Arc::new(Counters::default());
    let sending_started = Instant::now();
    let client_deadline = test_started + CLIENT_DEADLINE;
    let handles: Vec<_> = clients
        .into_iter()
        .map(|(spec, ws)| {
            let home = spec.index % nodes;
            let room_progress = progress[spec.room_index].clone();
            let rng = StdRng::seed_from_u64(seed ^ (spec.index as u64 + 1).wrapping_mul(0x9E37));
            tokio::spawn(run_client(Client {
                state: ClientState::new(spec, counters.clone()),
                ws,
                addrs: addrs.clone(),
                home,
                rng,
                started: sending_started,
                deadline: client_deadline,
                progress: room_progress,
            }))
        })
        .collect();

    // The controller: SIGKILL and restart, spread over the sending period.
    let total_planned = ROOMS.len() * CLIENTS_PER_ROOM * SENDS_PER_CLIENT;
    let mut sends_at_restart = Vec::new();
    let mut unconfirmed_at_restart = Vec::new();
    let mut restart_took = Duration::ZERO;
    let mut previous = Instant::now();
    'restarts: for share in RESTART_AT {
        let threshold = (share + rng.random_range(-0.03..0.03)) * total_planned as f64;
        sleep_until(previous + RESTART_MIN_GAP).await;
        while (counters.made.load(Ordering::Relaxed) as f64) < threshold {
            // Every client gave up (the server refused its session, say): what they
            // report says why.
            if handles.iter().all(|handle| handle.is_finished()) {
                break 'restarts;
            }
            assert!(
                Instant::now() < test_started + CLIENT_DEADLINE,
                "sending stalled at {} messages",
                counters.made.load(Ordering::Relaxed)
            );
            sleep(Duration::from_millis(5)).await;
        }
        sends_at_restart.push(counters.made.load(Ordering::Relaxed));
        unconfirmed_at_restart.push(counters.unconfirmed.load(Ordering::Relaxed));
        let restart_started = Instant::now();
        match &mut chaos {
            Chaos::KillNodes => servers[sends_at_restart.len() % nodes].restart().await,
            Chaos::RestartNats(services) => services.restart_nats().await,
            Chaos::RestartPostgres(services) => services.restart_postgres(),
        }
        restart_took = restart_took.max(restart_started.elapsed());
        previous = Instant::now();
    }
    let last_restart_at = sending_started.elapsed();

    let mut reports = Vec::new();
    for handle in handles {
        let report = timeout_at(test_started + HARD_DEADLINE, handle)
            .await
            .expect("every client returns before the hard deadline")
            .expect("a client task panicked");
        reports.push(report);
    }
    let settled_at = sending_started.elapsed();
    for server in &mut servers {
        server.kill9();
    }

    // The truth: what the database holds after the last SIGKILL.
    let store = natter::server::store::open(database, Durability::Full)
        .await
        .unwrap();
    let room_ids: HashMap<String, i64> = store
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.slug, r.id))
        .collect();
    let mut stored: HashMap<&str, Vec<ChatMessage>> = HashMap::new();
    for slug in ROOMS.iter().copied().chain(["games"]) {
        let history = store
            .range(room_ids[slug], 0, u64::MAX, 100_000)
            .await
            .unwrap();
        stored.insert(slug, history);
    }

    let mut failures: Vec<String> = Vec::new();
    let mut lost = 0;
    let mut duplicated = 0;
    if !stored["games"].is_empty() {
        failures.push(format!(
            "nobody wrote to games, yet it holds {} messages",
            stored["games"].len()
        ));
    }
    for room in ROOMS {
        let history = &stored[room];
        let members: Vec<&ClientState> = reports.iter().filter(|r| r.spec.room == room).collect();

        // Seqs 1..=n: no gap, no reuse, in order.
        let seqs: Vec<Seq> = history.iter().map(|m| m.seq).collect();
        let expected: Vec<Seq> = (1..=history.len() as Seq).collect();
        if seqs != expected {
            failures.push(format!("{room}: stored seqs are not 1..={}", history.len()));
        }

        // Each client id once, and exactly the ones sent here, with their author and text.
        let mut stored_cids: HashMap<&str, &ChatMessage> = HashMap::new();
        for msg in history {
            if stored_cids.insert(&msg.cid, msg).is_some() {
                duplicated += 1;
                failures.push(format!("{room}: cid {} stored twice", msg.cid));
            }
        }
        let mut sent_cids = HashSet::new();
        for client in &members {
            for (cid, text) in &client.sent {
                sent_cids.insert(cid.as_str());
                match stored_cids.get(cid.as_str()) {
                    None => {
                        lost += 1;
                        let confirmed = client.confirmed.contains_key(cid);
                        failures.push(format!(
                            "{room}: {cid} from {} lost (confirmed: {confirmed})",
                            client.spec.name
                        ));
                    }
                    Some(msg) if msg.text != *text || msg.author != client.spec.name => {
                        failures.push(format!("{room}: {cid} stored altered: {msg:?}"));
                    }
                    Some(_) => {}
                }
            }
            // A confirmation names the seq the message really has.
            for (cid, seq) in &client.confirmed {
                match stored_cids.get(cid.as_str()) {
                    Some(msg) if msg.seq == *seq => {}
                    other => failures.push(format!(
                        "{room}: {cid} confirmed as seq {seq}, stored as {:?}",
                        other.map(|m| m.seq)
                    )),
                }
            }
        }
        for cid in stored_cids.keys() {
            if !sent_cids.contains(cid) {
                failures.push(format!("{room}: stored {cid}, which nobody sent here"));
            }
        }

        // What each client saw is the history itself.
        for client in &members {
            if client.received != *history {
                failures.push(format!(
                    "{room}: {} received {} messages (last seq {}), stored {}; \
                     first difference at index {:?}",
                    client.spec.name,
                    client.received.len(),
                    client.last_seq,
                    history.len(),
                    first_difference(&client.received, history),
                ));
            }
            for violation in &client.violations {
                failures.push(format!("{room}: {}: {violation}", client.spec.name));
            }
        }
    }

    let sent: usize = reports.iter().map(|r| r.sent.len()).sum();
    let stored_total: usize = stored.values().map(Vec::len).sum();
    let reconnects: usize = reports.iter().map(|r| r.reconnects).sum();
    let resends: usize = reports.iter().map(|r| r.resends).sum();
    let acks: usize = reports.iter().map(|r| r.acks).sum();
    let found_in_catch_up: usize = reports.iter().map(|r| r.found_in_catch_up).sum();
    let order_violations: usize = reports.iter().map(|r| r.violations.len()).sum();
    let restarts = sends_at_restart.len();
    println!(
        "kill: {nodes} node(s); {} clients in {} rooms; {sent} messages sent, {stored_total} stored; \
         {restarts} restarts of {} (SIGKILL) (messages sent before each: {sends_at_restart:?} of \
         {total_planned}, unconfirmed at each kill: {unconfirmed_at_restart:?}; slowest \
         restart {} ms; last at {:.1} s); {reconnects} reconnects, {resends} resends, \
         {acks} acks, {found_in_catch_up} confirmed by catch-up; {lost} lost, {duplicated} \
         duplicated, {order_violations} client-side violations; settled at {:.1} s, {:.1} s \
         in all",
        reports.len(),
        ROOMS.len(),
        match chaos {
            Chaos::KillNodes => "a node",
            Chaos::RestartNats(_) => "NATS",
            Chaos::RestartPostgres(_) => "PostgreSQL",
        },
        restart_took.as_millis(),
        last_restart_at.as_secs_f64(),
        settled_at.as_secs_f64(),
        test_started.elapsed().as_secs_f64(),
    );

    // The test only proves something if the server died while messages were in flight.
    assert!(
        sends_at_restart
            .last()
            .is_some_and(|&made| made < total_planned),
        "the last restart came after every message was sent; lengthen the sending period"
    );
    // The first few say what went wrong; hundreds would bury them.
    assert!(
        failures.is_empty(),
        "{} failures, the first {}:\n{}",
        failures.len(),
        failures.len().min(40),
        failures[..failures.len().min(40)].join("\n")
    );
    assert_eq!(sent, total_planned, "every planned message was sent");
    assert_eq!((lost, duplicated, stored_total), (0, 0, total_planned));
}

/// Who a client is and where it talks.
struct ClientSpec {
    index: usize,
    room_index: usize,
    room: &'static str,
    name: String,
    /// The session cookie it signed in with, before the first kill; every reconnect uses
    /// it.
    cookie: String,
}

impl ClientSpec {
    /// Signs in as a guest on `server`.
    async fn new(index: usize, server: &Natter) -> Self {
        let room_index = index % ROOMS.len();
        let user = format!("kill-user-{index:02}");
        let name = format!("killer{index:02}");
        let cookie = support::browser_cookie(server, &user, &name).await;
        ClientSpec {
            index,
            room_index,
            room: ROOMS[room_index],
            name,
            cookie,
        }
    }

    /// Client ids sort in the order they were made.
    fn cid(&self, n: usize) -> String {
        format!("k{:02}-{n:04}", self.index)
    }

    fn owns(&self, cid: &str) -> bool {
        cid.starts_with(&format!("k{:02}-", self.index))
    }
}

/// Figures shared by all clients, read by the controller as it goes.
#[derive(Default)]
struct Counters {
    /// Messages sent so far (first sends).
    made: AtomicUsize,
    /// Messages sent and not confirmed yet.
    unconfirmed: AtomicUsize,
}

/// Everything a client did and saw; returned to the test at the end.
struct ClientState {
    spec: ClientSpec,
    counters: Arc<Counters>,
    /// Messages sent (first send of each), in order: (cid, text).
    sent: Vec<(String, String)>,
    /// Sent and not confirmed yet, in the order made: cid → text.
    pending: BTreeMap<String, String>,
    /// Confirmed sends: cid → the seq the server gave.
    confirmed: HashMap<String, Seq>,
    /// The room's messages as this client got them, catch-up and live, in arrival order.
    received: Vec<ChatMessage>,
    last_seq: Seq,
    /// Gaps, duplicates, misplaced events, refusals: recorded here, asserted at the end.
    violations: Vec<String>,
    reconnects: usize,
    resends: usize,
    acks: usize,
    /// Sends confirmed only by finding them in a rejoin's catch-up: stored just before a
    /// kill, their live confirmation lost with the server.
    found_in_catch_up: usize,
}

impl ClientState {
    fn new(spec: ClientSpec, counters: Arc<Counters>) -> Self {
        ClientState {
            spec,
            counters,
            sent: Vec::new(),
            pending: BTreeMap::new(),
            confirmed: HashMap::new(),
            received: Vec::new(),
            last_seq: 0,
            violations: Vec::new(),
            reconnects: 0,
            resends: 0,
            acks: 0,
            found_in_catch_up: 0,
        }
    }

    fn all_sent_and_confirmed(&self) -> bool {
        self.sent.len() == SENDS_PER_CLIENT && self.pending.is_empty()
    }

    fn max_confirmed(&self) -> Seq {
        self.confirmed.values().copied().max().unwrap_or(0)
    }

    /// One room message, from the catch-up or the live stream.
    fn receive(&mut self, msg: ChatMessage, how: &str) {
        if msg.seq != self.last_seq + 1 {
            let kind = if msg.seq <= self.last_seq {
                "duplicate or out of order"
            } else {
                "gap"
            };
            self.violations.push(format!(
                "{kind}: {how} message seq {} ({}) after seq {}",
                msg.seq, msg.cid, self.last_seq
            ));
        }
        self.last_seq = self.last_seq.max(msg.seq);
        if self.spec.owns(&msg.cid) {
            if how == "catch-up" && self.pending.contains_key(&msg.cid) {
                self.found_in_catch_up += 1;
            }
            // Also checks it against an earlier confirmation of the same message.
            self.confirm(&msg.cid.clone(), msg.seq);
        }
        self.received.push(msg);
    }

    /// Makes the next message of the schedule: (cid, text).
    fn make_message(&mut self) -> (String, String) {
        let n = self.sent.len();
        let cid = self.spec.cid(n);
        let text = format!(
            "{cid}: message {n} from {} in {}",
            self.spec.name, self.spec.room
        );
        self.sent.push((cid.clone(), text.clone()));
        self.pending.insert(cid.clone(), text.clone());
        self.counters.made.fetch_add(1, Ordering::Relaxed);
        self.counters.unconfirmed.fetch_add(1, Ordering::Relaxed);
        (cid, text)
    }

    fn confirm(&mut self, cid: &str, seq: Seq) {
        if self.pending.remove(cid).is_some() {
            self.counters.unconfirmed.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(earlier) = self.confirmed.insert(cid.to_owned(), seq) {
            if earlier != seq {
                self.violations
                    .push(format!("{cid} confirmed as seq {earlier}, then as {seq}"));
            }
        }
    }

    fn catch_up(&mut self, joined: JoinedRoom) {
        for msg in joined.messages {
            self.receive(msg, "catch-up");
        }
    }

    /// Applies one event from the socket. Returns whether a send was refused for now and
    /// should go out again shortly.
    fn apply(&mut self, event: ServerEvent) -> bool {
        let room = self.spec.room;
        match event {
            ServerEvent::Message { room: r, msg } if r == room => self.receive(msg, "live"),
            ServerEvent::Ack { room: r, cid, seq } if r == room => {
                self.acks += 1;
                if !self.spec.owns(&cid) {
                    self.violations
                        .push(format!("ack for someone else's {cid}"));
                }
                self.confirm(&cid, seq);
            }
            // Presence carries the seq of the newest message published before it, and
            // this socket got all of those first.
            ServerEvent::Joined { room: r, seq, name }
            | ServerEvent::Left { room: r, seq, name }
                if r == room =>
            {
                if seq != self.last_seq {
                    self.violations.push(format!(
                        "presence of {name} at seq {seq} arrived after seq {}",
                        self.last_seq
                    ));
                }
            }
            ServerEvent::Counts { .. } | ServerEvent::Pong => {}
            ServerEvent::Error {
                code, cid: Some(_), ..
            } if code.is_transient() => return true,
            other => self.violations.push(format!("unexpected event {other:?}")),
        }
        false
    }
}

/// How far a room has got: its clients report once all their sends are confirmed; when
/// all have, the room's final seq is known and published to them.
struct RoomProgress {
    reports: Mutex<(usize, Seq)>,
    clients: usize,
    final_seq: watch::Sender<Option<Seq>>,
}

impl RoomProgress {
    fn new(clients: usize) -> Self {
        RoomProgress {
            reports: Mutex::new((0, 0)),
            clients,
            final_seq: watch::channel(None).0,
        }
    }

    fn report(&self, max_confirmed: Seq) {
        let mut reports = self.reports.lock().unwrap();
        reports.0 += 1;
        reports.1 = reports.1.max(max_confirmed);
        if reports.0 == self.clients {
            self.final_seq.send_replace(Some(reports.1));
        }
    }
}

/// A client task's inputs.
struct Client {
    state: ClientState,
    /// Connected, welcomed and joined.
    ws: Socket,
    /// Every node; the client is on `home` first, and tries the next on a lost
    /// connection, as a balancer would send it elsewhere.
    addrs: Vec<SocketAddr>,
    home: usize,
    rng: StdRng,
    /// When the sending schedule starts.
    started: Instant,
    deadline: Instant,
    progress: Arc<RoomProgress>,
}

/// Sends on schedule while connected, reconnects and resumes when the server dies, and
/// returns once everything it sent is confirmed and it has caught up to the room's end.
async fn run_client(client: Client) -> ClientState {
    let Client {
        mut state,
        mut ws,
        addrs,
        home,
        mut rng,
        started,
        deadline,
        progress,
    } = client;
    let mut final_seq = progress.final_seq.subscribe();
    let mut reported = false;
    let mut next_send_at = started + send_gap(&mut rng);
    // Sends refused for now (overload): sent again a moment later, like the browser does.
    let mut retry_at: Option<Instant> = None;
    loop {
        // Connected: send on schedule and take in events until the socket dies.
        loop {
            if !reported && state.all_sent_and_confirmed() {
                progress.report(state.max_confirmed());
                reported = true;
            }
            let caught_up = matches!(*final_seq.borrow(), Some(end) if state.last_seq >= end);
            if reported && caught_up {
                let _ = timeout(Duration::from_secs(1), ws.close(None)).await;
                return state;
            }
            let more_to_send = state.sent.len() < SENDS_PER_CLIENT;
            tokio::select! {
                _ = sleep_until(deadline) => {
                    state.violations.push(format!(
                        "gave up at the deadline: {} sent, {} unconfirmed, at seq {}, \
                         room ends at {:?}",
                        state.sent.len(),
                        state.pending.len(),
                        state.last_seq,
                        *final_seq.borrow()
                    ));
                    return state;
                }
                _ = sleep_until(next_send_at), if more_to_send => {
                    let (cid, text) = state.make_message();
                    next_send_at += send_gap(&mut rng);
                    // A write that fails is not lost: it stays pending and goes out again.
                    if !send_message(&mut ws, state.spec.room, &cid, &text).await {
                        break;
                    }
                }
                _ = sleep_until(retry_at.unwrap_or(deadline)), if retry_at.is_some() => {
                    retry_at = None;
                    if !resend_pending(&mut ws, &mut state).await {
                        break;
                    }
                }
                _ = final_seq.changed() => {}
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => match ServerEvent::decode(text.as_str()) {
                        Ok(event) => {
                            if state.apply(event) && retry_at.is_none() {
                                retry_at = Some(Instant::now() + Duration::from_millis(200));
                            }
                        }
                        Err(err) => {
                            state.violations.push(format!("unreadable event {text}: {err}"))
                        }
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    // Closed, reset, or binary (never sent by the server): start over.
                    Some(Ok(Message::Close(_) | Message::Binary(_))) | Some(Err(_)) | None => break,
                },
            }
        }
        // Lost: come back as the browser does.
        state.reconnects += 1;
        retry_at = None;
        match reconnect(&mut state, &addrs, home, &mut rng, deadline).await {
            Ok(socket) => ws = socket,
            Err(why) => {
                state.violations.push(format!(
                    "could not reconnect: {why} ({} unconfirmed)",
                    state.pending.len()
                ));
                return state;
            }
        }
    }
}

/// Reconnects with a short jittered backoff: the socket opened with the session cookie,
/// every unconfirmed send again (on welcome, as the browser flushes its outbox), then a
/// rejoin with `after` = the last seq received, whose catch-up is appended. An error
/// past the deadline, or at once when the server refuses the session (it was lost).
async fn reconnect(
    state: &mut ClientState,
    addrs: &[SocketAddr],
    home: usize,
    rng: &mut StdRng,
    deadline: Instant,
) -> Result<Socket, String> {
    let mut failures: u32 = 0;
    while Instant::now() < deadline {
        // Another node first (the one it was on has most likely died), then around.
        let addr = addrs[(home + state.reconnects + failures as usize) % addrs.len()];
        match try_resume(state, addr).await {
            Ok(socket) => return Ok(socket),
            Err(Some(event)) => return Err(format!("the server refused the session: {event:?}")),
            Err(None) => {}
        }
        failures += 1;
        // 20–40 ms at first, doubling up to 320–640 ms: the server is back within a
        // fraction of a second, and 24 clients should not knock in lockstep.
        let base = 20u64 << failures.min(5);
        sleep(Duration::from_millis(rng.random_range(base..=2 * base))).await;
    }
    Err("the deadline passed".to_owned())
}

/// One attempt to come back: welcomed, resent and rejoined; or `Err(None)` when the
/// server is not (or no longer) there, to try again; or `Err(Some(event))` when it
/// answered the upgrade with something other than our welcome.
async fn try_resume(
    state: &mut ClientState,
    addr: SocketAddr,
) -> Result<Socket, Option<ServerEvent>> {
    let (mut ws, conn) = try_welcome(addr, &state.spec.cookie, &state.spec.name).await?;
    if !resend_pending(&mut ws, state).await {
        return Err(None);
    }
    let joined = try_join(addr, &conn, state.spec.room, state.last_seq)
        .await
        .ok_or(None)?;
    state.catch_up(joined);
    Ok(ws)
}

/// Sends every unconfirmed message again, oldest first, under its own client id.
async fn resend_pending(ws: &mut Socket, state: &mut ClientState) -> bool {
    let room = state.spec.room;
    for (cid, text) in &state.pending {
        if !send_message(ws, room, cid, text).await {
            return false;
        }
        state.resends += 1;
    }
    true
}

async fn send_message(ws: &mut Socket, room: &str, cid: &str, text: &str) -> bool {
    let frame = ClientFrame::Send {
        room: room.into(),
        cid: cid.into(),
        text: text.into(),
        file: None,
        reply: None,
    };
    matches!(
        timeout(IO_TIMEOUT, ws.send(Message::text(frame.encode()))).await,
        Ok(Ok(()))
    )
}

/// `support::welcome` with the session `cookie`, but a refused connection or a dying
/// server is an answer, not a panic: during a restart both are expected (`Err(None)`).
/// Any other first event than the welcome of `name` is `Err(Some(event))`: the session
/// did not survive.
async fn try_welcome(
    addr: SocketAddr,
    cookie: &str,
    name: &str,
) -> Result<(Socket, String), Option<ServerEvent>> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", format!("http://{addr}").parse().unwrap());
    headers.insert("cookie", cookie.parse().unwrap());
    let (mut ws, _) = timeout(IO_TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| None)?
        .map_err(|_| None)?;
    loop {
        let frame = timeout(IO_TIMEOUT, ws.next())
            .await
            .map_err(|_| None)?
            .ok_or(None)?
            .map_err(|_| None)?;
        if let Message::Text(text) = frame {
            match ServerEvent::decode(text.as_str()).map_err(|_| None)? {
                ServerEvent::Welcome {
                    conn,
                    name: as_name,
                } if as_name == name => return Ok((ws, conn)),
                ServerEvent::Counts { .. } => continue,
                other => return Err(Some(other)),
            }
        }
    }
}

/// `support::join_after`, fallible in the same way: `None` when the server is gone or
/// no longer knows the connection.
async fn try_join(addr: SocketAddr, conn: &str, room: &str, after: Seq) -> Option<JoinedRoom> {
    let args = JoinRoom {
        conn: conn.into(),
        room: room.into(),
        leave: None,
        after: Some(after),
    };
    let (status, body, _) = timeout(IO_TIMEOUT, support::try_call(addr, None, args))
        .await
        .ok()?
        .ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}

fn send_gap(rng: &mut StdRng) -> Duration {
    Duration::from_millis(rng.random_range(SEND_GAP_MS.0..=SEND_GAP_MS.1))
}

/// Where two message lists first differ, for the failure message.
fn first_difference(a: &[ChatMessage], b: &[ChatMessage]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
}
