//! The one retry policy of the apply path: a failed write → what becomes of the item, and what
//! the writer must do about its org.
//!
//! The client's error is classified once ([`kind_of`]): which failures are the record's (a
//! locked row, a validation rule, a missing parent), which are the org's (unreachable, 5xx on
//! the whole call, quota, a refused token) and which say the target's copy changed under the
//! write (`ENTITY_IS_DELETED`: re-read, never fail). `orgsync_core::retry::decide` then picks
//! the outcome; only failures of the write itself count as attempts.

use chrono::{DateTime, Utc};
use orgsync_core::GlobalId;
use orgsync_core::retry::{Decision, FailureKind, decide};
use orgsync_store::{ItemError, Outcome};
use sfclient::{ErrorKind, SfError};

/// What the writer must do about the org after a failure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum OrgAction {
    #[default]
    None,
    /// Salesforce refused for quota: no calls until then.
    Pause(DateTime<Utc>),
    /// The org refused our token after a refresh.
    AuthError(String),
}

/// The classification of a client error.
pub(crate) fn kind_of(e: &SfError) -> FailureKind {
    match e.code() {
        // updating a copy deleted there meanwhile; undeleting one that is live again
        Some("ENTITY_IS_DELETED" | "UNDELETE_FAILED") => return FailureKind::Stale,
        // a locked row; a lookup to a record deleted there since the ledger last looked (its
        // delete is captured within moments, and the write decided again leaves it out)
        Some("UNABLE_TO_LOCK_ROW" | "INVALID_CROSS_REFERENCE_KEY") => {
            return FailureKind::Contention;
        }
        _ => {}
    }
    match e.kind() {
        // a record's own transient failure, or the whole call's
        ErrorKind::Retryable if matches!(e, SfError::Record { .. }) => FailureKind::Retryable,
        ErrorKind::Retryable => FailureKind::Unavailable,
        ErrorKind::Quota => FailureKind::Quota { until: None },
        ErrorKind::Auth => FailureKind::Auth,
        ErrorKind::MissingParent => FailureKind::MissingParent,
        ErrorKind::Permanent => FailureKind::Permanent {
            message: message(e),
        },
    }
}

/// Salesforce's own text (`CODE: message`) where there is one.
pub(crate) fn message(e: &SfError) -> String {
    let errs = e.api_errors();
    if errs.is_empty() {
        e.to_string()
    } else {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn kind_name(kind: &FailureKind) -> &'static str {
    match kind {
        FailureKind::Retryable => "retryable",
        FailureKind::Contention => "contention",
        FailureKind::Unavailable => "unavailable",
        FailureKind::Stale => "stale",
        FailureKind::Quota { .. } => "quota",
        FailureKind::Auth => "auth",
        FailureKind::MissingParent => "missing_parent",
        FailureKind::Permanent { .. } => "permanent",
    }
}

/// The error as the ledger keeps it.
pub(crate) fn item_error(e: &SfError) -> ItemError {
    ItemError {
        code: e
            .code()
            .map(str::to_string)
            .or_else(|| e.status().map(|s| format!("http_{s}")))
            .unwrap_or_else(|| "error".into()),
        message: message(e),
        kind: kind_name(&kind_of(e)).into(),
    }
}

/// What became of a failed item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub outcome: Outcome,
    pub org: OrgAction,
    /// The target's copy must be re-read before the item is decided again.
    pub reread: bool,
}

/// The item's fate after `e` on its attempt number `attempt` (failed writes so far + 1);
/// `parent` is the parent to wait for when the error says a parent is missing (None when that
/// parent has already landed, so the item follows the retry schedule instead of waiting).
pub(crate) fn on_failure(
    e: &SfError,
    attempt: u32,
    parent: Option<GlobalId>,
    now: DateTime<Utc>,
) -> Verdict {
    let kind = kind_of(e);
    let error = item_error(e);
    let verdict = |outcome| Verdict {
        outcome,
        org: OrgAction::None,
        reread: false,
    };
    // the client already refreshed the token once on a 401 before reporting Auth
    match decide(&kind, attempt, now, true) {
        Decision::RetryAt(at) => verdict(Outcome::RetryAt { at, error }),
        Decision::Defer(at) => verdict(Outcome::Deferred {
            at,
            note: Some(error),
        }),
        Decision::Reread => Verdict {
            outcome: Outcome::Deferred {
                at: now,
                note: Some(error),
            },
            org: OrgAction::None,
            reread: true,
        },
        Decision::WaitForParent => match parent {
            Some(parent) => verdict(Outcome::Pending {
                parent,
                error: Some(error),
            }),
            // The parent is already there (or unknown) and Salesforce still says it is
            // missing: waiting for it would spin, so follow the retry schedule instead.
            None => match decide(&FailureKind::Retryable, attempt, now, true) {
                Decision::RetryAt(at) => verdict(Outcome::RetryAt { at, error }),
                _ => verdict(Outcome::Failed { error }),
            },
        },
        Decision::PauseOrg(until) => Verdict {
            outcome: Outcome::Deferred {
                at: until,
                note: Some(error),
            },
            org: OrgAction::Pause(until),
            reread: false,
        },
        Decision::RefreshAuthThenRetry | Decision::OrgError => {
            let msg = error.message.clone();
            Verdict {
                outcome: Outcome::Deferred {
                    at: now + orgsync_core::retry::UNAVAILABLE_PAUSE * 12,
                    note: Some(error),
                },
                org: OrgAction::AuthError(msg),
                reread: false,
            }
        }
        Decision::FailNow(message) => verdict(Outcome::Failed {
            // keep Salesforce's own words when the retries ran out
            error: if message == error.message {
                error
            } else {
                ItemError {
                    message: format!("{message}; last error: {}", error.message),
                    ..error
                }
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfclient::ApiError;

    fn record(code: &str, msg: &str) -> SfError {
        SfError::Record {
            org: "b".into(),
            errors: vec![ApiError::new(code, msg)],
        }
    }

    #[test]
    fn a_copy_deleted_under_the_write_is_re_read_never_failed() {
        let v = on_failure(
            &record("ENTITY_IS_DELETED", "entity is deleted"),
            9,
            None,
            Utc::now(),
        );
        assert!(v.reread);
        assert!(matches!(v.outcome, Outcome::Deferred { .. }));
    }

    #[test]
    fn whole_call_failures_defer_without_counting_and_lock_errors_retry_soon() {
        let down = SfError::Api {
            org: "b".into(),
            status: 503,
            errors: vec![ApiError::new("SERVER_UNAVAILABLE", "down")],
        };
        assert_eq!(kind_of(&down), FailureKind::Unavailable);
        assert!(matches!(
            on_failure(&down, 99, None, Utc::now()).outcome,
            Outcome::Deferred { .. }
        ));
        let now = Utc::now();
        let lock = record("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access");
        assert_eq!(
            on_failure(&lock, 1, None, now).outcome,
            Outcome::RetryAt {
                at: now + chrono::TimeDelta::seconds(1),
                error: item_error(&lock)
            }
        );
        let bad = record(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
        );
        assert!(matches!(
            on_failure(&bad, 1, None, now).outcome,
            Outcome::Failed { .. }
        ));
    }
}
