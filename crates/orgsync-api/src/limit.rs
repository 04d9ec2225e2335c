//! Push rate per org: a token bucket per push token's org.
//!
//! Why a bucket: a peer may send a burst (a batch job catching up) but not a sustained flood;
//! every accepted push costs a ledger transaction and, downstream, API calls on the other
//! orgs. The bucket holds `burst` tokens, refills at the configured rate, and a request takes
//! one; an empty bucket answers 429 with the seconds until the next token (`Retry-After`).
//! Pure apart from the lock; time is passed in, so the rule is tested without sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use orgsync_core::OrgName;
use orgsync_core::config::PushRate;

/// One org's bucket.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Take a token at `now`, or say how long until one is there. `per_sec` is the refill
    /// rate, `burst` the size. A clock that goes backwards refills nothing.
    pub fn take(&mut self, now: Instant, per_sec: f64, burst: u32) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(f64::from(burst));
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / per_sec))
    }
}

/// The buckets of every org that pushed.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: u32,
    buckets: Mutex<HashMap<OrgName, Bucket>>,
}

impl RateLimiter {
    /// Limiter for `rate` sustained with `burst` at once.
    pub fn new(rate: PushRate, burst: u32) -> Self {
        RateLimiter {
            per_sec: f64::from(rate.requests) / rate.per.as_secs_f64().max(f64::MIN_POSITIVE),
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admit one request of `org` at `now`, or the whole seconds to wait (at least 1).
    pub fn admit(&self, org: &OrgName, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets
            .entry(org.clone())
            .or_insert_with(|| Bucket::full(self.burst, now));
        bucket
            .take(now, self.per_sec, self.burst)
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(requests: u32, secs: u64) -> PushRate {
        PushRate {
            requests,
            per: Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_burst_then_the_rate_then_retry_after() {
        let t0 = Instant::now();
        let l = RateLimiter::new(rate(60, 3600), 3);
        let a = OrgName::from("a");
        for _ in 0..3 {
            assert_eq!(l.admit(&a, t0), Ok(()));
        }
        // one token per minute: 60 s to wait
        assert_eq!(l.admit(&a, t0), Err(60));
        assert_eq!(l.admit(&a, t0 + Duration::from_secs(30)), Err(30));
        assert_eq!(l.admit(&a, t0 + Duration::from_secs(60)), Ok(()));
        // another org has its own bucket
        assert_eq!(l.admit(&OrgName::from("b"), t0), Ok(()));
    }

    proptest! {
        /// Over any run of requests, the admitted ones in any window never exceed the burst
        /// plus what the rate refills in that window.
        #[test]
        fn never_more_than_burst_plus_rate(
            gaps in prop::collection::vec(0u64..5_000, 1..200),
            requests in 1u32..100,
            burst in 1u32..20,
        ) {
            let per_sec = f64::from(requests) / 60.0;
            let t0 = Instant::now();
            let mut b = Bucket::full(burst, t0);
            let mut t = t0;
            let mut admitted = Vec::new();
            for g in gaps {
                t += Duration::from_millis(g);
                if b.take(t, per_sec, burst).is_ok() {
                    admitted.push(t);
                }
            }
            for (i, start) in admitted.iter().enumerate() {
                for (j, end) in admitted.iter().enumerate().skip(i) {
                    let window = end.duration_since(*start).as_secs_f64();
                    let n = (j - i + 1) as f64;
                    prop_assert!(n <= f64::from(burst) + window * per_sec + 1e-9,
                        "{} admitted within {} s", n, window);
                }
            }
        }
    }
}
