//! Who is pushing: the bearer token names the org, compared in constant time.

use axum::http::{HeaderMap, header};
use orgsync_core::Settings;
use orgsync_core::config::OrgSettings;
use subtle::ConstantTimeEq;

/// The token of `Authorization: Bearer <token>`, if that is the header's form.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The org whose `push_token` is `token`. Every configured token is compared, each in
/// constant time (`subtle`), so the answer's timing does not tell which bytes matched; only
/// a token's length can show (tokens are at least 16 random characters, so that is no help).
pub(crate) fn org_for_token<'a>(settings: &'a Settings, token: &str) -> Option<&'a OrgSettings> {
    let mut found = None;
    for org in settings.orgs.values() {
        if let Some(t) = &org.push_token {
            let eq: bool = t.expose().as_bytes().ct_eq(token.as_bytes()).into();
            if eq && found.is_none() {
                found = Some(org);
            }
        }
    }
    found
}

/// A header's text, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}
