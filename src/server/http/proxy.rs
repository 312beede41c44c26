//! Who the client is behind a reverse proxy (`--trusted-proxy <CIDR>`): per-address
//! limits count the address in `X-Forwarded-For` only when the connection comes from a
//! proxy we trust, and only as far as trusted proxies vouch for it. Anyone else's
//! `X-Forwarded-For` is ignored, so a forged header buys no fresh limits.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::guard::ClientAddr;

/// The proxies whose `X-Forwarded-For` is believed (none by default).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, for a connection from `peer` with `headers`: walking
    /// `X-Forwarded-For` from the right (the hop nearest us), the first address not of
    /// a trusted proxy. A hop that does not parse ends the walk at the last trusted one.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.trusts(peer) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// Puts the client's address ([`ClientAddr`]) on every request, once.
pub async fn client_addr(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = proxies.client(peer.ip(), request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_as_far_as_proxies_vouch() {
        let proxies = TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        // From the proxy: the address it saw.
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &xff(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
        // Two trusted hops; what the client wrote itself (the left part) is not believed.
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &xff(&["1.2.3.4, 198.51.100.9, 10.2.2.2"])),
            ip("198.51.100.9")
        );
        assert_eq!(
            proxies.client(ip("::1"), &xff(&["1.2.3.4", "198.51.100.9"])),
            ip("198.51.100.9"),
            "several headers are one list"
        );
        // Not from a proxy: the header is ignored, whatever it says.
        assert_eq!(
            proxies.client(ip("198.51.100.1"), &xff(&["10.0.0.1"])),
            ip("198.51.100.1")
        );
        // No header, or garbage: the proxy itself (limits get stricter, never looser).
        assert_eq!(proxies.client(ip("10.1.1.1"), &xff(&[])), ip("10.1.1.1"));
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &xff(&["nonsense"])),
            ip("10.1.1.1")
        );
        assert_eq!(
            proxies.client(ip("10.1.1.1"), &xff(&["203.0.113.7, junk"])),
            ip("10.1.1.1")
        );
        // Nobody trusted by default.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.1.1.1"), &xff(&["203.0.113.7"])),
            ip("10.1.1.1")
        );
    }
}
