//! Command-line flags and their environment variables (`natter --help` lists them).

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use crate::server::chat::hub::HubLimits;
use crate::server::files::FileLimits;
use crate::server::net::ssrf::Reach;
use crate::server::previews::PreviewConfig;
use crate::server::push::PushConfig;
use crate::server::rate_limit::Rate;
pub use crate::server::store::Durability;
use crate::server::ws::send_queue::QueueBound;

#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "natter",
    version,
    about = "Natter: real-time multi-room chat server"
)]
pub struct Config {
    /// Without one, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to serve HTTP and WebSockets on.
    #[arg(long, env = "NATTER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// SQLite database file; created, with its schema, on first start. Or a PostgreSQL
    /// database, `postgres://user:password@host/name`, for several nodes: its schema is
    /// brought up to date on start.
    #[arg(long, env = "NATTER_DATABASE", default_value = "natter.db")]
    pub database: PathBuf,

    /// NATS server, `nats://host:4222`, for several nodes sharing one PostgreSQL
    /// `--database`: each node rings the others when it stores events.
    #[arg(long, env = "NATTER_NATS")]
    pub nats: Option<String>,

    /// Folder with the built front end, instead of the one inside the binary (which is
    /// unpacked beside the database); without either, `target/site`.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,

    /// Events queued for one client before it is cut off as too slow.
    #[arg(long, env = "NATTER_QUEUE", default_value_t = 1024)]
    pub queue: usize,

    /// Bytes queued for one client before it is cut off as too slow.
    #[arg(long, env = "NATTER_QUEUE_BYTES", default_value_t = 512 * 1024)]
    pub queue_bytes: usize,

    /// Seconds without a frame from a client (the server pings it at half this) before
    /// its connection is taken for dead and closed.
    #[arg(long, env = "NATTER_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,

    /// Seconds a client has to finish a frame (and a fragmented message) once it has
    /// begun: a socket that trickles a byte now and then is closed (1008) when they pass.
    #[arg(long, env = "NATTER_FRAME_TIMEOUT", default_value_t = 20)]
    pub frame_timeout: u64,

    /// `full`: a message is confirmed once its commit is on disk (SQLite
    /// synchronous=FULL), so it survives a power cut. `normal`: it survives a killed
    /// process, but a power cut may lose the last second.
    #[arg(long, env = "NATTER_DURABILITY", value_enum, default_value_t = Durability::Full)]
    pub durability: Durability,

    /// Messages per second one user may send, sustained (over all their tabs).
    #[arg(long, env = "NATTER_SEND_RATE", default_value_t = 5.0)]
    pub send_rate: f64,

    /// Messages one user may send in a burst.
    #[arg(long, env = "NATTER_SEND_BURST", default_value_t = 20.0)]
    pub send_burst: f64,

    /// Open WebSockets per client address.
    #[arg(long, env = "NATTER_CONNS_PER_ADDR", default_value_t = 64)]
    pub conns_per_addr: u32,

    /// Rooms one user may create at once; after that, one per ten minutes.
    #[arg(long, env = "NATTER_NEW_ROOMS_BURST", default_value_t = 5.0)]
    pub new_rooms_burst: f64,

    /// Whom push services may contact about this server's Web Push (the VAPID `sub`):
    /// a `mailto:` or `https:` URL.
    #[arg(long, env = "NATTER_PUSH_CONTACT", default_value = crate::server::push::DEFAULT_CONTACT)]
    pub push_contact: String,

    /// Tests only: accept push endpoints on loopback (`http://127.0.0.1:<port>/…`), so a
    /// stand-in push service can run beside the server. Off: https to public addresses.
    #[arg(long, env = "NATTER_PUSH_ALLOW_LOOPBACK")]
    pub push_allow_loopback: bool,

    /// A reverse proxy in front of Natter (a network, e.g. `127.0.0.1/32`; repeatable, or
    /// comma-separated): per-address limits see the client's address from its
    /// `X-Forwarded-For` only for requests that come from it. None by default.
    #[arg(
        long = "trusted-proxy",
        env = "NATTER_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Serve `/metrics` (Prometheus' text format) on this address, apart from the app;
    /// off unless given. Keep it private: it tells how busy the server is.
    #[arg(long, env = "NATTER_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// No link previews: the server never fetches what messages link to.
    #[arg(long, env = "NATTER_NO_LINK_PREVIEWS")]
    pub no_link_previews: bool,

    /// Tests only: link previews may fetch from loopback (a stand-in site on
    /// `http://127.0.0.1:<port>/`). Off: public addresses only.
    #[arg(long, env = "NATTER_PREVIEW_ALLOW_LOOPBACK")]
    pub preview_allow_loopback: bool,
    /// Folder for files sent with messages (kept by content hash); default: the
    /// database's path with `.files` added (`natter.db.files/`).
    #[arg(long, env = "NATTER_FILES")]
    pub files: Option<PathBuf>,

    /// Largest file one may send, in MiB.
    #[arg(long, env = "NATTER_MAX_FILE_MB", default_value_t = 25)]
    pub max_file_mb: u64,

    /// Uploads one user may make in a burst; after that, `--upload-rate` per minute.
    #[arg(long, env = "NATTER_UPLOAD_BURST", default_value_t = 20.0)]
    pub upload_burst: f64,

    /// Uploads per minute one user may make, sustained.
    #[arg(long, env = "NATTER_UPLOAD_RATE", default_value_t = 10.0)]
    pub upload_rate: f64,

    /// MiB one user may upload in 24 hours.
    #[arg(long, env = "NATTER_UPLOAD_QUOTA_MB", default_value_t = 1024)]
    pub upload_quota_mb: u64,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "NATTER_LOG", default_value = "info")]
    pub log: String,
}

/// What the binary does instead of serving.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Administration: `natter admin backup <file>`, … (`--database` says which).
    #[command(subcommand)]
    Admin(crate::server::admin::Admin),
}

impl Config {
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            queue: QueueBound {
                frames: self.queue.max(1),
                bytes: self.queue_bytes.max(1024),
            },
            idle: Duration::from_secs(self.idle_timeout.max(1)),
            frame: Duration::from_secs(self.frame_timeout.max(1)),
        }
    }

    pub fn hub_limits(&self) -> HubLimits {
        HubLimits {
            sends: Rate {
                per_second: self.send_rate,
                burst: self.send_burst.max(1.0),
            },
            conns_per_addr: self.conns_per_addr.max(1),
            new_rooms: Rate {
                per_second: 1.0 / 600.0,
                burst: self.new_rooms_burst.max(1.0),
            },
            ..HubLimits::default()
        }
    }

    /// Where link previews may go; `None` when they are off.
    pub fn previews(&self) -> Option<PreviewConfig> {
        (!self.no_link_previews).then_some(PreviewConfig {
            reach: Reach {
                loopback: self.preview_allow_loopback,
            },
        })
    }

    /// Where uploaded files are kept.
    pub fn files_dir(&self) -> PathBuf {
        self.files
            .clone()
            .unwrap_or_else(|| self.beside_database(".files"))
    }

    /// A local path named after the database: the SQLite file's with `suffix` added, or
    /// `natter<suffix>` in the working folder when the database is PostgreSQL's.
    pub fn beside_database(&self, suffix: &str) -> PathBuf {
        let mut path = match self.postgres() {
            Some(_) => "natter".into(),
            None => self.database.clone().into_os_string(),
        };
        path.push(suffix);
        path.into()
    }

    /// The PostgreSQL URL `--database` names, if it names one.
    pub fn postgres(&self) -> Option<&str> {
        self.database
            .to_str()
            .filter(|url| crate::server::store::postgres::is_url(url))
    }

    /// `--database` as a log may show it: without a URL's password.
    pub fn database_shown(&self) -> String {
        match self.postgres().and_then(|url| url::Url::parse(url).ok()) {
            Some(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("…"));
                }
                url.to_string()
            }
            None => self.database.display().to_string(),
        }
    }

    pub fn file_limits(&self) -> FileLimits {
        FileLimits {
            max_bytes: self.max_file_mb.max(1) * 1024 * 1024,
            rate: Rate {
                per_second: self.upload_rate.max(0.0) / 60.0,
                burst: self.upload_burst.max(1.0),
            },
            quota_bytes: self.upload_quota_mb.saturating_mul(1024 * 1024),
        }
    }

    pub fn push(&self) -> PushConfig {
        PushConfig {
            contact: self.push_contact.clone(),
            reach: Reach {
                loopback: self.push_allow_loopback,
            },
            ..PushConfig::default()
        }
    }
}

/// Per-connection limits, from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// What may be queued for one client before it is cut off as too slow.
    pub queue: QueueBound,
    /// A connection that sends nothing at all, not even a pong, for this long is dead.
    /// The server pings at half of it, which also keeps proxies from dropping a quiet
    /// connection.
    pub idle: Duration,
    /// A frame, or a fragmented message, must be whole this long after its first byte:
    /// a client trickling a byte now and then is not idle, but holds a buffer for good.
    pub frame: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn confirmed_means_on_disk_unless_asked_otherwise() {
        let default = Config::parse_from(["natter"]);
        assert_eq!(default.durability, Durability::Full);
        assert_eq!(default.durability.pragma(), "FULL");
        let normal = Config::parse_from(["natter", "--durability", "normal"]);
        assert_eq!(normal.durability.pragma(), "NORMAL");
        assert!(Config::try_parse_from(["natter", "--durability", "off"]).is_err());
    }

    #[test]
    fn trusted_proxies_are_networks_and_none_by_default() {
        assert!(Config::parse_from(["natter"]).trusted_proxies.is_empty());
        let config = Config::parse_from([
            "natter",
            "--trusted-proxy",
            "10.0.0.0/8,::1/128",
            "--trusted-proxy",
            "192.168.1.1/32",
        ]);
        assert_eq!(config.trusted_proxies.len(), 3);
        assert!(Config::try_parse_from(["natter", "--trusted-proxy", "10.0.0.1"]).is_err());
        assert!(Config::try_parse_from(["natter", "--trusted-proxy", "nonsense"]).is_err());
    }

    #[test]
    fn previews_are_on_and_public_only_unless_asked() {
        let default = Config::parse_from(["natter"]).previews().unwrap();
        assert!(!default.reach.loopback);
        let tests = Config::parse_from(["natter", "--preview-allow-loopback"]);
        assert!(tests.previews().unwrap().reach.loopback);
        assert!(Config::parse_from(["natter", "--no-link-previews"])
            .previews()
            .is_none());
    }

    #[test]
    fn push_to_loopback_is_off_unless_asked() {
        let default = Config::parse_from(["natter"]).push();
        assert!(!default.reach.loopback);
        assert_eq!(default.contact, crate::server::push::DEFAULT_CONTACT);
        let tests = Config::parse_from([
            "natter",
            "--push-allow-loopback",
            "--push-contact",
            "mailto:ops@example.com",
        ])
        .push();
        assert!(tests.reach.loopback);
        assert_eq!(tests.contact, "mailto:ops@example.com");
    }

    #[test]
    fn files_live_beside_the_database_unless_told() {
        let config = Config::parse_from(["natter", "--database", "/data/chat.db"]);
        assert_eq!(config.files_dir(), PathBuf::from("/data/chat.db.files"));
        assert_eq!(config.file_limits().max_bytes, 25 * 1024 * 1024);
        let config = Config::parse_from(["natter", "--files", "/srv/f", "--max-file-mb", "2"]);
        assert_eq!(config.files_dir(), PathBuf::from("/srv/f"));
        assert_eq!(config.file_limits().max_bytes, 2 * 1024 * 1024);
    }

    #[test]
    fn the_frame_timeout_is_a_flag() {
        let config = Config::parse_from(["natter", "--frame-timeout", "7"]);
        assert_eq!(config.limits().frame, Duration::from_secs(7));
        assert_eq!(
            Config::parse_from(["natter"]).limits().frame,
            Duration::from_secs(20)
        );
    }
}
