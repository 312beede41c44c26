//! The `natter` binary under test, run as a child process on a free loopback port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::proc_stats::{self, Sample};

/// Flags that lift the per-user and per-address limits a load test would trip over
/// (they exist to stop abuse by one person; here one "person" is thousands of clients).
const LOAD_FLAGS: &[&str] = &[
    "--conns-per-addr",
    "1000000",
    "--send-rate",
    "1000000000",
    "--send-burst",
    "1000000000",
];

/// How long the server may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Where the server serves `/metrics` (`--metrics-addr`).
    pub metrics: SocketAddr,
}

impl Server {
    /// Starts `binary` on `database` with the load flags plus `extra`, and waits until
    /// `/healthz` answers.
    pub async fn start(binary: &Path, database: &Path, extra: &[String]) -> Result<Server, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        // Any existing folder will do: WebSockets and server functions need no front end.
        // (A PostgreSQL URL has no folder: the system's temporary one.)
        let temp = std::env::temp_dir();
        let site_root = database
            .parent()
            .filter(|dir| dir.is_dir())
            .unwrap_or(&temp);
        let child = Command::new(binary)
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--database")
            .arg(database)
            .arg("--site-root")
            .arg(site_root)
            .args(LOAD_FLAGS)
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .args(extra)
            .env("NATTER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|err| format!("starting {}: {err}", binary.display()))?;
        let mut server = Server {
            child,
            addr,
            metrics,
        };
        let started = Instant::now();
        while !healthy(addr).await {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("natter exited at start: {status}"));
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("natter did not answer /healthz within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sample(&self) -> Sample {
        proc_stats::sample(self.pid())
    }

    /// The server's own counts, scraped from its `/metrics` and parsed: each sample's
    /// value by its name (labels included). Empty if the scrape fails.
    pub async fn scrape(&self) -> std::collections::HashMap<String, f64> {
        let mut samples = std::collections::HashMap::new();
        let Ok(mut tcp) = tokio::net::TcpStream::connect(self.metrics).await else {
            return samples;
        };
        let mut text = String::new();
        if tcp
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
            .await
            .is_err()
            || tcp.read_to_string(&mut text).await.is_err()
        {
            return samples;
        }
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            if let Some((name, value)) = line.rsplit_once(' ') {
                if let Ok(value) = value.parse() {
                    samples.insert(name.to_owned(), value);
                }
            }
        }
        samples
    }
}

impl Drop for Server {
    /// SIGTERM, as a service manager would stop it (and so that tools wrapping the
    /// server, like profilers, can write their output); SIGKILL if it takes too long.
    fn drop(&mut self) {
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `natter` is by default: beside this binary (both are in target/release).
pub fn default_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name("natter")
}

/// A folder for this run's databases, under target/ (real disk, like a real server).
pub fn scratch_dir() -> PathBuf {
    target_dir()
        .join("bench")
        .join(format!("run-{}", std::process::id()))
}

/// target/ when run from target/release, else the current folder.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

async fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    if tcp
        .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response).await;
    response.starts_with(b"HTTP/1.0 200") || response.starts_with(b"HTTP/1.1 200")
}

/// A server on a fresh database `<name>.db` with `rooms` rooms, and one guest session for
/// every client (the lifted per-person limits make that stand for many people).
pub struct Stage {
    pub slugs: Vec<String>,
    pub server: Server,
    pub cookie: String,
}

impl Stage {
    /// The fan-out's stage: [`Stage::set`] on SQLite, or on `options.nodes` nodes on
    /// PostgreSQL (`--nodes`, `--postgres`); the rooms' slugs, the nodes and a session.
    pub async fn set_nodes(
        options: &crate::Options,
        name: &str,
        rooms: usize,
    ) -> Result<(Vec<String>, crate::nodes::Nodes, String), String> {
        if options.nodes == 1 && options.postgres.is_none() {
            let stage = Stage::set(options, name, rooms).await?;
            return Ok((
                stage.slugs,
                crate::nodes::Nodes::one(stage.server),
                stage.cookie,
            ));
        }
        let slugs: Vec<String> = (0..rooms).map(|r| format!("bench-{r:03}")).collect();
        let nodes = crate::nodes::Nodes::start(options, name, &slugs).await?;
        let cookie = crate::http::HttpClient::new(nodes.servers[0].addr)
            .guest("bench")
            .await?;
        Ok((slugs, nodes, cookie))
    }

    pub async fn set(options: &crate::Options, name: &str, rooms: usize) -> Result<Stage, String> {
        let slugs: Vec<String> = (0..rooms).map(|r| format!("bench-{r:03}")).collect();
        let database = options.scratch.join(format!("{name}.db"));
        crate::db::with_rooms(&database, &slugs).await?;
        let server = Server::start(&options.server, &database, &options.server_args).await?;
        let cookie = crate::http::HttpClient::new(server.addr)
            .guest("bench")
            .await?;
        Ok(Stage {
            slugs,
            server,
            cookie,
        })
    }
}
