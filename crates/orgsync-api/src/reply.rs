//! Answers and body reading shared by the endpoints.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON answer `{"error": message, …extra}` with `status`.
pub(crate) fn json_error(status: StatusCode, message: &str, extra: &[(&str, &str)]) -> Response {
    let mut body = json!({ "error": message });
    for (k, v) in extra {
        body[*k] = Value::from(*v);
    }
    (status, axum::Json(body)).into_response()
}

/// A text/xml answer.
pub(crate) fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Larger than the cap (declared or seen while reading).
    TooLarge,
    /// The connection failed while reading.
    Read(String),
}

/// Whether the request declares a `Content-Length` above `cap` (answerable before reading).
pub(crate) fn declared_over(headers: &HeaderMap, cap: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > cap as u64)
}

/// Read at most `cap` bytes. A `Content-Length` above the cap is refused before reading
/// anything; a body without one is read until it passes the cap and then dropped.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    cap: usize,
) -> Result<Bytes, BodyError> {
    if declared_over(headers, cap) {
        return Err(BodyError::TooLarge);
    }
    axum::body::to_bytes(body, cap).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return BodyError::TooLarge;
            }
            source = s.source();
        }
        BodyError::Read(e.to_string())
    })
}
