//! The sync configuration: TOML files validated once, up front, into typed [`Settings`].
//!
//! Why up front: a sync that starts with a bad mapping silently does nothing or writes garbage.
//! Every problem is reported with the file, the line:column and what to do about it, and all
//! problems are reported at once. The key-by-key reference is in `raw.rs`.

mod added;
mod error;
pub mod org_url;
mod raw;
pub mod sample;
mod source;
mod validate;
mod validate_api;
mod validate_monitor;
mod validate_parents;
mod validate_sync;
mod validate_topology;
mod validate_urls;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use added::{ADDED_BACKUP_INTERVAL, ADDED_POLL_INTERVAL};
pub use error::{ConfigError, Problem};
pub use source::Location;
pub use validate::parse_duration;
pub use validate_api::{ApiSettings, PushRate, parse_size};
pub use validate_monitor::{MIN_ADMIN_PASSWORD_LEN, MonitorSettings};
pub use validate_parents::relationship_name;
pub use validate_sync::DEFAULT_GLOBAL_ID_FIELD;

use crate::model::FieldValue;

/// The name of a configured org (`[orgs.<name>]`). Topology, routing and the ledger speak in
/// names; the Salesforce org id ([`crate::model::OrgId`]) is learnt at login.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgName(pub String);

impl OrgName {
    /// The name as written in the config.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for OrgName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for OrgName {
    fn from(s: &str) -> Self {
        OrgName(s.to_string())
    }
}

/// A secret from the config; Debug never prints it, so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// The secret text, for the auth code only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the engine needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The files it came from (base, then profile overlay).
    pub files: Vec<String>,
    /// Orgs in declaration order.
    pub orgs: IndexMap<OrgName, OrgSettings>,
    /// Who sends to whom.
    pub topology: Topology,
    /// One per object, in file order.
    pub syncs: Vec<SyncSettings>,
    /// Service settings.
    pub engine: EngineSettings,
    /// Limits of the push endpoints (`[api]`).
    pub api: ApiSettings,
    /// The Sync Monitor (`[monitor]`); `None`: no dashboard.
    pub monitor: Option<MonitorSettings>,
    /// Source-side object names ordered parents before children (from `parents` with policy
    /// `sync`); the planner writes objects in this order.
    pub object_order: Vec<String>,
}

/// One org.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    /// Its config name.
    pub name: OrgName,
    /// OAuth login URL.
    pub login_url: String,
    /// Flow and credentials.
    pub auth: Auth,
    /// Business role.
    pub role: Role,
    /// Conflict tie-break rank, lower wins.
    pub priority: u32,
    /// e.g. `62.0`.
    pub api_version: String,
    /// Extra trusted CA PEM.
    pub ca_file: Option<PathBuf>,
    /// Pub/Sub API endpoint for change events, when not the default (see `raw.rs`).
    pub pubsub_endpoint: Option<String>,
    /// Whether this org's URLs may name private-network addresses (see `raw.rs`).
    pub allow_private_network: bool,
    /// Extra hosts a login may name as the instance (normalised host names; see `raw.rs`).
    pub instance_hosts: Vec<String>,
    /// Concurrency cap.
    pub max_concurrent_requests: u32,
    /// Budget share for non-urgent work.
    pub budget_share: f64,
    /// Bearer token this org's sender presents to the push API; `None`: it cannot push.
    pub push_token: Option<Secret>,
    /// HMAC key; when set, pushes from this org must be signed.
    pub push_secret: Option<Secret>,
}

/// OAuth flows (see `raw.rs` for each field).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Auth {
    Jwt {
        client_id: String,
        username: String,
        private_key_file: PathBuf,
        audience: Option<String>,
    },
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    RefreshToken {
        client_id: String,
        client_secret: Option<Secret>,
        refresh_token: Secret,
    },
    Password {
        client_id: String,
        client_secret: Secret,
        username: String,
        password: Secret,
        security_token: Option<Secret>,
    },
}

/// The org's part in the business (display only; routing follows the topology).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Role {
    Hub,
    Client,
    Vendor,
    Peer,
}

/// Who sends to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// Two orgs, both ways; `a` is the source side.
    Peer {
        /// Source side.
        a: OrgName,
        /// Target side.
        b: OrgName,
    },
    /// The hub (source side) fans out to every spoke; spokes send to the hub.
    HubAndSpoke {
        /// The hub.
        hub: OrgName,
        /// The spokes (target side).
        spokes: Vec<OrgName>,
    },
    /// A→B→C; the first org is the source side.
    Chain {
        /// In order.
        orgs: Vec<OrgName>,
        /// Also C→B→A.
        bidirectional: bool,
    },
}

impl Topology {
    /// Every org in the topology, source side first.
    pub fn orgs(&self) -> Vec<OrgName> {
        match self {
            Topology::Peer { a, b } => vec![a.clone(), b.clone()],
            Topology::HubAndSpoke { hub, spokes } => std::iter::once(hub.clone())
                .chain(spokes.iter().cloned())
                .collect(),
            Topology::Chain { orgs, .. } => orgs.clone(),
        }
    }

    /// Whether `org` uses the source-side object and field names.
    pub fn is_source_side(&self, org: &OrgName) -> bool {
        self.orgs().first() == Some(org)
    }
}

/// One synced object.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    /// Source-side sObject.
    pub object: String,
    /// Target-side sObject.
    pub target_object: String,
    /// Field pairs.
    pub fields: Vec<FieldMap>,
    /// Set on writes to target-side orgs (target names).
    pub constants: IndexMap<String, FieldValue>,
    /// Row criteria, applied in the capture query (see [`crate::routing::row_criteria`]).
    pub where_clause: Option<String>,
    /// Capture method.
    pub capture: Capture,
    /// Poll interval; for `cdc` and `outbound` the backup poll (`backup_interval`, default
    /// 15 min) that repairs whatever a push missed.
    pub interval: Duration,
    /// Conflict policy.
    pub conflict: ConflictPolicy,
    /// Lookup policies.
    pub parents: Vec<ParentSettings>,
    /// Where the first sync starts.
    pub start: Start,
    /// External-id field holding the global id.
    pub global_id_field: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Whether the records' files (ContentVersion via ContentDocumentLink) follow them.
    pub files: bool,
    /// Its own reconcile schedule: None follows `[engine] reconcile`; `Some(None)` is off.
    pub reconcile: Option<Option<Duration>>,
}

/// A synced field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    /// Source-side API name.
    pub source: String,
    /// Target-side API name.
    pub target: String,
    /// Which way values flow.
    pub direction: Direction,
}

/// Which way a field's values flow between the source side and the target side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both ways.
    Both,
    /// Source side → target side only.
    ToTarget,
    /// Target side → source side only.
    ToSource,
}

/// Capture method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Capture {
    Poll,
    Cdc,
    Outbound,
}

/// How a field changed on two orgs is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Newer commit timestamp wins; ties by org priority.
    LastWriterWins,
    /// The named org's value wins; between two other orgs, last writer wins.
    SourceWins(OrgName),
    /// Keep the current value and record the conflict for a person.
    Manual,
}

/// A lookup field's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentSettings {
    /// The lookup field, source-side name.
    pub field: String,
    /// The lookup field, target-side name.
    pub target_field: String,
    /// The relationship name on the source side (`Account`, `Foo__r`).
    pub source_relationship: String,
    /// The relationship name on the target side.
    pub target_relationship: String,
    /// What to do.
    pub policy: ParentPolicy,
}

/// What to do with a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentPolicy {
    /// The parent is synced; link by its global id.
    Sync {
        /// Parent object, source side.
        object: String,
        /// Parent object, target side.
        target_object: String,
    },
    /// Link to (or create) the target record with the same Name.
    MatchByName {
        /// Parent object, source side.
        object: String,
    },
    /// Link every record to this target id.
    Fixed {
        /// 18-char id.
        id: String,
    },
    /// Leave the lookup unset.
    None,
}

/// Where the first sync of an object starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// All existing records.
    Everything,
    /// Records modified at or after this instant.
    At(DateTime<Utc>),
    /// Records modified within this age of the first run.
    Relative(Duration),
}

/// Where the ledger lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// `[engine]`.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Ledger.
    pub state: StateLocation,
    /// `Sforce-Call-Options: client=` tag.
    pub client_tag: String,
    /// HTTP listen address.
    pub listen: std::net::SocketAddr,
    /// Records per collection call, 1..=200.
    pub batch_size: usize,
    /// Poll look-back overlap.
    pub lookback: Duration,
    /// How often `orgsync run` reconciles (None: never); a sync may override it.
    pub reconcile: Option<Duration>,
}

/// The environment variable naming the profile when `--profile` is not given.
pub const PROFILE_ENV: &str = "ORGSYNC_ENV";

impl Settings {
    /// How often `orgsync run` reconciles `sync`'s object (None: never): its own
    /// `reconcile`, else `[engine] reconcile`.
    pub fn reconcile_every(&self, sync: &SyncSettings) -> Option<Duration> {
        sync.reconcile.unwrap_or(self.engine.reconcile)
    }

    /// The sync of an object, by its source- or target-side name (case-insensitive).
    pub fn sync(&self, object: &str) -> Option<&SyncSettings> {
        self.syncs.iter().find(|s| {
            s.object.eq_ignore_ascii_case(object) || s.target_object.eq_ignore_ascii_case(object)
        })
    }

    /// An org's conflict priority (lower wins ties); unknown orgs rank last.
    pub fn priority(&self, org: &OrgName) -> u32 {
        self.orgs.get(org).map_or(u32::MAX, |o| o.priority)
    }

    /// Load `path`, overlaid with `<stem>.<profile>.toml` beside it when a profile is given
    /// (or set in `ORGSYNC_ENV`), with `${VAR}` taken from the process environment.
    pub fn load(path: &Path, profile: Option<&str>) -> Result<Settings, ConfigError> {
        let env_profile = std::env::var(PROFILE_ENV).ok().filter(|p| !p.is_empty());
        let profile = profile.map(str::to_string).or(env_profile);
        let mut files = vec![(path.display().to_string(), read(path)?)];
        if let Some(p) = profile {
            let overlay = profile_path(path, &p);
            if !overlay.exists() {
                return Err(ConfigError::at(
                    overlay.display().to_string(),
                    None,
                    format!("profile `{p}` was chosen but its file does not exist"),
                    &format!("create {} or choose another profile", overlay.display()),
                ));
            }
            files.push((overlay.display().to_string(), read(&overlay)?));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Self::from_files(&refs, &|v| std::env::var(v).ok())
    }

    /// Parse one configuration text; `name` is used in error messages. Variables come from the
    /// process environment.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, name: &str) -> Result<Settings, ConfigError> {
        Self::from_files(&[(name, text)], &|v| std::env::var(v).ok())
    }

    /// The general form: files in overlay order (base first) and an environment lookup, so
    /// tests and the CLI's `config validate` can supply their own.
    pub fn from_files(
        files: &[(&str, &str)],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        validate::load(files, env)
    }
}

/// The overlay file for a profile: `dir/orgsync.toml` + `prod` → `dir/orgsync.prod.toml`.
pub fn profile_path(base: &Path, profile: &str) -> PathBuf {
    let stem = base
        .file_stem()
        .map_or_else(|| "orgsync".into(), |s| s.to_string_lossy().into_owned());
    base.with_file_name(format!("{stem}.{profile}.toml"))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigError::at(
            path.display().to_string(),
            None,
            format!("cannot read the configuration file: {e}"),
            "check the path given to --config and the file's permissions",
        )
    })
}
