//! Who is logged in: `GET /services/oauth2/userinfo` (OpenID Connect), `GET /id/{org}/{user}`
//! (Salesforce's identity URL, read by jsforce), and SOAP `login()` (served through
//! `crate::soap`).

use super::soap;
use super::{Grant, authenticate};
use crate::error::ApiError;
use crate::soap::envelope::Envelope;
use crate::soap::xml;
use crate::state::OrgServer;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};
use sfemu_org::User;
use std::sync::Arc;

/// API version the identity URLs advertise.
const ID_URL_VERSION: &str = "66.0";

fn urls(base: &str, org_id: &str, user_id: &str) -> Json_ {
    let v = ID_URL_VERSION;
    json!({
        "enterprise": format!("{base}/services/Soap/c/{v}/{org_id}"),
        "metadata": format!("{base}/services/Soap/m/{v}/{org_id}"),
        "partner": format!("{base}/services/Soap/u/{v}/{org_id}"),
        "rest": format!("{base}/services/data/v{v}/"),
        "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
        "search": format!("{base}/services/data/v{v}/search/"),
        "query": format!("{base}/services/data/v{v}/query/"),
        "recent": format!("{base}/services/data/v{v}/recent/"),
        "tooling_soap": format!("{base}/services/Soap/T/{v}/{org_id}"),
        "tooling_rest": format!("{base}/services/data/v{v}/tooling/"),
        "profile": format!("{base}/{user_id}"),
        "feeds": format!("{base}/services/data/v{v}/chatter/feeds"),
        "groups": format!("{base}/services/data/v{v}/chatter/groups"),
        "users": format!("{base}/services/data/v{v}/chatter/users"),
        "feed_items": format!("{base}/services/data/v{v}/chatter/feed-items"),
        "feed_elements": format!("{base}/services/data/v{v}/chatter/feed-elements"),
        "custom_domain": base,
    })
}

fn full_name(u: &User) -> String {
    format!("{} {}", u.first_name, u.last_name)
        .trim()
        .to_string()
}

/// `/id/{org}/{user}` body.
fn identity_json(state: &OrgServer, u: &User) -> Json_ {
    let org_id = state.org.org_id();
    let base = &state.base_url;
    json!({
        "id": format!("{base}/id/{org_id}/{}", u.id),
        "asserted_user": true,
        "user_id": u.id,
        "organization_id": org_id,
        "username": u.username,
        "nick_name": u.username.split('@').next().unwrap_or(""),
        "display_name": full_name(u),
        "email": u.email,
        "email_verified": true,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "timezone": "America/Los_Angeles",
        "photos": {"picture": format!("{base}/profilephoto/005/F"), "thumbnail": format!("{base}/profilephoto/005/T")},
        "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": null, "addr_zip": null,
        "mobile_phone": null, "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": urls(base, org_id, &u.id),
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28_800_000,
        "last_modified_date": "2026-01-01T00:00:00Z",
        "is_app_installed": true
    })
}

/// `GET|POST /services/oauth2/userinfo`.
pub(super) async fn userinfo(
    State(state): State<Arc<OrgServer>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = authenticate(&state, &headers)?;
    let u = &s.user;
    let org_id = state.org.org_id();
    let base = &state.base_url;
    let body = json!({
        "sub": format!("{base}/id/{org_id}/{}", u.id),
        "user_id": u.id,
        "organization_id": org_id,
        "preferred_username": u.username,
        "nickname": u.username.split('@').next().unwrap_or(""),
        "name": full_name(u),
        "email": u.email,
        "email_verified": true,
        "given_name": u.first_name,
        "family_name": u.last_name,
        "zoneinfo": "America/Los_Angeles",
        "photos": {"picture": format!("{base}/profilephoto/005/F"), "thumbnail": format!("{base}/profilephoto/005/T")},
        "profile": format!("{base}/{}", u.id),
        "picture": format!("{base}/profilephoto/005/F"),
        "address": {},
        "is_salesforce_integration_user": false,
        "urls": urls(base, org_id, &u.id),
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28_800_000,
        "updated_at": "2026-01-01T00:00:00Z",
        "is_app_installed": true
    });
    Ok(Json(body).into_response())
}

/// Same record id, comparing the case-sensitive 15-character part (ids may come as 15 or 18).
fn same_id(a: &str, b: &str) -> bool {
    matches!((a.get(..15), b.get(..15)), (Some(x), Some(y)) if x == y)
}

/// `GET|POST /id/{org}/{user}`: the identity of the token's user; another user's id → 403.
pub(super) async fn id(
    State(state): State<Arc<OrgServer>>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = authenticate(&state, &headers)?;
    if !(same_id(&org, state.org.org_id()) && same_id(&user, &s.user.id)) {
        // UNCONFIRMED: Salesforce answers a bare "Bad_Id"; we keep the JSON error shape.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_ACCESS",
            "Bad_Id",
        ));
    }
    Ok(Json(identity_json(&state, &s.user)).into_response())
}

/// Partner `login()`: a session for the user whose password (+ security token) matches.
pub(crate) fn soap_login(state: &OrgServer, version: &str, env: &Envelope) -> Response {
    let req = match soap::login_request(env) {
        Ok(r) => r,
        Err(missing) => {
            return xml::unexpected("INVALID_XML", &format!("login without {missing}"));
        }
    };
    let user = match state.org.user_by_username(&req.username) {
        Some(u) if state.auth.password_ok(&u, &req.password) => u,
        _ => {
            tracing::info!("SOAP login refused");
            return xml::fault("INVALID_LOGIN", soap::INVALID_LOGIN_MESSAGE, "LoginFault");
        }
    };
    // A SOAP session belongs to no connected app.
    let session_id = state.auth.tokens.issue_access(
        Grant {
            user: user.clone(),
            client_id: String::new(),
        },
        None,
    );
    let result = soap::LoginResult {
        base_url: state.base_url.clone(),
        version: version.to_string(),
        org_id: state.org.org_id().to_string(),
        org_name: state.org.name().to_string(),
        session_id,
        session_seconds_valid: state.auth.tokens.ttl().as_secs(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        user_full_name: full_name(&user),
        user_email: user.email.clone(),
        profile_id: user.profile_id.clone(),
    };
    xml::response(StatusCode::OK, soap::render_login_response(&result))
}
