//! Retry schedule and circuit breaker properties.

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::retry::breaker::*;
use orgsync_core::retry::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn schedule_is_monotonic_and_bounded(now_ms in 0i64..4_000_000_000_000) {
        let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap();
        let mut last = now;
        let mut made = 0;
        for attempts in 1..=MAX_ATTEMPTS + 3 {
            match decide(&FailureKind::Retryable, attempts, now, false) {
                Decision::RetryAt(t) => {
                    prop_assert!(t > last && t - now <= TimeDelta::hours(1));
                    prop_assert!(attempts < MAX_ATTEMPTS);
                    last = t;
                    made += 1;
                }
                Decision::FailNow(_) => prop_assert!(attempts >= MAX_ATTEMPTS),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(made, 4);
    }

    /// Random successes, failures and admissions over time keep the breaker's promises.
    #[test]
    fn breaker_transitions(events in prop::collection::vec((0u8..3, 0i64..5_000), 1..200)) {
        let mut b = Breaker::default();
        let mut now = DateTime::<Utc>::UNIX_EPOCH;
        let mut consecutive = 0u32;
        for (kind, gap_s) in events {
            now += TimeDelta::seconds(gap_s);
            match kind {
                0 => {
                    b.on_success();
                    consecutive = 0;
                    prop_assert_eq!(b, Breaker::Closed { failures: 0 });
                }
                1 => {
                    let before = b;
                    b.on_failure(now);
                    consecutive += 1;
                    match (before, b) {
                        (Breaker::Closed { .. }, Breaker::Open { open_for, .. }) => {
                            prop_assert_eq!(consecutive, FAILURE_THRESHOLD);
                            prop_assert_eq!(open_for, MIN_OPEN);
                        }
                        (Breaker::Closed { .. }, Breaker::Closed { failures }) => {
                            prop_assert!(failures < FAILURE_THRESHOLD);
                        }
                        (Breaker::HalfOpen { open_for: was, .. }, Breaker::Open { open_for, until }) => {
                            prop_assert_eq!(open_for, (was * 2).min(MAX_OPEN));
                            prop_assert_eq!(until, now + open_for);
                        }
                        (Breaker::Open { .. }, after) => prop_assert_eq!(after, before),
                        other => prop_assert!(false, "bad transition {:?}", other),
                    }
                }
                _ => {
                    let before = b;
                    let a = b.admit(now);
                    match (before, a) {
                        (Breaker::Closed { .. }, Admission::Allow) => {}
                        (Breaker::Open { until, .. }, Admission::Reject { retry_at }) => {
                            prop_assert!(now < until && retry_at == until);
                        }
                        (Breaker::Open { until, .. }, Admission::Probe) => prop_assert!(now >= until),
                        (Breaker::HalfOpen { probing: false, .. }, Admission::Probe) => {}
                        (Breaker::HalfOpen { probing: true, .. }, Admission::Reject { .. }) => {}
                        other => prop_assert!(false, "bad admission {:?}", other),
                    }
                }
            }
            if let Breaker::Open { open_for, .. } = b {
                prop_assert!(open_for >= MIN_OPEN && open_for <= MAX_OPEN);
            }
        }
    }
}
