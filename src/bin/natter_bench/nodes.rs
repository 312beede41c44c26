//! The servers a fan-out runs against: one node on SQLite (the default), or `--nodes N`
//! on PostgreSQL (`--postgres`, else the server `NATTER_TEST_POSTGRES` names) with a NATS
//! server of the bench's own between them. The bench makes a fresh database, brings its
//! schema up with natter's own code, adds the rooms, then starts the nodes; clients are
//! spread over them, so most deliveries cross from one node to another.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::proc_stats::Sample;
use crate::server::{free_port, Server};
use crate::Options;

/// One or several nodes, each a `natter` process.
pub struct Nodes {
    pub servers: Vec<Server>,
    /// PostgreSQL's database and NATS, when on several nodes; gone with the nodes.
    services: Option<Services>,
}

impl Nodes {
    /// Whether the nodes store on PostgreSQL (else one node on SQLite).
    pub fn on_postgres(&self) -> bool {
        self.services.is_some()
    }

    pub fn one(server: Server) -> Nodes {
        Nodes {
            servers: vec![server],
            services: None,
        }
    }

    /// `options.nodes` nodes on a fresh PostgreSQL database `natter_bench_<name>` holding
    /// the rooms `slugs`.
    pub async fn start(options: &Options, name: &str, slugs: &[String]) -> Result<Nodes, String> {
        let admin = options
            .postgres
            .clone()
            .or_else(|| std::env::var("NATTER_TEST_POSTGRES").ok())
            .ok_or("several nodes need PostgreSQL: --postgres URL or NATTER_TEST_POSTGRES")?;
        let database = format!("natter_bench_{}_{name}", std::process::id());
        let mut services = Services {
            nats: None,
            nats_monitor: None,
            admin: admin.clone(),
            database: database.clone(),
        };
        let url = services.create_database().await?;
        // Uploads' folder (none here) in this run's scratch, not the working folder.
        let files = options.scratch.join(format!("{name}.files"));
        let mut args = options.server_args.clone();
        args.extend(["--files".to_owned(), files.to_string_lossy().into_owned()]);
        if options.nodes > 1 {
            let (port, monitor) = (free_port()?, free_port()?);
            services.nats = Some(spawn_nats(port, monitor)?);
            services.nats_monitor = Some(SocketAddr::from(([127, 0, 0, 1], monitor)));
            tokio::time::sleep(Duration::from_millis(300)).await;
            args.extend(["--nats".to_owned(), format!("nats://127.0.0.1:{port}")]);
        }
        schema_and_rooms(&url, slugs).await?;
        let mut servers = Vec::new();
        for _ in 0..options.nodes.max(1) {
            servers.push(Server::start(&options.server, url.as_ref(), &args).await?);
        }
        Ok(Nodes {
            servers,
            services: Some(services),
        })
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|s| s.addr).collect()
    }

    /// Every node's CPU and memory, added up.
    pub fn sample(&self) -> Sample {
        let mut samples = self.servers.iter().map(Server::sample);
        let first = samples.next().expect("a node");
        samples.fold(first, |sum, s| Sample {
            at: sum.at,
            cpu: sum.cpu + s.cpu,
            rss_kib: sum.rss_kib + s.rss_kib,
        })
    }

    /// Every node's `/metrics`, added up: counts and sums add, so their means hold.
    pub async fn scrape(&self) -> HashMap<String, f64> {
        let mut all = HashMap::new();
        for server in &self.servers {
            for (name, value) in server.scrape().await {
                *all.entry(name).or_insert(0.0) += value;
            }
        }
        all
    }

    /// Messages NATS took in so far (its monitoring page): with several nodes, one per
    /// stored batch and room, plus a few signals. 0 without NATS.
    pub async fn nats_messages(&self) -> u64 {
        let Some(monitor) = self.services.as_ref().and_then(|s| s.nats_monitor) else {
            return 0;
        };
        let Ok(mut tcp) = tokio::net::TcpStream::connect(monitor).await else {
            return 0;
        };
        let mut text = String::new();
        if tcp
            .write_all(b"GET /varz HTTP/1.0\r\nHost: bench\r\n\r\n")
            .await
            .is_err()
            || tcp.read_to_string(&mut text).await.is_err()
        {
            return 0;
        }
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|varz| varz["in_msgs"].as_u64())
            .unwrap_or(0)
    }
}

fn spawn_nats(port: u16, monitor: u16) -> Result<Child, String> {
    Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", &monitor.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("starting nats-server (Debian's package): {err}"))
}

/// The schema, by natter's own migrations, and the bench's rooms.
async fn schema_and_rooms(url: &std::path::Path, slugs: &[String]) -> Result<(), String> {
    let url_text = url.to_str().expect("a URL is text");
    drop(
        natter::server::store::PgStore::open(url_text, natter::server::store::Durability::Full)
            .await
            .map_err(|err| err.to_string())?,
    );
    let mut db = PgConnection::connect(url_text)
        .await
        .map_err(|err| err.to_string())?;
    sqlx::query(
        "INSERT INTO rooms (slug, title, topic, created_ms)
         SELECT slug, slug, 'natter-bench', 0 FROM UNNEST($1::text[]) AS slug",
    )
    .bind(slugs)
    .execute(&mut db)
    .await
    .map_err(|err| err.to_string())?;
    Ok(())
}

struct Services {
    nats: Option<Child>,
    nats_monitor: Option<SocketAddr>,
    /// The server the database is made on, and the database.
    admin: String,
    database: String,
}

impl Services {
    /// Makes the database; its URL, as `--database` takes it.
    async fn create_database(&self) -> Result<std::path::PathBuf, String> {
        let mut admin = PgConnection::connect(&self.admin)
            .await
            .map_err(|err| format!("PostgreSQL at {}: {err}", self.admin))?;
        let sql = format!("CREATE DATABASE {}", self.database);
        admin
            .execute(sql.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let mut url = url::Url::parse(&self.admin).map_err(|e| e.to_string())?;
        url.set_path(&self.database);
        Ok(url.as_str().into())
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(nats) = &mut self.nats {
            let _ = nats.kill();
            let _ = nats.wait();
        }
        let (admin, database) = (self.admin.clone(), self.database.clone());
        // The bench's runtime is busy being the caller: a thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                    admin.execute(sql.as_str()).await.ok()
                })
        })
        .join();
    }
}
