//! One POST to a push service (RFC 8030 §5), and what its answer means for the
//! subscription: delivered, gone (404/410: delete it), worth another try (429, 5xx, no
//! answer), or refused for good.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use super::vapid::Vapid;
use crate::server::net::client;
use crate::server::net::ssrf::{self, Reach};

/// How a push went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// The subscription expired or was revoked: forget it.
    Gone,
    /// Busy, down or unreachable: try again later (after this long, if the service said).
    Retry(Option<Duration>),
    /// Refused for good (bad request, too large, a key it does not accept).
    Failed(String),
}

/// Posts encrypted pushes. One client for every push: connections to a push service are
/// kept and reused.
pub struct Sender {
    client: reqwest::Client,
    reach: Reach,
    /// How long the push service keeps a message for an offline browser (`TTL`).
    ttl: Duration,
}

impl Sender {
    pub fn new(reach: Reach, ttl: Duration, timeout: Duration) -> Sender {
        // A push service has no business redirecting, and a redirect could point anywhere
        // (inside the network too): the guarded client follows none.
        let client = client::guarded(reach, timeout);
        Sender { client, reach, ttl }
    }

    /// Posts `body` (already encrypted) to `endpoint`.
    pub async fn send(&self, vapid: &Vapid, endpoint: &str, body: Vec<u8>) -> Sent {
        // Checked when stored, and again here: rules may have changed since.
        let url = match ssrf::check_url(endpoint, self.reach) {
            Ok(url) => url,
            Err(refused) => return Sent::Failed(refused.to_string()),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let authorization = vapid.authorization(&url, now);
        let request = self
            .client
            .post(url)
            .header(AUTHORIZATION, authorization)
            .header("TTL", self.ttl.as_secs())
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            // Chat messages are worth waking a phone for, not worth a battery.
            .header("Urgency", "normal")
            .body(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return Sent::Retry(None).logged(&err),
        };
        let status = response.status();
        match status {
            s if s.is_success() => Sent::Delivered,
            StatusCode::NOT_FOUND | StatusCode::GONE => Sent::Gone,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Sent::Retry(retry_after(response.headers().get(RETRY_AFTER)))
            }
            s => Sent::Failed(format!("push service answered {s}")),
        }
    }
}

impl Sent {
    fn logged(self, err: &reqwest::Error) -> Sent {
        tracing::debug!("push failed: {err}");
        self
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from push services: ignored).
fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}
