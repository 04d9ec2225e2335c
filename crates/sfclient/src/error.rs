//! One error type whose [`ErrorKind`] tells the sync engine what to do next.
//!
//! The engine never inspects Salesforce error codes itself: it asks [`SfError::kind`] and gets
//! one of retry, wait for quota, fix auth, wait for the parent, or give up. Salesforce's own
//! code, message and fields are kept on every error for display.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Transient: lock contention, 5xx, timeouts, connection resets. Try again later.
    Retryable,
    /// The org's API allocation is spent (`REQUEST_LIMIT_EXCEEDED`): pause this org.
    Quota,
    /// Credentials are rejected (`invalid_grant`, a session that stays invalid after a refresh).
    Auth,
    /// A foreign key given by external id names a parent that does not exist (yet).
    MissingParent,
    /// Validation, unknown field, bad value…: retrying the same write cannot succeed.
    Permanent,
}

/// One error as Salesforce reports it: an element of a REST error array (`errorCode`) or of a
/// DML result's `errors` (`statusCode`) — both spellings are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Salesforce's code, e.g. `UNABLE_TO_LOCK_ROW`.
    #[serde(rename = "errorCode", alias = "statusCode", default)]
    pub code: String,
    /// Salesforce's message, verbatim.
    #[serde(default)]
    pub message: String,
    /// The fields the error is about (may be empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub fields: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl ApiError {
    /// Builds an error from its parts.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// What to do about this one error (see [`classify_code`]).
    pub fn kind(&self) -> ErrorKind {
        classify_code(&self.code, &self.message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message.trim())?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// The parent a `MissingParent` error refers to, parsed from Salesforce's message
/// `Foreign key external ID: X not found for field F in entity E`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingParentRef {
    /// The external id value that matched no record.
    pub value: String,
    /// The external id field on the parent object.
    pub field: String,
    /// The parent object.
    pub entity: String,
}

/// Parses the foreign-key-not-found message; `None` for any other message.
pub fn parse_missing_parent(message: &str) -> Option<MissingParentRef> {
    const HEAD: &str = "Foreign key external ID: ";
    const FIELD: &str = " not found for field ";
    const ENTITY: &str = " in entity ";
    let start = message.find(HEAD)? + HEAD.len();
    let rest = &message[start..];
    let field_at = rest.rfind(FIELD)?;
    let value = &rest[..field_at];
    let after = &rest[field_at + FIELD.len()..];
    let entity_at = after.rfind(ENTITY)?;
    Some(MissingParentRef {
        value: value.to_owned(),
        field: after[..entity_at].trim().to_owned(),
        entity: after[entity_at + ENTITY.len()..]
            .trim()
            .trim_end_matches('.')
            .to_owned(),
    })
}

/// Classifies one Salesforce error code (with its message, which distinguishes a missing parent
/// from other `INVALID_FIELD`s and the concurrent-request limit from the daily one).
pub fn classify_code(code: &str, message: &str) -> ErrorKind {
    match code {
        // The concurrent long-running request cap clears by itself within seconds.
        "REQUEST_LIMIT_EXCEEDED" if message.contains("Concurrent") => ErrorKind::Retryable,
        "REQUEST_LIMIT_EXCEEDED" => ErrorKind::Quota,
        "INVALID_SESSION_ID" | "INVALID_AUTH_HEADER" => ErrorKind::Auth,
        // ALL_OR_NONE_OPERATION_ROLLED_BACK / PROCESSING_HALTED: this item was fine, another
        // one failed; sending it again is safe.
        "UNABLE_TO_LOCK_ROW"
        | "QUERY_TIMEOUT"
        | "SERVER_UNAVAILABLE"
        | "REQUEST_RUNNING_TOO_LONG"
        | "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        | "PROCESSING_HALTED" => ErrorKind::Retryable,
        _ if parse_missing_parent(message).is_some() => ErrorKind::MissingParent,
        _ => ErrorKind::Permanent,
    }
}

/// Classifies a list of errors about one call or one record: the most decisive kind wins
/// (permanent over missing parent over quota over auth over retryable), because retrying is
/// pointless when any part of the failure cannot go away by itself.
pub fn classify_errors(errors: &[ApiError]) -> Option<ErrorKind> {
    let rank = |k: ErrorKind| match k {
        ErrorKind::Permanent => 4,
        ErrorKind::MissingParent => 3,
        ErrorKind::Quota => 2,
        ErrorKind::Auth => 1,
        ErrorKind::Retryable => 0,
    };
    errors.iter().map(ApiError::kind).max_by_key(|k| rank(*k))
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The request or a read timed out.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS handshake).
    Connect,
    /// The connection broke while sending or receiving the body.
    Body,
    /// Anything else reqwest reported.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connect",
            TransportKind::Body => "connection",
            TransportKind::Other => "transport",
        })
    }
}

/// Every failure of the client. `Clone` so one whole-call error can be reported for each item of
/// a failed collections chunk.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SfError {
    /// A whole call failed with a Salesforce error response.
    #[error("org {org}: HTTP {status}: {}", join(errors))]
    Api {
        org: String,
        status: u16,
        errors: Vec<ApiError>,
    },
    /// A SOAP call answered a fault. SOAP answers every fault with HTTP 500, so the kind comes
    /// from the exception code (`INVALID_SESSION_ID` → auth, `REQUEST_LIMIT_EXCEEDED` → quota,
    /// `UNKNOWN_EXCEPTION` → retry…), not from the status.
    #[error("org {org}: SOAP fault (HTTP {status}): {}", join(errors))]
    Fault {
        org: String,
        status: u16,
        errors: Vec<ApiError>,
    },
    /// One record of a collections or composite call failed.
    #[error("org {org}: record failed: {}", join(errors))]
    Record { org: String, errors: Vec<ApiError> },
    /// The token endpoint (or SOAP login) refused the credentials, or a session stayed invalid
    /// after a refresh.
    #[error("org {org}: {flow} authentication failed: {error}: {description}")]
    Auth {
        org: String,
        flow: &'static str,
        error: String,
        description: String,
    },
    /// The request never got a complete HTTP answer.
    #[error("org {org}: {kind} error: {message}")]
    Transport {
        org: String,
        kind: TransportKind,
        message: String,
    },
    /// The answer was not what Salesforce sends (undecodable body, unexpected status).
    #[error("org {org}: unexpected response (HTTP {status}): {message}")]
    Protocol {
        org: String,
        status: u16,
        message: String,
    },
    /// The client was configured wrongly (bad key file, bad URL…).
    #[error("configuration error: {0}")]
    Config(String),
}

fn join(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "(no error details)".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl SfError {
    /// What the caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SfError::Api { status, errors, .. } => {
                let by_code = classify_errors(errors);
                match (status, by_code) {
                    (500.., _) => ErrorKind::Retryable,
                    (_, Some(k)) => k,
                    (401, None) => ErrorKind::Auth,
                    (429, None) => ErrorKind::Quota,
                    (_, None) => ErrorKind::Permanent,
                }
            }
            SfError::Record { errors, .. } => {
                classify_errors(errors).unwrap_or(ErrorKind::Permanent)
            }
            SfError::Fault { errors, .. }
                if errors.iter().any(|e| e.code == "UNKNOWN_EXCEPTION") =>
            {
                ErrorKind::Retryable
            }
            SfError::Fault { errors, .. } => {
                classify_errors(errors).unwrap_or(ErrorKind::Permanent)
            }
            SfError::Auth { .. } => ErrorKind::Auth,
            SfError::Transport { .. } => ErrorKind::Retryable,
            SfError::Protocol { status, .. } if *status >= 500 => ErrorKind::Retryable,
            SfError::Protocol { .. } | SfError::Config(_) => ErrorKind::Permanent,
        }
    }

    /// Salesforce's errors (empty for transport, auth and configuration errors).
    pub fn api_errors(&self) -> &[ApiError] {
        match self {
            SfError::Api { errors, .. }
            | SfError::Record { errors, .. }
            | SfError::Fault { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The first Salesforce error code, if any (`UNABLE_TO_LOCK_ROW`…).
    pub fn code(&self) -> Option<&str> {
        self.api_errors().first().map(|e| e.code.as_str())
    }

    /// The HTTP status of a whole-call error.
    pub fn status(&self) -> Option<u16> {
        match self {
            SfError::Api { status, .. }
            | SfError::Protocol { status, .. }
            | SfError::Fault { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The parent that does not exist, for a `MissingParent` error.
    pub fn missing_parent(&self) -> Option<MissingParentRef> {
        self.api_errors()
            .iter()
            .find_map(|e| parse_missing_parent(&e.message))
    }

    /// True for the 401 `INVALID_SESSION_ID` (or its SOAP fault) that triggers one token
    /// refresh.
    pub(crate) fn is_invalid_session(&self) -> bool {
        match self {
            SfError::Api { status: 401, .. } => true,
            SfError::Fault { errors, .. } => errors.iter().any(|e| e.code == "INVALID_SESSION_ID"),
            _ => false,
        }
    }

    /// True when an `undelete` failed because the record is not in the recycle bin: it is live
    /// already (restored by someone else, or by an attempt whose answer was lost), was emptied
    /// from the bin (hard-deleted, or older than 15 days), or never existed. Salesforce answers
    /// `UNDELETE_FAILED` "Entity is not in the recycle bin" for the first two (help article
    /// 000386040); the emulator answers `ENTITY_IS_DELETED` for an id of no record (UNCONFIRMED),
    /// and `INVALID_ID_FIELD` is accepted too. Either way the record cannot come back under its
    /// Id: write it again instead (an upsert on an external id updates it if it is live).
    pub fn not_in_recycle_bin(&self) -> bool {
        matches!(self, SfError::Record { .. })
            && self.api_errors().iter().any(|e| {
                matches!(
                    e.code.as_str(),
                    "UNDELETE_FAILED" | "ENTITY_IS_DELETED" | "INVALID_ID_FIELD"
                )
            })
    }

    pub(crate) fn from_reqwest(org: &str, e: &reqwest::Error) -> SfError {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else if e.is_body() || e.is_decode() || e.is_request() {
            TransportKind::Body
        } else if e.is_builder() {
            return SfError::Config(error_chain(e));
        } else {
            TransportKind::Other
        };
        SfError::Transport {
            org: org.to_owned(),
            kind,
            message: error_chain(e),
        }
    }
}

/// The error and its sources on one line ("error sending request: connection reset").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// A `Result` whose error is [`SfError`].
pub type Result<T, E = SfError> = std::result::Result<T, E>;

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
