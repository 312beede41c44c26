//! JSON read one way only: from bytes (`serde_json::from_slice`), as server functions read
//! their answers.
//!
//! serde_json's reader is generic over its input, so every type read from a `str` as well
//! as from bytes carried its whole decoder twice in the WASM. Resources (whose values the
//! page carries from the server), live events and what `persist` keeps are all read here.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON text through the byte reader.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

/// Leptos's default resource encoding, JSON, but read with [`from_text`].
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        from_text(val)
    }
}

/// A resource loaded once per page, its value sent in the page by the server.
pub fn resource<T, Fut>(
    fetcher: impl Fn() -> Fut + Send + Sync + 'static,
    blocking: bool,
) -> Resource<T, Json>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(|| (), move |_| fetcher(), blocking)
}
