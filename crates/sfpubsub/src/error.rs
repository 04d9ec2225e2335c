//! Typed failures that say what the caller should do next.
//!
//! Salesforce reports Pub/Sub failures as a gRPC status plus an `error-code` trailer
//! (`sfdc.platform.eventbus.grpc…`) and an `rpc-id` trailer (also appended to the message as
//! `rpcId: <id>`). The engine does not care about the code itself but about the remedy — backfill,
//! refresh, back off, give up, or park one event — so each variant is one remedy.

use crate::replay::ReplayId;

/// What the server said, kept for logs and support tickets (the `rpc_id` is what Salesforce
/// support asks for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure {
    /// The gRPC status code.
    pub code: tonic::Code,
    /// The status message.
    pub message: String,
    /// The `error-code` trailer, e.g. `sfdc.platform.eventbus.grpc.service.auth.error`.
    pub error_code: Option<String>,
    /// The `rpc-id` trailer, or the `rpcId:` suffix of the message.
    pub rpc_id: Option<String>,
}

impl std::fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)?;
        if let Some(c) = &self.error_code {
            write!(f, " [{c}]")?;
        }
        if let Some(r) = self
            .rpc_id
            .as_ref()
            .filter(|r| !self.message.contains(r.as_str()))
        {
            write!(f, " (rpc id {r})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to the Pub/Sub API.
#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    /// The replay id is outside the retention window (72 h) or not from this topic/org
    /// (`…replayid.corrupted`, `…replayid.validation.failed`). Resubscribing with it will fail
    /// again: the caller must backfill by polling from its watermark, then start from LATEST.
    #[error("replay id rejected, backfill needed: {0}")]
    ReplayIdInvalid(RpcFailure),
    /// Authentication failed even after one token refresh. Needs a new login or an admin.
    #[error("authentication failed: {0}")]
    Auth(RpcFailure),
    /// Temporary server-side refusal (unavailable, limits, internal errors, stream closed by the
    /// server). Retry with backoff.
    #[error("service unavailable: {0}")]
    Unavailable(RpcFailure),
    /// Could not reach the server or the connection broke. Retry with backoff.
    #[error("transport error: {0}")]
    Transport(String),
    /// The request itself is wrong (unknown topic, no permission, bad arguments). Retrying the
    /// same request will not help.
    #[error("invalid request: {0}")]
    InvalidArgument(RpcFailure),
    /// One event could not be decoded. The subscription goes on; the caller can park the event
    /// by its replay id and re-read the records another way.
    #[error("event {replay_id} (schema {schema_id}) could not be decoded: {reason}")]
    Decode {
        replay_id: ReplayId,
        schema_id: String,
        reason: String,
    },
    /// The client was given a bad endpoint or CA certificate.
    #[error("client configuration: {0}")]
    Config(String),
    /// The token source could not produce a token.
    #[error("token source failed: {0}")]
    Token(String),
}

/// The remedy for a [`PubSubError`], for callers that branch on it rather than on the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Poll from the last watermark, then subscribe at LATEST.
    Backfill,
    /// Log in again (the token source's refresh already failed once).
    Reauthenticate,
    /// Try again later with growing delays.
    Backoff,
    /// Do not retry; fix the configuration.
    GiveUp,
    /// Skip this one event (record it), keep the subscription.
    ParkEvent,
}

impl PubSubError {
    /// What to do about it.
    pub fn remedy(&self) -> Remedy {
        match self {
            Self::ReplayIdInvalid(_) => Remedy::Backfill,
            Self::Auth(_) | Self::Token(_) => Remedy::Reauthenticate,
            Self::Unavailable(_) | Self::Transport(_) => Remedy::Backoff,
            Self::InvalidArgument(_) | Self::Config(_) => Remedy::GiveUp,
            Self::Decode { .. } => Remedy::ParkEvent,
        }
    }

    /// The server's `error-code`, when the failure came from the server.
    pub fn error_code(&self) -> Option<&str> {
        self.rpc_failure().and_then(|f| f.error_code.as_deref())
    }

    /// The server's details, when the failure came from the server.
    pub fn rpc_failure(&self) -> Option<&RpcFailure> {
        match self {
            Self::ReplayIdInvalid(f)
            | Self::Auth(f)
            | Self::Unavailable(f)
            | Self::InvalidArgument(f) => Some(f),
            _ => None,
        }
    }

    /// True when a token refresh may cure it (a plain UNAUTHENTICATED from the server).
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, Self::Auth(_))
    }
}

fn metadata_str(status: &tonic::Status, key: &str) -> Option<String> {
    status
        .metadata()
        .get(key)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `"… rpcId: 1234-abcd"` → `"1234-abcd"`.
fn rpc_id_from_message(msg: &str) -> Option<String> {
    let (_, rest) = msg.rsplit_once("rpcId:")?;
    let id = rest.trim();
    (!id.is_empty()).then(|| id.to_string())
}

impl From<tonic::Status> for PubSubError {
    fn from(status: tonic::Status) -> Self {
        let failure = RpcFailure {
            code: status.code(),
            message: status.message().to_string(),
            error_code: metadata_str(&status, "error-code"),
            rpc_id: metadata_str(&status, "rpc-id")
                .or_else(|| rpc_id_from_message(status.message())),
        };
        let ec = failure.error_code.as_deref().unwrap_or("");
        if ec.ends_with("replayid.corrupted") || ec.ends_with("replayid.validation.failed") {
            return Self::ReplayIdInvalid(failure);
        }
        use tonic::Code::*;
        match failure.code {
            Unauthenticated => Self::Auth(failure),
            _ if ec.ends_with(".auth.error") || ec.ends_with(".auth.refresh.invalid") => {
                Self::Auth(failure)
            }
            InvalidArgument | NotFound | PermissionDenied | FailedPrecondition | OutOfRange
            | Unimplemented | AlreadyExists => Self::InvalidArgument(failure),
            Ok | Cancelled | Unknown | DeadlineExceeded | ResourceExhausted | Aborted
            | Internal | Unavailable | DataLoss => Self::Unavailable(failure),
        }
    }
}

impl From<tonic::transport::Error> for PubSubError {
    fn from(e: tonic::transport::Error) -> Self {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Self::Transport(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: tonic::Code, msg: &str, error_code: Option<&str>) -> tonic::Status {
        let mut md = tonic::metadata::MetadataMap::new();
        if let Some(c) = error_code {
            md.insert("error-code", c.parse().unwrap());
        }
        tonic::Status::with_metadata(code, msg, md)
    }

    #[test]
    fn replay_errors_need_backfill() {
        for ec in [
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed",
        ] {
            let e = PubSubError::from(status(
                tonic::Code::InvalidArgument,
                "bad rpcId: r-1",
                Some(ec),
            ));
            assert!(matches!(e, PubSubError::ReplayIdInvalid(_)), "{e}");
            assert_eq!(e.remedy(), Remedy::Backfill);
            assert_eq!(e.rpc_failure().unwrap().rpc_id.as_deref(), Some("r-1"));
        }
    }

    #[test]
    fn codes_map_to_remedies() {
        let kind = |c, ec| PubSubError::from(status(c, "m", ec)).remedy();
        assert_eq!(
            kind(tonic::Code::Unauthenticated, None),
            Remedy::Reauthenticate
        );
        assert_eq!(
            kind(
                tonic::Code::PermissionDenied,
                Some("sfdc.platform.eventbus.grpc.service.auth.error")
            ),
            Remedy::Reauthenticate
        );
        assert_eq!(kind(tonic::Code::InvalidArgument, None), Remedy::GiveUp);
        assert_eq!(kind(tonic::Code::NotFound, None), Remedy::GiveUp);
        assert_eq!(kind(tonic::Code::Unavailable, None), Remedy::Backoff);
        assert_eq!(kind(tonic::Code::ResourceExhausted, None), Remedy::Backoff);
    }

    #[test]
    fn rpc_id_trailer_wins_over_message() {
        let mut md = tonic::metadata::MetadataMap::new();
        md.insert("rpc-id", "from-trailer".parse().unwrap());
        let s = tonic::Status::with_metadata(tonic::Code::Internal, "x rpcId: from-msg", md);
        let e = PubSubError::from(s);
        assert_eq!(
            e.rpc_failure().unwrap().rpc_id.as_deref(),
            Some("from-trailer")
        );
    }
}
