//! Everything that runs only on the server (feature `ssr`): storage, sockets, fan-out.
//!
//! Layout:
//! - [`config`]: flags and environment variables, and the limits made from them.
//! - [`state`]: what handlers and server functions share.
//! - [`http`]: serving HTTP — same-origin checks and security headers, the service
//!   worker and cache rules, what a server function reads from its request.
//! - [`ws`]: the WebSocket — handshake, frames, one task per connection, and each
//!   connection's bounded send queue.
//! - [`chat`]: rooms, connections and names in use ([`chat::hub`]); one room's
//!   subscribers, presence and message writer ([`chat::room`]).
//! - [`admin`]: `natter admin …`, the operator's commands (backup).
//! - [`auth`]: guest names, accounts, sessions, passwords.
//! - [`metrics`]: `/metrics` for Prometheus, on an address of its own.
//! - [`names`]: when two names are one (by how they look, not by their letters).
//! - [`store`]: the storage seam and its SQLite implementation.
//! - [`files`]: files sent with messages — uploads, sniffing, images, serving.
//! - [`push`]: Web Push — subscriptions, the VAPID key, and a bounded background queue
//!   that sends notices to push services.
//! - [`net`]: rules for connecting where users point (no private addresses).
//! - [`previews`]: link previews — a page fetched within every limit, and its card.
//! - [`rate_limit`]: token buckets, alone or per key.
//! - [`clock`]: wall-clock time as stored.
//!
//! This file puts them together: [`run`] opens the database and serves until a signal;
//! [`router`] is every route; [`serve`] is the accept loop.

pub mod admin;
pub mod auth;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod files;
pub mod http;
pub mod metrics;
pub mod names;
pub mod net;
pub mod previews;
pub mod push;
pub mod rate_limit;
pub mod state;
pub mod store;
pub mod ws;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service as _};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::{shell, App};
use auth::Auth;
use chat::hub::Hub;
use config::Config;
use state::AppState;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Opens the database, binds the address and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), Error> {
    let state = app_state(&config).await?;
    let hub = state.hub.clone();
    if let Some(addr) = config.metrics_addr {
        let bound = metrics::serve(addr, hub.clone(), state.push.clone(), &config.database).await?;
        tracing::info!("metrics on http://{bound}/metrics");
    }
    tokio::spawn(sweep_sessions(state.auth.clone()));
    let listener = listen(config.addr)?;
    tracing::info!(
        "natter listening on http://{} (database {})",
        listener.local_addr()?,
        config.database_shown()
    );
    let shutdown = {
        let hub = hub.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            // WebSockets would otherwise hold the shutdown open forever.
            hub.close_all();
        }
    };
    serve(listener, router(state), shutdown).await;
    // Upgraded sockets are no longer hyper's connections, so `serve` did not wait for
    // them: give them a moment to leave the hub, then their writers to send the close.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while hub.connection_count() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

/// How long a client may take to send a request's header, and (hyper starts the same
/// timer when a kept-alive connection goes idle) how long a connection may sit between
/// requests. Without it, a client that connects and sends nothing, or half a header,
/// holds a socket and a file descriptor forever (slowloris); enough of them and
/// `accept` fails for everyone.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// On shutdown, how long requests in flight (and sockets' close frames) may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// After a failed `accept` other than a connection's own error, e.g. out of file
/// descriptors: retrying at once would spin, and connections closing free some.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(500);

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, asks
/// every connection to finish its request in flight and waits for them (at most
/// [`DRAIN_TIMEOUT`]).
///
/// This is `axum::serve` with a timer: axum gives hyper none, so a connection has no
/// [`HEADER_TIMEOUT`]. Only HTTP/1 is built in, so hyper's HTTP/1 connection is used
/// directly: `hyper_util`'s auto builder would first wait, with no timeout at all, for
/// enough bytes to tell HTTP/2's preface apart.
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    // Every connection holds a receiver: a value sent asks them to finish, and the
    // channel closes when the last one has.
    let (stop, _) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        // Writers already batch (one flush per batch of frames), so Nagle's algorithm
        // would only hold a lone chat message back until the client's delayed ACK.
        let _ = tcp.set_nodelay(true);
        // What `into_make_service_with_connect_info` adds: `guard::ClientAddr` reads it.
        let app = TowerToHyperService::new(router.clone());
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.call(request)
        });
        // With upgrades: a WebSocket takes the connection over from hyper.
        let conn = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let mut stopping = stop.subscribe();
        tokio::spawn(async move {
            let mut conn = pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        });
    }
    drop(listener);
    stop.send_replace(());
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, stop.closed()).await;
}

/// Connections the kernel may hold for `accept` (capped by `net.core.somaxconn`).
/// Thousands of clients reconnect at once after a restart; when the queue overflows,
/// the kernel drops their SYNs and each waits a second to try again (with the default
/// queue, p99 of 10,000 clients joining at once was 1.06 s; with this one, 0.16 s).
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restart need not wait for old connections' TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Errors of one connection (reset before it was accepted) are its own; others, such as
/// running out of file descriptors, must not end the server either.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {err}");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Opens the database and starts the hub: everything the router needs.
pub async fn app_state(config: &Config) -> Result<AppState, Error> {
    let store = store::open(&config.database, config.durability).await?;
    // Accounts registered before names were compared by how they look get their key.
    let rekeyed = store.rekey_accounts(&names::name_key).await?;
    if rekeyed > 0 {
        tracing::info!(rekeyed, "account names now compared by how they look");
    }
    let leptos_options = leptos_options(config)?;
    let push = push::Push::start(store.clone(), config.push()).await?;
    let hub = Hub::start(store.clone(), config.hub_limits()).await?;
    // Several nodes: stored events ring the others, and theirs ring here.
    if let Some(nats) = &config.nats {
        if config.postgres().is_none() {
            return Err("--nats needs a PostgreSQL --database that every node shares".into());
        }
        hub.set_relay(cluster::join(nats, &hub).await?);
    }
    // What `natter admin` asks, and moderation changed beside this server.
    tokio::spawn(chat::moderation::watch(Arc::downgrade(&hub)));
    // Mentions, conversations and rooms heard in full reach people with no tab open.
    hub.inboxes().set_push(push.clone());
    if let Some(previews) = config.previews() {
        hub.set_links(previews::Previewer::start(store.clone(), previews));
    }
    let blobs = files::store::LocalFolder::open(&config.files_dir())?;
    let files = Arc::new(files::Files::new(
        Arc::new(blobs),
        store.clone(),
        config.file_limits(),
    ));
    hub.set_files(files.clone());
    Ok(AppState {
        release: Arc::new(http::pwa::Release::load(&leptos_options)),
        leptos_options,
        hub,
        auth: Arc::new(Auth::new(store.clone())),
        limits: config.limits(),
        push,
        store,
        proxies: http::proxy::TrustedProxies::new(config.trusted_proxies.clone()),
        files,
    })
}

/// Expired sessions are refused on sight; this only keeps the table small.
async fn sweep_sessions(auth: Arc<Auth>) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        auth.sweep().await;
    }
}

/// cargo-leptos bakes the front end's file names into the binary it builds; a plain
/// `cargo build` (tests) gets the same defaults as Cargo.toml's metadata.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, Error> {
    let built_by_cargo_leptos = option_env!("LEPTOS_OUTPUT_NAME").is_some();
    let mut options = built_by_cargo_leptos
        .then(|| get_configuration(None).ok())
        .flatten()
        .map(|conf| conf.leptos_options)
        .unwrap_or_else(|| LeptosOptions::builder().output_name("natter").build());
    options.site_addr = config.addr;
    // The front end inside the binary, unless a folder is named.
    let unpacked = match &config.site_root {
        Some(_) => None,
        None => http::site::unpack(&config.beside_database(".site"), &options.output_name)?,
    };
    match unpacked {
        Some(site) => {
            options.site_root = site.root.to_string_lossy().as_ref().into();
            options.hash_files = site.hash_file.is_some();
            if let Some(file) = site.hash_file {
                // Leptos reads it relative to the binary's folder; an absolute path wins.
                options.hash_file = file.to_string_lossy().as_ref().into();
            }
        }
        None => {
            let root = config.site_root.as_deref().unwrap_or("target/site");
            options.site_root = root.into();
            // Content-hashed file names, when cargo-leptos made them (`hash-files`).
            options.hash_files = built_by_cargo_leptos && http::pwa::hash_file(&options).exists();
        }
    }
    Ok(options)
}

/// The whole HTTP surface: pages, server functions, `/ws`, `/healthz` and static files.
/// Serve it with [`serve`]: a WebSocket takes its TCP stream over from hyper, which only
/// the connections `serve` makes allow.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    // Each page gets a fresh nonce for its one inline script (see `guard::page_csp`).
    let per_request = leptos::nonce::provide_nonce;
    // The build's files (`/pkg`, icons, the manifest) from the site root; anything else is
    // the not-found page.
    //
    // Not `leptos_axum::file_and_error_handler` for the files: leptos_axum 0.8.10 serves a
    // file under `Owner::new()`, a child of the page render that last ran on that worker
    // thread (`Owner::new_root` stays current), and moves that page's pending response
    // headers onto the file: the page then arrived without its CSP nonce (the browser
    // refused its scripts, about one page load in 30 in the e2e suite), and a `Set-Cookie`
    // meant for one visitor could have gone to another's request.
    let static_files = {
        use axum::handler::Handler;
        let not_found =
            leptos_axum::file_and_error_handler_with_context::<AppState, _>(per_request, shell);
        tower_http::services::ServeDir::new(&*options.site_root)
            .append_index_html_on_directories(false)
            .fallback(not_found.with_state(state.clone()))
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/sw.js", get(http::pwa::service_worker))
        .route("/previews/{file}", get(previews::serve::thumbnail))
        .leptos_routes_with_context(&state, routes, per_request, move || shell(options.clone()))
        .fallback_service(static_files)
        // Pages, files (the WASM shrinks to a third) and server functions; not the socket,
        // added after. Level 4: most of the gain for a fraction of the CPU of the maximum.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::compression::CompressionLevel::Precise(4)),
        )
        .route("/ws", get(ws::connection::upgrade))
        .layer(axum::middleware::from_fn(http::guard::body_limit))
        // Files are served as stored (no compression: images and videos are compressed
        // already).
        .route("/files/{id}", get(files::serve::file))
        .route("/files/{id}/thumb", get(files::serve::thumb))
        .layer(axum::middleware::from_fn(http::guard::same_origin))
        .layer(axum::middleware::from_fn(http::guard::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::pwa::cache_headers,
        ))
        // Outermost: who the client is, before anything counts per address.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::proxy::client_addr,
        ))
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
}
