//! `/__sfemu/pubsub`: inspect and steer an org's event bus in tests.
//!
//! - `GET /__sfemu/pubsub` — kept events, first and latest replay ids, settings;
//! - `PUT /__sfemu/pubsub` `{"keepaliveMs":…, "retentionSecs":…, "overflowThreshold":…}` —
//!   change the settings (the threshold: changes per transaction before GAP_OVERFLOW);
//! - `POST /__sfemu/pubsub/gap` `{"count": N}` — the next N changes become GAP_* events;
//! - `POST /__sfemu/pubsub/overflow` `{"object": "Account"}` — publish a GAP_OVERFLOW event;
//! - `POST /__sfemu/pubsub/expire` — drop every kept event (stored replay ids become invalid);
//! - `POST /__sfemu/pubsub/platform-events` `{"name": "X__e", "fields": {"A__c": "string"}}` —
//!   declare a platform event (topic `/event/X__e`) → `{"topic", "schemaId"}`.

use crate::error::ApiError;
use crate::state::OrgServer;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Routes under `/__sfemu/pubsub`.
pub fn router() -> axum::Router<Arc<OrgServer>> {
    axum::Router::new()
        .route("/__sfemu/pubsub", get(status).put(settings))
        .route("/__sfemu/pubsub/gap", post(gap))
        .route("/__sfemu/pubsub/overflow", post(overflow))
        .route("/__sfemu/pubsub/expire", post(expire))
        .route("/__sfemu/pubsub/platform-events", post(platform_event))
}

fn body<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(b).map_err(ApiError::json_parser)
}

async fn status(State(s): State<Arc<OrgServer>>) -> Json<Value> {
    s.pubsub.sync();
    let (kept, first, latest, gaps) = s.pubsub.stats();
    let st = s.pubsub.settings();
    Json(json!({
        "events": kept,
        "firstReplayId": first,
        "latestReplayId": latest,
        "pendingGaps": gaps,
        "keepaliveMs": st.keepalive.as_millis() as u64,
        "retentionSecs": st.retention.as_secs(),
        "overflowThreshold": st.overflow_threshold,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsBody {
    keepalive_ms: Option<u64>,
    retention_secs: Option<u64>,
    overflow_threshold: Option<u64>,
}

async fn settings(State(s): State<Arc<OrgServer>>, b: Bytes) -> Result<StatusCode, ApiError> {
    let b: SettingsBody = body(&b)?;
    let mut st = s.pubsub.settings();
    if let Some(ms) = b.keepalive_ms {
        st.keepalive = Duration::from_millis(ms.max(1));
    }
    if let Some(secs) = b.retention_secs {
        st.retention = Duration::from_secs(secs);
    }
    if let Some(n) = b.overflow_threshold {
        st.overflow_threshold = n;
    }
    s.pubsub.set_settings(st);
    s.pubsub.sync();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GapBody {
    count: u64,
}

async fn gap(State(s): State<Arc<OrgServer>>, b: Bytes) -> Result<StatusCode, ApiError> {
    let b: GapBody = body(&b)?;
    s.pubsub.inject_gaps(b.count);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverflowBody {
    object: String,
}

async fn overflow(State(s): State<Arc<OrgServer>>, b: Bytes) -> Result<Json<Value>, ApiError> {
    let b: OverflowBody = body(&b)?;
    match s.pubsub.inject_overflow(&b.object) {
        Some(id) => Ok(Json(json!({"replayId": id}))),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            format!("CDC is not enabled for {}", b.object),
        )),
    }
}

async fn expire(State(s): State<Arc<OrgServer>>) -> StatusCode {
    s.pubsub.expire_all();
    StatusCode::NO_CONTENT
}

async fn platform_event(
    State(s): State<Arc<OrgServer>>,
    b: Bytes,
) -> Result<Json<Value>, ApiError> {
    let spec: super::platform::PlatformEventSpec = body(&b)?;
    let schema = super::platform::build(&spec)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", e.to_string()))?;
    let out = json!({"topic": schema.topic, "schemaId": schema.schema_id});
    s.pubsub.catalog.add_platform(schema);
    Ok(Json(out))
}
