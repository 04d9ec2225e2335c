//! Access to the dashboard: one admin password from `[monitor] admin_password`, a login form,
//! server-side sessions behind an HttpOnly, SameSite=Strict cookie, and a CSRF token per
//! session that every state-changing form carries.
//!
//! Why these choices: the dashboard retries and dismisses work in the ledger, so a page
//! another site opens in the operator's browser must not be able to do either. SameSite=Strict
//! keeps the cookie off cross-site requests, and the token (which another site cannot read)
//! is checked as well, for browsers or proxies that do not honour SameSite. The login form
//! itself carries a token bound to a short-lived cookie (login CSRF). The password is
//! compared as SHA-256 digests in constant time and never logged; a wrong one costs the
//! caller half a second. Sessions live in memory: a restart logs everyone out, which is the
//! safe direction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use orgsync_core::config::Secret;
use orgsync_store::Store;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Monitor, MonitorError};

/// The session cookie.
pub const SESSION_COOKIE: &str = "orgsync_session";
/// The login form's CSRF cookie.
pub const LOGIN_COOKIE: &str = "orgsync_login";
/// How long a session lasts without a new login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; the oldest go first (a flood of logins cannot grow memory).
const MAX_SESSIONS: usize = 1024;
/// What a wrong password costs the caller.
const WRONG_PASSWORD_DELAY: Duration = Duration::from_millis(500);

/// A logged-in session, as handlers see it (a request extension set by [`require_login`]).
#[derive(Debug, Clone)]
pub struct Session {
    /// The token this session's forms must carry.
    pub csrf: String,
    /// Who acts, for the activity log: `dashboard:<name given at login>` (one shared
    /// password, so the name is the operator's word, not an identity).
    pub who: String,
    expires: Instant,
}

/// The admin password and the live sessions.
pub struct Auth {
    password: [u8; 32],
    sessions: Mutex<HashMap<String, Session>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth(***)")
    }
}

impl Auth {
    /// Sessions checked against `password`.
    pub fn new(password: &Secret) -> Auth {
        Auth {
            password: digest(password.expose()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn password_ok(&self, given: &str) -> bool {
        bool::from(digest(given).ct_eq(&self.password))
    }

    /// A new session for `who`; returns its id (the cookie value).
    fn open(&self, who: String) -> String {
        let id = token();
        let now = Instant::now();
        let mut all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, s| s.expires > now);
        if all.len() >= MAX_SESSIONS
            && let Some(oldest) = all
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            all.remove(&oldest);
        }
        let session = Session {
            csrf: token(),
            who,
            expires: now + SESSION_TTL,
        };
        all.insert(id.clone(), session);
        id
    }

    /// The live session with cookie value `id`.
    pub fn session(&self, id: &str) -> Option<Session> {
        let all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        all.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    fn close(&self, id: &str) {
        let mut all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        all.remove(id);
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// 32 random bytes, URL-safe base64.
fn token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time comparison of a submitted token with the expected one.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    ))
    .ok()
}

/// Middleware for every page but the login: a request without a live session is sent to the
/// login form (GET) or refused with 403 (anything else); with one, handlers get its
/// [`Session`] as an extension.
pub async fn require_login<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    mut req: Request,
    next: Next,
) -> Response {
    match cookie(req.headers(), SESSION_COOKIE).and_then(|id| m.auth.session(&id)) {
        Some(s) => {
            req.extensions_mut().insert(s);
            next.run(req).await
        }
        None if req.method() == Method::GET || req.method() == Method::HEAD => {
            Redirect::to("/login").into_response()
        }
        None => (StatusCode::FORBIDDEN, "log in first: /login").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
    logged_in: bool,
}

/// `GET /login`: the form, with a fresh login CSRF token in a cookie and in the form.
pub async fn login_form<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    headers: HeaderMap,
) -> Result<Response, MonitorError> {
    if cookie(&headers, SESSION_COOKIE).is_some_and(|id| m.auth.session(&id).is_some()) {
        return Ok(Redirect::to("/").into_response());
    }
    login_page(StatusCode::OK, None)
}

fn login_page(status: StatusCode, error: Option<String>) -> Result<Response, MonitorError> {
    let csrf = token();
    let page = LoginPage {
        csrf: csrf.clone(),
        error,
        logged_in: false,
    }
    .render()?;
    let mut res = (status, Html(page)).into_response();
    if let Some(c) = set_cookie(LOGIN_COOKIE, &csrf, "/login", 600) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    password: String,
    /// The operator's name, for the activity log (optional).
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: the password, checked; a session cookie and a redirect to the overview.
pub async fn login<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, MonitorError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(&form.csrf, &expected) {
        return Err(MonitorError::Csrf);
    }
    if !m.auth.password_ok(&form.password) {
        tracing::info!("dashboard login refused: wrong password");
        tokio::time::sleep(WRONG_PASSWORD_DELAY).await;
        return login_page(StatusCode::UNAUTHORIZED, Some("Wrong password.".into()));
    }
    let id = m.auth.open(who(&form.name));
    let mut res = Redirect::to("/").into_response();
    let h = res.headers_mut();
    if let Some(c) = set_cookie(SESSION_COOKIE, &id, "/", SESSION_TTL.as_secs()) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = set_cookie(LOGIN_COOKIE, "", "/login", 0) {
        h.append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Most characters of a name given at login.
const MAX_NAME: usize = 40;

/// `dashboard:<name>` from the login form's name: letters, digits and `.-_@ ` kept, at most
/// [`MAX_NAME`] characters; `dashboard:admin` when none is left.
pub fn who(name: &str) -> String {
    let clean: String = name
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | ' '))
        .take(MAX_NAME)
        .collect();
    match clean.trim() {
        "" => "dashboard:admin".into(),
        n => format!("dashboard:{n}"),
    }
}

/// A state-changing form's CSRF field.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session.
pub async fn logout<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    headers: HeaderMap,
    axum::Extension(session): axum::Extension<Session>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &form.csrf)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        m.auth.close(&id);
    }
    let mut res = Redirect::to("/login").into_response();
    if let Some(c) = set_cookie(SESSION_COOKIE, "", "/", 0) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Refuse a state-changing request whose form token is not the session's.
pub fn check_csrf(session: &Session, given: &str) -> Result<(), MonitorError> {
    match tokens_match(given, &session.csrf) {
        true => Ok(()),
        false => Err(MonitorError::Csrf),
    }
}
