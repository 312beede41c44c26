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
    };
    services.wait_for_nats().await;
    Some(services)
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
