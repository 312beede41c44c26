//! `GET /previews/<name>.jpg`: the thumbnails of link cards, which Natter made itself
//! (so the page's `img-src 'self'` holds and browsers never contact linked sites). A
//! name is the hash of the bytes: a thumbnail never changes, and is cached for good.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::server::state::AppState;

pub async fn thumbnail(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".jpg").filter(|n| is_name(n)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.store.thumbnail(name).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::warn!(%err, "reading a thumbnail failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// 32 lowercase hex digits ([`super::thumbnail::name_of`]).
fn is_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
