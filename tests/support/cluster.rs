//! Several nodes for a test: a fresh PostgreSQL database on the server
//! `NATTER_TEST_POSTGRES` names, and a NATS server of the test's own on a free loopback
//! port (Debian's `nats-server`). Both go when the test ends.
//!
//! Without `NATTER_TEST_POSTGRES` (or without `nats-server`) a test is skipped, unless
//! `NATTER_REQUIRE_POSTGRES` is set, as the test command sets it: there it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use super::binary::free_port;

pub struct Services {
    /// The database every node shares, as `--database` takes it.
    pub database: PathBuf,
    pub nats_url: String,
    nats: Child,
    nats_port: u16,
    server: String,
    name: String,
    /// A PostgreSQL server of the test's own, to restart (see [`start_with_own_postgres`]).
    own: Option<OwnPostgres>,
}

/// A PostgreSQL server for one test, in a temporary directory, on a free port: the
/// test may crash and restart it without disturbing the others.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl OwnPostgres {
    fn start() -> (OwnPostgres, String) {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's postgresql")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .max()
            .expect("a PostgreSQL version");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let own = OwnPostgres { dir, bin };
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(own.dir.path())
                .status()
                .unwrap();
        }
        let data = own.data();
        let initdb = own.bin.join("initdb");
        own.run(&[
            initdb.to_str().unwrap(),
            "-D",
            &data,
            "-U",
            "natter",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {}",
            own.dir.path().display()
        );
        own.pg_ctl(&["-o", &options, "start"]);
        (own, format!("postgres://natter@127.0.0.1:{port}/postgres"))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// Runs `args` as the user PostgreSQL runs as (it refuses root).
    fn run(&self, args: &[&str]) {
        let status = match is_root() {
            true => Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .stdout(Stdio::null())
                .status(),
            false => Command::new(args[0])
                .args(&args[1..])
                .stdout(Stdio::null())
                .status(),
        };
        assert!(status.unwrap().success(), "{args:?} failed");
    }

    /// `pg_ctl` on this server; a stop is immediate, as a crash would be.
    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.data();
        let log = self.dir.path().join("log");
        let mut all = vec![
            pg_ctl.to_str().unwrap(),
            "-D",
            &data,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-m",
            "immediate",
        ];
        all.extend_from_slice(args);
        self.run(&all);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.pg_ctl(&["stop"]);
    }
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// PostgreSQL and NATS for a test, or `None` when this machine has none to give.
pub async fn start() -> Option<Services> {
    let required = std::env::var_os("NATTER_REQUIRE_POSTGRES").is_some();
    let Ok(server) = std::env::var("NATTER_TEST_POSTGRES") else {
        assert!(
            !required,
            "NATTER_REQUIRE_POSTGRES is set but NATTER_TEST_POSTGRES is not"
        );
        eprintln!("skipped: NATTER_TEST_POSTGRES is not set");
        return None;
    };
    Some(start_on(server, None).await)
}

/// [`start`] with a PostgreSQL server of the test's own, which
/// [`Services::restart_postgres`] crashes and starts again. Skipped or required as
/// [`start`] is (where the shared server is, Debian's PostgreSQL is).
pub async fn start_with_own_postgres() -> Option<Services> {
    start().await?;
    let (own, server) = OwnPostgres::start();
    Some(start_on(server, Some(own)).await)
}

async fn start_on(server: String, own: Option<OwnPostgres>) -> Services {
    let name = format!("natter_cluster_{}_{}", std::process::id(), free_port());
    let mut admin = PgConnection::connect(&server)
        .await
        .expect("the test server");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("a test database");
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    let nats_port = free_port();
    let nats = spawn_nats(nats_port);
    let services = Services {
        database: PathBuf::from(url.as_str()),
        nats_url: format!("nats://127.0.0.1:{nats_port}"),
        nats,
        nats_port,
        server,
        name,
        own,
    };
    services.wait_for_nats().await;
    services
}

fn spawn_nats(port: u16) -> Child {
    Command::new(std::env::var("NATTER_NATS_SERVER").unwrap_or_else(|_| "nats-server".into()))
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server (Debian's package; scripts/test installs it)")
}

impl Services {
    async fn wait_for_nats(&self) {
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.nats_port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Crashes PostgreSQL (an immediate shutdown, as if its process died; what was
    /// committed is in its WAL) and starts it again.
    pub fn restart_postgres(&self) {
        let own = self
            .own
            .as_ref()
            .expect("a PostgreSQL server of the test's own");
        own.pg_ctl(&["restart"]);
    }

    /// SIGKILL NATS and start it again on the same port: whatever was in flight is lost.
    pub async fn restart_nats(&mut self) {
        let _ = self.nats.kill();
        let _ = self.nats.wait();
        self.nats = spawn_nats(self.nats_port);
        self.wait_for_nats().await;
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let _ = self.nats.kill();
        let _ = self.nats.wait();
        if self.own.is_some() {
            // Its whole server goes, database and all.
            return;
        }
        let (server, name) = (self.server.clone(), self.name.clone());
        // The test's runtime may be ending: a thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut admin = PgConnection::connect(&server).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    admin.execute(sql.as_str()).await.ok()
                })
        })
        .join();
    }
}
