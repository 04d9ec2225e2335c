//! The configuration file as written (`orgsync.toml`). These doc comments are the reference for
//! every key; `crates/orgsync-core/examples/orgsync.toml` shows them in use. Unknown keys are
//! rejected so a typo never silently does nothing. Values are checked and turned into
//! [`super::Settings`] by `validate.rs`.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[orgs.<name>]`: every Salesforce org taking part, by a short name of your choice
    /// (letters, digits, `_`, `-`). The name is used in `[topology]`, in conflict policies and
    /// in logs. Declaration order is the default conflict priority (first wins ties).
    #[serde(default)]
    pub orgs: IndexMap<Spanned<String>, Spanned<RawOrg>>,
    /// `[topology]`: which org sends to which.
    pub topology: Option<Spanned<RawTopology>>,
    /// `[[sync]]`: one table per synced object.
    #[serde(default)]
    pub sync: Vec<Spanned<RawSync>>,
    /// `[engine]`: where state lives and how the service runs.
    pub engine: Option<RawEngine>,
    /// `[api]`: limits of the HTTP endpoints that receive pushes (the push API and the
    /// Outbound Messaging listener) on `engine.listen`.
    pub api: Option<RawApi>,
    /// `[monitor]`: the Sync Monitor dashboard on `engine.listen`.
    pub monitor: Option<Spanned<RawMonitor>>,
}

/// `[orgs.<name>]`: one Salesforce org.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrg {
    /// Where to authenticate: `https://login.salesforce.com`, `https://test.salesforce.com`
    /// (sandboxes) or the org's My Domain URL. `http://` is accepted only for loopback hosts
    /// (127.0.0.0/8, `[::1]`, exactly `localhost`: the local emulator); no `user@` part;
    /// private-network addresses only with `allow_private_network` (see `org_url.rs`).
    pub login_url: Spanned<String>,
    /// How to authenticate; `flow` picks the OAuth flow. Put secrets in `${ENV_VAR}`.
    pub auth: Spanned<RawAuth>,
    /// The org's part in the business: `hub`, `client`, `vendor` or `peer` (default). Shown in
    /// status and the dashboard; routing follows `[topology]`.
    pub role: Option<Spanned<String>>,
    /// Conflict tie-breaker: when two orgs changed the same field at the same millisecond, the
    /// org with the LOWER number wins. Default: declaration order (0, 1, 2 …). Must be unique.
    pub priority: Option<Spanned<i64>>,
    /// REST API version used for every call, like `"62.0"` (default).
    pub api_version: Option<Spanned<String>>,
    /// A PEM file with extra CA certificates to trust for this org (a proxy, or the emulator).
    pub ca_file: Option<Spanned<String>>,
    /// Where to reach the Pub/Sub API for `capture = "cdc"` syncs. Default:
    /// `https://api.pubsub.salesforce.com:7443`, or the instance URL itself for a loopback
    /// instance (the emulator). Set `https://api.deu.pubsub.salesforce.com:7443` for orgs on
    /// Hyperforce EU.
    pub pubsub_endpoint: Option<Spanned<String>>,
    /// Let this org's `login_url`, `pubsub_endpoint` and `instance_hosts` name private-network
    /// addresses (10/8, 172.16/12, 192.168/16, 100.64/10, link-local 169.254/16 and fe80::/10,
    /// unique-local fc00::/7, unspecified, broadcast). Default false: such an address in a
    /// config is more often a mistake or an attack than an org behind a private link. Cloud
    /// metadata endpoints (169.254.169.254, fd00:ec2::254, metadata.google.internal) stay
    /// refused even then.
    pub allow_private_network: Option<Spanned<bool>>,
    /// Hosts, besides Salesforce's own domains and the login URL's host, that a login may name
    /// as the org's instance (`instance_url` of the token response, `serverUrl` of SOAP login)
    /// and so receive its access token: e.g. a proxy or gateway in front of the org. Bare host
    /// names, compared exactly, e.g. `["sf-gateway.example.com"]`. Default: none.
    pub instance_hosts: Option<Spanned<Vec<Spanned<String>>>>,
    /// Upper bound on simultaneous API requests to this org (default 10, 1..=25 — Salesforce
    /// limits long-running concurrent requests to 25 per org).
    pub max_concurrent_requests: Option<Spanned<i64>>,
    /// Share of the org's daily API allocation orgsync may use before it stops non-urgent work
    /// (default 0.8, between 0.05 and 1.0). Urgent work (deletes, undeletes, retries an
    /// operator asked for) continues up to 95%.
    pub budget_share: Option<Spanned<f64>>,
    /// The bearer token this org's sender presents to the push API (`POST /api/v1/sync`,
    /// `Authorization: Bearer <token>`). Setting it lets this org push; a request with this
    /// token must carry this org's id as `sourceOrgId`. At least 16 characters, different for
    /// every org; write it as `${ENV_VAR}` and keep it out of the file. Never printed.
    pub push_token: Option<Spanned<String>>,
    /// Optional HMAC-SHA256 key: when set, every push from this org must also carry
    /// `X-OrgSync-Timestamp` (Unix seconds) and `X-OrgSync-Signature: sha256=<hex>` over
    /// `"{timestamp}.{body}"`, within `[api] push_window`. Needs `push_token`. Never printed.
    pub push_secret: Option<Spanned<String>>,
}

/// `auth = { flow = "…", … }`: the OAuth 2.0 flow and its credentials.
#[derive(Debug, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAuth {
    /// JWT bearer flow (recommended for servers): a connected app with a certificate.
    Jwt {
        /// The connected app's consumer key.
        client_id: String,
        /// The integration user's username.
        username: String,
        /// Path to the PEM private key whose certificate is uploaded to the connected app.
        private_key_file: String,
        /// The `aud` claim; default: the login URL's host (login / test / My Domain).
        audience: Option<String>,
    },
    /// Client credentials flow: the connected app runs as its configured execution user.
    ClientCredentials {
        /// The connected app's consumer key.
        client_id: String,
        /// The connected app's consumer secret.
        client_secret: String,
    },
    /// A refresh token obtained once through the web-server flow.
    RefreshToken {
        /// The connected app's consumer key.
        client_id: String,
        /// The consumer secret, when the connected app requires it.
        client_secret: Option<String>,
        /// The refresh token.
        refresh_token: String,
    },
    /// Username-password flow (discouraged; blocked in new orgs by default).
    Password {
        /// The connected app's consumer key.
        client_id: String,
        /// The connected app's consumer secret.
        client_secret: String,
        /// The user's username.
        username: String,
        /// The user's password.
        password: String,
        /// The user's security token, appended to the password when set.
        security_token: Option<String>,
    },
}

/// `[topology]`: who sends to whom.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopology {
    /// `"peer"` (two orgs, both ways), `"hub_and_spoke"` (the hub sends to every spoke, a
    /// spoke sends to the hub, which forwards to the other spokes) or `"chain"` (A→B→C).
    pub kind: Spanned<String>,
    /// `peer`: exactly two org names. `chain`: the orgs in order, at least two.
    pub orgs: Option<Spanned<Vec<Spanned<String>>>>,
    /// `hub_and_spoke`: the hub org's name.
    pub hub: Option<Spanned<String>>,
    /// `hub_and_spoke`: the spoke org names, at least one.
    pub spokes: Option<Spanned<Vec<Spanned<String>>>>,
    /// `chain`: also send changes back up the chain (C→B→A). Default true.
    pub bidirectional: Option<Spanned<bool>>,
}

/// `[[sync]]`: one synced object. The *source side* is the first org of a peer pair or chain,
/// or the hub; every other org is the *target side* and uses `target_object` and the `target`
/// field names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    /// The sObject API name on the source side, e.g. `"Opportunity"` or `"Work_Item__c"`.
    pub object: Spanned<String>,
    /// The sObject API name on the target side (default: same as `object`).
    pub target_object: Option<Spanned<String>>,
    /// The synced fields: a name (same on both sides, both directions) or a table
    /// `{ source = "A__c", target = "B__c", direction = "both" | "to_target" | "to_source" }`.
    /// Lookup fields listed here are handled by `parents`.
    pub fields: Spanned<Vec<Spanned<RawField>>>,
    /// Values set on every write to a target-side org, by target field name, e.g.
    /// `{ Source_System__c = "hub", Synced__c = true }`.
    pub constants: Option<IndexMap<Spanned<String>, Spanned<toml::Value>>>,
    /// Row criteria: a SOQL `WHERE` fragment without the word WHERE, applied when capturing,
    /// e.g. `"StageName != 'Closed Lost' AND Amount > 0"`.
    #[serde(rename = "where")]
    pub where_clause: Option<Spanned<String>>,
    /// How changes are captured: `"poll"` (default), `"cdc"` (Change Data Capture) or
    /// `"outbound"` (Outbound Messaging). Push captures keep a backup poll.
    pub capture: Option<Spanned<String>>,
    /// Poll interval like `"30s"`, `"5m"` (1s to 30m). Default 60s for `poll`; for `cdc` and
    /// `outbound` it is the backup poll and defaults to 15m (prefer `backup_interval` there).
    pub interval: Option<Spanned<String>>,
    /// For `capture = "cdc"` or `"outbound"`: how often the safety-net poll runs beside the
    /// pushed changes, repairing whatever a push missed (default `"15m"`, 1s to 24h). Not
    /// allowed with `poll` (use `interval`), nor together with `interval`. For `outbound`,
    /// the org needs an Outbound Message on this object whose endpoint is
    /// `https://<this service>/outbound/<org name>`, sending at least `Id`; orgsync re-reads
    /// the record, so the message's other fields do not matter.
    pub backup_interval: Option<Spanned<String>>,
    /// How often `orgsync run` reconciles this object (a quick pass, repairs queued):
    /// `"24h"`, `"6h"`, … (1m to 30d) or `"off"`. Default: `[engine] reconcile`.
    pub reconcile: Option<Spanned<String>>,
    /// Conflict policy for a field changed on two orgs: `"last_writer_wins"` (default; ties
    /// broken by org priority), `"source_wins:<org>"`, or `"manual"` (keep the current value,
    /// record the conflict for review).
    pub conflict: Option<Spanned<String>>,
    /// Policy per lookup field.
    #[serde(default)]
    pub parents: Vec<Spanned<RawParent>>,
    /// Where the first sync starts: `"everything"` (default), a datetime like
    /// `"2018-08-25T11:00:00.000Z"`, or a relative age like `"7d"`, `"12h"`.
    pub start: Option<Spanned<String>>,
    /// The external-id field holding the global id on every org (default
    /// `OrgSync_Global_Id__c`); it must be unique and an external id.
    pub global_id_field: Option<Spanned<String>>,
    /// Set false to keep the definition but not sync (status Paused). Default true.
    pub enabled: Option<bool>,
    /// Sync the files attached to the records too: every ContentVersion whose ContentDocument
    /// is linked (ContentDocumentLink) to a synced record, with its links' ShareType and
    /// Visibility. Default false. ContentVersion needs the same global-id field.
    pub files: Option<Spanned<bool>>,
}

/// One entry of `fields`.
#[derive(Debug)]
pub enum RawField {
    /// Same name on both sides, both directions.
    Same(String),
    /// A mapped field.
    Mapped(RawFieldMap),
}

/// `{ source = …, target = …, direction = … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFieldMap {
    /// The field's API name on the source side.
    pub source: String,
    /// The field's API name on the target side (default: same as `source`).
    pub target: Option<String>,
    /// `"both"` (default), `"to_target"` (source side → target side only) or `"to_source"`.
    pub direction: Option<String>,
}

impl<'de> Deserialize<'de> for RawField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name or a table { source = \"…\", target = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawField, E> {
                Ok(RawField::Same(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawField, A::Error> {
                RawFieldMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawField::Mapped)
            }
        }
        d.deserialize_any(V)
    }
}

/// `parents = [{ field = "AccountId", policy = "sync", object = "Account" }]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParent {
    /// The lookup field (source-side name); it must be listed in `fields`.
    pub field: Spanned<String>,
    /// `"sync"`: the parent is synced by its own `[[sync]]` and the lookup is set by the
    /// parent's global id. `"match_by_name"`: link to the target record with the same Name,
    /// creating it when missing (the MuleSoft template's `syncAccount`). `"fixed"`: link every
    /// record to `fixed_id`. `"none"`: do not set the lookup.
    pub policy: Spanned<String>,
    /// The parent sObject (source-side name). Required for `sync` and `match_by_name`.
    pub object: Option<Spanned<String>>,
    /// `fixed`: the target org's record id to link to.
    pub fixed_id: Option<Spanned<String>>,
    /// The relationship name used to set the lookup by external id on the target side.
    /// Default: `AccountId` → `Account`, `Foo__c` → `Foo__r`.
    pub relationship_name: Option<Spanned<String>>,
}

/// `[engine]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// The ledger: a SQLite file path (default `orgsync.db`) or `postgres://user@host/db`.
    pub state: Option<Spanned<String>>,
    /// The `client=` tag sent in `Sforce-Call-Options` on every write (default `orgsync`); a
    /// CDC event carrying it is our own echo. Letters, digits, `_` and `-` only.
    pub client_tag: Option<Spanned<String>>,
    /// Address of the HTTP API, dashboard and metrics (default `127.0.0.1:8686`).
    pub listen: Option<Spanned<String>>,
    /// Records per sObject Collections call (default and maximum 200).
    pub batch_size: Option<Spanned<i64>>,
    /// Poll look-back overlap, re-reading this much before the watermark so late commits are
    /// not skipped (default `"5s"`, at most `"10m"`).
    pub lookback: Option<Spanned<String>>,
    /// How often `orgsync run` reconciles every synced object (a quick pass, repairs queued):
    /// `"24h"` (default), 1m to 30d, or `"off"`. A sync's own `reconcile` overrides it.
    pub reconcile: Option<Spanned<String>>,
}

/// `[api]`: limits of the endpoints that receive pushes. They are served on `engine.listen`
/// by `orgsync run` when some org has a `push_token` or some sync uses `capture = "outbound"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// How far a signed push's `X-OrgSync-Timestamp` may be from our clock, either way
    /// (default `"300s"`, 10s to 1h). Older requests are refused as replays.
    pub push_window: Option<Spanned<String>>,
    /// Largest push API body (default `"5MiB"`; 1KiB to 100MiB; bytes as an integer or with
    /// a unit B, KB, KiB, MB, MiB). Larger bodies get 413 without being read.
    pub max_body: Option<Spanned<toml::Value>>,
    /// Largest Outbound Messaging body (default `"1MiB"`, same form and bounds). Salesforce
    /// sends at most 100 notifications per message.
    pub outbound_max_body: Option<Spanned<toml::Value>>,
    /// Most records in one push (default 200, 1 to 10000); more is a 413 naming the cap.
    pub max_records: Option<Spanned<i64>>,
    /// Sustained pushes per org, as requests per `s`, `min` or `h` (default `"600/h"`); above
    /// it (and the burst) a push gets 429 with `Retry-After`.
    pub push_rate: Option<Spanned<String>>,
    /// Pushes an org may send at once above `push_rate` (default 60, 1 to 10000).
    pub push_burst: Option<Spanned<i64>>,
    /// A request's headers must be complete within this time of the connection opening or
    /// of the previous response (so also the keep-alive idle limit); default `"10s"`, 100ms
    /// to 5m. The connection is closed after it.
    pub header_timeout: Option<Spanned<String>>,
    /// A request's whole body must arrive within this time (default `"30s"`, 100ms to 10m);
    /// after it the request gets 408 and the connection is closed.
    pub body_timeout: Option<Spanned<String>>,
    /// Connections served at once (default 256, 1 to 65536); one more is answered 503 at
    /// once and closed.
    pub max_connections: Option<Spanned<i64>>,
}

/// `[monitor]`: the Sync Monitor, a dashboard served by `orgsync run` on `engine.listen`
/// (with `/metrics` and `/healthz`). Without this table no dashboard is served.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    /// The password of the dashboard's login form (at least 12 characters). Write it as
    /// `"${ORGSYNC_ADMIN_PASSWORD}"` and keep it out of the file. Never printed or logged.
    pub admin_password: Option<Spanned<String>>,
}
