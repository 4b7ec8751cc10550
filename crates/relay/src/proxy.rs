//! The client's real address behind a TLS-terminating reverse proxy.
//!
//! `X-Forwarded-For` is believed only when the TCP peer is one of the
//! trusted proxies (`--trusted-proxy CIDR`); then the address is the
//! right-most entry that is not itself a trusted proxy. Anyone else's
//! header is ignored, so a client cannot pick the address its rate limits
//! are counted against.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// One `ADDR/BITS` network (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an address or CIDR network (e.g. 10.0.0.0/8, 127.0.0.1, ::1/128)");
        let (addr, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { net, bits })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> Result<Self, String> {
        list.iter().map(|s| s.parse()).collect::<Result<Vec<_>, _>>().map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address, given the TCP peer and the request's
    /// `X-Forwarded-For` values (in header order).
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).filter(|h| !h.is_empty()).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // "1.2.3.4", "[::1]:443" and "1.2.3.4:5678" all occur in the wild.
            let parsed = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()));
            match parsed.map(canonical) {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ip,
                // Garbage from the far side of our proxy: stop believing.
                None => return client,
            }
        }
        client
    }
}

/// Middleware: when the TCP peer is a trusted proxy, replaces the request's
/// `ConnectInfo<SocketAddr>` with the client's address from
/// `X-Forwarded-For`, so every handler, rate limit and log line that reads
/// the peer address sees the real client (the port stays the proxy's).
pub async fn client_ip_layer(State(trusted): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        if trusted.trusts(peer.ip()) {
            let xff = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
            let ip = trusted.client_ip(peer.ip(), xff);
            req.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.200.3")) && !c.contains(ip("10.2.0.1")));
        let c: Cidr = "127.0.0.1".parse().unwrap();
        assert!(c.contains(ip("127.0.0.1")) && !c.contains(ip("127.0.0.2")));
        assert!(c.contains(ip("::ffff:127.0.0.1")), "IPv4-mapped peers count as IPv4");
        let c: Cidr = "fd00::/8".parse().unwrap();
        assert!(c.contains(ip("fd12::1")) && !c.contains(ip("fe80::1")));
        let c: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(c.contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "x/8", "::1/129", "10.0.0.0/"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let t = TrustedProxies::parse(&["127.0.0.1/32".into(), "10.0.0.0/8".into()]).unwrap();
        // A client that is not a proxy cannot choose its address.
        assert_eq!(t.client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter()), ip("203.0.113.9"));
        // Through our proxy: the right-most address the proxy saw.
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["1.2.3.4, 198.51.100.7"].into_iter()), ip("198.51.100.7"));
        // Through two of our proxies.
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["198.51.100.7", "10.0.0.5"].into_iter()), ip("198.51.100.7"));
        // Garbage is not believed; the last proxy is the client then.
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["nonsense"].into_iter()), ip("127.0.0.1"));
        assert_eq!(t.client_ip(ip("127.0.0.1"), std::iter::empty()), ip("127.0.0.1"));
        assert_eq!(t.client_ip(ip("127.0.0.1"), ["198.51.100.7:4444"].into_iter()), ip("198.51.100.7"));
        // No trusted proxies at all: the TCP peer, always.
        assert_eq!(TrustedProxies::default().client_ip(ip("127.0.0.1"), ["1.2.3.4"].into_iter()), ip("127.0.0.1"));
    }
}
