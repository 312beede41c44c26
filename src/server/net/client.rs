//! The HTTP client for every request a user's input makes the server send (push
//! services, pages to preview): redirects are never followed by the client (a caller
//! that follows them checks each hop itself), no proxy, and only addresses the SSRF rules
//! allow ([`PublicResolver`]).

use std::time::Duration;

use super::ssrf::{PublicResolver, Reach};

/// A client that connects only where `reach` allows, giving up on a request after
/// `timeout`.
pub fn guarded(reach: Reach, timeout: Duration) -> reqwest::Client {
    // The ring provider: no C toolchain needed. Only the first install counts, and
    // another part of the process may have installed one already; either is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(PublicResolver { reach })
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .user_agent(concat!("natter/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the guarded client's settings are valid")
}
