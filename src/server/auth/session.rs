//! Session tokens and the cookie that carries them.
//!
//! The token is 256 random bits; the database keeps only its SHA-256, so reading the
//! database does not yield a usable cookie. The cookie is `HttpOnly` (scripts cannot read
//! it, so an injected script could not steal it) and `SameSite=Lax` (other sites' requests
//! do not carry it), and `Secure` when the site is served over HTTPS.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "natter_session";
/// How long a session lasts without signing in again.
pub const LIFETIME_MS: i64 = 30 * 24 * 60 * 60 * 1000;

pub fn new_token() -> String {
    let bits: [u8; 32] = rand::random();
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The session token in the request's cookies, if any.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, token)| token.to_owned())
        .filter(|token| token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so),
/// so the cookie must be `Secure`.
pub fn is_https(headers: &HeaderMap) -> bool {
    let says = |name: &str, value: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(value))
    };
    says("x-forwarded-proto", "https") || says("origin", "https://")
}

pub fn set_cookie(token: &str, secure: bool) -> String {
    let max_age = LIFETIME_MS / 1000;
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_checked() {
        let token = new_token();
        let mut headers = HeaderMap::new();
        let cookies = format!("theme=dark; {COOKIE}={token}; other=1");
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookies).unwrap());
        assert_eq!(token_from(&headers), Some(token.clone()));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("natter_session=<script>"),
        );
        assert_eq!(token_from(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_https() {
        let plain = set_cookie("t", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(set_cookie("t", true).ends_with("; Secure"));
        let mut headers = HeaderMap::new();
        assert!(!is_https(&headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_https(&headers));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
