//! Composite: `POST /composite` — up to 25 dependent subrequests with references and
//! allOrNone rollback, one API call. (Batch lives in `batch.rs` and shares the dispatcher.)
//!
//! Subrequests are dispatched to this module's own [`super::router`] in-process, carrying the
//! caller's `Session` and `CallOptions` and the `InternalCall` marker (so they are not counted
//! or faulted again by the middleware, which never sees them).

use super::references::{Prior, RefError, resolve_json, resolve_str, valid_reference_id};
use super::support::{ApiVersion, Ctx, json, parse_json, read_body};
use crate::error::ApiError;
use crate::state::InternalCall;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::collections::{HashMap, HashSet};
use tower::ServiceExt;

/// Most subrequests in one composite or batch request.
pub(super) const MAX_SUBREQUESTS: usize = 25;
/// Most query/queryAll/collections subrequests in one composite request.
const MAX_HEAVY: usize = 5;
/// Message of subrequests halted by an allOrNone rollback (wording UNCONFIRMED; code CONF).
const ROLLED_BACK: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

pub(super) fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeRequest {
    #[serde(default)]
    all_or_none: bool,
    /// Accepted and ignored: subrequests always run one after another here.
    #[serde(default)]
    #[allow(dead_code)]
    collate_subrequests: Option<bool>,
    composite_request: Vec<SubRequest>,
}

/// One subrequest of a composite (or of one graph).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubRequest {
    method: String,
    url: String,
    reference_id: String,
    #[serde(default)]
    body: Option<Json>,
    #[serde(default)]
    http_headers: Option<Map<String, Json>>,
}

/// One subrequest's answer.
#[derive(Debug, Clone)]
pub(super) struct SubResponse {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) body: Json,
}

impl SubResponse {
    pub(super) fn error(status: u16, code: &str, message: &str) -> Self {
        SubResponse {
            status,
            location: None,
            body: json!([{"message": message, "errorCode": code}]),
        }
    }
    pub(super) fn failed(&self) -> bool {
        self.status >= 400
    }
}

/// The API path after `/services/data/vXX.X/` of a subrequest URL, or `None` when the URL does
/// not start with a served version.
pub(super) fn api_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("/services/data/")?;
    let (ver, path) = rest.split_once('/')?;
    ApiVersion::parse(ver)?;
    Some(path)
}

fn is_heavy(path: &str) -> bool {
    path.starts_with("query") || path.starts_with("composite/sobjects")
}

pub(super) fn is_nested_composite(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or("").trim_end_matches('/');
    p == "composite"
        || p == "composite/batch"
        || p.starts_with("composite/graph")
        || p.starts_with("composite/tree")
}

/// Whether a subrequest writes records (one per-record fault draw each).
fn is_record_dml(method: &Method, path: &str) -> bool {
    *method != Method::GET && path.starts_with("sobjects/")
}

/// Validates the whole request before anything runs (Salesforce rejects it with one 400).
/// `max` subrequests at most; `heavy_max` query/collections subrequests at most (composite only).
pub(super) fn validate(
    subs: &[SubRequest],
    max: usize,
    heavy_max: Option<usize>,
) -> Result<(), ApiError> {
    let n = subs.len();
    if n == 0 || n > max {
        return Err(bad_request(
            "INVALID_INPUT",
            format!("A composite request must contain between 1 and {max} subrequests, not {n}."),
        ));
    }
    let mut seen = HashSet::new();
    let mut heavy = 0;
    for sub in subs {
        if !valid_reference_id(&sub.reference_id) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Invalid referenceId: {}", sub.reference_id),
            ));
        }
        if !seen.insert(sub.reference_id.as_str()) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId: {}", sub.reference_id),
            ));
        }
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&sub.method.as_str()) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Invalid HTTP method: {}", sub.method),
            ));
        }
        let Some(path) = api_path(&sub.url) else {
            return Err(bad_request(
                "INVALID_INPUT",
                format!(
                    "The url of subrequest {} must begin with /services/data/vXX.X/",
                    sub.reference_id
                ),
            ));
        };
        heavy += usize::from(is_heavy(path));
        for name in sub.http_headers.iter().flat_map(|h| h.keys()) {
            if ["accept", "authorization", "content-type"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                return Err(bad_request(
                    "INVALID_INPUT",
                    format!("The {name} header is not allowed in a subrequest"),
                ));
            }
        }
    }
    if let Some(limit) = heavy_max
        && heavy > limit
    {
        return Err(bad_request(
            "INVALID_INPUT",
            format!(
                "A composite request can contain at most {limit} query or sObject Collections subrequests."
            ),
        ));
    }
    Ok(())
}

/// Percent-encodes what a URI may not contain (spaces and quotes in an unencoded SOQL query
/// string, which composite users often send), leaving everything else as written.
pub(super) fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        match b {
            b'!'
            | b'#'..=b';'
            | b'='
            | b'?'
            | b'@'
            | b'A'..=b'Z'
            | b'['
            | b']'
            | b'_'
            | b'a'..=b'z'
            | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Runs one subrequest through the REST router in-process.
pub(super) async fn dispatch(
    ctx: &Ctx,
    method: Method,
    url: &str,
    body: Option<Json>,
    headers: Option<&Map<String, Json>>,
) -> SubResponse {
    let svc: Router = Router::new()
        .nest("/services/data/{version}", super::router())
        .with_state(ctx.state.clone());
    let mut builder = Request::builder().method(method).uri(encode_url(url));
    for (k, v) in headers.into_iter().flatten() {
        let value = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::from_str(&value),
        ) {
            builder = builder.header(n, v);
        }
    }
    let bytes = body
        .map(|b| serde_json::to_vec(&b).unwrap_or_default())
        .unwrap_or_default();
    if !bytes.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let Ok(mut req) = builder.body(Body::from(bytes)) else {
        return SubResponse::error(400, "NOT_FOUND", "The requested resource does not exist");
    };
    req.extensions_mut().insert(ctx.session.clone());
    req.extensions_mut().insert(ctx.options.clone());
    req.extensions_mut().insert(InternalCall);
    let Ok(resp) = svc.oneshot(req).await;
    collect(resp).await
}

async fn collect(resp: Response) -> SubResponse {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_body(resp.into_body()).await.unwrap_or_default();
    let body = if bytes.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    SubResponse {
        status,
        location,
        body,
    }
}

/// Under a composite allOrNone, inner collections run all-or-none too.
fn force_all_or_none(
    method: &Method,
    path: &str,
    url: String,
    body: Option<Json>,
) -> (String, Option<Json>) {
    let p = path.split('?').next().unwrap_or("").trim_end_matches('/');
    if p != "composite/sobjects" && !p.starts_with("composite/sobjects/") {
        return (url, body);
    }
    if *method == Method::DELETE {
        let url = if url.contains("allOrNone=") {
            url.replace("allOrNone=false", "allOrNone=true")
        } else {
            format!("{url}&allOrNone=true")
        };
        return (url, body);
    }
    let body = match body {
        Some(Json::Object(mut m)) => {
            m.insert("allOrNone".into(), true.into());
            Some(Json::Object(m))
        }
        other => other,
    };
    (url, body)
}

/// A collections answer counts as failed when any record failed (composite allOrNone).
fn collections_failed(path: &str, resp: &SubResponse) -> bool {
    path.starts_with("composite/sobjects")
        && resp
            .body
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["success"] == Json::Bool(false)))
}

/// `POST /composite`.
pub async fn composite(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(body).await?;
    let req: CompositeRequest = parse_json(&bytes)?;
    validate(&req.composite_request, MAX_SUBREQUESTS, Some(MAX_HEAVY))?;
    let (items, _) = run_all(&ctx, req.composite_request, req.all_or_none).await;
    Ok(json(StatusCode::OK, &json!({"compositeResponse": items})))
}

/// Runs subrequests in order, resolving references; with `all_or_none`, the first failure rolls
/// back everything done so far and halts the rest. Returns the `compositeResponse` items and
/// whether any subrequest failed.
pub(super) async fn run_all(
    ctx: &Ctx,
    subs: Vec<SubRequest>,
    all_or_none: bool,
) -> (Vec<Json>, bool) {
    let org = ctx.state.org.clone();
    let mut savepoint = if all_or_none {
        match org.savepoint() {
            Ok(sp) => Some(sp),
            Err(e) => {
                tracing::warn!("composite allOrNone without rollback: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut priors: HashMap<String, Prior> = HashMap::new();
    let mut out: Vec<(String, SubResponse)> = Vec::with_capacity(subs.len());
    let mut halted = false;
    let mut any_failed = false;
    for sub in subs {
        let resp = if halted {
            SubResponse::error(400, "PROCESSING_HALTED", ROLLED_BACK)
        } else {
            run_sub(ctx, &sub, &priors, all_or_none).await
        };
        let prior = if resp.failed() {
            Prior::Failed
        } else {
            Prior::Succeeded(resp.body.clone())
        };
        let failed_for_aon = resp.failed()
            || (all_or_none && api_path(&sub.url).is_some_and(|p| collections_failed(p, &resp)));
        any_failed |= failed_for_aon;
        priors.insert(sub.reference_id.clone(), prior);
        out.push((sub.reference_id, resp));
        if all_or_none && failed_for_aon && !halted {
            halted = true;
            if let Some(sp) = savepoint.take()
                && let Err(e) = org.rollback_to(sp)
            {
                tracing::error!("composite rollback failed: {e}");
            }
            let last = out.len() - 1;
            for (_, r) in out.iter_mut().take(last) {
                if !r.failed() {
                    *r = SubResponse::error(400, "PROCESSING_HALTED", ROLLED_BACK);
                }
            }
        }
    }
    let items = out
        .into_iter()
        .map(|(reference_id, r)| {
            let mut headers = Map::new();
            if let (201, Some(loc)) = (r.status, r.location) {
                headers.insert("Location".into(), loc.into());
            }
            json!({"body": r.body, "httpHeaders": headers, "httpStatusCode": r.status, "referenceId": reference_id})
        })
        .collect();
    (items, any_failed)
}

/// Resolves one subrequest's references, draws its per-record fault, and runs it.
async fn run_sub(
    ctx: &Ctx,
    sub: &SubRequest,
    priors: &HashMap<String, Prior>,
    all_or_none: bool,
) -> SubResponse {
    let resolved = resolve_str(&sub.url, priors).and_then(|u| {
        let b = sub
            .body
            .as_ref()
            .map(|b| resolve_json(b, priors))
            .transpose()?;
        Ok((u, b))
    });
    let (url, body) = match resolved {
        Ok(x) => x,
        Err(RefError::Halted(r)) => {
            return SubResponse::error(
                400,
                "PROCESSING_HALTED",
                &format!(
                    "Invalid reference specified. The subrequest {r} that it depends on was not executed successfully."
                ),
            );
        }
        Err(RefError::Invalid(expr)) => {
            return SubResponse::error(
                400,
                "INVALID_REFERENCE",
                &format!(
                    "Invalid reference specified. No value for {expr} found in the earlier subrequests."
                ),
            );
        }
    };
    let Ok(method) = Method::from_bytes(sub.method.as_bytes()) else {
        return SubResponse::error(400, "INVALID_INPUT", "Invalid HTTP method");
    };
    let Some(path) = api_path(&url).map(str::to_string) else {
        return SubResponse::error(404, "NOT_FOUND", "The requested resource does not exist");
    };
    if is_nested_composite(&path) {
        return SubResponse::error(
            400,
            "INVALID_INPUT",
            "This resource is not supported inside a composite request",
        );
    }
    if is_record_dml(&method, &path)
        && let Some(e) = ctx.state.faults.record_error()
    {
        let status = e.http_status();
        return SubResponse {
            status,
            location: None,
            body: ApiError::from(e).body(),
        };
    }
    let (url, body) = if all_or_none {
        force_all_or_none(&method, &path, url, body)
    } else {
        (url, body)
    };
    dispatch(ctx, method, &url, body, sub.http_headers.as_ref()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_made_valid_without_double_encoding() {
        assert_eq!(
            encode_url("/services/data/v62.0/query/?q=SELECT Id FROM Account WHERE Name = 'É'"),
            "/services/data/v62.0/query/?q=SELECT%20Id%20FROM%20Account%20WHERE%20Name%20=%20'%C3%89'"
        );
        let done = "/services/data/v62.0/query/?q=SELECT+Id+FROM+Account%20x";
        assert_eq!(encode_url(done), done);
        assert!(encode_url(done).parse::<axum::http::Uri>().is_ok());
    }

    #[test]
    fn subrequest_paths_need_a_served_version() {
        assert_eq!(
            api_path("/services/data/v62.0/sobjects/Account"),
            Some("sobjects/Account")
        );
        assert_eq!(api_path("/services/data/v20.0/sobjects/Account"), None);
        assert_eq!(api_path("/sobjects/Account"), None);
        assert!(is_nested_composite("composite/batch"));
        assert!(is_nested_composite("composite/?x=1"));
        assert!(!is_nested_composite("composite/sobjects"));
    }
}
