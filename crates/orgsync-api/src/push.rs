//! `POST /api/v1/sync`: the push API (the seeds' Delivery Hub payload).
//!
//! Checks, in order, each answering before anything is written:
//! 1. a declared `Content-Length` above `[api] max_body` → **413** (nothing read);
//! 2. `Authorization: Bearer <token>` must be some org's `push_token` → else **401**;
//! 3. the body is read up to the cap → **413** once it passes it (when that org has a
//!    `push_secret`, a missing or stale `X-OrgSync-Timestamp` is a **401** before reading);
//! 4. when that org has a `push_secret`: `X-OrgSync-Timestamp` + `X-OrgSync-Signature`
//!    (see [`orgsync_core::push::signature`]) within `[api] push_window` → else **401**;
//! 5. the payload parses ([`orgsync_core::push::parse`]) → else **400** naming the field;
//!    A `timestamp` more than `push_window` ahead of our clock is refused too (400): it would
//!    win every last-writer-wins conflict until then;
//! 6. `sourceOrgId` must be the token's org → else **403**: the caller is authenticated, but
//!    a token speaks for one org only (403, not 401, because another token would not help the
//!    request: it is the payload that claims someone else's org);
//! 7. the engine applies it (committed to the ledger before the answer): **200**
//!    `{"status":"ok","transactionId","records","duplicate"}` (a transactionId seen before is
//!    a 200 with `duplicate: true` and nothing done), **409** when the ledger holds a newer
//!    version of a record (`externalId` names it), **400** for an object not synced from that
//!    org or a record the engine cannot place, **500** when the engine fails.
//!
//! Pushes from one org are applied one at a time (see [`crate::ApiState`]), so a transactionId
//! sent twice at once is applied once and the second answer says `duplicate: true`.
//!
//! Every refusal is JSON `{"error": "…"}` (plus `field` or `externalId` where one is to blame).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use orgsync_core::push::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use orgsync_engine::PushError as EngineRefusal;
use serde_json::json;

use crate::auth::{bearer, header_str, org_for_token};
use crate::reply::{BodyError, declared_over, json_error, read_capped};
use crate::{ApiState, Inbound};

/// The handler.
pub async fn handle<E: Inbound>(
    State(st): State<Arc<ApiState<E>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let settings = st.engine.settings();
    let cap = settings.api.max_body;
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than the {cap}-byte limit ([api] max_body)"),
            &[],
        )
    };
    if declared_over(&headers, cap) {
        return too_large();
    }
    let Some(token) = bearer(&headers) else {
        return unauthorized("an Authorization: Bearer <push_token> header is required");
    };
    let Some(org) = org_for_token(settings, token) else {
        return unauthorized("the bearer token is not a connected org's push_token");
    };
    // a stale or missing timestamp is refused before the body is read
    if org.push_secret.is_some()
        && let Err(e) = push::check_timestamp(
            header_str(&headers, TIMESTAMP_HEADER),
            chrono::Utc::now(),
            settings.api.push_window,
        )
    {
        return unauthorized(&e.to_string());
    }
    let bytes = match read_capped(&headers, body, cap).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Read(e)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("the body could not be read: {e}"),
                &[],
            );
        }
    };
    if let Some(secret) = &org.push_secret {
        let checked = push::verify_signature(
            secret.expose().as_bytes(),
            header_str(&headers, TIMESTAMP_HEADER),
            &bytes,
            header_str(&headers, SIGNATURE_HEADER),
            chrono::Utc::now(),
            settings.api.push_window,
        );
        if let Err(e) = checked {
            return unauthorized(&e.to_string());
        }
    }
    let req = match push::parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let field = e.field().map(str::to_string);
            let extra: Vec<(&str, &str)> = field.iter().map(|f| ("field", f.as_str())).collect();
            return json_error(StatusCode::BAD_REQUEST, &e.to_string(), &extra);
        }
    };
    // a timestamp from the future would win every last-writer-wins conflict until then
    let window = chrono::TimeDelta::from_std(settings.api.push_window).unwrap_or_default();
    if req.timestamp > chrono::Utc::now() + window {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "`timestamp` {} is in the future (more than [api] push_window ahead of this server's clock)",
                req.timestamp.to_rfc3339()
            ),
            &[("field", "timestamp")],
        );
    }
    let own_id = st.engine.org_id(&org.name);
    if own_id.as_ref().map(|i| i.as_str()) != Some(req.source_org_id.as_str()) {
        return json_error(
            StatusCode::FORBIDDEN,
            &format!(
                "sourceOrgId {} is not the org of this token ({})",
                req.source_org_id, org.name
            ),
            &[("field", "sourceOrgId")],
        );
    }
    let transaction_id = req.transaction_id.clone();
    let _one_at_a_time = match st.push_locks.get(&org.name) {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    match st.engine.push(req).await {
        Ok(out) => (
            StatusCode::OK,
            axum::Json(json!({
                "status": "ok",
                "transactionId": transaction_id,
                "records": out.records,
                "duplicate": out.duplicate,
            })),
        )
            .into_response(),
        Err(e) => refusal(e),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, message, &[]);
    r.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    r
}

fn refusal(e: EngineRefusal) -> Response {
    let message = e.to_string();
    match e {
        EngineRefusal::UnknownSource(_) => {
            json_error(StatusCode::FORBIDDEN, &message, &[("field", "sourceOrgId")])
        }
        EngineRefusal::UnknownObject(_) => {
            json_error(StatusCode::BAD_REQUEST, &message, &[("field", "object")])
        }
        EngineRefusal::Stale {
            external_id, field, ..
        } => json_error(
            StatusCode::CONFLICT,
            &message,
            &[("externalId", &external_id), ("field", &field)],
        ),
        EngineRefusal::Invalid(_) => {
            json_error(StatusCode::BAD_REQUEST, &message, &[("field", "records")])
        }
        EngineRefusal::Engine(err) => {
            tracing::error!(error = %err, "push failed in the engine");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the push could not be applied: {err}"),
                &[],
            )
        }
    }
}
