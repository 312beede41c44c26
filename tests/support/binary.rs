//! The `natter` binary as a child process on a loopback port of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Target;

/// The binary built with the tests, or the one `NATTER_TEST_BINARY` names (to run a test
/// against an older build, e.g. to count its failures before a fix).
pub fn natter() -> Command {
    match std::env::var_os("NATTER_TEST_BINARY") {
        Some(path) => Command::new(path),
        None => Command::new(env!("CARGO_BIN_EXE_natter")),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server; killed when dropped. [`Natter::restart`] brings it back on the same
/// port and database.
pub struct Natter {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub database: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Target for Natter {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Natter {
    /// Starts the binary on a free port with `database` and the extra flags `args`, and
    /// waits until `/healthz` answers.
    pub async fn start(database: &Path, args: &[&str]) -> Natter {
        Natter::start_with_env(database, args, &[]).await
    }

    /// [`Natter::start`], with these environment variables set for the server.
    pub async fn start_with_env(database: &Path, args: &[&str], env: &[(&str, &str)]) -> Natter {
        let mut natter = Natter {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            database: database.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        natter.spawn().await;
        natter
    }

    async fn spawn(&mut self) {
        // A node on PostgreSQL keeps its local files (the unpacked front end, uploads)
        // in its working folder: not this repository's.
        let on_postgres = self
            .database
            .to_str()
            .is_some_and(|d| d.starts_with("postgres"));
        let folder = match on_postgres {
            true => std::env::temp_dir().join("natter-test-nodes"),
            false => std::env::current_dir().unwrap(),
        };
        std::fs::create_dir_all(&folder).unwrap();
        let child = natter()
            .current_dir(&folder)
            .arg("--addr")
            .arg(self.addr.to_string())
            .arg("--database")
            .arg(&self.database)
            .args(&self.args)
            .env("NATTER_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // NATTER_TEST_LOG=<filter>: the servers' logs, for a failing test.
            .envs(std::env::var("NATTER_TEST_LOG").map(|log| ("NATTER_LOG", log)))
            .stdout(match std::env::var_os("NATTER_TEST_LOG") {
                Some(_) => Stdio::inherit(),
                None => Stdio::null(),
            })
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while !self.healthy().await {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "natter did not start within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn healthy(&self) -> bool {
        let Ok(mut tcp) = tokio::net::TcpStream::connect(self.addr).await else {
            return false;
        };
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = "GET /healthz HTTP/1.0\r\n\r\n";
        if tcp.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut response = String::new();
        let _ = tcp.read_to_string(&mut response).await;
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGKILL, then start again on the same port and database.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// Resident memory of the server process, in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }
}

impl Drop for Natter {
    fn drop(&mut self) {
        self.kill9();
    }
}
