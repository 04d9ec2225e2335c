//! The dashboard's one error type; it answers as a plain HTML page with the right status, and
//! logs what the operator should not see (store errors) instead of printing it.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The ledger could not be read or written.
    #[error("the ledger could not be read: {0}")]
    Store(#[from] orgsync_store::StoreError),
    /// A template failed to render (a bug).
    #[error("the page could not be rendered: {0}")]
    Render(#[from] askama::Error),
    /// A state-changing request without the session's CSRF token.
    #[error("the form's CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    /// A form value that does not parse.
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl IntoResponse for MonitorError {
    fn into_response(self) -> Response {
        let status = match &self {
            MonitorError::Store(_) | MonitorError::Render(_) => {
                tracing::warn!(error = %self, "dashboard request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            MonitorError::Csrf => StatusCode::FORBIDDEN,
            MonitorError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        let text = match &self {
            MonitorError::Store(_) | MonitorError::Render(_) => {
                "The dashboard could not answer; the service log says why.".to_string()
            }
            other => other.to_string(),
        };
        let body = format!(
            "<!doctype html><title>orgsync</title><h1>{}</h1><p>{}</p><p><a href=\"/\">Back to the overview</a></p>",
            status.as_u16(),
            escape(&text)
        );
        (status, Html(body)).into_response()
    }
}

/// Minimal HTML escaping for the error page (templates escape on their own).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
