//! Per-org circuit breaker: five consecutive failures open it; while open, calls to the org
//! are refused; when the open time is over one probe call goes through (half-open); a success
//! closes it, a failed probe re-opens it for twice as long. Open time starts at 1 minute and
//! doubles up to 1 hour — "up to an hour", recovering fast from a blip and backing off from
//! an outage.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::FailureKind;

/// Consecutive failures that open the circuit.
pub const FAILURE_THRESHOLD: u32 = 5;
/// First open period.
pub const MIN_OPEN: TimeDelta = TimeDelta::minutes(1);
/// Longest open period.
pub const MAX_OPEN: TimeDelta = TimeDelta::hours(1);

/// Which failures say the org is unhealthy: a whole call that failed, or a refused token.
/// Record-level outcomes (validation errors, a missing parent, a locked row) are answers from a
/// healthy org; quota has its own pause.
pub fn counts(kind: &FailureKind) -> bool {
    matches!(kind, FailureKind::Unavailable | FailureKind::Auth)
}

/// The breaker's state; persisted per org in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Breaker {
    /// Calls flow; counting consecutive failures.
    Closed {
        /// Failures since the last success.
        failures: u32,
    },
    /// Calls refused until `until`.
    Open {
        /// End of the open period.
        until: DateTime<Utc>,
        /// Length of this open period (doubles on a failed probe).
        open_for: TimeDelta,
    },
    /// One probe call allowed (or in flight).
    HalfOpen {
        /// The last open period.
        open_for: TimeDelta,
        /// Whether the probe has been handed out.
        probing: bool,
    },
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

/// May a call go to the org now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Yes.
    Allow,
    /// Yes, as the single probe; report its outcome.
    Probe,
    /// No; ask again at `retry_at`.
    Reject {
        /// When to ask again.
        retry_at: DateTime<Utc>,
    },
}

impl Breaker {
    /// Ask before a call.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Admission {
        match *self {
            Breaker::Closed { .. } => Admission::Allow,
            Breaker::Open { until, .. } if now < until => Admission::Reject { retry_at: until },
            Breaker::Open { open_for, .. }
            | Breaker::HalfOpen {
                open_for,
                probing: false,
            } => {
                *self = Breaker::HalfOpen {
                    open_for,
                    probing: true,
                };
                Admission::Probe
            }
            // the probe is out: others wait a little for its outcome
            Breaker::HalfOpen { probing: true, .. } => Admission::Reject {
                retry_at: now + TimeDelta::seconds(5),
            },
        }
    }

    /// A call succeeded: close.
    pub fn on_success(&mut self) {
        *self = Breaker::Closed { failures: 0 };
    }

    /// A call failed with an org-health failure (see [`counts`]).
    pub fn on_failure(&mut self, now: DateTime<Utc>) {
        *self = match *self {
            Breaker::Closed { failures } if failures + 1 >= FAILURE_THRESHOLD => Breaker::Open {
                until: now + MIN_OPEN,
                open_for: MIN_OPEN,
            },
            Breaker::Closed { failures } => Breaker::Closed {
                failures: failures + 1,
            },
            Breaker::HalfOpen { open_for, .. } => {
                let next = (open_for * 2).min(MAX_OPEN);
                Breaker::Open {
                    until: now + next,
                    open_for: next,
                }
            }
            // a call admitted before the circuit opened failed late: nothing changes
            open @ Breaker::Open { .. } => open,
        };
    }

    /// Whether calls are being refused (for status).
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        match self {
            Breaker::Closed { .. } => false,
            Breaker::Open { until, .. } => now < *until,
            Breaker::HalfOpen { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_five_then_probes_and_doubles() {
        let t0 = DateTime::UNIX_EPOCH;
        let mut b = Breaker::default();
        for _ in 0..4 {
            b.on_failure(t0);
            assert_eq!(b.admit(t0), Admission::Allow);
        }
        b.on_failure(t0);
        assert_eq!(
            b.admit(t0),
            Admission::Reject {
                retry_at: t0 + MIN_OPEN
            }
        );
        let t1 = t0 + MIN_OPEN;
        assert_eq!(b.admit(t1), Admission::Probe);
        assert!(matches!(b.admit(t1), Admission::Reject { .. }));
        b.on_failure(t1);
        assert_eq!(
            b,
            Breaker::Open {
                until: t1 + MIN_OPEN * 2,
                open_for: MIN_OPEN * 2
            }
        );
        let t2 = t1 + MIN_OPEN * 2;
        assert_eq!(b.admit(t2), Admission::Probe);
        b.on_success();
        assert_eq!(b.admit(t2), Admission::Allow);
        assert!(!b.is_open(t2));
    }

    #[test]
    fn which_failures_count() {
        assert!(counts(&FailureKind::Unavailable));
        assert!(counts(&FailureKind::Auth));
        assert!(!counts(&FailureKind::Retryable));
        assert!(!counts(&FailureKind::Contention));
        assert!(!counts(&FailureKind::MissingParent));
        assert!(!counts(&FailureKind::Quota { until: None }));
        assert!(!counts(&FailureKind::Permanent {
            message: String::new()
        }));
    }
}
