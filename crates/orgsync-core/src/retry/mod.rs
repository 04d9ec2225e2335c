//! What happens after a failure, as pure state machines the engine drives with the clock:
//! the per-item retry schedule and the decision per failure kind (here), the per-org circuit
//! breaker ([`breaker`]). The API budget is held by the client itself (`sfclient`'s budget
//! ceiling): every call, whatever its purpose, reserves its place under the ceiling before it
//! is sent, so the rule needs no decision here.
//!
//! Schedule (the seeds' Delivery Hub table): attempt 1 now, attempt 2 after 30 s, 3 after
//! 2 min, 4 after 10 min, 5 after 1 h; a fifth failure marks the item Failed, kept for a
//! manual retry. Row-lock contention clears in moments, so it retries sooner
//! ([`CONTENTION_SCHEDULE`]). Only failures of the write itself count as attempts: an org that
//! is unreachable, over its quota or refusing the token defers the item without counting, and
//! a record that changed under the write (deleted there meanwhile) is re-read and decided
//! again.

pub mod breaker;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Delays before attempts 2..=5.
pub const SCHEDULE: [TimeDelta; 4] = [
    TimeDelta::seconds(30),
    TimeDelta::minutes(2),
    TimeDelta::minutes(10),
    TimeDelta::hours(1),
];

/// Delays before attempts 2..=5 after row-lock contention (`UNABLE_TO_LOCK_ROW`).
pub const CONTENTION_SCHEDULE: [TimeDelta; 4] = [
    TimeDelta::seconds(1),
    TimeDelta::seconds(5),
    TimeDelta::seconds(30),
    TimeDelta::minutes(2),
];

/// How long an item waits when its org could not be reached, before it is tried again
/// (the circuit breaker may hold it longer).
pub const UNAVAILABLE_PAUSE: TimeDelta = TimeDelta::seconds(5);

/// Attempts before an item is Failed.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

/// How long an org is paused on a quota error when Salesforce gives no better hint: the
/// daily allocation is a rolling 24 h window, so an hour frees a twenty-fourth of it.
pub const QUOTA_PAUSE: TimeDelta = TimeDelta::hours(1);

/// The engine's classification of a failure (the client's error kinds map onto it one to
/// one; a CDC/poll failure uses the same kinds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureKind {
    /// A transient failure of this record's write: try again later.
    Retryable,
    /// Row-lock contention on this record: try again soon.
    Contention,
    /// The whole call failed (unreachable, 5xx, timeout): not the record's fault.
    Unavailable,
    /// The target's copy changed under the write (deleted there meanwhile): re-read it and
    /// decide the write again.
    Stale,
    /// `REQUEST_LIMIT_EXCEEDED`: the whole org pauses.
    Quota {
        /// When the org may be called again, if known.
        until: Option<DateTime<Utc>>,
    },
    /// Token rejected.
    Auth,
    /// The parent record does not exist in the target yet.
    MissingParent,
    /// Validation rule, `INVALID_FIELD`, required field …: retrying cannot help.
    Permanent {
        /// Salesforce's message, shown to the operator.
        message: String,
    },
}

/// What to do with the item (and sometimes its org).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Queue the item again for this time.
    RetryAt(DateTime<Utc>),
    /// Hold the item as Pending until its parent lands (no attempt is counted).
    WaitForParent,
    /// Pause every non-urgent call to the org until then; the item keeps its attempt count
    /// and is due again then.
    PauseOrg(DateTime<Utc>),
    /// Refresh the org's token, then retry the item now (first auth failure).
    RefreshAuthThenRetry,
    /// The org's credentials do not work: mark the org Error and stop calling it.
    OrgError,
    /// Mark the item Failed with this message; a person retries it.
    FailNow(String),
    /// Try again then, without counting an attempt.
    Defer(DateTime<Utc>),
    /// Re-read the target's copy, then decide again (no attempt counted).
    Reread,
}

/// Decide after a failure. `attempts` counts attempts made so far including this one;
/// `auth_refreshed` says whether the token was already refreshed for this failure.
pub fn decide(
    kind: &FailureKind,
    attempts: u32,
    now: DateTime<Utc>,
    auth_refreshed: bool,
) -> Decision {
    match kind {
        FailureKind::MissingParent => Decision::WaitForParent,
        FailureKind::Unavailable => Decision::Defer(now + UNAVAILABLE_PAUSE),
        FailureKind::Stale => Decision::Reread,
        FailureKind::Contention => match next_in(&CONTENTION_SCHEDULE, attempts, now) {
            Some(t) => Decision::RetryAt(t),
            None => Decision::FailNow(format!("gave up after {attempts} attempts")),
        },
        FailureKind::Quota { until } => {
            Decision::PauseOrg(until.filter(|u| *u > now).unwrap_or(now + QUOTA_PAUSE))
        }
        FailureKind::Auth if !auth_refreshed => Decision::RefreshAuthThenRetry,
        FailureKind::Auth => Decision::OrgError,
        FailureKind::Permanent { message } => Decision::FailNow(message.clone()),
        FailureKind::Retryable => match next_attempt(attempts, now) {
            Some(t) => Decision::RetryAt(t),
            None => Decision::FailNow(format!("gave up after {attempts} attempts")),
        },
    }
}

/// When attempt `attempts + 1` is due, or None once [`MAX_ATTEMPTS`] have been made.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_in(&SCHEDULE, attempts, now)
}

fn next_in(schedule: &[TimeDelta], attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let idx = usize::try_from(attempts.checked_sub(1)?).ok()?;
    schedule.get(idx).map(|d| now + *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_the_seed() {
        let now = DateTime::UNIX_EPOCH;
        let delays: Vec<i64> = (1..=5)
            .filter_map(|a| next_attempt(a, now))
            .map(|t| (t - now).num_seconds())
            .collect();
        assert_eq!(delays, [30, 120, 600, 3600]);
        assert_eq!(next_attempt(0, now), None);
        assert_eq!(
            decide(&FailureKind::Retryable, 5, now, false),
            Decision::FailNow("gave up after 5 attempts".into())
        );
    }

    #[test]
    fn each_kind_decides() {
        let now = DateTime::UNIX_EPOCH;
        assert_eq!(
            decide(&FailureKind::MissingParent, 3, now, false),
            Decision::WaitForParent
        );
        assert_eq!(
            decide(&FailureKind::Quota { until: None }, 1, now, false),
            Decision::PauseOrg(now + QUOTA_PAUSE)
        );
        let later = now + TimeDelta::minutes(7);
        assert_eq!(
            decide(&FailureKind::Quota { until: Some(later) }, 1, now, false),
            Decision::PauseOrg(later)
        );
        assert_eq!(
            decide(&FailureKind::Auth, 1, now, false),
            Decision::RefreshAuthThenRetry
        );
        assert_eq!(decide(&FailureKind::Auth, 1, now, true), Decision::OrgError);
        assert_eq!(
            decide(&FailureKind::Unavailable, 9, now, false),
            Decision::Defer(now + UNAVAILABLE_PAUSE)
        );
        assert_eq!(decide(&FailureKind::Stale, 9, now, false), Decision::Reread);
        assert_eq!(
            decide(&FailureKind::Contention, 1, now, false),
            Decision::RetryAt(now + TimeDelta::seconds(1))
        );
        assert!(matches!(
            decide(&FailureKind::Contention, 5, now, false),
            Decision::FailNow(_)
        ));
        let p = FailureKind::Permanent {
            message: "FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount must be positive".into(),
        };
        assert_eq!(
            decide(&p, 1, now, false),
            Decision::FailNow("FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount must be positive".into())
        );
    }
}
