//! The identity part of `sfemu.toml`: profiles, users and connected apps of an org (raw
//! shapes and their validation), apart from the rest of the file so each stays readable.

use super::file::Ctx;
use super::{ConfigError, OrgConfig};
use crate::auth::ConnectedApp;
use serde::Deserialize;
use sfemu_org::{ProfileSpec, UserSpec};
use std::collections::HashSet;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    username: Spanned<String>,
    password: String,
    #[serde(default)]
    security_token: String,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    email: Option<String>,
    profile: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    name: String,
    #[serde(default)]
    hidden_fields: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    name: Option<String>,
    consumer_key: Spanned<String>,
    consumer_secret: String,
    certificate: Option<Spanned<String>>,
    #[serde(default = "yes")]
    refresh_tokens: bool,
    run_as: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

pub(super) fn profiles_and_users(
    ctx: &Ctx,
    oc: &mut OrgConfig,
    profiles: Vec<RawProfile>,
    users: Vec<RawUser>,
) -> Result<(), ConfigError> {
    let profile_names: HashSet<String> = profiles
        .iter()
        .map(|p| p.name.clone())
        .chain(["System Administrator".to_string()])
        .collect();
    for p in profiles {
        for h in &p.hidden_fields {
            if h.get_ref().split('.').count() != 2 {
                return ctx.err(
                    Some(h.span()),
                    format!(
                        "hidden field '{}' must be written Object.Field",
                        h.get_ref()
                    ),
                );
            }
        }
        oc.spec.profiles.push(ProfileSpec {
            name: p.name,
            hidden_fields: p
                .hidden_fields
                .into_iter()
                .map(|h| h.into_inner())
                .collect(),
        });
    }
    let mut usernames = HashSet::new();
    for u in users {
        let username = u.username.get_ref().trim().to_string();
        if !username.contains('@') || !usernames.insert(username.clone()) {
            return ctx.err(
                Some(u.username.span()),
                format!(
                    "username '{username}' must look like an email address and be unique in the org"
                ),
            );
        }
        if let Some(p) = &u.profile
            && !profile_names.contains(p.get_ref())
        {
            return ctx.err(
                Some(p.span()),
                format!(
                    "profile '{}' is not defined; add a [[org.profiles]] with that name",
                    p.get_ref()
                ),
            );
        }
        if !u.security_token.is_empty() {
            oc.security_tokens
                .insert(username.clone(), u.security_token);
        }
        oc.spec.users.push(UserSpec {
            email: u.email.unwrap_or_else(|| username.clone()),
            last_name: u
                .last_name
                .unwrap_or_else(|| username.split('@').next().unwrap_or("User").to_string()),
            username,
            password: u.password,
            first_name: u.first_name,
            profile: u.profile.map(|p| p.into_inner()),
        });
    }
    Ok(())
}

pub(super) fn connected_apps(
    ctx: &Ctx,
    oc: &mut OrgConfig,
    apps: Vec<RawApp>,
) -> Result<(), ConfigError> {
    let known_users = oc.usernames();
    if !apps.is_empty() {
        oc.apps.clear();
    }
    for a in apps {
        let certificate_der = match &a.certificate {
            None => None,
            Some(c) => Some(read_cert(ctx, c)?),
        };
        let run_as = match &a.run_as {
            None => known_users[0].clone(),
            Some(r) if known_users.contains(r.get_ref()) => r.get_ref().clone(),
            Some(r) => {
                return ctx.err(
                    Some(r.span()),
                    format!("run_as '{}' is not a user of this org", r.get_ref()),
                );
            }
        };
        if oc
            .apps
            .iter()
            .any(|x| x.consumer_key == *a.consumer_key.get_ref())
        {
            return ctx.err(
                Some(a.consumer_key.span()),
                "two connected apps share this consumer_key",
            );
        }
        oc.apps.push(ConnectedApp {
            name: a.name.unwrap_or_else(|| a.consumer_key.get_ref().clone()),
            consumer_key: a.consumer_key.into_inner(),
            consumer_secret: a.consumer_secret,
            certificate_der,
            issue_refresh_tokens: a.refresh_tokens,
            run_as,
        });
    }
    if let Some(first) = oc.apps.first_mut()
        && !known_users.contains(&first.run_as)
    {
        first.run_as = known_users[0].clone();
    }
    Ok(())
}

fn read_cert(ctx: &Ctx, c: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
    let pem = ctx.read(c, "certificate")?;
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    match rustls_pemfile::certs(&mut reader).next() {
        Some(Ok(der)) => Ok(der.to_vec()),
        _ => ctx.err(
            Some(c.span()),
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                c.get_ref()
            ),
        ),
    }
}
