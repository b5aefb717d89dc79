//! Who is calling: the client's address (believing `X-Forwarded-For` only from trusted
//! proxies) and, with a valid bearer token, the user. Rate limits key on this.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{Extensions, HeaderMap, header},
};
use gerak_schema::{Auth, RequestMeta, throttle::rules};
use ipnet::IpNet;

use super::AppState;

const FORWARDED_FOR: &str = "x-forwarded-for";

pub struct Caller {
    pub auth: Auth,
    pub meta: RequestMeta,
    /// The rule of the per-client request limit.
    pub rule: &'static str,
    /// Its key for a signed-in user; anyone else counts by address (`meta.client`).
    user_key: Option<String>,
}

impl Caller {
    pub fn identify(
        state: &AppState,
        extensions: &Extensions,
        headers: &HeaderMap,
        read_only: bool,
    ) -> Self {
        // Without connection info (never when served by `app::serve`) everyone shares
        // one key: limits still hold, if coarsely.
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let ip = client_ip(peer, headers, &state.config.trusted_proxies);
        let client = ip_key(ip);
        let auth = Auth::from_header(
            &state.domains.tokens,
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        );
        let (rule, user_key) = match &auth {
            Auth::Viewer(viewer) => (rules::USER, Some(format!("user:{}", viewer.user_id))),
            _ => (rules::ANONYMOUS, None),
        };
        Self {
            auth,
            meta: RequestMeta {
                client,
                read_only,
                count_each: None,
            },
            rule,
            user_key,
        }
    }

    /// The key of the per-client request limit.
    pub fn key(&self) -> &str {
        self.user_key.as_deref().unwrap_or(&self.meta.client)
    }
}

/// The direct peer, unless it is a trusted proxy: then the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address
/// it saw, so everything left of that may be forged by the client).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            // Garbage: nothing left of it can be believed either.
            None => return client,
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// The rate-limit key of an address. IPv6 clients usually hold a whole /64, so that is
/// what counts as one client.
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        // Made for every request: written with `itoa`, without `format!`'s machinery (a
        // hundredth of a cached answer's CPU).
        IpAddr::V4(v4) => {
            let mut key = String::with_capacity("ip:255.255.255.255".len());
            key.push_str("ip:");
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                key.push_str(digits.format(octet));
            }
            key
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("ip:{prefix}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let xff = headers(&["198.51.100.7, 10.0.0.5"]);
        assert_eq!(client_ip(stranger, &xff, &trusted), stranger);
        assert_eq!(client_ip(stranger, &xff, &[]), stranger);
        assert_eq!(
            client_ip(proxy, &xff, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A client's forged entry, left of the address the proxy saw, is ignored.
        let forged = headers(&["1.1.1.1", "198.51.100.7:5000"]);
        assert_eq!(
            client_ip(proxy, &forged, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &headers(&["junk"]), &trusted), proxy);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(
            client_ip(proxy, &headers(&["[2001:db8::1]:443"]), &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            ip_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "ip:2001:db8:1:2::/64"
        );
        assert_eq!(ip_key("::ffff:192.0.2.1".parse().unwrap()), "ip:192.0.2.1");
        for ip in [
            "0.0.0.0",
            "10.0.99.100",
            "255.255.255.255",
            "127.0.0.1",
            "8.80.108.250",
        ] {
            assert_eq!(ip_key(ip.parse().unwrap()), format!("ip:{ip}"));
        }
    }
}
