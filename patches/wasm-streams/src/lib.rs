//! A stand-in for `wasm-streams`, of which server_fn's browser client uses four functions,
//! for streaming server functions only. Natter has none, and its page does not use that
//! client (`natter::ui::api`); yet the real crate's wasm-bindgen exports — JS classes for
//! stream sources and sinks — stayed in the WASM and its JS: 6.5 KiB gzipped.
//!
//! A streaming server function would need the real crate back (drop the `[patch]` in
//! Cargo.toml): here, making or reading a stream panics.

use futures_util::stream::Empty;
use wasm_bindgen::JsValue;

const UNSUPPORTED: &str = "streaming server functions need the real wasm-streams";

/// Only what server_fn 0.8 calls.
pub struct ReadableStream(web_sys::ReadableStream);

impl ReadableStream {
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        ReadableStream(raw)
    }

    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.0
    }

    pub fn from_stream<S>(_stream: S) -> Self {
        panic!("{UNSUPPORTED}")
    }

    pub fn into_stream(self) -> Empty<Result<JsValue, JsValue>> {
        panic!("{UNSUPPORTED}")
    }
}
