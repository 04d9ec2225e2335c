//! The control surface `/__sfemu/…`: what tests use to inspect and steer an emulated org
//! (usage counters, limits, faults, token expiry, drift, the change log). No auth, not counted,
//! never subject to faults or offline mode.

use crate::error::ApiError;
use crate::faults::FaultConfig;
use crate::state::OrgServer;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sfemu_org::ChangeRecord;
use std::sync::Arc;

/// Routes under `/__sfemu`.
pub fn router() -> axum::Router<Arc<OrgServer>> {
    axum::Router::new()
        .route("/__sfemu/org", get(org))
        .route("/__sfemu/api-usage", get(api_usage))
        .route("/__sfemu/api-usage/reset", post(reset_usage))
        .route("/__sfemu/limits", put(set_limits))
        .route(
            "/__sfemu/faults",
            put(set_faults).get(get_faults).delete(clear_faults),
        )
        .route("/__sfemu/tokens/expire", post(expire_tokens))
        .route(
            "/__sfemu/records/{object}/{id}",
            patch(direct_edit).delete(purge),
        )
        .route("/__sfemu/changes", get(changes))
        .merge(crate::pubsub::control::router())
        .merge(crate::outbound::control::router())
}

/// Parses a JSON body into `T`, answering Salesforce-style 400 on failure.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(ApiError::json_parser)
}

async fn org(State(s): State<Arc<OrgServer>>) -> Json<Value> {
    let users: Vec<Value> = s
        .usernames
        .iter()
        .filter_map(|name| s.org.user_by_username(name))
        .map(|u| json!({"id": u.id, "username": u.username}))
        .collect();
    let counts: Map<String, Value> = s
        .org
        .record_counts()
        .into_iter()
        .map(|(k, n)| (k, Value::from(n)))
        .collect();
    Json(json!({
        "orgId": s.org.org_id(),
        "name": s.org.name(),
        "instanceUrl": s.base_url,
        "users": users,
        "counts": counts,
    }))
}

async fn api_usage(State(s): State<Arc<OrgServer>>) -> Json<Value> {
    let u = s.limits.usage();
    Json(json!({
        "total": u.used,
        "max": u.max,
        "remaining": u.max.saturating_sub(u.used),
        "byKind": u.by_kind,
    }))
}

async fn reset_usage(State(s): State<Arc<OrgServer>>) -> StatusCode {
    s.limits.reset();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitsBody {
    daily_api_requests: Option<u64>,
    used: Option<u64>,
}

async fn set_limits(State(s): State<Arc<OrgServer>>, body: Bytes) -> Result<StatusCode, ApiError> {
    let b: LimitsBody = json_body(&body)?;
    if let Some(max) = b.daily_api_requests {
        s.limits.set_max(max);
    }
    if let Some(used) = b.used {
        s.limits.set_used(used);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn set_faults(State(s): State<Arc<OrgServer>>, body: Bytes) -> Result<StatusCode, ApiError> {
    let cfg: FaultConfig = json_body(&body)?;
    cfg.validate()
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", m))?;
    tracing::info!(?cfg, "faults set");
    s.faults.set(cfg);
    Ok(StatusCode::NO_CONTENT)
}

async fn get_faults(State(s): State<Arc<OrgServer>>) -> Json<FaultConfig> {
    Json(s.faults.config())
}

async fn clear_faults(State(s): State<Arc<OrgServer>>) -> StatusCode {
    s.faults.set(FaultConfig::default());
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(s): State<Arc<OrgServer>>) -> StatusCode {
    s.auth.tokens.expire_all();
    StatusCode::NO_CONTENT
}

async fn direct_edit(
    State(s): State<Arc<OrgServer>>,
    Path((object, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let fields: Map<String, Value> = json_body(&body)?;
    s.org.direct_edit(&object, &id, &fields)?;
    s.note_direct_edit();
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /__sfemu/records/{object}/{id}`: the record vanishes for good — no recycle bin, no
/// change log, no cascade (data lost behind the API's back, for reconciliation tests).
async fn purge(
    State(s): State<Arc<OrgServer>>,
    Path((object, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.org.purge_direct(&object, &id)?;
    s.note_direct_edit();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ChangesQuery {
    after: Option<u64>,
    max: Option<usize>,
}

/// A change-log entry as JSON (camelCase keys; timestamps as ISO-8601 and epoch ms).
/// `published` is false (and `cause` says why) for changes the platform made on its own, which
/// no change event or outbound message reports.
pub fn change_json(c: &ChangeRecord) -> Value {
    let mut v = json!({
        "seq": c.seq,
        "entity": c.entity,
        "recordId": c.record_id,
        "changeType": c.change_type,
        "changeOrigin": c.change_origin,
        "transactionKey": c.transaction_key,
        "sequenceNumber": c.sequence_number,
        "commitTimestamp": c.commit_timestamp.timestamp_millis(),
        "commitTime": c.commit_timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "commitNumber": c.commit_number,
        "commitUser": c.commit_user,
        "changedFields": c.changed_fields,
        "nulledFields": c.nulled_fields,
        "values": c.values,
        "published": c.published,
    });
    if let Some(cause) = &c.cause {
        v["cause"] = json!(cause);
    }
    v
}

async fn changes(State(s): State<Arc<OrgServer>>, Query(q): Query<ChangesQuery>) -> Response {
    let list = s
        .org
        .changes_after(q.after.unwrap_or(0), q.max.unwrap_or(1000).min(100_000));
    Json(json!({"changes": list.iter().map(change_json).collect::<Vec<_>>()})).into_response()
}
