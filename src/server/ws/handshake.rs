//! The opening handshake (RFC 6455 §4.2): checks the upgrade request, answers `101`,
//! and takes the TCP stream over from hyper once the answer has gone out.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;

/// The upgrade, accepted: send `response`, then [`take_over`] the connection.
pub struct Accepted {
    pub response: Response,
    pub upgrade: OnUpgrade,
}

/// Checks `request` is a WebSocket upgrade this server speaks. A refusal is a `400`
/// saying why (browsers show a failed upgrade only as a failed socket, but a person with
/// `curl` deserves a reason).
// The refusal is as big as the acceptance, and as rare as a broken client.
#[allow(clippy::result_large_err)]
pub fn accept(request: &mut Request) -> Result<Accepted, Response> {
    // §4.2.1: a GET (axum routes HEAD to a GET handler too), HTTP/1.1 or later, with a
    // Host header (exactly one, as HTTP/1.1 requires).
    if request.method() != Method::GET {
        return Err(refuse("a WebSocket upgrade is a GET"));
    }
    if request.version() < Version::HTTP_11 {
        return Err(refuse("a WebSocket upgrade needs HTTP/1.1"));
    }
    let headers = request.headers();
    if headers.get_all(header::HOST).iter().count() != 1 {
        return Err(refuse("a WebSocket upgrade needs one Host header"));
    }
    if !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
    {
        return Err(refuse("expected a WebSocket upgrade"));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut refused = refuse("only WebSocket version 13 is spoken here");
        refused.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(refused);
    }
    // §4.2.1 and §11.3.1: exactly one key, the base64 of 16 bytes.
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(refuse("expected one Sec-WebSocket-Key"));
    };
    if !is_valid_key(key.as_bytes()) {
        return Err(refuse("Sec-WebSocket-Key is not the base64 of 16 bytes"));
    }
    let accept = accept_key(key.as_bytes());
    // hyper puts this in every HTTP/1.1 request it could hand over.
    let Some(upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return Err(refuse("this connection cannot be upgraded"));
    };
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .expect("a valid response");
    Ok(Accepted { response, upgrade })
}

/// The TCP stream under the upgraded connection, and whatever the client sent after its
/// request that hyper had already read (frames, possibly).
///
/// Only the connections of `server::serve` can be taken over: they are plain
/// `TokioIo<TcpStream>`, where `axum::serve` wraps its own in a private type.
pub async fn take_over(upgrade: OnUpgrade) -> std::io::Result<(TcpStream, Bytes)> {
    let upgraded = upgrade.await.map_err(std::io::Error::other)?;
    let parts = upgraded.downcast::<TokioIo<TcpStream>>().map_err(|_| {
        std::io::Error::other("the upgraded connection is not a TCP stream of server::serve")
    })?;
    Ok((parts.io.into_inner(), parts.read_buf))
}

/// `Sec-WebSocket-Accept` for a client's key: proof that the server read the request as
/// a WebSocket upgrade.
fn accept_key(key: &[u8]) -> String {
    const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let digest = Sha1::new().chain_update(key).chain_update(GUID).finalize();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Whether `key` is the base64 of 16 bytes (24 characters, the last two `=`), as §4.1
/// makes it, optional whitespace around it aside.
fn is_valid_key(key: &[u8]) -> bool {
    let key = key.trim_ascii();
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|bytes| bytes.len() == 16)
}

/// Whether the comma-separated `name` header lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

fn refuse(why: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, why).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_the_rfcs() {
        // RFC 6455 §1.3's example.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn upgrade_request(connection: &str, version: &str, key: Option<&str>) -> Request {
        let mut request = Request::builder()
            .uri("/ws")
            .header(header::HOST, "example.org")
            .header(header::CONNECTION, connection)
            .header(header::UPGRADE, "WebSocket")
            .header(header::SEC_WEBSOCKET_VERSION, version);
        if let Some(key) = key {
            request = request.header(header::SEC_WEBSOCKET_KEY, key);
        }
        request.body(Body::empty()).unwrap()
    }

    #[test]
    fn broken_upgrades_are_refused_with_400() {
        let key = Some("dGhlIHNhbXBsZSBub25jZQ==");
        for mut request in [
            upgrade_request("close", "13", key),
            upgrade_request("keep-alive, Upgrade", "12", key),
            upgrade_request("Upgrade", "13", None),
            upgrade_request("Upgrade", "13", Some("not base64 at all!!")),
            // 15 and 32 bytes, and none.
            upgrade_request("Upgrade", "13", Some("AAAAAAAAAAAAAAAAAAAA")),
            upgrade_request(
                "Upgrade",
                "13",
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ),
            upgrade_request("Upgrade", "13", Some("")),
            // A proper request, but not from a connection hyper can hand over.
            upgrade_request("keep-alive, Upgrade", "13", key),
        ] {
            let refused = accept(&mut request).err().expect("refused");
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        }
    }
}
