//! End-to-end tests of the emulator's server side over real HTTP on loopback: OAuth grants,
//! JWT, SOAP login and undelete, tokens, limits, faults, the control surface, error shapes, TLS, config
//! files, persistence and the binary.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "server/control.rs"]
mod control;
#[path = "server/errors.rs"]
mod errors;
#[path = "server/faults.rs"]
mod faults;
#[path = "server/grants.rs"]
mod grants;
#[path = "server/jwt.rs"]
mod jwt;
#[path = "server/limits.rs"]
mod limits;
#[path = "server/oversize.rs"]
mod oversize;
#[path = "server/runtime.rs"]
mod runtime;
#[path = "server/sessions.rs"]
mod sessions;
#[path = "server/soap.rs"]
mod soap;
#[path = "server/undelete.rs"]
mod undelete;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{CLIENT_ID, CLIENT_SECRET, EmulatorConfig, PASSWORD, USERNAME, json};
use serde_json::{Value, json};
use sfemu::auth::ConnectedApp;

async fn token_request(t: &common::TestOrg, form: &[(&str, &str)]) -> (u16, Value) {
    let r = t
        .http
        .post(t.url("/services/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, json(r).await)
}

fn password_form(password: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USERNAME),
        ("password", password),
    ]
}
