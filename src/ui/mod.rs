//! The user interface: components rendered on the server and hydrated in the browser.
//!
//! Parts shown on a condition are `Option<AnyView>`s or closures returning `AnyView`s
//! (`cond.then(|| view! {..}.into_any())`, with a `Memo` for the condition where it changes
//! more often than the answer), and short lists are plain `Vec<AnyView>`s, rather than
//! `<Show>`, `<For>` or views of their own types: every such part then shares one
//! renderer, where each distinct type adds its own generic code to the WASM. Only the
//! message list, which can be long, is keyed. For the same reason reactive parts are
//! closures written in the `view!` itself (`{move || title()}`, not `{title}`): leptos
//! erases those to one type per output type.
//!
//! What the WASM does not carry at all, being bigger than what it does for Natter
//! (gzipped WASM + JS after each step, from 338.7 KiB; the steps to 276.6 KiB are
//! gzip -9's figures, the later ones `end2end/bench/first-load.mjs`'s, which gave 277.7
//! KiB before them):
//! - `leptos_router`: the three pages and the navigation between them are [`router`],
//!   a few dozen lines (→ 293 KiB);
//! - `leptos_meta`: the browser keeps the tab's title itself, [`title`] (→ 289 KiB);
//! - serde's buffering of tagged enums: `ServerEvent`s are read in one pass
//!   (`protocol::server_event_de`; → 280 KiB);
//! - the panic hook, which a panic that aborts at once never reaches, and wasm-opt's
//!   `--low-memory-unused` (Cargo.toml; → 276.6 KiB);
//! - gloo-net's WebSocket: `socket` (browser only) is `web_sys`'s, its events sent
//!   down a channel (→ 273.8 KiB);
//! - serde_json's `str` reader: resources, live events and what [`persist`] keeps are
//!   read from bytes, as server functions' answers are, so each type has one decoder
//!   ([`json`]; → 267.4 KiB);
//! - server_fn's client: [`api`] calls the server functions with `fetch` itself
//!   (→ 257.4 KiB);
//! - a resource's generic code per resource: they all hold JSON text ([`json::Loaded`];
//!   → 255.7 KiB);
//! - a copy of each effect's task per closure type: [`effect`] boxes the closure
//!   (→ 252.9 KiB);
//! - wasm-streams' wasm-bindgen exports (JS classes for streams that only streaming
//!   server functions use): `patches/wasm-streams` stands in for it (→ 246.5 KiB);
//! - sections for tools only (Cargo.toml; → about 246 KiB);
//! - suspense's generic code once per view type: every `Suspend` gives an `AnyView`
//!   (→ 241.2 KiB).

pub mod account;
pub mod api;
pub mod banners;
pub mod composer;
pub mod home;
pub mod json;
#[cfg(feature = "hydrate")]
pub mod live;
pub mod message_list;
pub mod not_found;
#[cfg(feature = "hydrate")]
pub mod notify;
pub mod offline;
pub mod outbox;
pub mod persist;
#[cfg(feature = "hydrate")]
pub mod pwa;
pub mod room_page;
pub mod router;
pub mod sidebar;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod state;
pub mod timeline;
pub mod title;
pub mod unread;

/// `Effect::new`, its closure boxed: the effect's task is generic over the closure, so
/// each closure type would bring a copy of its own.
pub fn effect(run: impl FnMut() + 'static) {
    let run: Box<dyn FnMut()> = Box::new(run);
    leptos::prelude::Effect::new(run);
}
