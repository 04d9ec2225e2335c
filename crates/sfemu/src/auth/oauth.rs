//! `POST /services/oauth2/token` and `POST /services/oauth2/revoke`, answering exactly as
//! Salesforce does (RFC 6749 errors as `{"error","error_description"}`, HTTP 400).

use super::{ConnectedApp, Grant, identity, jwt};
use crate::state::OrgServer;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sfemu_org::User;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> axum::Router<Arc<OrgServer>> {
    axum::Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/revoke", post(revoke))
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route("/id/{org}/{user}", get(identity::id).post(identity::id))
        .route("/services/Soap/u/{ver}", post(crate::soap::endpoint))
        .route("/services/Soap/u/{ver}/{org}", post(crate::soap::endpoint))
}

/// An OAuth error answer.
#[derive(Debug)]
pub(super) struct OAuthError {
    error: &'static str,
    description: &'static str,
}

fn oauth_err(error: &'static str, description: &'static str) -> OAuthError {
    OAuthError { error, description }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

const AUTH_FAILURE: (&str, &str) = ("invalid_grant", "authentication failure");

/// Form parameters from the body, then the query string (the body wins).
fn params(uri: &Uri, body: &[u8]) -> HashMap<String, String> {
    let mut p: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        p.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    if let Some(q) = uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            p.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    p
}

/// Client id and secret from `Authorization: Basic` or the form.
fn client_credentials(
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (p.get("client_id").cloned(), p.get("client_secret").cloned()),
    }
}

/// The app for a client id, checking the secret when `secret_required` or when one is given.
fn app_for<'a>(
    state: &'a OrgServer,
    id: Option<&str>,
    secret: Option<&str>,
    secret_required: bool,
) -> Result<&'a ConnectedApp, OAuthError> {
    let app = id
        .and_then(|id| state.auth.app(id))
        .ok_or(oauth_err("invalid_client_id", "client identifier invalid"))?;
    match secret {
        Some(s) if s == app.consumer_secret => Ok(app),
        None if !secret_required => Ok(app),
        _ => Err(oauth_err("invalid_client", "invalid client credentials")),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The success JSON (Salesforce's key order).
/// The connected app named by the request's client id, its secret checked (the password and
/// client-credentials flows require it).
fn confidential_app<'a>(
    state: &'a OrgServer,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<&'a ConnectedApp, OAuthError> {
    let (id, secret) = client_credentials(headers, p);
    app_for(state, id.as_deref(), secret.as_deref(), true)
}

/// A token response for a fresh grant of `user` to `app` (no refresh token to reuse).
fn issue(state: &OrgServer, app: &ConnectedApp, user: User, with_refresh: bool) -> Response {
    let grant = Grant {
        user,
        client_id: app.consumer_key.clone(),
    };
    success(state, app, grant, with_refresh, None)
}

fn success(
    state: &OrgServer,
    app: &ConnectedApp,
    grant: Grant,
    with_refresh: bool,
    reuse_refresh: Option<String>,
) -> Response {
    let user_id = grant.user.id.clone();
    let refresh = with_refresh.then(|| state.auth.tokens.issue_refresh(grant.clone()));
    let access = state
        .auth
        .tokens
        .issue_access(grant, refresh.clone().or(reuse_refresh));
    let id_url = format!("{}/id/{}/{}", state.base_url, state.org.org_id(), user_id);
    let issued_at = now_ms().to_string();
    let signature = {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, app.consumer_secret.as_bytes());
        STANDARD.encode(ring::hmac::sign(&key, format!("{id_url}{issued_at}").as_bytes()).as_ref())
    };
    let mut m = serde_json::Map::new();
    m.insert("access_token".into(), access.into());
    if let Some(r) = refresh {
        m.insert("refresh_token".into(), r.into());
    }
    m.insert("signature".into(), signature.into());
    m.insert(
        "scope".into(),
        if with_refresh {
            "refresh_token api"
        } else {
            "api"
        }
        .into(),
    );
    m.insert("instance_url".into(), state.base_url.clone().into());
    m.insert("id".into(), id_url.into());
    m.insert("token_type".into(), "Bearer".into());
    m.insert("issued_at".into(), issued_at.into());
    (
        StatusCode::OK,
        [(
            header::CACHE_CONTROL,
            "no-cache,must-revalidate,max-age=0,no-store,private",
        )],
        Json(serde_json::Value::Object(m)),
    )
        .into_response()
}

async fn token(
    State(state): State<Arc<OrgServer>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let p = params(&uri, &body);
    let grant_type = p.get("grant_type").map(String::as_str).unwrap_or("");
    let result = match grant_type {
        "" => Err(oauth_err("invalid_request", "grant type is missing")),
        "password" => password_grant(&state, &headers, &p),
        "client_credentials" => client_credentials_grant(&state, &headers, &p),
        "refresh_token" => refresh_grant(&state, &headers, &p),
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => jwt_grant(&state, &p),
        _ => Err(oauth_err(
            "unsupported_grant_type",
            "grant type not supported",
        )),
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(grant_type, error = e.error, "token request refused");
            e.into_response()
        }
    }
}

fn password_grant(
    state: &OrgServer,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let app = confidential_app(state, headers, p)?;
    let username = p.get("username").map(String::as_str).unwrap_or("");
    let password = p.get("password").map(String::as_str).unwrap_or("");
    let user = state
        .org
        .user_by_username(username)
        .ok_or(oauth_err(AUTH_FAILURE.0, AUTH_FAILURE.1))?;
    if !state.auth.password_ok(&user, password) {
        return Err(oauth_err(AUTH_FAILURE.0, AUTH_FAILURE.1));
    }
    Ok(issue(state, app, user, app.issue_refresh_tokens))
}

fn client_credentials_grant(
    state: &OrgServer,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let app = confidential_app(state, headers, p)?;
    let user = state.org.user_by_username(&app.run_as).ok_or(oauth_err(
        "invalid_grant",
        "no client credentials user enabled",
    ))?;
    Ok(issue(state, app, user, false))
}

fn refresh_grant(
    state: &OrgServer,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let refresh = p.get("refresh_token").cloned().unwrap_or_default();
    let grant = state
        .auth
        .tokens
        .check_refresh(&refresh)
        .map_err(|_| oauth_err("invalid_grant", "expired access/refresh token"))?;
    let (id, secret) = client_credentials(headers, p);
    // The client id is optional for some clients; when given it must be the token's app.
    let app = app_for(
        state,
        Some(id.as_deref().unwrap_or(&grant.client_id)),
        secret.as_deref(),
        false,
    )?;
    if app.consumer_key != grant.client_id {
        return Err(oauth_err("invalid_grant", "expired access/refresh token"));
    }
    // The user may have been removed since; re-resolve.
    let user = state
        .org
        .user_by_id(&grant.user.id)
        .ok_or(oauth_err("invalid_grant", "expired access/refresh token"))?;
    Ok(success(
        state,
        app,
        Grant {
            user,
            client_id: grant.client_id,
        },
        false,
        Some(refresh),
    ))
}

fn jwt_grant(state: &OrgServer, p: &HashMap<String, String>) -> Result<Response, OAuthError> {
    let assertion = p.get("assertion").map(String::as_str).unwrap_or("");
    let to_oauth = |e: jwt::JwtError| {
        let (a, b) = e.oauth_error();
        oauth_err(a, b)
    };
    let parsed = jwt::parse(assertion).map_err(to_oauth)?;
    let app = state
        .auth
        .app(&parsed.claims.iss)
        .ok_or(oauth_err("invalid_client_id", "client identifier invalid"))?;
    let cert = app
        .certificate_der
        .as_deref()
        .ok_or(oauth_err("invalid_grant", "invalid assertion"))?;
    jwt::verify_signature(&parsed, cert).map_err(to_oauth)?;
    let audiences = [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        state.base_url.as_str(),
    ];
    jwt::check_claims(&parsed.claims, &audiences, chrono::Utc::now().timestamp())
        .map_err(to_oauth)?;
    let user = state
        .org
        .user_by_username(&parsed.claims.sub)
        .ok_or(oauth_err(
            "invalid_grant",
            "user hasn't approved this consumer",
        ))?;
    Ok(issue(state, app, user, false))
}

async fn revoke(State(state): State<Arc<OrgServer>>, uri: Uri, body: Bytes) -> Response {
    let p = params(&uri, &body);
    let token = p.get("token").map(String::as_str).unwrap_or("");
    if !token.is_empty() && state.auth.tokens.revoke(token) {
        StatusCode::OK.into_response()
    } else {
        let body = serde_json::json!({"error": "unsupported_token_type", "error_description": "this token type is not supported"});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}
