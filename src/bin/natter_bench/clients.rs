//! Many clients at once: each opens a socket (welcome), then joins its room through the
//! `join_room` server function; a join is confirmed when that call answers 200.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::http::HttpClient;
use crate::ws::{self, Socket};

/// Loopback source addresses the clients are spread over (127.0.0.2, …): each has its own
/// range of ephemeral ports, so tens of thousands of sockets (and those of earlier
/// scenarios in TIME_WAIT) never run out of them.
const SOURCE_ADDRS: u8 = 32;

pub struct Member {
    pub socket: Socket,
    pub room: usize,
}

pub struct Crowd {
    /// In client order; `None` where connecting or joining failed.
    pub members: Vec<Option<Member>>,
    /// From the first connect to the last confirmed join.
    pub elapsed: Duration,
    /// Per client, connect to confirmed join, in µs.
    pub latency: Histogram<u64>,
    pub failures: Vec<String>,
}

impl Crowd {
    pub fn joined(&self) -> usize {
        self.members.iter().flatten().count()
    }
}

/// Connects `rooms_of.len()` clients with the session `cookie`, client `i` joining room
/// `slugs[rooms_of[i]]` through `servers[i % servers.len()]`, at most `parallel` in
/// progress at once.
pub async fn connect_all(
    servers: &[SocketAddr],
    cookie: &str,
    slugs: &[String],
    rooms_of: &[usize],
    parallel: usize,
) -> Crowd {
    let count = rooms_of.len();
    let next = Rc::new(Cell::new(0usize));
    let members = Rc::new(RefCell::new((0..count).map(|_| None).collect::<Vec<_>>()));
    let latency = Rc::new(RefCell::new(histogram()));
    let failures = Rc::new(RefCell::new(Vec::new()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..parallel.clamp(1, count.max(1)) {
        let (next, members, latency, failures) = (
            next.clone(),
            members.clone(),
            latency.clone(),
            failures.clone(),
        );
        let (cookie, slugs, rooms_of) = (cookie.to_owned(), slugs.to_vec(), rooms_of.to_vec());
        let servers = servers.to_vec();
        workers.push(tokio::task::spawn_local(async move {
            // One kept-alive HTTP connection per worker and node, as a browser keeps one
            // per tab.
            let mut https: Vec<HttpClient> = servers.iter().map(|&s| HttpClient::new(s)).collect();
            loop {
                let i = next.get();
                if i >= count {
                    break;
                }
                next.set(i + 1);
                let begun = Instant::now();
                let room = rooms_of[i];
                // Client i on node i mod N: most deliveries cross between nodes.
                let node = i % servers.len();
                let (server, http) = (servers[node], &mut https[node]);
                match join_one(server, http, source_addr(i), &cookie, &slugs[room]).await {
                    Ok(socket) => {
                        let us = begun.elapsed().as_micros() as u64;
                        latency.borrow_mut().saturating_record(us);
                        members.borrow_mut()[i] = Some(Member { socket, room });
                    }
                    Err(why) => failures.borrow_mut().push(format!("client {i}: {why}")),
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed();
    Crowd {
        members: take(members),
        elapsed,
        latency: take(latency),
        failures: take(failures),
    }
}

async fn join_one(
    server: SocketAddr,
    http: &mut HttpClient,
    source: IpAddr,
    cookie: &str,
    room: &str,
) -> Result<Socket, String> {
    let socket = ws::connect(server, source, cookie).await?;
    http.join(&socket.conn, room).await?;
    Ok(socket)
}

fn source_addr(client: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        0,
        2 + (client % SOURCE_ADDRS as usize) as u8,
    ))
}

/// Latencies in µs, up to a minute, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn take<T>(shared: Rc<RefCell<T>>) -> T {
    Rc::try_unwrap(shared)
        .ok()
        .expect("workers are done")
        .into_inner()
}
