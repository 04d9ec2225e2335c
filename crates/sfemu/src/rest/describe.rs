//! Describe routes: `GET /sobjects/` (describeGlobal), `GET /sobjects/X` (basic info),
//! `GET /sobjects/X/describe` (full describe). The schema never changes while the emulator
//! runs, so `If-Modified-Since` answers `304` for any date at or after the schema's load time.

use super::support::{Ctx, json};
use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::OnceLock;

/// When the schema was loaded (first describe in this process); the `Last-Modified` of every
/// describe answer.
fn schema_loaded_at() -> DateTime<Utc> {
    static AT: OnceLock<DateTime<Utc>> = OnceLock::new();
    *AT.get_or_init(|| {
        let now = Utc::now();
        // HTTP dates have whole seconds: truncate so a client echoing Last-Modified gets 304.
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    })
}

/// `Some(304 response)` when `If-Modified-Since` is at or after the schema's load time.
fn not_modified(headers: &HeaderMap) -> Option<Response> {
    let since = headers.get(header::IF_MODIFIED_SINCE)?.to_str().ok()?;
    let since = DateTime::parse_from_rfc2822(since.trim())
        .ok()?
        .with_timezone(&Utc);
    (since >= schema_loaded_at()).then(|| StatusCode::NOT_MODIFIED.into_response())
}

fn with_last_modified(mut resp: Response) -> Response {
    let value = schema_loaded_at()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    resp
}

/// `GET /sobjects/` — describeGlobal.
pub async fn global(ctx: Ctx, headers: HeaderMap) -> Response {
    if let Some(r) = not_modified(&headers) {
        return r;
    }
    let body = ctx
        .state
        .org
        .describe_global(ctx.user_id(), &ctx.version.number());
    with_last_modified(json(StatusCode::OK, &body))
}

/// `GET /sobjects/X` — `{"objectDescribe":{…},"recentItems":[]}` (the emulator keeps no MRU list).
pub async fn basic(ctx: Ctx, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(r) = not_modified(&headers) {
        return Ok(r);
    }
    let d =
        ctx.state
            .org
            .describe_basic(ctx.user_id(), ctx.param("object"), &ctx.version.number())?;
    Ok(with_last_modified(json(
        StatusCode::OK,
        &json!({"objectDescribe": d, "recentItems": []}),
    )))
}

/// `GET /sobjects/X/describe`.
pub async fn full(ctx: Ctx, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(r) = not_modified(&headers) {
        return Ok(r);
    }
    let d = ctx
        .state
        .org
        .describe(ctx.user_id(), ctx.param("object"), &ctx.version.number())?;
    Ok(with_last_modified(json(StatusCode::OK, &d)))
}

/// `GET /recent` — the most recently used records: the emulator keeps no MRU list, so `[]`.
pub async fn recent() -> Response {
    json(StatusCode::OK, &json!([]))
}
