//! The HTTP surface of one org: routes and the middleware pipeline.
//!
//! Outer to inner: Salesforce's limit on a request's head (URI + headers ≤ 16,384 bytes, else
//! its web server's 414 / 431 page: `head_limits.rs`), JSON-ification of every other non-JSON
//! error (so the API never answers text or HTML), gzip response compression, gzip request decompression, the body limit, tracing (method and
//! path only: query strings may carry credentials), then availability (offline → 503, injected
//! latency; the control surface is exempt). Requests under `/services/data/{version}/…` then pass
//! the data pipeline: bearer token → [`Session`], daily limit → 403, count the call, injected
//! whole-call error, `Sforce-Call-Options` → [`CallOptions`], and `Sforce-Limit-Info` on the way
//! out.

use crate::auth;
use crate::error::ApiError;
use crate::state::{CallOptions, InternalCall, OrgServer};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

/// Largest request body (after decompression). Salesforce caps JSON REST bodies around 50 MB
/// (UNCONFIRMED exact figure).
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// The `Sforce-Limit-Info` header name.
pub const LIMIT_INFO: &str = "sforce-limit-info";

/// Every route of one org, with its middleware, ready to serve.
pub fn router(state: Arc<OrgServer>) -> axum::Router {
    let data = crate::rest::router()
        .route("/limits", get(limits))
        .route("/limits/", get(limits))
        .layer(from_fn_with_state(state.clone(), data_pipeline));
    let routes = axum::Router::new()
        .merge(auth::router())
        .merge(crate::rest::versions_router())
        .nest("/services/data/{version}", data)
        .merge(crate::control::router())
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), availability))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                // 5xx answers are often injected faults: not errors of the emulator.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state);
    // The routes are wrapped whole (as a fallback service) so that the outer layers see final
    // responses: axum adds the `Allow` header of a 405 outside any `Router::layer` middleware.
    axum::Router::new()
        .fallback_service(routes)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new().compress_when(
            // File bodies are sent as they are (already compressed formats, and a 2 GB
            // download should cost no server CPU).
            DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream")),
        ))
        .layer(from_fn(json_errors))
        .layer(from_fn(read_whole_body))
        .layer(from_fn(crate::head_limits::enforce))
}

/// Reads the whole request body before routing. A handler or middleware that answers early
/// (401, 404, an injected fault) would otherwise leave the body unread, and hyper then closes
/// the connection after the response: a client that pools keep-alive connections sees its next
/// request fail with "connection closed". Salesforce keeps such connections open.
///
/// A multipart file insert is the exception (`rest/files.rs`): it is streamed to disk, up to
/// 2 GB, and never held whole.
async fn read_whole_body(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if crate::rest::files::is_streamed_upload(req.method(), req.uri().path(), req.headers()) {
        if declared.is_some_and(|n| n > crate::rest::files::MAX_UPLOAD_BYTES) {
            return too_large().into_response();
        }
        return next.run(req).await;
    }
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        // Over the limit (or the client went away, and nobody reads this answer).
        Err(_) => too_large().into_response(),
    }
}

// UNCONFIRMED: Salesforce's code for an oversized body.
fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "REQUEST_ENTITY_TOO_LARGE",
        format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
    )
}

/// A handler panicked: answer as Salesforce does for an internal error (500 UNKNOWN_EXCEPTION)
/// instead of dropping the connection.
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: sfemu-panic",
    )
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Offline → 503 and injected latency, for everything but the control surface.
async fn availability(State(s): State<Arc<OrgServer>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/__sfemu") {
        return next.run(req).await;
    }
    if s.faults.offline() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable, please try again later",
        )
        .into_response();
    }
    if let Some(d) = s.faults.latency() {
        tokio::time::sleep(d).await;
    }
    next.run(req).await
}

/// The part of a data path after `/services/data/vXX.X` (works on nested or full paths).
fn rest_path(path: &str) -> &str {
    match path.strip_prefix("/services/data/") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or(""),
        None => path,
    }
}

fn with_limit_info(mut resp: Response, used: u64, max: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        resp.headers_mut().insert(LIMIT_INFO, v);
    }
    resp
}

/// Auth, limits, counting and whole-call faults of `/services/data/{version}/…`.
async fn data_pipeline(State(s): State<Arc<OrgServer>>, mut req: Request, next: Next) -> Response {
    if req.extensions().get::<InternalCall>().is_some() {
        return next.run(req).await;
    }
    let session = match auth::authenticate(&s, req.headers()) {
        Ok(session) => session,
        Err(e) => return e.into_response(),
    };
    let kind = crate::limits::kind_of_path(rest_path(req.uri().path()));
    let (used, max) = match s.limits.try_count(kind) {
        Ok(u) => u,
        Err((used, max)) => {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
            return with_limit_info(e.into_response(), used, max);
        }
    };
    if let Some(e) = s.faults.call_error() {
        tracing::debug!(code = %e.errors.first().map(|e| e.code.as_str()).unwrap_or(""), "injected call error");
        return with_limit_info(e.into_response(), used, max);
    }
    let options = req
        .headers()
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .map(CallOptions::parse)
        .unwrap_or_default();
    req.extensions_mut().insert(options);
    req.extensions_mut().insert(session);
    let resp = next.run(req).await;
    with_limit_info(resp, used, max)
}

/// `GET /services/data/vXX.X/limits`: the real daily API counter and plausible constants.
async fn limits(State(s): State<Arc<OrgServer>>) -> Json<Value> {
    let (used, max) = s.limits.current();
    let fixed = |max: u64| json!({"Max": max, "Remaining": max});
    Json(json!({
        "ActiveScratchOrgs": fixed(3),
        "AnalyticsExternalDataSizeMB": fixed(40960),
        "ConcurrentAsyncGetReportInstances": fixed(200),
        "ConcurrentSyncReportRuns": fixed(20),
        "DailyAnalyticsDataflowJobExecutions": fixed(60),
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
        "DailyAsyncApexExecutions": fixed(250_000),
        "DailyBulkApiBatches": fixed(15_000),
        "DailyBulkV2QueryFileStorageMB": fixed(976_562),
        "DailyBulkV2QueryJobs": fixed(10_000),
        "DailyDurableGenericStreamingApiEvents": fixed(10_000),
        "DailyDurableStreamingApiEvents": fixed(10_000),
        "DailyGenericStreamingApiEvents": fixed(10_000),
        "DailyStandardVolumePlatformEvents": fixed(10_000),
        "DailyStreamingApiEvents": fixed(10_000),
        "DailyWorkflowEmails": fixed(1_000),
        "DataStorageMB": fixed(1_024),
        "DurableStreamingApiConcurrentClients": fixed(20),
        "FileStorageMB": fixed(2_048),
        "HourlyAsyncReportRuns": fixed(1_200),
        "HourlyDashboardRefreshes": fixed(200),
        "HourlyDashboardResults": fixed(5_000),
        "HourlyDashboardStatuses": fixed(999_999_999),
        "HourlyODataCallout": fixed(20_000),
        "HourlyPublishedPlatformEvents": fixed(50_000),
        "HourlyPublishedStandardVolumePlatformEvents": fixed(50_000),
        "HourlySyncReportRuns": fixed(500),
        "HourlyTimeBasedWorkflow": fixed(50),
        "MassEmail": fixed(10),
        "MonthlyPlatformEventsUsageEntitlement": fixed(300_000),
        "Package2VersionCreates": fixed(6),
        "PermissionSets": {"Max": 1500, "Remaining": 1500, "CreateCustom": {"Max": 1000, "Remaining": 1000}},
        "SingleEmail": fixed(15),
        "StreamingApiConcurrentClients": fixed(20),
    }))
}

/// Turns every error answer that is not JSON or XML (axum's text rejections, empty 404/405,
/// body-limit 413, decompression 415) into Salesforce's JSON error array.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400 {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // 405s are always rebuilt: only here is the `Allow` header known.
    if (ct.contains("json") || ct.contains("xml")) && status != StatusCode::METHOD_NOT_ALLOWED {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let encoded = resp.headers().contains_key(header::CONTENT_ENCODING);
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = if encoded {
        String::new()
    } else {
        String::from_utf8_lossy(&body).trim().to_string()
    };
    let detail_or = |default: &str| {
        if detail.is_empty() {
            default.to_string()
        } else {
            detail.clone()
        }
    };
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::not_found(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .replace(", ", ",");
            ApiError::new(
                status,
                "METHOD_NOT_ALLOWED",
                format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
            )
        }
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "UNSUPPORTED_MEDIA_TYPE",
            detail_or("Unsupported media type"),
        ),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::json_parser(detail_or("Malformed request"))
        }
        s if s.is_server_error() => ApiError::new(
            s,
            "UNKNOWN_EXCEPTION",
            detail_or("An unexpected error occurred."),
        ),
        s => ApiError::new(
            s,
            "INVALID_REQUEST",
            detail_or(s.canonical_reason().unwrap_or("Invalid request")),
        ),
    };
    let mut out = err.into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    if method == Method::HEAD {
        *out.body_mut() = axum::body::Body::empty();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{panic_response, rest_path};

    #[test]
    fn a_panic_becomes_a_salesforce_500() {
        let r = panic_response(Box::new("boom"));
        assert_eq!(r.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }

    #[test]
    fn rest_path_strips_the_version() {
        assert_eq!(rest_path("/services/data/v62.0/query"), "/query");
        assert_eq!(rest_path("/services/data/v62.0"), "");
        assert_eq!(rest_path("/composite/sobjects"), "/composite/sobjects");
    }
}
