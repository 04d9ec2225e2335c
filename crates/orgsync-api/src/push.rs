//! `POST /api/v1/sync`: the push API (the seeds' Delivery Hub payload).
//!
//! Checks, in order, each answering before anything is written:
//! 1. a declared `Content-Length` above `[api] max_body` → **413** (nothing kept; what the
//!    client is still sending is drained for a bounded while so it can read the answer);
//! 2. `Authorization: Bearer <token>` must be some org's `push_token` → else **401**;
//! 3. that org's rate (`[api] push_rate`, `push_burst`, a token bucket per org) → else
//!    **429** with `Retry-After` (seconds);
//! 4. the body is read up to the cap → **413** once it passes it (when that org has a
//!    `push_secret`, a missing or stale `X-OrgSync-Timestamp` is a **401** before reading);
//!    the whole body within `[api] body_timeout` → else **408** and the connection closed;
//! 5. when that org has a `push_secret`: `X-OrgSync-Timestamp` + `X-OrgSync-Signature`
//!    (see [`orgsync_core::push::signature`]) within `[api] push_window` → else **401**;
//! 6. the payload parses ([`orgsync_core::push::parse_capped`]) → else **400** naming the
//!    field, or **413** for more than `[api] max_records` records (the cap named);
//!    A `timestamp` more than `push_window` ahead of our clock is refused too (400): it would
//!    win every last-writer-wins conflict until then;
//! 7. `sourceOrgId` must be the token's org → else **403**: the caller is authenticated, but
//!    a token speaks for one org only (403, not 401, because another token would not help the
//!    request: it is the payload that claims someone else's org);
//! 8. the engine applies it (committed to the ledger before the answer): **200**
//!    `{"status":"ok","transactionId","records","duplicate"}` (a transactionId seen before
//!    with the same content is a 200 with `duplicate: true` and nothing done); **409** when
//!    that transactionId came before with other content (`field: "transactionId"`) or the
//!    ledger holds a newer version of a record (`externalId` names it); **403** for a record
//!    of another org that the sender does not hold (`externalId`); **400** for an object not
//!    synced from that org, a record the engine cannot place, or one the sending org does not
//!    have; **500** when the engine fails. See [`orgsync_engine::PushError`].
//!
//! Pushes from one org are applied one at a time (see [`crate::ApiState`]), so a transactionId
//! sent twice at once is applied once and the second answer says `duplicate: true`.
//!
//! Every refusal is JSON `{"error": "…"}` (plus `field` or `externalId` where one is to blame).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use orgsync_core::push::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use orgsync_engine::PushError as EngineRefusal;
use serde_json::json;

use crate::auth::{bearer, header_str, org_for_token};
use crate::reply::{json_error, read_capped, refuse_declared_over};
use crate::serve::Stopping;
use crate::{ApiState, Inbound};

/// The handler.
pub async fn handle<E: Inbound>(
    State(st): State<Arc<ApiState<E>>>,
    stopping: Option<Extension<Stopping>>,
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
    let body = match refuse_declared_over(&headers, body, cap).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let Some(token) = bearer(&headers) else {
        return unauthorized("an Authorization: Bearer <push_token> header is required");
    };
    let Some(org) = org_for_token(settings, token) else {
        return unauthorized("the bearer token is not a connected org's push_token");
    };
    if let Err(wait) = st.rate.admit(&org.name, std::time::Instant::now()) {
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "org `{}` pushes faster than [api] push_rate {} (burst {}); retry after {wait} s",
                org.name, settings.api.push_rate, settings.api.push_burst
            ),
            &[],
        );
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(wait),
        );
        return r;
    }
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
    let stopping = stopping.as_ref().map(|Extension(s)| s);
    let bytes = match read_capped(&headers, body, cap, settings.api.body_timeout, stopping).await {
        Ok(b) => b,
        Err(e) => return e.answer(too_large, |status, m| json_error(status, m, &[])),
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
    let req = match push::parse_capped(&bytes, settings.api.max_records) {
        Ok(r) => r,
        Err(e) => {
            let status = match e {
                push::PushError::TooManyRecords { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            let field = e.field().map(str::to_string);
            let extra: Vec<(&str, &str)> = field.iter().map(|f| ("field", f.as_str())).collect();
            return json_error(status, &e.to_string(), &extra);
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
        EngineRefusal::Replayed { .. } => json_error(
            StatusCode::CONFLICT,
            &message,
            &[("field", "transactionId")],
        ),
        EngineRefusal::Foreign { external_id } => json_error(
            StatusCode::FORBIDDEN,
            &message,
            &[("externalId", &external_id)],
        ),
        EngineRefusal::NotInSender { external_id, .. } => json_error(
            StatusCode::BAD_REQUEST,
            &message,
            &[("externalId", &external_id)],
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
