//! Server-side request forgery rules: a URL a user hands us (a push endpoint, later a
//! link to preview) makes *the server* connect somewhere, from inside its network. So
//! only public addresses may be reached: never loopback, private, link-local, CGNAT,
//! unique-local, multicast, documentation or unspecified ones, in IPv4 or IPv6 (and
//! IPv4 hidden in IPv6: mapped, compatible, NAT64, 6to4).
//!
//! Checking a name and then connecting to whatever it resolves to *next* time would let
//! a DNS server answer "public" to the check and "127.0.0.1" to the connection
//! (rebinding), so [`PublicResolver`] filters the very addresses the client connects
//! to. A URL whose host is an address literal never reaches a resolver: [`check_url`]
//! checks those.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which addresses may be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// Tests only: also loopback (a stand-in service on 127.0.0.1), over plain HTTP.
    pub loopback: bool,
}

impl Reach {
    /// Whether the server may connect to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        is_public(ip) || (self.loopback && unmapped(ip).is_loopback())
    }
}

/// IPv4 carried in an IPv6 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
/// NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) is judged as that IPv4 address.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped)
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        // ::a.b.c.d (compatible, deprecated); `::` and `::1` are IPv6's own.
        [0, 0, 0, 0, 0, 0, _, _] if s[6] != 0 => Some(tail),
        // 64:ff9b::a.b.c.d (NAT64) and 64:ff9b:1::/48 (local NAT64)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        // 2002:aabb:ccdd::/48 (6to4)
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match unmapped(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", includes 0.0.0.0
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // CGNAT, 100.64.0.0/10
        || (a == 169 && b == 254) // link-local (cloud metadata services live here)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to anywhere
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only, 100::/64
        || s[..5] == [0, 0, 0, 0, 0]; // anything else in ::/80 (IPv4 forms were unmapped)
    !special
}

/// Why a URL may not be fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not a valid URL")]
    NotAUrl,
    #[error("the address must be https://")]
    NotHttps,
    #[error("the address must not carry a user name or password")]
    Credentials,
    #[error("the address is not a public one")]
    NotPublic,
}

/// Parses `url` and checks what can be checked before any lookup: `https` (or `http` to
/// loopback when `reach` allows it), no credentials, and an address literal that is
/// public. Names are checked as they resolve ([`PublicResolver`]).
pub fn check_url(url: &str, reach: Reach) -> Result<reqwest::Url, Refused> {
    check(url, reach, false)
}

/// [`check_url`] for a link someone posted (a page to preview): `http` is as good as
/// `https` there, the address rules the same.
pub fn check_link(url: &str, reach: Reach) -> Result<reqwest::Url, Refused> {
    check(url, reach, true)
}

fn check(url: &str, reach: Reach, plain_http: bool) -> Result<reqwest::Url, Refused> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Refused::NotAUrl)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refused::Credentials);
    }
    let literal = match parsed.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(Refused::NotAUrl),
    };
    let loopback_literal = literal.is_some_and(|ip| unmapped(ip).is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if plain_http || (reach.loopback && loopback_literal) => {}
        _ => return Err(Refused::NotHttps),
    }
    if literal.is_some_and(|ip| !reach.allows(ip)) {
        return Err(Refused::NotPublic);
    }
    Ok(parsed)
}

/// A resolver for reqwest that hands the client only the addresses [`Reach`] allows, so
/// the connection goes to an address that was checked (no DNS rebinding). A name with
/// none left fails to resolve.
#[derive(Clone, Copy, Debug, Default)]
pub struct PublicResolver {
    pub reach: Reach,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| reach.allows(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} has no public address").into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "142.250.74.46",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2001:4860:4860::8888",
            "2a00:1450:4001:82b::200a",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(s)), "{s} is public");
        }
    }

    #[test]
    fn inside_addresses_are_refused() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "::ffff:0:1",
        ] {
            assert!(!is_public(ip(s)), "{s} is not public");
        }
    }

    #[test]
    fn loopback_only_when_allowed() {
        let tests = Reach { loopback: true };
        for s in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(!Reach::default().allows(ip(s)), "{s} refused by default");
            assert!(tests.allows(ip(s)), "{s} allowed in tests");
        }
        assert!(!tests.allows(ip("10.0.0.1")));
        assert!(!tests.allows(ip("169.254.169.254")));
    }

    #[test]
    fn urls_must_be_https_and_public() {
        let default = Reach::default();
        assert!(check_url("https://push.example.com/send/abc", default).is_ok());
        assert_eq!(
            check_url("http://push.example.com/x", default),
            Err(Refused::NotHttps)
        );
        assert_eq!(
            check_url("ftp://example.com/x", default),
            Err(Refused::NotHttps)
        );
        assert_eq!(check_url("not a url", default), Err(Refused::NotAUrl));
        assert_eq!(
            check_url("https://user:pw@example.com/", default),
            Err(Refused::Credentials)
        );
        for literal in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://10.0.0.8/x",
            "https://169.254.169.254/latest",
            "https://[::ffff:192.168.0.1]/x",
            "https://2130706433/x", // 127.0.0.1 as one number
            "https://0x7f.1/x",
        ] {
            assert_eq!(
                check_url(literal, default),
                Err(Refused::NotPublic),
                "{literal}"
            );
        }
        assert_eq!(
            check_url("http://127.0.0.1:8080/x", default),
            Err(Refused::NotHttps)
        );
    }

    #[test]
    fn the_test_flag_allows_plain_http_to_loopback_only() {
        let tests = Reach { loopback: true };
        assert!(check_url("http://127.0.0.1:8080/push/1", tests).is_ok());
        assert!(check_url("http://[::1]:8080/push/1", tests).is_ok());
        assert_eq!(
            check_url("http://example.com/x", tests),
            Err(Refused::NotHttps)
        );
        assert_eq!(
            check_url("http://10.0.0.1/x", tests),
            Err(Refused::NotHttps)
        );
        assert_eq!(
            check_url("https://10.0.0.1/x", tests),
            Err(Refused::NotPublic)
        );
    }

    #[tokio::test]
    async fn the_resolver_drops_inside_addresses() {
        use reqwest::dns::Resolve;
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let refused = PublicResolver::default().resolve(name()).await;
        assert!(refused.is_err(), "localhost resolves to loopback only");
        let tests = PublicResolver {
            reach: Reach { loopback: true },
        };
        let addrs: Vec<_> = tests.resolve(name()).await.unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
