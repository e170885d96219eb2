//! Request rate limits per client IP and per site (GCRA, via governor).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use footprint_protocol::SiteKey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client::client_key;
use crate::config::RateLimitConfig;

pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_site: DefaultKeyedRateLimiter<SiteKey>,
    clock: DefaultClock,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    // Both are checked to be at least 1 when the config is built.
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimits {
    pub fn new(cfg: &RateLimitConfig) -> RateLimits {
        RateLimits {
            per_ip: RateLimiter::keyed(quota(cfg.per_ip_per_second, cfg.per_ip_burst)),
            per_site: RateLimiter::keyed(quota(cfg.per_site_per_second, cfg.per_site_burst)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(seconds to wait)` when the IP is over its limit.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), u64> {
        self.check(&self.per_ip, &client_key(ip))
    }

    pub fn check_site(&self, site: &SiteKey) -> Result<(), u64> {
        self.check(&self.per_site, site)
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        l: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), u64> {
        l.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            // Retry-After is whole seconds; round up so a client that obeys it gets through.
            u64::try_from(wait.as_millis().div_ceil(1000))
                .unwrap_or(u64::MAX)
                .max(1)
        })
    }

    /// Forgets keys whose limit is back to full, so that memory follows active clients only.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_site.retain_recent();
    }
}

/// Failed authentications per client: after `limit` in a minute, every attempt of that client
/// is refused unseen until the minute is over, so a token cannot be guessed online. Kept by
/// hand rather than with governor: a limiter there counts every request, while this one must
/// count only failures yet refuse every request once they are spent.
pub struct AuthThrottle {
    limit: u32,
    clients: Mutex<HashMap<IpAddr, Strikes>>,
}

struct Strikes {
    since: Instant,
    failures: u32,
}

/// The window failures are counted over.
const AUTH_WINDOW: Duration = Duration::from_secs(60);
/// Most clients tracked at once. Past it a new client's failures go uncounted until the
/// minute's janitor forgets the idle ones: memory stays bounded under a flood of addresses,
/// and with tokens of at least 24 random characters uncounted guesses still get nowhere.
const MAX_TRACKED: usize = 100_000;

impl AuthThrottle {
    pub fn new(failures_per_minute: u32) -> AuthThrottle {
        AuthThrottle {
            limit: failures_per_minute.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while `ip` has spent its failures.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get(&client_key(ip)) {
            Some(s) if s.failures >= self.limit => match AUTH_WINDOW.checked_sub(now - s.since) {
                Some(left) => Err(u64::try_from(left.as_millis().div_ceil(1000))
                    .unwrap_or(60)
                    .max(1)),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Counts one failure of `ip`.
    pub fn fail(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let key = client_key(ip);
        if clients.len() >= MAX_TRACKED && !clients.contains_key(&key) {
            return;
        }
        let s = clients.entry(key).or_insert(Strikes {
            since: now,
            failures: 0,
        });
        if now - s.since >= AUTH_WINDOW {
            *s = Strikes {
                since: now,
                failures: 0,
            };
        }
        s.failures = s.failures.saturating_add(1);
    }

    /// Forgets clients whose window is over.
    pub fn forget_idle(&self) {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|_, s| now - s.since < AUTH_WINDOW);
        clients.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_are_throttled_per_client() {
        let t = AuthThrottle::new(3);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check(ip).is_ok());
            t.fail(ip);
        }
        let wait = t.check(ip).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // The same /64 is the same client; another /64 is not.
        assert!(t.check("2001:db8::ffff".parse().unwrap()).is_err());
        assert!(t.check("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn limits_after_the_burst_with_a_retry_time() {
        let cfg = RateLimitConfig {
            per_ip_per_second: 1,
            per_ip_burst: 2,
            ..RateLimitConfig::default()
        };
        let rl = RateLimits::new(&cfg);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(rl.check_ip(ip).is_ok());
        assert!(rl.check_ip(ip).is_ok());
        assert_eq!(rl.check_ip(ip), Err(1));
        assert!(
            rl.check_ip("127.0.0.2".parse().unwrap()).is_ok(),
            "other IPs are not affected"
        );
    }
}
