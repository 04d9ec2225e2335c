//! Checks on the push side of the config: per-org `push_token` / `push_secret` and the `[api]`
//! limits. Why separate: these keys only matter when orgsync receives pushes, and their
//! rules (secret length, one token per org) are unlike the rest of an org's settings.

use std::time::Duration;

use indexmap::IndexMap;
use toml::Spanned;

use super::raw::RawApi;
use super::validate::{Ctx, duration_in};
use super::*;

/// `[api]`: limits of the endpoints that receive pushes. They face other organisations and
/// the internet, so every resource a caller can hold — a connection, a slot in the rate, the
/// time spent reading its request — is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// Allowed distance between a signed push's timestamp and our clock.
    pub push_window: Duration,
    /// Largest push API body in bytes.
    pub max_body: usize,
    /// Largest Outbound Messaging body in bytes.
    pub outbound_max_body: usize,
    /// Most records in one push (413 above): one push is one ledger transaction.
    pub max_records: usize,
    /// Sustained pushes per org (per push token).
    pub push_rate: PushRate,
    /// Pushes an org may send at once above the sustained rate (the token bucket's size).
    pub push_burst: u32,
    /// A request's headers must be complete within this time of the connection opening or of
    /// the previous response on it, so it is also how long a kept-alive connection may idle.
    pub header_timeout: Duration,
    /// A request's whole body must arrive within this time (408 after it).
    pub body_timeout: Duration,
    /// Connections served at once; more are answered 503 at once and closed.
    pub max_connections: usize,
}

/// A sustained request rate: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushRate {
    /// Requests allowed per period.
    pub requests: u32,
    /// The period.
    pub per: Duration,
}

impl std::fmt::Display for PushRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            push_window: Duration::from_secs(300),
            max_body: 5 * 1024 * 1024,
            outbound_max_body: 1024 * 1024,
            max_records: 200,
            push_rate: PushRate {
                requests: 600,
                per: Duration::from_secs(3600),
            },
            push_burst: 60,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

impl Settings {
    /// Whether `orgsync run` serves the push endpoints: some org may push (`push_token`) or
    /// some sync captures by Outbound Messaging. Otherwise nothing listens, so several
    /// polling-only instances can share a machine without port clashes.
    pub fn serves_push(&self) -> bool {
        self.orgs.values().any(|o| o.push_token.is_some())
            || self
                .syncs
                .iter()
                .any(|s| s.enabled && s.capture == Capture::Outbound)
    }
}

/// Shortest accepted token or HMAC key: shorter ones are guessable.
const MIN_SECRET_LEN: usize = 16;

/// An org's push credentials, checked. `tokens` collects every token seen so far (by value)
/// to refuse a token shared by two orgs: the token is how a push names its sender.
pub(super) fn push_credentials(
    ctx: &mut Ctx<'_>,
    org: &OrgName,
    token: Option<&Spanned<String>>,
    secret: Option<&Spanned<String>>,
    tokens: &mut IndexMap<String, OrgName>,
) -> (Option<Secret>, Option<Secret>) {
    for (key, value) in [("push_token", token), ("push_secret", secret)] {
        if let Some(v) = value
            && v.get_ref().trim().chars().count() < MIN_SECRET_LEN
        {
            ctx.err(
                v.span(),
                format!("{key} of org `{org}` is shorter than {MIN_SECRET_LEN} characters"),
                "use a long random value (e.g. `openssl rand -hex 32`) from an environment variable: \"${PUSH_TOKEN_A}\"",
            );
        }
    }
    if let Some(t) = token
        && let Some(other) = tokens.insert(t.get_ref().clone(), org.clone())
    {
        ctx.err(
            t.span(),
            format!("org `{org}` has the same push_token as `{other}`"),
            "give every org its own push_token: the token tells which org is pushing",
        );
    }
    if let (Some(s), None) = (secret, token) {
        ctx.err(
            s.span(),
            format!("org `{org}` has push_secret but no push_token"),
            "add push_token (the bearer token) too, or remove push_secret",
        );
    }
    (
        token.map(|t| Secret(t.get_ref().clone())),
        secret.map(|s| Secret(s.get_ref().clone())),
    )
}

/// The interval of a sync's poll: `interval` for `poll` (default 60 s, 1 s to 30 min); for
/// `cdc` and `outbound` the backup poll, from `backup_interval` (default 15 min, 1 s to 24 h)
/// or, as before that key existed, `interval`.
pub(super) fn poll_interval(
    ctx: &mut Ctx<'_>,
    capture: Capture,
    interval: Option<&Spanned<String>>,
    backup: Option<&Spanned<String>>,
) -> Duration {
    let poll = |ctx: &mut Ctx<'_>, i: &Spanned<String>, default: u64| {
        duration_in(
            ctx,
            i,
            "interval",
            Duration::from_secs(1),
            Duration::from_secs(1800),
            "1s to 30m",
        )
        .unwrap_or(Duration::from_secs(default))
    };
    match (capture, interval, backup) {
        (Capture::Poll, i, b) => {
            if let Some(b) = b {
                ctx.err(
                    b.span(),
                    "backup_interval applies only to capture = \"cdc\" or \"outbound\"",
                    "for capture = \"poll\" set interval instead",
                );
            }
            i.map_or(Duration::from_secs(60), |i| poll(ctx, i, 60))
        }
        (_, Some(i), Some(_)) => {
            ctx.err(
                i.span(),
                "both interval and backup_interval are set; with cdc or outbound the poll is only the backup",
                "keep backup_interval and remove interval",
            );
            Duration::from_secs(900)
        }
        (_, Some(i), None) => poll(ctx, i, 900),
        (_, None, Some(b)) => duration_in(
            ctx,
            b,
            "backup_interval",
            Duration::from_secs(1),
            Duration::from_secs(86_400),
            "1s to 24h",
        )
        .unwrap_or(Duration::from_secs(900)),
        (_, None, None) => Duration::from_secs(900),
    }
}

pub(super) fn build_api(ctx: &mut Ctx<'_>, raw: Option<RawApi>) -> ApiSettings {
    let d = ApiSettings::default();
    let Some(raw) = raw else {
        return d;
    };
    let push_window = raw
        .push_window
        .as_ref()
        .and_then(|w| {
            duration_in(
                ctx,
                w,
                "push_window",
                Duration::from_secs(10),
                Duration::from_secs(3600),
                "10s to 1h",
            )
        })
        .unwrap_or(d.push_window);
    let max_body = raw
        .max_body
        .as_ref()
        .and_then(|v| size_in(ctx, v, "max_body"))
        .unwrap_or(d.max_body);
    let outbound_max_body = raw
        .outbound_max_body
        .as_ref()
        .and_then(|v| size_in(ctx, v, "outbound_max_body"))
        .unwrap_or(d.outbound_max_body);
    let int = |ctx: &mut Ctx<'_>, v: &Option<Spanned<i64>>, key: &str, max: i64, d: usize| {
        v.as_ref()
            .and_then(|v| int_in(ctx, v, key, max))
            .unwrap_or(d)
    };
    let max_records = int(ctx, &raw.max_records, "max_records", 10_000, d.max_records);
    let push_burst = int(
        ctx,
        &raw.push_burst,
        "push_burst",
        10_000,
        d.push_burst as usize,
    );
    let max_connections = int(
        ctx,
        &raw.max_connections,
        "max_connections",
        65_536,
        d.max_connections,
    );
    let deadline = |ctx: &mut Ctx<'_>, v: &Option<Spanned<String>>, key: &str, max: u64| {
        v.as_ref().and_then(|v| {
            duration_in(
                ctx,
                v,
                key,
                Duration::from_millis(100),
                Duration::from_secs(max),
                &format!("100ms to {}m", max / 60),
            )
        })
    };
    ApiSettings {
        push_window,
        max_body,
        outbound_max_body,
        max_records,
        push_rate: raw
            .push_rate
            .as_ref()
            .and_then(|r| push_rate(ctx, r))
            .unwrap_or(d.push_rate),
        push_burst: u32::try_from(push_burst).unwrap_or(d.push_burst),
        header_timeout: deadline(ctx, &raw.header_timeout, "header_timeout", 300)
            .unwrap_or(d.header_timeout),
        body_timeout: deadline(ctx, &raw.body_timeout, "body_timeout", 600)
            .unwrap_or(d.body_timeout),
        max_connections,
    }
}

/// A positive integer up to `max`.
fn int_in(ctx: &mut Ctx<'_>, raw: &Spanned<i64>, key: &str, max: i64) -> Option<usize> {
    let n = *raw.get_ref();
    if (1..=max).contains(&n) {
        return usize::try_from(n).ok();
    }
    ctx.err(
        raw.span(),
        format!("{key} {n} is out of range"),
        format!("use a whole number from 1 to {max}"),
    );
    None
}

/// `"600/h"`, `"10/min"`, `"1/s"`.
fn push_rate(ctx: &mut Ctx<'_>, raw: &Spanned<String>) -> Option<PushRate> {
    let text = raw.get_ref().trim();
    let parsed = text.split_once('/').and_then(|(n, unit)| {
        let requests: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))?;
        let secs = match unit.trim() {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            _ => return None,
        };
        Some(PushRate {
            requests,
            per: Duration::from_secs(secs),
        })
    });
    if parsed.is_none() {
        ctx.err(
            raw.span(),
            format!("push_rate `{text}` is not a rate"),
            "write requests per s, min or h, from 1 to 1000000, e.g. \"600/h\" or \"10/min\"",
        );
    }
    parsed
}

const MIN_BODY: usize = 1024;
const MAX_BODY: usize = 100 * 1024 * 1024;

fn size_in(ctx: &mut Ctx<'_>, raw: &Spanned<toml::Value>, key: &str) -> Option<usize> {
    let parsed = match raw.get_ref() {
        toml::Value::Integer(i) => usize::try_from(*i).ok(),
        toml::Value::String(s) => parse_size(s),
        _ => None,
    };
    match parsed {
        Some(n) if (MIN_BODY..=MAX_BODY).contains(&n) => Some(n),
        Some(_) => {
            ctx.err(
                raw.span(),
                format!("{key} {} is out of range", raw.get_ref()),
                "use a size from 1KiB to 100MiB",
            );
            None
        }
        None => {
            ctx.err(
                raw.span(),
                format!("{key} {} is not a size", raw.get_ref()),
                "write bytes as an integer or a number with a unit, e.g. \"5MiB\", \"512KiB\"",
            );
            None
        }
    }
}

/// A size like `1024`, `512KiB`, `5MiB`, `2MB`, `100B`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "KiB" => 1024,
        "MB" => 1_000_000,
        "MiB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}
