//! A failed write → what becomes of the item, through core's retry rules: the client's
//! `ErrorKind` maps one to one onto `FailureKind`, and `retry::decide` picks the outcome
//! (Retryable → now/30 s/2 min/10 min/1 h then Failed; Quota → pause the org; Auth → refresh,
//! then org Error; Permanent → Failed at once with Salesforce's message; MissingParent →
//! Pending).

use chrono::{DateTime, Utc};
use orgsync_core::GlobalId;
use orgsync_core::retry::{Decision, FailureKind, decide};
use orgsync_store::{ItemError, Outcome};
use sfclient::{ErrorKind, SfError};

/// What the worker must do about the org after a failure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum OrgAction {
    #[default]
    None,
    Pause(DateTime<Utc>),
    Error(String),
}

/// The core classification of a client error.
pub(crate) fn kind_of(e: &SfError) -> FailureKind {
    match e.kind() {
        ErrorKind::Retryable => FailureKind::Retryable,
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

fn item_error(e: &SfError, kind: &FailureKind) -> ItemError {
    let k = match kind {
        FailureKind::Retryable => "retryable",
        FailureKind::Quota { .. } => "quota",
        FailureKind::Auth => "auth",
        FailureKind::MissingParent => "missing_parent",
        FailureKind::Permanent { .. } => "permanent",
    };
    ItemError {
        code: e
            .code()
            .map(str::to_string)
            .or_else(|| e.status().map(|s| format!("http_{s}")))
            .unwrap_or_else(|| "error".into()),
        message: message(e),
        kind: k.into(),
    }
}

/// The item's outcome after `e` on attempt `attempts`; `parent` is the parent to wait for
/// when the error says a parent is missing (None when that parent has already landed in the
/// target, so the item follows the retry schedule instead of waiting).
pub(crate) fn outcome(
    e: &SfError,
    attempts: u32,
    parent: Option<GlobalId>,
    now: DateTime<Utc>,
) -> (Outcome, OrgAction) {
    let kind = kind_of(e);
    let error = item_error(e, &kind);
    // the client already refreshed the token once on a 401 before reporting Auth
    match decide(&kind, attempts, now, true) {
        Decision::RetryAt(at) => (Outcome::RetryAt { at, error }, OrgAction::None),
        Decision::WaitForParent => match parent {
            Some(parent) => (
                Outcome::Pending {
                    parent,
                    error: Some(error),
                },
                OrgAction::None,
            ),
            // The parent is already there (or unknown) and Salesforce still says it is
            // missing: waiting for it would spin, so follow the retry schedule instead.
            None => match decide(&FailureKind::Retryable, attempts, now, true) {
                Decision::RetryAt(at) => (Outcome::RetryAt { at, error }, OrgAction::None),
                _ => (Outcome::Failed { error }, OrgAction::None),
            },
        },
        Decision::PauseOrg(until) => (
            Outcome::RetryAt { at: until, error },
            OrgAction::Pause(until),
        ),
        Decision::RefreshAuthThenRetry => (Outcome::RetryAt { at: now, error }, OrgAction::None),
        Decision::OrgError => {
            let msg = error.message.clone();
            (
                Outcome::RetryAt {
                    at: now + orgsync_core::retry::QUOTA_PAUSE,
                    error,
                },
                OrgAction::Error(msg),
            )
        }
        Decision::FailNow(message) => (
            Outcome::Failed {
                // keep Salesforce's own words when the retries ran out
                error: if message == error.message {
                    error
                } else {
                    ItemError {
                        message: format!("{message}; last error: {}", error.message),
                        ..error
                    }
                },
            },
            OrgAction::None,
        ),
    }
}
