//! Who a request comes from, for rate limits and the sign-in throttle: the peer address, or,
//! behind proxies the operator runs, the address those proxies recorded.

use std::net::{IpAddr, Ipv6Addr};

use crate::config::RateLimitConfig;

/// How the client's address is found.
#[derive(Debug, Clone, Copy)]
pub struct ClientIps {
    /// `None`: the peer address only. `Some(n)`: `n` proxies of the operator's append to
    /// `X-Forwarded-For`, so the client is the `n`-th entry from the right.
    trusted_hops: Option<usize>,
}

impl ClientIps {
    pub fn from_config(cfg: &RateLimitConfig) -> ClientIps {
        ClientIps {
            trusted_hops: cfg
                .trust_forwarded_for
                .then_some(usize::from(cfg.trusted_proxy_hops.max(1))),
        }
    }

    /// The client's address. A client may write any `X-Forwarded-For` it likes, and each proxy
    /// appends the address it saw, so only the entries the operator's own proxies appended
    /// (the rightmost `trusted_hops`) can be believed; the leftmost is whatever the client
    /// said. With fewer entries than hops, the request skipped a proxy: the leftmost entry is
    /// still one a trusted proxy wrote.
    pub fn of(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let (Some(hops), Some(list)) = (self.trusted_hops, forwarded_for) else {
            return peer;
        };
        let entries: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        let Some(&entry) = entries
            .len()
            .checked_sub(hops)
            .and_then(|i| entries.get(i))
            .or(entries.first())
        else {
            return peer;
        };
        entry.parse().ok().or(peer)
    }
}

/// The key one client is counted under. An IPv6 host usually holds a whole /64 and picks any
/// address in it, so a /64 is one client; an IPv4-mapped IPv6 address is its IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(trust: bool, hops: u8) -> ClientIps {
        ClientIps::from_config(&RateLimitConfig {
            trust_forwarded_for: trust,
            trusted_proxy_hops: hops,
            ..RateLimitConfig::default()
        })
    }

    #[test]
    fn a_client_cannot_pick_its_ip_through_x_forwarded_for() {
        let peer = Some("10.0.0.9".parse().unwrap());
        // The client wrote 1.2.3.4; our one proxy appended what it saw, 5.6.7.8.
        let xff = Some("1.2.3.4, 5.6.7.8");
        assert_eq!(ips(true, 1).of(peer, xff), Some("5.6.7.8".parse().unwrap()));
        assert_eq!(ips(true, 2).of(peer, xff), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(ips(true, 3).of(peer, xff), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(ips(false, 1).of(peer, xff), peer, "not trusted: the peer");
        assert_eq!(ips(true, 1).of(peer, Some("junk")), peer);
        assert_eq!(ips(true, 1).of(peer, None), peer);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        let c = client_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_key("192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
