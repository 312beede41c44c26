//! `GET /files/<id>` and `/files/<id>/thumb`: a file, to whoever may read the room it was
//! sent to (checked on every request: someone removed from a private room loses its
//! files at once). Anyone signed in may read a public room's.
//!
//! Served with the type sniffed from its bytes and `nosniff`; only images and videos
//! are `inline`, everything else an `attachment` (an SVG or HTML file is downloaded, never
//! rendered); a sandboxing CSP in case one is opened anyway. One byte range is honoured
//! (videos seek with them).

use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::protocol::{is_upload_id, AttachmentKind};
use crate::server::state::AppState;

/// What a file served here may do if opened as a document: nothing. Images and media of
/// this very origin still show in the browser's own viewer.
pub const FILE_CSP: &str =
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";

pub async fn file(state: State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&state, &id, false, &headers).await
}

pub async fn thumb(state: State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&state, &id, true, &headers).await
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        "No such file.\n",
    )
        .into_response()
}

async fn serve(state: &AppState, id: &str, thumb: bool, headers: &HeaderMap) -> Response {
    if !is_upload_id(id) {
        return not_found();
    }
    // Signed out, no such file, or a room this person may not read: all look the same.
    let Ok(Some(session)) = state.auth.session(headers).await else {
        return not_found();
    };
    let Ok(Some((record, slug))) = state.files.db.file(id).await else {
        return not_found();
    };
    if state.hub.room_for(&session.record.user_id, &slug).is_err() {
        return not_found();
    }
    let hash = if thumb {
        match record.thumb {
            Some(hash) => hash,
            None => return not_found(),
        }
    } else {
        record.hash
    };
    let blobs = state.files.blobs.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let file = blobs.get(&hash)?;
        let len = file.metadata()?.len();
        Ok::<_, std::io::Error>((file, len))
    })
    .await;
    let Ok(Ok((file, len))) = opened else {
        tracing::warn!(id, "a recorded file is missing from the store");
        return not_found();
    };
    let mut file = tokio::fs::File::from_std(file);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, len));
    let (status, start, end) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
        None => (StatusCode::OK, 0, len),
    };
    if start > 0 && file.seek(SeekFrom::Start(start)).await.is_err() {
        return not_found();
    }
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(end - start)));
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    let inline = thumb
        || matches!(
            record.file.kind,
            AttachmentKind::Image | AttachmentKind::Video
        );
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    out.insert(header::CONTENT_TYPE, value(&record.file.mime));
    out.insert(header::CONTENT_LENGTH, value(&(end - start).to_string()));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert(
            header::CONTENT_RANGE,
            value(&format!("bytes {start}-{}/{len}", end - 1)),
        );
    }
    out.insert(
        header::CONTENT_DISPOSITION,
        value(&disposition(inline, &record.file.name)),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
    // Its bytes never change under its id; only who may read it does, and a shared
    // cache must not keep it.
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    response
}

/// `inline` or `attachment`, with the name both as plain ASCII and, exactly, as
/// RFC 8187's `filename*`.
pub fn disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let how = if inline { "inline" } else { "attachment" };
    format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// One range, `bytes=a-b`, `bytes=a-` or `bytes=-n`, as [start, end) within `len`.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().ok()?.saturating_add(1).min(len)
        };
        (start, end)
    };
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely() {
        assert_eq!(
            disposition(false, "report \"final\".pdf"),
            "attachment; filename=\"report _final_.pdf\"; filename*=UTF-8''report%20%22final%22.pdf"
        );
        assert!(disposition(true, "čaj.png").starts_with("inline; filename=\"_aj.png\""));
        assert!(disposition(true, "čaj.png").ends_with("UTF-8''%C4%8Daj.png"));
        assert!(!disposition(false, "a\r\nSet-Cookie: x").contains('\n'));
    }

    #[test]
    fn one_range_is_read() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=0-5000", 1000), Some((0, 1000)));
        assert_eq!(parse_range("bytes=2000-", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-9", 1000), None);
    }
}
