//! Every `/services/data/...` data route, in Salesforce's exact wire shapes.
//!
//! [`router`] holds the routes relative to `/services/data/{version}` (http.rs nests it there
//! behind the auth, limits and faults middleware); [`versions_router`] the unauthenticated
//! version list. Each route is registered with and without a trailing slash, because clients
//! differ (simple-salesforce posts to `/sobjects/Account/`, jsforce to `/sobjects/Account`).

mod batch;
mod collections;
mod composite;
mod describe;
pub mod files;
mod graph;
mod query;
mod records;
mod references;
mod replication;
mod resources;
mod retrieve;
mod search;
mod subrequest;
mod support;
mod tree;
mod upsert;
mod versions;

pub(crate) use collections::{MAX_RECORDS, Slot, apply_slots, too_many};
pub use support::{ApiVersion, JSON_CONTENT_TYPE, MAX_VERSION, MIN_VERSION};
pub use versions::label as version_label;

use crate::error::ApiError;
use crate::state::OrgServer;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, patch, post};
use std::sync::Arc;

type S = Arc<OrgServer>;

/// Registers `path` and `path/` (or `path` without its slash) for the same handlers.
fn both(router: Router<S>, path: &str, handlers: MethodRouter<S>) -> Router<S> {
    let other = match path.strip_suffix('/') {
        Some(p) => p.to_string(),
        None => format!("{path}/"),
    };
    router.route(path, handlers.clone()).route(&other, handlers)
}

/// The data routes, relative to `/services/data/{version}` (the `{version}` path parameter
/// must be named so: handlers read it, and answer `404 NOT_FOUND` outside v31.0..=v66.0).
/// `/limits` is not here: helper "server" serves it (it owns the counters).
pub fn router() -> Router<S> {
    let mut r = Router::new().route("/", get(resources::get));
    r = both(r, "/sobjects", get(describe::global));
    r = both(
        r,
        "/sobjects/{object}",
        get(describe::basic).post(records::create),
    );
    r = both(r, "/sobjects/{object}/describe", get(describe::full));
    r = both(r, "/sobjects/{object}/updated", get(replication::updated));
    r = both(r, "/sobjects/{object}/deleted", get(replication::deleted));
    r = both(
        r,
        "/sobjects/{object}/{a}",
        get(records::get)
            .patch(records::update)
            .delete(records::delete)
            .post(records::post),
    );
    r = both(
        r,
        "/sobjects/{object}/{a}/{b}",
        get(upsert::get)
            .patch(upsert::upsert)
            .delete(upsert::delete)
            .post(upsert::post),
    );
    r = both(r, "/recent", get(describe::recent));
    r = both(r, "/search", get(search::search));
    r = both(r, "/query", get(query::query));
    r = both(r, "/query/{locator}", get(query::query_more));
    r = both(r, "/queryAll", get(query::query_all));
    r = both(r, "/queryAll/{locator}", get(query::query_all_more));
    r = both(r, "/composite", post(composite::composite));
    r = both(r, "/composite/batch", post(batch::batch));
    r = both(r, "/composite/graph", post(graph::graph));
    r = both(r, "/composite/tree/{object}", post(tree::tree));
    r = both(
        r,
        "/composite/sobjects",
        post(collections::create)
            .patch(collections::update)
            .delete(collections::delete),
    );
    r = both(
        r,
        "/composite/sobjects/{object}",
        get(retrieve::retrieve_get).post(retrieve::retrieve_post),
    );
    r = both(
        r,
        "/composite/sobjects/{object}/{a}",
        patch(collections::upsert),
    );
    r.fallback(not_found)
        .layer(middleware::from_fn(buffer_body))
        .layer(DefaultBodyLimit::max(support::MAX_BODY_BYTES))
        .layer(middleware::from_fn(salesforce_shapes))
}

/// The unauthenticated, uncounted `GET /services/data` and `/services/data/` version list,
/// plus `GET /services/data/{version}/` (the resource map with a trailing slash, which a router
/// nested at `/services/data/{version}` cannot match). Paths are absolute: merge this router at
/// the root. The resource map authenticates itself (401 without a valid token) but, being
/// outside the data pipeline, is not counted.
pub fn versions_router() -> Router<S> {
    Router::new()
        .route("/services/data", get(versions::list))
        .route("/services/data/", get(versions::list))
        .route("/services/data/{version}/", get(resources::get_with_slash))
        .layer(middleware::from_fn(salesforce_shapes))
}

/// Reads the whole request body before any handler or extractor can answer: a response sent
/// while the client is still sending its body makes hyper close the connection, which clients
/// with keep-alive pools (requests, undici) see as a dropped connection on their next call.
/// (http.rs now does the same for the whole server; this keeps the router self-contained when
/// used on its own, and costs nothing on an already-buffered body.)
async fn buffer_body(req: Request, next: Next) -> Response {
    if files::is_streamed_upload(req.method(), &full_path(&req), req.headers()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match support::read_body(body).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// The request's path as the client sent it (a nested router sees only its own suffix).
fn full_path(req: &Request) -> String {
    req.extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path().to_string(), |u| u.path().to_string())
}

/// `404 NOT_FOUND` for an unknown path under `/services/data/vXX.X/`.
async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Outermost layer: turns axum's bodiless 405 into Salesforce's JSON (naming the allowed
/// methods from the `Allow` header) and gives every JSON answer Salesforce's content type.
async fn salesforce_shapes(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let pretty = req
        .headers()
        .get("x-prettyprint")
        .is_some_and(|v| v.as_bytes() == b"1");
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && resp.headers().get(header::CONTENT_TYPE).is_none()
    {
        let allowed = resp
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let allowed = allowed.replace(' ', "");
        let mut out = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!(
                "HTTP Method '{}' not allowed. Allowed are {allowed}",
                method_name(&method)
            ),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&allowed) {
            out.headers_mut().insert(header::ALLOW, v);
        }
        resp = out;
    }
    let is_plain_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"));
    if is_plain_json {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == JSON_CONTENT_TYPE.as_bytes());
    if pretty && is_json {
        resp = pretty_print(resp).await;
    }
    resp
}

/// `X-PrettyPrint: 1`: the same JSON, indented (Salesforce honours it on every REST resource).
async fn pretty_print(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = support::read_body(body).await else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "response body unavailable",
        )
        .into_response();
    };
    let out = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| serde_json::to_vec_pretty(&v).ok())
        .unwrap_or_else(|| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

fn method_name(m: &Method) -> &str {
    m.as_str()
}
