//! The SOAP partner API endpoint `POST /services/Soap/u/{version}[/{orgId}]`: `login()` (see
//! `auth`) and `undelete()`, the one record call REST lacks.
//!
//! Map: [`envelope`] reads requests (DOCTYPEs refused), [`xml`] writes answers and faults,
//! [`undelete`] the call. Every other operation answers a fault naming what is emulated.

pub mod envelope;
pub mod undelete;
pub mod xml;

use crate::state::OrgServer;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use std::sync::Arc;

/// Largest SOAP request read (200 ids of an `undelete` take about 10 KB).
pub const MAX_SOAP_BODY: usize = 256 * 1024;

/// `POST /services/Soap/u/{ver}[/{org}]`: reads the envelope and runs its operation.
pub async fn endpoint(
    State(state): State<Arc<OrgServer>>,
    Path(params): Path<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let version = params
        .iter()
        .find(|(k, _)| k == "ver")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if body.len() > MAX_SOAP_BODY {
        return xml::unexpected("EXCEEDED_MAX_SIZE_REQUEST", "request too large");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return xml::unexpected("INVALID_XML", "request is not UTF-8");
    };
    let env = match envelope::parse(text) {
        Ok(env) => env,
        Err(e) => return xml::unexpected("INVALID_XML", &e.to_string()),
    };
    match env.operation.as_str() {
        "login" => crate::auth::soap_login(&state, &version, &env),
        "undelete" => undelete::undelete(&state, &version, &env),
        other => xml::unexpected(
            "UNKNOWN_EXCEPTION",
            &format!("sfemu serves only login() and undelete() over SOAP, not {other}()"),
        ),
    }
}
