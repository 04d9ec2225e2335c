//! Optional request signing for the push API, for peers configured with a `push_secret`.
//!
//! Scheme (documented for senders):
//! - header `X-OrgSync-Timestamp`: the send time in Unix seconds, e.g. `1767225600`;
//! - header `X-OrgSync-Signature`: `sha256=<hex>` where `<hex>` is the lower- or upper-case
//!   hex HMAC-SHA256, keyed with the shared secret, over the bytes
//!   `"{timestamp}.{body}"` — the timestamp header's text exactly as sent, a dot, and the raw
//!   request body.
//!
//! Why the timestamp is signed and windowed: a captured request cannot be replayed later than
//! the window (default 300 s either way, which also tolerates clock skew), and within the window
//! the push API's transactionId idempotency makes a replay a no-op. The comparison is the
//! `hmac` crate's constant-time `verify_slice`, so timing reveals nothing about the tag.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Header carrying the send time in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-OrgSync-Timestamp";
/// Header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-OrgSync-Signature";
/// Default tolerance between the sender's timestamp and our clock.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// Why a signature was refused. The messages are safe to return to the caller: none of them
/// reveals the expected tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No timestamp header.
    #[error("the X-OrgSync-Timestamp header is missing")]
    MissingTimestamp,
    /// The timestamp is not an integer number of seconds.
    #[error("the X-OrgSync-Timestamp header is not Unix seconds")]
    BadTimestamp,
    /// The timestamp is outside the window.
    #[error("the request timestamp is {skew_secs} s away from now (allowed ±{window_secs} s)")]
    Stale {
        /// Our clock minus the sender's, in seconds.
        skew_secs: i64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// No signature header.
    #[error("the X-OrgSync-Signature header is missing")]
    MissingSignature,
    /// The signature header is not `sha256=<64 hex digits>`.
    #[error("the X-OrgSync-Signature header must be sha256=<hex HMAC-SHA256>")]
    BadFormat,
    /// Well formed, but not the tag of this body and timestamp under our secret.
    #[error("the signature does not match the body and timestamp")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `X-OrgSync-Signature` value for a body sent at `timestamp` (Unix seconds as text):
/// what a sender computes, and what tests use.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(tag))
}

/// Check only the timestamp header (present, Unix seconds, within `window` of `now`): lets a
/// server refuse a stale request before reading its body. [`verify_signature`] does this too.
pub fn check_timestamp(
    timestamp_header: Option<&str>,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp_header
        .ok_or(SignatureError::MissingTimestamp)?
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let skew = now.timestamp().saturating_sub(ts);
    if skew.unsigned_abs() > window.as_secs() {
        return Err(SignatureError::Stale {
            skew_secs: skew,
            window_secs: window.as_secs(),
        });
    }
    Ok(())
}

/// Check a request's signature headers against `secret`, with `now` and `window` deciding
/// staleness. The timestamp is checked first so a stale request is reported as stale.
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: Option<&str>,
    body: &[u8],
    signature_header: Option<&str>,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), SignatureError> {
    let ts_text = timestamp_header.ok_or(SignatureError::MissingTimestamp)?;
    check_timestamp(Some(ts_text), now, window)?;
    let sig = signature_header.ok_or(SignatureError::MissingSignature)?;
    let hex_tag = sig
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::BadFormat)?;
    let tag = hex::decode(hex_tag).map_err(|_| SignatureError::BadFormat)?;
    if tag.len() != 32 {
        return Err(SignatureError::BadFormat);
    }
    mac(secret, ts_text, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key="secret", "1700000000.{}") computed independently with openssl:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
        let s = sign(b"secret", "1700000000", b"{}");
        assert_eq!(s, format!("sha256={}", KNOWN));
    }

    const KNOWN: &str = "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163";
}
