//! Salesforce's error triple: code, message and the fields it concerns.

use serde::Serialize;

/// One Salesforce error. The HTTP layer renders it as `{"message","errorCode","fields"}` at the
/// top level of a REST response, or as `{"statusCode","message","fields"}` inside DML results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SfError {
    /// `REQUIRED_FIELD_MISSING`, `INVALID_FIELD`, `NOT_FOUND`, ...
    pub code: String,
    /// Salesforce's human-readable message, worded as Salesforce words it.
    pub message: String,
    /// The fields the error concerns (may be empty).
    pub fields: Vec<String>,
}

impl SfError {
    /// An error without fields.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        SfError {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// An error naming the fields it concerns.
    pub fn with_fields(
        code: impl Into<String>,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> Self {
        SfError {
            code: code.into(),
            message: message.into(),
            fields,
        }
    }

    /// The HTTP status Salesforce uses for this code when it is the answer to a whole REST call.
    pub fn http_status(&self) -> u16 {
        match self.code.as_str() {
            "NOT_FOUND" | "ENTITY_IS_DELETED" => 404,
            "INVALID_SESSION_ID" => 401,
            "REQUEST_LIMIT_EXCEEDED" | "INSUFFICIENT_ACCESS" | "API_DISABLED_FOR_ORG" => 403,
            "METHOD_NOT_ALLOWED" => 405,
            "UNKNOWN_EXCEPTION" => 500,
            "SERVER_UNAVAILABLE" => 503,
            _ => 400,
        }
    }
}
