//! Composite batch: `POST /composite/batch` — up to 25 independent subrequests, each one
//! counted against the daily allocation, no rollback, optional halt on the first error.

use super::composite::{MAX_SUBREQUESTS, bad_request};
use super::subrequest::{SubResponse, api_path, dispatch, is_nested_composite};
use super::support::{Ctx, json, parse_json, read_body};
use crate::error::ApiError;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as Json, json};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchRequest {
    #[serde(default)]
    halt_on_error: bool,
    batch_requests: Vec<BatchSub>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchSub {
    method: String,
    url: String,
    #[serde(default)]
    rich_input: Option<Json>,
}

/// `v59.0/sobjects/…` or `/services/data/v59.0/sobjects/…` → the absolute form.
fn batch_url(url: &str) -> String {
    let rest = url.trim_start_matches('/');
    let rest = rest.strip_prefix("services/data/").unwrap_or(rest);
    format!("/services/data/{rest}")
}

/// `POST /composite/batch` → `{"hasErrors":bool,"results":[{"statusCode","result"}]}`. The
/// middleware counted the call once; every further subrequest is counted here.
pub async fn batch(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(body).await?;
    let req: BatchRequest = parse_json(&bytes)?;
    let n = req.batch_requests.len();
    if n == 0 || n > MAX_SUBREQUESTS {
        return Err(bad_request(
            "INVALID_INPUT",
            format!(
                "A batch request must contain between 1 and {MAX_SUBREQUESTS} subrequests, not {n}."
            ),
        ));
    }
    let mut results = Vec::with_capacity(n);
    let mut has_errors = false;
    let mut halted = false;
    for (i, sub) in req.batch_requests.into_iter().enumerate() {
        let url = batch_url(&sub.url);
        let path = api_path(&url).map(str::to_string);
        let resp = if halted {
            SubResponse::error(
                412,
                "BATCH_PROCESSING_HALTED",
                "Batch processing halted per request",
            )
        } else if let Some(refused) = count_extra(&ctx, i, path.as_deref()) {
            refused
        } else {
            match (Method::from_bytes(sub.method.as_bytes()), path) {
                (Ok(m), Some(p)) if !is_nested_composite(&p) => {
                    dispatch(&ctx, m, &url, sub.rich_input, None).await
                }
                (Ok(_), Some(_)) => SubResponse::error(
                    400,
                    "INVALID_INPUT",
                    "This resource is not supported inside a batch request",
                ),
                _ => SubResponse::error(404, "NOT_FOUND", "The requested resource does not exist"),
            }
        };
        if resp.failed() {
            has_errors = true;
            halted |= req.halt_on_error;
        }
        results.push(json!({"statusCode": resp.status, "result": resp.body}));
    }
    Ok(json(
        StatusCode::OK,
        &json!({"hasErrors": has_errors, "results": results}),
    ))
}

/// Counts subrequest `i` (> 0) of a batch against the daily allocation; the refusal answer
/// when the allocation is spent.
fn count_extra(ctx: &Ctx, i: usize, path: Option<&str>) -> Option<SubResponse> {
    if i == 0 {
        return None;
    }
    let kind = crate::limits::kind_of_path(path.unwrap_or(""));
    ctx.state.limits.try_count(kind).err().map(|_| {
        SubResponse::error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    })
}
