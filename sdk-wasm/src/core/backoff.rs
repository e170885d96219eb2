//! What to do after a send, and how long to wait before the next try.

/// The verdict on one send attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// The edge has the events: drop them from the queue.
    Delivered,
    /// Try again later: a network error, 429 or 5xx.
    Retry { retry_after_ms: Option<u64> },
    /// The edge will never take this batch (any other 4xx): drop it and warn once.
    Rejected,
}

/// Classifies an HTTP status; `None` is a network error. `retry_after` is the header's value.
pub fn classify(status: Option<u16>, retry_after: Option<&str>) -> SendOutcome {
    match status {
        Some(200..=299) => SendOutcome::Delivered,
        None | Some(429) | Some(500..=599) => SendOutcome::Retry {
            retry_after_ms: retry_after.and_then(parse_retry_after),
        },
        Some(_) => SendOutcome::Rejected,
    }
}

/// `Retry-After` in delta-seconds. The HTTP-date form is not sent by the edge; an unreadable
/// value falls back to the backoff schedule.
fn parse_retry_after(v: &str) -> Option<u64> {
    super::text::parse_u64(v.trim_ascii()).map(|s| s.saturating_mul(1000))
}

/// Exponential backoff with full jitter, capped; a server's `Retry-After` overrides the
/// schedule when it asks for longer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
    base_ms: u64,
    max_ms: u64,
}

/// Longest wait honoured from a `Retry-After`: a misconfigured edge must not silence a tracker
/// for the rest of the visit.
const MAX_RETRY_AFTER_MS: u64 = 10 * 60 * 1000;

impl Backoff {
    pub fn new(base_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            attempt: 0,
            base_ms: base_ms.max(1),
            max_ms: max_ms.max(base_ms),
        }
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next try after a failure. `jitter` is uniform in `[0, 1)`.
    pub fn next_delay(&mut self, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << self.attempt.min(32))
            .min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        // Half fixed, half random: spreads a fleet of browsers that failed together, while
        // never retrying sooner than half the schedule.
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let half = ceiling / 2;
        let delay = half + ((ceiling - half) as f64 * jitter) as u64;
        match retry_after_ms {
            Some(ra) => delay.max(ra.min(MAX_RETRY_AFTER_MS)),
            None => delay,
        }
    }

    /// After a success, the next failure starts the schedule again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_contract_says() {
        assert_eq!(classify(Some(200), None), SendOutcome::Delivered);
        assert_eq!(
            classify(None, None),
            SendOutcome::Retry {
                retry_after_ms: None
            }
        );
        assert_eq!(
            classify(Some(503), Some("5")),
            SendOutcome::Retry {
                retry_after_ms: Some(5000)
            }
        );
        assert_eq!(
            classify(Some(429), Some("soon")),
            SendOutcome::Retry {
                retry_after_ms: None
            }
        );
        for s in [400, 401, 403, 413, 415] {
            assert_eq!(classify(Some(s), None), SendOutcome::Rejected, "{s}");
        }
    }

    #[test]
    fn the_schedule_doubles_up_to_the_cap_within_its_jitter_band() {
        let mut b = Backoff::new(1000, 30_000);
        let lows: Vec<u64> = (0..7).map(|_| b.next_delay(0.0, None)).collect();
        assert_eq!(lows, [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
        let mut b = Backoff::new(1000, 30_000);
        let highs: Vec<u64> = (0..7).map(|_| b.next_delay(0.999_999, None)).collect();
        assert_eq!(highs, [999, 1999, 3999, 7999, 15_999, 29_999, 29_999]);
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let mut b = Backoff::new(1000, 30_000);
        assert_eq!(b.next_delay(0.0, Some(20_000)), 20_000);
        assert_eq!(b.next_delay(0.0, Some(10)), 1000);
        assert_eq!(b.next_delay(0.0, Some(u64::MAX)), MAX_RETRY_AFTER_MS);
    }

    #[test]
    fn success_resets_and_bad_jitter_does_not_panic() {
        let mut b = Backoff::new(1000, 30_000);
        b.next_delay(f64::NAN, None);
        b.next_delay(-5.0, None);
        b.reset();
        assert_eq!(b.attempt(), 0);
        for _ in 0..100 {
            assert!(b.next_delay(f64::INFINITY, None) <= 30_000);
        }
    }
}
