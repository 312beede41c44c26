//! floor: what this machine's kernel alone takes to get one small frame to each of the
//! bigroom's members over loopback TCP. No WebSocket, no store, no async runtime: two
//! threads (the machine's cores) write 100 bytes to each of N accepted sockets, and a
//! child process reads every one in turn with one thread, then answers on the first. The
//! bigroom's latency is read against it: what the server adds is the difference.
//!
//! The other ends are in a child process because one process may not hold 2 × 15,000
//! sockets here (20,000 open files).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Set in the child: "<address> <members>" to connect to and read from.
pub const READER_ENV: &str = "NATTER_BENCH_FLOOR_READER";
const FRAME: [u8; 100] = [b'x'; 100];
const ROUNDS: usize = 7;
const WRITERS: usize = 2;

#[derive(Debug, Serialize)]
pub struct Floor {
    pub members: usize,
    /// Per round: first write to the reader's answer (it has read every frame), ms.
    pub delivered_ms: Vec<f64>,
    /// Per round: first write to the last write returning, ms.
    pub written_ms: Vec<f64>,
}

pub fn floor(members: usize) -> Result<Floor, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut reader = Command::new(exe)
        .env(READER_ENV, format!("{addr} {members}"))
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the reader: {e}"))?;
    let result = write_rounds(&listener, members);
    let _ = reader.kill();
    let _ = reader.wait();
    result
}

fn write_rounds(listener: &TcpListener, members: usize) -> Result<Floor, String> {
    let mut sockets = Vec::with_capacity(members);
    for _ in 0..members {
        let (socket, _) = listener.accept().map_err(|e| e.to_string())?;
        socket.set_nodelay(true).map_err(|e| e.to_string())?;
        sockets.push(socket);
    }
    let mut floor = Floor {
        members,
        delivered_ms: Vec::new(),
        written_ms: Vec::new(),
    };
    let per_thread = members.div_ceil(WRITERS);
    for _ in 0..ROUNDS {
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        std::thread::scope(|scope| {
            for part in sockets.chunks_mut(per_thread) {
                scope.spawn(move || {
                    for socket in part {
                        let _ = socket.write_all(&FRAME);
                    }
                });
            }
        });
        floor.written_ms.push(ms(start));
        let mut answer = [0u8; 1];
        sockets[0]
            .read_exact(&mut answer)
            .map_err(|e| format!("the reader's answer: {e}"))?;
        floor.delivered_ms.push(ms(start));
    }
    Ok(floor)
}

/// The child: connects `members` sockets to `addr`, then reads a frame from each in turn
/// and answers on the first once a round is read. Ends when the parent closes.
pub fn read_rounds(spec: &str) -> Result<(), String> {
    let (addr, members) = spec.split_once(' ').ok_or("address and members")?;
    let addr: SocketAddr = addr.parse().map_err(|_| "an address")?;
    let members: usize = members.parse().map_err(|_| "a number of members")?;
    let mut sockets = Vec::with_capacity(members);
    for _ in 0..members {
        sockets.push(TcpStream::connect(addr).map_err(|e| e.to_string())?);
    }
    let mut frame = [0u8; FRAME.len()];
    loop {
        for socket in sockets.iter_mut() {
            if socket.read_exact(&mut frame).is_err() {
                return Ok(());
            }
        }
        if sockets[0].write_all(b"!").is_err() {
            return Ok(());
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
