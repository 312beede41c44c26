//! The server functions, one module per capability: the one contract between the page
//! and the server. The page calls these very functions (in the browser the `#[server]`
//! macro makes each a `fetch` of `/api/<endpoint>`, its arguments as JSON); the server
//! runs them; the Rust tests and natter-bench build their requests from the same
//! generated argument types (`JoinRoom`, `History`, …) and paths.
//!
//! Live events (messages, presence, counts) do not come through here: they come over the
//! tab's WebSocket (`server::ws`, `client::live`).

pub mod accounts;
pub mod files;
pub mod messages;
pub mod people;
pub mod push;
pub mod rooms;
pub mod search;
pub mod xhr;
