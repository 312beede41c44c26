//! Natter: real-time multi-room chat, one Leptos crate built twice by cargo-leptos — the
//! `natter` server binary (feature `ssr`) and the WASM front end (feature `hydrate`).
//!
//! # Layout
//! - [`protocol`]: wire events, DTOs, errors, seq numbers and validation; both sides.
//! - [`api`]: the server functions, one module per capability ([`api::rooms`]: list,
//!   join, leave, create; [`api::messages`]: history; [`api::accounts`]: guests,
//!   accounts, sessions; [`api::people`]: conversations, members, notification levels;
//!   [`api::push`]: Web Push subscriptions; [`api::files`]: the upload, through its own
//!   client [`api::xhr`] for its progress). The one contract between page and server:
//!   the page calls these very functions.
//! - [`client`]: the browser's runtime, no views — the page's state and how server
//!   events change it, the live socket, the outbox, unread counts, what is kept offline.
//! - [`ui`]: the views (rendered on the server, hydrated in the browser); [`app`] is the
//!   page shell around them.
//! - `server` (feature `ssr`): server only — configuration, storage, HTTP, the
//!   WebSocket, fan-out, presence, accounts, Web Push, link previews, files sent with
//!   messages.
//!
//! Dependencies point one way — `ui` → `client` → `api` → `protocol`; the server
//! functions' bodies call into `server` — and no file imports one that imports it back
//! (`tests/layout.rs` checks).
//!
//! Live events flow one way: a send goes over the tab's WebSocket to the room's writer,
//! which stores it (that assigns its seq), then pushes the encoded event to every
//! subscriber's bounded send queue. A change of a stored message (a link's card, made in
//! the background by `server::previews`) takes the same way, with a seq of its own.
//! Events for one person wherever they are (mentions, read marks, rooms they were let
//! into) take the per-person path of the hub's inbox.
//!
//! On several nodes (PostgreSQL and NATS, `server::cluster`), each node's writers store
//! into PostgreSQL, where the room's counter row hands out the seqs, and ring the other
//! nodes with the batch; every node publishes a room's events through its sequencer, in
//! seq order whoever stored them, filling any gap from the store.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod client;
pub mod protocol;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic that aborts at once (the nightly release build) never reaches the hook.
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
