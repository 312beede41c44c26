//! JSON read one way only: from bytes (`serde_json::from_slice`), as server functions read
//! their answers.
//!
//! serde_json's reader is generic over its input, so every type read from a `str` as well
//! as from bytes carried its whole decoder twice in the WASM. Resources (whose values the
//! page carries from the server), live events and what `persist` keeps are all read here.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use leptos::prelude::*;
use leptos::server::codee::string::FromToStringCodec;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::AppError;

/// Reads JSON text through the byte reader.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

/// A resource loaded once per page, its value sent in the page by the server.
///
/// Held as JSON text and made by one function that is not generic, so the resource's
/// own (generic) code, a good part of the WASM, is there once rather than once per
/// resource.
pub struct Loaded<T> {
    // The text is in the page as it is.
    json: Resource<String, FromToStringCodec>,
    of: PhantomData<fn() -> T>,
}

impl<T> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Loaded<T> {}

pub fn resource<T, Fut>(
    fetcher: impl Fn() -> Fut + Send + Sync + 'static,
    blocking: bool,
) -> Loaded<T>
where
    T: Serialize,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let fetch = move || -> Answer {
        let answer = fetcher();
        Box::pin(async move { serde_json::to_string(&answer.await).unwrap_or_default() })
    };
    Loaded {
        json: text_resource(Box::new(fetch), blocking),
        of: PhantomData,
    }
}

type Answer = Pin<Box<dyn Future<Output = String> + Send>>;

/// Not generic, so its code is there once.
fn text_resource(
    fetch: Box<dyn Fn() -> Answer + Send + Sync>,
    blocking: bool,
) -> Resource<String, FromToStringCodec> {
    Resource::new_with_options(|| (), move |_| fetch(), blocking)
}

impl<T: DeserializeOwned> Loaded<T> {
    /// The answer, once there (tracked, like `Resource::get`).
    pub fn get(&self) -> Option<Result<T, AppError>> {
        self.json.with(|json| json.as_deref().map(read))
    }
}

impl<T: DeserializeOwned> IntoFuture for Loaded<T> {
    type Output = Result<T, AppError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let json = self.json;
        Box::pin(async move { read(&json.await) })
    }
}

fn read<T: DeserializeOwned>(json: &str) -> Result<T, AppError> {
    from_text(json).unwrap_or_else(|err| Err(AppError::Server(err.to_string())))
}
