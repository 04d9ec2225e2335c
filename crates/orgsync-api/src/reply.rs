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

/// How much of a refused body is still read (and thrown away) before the refusal is sent, and
/// for how long at most. A client that is still writing when the server answers and closes
/// gets a reset instead of the answer (the kernel discards the unread bytes and sends RST);
/// reading on for a bounded while lets an honest client that sent too much see its 413, the
/// way a web server's lingering close does. A hostile one costs bandwidth for at most this
/// long, never memory. A client that sends nothing more for [`LINGER_IDLE`] (one that waits
/// for the answer before sending its body) is answered then.
const LINGER_BYTES: u64 = 16 << 20;
const LINGER_TIME: Duration = Duration::from_secs(3);
const LINGER_IDLE: Duration = Duration::from_millis(500);

/// Read at most `cap` bytes, the whole body within `deadline` (one deadline for the body,
/// not per chunk: a client trickling a byte at a time is cut as surely as a silent one), and
/// stop waiting when the server stops. A `Content-Length` above the cap is refused without
/// keeping anything; a body without one is read until it passes the cap. Either way the rest
/// is drained for a bounded while (see [`LINGER_BYTES`]) so the client can read the refusal.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    mut body: Body,
    cap: usize,
    deadline: Duration,
    stopping: Option<&Stopping>,
) -> Result<Bytes, BodyError> {
    if declared_over(headers, cap) {
        linger(body).await;
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
    let read = tokio::select! {
        read = tokio::time::timeout(deadline, collect(&mut body, cap)) => {
            read.map_err(|_| BodyError::TimedOut(deadline))?
        }
        () = stop => Err(BodyError::Stopping),
    };
    if matches!(read, Err(BodyError::TooLarge)) {
        linger(body).await;
    }
    read
}

/// Refuse a request whose declared `Content-Length` is above `cap` — after draining what the
/// client is still sending (see [`LINGER_BYTES`]); `None` when it declares no more than that.
pub(crate) async fn refuse_declared_over(
    headers: &HeaderMap,
    body: Body,
    cap: usize,
) -> Result<Body, BodyError> {
    if declared_over(headers, cap) {
        linger(body).await;
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}

/// The body's bytes, or `TooLarge` as soon as they pass `cap`.
async fn collect(body: &mut Body, cap: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > cap {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// Read and drop what is left of `body`, up to [`LINGER_BYTES`] within [`LINGER_TIME`],
/// stopping early when nothing arrives for [`LINGER_IDLE`].
async fn linger(mut body: Body) {
    use http_body_util::BodyExt;
    let drain = async {
        let mut seen = 0u64;
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(LINGER_IDLE, body.frame()).await {
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > LINGER_BYTES {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
