//! Authentication: the OAuth 2.0 token endpoint (password, client credentials, refresh token,
//! JWT bearer), revoke, userinfo, the identity URL, SOAP `login()`, and bearer-token checking
//! for the REST routes.
//!
//! Token requests are not counted against the daily API limit: whether Salesforce counts them is
//! UNCONFIRMED (the wire facts §13), and clients that log in often must not exhaust a test org.

mod identity;
pub(crate) use identity::soap_login;
pub mod jwt;
mod oauth;
pub mod soap;
pub mod tokens;

use crate::error::ApiError;
use crate::state::{OrgServer, Session};
use axum::http::{HeaderMap, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
pub use tokens::{Grant, TokenStore};

/// Default consumer key of the built-in connected app.
pub const DEFAULT_CONSUMER_KEY: &str = "sfemu-client";
/// Default consumer secret of the built-in connected app.
pub const DEFAULT_CONSUMER_SECRET: &str = "sfemu-secret";
/// Default access-token inactivity timeout (Salesforce's default session timeout).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// Default user (built by `sfemu-org` when a config names no users).
pub const DEFAULT_USERNAME: &str = "admin@sfemu.test";

/// A connected app: the OAuth client a token is issued to.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub name: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    /// DER of the X.509 certificate whose key signs JWT bearer assertions; no JWT without it.
    pub certificate_der: Option<Vec<u8>>,
    /// Issue refresh tokens with the password grant (never for JWT or client credentials).
    pub issue_refresh_tokens: bool,
    /// Username the client-credentials grant runs as.
    pub run_as: String,
}

impl Default for ConnectedApp {
    fn default() -> Self {
        ConnectedApp {
            name: "sfemu".into(),
            consumer_key: DEFAULT_CONSUMER_KEY.into(),
            consumer_secret: DEFAULT_CONSUMER_SECRET.into(),
            certificate_der: None,
            issue_refresh_tokens: true,
            run_as: DEFAULT_USERNAME.into(),
        }
    }
}

/// Authentication state of one org.
#[derive(Debug)]
pub struct AuthState {
    pub apps: Vec<ConnectedApp>,
    pub tokens: TokenStore,
    /// Security token per username, accepted appended to the password (empty by default).
    pub security_tokens: HashMap<String, String>,
}

impl AuthState {
    /// State for the org `org_id`.
    pub fn new(
        org_id: &str,
        apps: Vec<ConnectedApp>,
        ttl: Duration,
        security_tokens: HashMap<String, String>,
    ) -> Self {
        AuthState {
            apps,
            tokens: TokenStore::new(org_id, ttl),
            security_tokens,
        }
    }

    /// The app with this consumer key.
    pub fn app(&self, consumer_key: &str) -> Option<&ConnectedApp> {
        self.apps.iter().find(|a| a.consumer_key == consumer_key)
    }

    /// True when `given` is the user's password followed by their security token (the token is
    /// empty unless configured, so the default user logs in with the bare password).
    pub fn password_ok(&self, user: &sfemu_org::User, given: &str) -> bool {
        let token = self
            .security_tokens
            .get(&user.username)
            .map(String::as_str)
            .unwrap_or("");
        // As from an untrusted network: a user with a security token must append it.
        constant_eq(given, &format!("{}{token}", user.password))
    }
}

/// Comparison whose time does not depend on where the strings differ.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `401 [{"message":"INVALID_HEADER_TYPE","errorCode":"INVALID_AUTH_HEADER"}]`.
pub fn invalid_auth_header() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTH_HEADER",
        "INVALID_HEADER_TYPE",
    )
}

/// The bearer token of `Authorization: Bearer …` or `Authorization: OAuth …`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then_some(token)
        .filter(|t| !t.is_empty())
}

/// The session of a REST request, or Salesforce's 401.
pub fn authenticate(state: &OrgServer, headers: &HeaderMap) -> Result<Session, ApiError> {
    let token = bearer_token(headers).ok_or_else(invalid_auth_header)?;
    let grant = state
        .auth
        .tokens
        .check_access(token)
        .map_err(|_| ApiError::invalid_session())?;
    Ok(Session {
        user: grant.user,
        client_id: grant.client_id,
    })
}

/// Routes of this module: `/services/oauth2/*`, `/id/{org}/{user}`, `/services/Soap/u/*`.
pub fn router() -> axum::Router<Arc<OrgServer>> {
    oauth::router()
}
