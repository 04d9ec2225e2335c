//! The emulator's configuration: `sfemu.toml` (see `examples/sfemu.toml` for every key),
//! validated once into [`EmulatorConfig`]. Errors name the file, the line and what to do.

mod file;
mod identity;

use crate::auth::{ConnectedApp, DEFAULT_TOKEN_TTL, DEFAULT_USERNAME};
use crate::faults::FaultConfig;
use crate::limits::DEFAULT_DAILY_API_REQUESTS;
use sfemu_org::OrgSpec;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration problem: where, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

/// Everything needed to start the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address every org listens on (its port is per org).
    pub host: IpAddr,
    /// Serve HTTPS with a self-signed certificate generated at start.
    pub tls: bool,
    /// Persist each org in `<data_dir>/<org name>/`.
    pub data_dir: Option<PathBuf>,
    /// How often changed orgs are saved (also on shutdown).
    pub save_interval: Duration,
    pub orgs: Vec<OrgConfig>,
}

/// One emulated org.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// Unique name (the data subdirectory, `Emulator::org(name)`).
    pub name: String,
    /// TCP port; 0 = any free port.
    pub port: u16,
    /// Identity, schema, users and profiles, for `sfemu-org`.
    pub spec: OrgSpec,
    pub apps: Vec<ConnectedApp>,
    /// Security tokens per username (accepted appended to the password).
    pub security_tokens: HashMap<String, String>,
    /// Records inserted when the org is created (not when reopened from a data dir).
    pub seed: Option<serde_json::Value>,
    pub daily_api_requests: u64,
    pub faults: FaultConfig,
    pub token_ttl: Duration,
    /// Pub/Sub event retention and keepalive interval.
    pub pubsub: crate::pubsub::BusSettings,
    /// Outbound Messaging rules added at start.
    pub outbound: Vec<crate::outbound::RuleSpec>,
    /// Platform events declared at start.
    pub platform_events: Vec<crate::pubsub::platform::PlatformEventSpec>,
}

impl OrgConfig {
    /// An org with the default schema, user and connected app.
    pub fn new(name: &str, port: u16) -> Self {
        OrgConfig {
            name: name.to_string(),
            port,
            spec: OrgSpec {
                org_id: None,
                name: name.to_string(),
                schema_files: Vec::new(),
                users: Vec::new(),
                profiles: Vec::new(),
                cdc_objects: Vec::new(),
            },
            apps: vec![ConnectedApp::default()],
            security_tokens: HashMap::new(),
            seed: None,
            daily_api_requests: DEFAULT_DAILY_API_REQUESTS,
            faults: FaultConfig::default(),
            token_ttl: DEFAULT_TOKEN_TTL,
            pubsub: crate::pubsub::BusSettings::default(),
            outbound: Vec::new(),
            platform_events: Vec::new(),
        }
    }

    /// Usernames of the org's users (the default admin when none are configured).
    pub fn usernames(&self) -> Vec<String> {
        if self.spec.users.is_empty() {
            vec![DEFAULT_USERNAME.to_string()]
        } else {
            self.spec.users.iter().map(|u| u.username.clone()).collect()
        }
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self::single_org()
    }
}

impl EmulatorConfig {
    /// One org named `sfemu` with the defaults, on an ephemeral loopback port, plain HTTP.
    pub fn single_org() -> Self {
        EmulatorConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tls: false,
            data_dir: None,
            save_interval: Duration::from_secs(5),
            orgs: vec![OrgConfig::new("sfemu", 0)],
        }
    }

    /// HTTPS on or off.
    pub fn with_tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Access-token inactivity timeout of every org.
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.orgs.iter_mut().for_each(|o| o.token_ttl = ttl);
        self
    }

    /// Daily API allocation of every org.
    pub fn with_daily_api_limit(mut self, max: u64) -> Self {
        self.orgs
            .iter_mut()
            .for_each(|o| o.daily_api_requests = max);
        self
    }

    /// Persist orgs under `dir`.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Reads and validates a config file.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Parses config text; `path` names the file in errors and anchors relative paths.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        file::parse(text, path)
    }
}
