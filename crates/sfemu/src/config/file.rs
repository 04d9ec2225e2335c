//! Reading `sfemu.toml`: the raw serde shapes (with spans, so errors can name lines) and their
//! validation into [`EmulatorConfig`].

use super::{ConfigError, EmulatorConfig, OrgConfig};
use crate::auth::DEFAULT_TOKEN_TTL;
use crate::faults::FaultConfig;
use crate::limits::DEFAULT_DAILY_API_REQUESTS;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

use super::identity::{RawApp, RawProfile, RawUser, connected_apps, profiles_and_users};

/// Parses and validates config text; `path` names the file in errors and anchors relative paths.
pub(super) fn parse(text: &str, path: &Path) -> Result<EmulatorConfig, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: format!("{}; see examples/sfemu.toml for every key", e.message()),
    })?;
    let ctx = Ctx {
        text,
        file: path,
        dir: path.parent().unwrap_or(Path::new(".")),
    };
    raw.validate(&ctx)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

pub(super) struct Ctx<'a> {
    text: &'a str,
    file: &'a Path,
    dir: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn err<T>(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> Result<T, ConfigError> {
        Err(ConfigError {
            file: self.file.to_path_buf(),
            line: span.map(|s| line_of(self.text, s.start)),
            message: message.into(),
        })
    }

    pub(super) fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    pub(super) fn read(&self, p: &Spanned<String>, what: &str) -> Result<String, ConfigError> {
        let full = self.path(p.get_ref());
        std::fs::read_to_string(&full).or_else(|e| {
            self.err(
                Some(p.span()),
                format!(
                    "cannot read {what} {}: {e}; paths are relative to the config file",
                    full.display()
                ),
            )
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    host: Option<Spanned<String>>,
    #[serde(default)]
    tls: bool,
    data_dir: Option<String>,
    save_interval_secs: Option<u64>,
    token_ttl_secs: Option<u64>,
    #[serde(default)]
    org: Vec<Spanned<RawOrg>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrg {
    name: Spanned<String>,
    port: Option<Spanned<u16>>,
    org_id: Option<Spanned<String>>,
    #[serde(default)]
    schema_files: Vec<Spanned<String>>,
    seed: Option<Spanned<String>>,
    #[serde(default)]
    cdc_objects: Vec<String>,
    /// Pub/Sub: idle seconds before a keepalive FetchResponse (default 270).
    pubsub_keepalive_secs: Option<u64>,
    /// Pub/Sub: hours change events are kept (default 72).
    pubsub_retention_hours: Option<u64>,
    /// Outbound Messaging rules (`[[org.outbound]]`).
    #[serde(default)]
    outbound: Vec<crate::outbound::RuleSpec>,
    /// Platform events (`[[org.platform_events]]`).
    #[serde(default)]
    platform_events: Vec<crate::pubsub::platform::PlatformEventSpec>,
    daily_api_requests: Option<u64>,
    token_ttl_secs: Option<u64>,
    faults: Option<Spanned<RawFaults>>,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    profiles: Vec<RawProfile>,
    #[serde(default)]
    connected_apps: Vec<RawApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    #[serde(default)]
    error_rate: BTreeMap<String, f64>,
    #[serde(default)]
    record_error_rate: BTreeMap<String, f64>,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    offline: bool,
    seed: Option<u64>,
}

/// The 18-character form of a configured org id (15 or 18 chars, `00D…`, valid case checksum).
fn org_id_18(id: &str) -> Option<String> {
    if !id.starts_with("00D") || !sfemu_org::ids::is_well_formed(id) {
        return None;
    }
    sfemu_org::ids::to18(id)
}

impl RawConfig {
    fn validate(self, ctx: &Ctx) -> Result<EmulatorConfig, ConfigError> {
        let host = match &self.host {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(h) => match h.get_ref().parse() {
                Ok(ip) => ip,
                Err(_) => {
                    return ctx.err(
                        Some(h.span()),
                        format!(
                            "host '{}' is not an IP address (use 127.0.0.1 or ::1)",
                            h.get_ref()
                        ),
                    );
                }
            },
        };
        if self.org.is_empty() {
            return ctx.err(
                None,
                "no [[org]] table: add at least one org (see examples/sfemu.toml)",
            );
        }
        let default_ttl = self
            .token_ttl_secs
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_TTL);
        let mut names = HashSet::new();
        let mut ports = HashSet::new();
        let mut ids = HashSet::new();
        let mut orgs = Vec::new();
        for (i, o) in self.org.into_iter().enumerate() {
            let span = o.span();
            let o = o.into_inner();
            let name = o.name.get_ref().trim().to_string();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return ctx.err(Some(o.name.span()), "org name must be non-empty letters, digits, '-' or '_' (it names the data subdirectory)");
            }
            if !names.insert(name.clone()) {
                return ctx.err(
                    Some(o.name.span()),
                    format!("org name '{name}' is used twice; give each org its own name"),
                );
            }
            let port = match &o.port {
                Some(p) => *p.get_ref(),
                None => 8484 + i as u16,
            };
            if port != 0 && !ports.insert(port) {
                return ctx.err(
                    o.port.as_ref().map(|p| p.span()).or(Some(span.clone())),
                    format!("port {port} is used by two orgs; give each org its own port"),
                );
            }
            let mut oc = OrgConfig::new(&name, port);
            oc.token_ttl = o
                .token_ttl_secs
                .map(Duration::from_secs)
                .unwrap_or(default_ttl);
            oc.daily_api_requests = o.daily_api_requests.unwrap_or(DEFAULT_DAILY_API_REQUESTS);
            if let Some(id) = &o.org_id {
                let id18 = org_id(ctx, id)?;
                if !ids.insert(id18.clone()) {
                    return ctx.err(
                        Some(id.span()),
                        "two orgs share this org_id; org ids must differ",
                    );
                }
                oc.spec.org_id = Some(id18);
            }
            for f in &o.schema_files {
                let full = ctx.path(f.get_ref());
                if !full.is_file() {
                    return ctx.err(
                        Some(f.span()),
                        format!(
                            "schema file {} does not exist; paths are relative to the config file",
                            full.display()
                        ),
                    );
                }
                oc.spec.schema_files.push(full);
            }
            if let Some(seed) = &o.seed {
                oc.seed = Some(seed_file(ctx, seed)?);
            }
            oc.spec.cdc_objects = o.cdc_objects;
            if let Some(k) = o.pubsub_keepalive_secs {
                oc.pubsub.keepalive = Duration::from_secs(k.max(1));
            }
            oc.outbound = o.outbound;
            oc.platform_events = o.platform_events;
            if let Some(h) = o.pubsub_retention_hours {
                oc.pubsub.retention = Duration::from_secs(h * 3600);
            }
            if let Some(f) = o.faults {
                oc.faults = faults(ctx, f)?;
            }
            profiles_and_users(ctx, &mut oc, o.profiles, o.users)?;
            connected_apps(ctx, &mut oc, o.connected_apps)?;
            orgs.push(oc);
        }
        Ok(EmulatorConfig {
            host,
            tls: self.tls,
            data_dir: self.data_dir.map(|d| ctx.path(&d)),
            save_interval: Duration::from_secs(self.save_interval_secs.unwrap_or(5).max(1)),
            orgs,
        })
    }
}

fn org_id(ctx: &Ctx, id: &Spanned<String>) -> Result<String, ConfigError> {
    if let Some(id18) = org_id_18(id.get_ref()) {
        return Ok(id18);
    }
    let hint = match id.get_ref().get(..15).and_then(sfemu_org::ids::to18) {
        Some(fixed) if id.get_ref().len() == 18 => {
            format!(" (its case checksum is wrong: did you mean {fixed}?)")
        }
        _ => String::new(),
    };
    ctx.err(
        Some(id.span()),
        format!(
            "org_id '{}' is not a 15- or 18-character id starting with 00D{hint}; remove it to have one generated",
            id.get_ref()
        ),
    )
}

fn seed_file(ctx: &Ctx, seed: &Spanned<String>) -> Result<serde_json::Value, ConfigError> {
    let text = ctx.read(seed, "seed file")?;
    let value: serde_json::Value = serde_json::from_str(&text).or_else(|e| {
        ctx.err(
            Some(seed.span()),
            format!("seed file {} is not JSON: {e}", seed.get_ref()),
        )
    })?;
    if !value.is_object() {
        return ctx.err(
            Some(seed.span()),
            "a seed file holds a JSON object {\"Account\": [{…}], …}",
        );
    }
    Ok(value)
}

fn faults(ctx: &Ctx, f: Spanned<RawFaults>) -> Result<FaultConfig, ConfigError> {
    let span = f.span();
    let f = f.into_inner();
    let fc = FaultConfig {
        error_rate: f.error_rate,
        record_error_rate: f.record_error_rate,
        latency_ms: f.latency_ms,
        offline: f.offline,
        seed: f.seed,
    };
    match fc.validate() {
        Ok(()) => Ok(fc),
        Err(m) => ctx.err(Some(span), format!("faults: {m}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EmulatorConfig, ConfigError> {
        EmulatorConfig::from_toml_str(text, Path::new("/nonexistent/sfemu.toml"))
    }

    #[test]
    fn two_orgs() {
        let c = parse(
            "[[org]]\nname = \"a\"\nport = 9001\norg_id = \"00D000000000001\"\n[[org]]\nname = \"b\"\nport = 9002\ndaily_api_requests = 10\n[org.faults]\nerror_rate = { UNABLE_TO_LOCK_ROW = 0.5 }\n",
        )
        .unwrap();
        assert_eq!(c.orgs.len(), 2);
        assert_eq!(c.orgs[0].spec.org_id.as_deref(), Some("00D000000000001EAA"));
        assert_eq!(c.orgs[1].daily_api_requests, 10);
        assert_eq!(
            c.orgs[1].faults.error_rate.get("UNABLE_TO_LOCK_ROW"),
            Some(&0.5)
        );
        assert_eq!(c.orgs[0].apps[0].consumer_key, "sfemu-client");
    }

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sfemu.toml"));
        let c = EmulatorConfig::from_toml_file(path).unwrap();
        assert_eq!(c.orgs.len(), 2);
        assert_eq!(c.orgs[0].apps[0].run_as, "sync@alpha.test");
        assert_eq!(
            c.orgs[0]
                .security_tokens
                .get("sync@alpha.test")
                .map(String::as_str),
            Some("TOKEN123")
        );
        assert_eq!(c.orgs[1].port, 8485);
        assert_eq!(c.orgs[0].outbound[0].object, "Account");
        assert_eq!(
            c.orgs[0].outbound[0].criteria.as_deref(),
            Some("Industry = 'Energy'")
        );
        assert_eq!(c.orgs[0].pubsub.keepalive.as_secs(), 270);
        assert_eq!(c.orgs[0].platform_events[0].name, "Sync_Signal__e");
        assert_eq!(c.orgs[0].pubsub.retention.as_secs(), 72 * 3600);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("[[org]]\nname = \"a\"\norg_id = \"001bad\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string()
                .starts_with("/nonexistent/sfemu.toml:3: org_id"),
            "{e}"
        );
        let e = parse("[[org]]\nname = \"a\"\nport = 1\n[[org]]\nname = \"b\"\nport = 1\n")
            .unwrap_err();
        assert_eq!(e.line, Some(6));
        let e = parse("[[org]]\nname = \"a\"\nbogus = 1\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = parse("[[org]]\nname = \"a\"\n[[org.users]]\nusername = \"x@y\"\npassword = \"p\"\nprofile = \"Nope\"\n").unwrap_err();
        assert_eq!(e.line, Some(6));
        assert!(parse("").is_err());
    }
}
