//! What every request passes through: the same-origin rule for anything that changes
//! state, security headers on every response, and the client's address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The policy for everything but pages: only the app's own scripts (and WebAssembly),
/// styles, images and connections; no plugins, no framing by any site.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The policy for a page: as [`CSP`], plus the one inline script (hydration) that carries
/// this response's nonce.
pub fn page_csp(nonce: &str) -> String {
    CSP.replacen(
        "script-src 'self'",
        &format!("script-src 'self' 'nonce-{nonce}'"),
        1,
    )
}

/// Sets the page's policy, with the nonce of this response. Called while rendering the
/// page shell.
pub fn set_page_csp() {
    let nonce = leptos::nonce::use_nonce();
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(response)) = (nonce, response) {
        if let Ok(value) = HeaderValue::from_str(&page_csp(&nonce)) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// Refuses cross-site requests that could change something: every non-GET request (server
/// functions) and the WebSocket upgrade. Browsers always send `Origin` on these; it must
/// name this very host. Without an `Origin` the request is not from a browser page, so
/// no cookie of a victim can ride along with it.
/// Largest request body (server function arguments are small; messages go over the
/// socket), except the upload's, which counts its file against its own limit while it
/// arrives (`server::files::upload`).
const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn body_limit(request: Request, next: Next) -> Response {
    if request.uri().path() == crate::protocol::UPLOAD_PATH {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(
        request
            .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES))),
    )
    .await
}

pub async fn same_origin(request: Request, next: Next) -> Response {
    let guarded = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request.uri().path() == "/ws";
    if guarded && !origin_allowed(request.headers()) {
        tracing::info!(
            origin = ?request.headers().get(header::ORIGIN),
            path = request.uri().path(),
            "cross-site request refused"
        );
        return (StatusCode::FORBIDDEN, "Cross-site requests are refused.\n").into_response();
    }
    next.run(request).await
}

fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    // "null" (sandboxed frames, some redirects) names no host and is refused like any
    // other stranger.
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host.is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
}

/// Adds the security headers every response should carry (pages set their own CSP, with
/// a nonce, before this runs).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // For browsers older than `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The client's address: its TCP connection's, or behind a trusted proxy the one the
/// proxy saw (`http::proxy`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        if let Some(client) = parts.extensions.get::<ClientAddr>() {
            return Ok(*client);
        }
        // Served without connection info (never in this crate's own serving), everyone
        // would share one address: limits get stricter, never looser.
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn only_this_host_is_a_trusted_origin() {
        let host = "chat.example:3000";
        assert!(origin_allowed(&headers(
            Some("http://chat.example:3000"),
            host
        )));
        assert!(origin_allowed(&headers(
            Some("https://CHAT.example:3000"),
            host
        )));
        assert!(origin_allowed(&headers(None, host)), "not a browser page");
        assert!(!origin_allowed(&headers(Some("http://evil.example"), host)));
        assert!(!origin_allowed(&headers(
            Some("http://chat.example:3001"),
            host
        )));
        assert!(!origin_allowed(&headers(
            Some("http://chat.example:3000.evil"),
            host
        )));
        assert!(!origin_allowed(&headers(Some("null"), host)));
    }

    #[test]
    fn pages_allow_only_their_own_inline_script() {
        let csp = page_csp("abc123");
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"));
    }
}
