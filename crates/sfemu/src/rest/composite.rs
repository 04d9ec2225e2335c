//! Composite: `POST /composite` — up to 25 dependent subrequests with references and
//! allOrNone rollback, one API call. (Batch lives in `batch.rs` and shares the dispatcher.)
//!
//! Subrequests are dispatched to this module's own [`super::router`] in-process, carrying the
//! caller's `Session` and `CallOptions` and the `InternalCall` marker (so they are not counted
//! or faulted again by the middleware, which never sees them).

use super::references::{Prior, RefError, resolve_json, resolve_str};
use super::subrequest::{
    SubRequest, SubResponse, api_path, dispatch, is_nested_composite, is_record_dml, validate,
};
use super::support::{Ctx, json, parse_json, read_body};
use crate::error::ApiError;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::collections::HashMap;

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
