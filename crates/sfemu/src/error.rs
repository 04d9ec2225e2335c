//! The one error type of every HTTP surface, rendered exactly as Salesforce renders it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sfemu_org::SfError;

/// An error answer: Salesforce's top-level REST error shape,
/// `[{"message":"…","errorCode":"…","fields":[…]}]` (always a JSON array, never HTML).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {errors:?}")]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<SfError>,
}

impl ApiError {
    /// One error with an explicit status.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            errors: vec![SfError::new(code, message)],
        }
    }

    /// `401 INVALID_SESSION_ID` — what Salesforce answers for an expired or revoked token.
    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// `404 NOT_FOUND` for an unknown resource.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// `400 JSON_PARSER_ERROR` for a body that is not the JSON expected.
    pub fn json_parser(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            format!("{detail}"),
        )
    }

    /// The JSON array body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.errors
                .iter()
                .map(|e| {
                    let mut m = serde_json::Map::new();
                    m.insert("message".into(), e.message.clone().into());
                    m.insert("errorCode".into(), e.code.clone().into());
                    if !e.fields.is_empty() {
                        m.insert("fields".into(), e.fields.clone().into());
                    }
                    serde_json::Value::Object(m)
                })
                .collect(),
        )
    }
}

impl From<SfError> for ApiError {
    fn from(e: SfError) -> Self {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError {
            status,
            errors: vec![e],
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// A DML-result error object: `{"statusCode","message","fields"}` (collections, SaveResult).
pub fn dml_error_json(e: &SfError) -> serde_json::Value {
    serde_json::json!({"statusCode": e.code, "message": e.message, "fields": e.fields})
}
