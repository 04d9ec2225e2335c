//! A running emulator with several orgs, a SQLite ledger in a temp dir, and helpers to edit
//! records on an org (as a user, not as orgsync) and read them back.

use std::path::PathBuf;
use std::time::Duration;

use orgsync_core::Settings;
use orgsync_engine::{Engine, EngineHandle, EngineOptions};
use orgsync_store::SqlStore;
use serde_json::{Value, json};
use sfclient::{AuthFlow, Client, OrgConfig, Record, Secret};
use sfemu::server::{Emulator, EmulatorConfig};

pub const IDLE: Duration = Duration::from_secs(60);

pub struct Env {
    pub emu: Emulator,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

#[allow(dead_code)]
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

/// Start one emulated org per name; `schema(name)` adds schema files to that org.
pub async fn start(names: &[&str], schema: impl Fn(&str) -> Vec<PathBuf>) -> Env {
    // `RUST_LOG=orgsync_engine=debug cargo nextest run … --no-capture` shows the engine's log
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut cfg = EmulatorConfig::single_org().with_tls(false);
    let template = cfg.orgs[0].clone();
    cfg.orgs = names
        .iter()
        .map(|n| {
            let mut o = template.clone();
            o.name = n.to_string();
            o.port = 0;
            o.spec.name = n.to_string();
            o.spec.org_id = None;
            o.spec.schema_files = schema(n);
            // change events for the synced objects (used by `capture = "cdc"` syncs only)
            o.spec.cdc_objects = vec!["Work_Item__c".into(), "Account".into()];
            o
        })
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = Emulator::start(cfg).await.unwrap();
    Env {
        emu,
        dir: tempfile::tempdir().unwrap(),
        http: reqwest::Client::new(),
    }
}

impl Env {
    pub fn base(&self, org: &str) -> String {
        self.emu.org(org).unwrap().base_url.clone()
    }

    /// The orgsync config: orgs + `rest` (topology and syncs).
    pub fn settings(&self, names: &[&str], rest: &str) -> Settings {
        let mut text = String::new();
        for n in names {
            text.push_str(&format!(
                "[orgs.{n}]\nlogin_url = \"{}\"\nrole = \"peer\"\nauth = {{ flow = \"password\", client_id = \"sfemu-client\", client_secret = \"sfemu-secret\", username = \"admin@sfemu.test\", password = \"sfemu\" }}\n\n",
                self.base(n)
            ));
        }
        let db = self.dir.path().join("ledger.db");
        text.push_str(rest);
        text.push_str(&format!(
            "\n[engine]\nstate = \"{}\"\nlookback = \"2s\"\n",
            db.display()
        ));
        Settings::from_str(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn store(&self) -> SqlStore {
        let db = self.dir.path().join("ledger.db");
        SqlStore::open(&format!("sqlite:{}", db.display()))
            .await
            .unwrap()
    }

    pub async fn engine(&self, settings: Settings) -> EngineHandle {
        let opts = EngineOptions {
            lease_owner: "test".into(),
            ..EngineOptions::default()
        };
        Engine::start(settings, self.store().await, opts)
            .await
            .unwrap()
    }

    /// A user's client on `org` (tag `test`, so its writes are not orgsync's).
    pub async fn user(&self, org: &str) -> Client {
        let auth = AuthFlow::Password {
            client_id: "sfemu-client".into(),
            client_secret: Secret::from("sfemu-secret"),
            username: "admin@sfemu.test".into(),
            password: Secret::from("sfemu"),
        };
        let mut cfg = OrgConfig::new(org, self.base(org), auth);
        cfg.client_tag = "test".into();
        cfg.use_system_roots = false;
        Client::connect(cfg).await.unwrap()
    }

    /// The emulator's API call counters of `org` (`total`, `byKind`).
    pub async fn usage(&self, org: &str) -> Value {
        self.http
            .get(format!("{}/__sfemu/api-usage", self.base(org)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Write calls (collections, sobject, composite) counted by the emulator on `org`.
    pub async fn writes(&self, org: &str) -> u64 {
        let v = self.usage(org).await;
        ["collections", "sobject", "composite", "bulk"]
            .iter()
            .map(|k| v["byKind"][k].as_u64().unwrap_or(0))
            .sum()
    }

    /// Restore a record from the recycle bin (Salesforce does this through SOAP or the UI).
    #[allow(dead_code)]
    pub async fn undelete(&self, org: &str, id: &str) {
        self.dml_direct(org, sfemu_org::DmlOp::Undelete { id: id.into() })
            .await;
    }

    /// Run one DML operation inside the emulated org as its first user (client `test`),
    /// bypassing its HTTP faults.
    async fn dml_direct(&self, org: &str, op: sfemu_org::DmlOp) {
        let running = self.emu.org(org).unwrap();
        let user = self
            .user(org)
            .await
            .query_page("SELECT Id FROM User LIMIT 1", false)
            .await
            .unwrap()
            .records[0]["Id"]
            .as_str()
            .unwrap()
            .to_string();
        let caller = sfemu_org::Caller {
            user_id: user,
            api: "rest".into(),
            api_version: "62.0".into(),
            client: Some("test".into()),
        };
        let r = running.state.org.apply(&caller, vec![op], false);
        assert!(r[0].is_ok(), "{r:?}");
    }
}

pub fn rec(v: Value) -> Record {
    v.as_object().unwrap().clone()
}

/// Create a record as a user; returns its id.
pub async fn create(c: &Client, object: &str, fields: Value) -> String {
    c.create(object, &rec(fields)).await.unwrap()
}

pub async fn update(c: &Client, object: &str, id: &str, fields: Value) {
    c.update(object, id, &rec(fields)).await.unwrap()
}

/// Every live record of `object` on an org, by global id (or own id when it has none):
/// the given fields.
pub async fn snapshot(c: &Client, object: &str, fields: &[&str]) -> Vec<Value> {
    let org_id = c
        .identity_url()
        .await
        .unwrap()
        .and_then(|u| u.rsplit('/').nth(1).map(str::to_string))
        .unwrap();
    let soql = format!(
        "SELECT Id, OrgSync_Global_Id__c, {} FROM {object}",
        fields.join(", ")
    );
    let page = c.query_page(&soql, false).await.unwrap();
    let mut out: Vec<Value> = page
        .records
        .iter()
        .map(|r| {
            let gid = r["OrgSync_Global_Id__c"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    let id = r["Id"].as_str().unwrap();
                    orgsync_core::GlobalId::new(org_id.parse().unwrap(), id)
                        .unwrap()
                        .to_string()
                });
            let mut o = json!({ "gid": gid });
            for f in fields {
                o[*f] = r[*f].clone();
            }
            o
        })
        .collect();
    out.sort_by(|a, b| a["gid"].as_str().cmp(&b["gid"].as_str()));
    out
}

/// Wait until `check` holds (polling every 20 ms), or panic after `IDLE`. For paths where
/// `EngineHandle::wait_idle` cannot be used because it polls (change-event tests).
#[allow(dead_code)]
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + IDLE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Env {
    /// API calls of one kind (`query`, `collections`, …) counted by the emulator on `org`.
    #[allow(dead_code)]
    pub async fn calls(&self, org: &str, kind: &str) -> u64 {
        self.usage(org).await["byKind"][kind].as_u64().unwrap_or(0)
    }

    /// POST to the emulator's control surface of `org`.
    #[allow(dead_code)]
    pub async fn control(&self, org: &str, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}/__sfemu/{path}", self.base(org)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
}

/// Wait until `check` holds, polling every 50 ms, or panic after `limit` (for waits longer
/// than [`IDLE`], such as a circuit's one-minute open period).
#[allow(dead_code)]
pub async fn eventually_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The local id on `c` of the record whose global id ends with `origin_id` (its first id).
#[allow(dead_code)]
pub async fn local_id(c: &Client, object: &str, origin_id: &str) -> Option<String> {
    let rows = c
        .query_page(
            &format!("SELECT Id FROM {object} WHERE OrgSync_Global_Id__c LIKE '%{origin_id}'"),
            false,
        )
        .await
        .unwrap();
    rows.records
        .first()
        .and_then(|r| r["Id"].as_str())
        .map(str::to_string)
}

impl Env {
    /// The orgsync config like [`Env::settings`], with extra lines for some orgs' tables
    /// (`budget_share = 0.8`).
    #[allow(dead_code)]
    pub fn settings_with(&self, names: &[&str], extra: &[(&str, &str)], rest: &str) -> Settings {
        let mut s = self.settings(names, rest);
        for (org, line) in extra {
            if let Some(share) = line.strip_prefix("budget_share = ") {
                let o = s
                    .orgs
                    .get_mut(&orgsync_core::OrgName((*org).into()))
                    .unwrap();
                o.budget_share = share.trim().parse().unwrap();
            } else {
                panic!("unsupported extra line {line}");
            }
        }
        s
    }

    /// Replace the faults of `org` (`PUT /__sfemu/faults`).
    #[allow(dead_code)]
    pub async fn faults(&self, org: &str, body: Value) {
        let r = self
            .http
            .put(format!("{}/__sfemu/faults", self.base(org)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "faults: {}", r.status());
    }

    /// Set the daily allocation and/or the calls already used on `org`.
    #[allow(dead_code)]
    pub async fn limits(&self, org: &str, body: Value) {
        let r = self
            .http
            .put(format!("{}/__sfemu/limits", self.base(org)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "limits: {}", r.status());
    }

    /// Items in the ledger matching `filter` (first 10,000).
    #[allow(dead_code)]
    pub async fn items(&self, filter: orgsync_store::ItemFilter) -> Vec<orgsync_store::Item> {
        let store = self.store().await;
        let mut out = Vec::new();
        let mut page = orgsync_store::Page::first(1000);
        loop {
            let got = orgsync_store::Store::items(&store, &filter, page)
                .await
                .unwrap();
            let Some(last) = got.last() else { break };
            page.after = last.id.0;
            out.extend(got);
            if out.len() >= 10_000 {
                break;
            }
        }
        out
    }

    /// Items in state `state`.
    #[allow(dead_code)]
    pub async fn in_state(&self, state: orgsync_store::ItemState) -> Vec<orgsync_store::Item> {
        self.items(orgsync_store::ItemFilter {
            state: Some(state),
            ..Default::default()
        })
        .await
    }

    /// Every conflict the ledger recorded (first 100).
    #[allow(dead_code)]
    pub async fn conflicts(&self) -> Vec<orgsync_store::ConflictRow> {
        orgsync_store::Store::conflicts(&self.store().await, None, orgsync_store::Page::first(100))
            .await
            .unwrap()
    }

    /// Delete a record inside the emulated org, bypassing its HTTP faults.
    #[allow(dead_code)]
    pub async fn delete_direct(&self, org: &str, id: &str) {
        self.dml_direct(org, sfemu_org::DmlOp::Delete { id: id.into() })
            .await;
    }
}

impl Env {
    /// Pause or resume `object`'s sync (the ledger's settings overlay, as the Sync Monitor
    /// does) and wait until its legs show it.
    #[allow(dead_code)]
    pub async fn switch_sync(&self, object: &str, on: bool) {
        use orgsync_store::{NewAudit, Store, SyncOverride, SyncStatus};
        let store = self.store().await;
        let mut o = SyncOverride::new(object, chrono::Utc::now(), "test");
        o.enabled = Some(on);
        let audit = NewAudit::new(chrono::Utc::now(), "admin.sync.set");
        store.put_sync_override(&o, audit).await.unwrap();
        eventually(&format!("{object} switched"), || async {
            let rows = store.syncs().await.unwrap();
            rows.iter()
                .filter(|r| r.object == object)
                .all(|r| (r.status == SyncStatus::Paused) != on)
        })
        .await;
    }
}
