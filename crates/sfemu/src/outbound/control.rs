//! `/__sfemu/outbound`: rules, the queue and retry timing of an org's outbound messaging.
//!
//! - `GET /__sfemu/outbound` — rules with delivered/dropped/messages/lastError, and the queue
//!   (pending notifications with their attempts);
//! - `POST /__sfemu/outbound/rules` — a [`RuleSpec`] as JSON → `{"actionId": "04k…"}`;
//! - `PUT /__sfemu/outbound/retry` `{"baseDelayMs", "maxDelayMs", "maxAgeMs"}` — retry timing.

use super::{RetrySettings, RuleSpec};
use crate::error::ApiError;
use crate::state::OrgServer;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Routes under `/__sfemu/outbound`.
pub fn router() -> axum::Router<Arc<OrgServer>> {
    axum::Router::new()
        .route("/__sfemu/outbound", get(status))
        .route("/__sfemu/outbound/rules", post(add_rule))
        .route("/__sfemu/outbound/retry", put(retry))
}

fn body<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(b).map_err(ApiError::json_parser)
}

async fn status(State(s): State<Arc<OrgServer>>) -> Json<Value> {
    s.outbound.ingest();
    let st = s.outbound.state.lock();
    let now = Instant::now();
    let rules: Vec<Value> = st
        .rules
        .iter()
        .map(|r| {
            json!({
                "actionId": r.action_id,
                "object": r.spec.object,
                "endpoint": r.spec.endpoint,
                "delivered": r.delivered,
                "dropped": r.dropped,
                "messages": r.messages,
                "lastError": r.last_error,
            })
        })
        .collect();
    let pending: Vec<Value> = st
        .queue
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "actionId": st.rules.get(p.rule).map(|r| r.action_id.clone()),
                "recordId": p.record_id,
                "attempts": p.attempts,
                "dueInMs": p.next_at.saturating_duration_since(now).as_millis() as u64,
            })
        })
        .collect();
    Json(json!({"rules": rules, "pending": pending}))
}

async fn add_rule(State(s): State<Arc<OrgServer>>, b: Bytes) -> Result<Json<Value>, ApiError> {
    let spec: RuleSpec = body(&b)?;
    let id = s
        .outbound
        .add_rule(spec)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", e.to_string()))?;
    Ok(Json(json!({"actionId": id})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RetryBody {
    base_delay_ms: Option<u64>,
    max_delay_ms: Option<u64>,
    max_age_ms: Option<u64>,
}

async fn retry(State(s): State<Arc<OrgServer>>, b: Bytes) -> Result<StatusCode, ApiError> {
    let b: RetryBody = body(&b)?;
    let mut r: RetrySettings = s.outbound.retry_settings();
    if let Some(ms) = b.base_delay_ms {
        r.base_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = b.max_delay_ms {
        r.max_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = b.max_age_ms {
        r.max_age = Duration::from_millis(ms);
    }
    s.outbound.set_retry_settings(r);
    Ok(StatusCode::NO_CONTENT)
}
