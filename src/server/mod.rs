//! Everything that runs only on the server (feature `ssr`): storage, sockets, fan-out.
//!
//! Layout:
//! - [`config`]: flags and environment variables.
//! - [`state`]: what handlers and server functions share.
//! - [`store`]: the storage seam and its SQLite implementation.
//! - [`hub`]: rooms, connections and names in use; joining a room.
//! - [`room`]: one room's subscribers, presence and message writer.
//! - [`outbox`]: a connection's bounded outgoing queue.
//! - [`connection`]: the WebSocket protocol loop.
//! - [`rate_limit`]: token buckets.

pub mod config;
pub mod connection;
pub mod hub;
pub mod outbox;
pub mod rate_limit;
pub mod room;
pub mod state;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::app::{shell, App};
use config::Config;
use hub::Hub;
use state::AppState;
use store::{SqliteStore, Store};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Opens the database, binds the address and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), Error> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.database).await?);
    let hub = Hub::start(store).await?;
    let state = AppState {
        leptos_options: leptos_options(&config),
        hub: hub.clone(),
        limits: config.limits(),
    };
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(
        "natter listening on http://{} (database {})",
        listener.local_addr()?,
        config.database.display()
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            // WebSockets would otherwise hold the shutdown open forever.
            hub.close_all();
        })
        .await?;
    Ok(())
}

/// cargo-leptos bakes the front end's file names into the binary it builds; a plain
/// `cargo build` (tests) gets the same defaults as Cargo.toml's metadata.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let built_by_cargo_leptos = option_env!("LEPTOS_OUTPUT_NAME").is_some();
    let mut options = built_by_cargo_leptos
        .then(|| get_configuration(None).ok())
        .flatten()
        .map(|conf| conf.leptos_options)
        .unwrap_or_else(|| LeptosOptions::builder().output_name("natter").build());
    options.site_addr = config.addr;
    options.site_root = config.site_root.clone().into();
    options
}

/// The whole HTTP surface: pages, server functions, `/ws`, `/healthz` and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/ws", get(connection::upgrade))
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> String {
    format!("ok {} connections\n", state.hub.connection_count())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    // Give sockets a moment to send their close frames.
    tokio::time::sleep(Duration::from_millis(50)).await;
}
