//! Answers and body reading shared by the endpoints.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Duration;

use crate::serve::Stopping;

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
    /// Not complete within the body deadline (`[api] body_timeout`).
    TimedOut(Duration),
    /// The server is stopping: a client still sending is not waited for.
    Stopping,
    /// The connection failed while reading.
    Read(String),
}

impl BodyError {
    /// The answer for a body that was not read; `too_large` is the endpoint's own 413.
    pub(crate) fn answer(
        self,
        too_large: impl FnOnce() -> Response,
        other: impl FnOnce(StatusCode, &str) -> Response,
    ) -> Response {
        let mut r = match self {
            BodyError::TooLarge => return too_large(),
            BodyError::TimedOut(d) => other(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the body did not arrive within {} ms ([api] body_timeout)",
                    d.as_millis()
                ),
            ),
            BodyError::Stopping => {
                let mut r = other(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is stopping; send the request again shortly",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            BodyError::Read(e) => {
                return other(
                    StatusCode::BAD_REQUEST,
                    &format!("the body could not be read: {e}"),
                );
            }
        };
        // the rest of the body may still be on its way: do not wait for it
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    }
}

/// Whether the request declares a `Content-Length` above `cap` (answerable before reading).
pub(crate) fn declared_over(headers: &HeaderMap, cap: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > cap as u64)
}

/// Read at most `cap` bytes, the whole body within `deadline` (one deadline for the body,
/// not per chunk: a client trickling a byte at a time is cut as surely as a silent one), and
/// stop waiting when the server stops. A `Content-Length` above the cap is refused before
/// reading anything; a body without one is read until it passes the cap and then dropped.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    cap: usize,
    deadline: Duration,
    stopping: Option<&Stopping>,
) -> Result<Bytes, BodyError> {
    if declared_over(headers, cap) {
        return Err(BodyError::TooLarge);
    }
    let stop = async {
        match stopping {
            Some(Stopping(rx)) => {
                let mut rx = rx.clone();
                // an error means the server is gone: stopping too
                let _ = rx.wait_for(|s| *s).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        read = tokio::time::timeout(deadline, to_bytes(body, cap)) => {
            read.map_err(|_| BodyError::TimedOut(deadline))?
        }
        () = stop => Err(BodyError::Stopping),
    }
}

async fn to_bytes(body: Body, cap: usize) -> Result<Bytes, BodyError> {
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
