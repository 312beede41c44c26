//! Natter: real-time multi-room chat, one Leptos crate built twice by cargo-leptos — the
//! `natter` server binary (feature `ssr`) and the WASM front end (feature `hydrate`).
//!
//! # Layout
//! - [`protocol`]: wire events, DTOs, ids, seq numbers and validation; both sides.
//! - [`app`] and [`ui`]: the page and its components; both sides (rendered on the
//!   server, hydrated in the browser). [`ui::live`] holds the browser's connection.
//! - One module per capability with its server functions: [`rooms`] (list, join),
//!   [`messages`] (history), [`accounts`] (usernames).
//! - [`server`]: server only — configuration, storage, the WebSocket, fan-out, presence.
//!
//! Live events flow one way: a send goes over the tab's WebSocket to the room's writer,
//! which stores it (that assigns its seq), then pushes the encoded event to every
//! subscriber's bounded outbox.
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
