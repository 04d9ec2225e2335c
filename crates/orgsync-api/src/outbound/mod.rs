//! `POST /outbound/{org}`: the Outbound Messaging listener for the configured org `{org}`.
//!
//! Salesforce retries a message until it gets an HTTP 200 `Ack` (wire facts §11), so the Ack
//! is the commit point: it is sent only after the engine has re-read every notified record
//! and committed what it found to the ledger. Each notification is treated as "re-read this
//! record" rather than as data, so a late, duplicated or out-of-order message can never carry
//! old values over newer ones.
//!
//! Answers: 200 Ack; 400 SOAP fault (`Client`) for a DOCTYPE, an entity, malformed XML or a
//! missing element, or an object not synced; 403 fault when `OrganizationId` is not `{org}`'s
//! id (15- and 18-character forms compare equal); 404 fault for an unknown `{org}`; 413 fault
//! above `[api] outbound_max_body`; 408 fault when the body is not complete within
//! `[api] body_timeout` (the connection is closed); 503 while the server stops; 500 fault (`Server`) when the engine fails, so Salesforce
//! retries. Nothing is written on any refusal.

pub mod soap;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orgsync_core::{OrgId, OrgName};

use crate::reply::{read_capped, xml};
use crate::serve::Stopping;
use crate::{ApiState, Inbound};

fn fault(status: StatusCode, message: &str) -> Response {
    let code = if status.is_server_error() {
        "Server"
    } else {
        "Client"
    };
    xml(status, soap::fault(code, message))
}

/// The handler.
pub async fn handle<E: Inbound>(
    State(st): State<Arc<ApiState<E>>>,
    Path(org): Path<String>,
    stopping: Option<Extension<Stopping>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let settings = st.engine.settings();
    let org = OrgName(org);
    if !settings.orgs.contains_key(&org) {
        return fault(
            StatusCode::NOT_FOUND,
            &format!("no org named `{org}` is configured"),
        );
    }
    let cap = settings.api.outbound_max_body;
    let stopping = stopping.as_ref().map(|Extension(s)| s);
    let bytes = match read_capped(&headers, body, cap, settings.api.body_timeout, stopping).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = || {
                fault(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the message is larger than {cap} bytes ([api] outbound_max_body)"),
                )
            };
            return e.answer(too_large, fault);
        }
    };
    let msg = match soap::parse(&bytes) {
        Ok(m) => m,
        Err(e) => return fault(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let Some(expected) = st.engine.org_id(&org) else {
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("org `{org}` is not logged in yet"),
        );
    };
    let sent: Option<OrgId> = msg.organization_id.parse().ok();
    if sent.as_ref() != Some(&expected) {
        tracing::warn!(org = %org, sent = %msg.organization_id, "outbound message from another organization refused");
        return fault(
            StatusCode::FORBIDDEN,
            &format!(
                "OrganizationId {} is not the id of org `{org}`",
                msg.organization_id
            ),
        );
    }
    // ids per object, in order, without repeats
    let mut by_object: Vec<(String, Vec<String>)> = Vec::new();
    for n in msg.notifications {
        let slot = match by_object
            .iter_mut()
            .position(|(o, _)| o.eq_ignore_ascii_case(&n.object))
        {
            Some(i) => &mut by_object[i].1,
            None => {
                by_object.push((n.object.clone(), Vec::new()));
                &mut by_object.last_mut().expect("just pushed").1
            }
        };
        if !slot.contains(&n.record_id) {
            slot.push(n.record_id);
        }
    }
    if let Some((object, _)) = by_object.iter().find(|(o, _)| settings.sync(o).is_none()) {
        return fault(
            StatusCode::BAD_REQUEST,
            &format!("{object} is not a synced object"),
        );
    }
    for (object, ids) in &by_object {
        if let Err(e) = st.engine.reread(&org, object, ids).await {
            tracing::error!(org = %org, object = %object, error = %e, "outbound re-read failed; Salesforce will retry");
            return fault(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the records could not be re-read: {e}"),
            );
        }
    }
    xml(StatusCode::OK, soap::ack().to_string())
}
