//! The real router on a loopback port, in this process, with a database in a temporary
//! directory.

use std::net::SocketAddr;

use clap::Parser;
use natter::server::config::Config;
use natter::server::{app_state, router, serve};

use super::Target;

pub struct Server {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Target for Server {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Starts a server with the default configuration and `extra` flags.
pub async fn start_with(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("test.db");
    let mut args = vec![
        "natter",
        "--addr",
        "127.0.0.1:0",
        "--database",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let state = app_state(&Config::parse_from(args)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server's own accept loop: a WebSocket takes its TCP stream over from it.
    tokio::spawn(serve(listener, router(state), std::future::pending()));
    Server { addr, _dir: dir }
}

pub async fn start() -> Server {
    start_with(&[]).await
}
