//! Request rate limits per client IP and per site (GCRA, via governor).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use footprint_protocol::SiteKey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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
        self.check(&self.per_ip, &ip)
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

#[cfg(test)]
mod tests {
    use super::*;

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
