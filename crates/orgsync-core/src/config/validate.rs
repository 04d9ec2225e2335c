//! Raw config → [`Settings`]: the checks on orgs, topology and engine, collecting every
//! problem with its position. The per-object checks are in `validate_sync.rs`.

use std::ops::Range;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::raw::{RawAuth, RawConfig, RawEngine, RawOrg};
use super::source::{self, Sources};
use super::*;

/// Collects problems against the sources.
pub(super) struct Ctx<'a> {
    pub sources: &'a Sources,
    pub problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub fn err(&mut self, span: Range<usize>, problem: impl Into<String>, fix: impl AsRef<str>) {
        let e = self.sources.error(Some(span), problem.into(), fix.as_ref());
        self.problems.extend(e.problems);
    }
}

pub(super) fn load(
    files: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let mut sources = Sources::default();
    let mut padded = Vec::new();
    for (name, text) in files {
        let text = source::substitute_env(name, text, env)?;
        padded.push(sources.push(name, text));
    }
    let mut merged: Option<Spanned<toml::de::DeTable<'_>>> = None;
    for p in &padded {
        let table = source::parse(&sources, p)?;
        match merged.as_mut() {
            None => merged = Some(table),
            Some(base) => source::merge(base.get_mut(), table.into_inner()),
        }
    }
    let Some(merged) = merged else {
        return Err(ConfigError::at(
            String::new(),
            None,
            "no configuration file".into(),
            "pass --config",
        ));
    };
    let raw = RawConfig::deserialize(toml::de::Deserializer::from(merged)).map_err(|e| {
        sources.error(
            e.span(),
            describe_serde_error(e.message()),
            &serde_fix(e.message()),
        )
    })?;
    let mut ctx = Ctx {
        sources: &sources,
        problems: Vec::new(),
    };
    let settings = build(&mut ctx, raw, files);
    match settings {
        Some(s) if ctx.problems.is_empty() => Ok(s),
        _ => {
            let mut problems = ctx.problems;
            problems.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
            Err(ConfigError { problems })
        }
    }
}

fn describe_serde_error(msg: &str) -> String {
    msg.trim_end().replace('\n', " ")
}

fn serde_fix(msg: &str) -> String {
    if msg.contains("unknown field") {
        "remove or rename this key; the keys allowed here are listed above".into()
    } else if msg.contains("missing field") {
        "add the missing key to this table".into()
    } else if msg.contains("unknown variant") {
        "use one of the values listed above".into()
    } else {
        "correct the value's type (see crates/orgsync-core/examples/orgsync.toml)".into()
    }
}

fn build(ctx: &mut Ctx<'_>, raw: RawConfig, files: &[(&str, &str)]) -> Option<Settings> {
    let orgs = build_orgs(ctx, raw.orgs);
    let topology = match raw.topology {
        Some(t) => super::validate_topology::build_topology(ctx, t, &orgs),
        None => {
            ctx.err(
                0..0,
                "the [topology] table is missing",
                "add [topology] with kind = \"peer\" and orgs = [\"a\", \"b\"]",
            );
            None
        }
    };
    let engine = build_engine(ctx, raw.engine);
    let api = super::validate_api::build_api(ctx, raw.api);
    let monitor = super::validate_monitor::build_monitor(ctx, raw.monitor);
    let (syncs, object_order) = super::validate_sync::build_syncs(ctx, raw.sync, &orgs);
    Some(Settings {
        files: files.iter().map(|(n, _)| n.to_string()).collect(),
        orgs,
        topology: topology?,
        syncs,
        engine,
        api,
        monitor,
        object_order,
    })
}

/// A config name for orgs, syncs and tags: letters, digits, `_` and `-`.
pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// An sObject or field API name: a letter, then letters, digits and `_`.
pub(super) fn is_api_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn build_orgs(
    ctx: &mut Ctx<'_>,
    raw: IndexMap<Spanned<String>, Spanned<RawOrg>>,
) -> IndexMap<OrgName, OrgSettings> {
    let mut entries: Vec<_> = raw.into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    if entries.is_empty() {
        ctx.err(
            0..0,
            "no org is configured",
            "add at least two [orgs.<name>] tables",
        );
    }
    let mut out = IndexMap::new();
    let mut priorities: IndexMap<u32, OrgName> = IndexMap::new();
    let mut tokens: IndexMap<String, OrgName> = IndexMap::new();
    for (idx, (name, org)) in entries.into_iter().enumerate() {
        let name_span = name.span();
        let name = OrgName(name.into_inner());
        if !is_name(name.as_str()) {
            ctx.err(
                name_span.clone(),
                format!("org name `{name}` has characters other than letters, digits, _ and -"),
                "rename the [orgs.<name>] table",
            );
        }
        let org = org.into_inner();
        let allow_private = org
            .allow_private_network
            .as_ref()
            .is_some_and(|a| *a.get_ref());
        let url = super::validate_urls::login_url(ctx, &org.login_url, allow_private);
        let role = match org.role.as_ref().map(|r| r.get_ref().as_str()) {
            None | Some("peer") => Role::Peer,
            Some("hub") => Role::Hub,
            Some("client") => Role::Client,
            Some("vendor") => Role::Vendor,
            Some(other) => {
                let span = org.role.as_ref().map_or(name_span.clone(), Spanned::span);
                ctx.err(
                    span,
                    format!("unknown role `{other}`"),
                    "use one of: hub, client, vendor, peer",
                );
                Role::Peer
            }
        };
        let priority = match &org.priority {
            None => idx as u32,
            Some(p) if (0..=1_000_000).contains(p.get_ref()) => *p.get_ref() as u32,
            Some(p) => {
                ctx.err(
                    p.span(),
                    format!("priority {} is out of range", p.get_ref()),
                    "use an integer from 0 to 1000000 (lower wins ties)",
                );
                idx as u32
            }
        };
        if let Some(other) = priorities.insert(priority, name.clone()) {
            let span = org
                .priority
                .as_ref()
                .map_or(name_span.clone(), Spanned::span);
            ctx.err(
                span,
                format!("org `{name}` has the same priority {priority} as `{other}`"),
                "give every org a different priority so conflict ties have one winner",
            );
        }
        let api_version = match &org.api_version {
            None => "62.0".to_string(),
            Some(v) => {
                let ok = v.get_ref().split_once('.').is_some_and(|(a, b)| {
                    !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()) && b == "0"
                });
                if !ok {
                    ctx.err(
                        v.span(),
                        format!(
                            "api_version `{}` is not a version like \"62.0\"",
                            v.get_ref()
                        ),
                        "write the REST API version as a quoted string, e.g. \"62.0\"",
                    );
                }
                v.get_ref().clone()
            }
        };
        let max_concurrent_requests = match &org.max_concurrent_requests {
            None => 10,
            Some(m) if (1..=25).contains(m.get_ref()) => *m.get_ref() as u32,
            Some(m) => {
                ctx.err(
                    m.span(),
                    format!("max_concurrent_requests {} is out of range", m.get_ref()),
                    "use 1 to 25 (Salesforce allows 25 concurrent long requests per org)",
                );
                10
            }
        };
        let budget_share = match &org.budget_share {
            None => 0.8,
            Some(b) if (0.05..=1.0).contains(b.get_ref()) => *b.get_ref(),
            Some(b) => {
                ctx.err(b.span(), format!("budget_share {} is out of range", b.get_ref()), "use a share between 0.05 and 1.0, e.g. 0.8 for 80% of the daily API allocation");
                0.8
            }
        };
        let (push_token, push_secret) = super::validate_api::push_credentials(
            ctx,
            &name,
            org.push_token.as_ref(),
            org.push_secret.as_ref(),
            &mut tokens,
        );
        let auth = build_auth(org.auth.into_inner());
        out.insert(
            name.clone(),
            OrgSettings {
                name,
                login_url: url,
                auth,
                role,
                priority,
                api_version,
                ca_file: org.ca_file.map(|c| PathBuf::from(c.into_inner())),
                pubsub_endpoint: super::validate_urls::pubsub_endpoint(
                    ctx,
                    org.pubsub_endpoint.as_ref(),
                    allow_private,
                ),
                allow_private_network: allow_private,
                instance_hosts: super::validate_urls::instance_hosts(
                    ctx,
                    org.instance_hosts.as_ref(),
                    allow_private,
                ),
                max_concurrent_requests,
                budget_share,
                push_token,
                push_secret,
            },
        );
    }
    out
}

fn build_auth(raw: RawAuth) -> Auth {
    match raw {
        RawAuth::Jwt {
            client_id,
            username,
            private_key_file,
            audience,
        } => Auth::Jwt {
            client_id,
            username,
            private_key_file: private_key_file.into(),
            audience,
        },
        RawAuth::ClientCredentials {
            client_id,
            client_secret,
        } => Auth::ClientCredentials {
            client_id,
            client_secret: Secret(client_secret),
        },
        RawAuth::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
        } => Auth::RefreshToken {
            client_id,
            client_secret: client_secret.map(Secret),
            refresh_token: Secret(refresh_token),
        },
        RawAuth::Password {
            client_id,
            client_secret,
            username,
            password,
            security_token,
        } => Auth::Password {
            client_id,
            client_secret: Secret(client_secret),
            username,
            password: Secret(password),
            security_token: security_token.map(Secret),
        },
    }
}

/// Parse a duration like `500ms`, `30s`, `5m`, `2h`, `7d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// A spanned duration within bounds, or a problem saying so.
pub(super) fn duration_in(
    ctx: &mut Ctx<'_>,
    raw: &Spanned<String>,
    key: &str,
    min: Duration,
    max: Duration,
    bounds: &str,
) -> Option<Duration> {
    match parse_duration(raw.get_ref()) {
        Some(d) if d >= min && d <= max => Some(d),
        Some(_) => {
            ctx.err(
                raw.span(),
                format!("{key} `{}` is out of range", raw.get_ref()),
                format!("use a duration from {bounds}"),
            );
            None
        }
        None => {
            ctx.err(raw.span(), format!("{key} `{}` is not a duration", raw.get_ref()), format!("write a number and a unit (ms, s, m, h, d), e.g. \"30s\" or \"5m\"; allowed {bounds}"));
            None
        }
    }
}

fn build_engine(ctx: &mut Ctx<'_>, raw: Option<RawEngine>) -> EngineSettings {
    let raw = raw.unwrap_or(RawEngine {
        state: None,
        client_tag: None,
        listen: None,
        batch_size: None,
        lookback: None,
        reconcile: None,
    });
    let state = match raw.state.as_ref().map(|s| s.get_ref().as_str()) {
        None => StateLocation::Sqlite("orgsync.db".into()),
        Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
            StateLocation::Postgres(s.to_string())
        }
        Some(s) => StateLocation::Sqlite(s.strip_prefix("sqlite://").unwrap_or(s).into()),
    };
    let client_tag = match &raw.client_tag {
        None => "orgsync".to_string(),
        Some(t) => {
            if !is_name(t.get_ref()) || t.get_ref().len() > 40 {
                ctx.err(
                    t.span(),
                    format!(
                        "client_tag `{}` must be 1-40 letters, digits, _ or -",
                        t.get_ref()
                    ),
                    "choose a short tag like \"orgsync\"; it is matched in CDC changeOrigin",
                );
            }
            t.get_ref().clone()
        }
    };
    let default_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 8686));
    let listen = match &raw.listen {
        None => default_listen,
        Some(l) => l.get_ref().parse().unwrap_or_else(|_| {
            ctx.err(
                l.span(),
                format!("listen `{}` is not an address:port", l.get_ref()),
                "write e.g. \"127.0.0.1:8686\" or \"0.0.0.0:8686\"",
            );
            default_listen
        }),
    };
    let batch_size = match &raw.batch_size {
        None => 200,
        Some(b) if (1..=200).contains(b.get_ref()) => *b.get_ref() as usize,
        Some(b) => {
            ctx.err(
                b.span(),
                format!("batch_size {} is out of range", b.get_ref()),
                "use 1 to 200 (sObject Collections take at most 200 records)",
            );
            200
        }
    };
    let lookback = match &raw.lookback {
        None => Duration::from_secs(5),
        Some(l) => duration_in(
            ctx,
            l,
            "lookback",
            Duration::ZERO,
            Duration::from_secs(600),
            "0s to 10m",
        )
        .unwrap_or(Duration::from_secs(5)),
    };
    let reconcile = match &raw.reconcile {
        None => Some(DEFAULT_RECONCILE),
        Some(r) => reconcile_every(ctx, r).unwrap_or(Some(DEFAULT_RECONCILE)),
    };
    EngineSettings {
        state,
        client_tag,
        listen,
        batch_size,
        lookback,
        reconcile,
    }
}

/// How often `orgsync run` reconciles when the config does not say: daily.
pub const DEFAULT_RECONCILE: Duration = Duration::from_secs(86_400);

/// A `reconcile` value: `"off"` (Some(None)), a duration from 1m to 30d (Some(Some(d))), or a
/// problem (None).
pub(super) fn reconcile_every(
    ctx: &mut Ctx<'_>,
    raw: &Spanned<String>,
) -> Option<Option<Duration>> {
    if raw.get_ref().eq_ignore_ascii_case("off") {
        return Some(None);
    }
    duration_in(
        ctx,
        raw,
        "reconcile",
        Duration::from_secs(60),
        Duration::from_secs(30 * 86_400),
        "1m to 30d, or \"off\"",
    )
    .map(Some)
}
