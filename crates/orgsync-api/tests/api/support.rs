//! Emulated orgs `a` and `b`, a SQLite ledger in a temp dir, the real engine, and the API
//! server on a loopback port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use orgsync_api::Server;
use orgsync_core::{OrgName, Settings};
use orgsync_engine::{Engine, EngineHandle, EngineOptions};
use orgsync_store::{ItemFilter, Page, SqlStore, Store};
use serde_json::{Value, json};
use sfclient::{AuthFlow, Client, OrgConfig, Secret};
use sfemu::server::{Emulator, EmulatorConfig};
use tokio::sync::oneshot;

pub const IDLE: Duration = Duration::from_secs(60);
/// Upper bound of a stop that waits for a request being applied (the server's grace).
pub const GRACE_BOUND: Duration = orgsync_api::SHUTDOWN_GRACE;
pub const TOKEN_A: &str = "token-a-0123456789abcdef";
pub const TOKEN_B: &str = "token-b-0123456789abcdef";
pub const SECRET_A: &str = "secret-a-0123456789abcdef";

pub struct Env {
    pub emu: Emulator,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub engine: Arc<EngineHandle>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// What to configure beyond the two orgs.
pub struct Opts {
    /// Extra keys for `[orgs.a]`.
    pub org_a: String,
    /// The `[[sync]]` table(s).
    pub syncs: String,
    /// Serve right away (false: bind later with [`Env::serve_on`]).
    pub serve: bool,
    /// Extra keys for `[api]`.
    pub api: String,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            org_a: format!("push_token = \"{TOKEN_A}\"\n"),
            syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\n".into(),
            serve: true,
            api: String::new(),
        }
    }
}

pub async fn start(opts: Opts) -> Env {
    let mut cfg = EmulatorConfig::single_org().with_tls(false);
    let template = cfg.orgs[0].clone();
    cfg.orgs = ["a", "b"]
        .iter()
        .map(|n| {
            let mut o = template.clone();
            o.name = n.to_string();
            o.port = 0;
            o.spec.name = n.to_string();
            o.spec.org_id = None;
            o
        })
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = Emulator::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let mut text = String::new();
    for n in ["a", "b"] {
        text.push_str(&format!(
            "[orgs.{n}]\nlogin_url = \"{}\"\nauth = {{ flow = \"password\", client_id = \"sfemu-client\", client_secret = \"sfemu-secret\", username = \"admin@sfemu.test\", password = \"sfemu\" }}\n",
            emu.org(n).unwrap().base_url
        ));
        match n {
            "a" => text.push_str(&opts.org_a),
            _ => text.push_str(&format!("push_token = \"{TOKEN_B}\"\n")),
        }
    }
    text.push_str("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n");
    text.push_str(&opts.syncs);
    text.push_str(&format!(
        "\n[engine]\nstate = \"{}\"\nlookback = \"2s\"\n[api]\nmax_body = \"1MiB\"\noutbound_max_body = \"64KiB\"\n{}",
        db.display(),
        opts.api
    ));
    let settings = Settings::from_str(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let store = SqlStore::open(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let eopts = EngineOptions {
        lease_owner: "test".into(),
        poll_now_on_start: false,
        ..EngineOptions::default()
    };
    let engine = Arc::new(Engine::start(settings, store, eopts).await.unwrap());
    let mut env = Env {
        emu,
        dir,
        http: reqwest::Client::new(),
        engine,
        addr: "127.0.0.1:0".parse().unwrap(),
        stop: None,
        served: None,
    };
    if opts.serve {
        env.serve_on("127.0.0.1:0".parse().unwrap()).await;
    }
    env
}

impl Env {
    /// Start the API server on `addr`.
    pub async fn serve_on(&mut self, addr: SocketAddr) {
        let server = Server::bind(addr, &self.engine.settings().api)
            .await
            .unwrap();
        self.addr = server.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let router = orgsync_api::router(self.engine.clone());
        self.served = Some(tokio::spawn(server.run(router, async {
            let _ = rx.await;
        })));
        self.stop = Some(tx);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn base(&self, org: &str) -> String {
        self.emu.org(org).unwrap().base_url.clone()
    }

    pub fn org_id(&self, org: &str) -> String {
        self.engine
            .org_id(&OrgName::from(org))
            .unwrap()
            .as_str()
            .to_string()
    }

    pub async fn store(&self) -> SqlStore {
        let db = self.dir.path().join("ledger.db");
        SqlStore::open(&format!("sqlite:{}", db.display()))
            .await
            .unwrap()
    }

    /// Every ledger item, as (target, object, global id, state) lines.
    pub async fn ledger(&self) -> Vec<String> {
        let items = self
            .store()
            .await
            .items(&ItemFilter::default(), Page::first(10_000))
            .await
            .unwrap();
        items
            .iter()
            .map(|i| {
                format!(
                    "{:?}",
                    (
                        i.id,
                        &i.work.target,
                        &i.work.global_id,
                        &i.work.op,
                        &i.txn_id,
                        &i.state,
                        &i.field_ts
                    )
                )
            })
            .collect()
    }

    /// Write calls counted by the emulator on both orgs.
    pub async fn writes(&self) -> (u64, u64) {
        (self.writes_on("a").await, self.writes_on("b").await)
    }

    async fn writes_on(&self, org: &str) -> u64 {
        let v: Value = self
            .http
            .get(format!("{}/__sfemu/api-usage", self.base(org)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ["collections", "sobject", "composite", "bulk"]
            .iter()
            .map(|k| v["byKind"][k].as_u64().unwrap_or(0))
            .sum()
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

    /// Work items on `org`: (global id or "", Name), sorted.
    pub async fn work_items(&self, org: &str) -> Vec<(String, String)> {
        let c = self.user(org).await;
        let page = c
            .query_page("SELECT Name, OrgSync_Global_Id__c FROM Work_Item__c", false)
            .await
            .unwrap();
        let mut out: Vec<(String, String)> = page
            .records
            .iter()
            .map(|r| {
                (
                    r["OrgSync_Global_Id__c"].as_str().unwrap_or("").to_string(),
                    r["Name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Stop the server, then the engine.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.served.take() {
            s.await.unwrap().unwrap();
        }
        self.engine.shutdown().await;
    }
}

/// A Salesforce id of Work_Item__c-like shape with a valid checksum (`n` makes it unique).
pub fn fake_id(n: u32) -> String {
    orgsync_core::model::to_id18(&format!("a0X{n:012}")).unwrap()
}

/// A valid push body from `org_id` with records `(externalId, Name)`, each carrying every
/// field of the default sync (`Status__c` "New"), so that the engine needs nothing more from
/// the sending org (a record pushed in part is read back there first; see `attack::partial`).
pub fn push_body(txn: &str, org_id: &str, ts: &str, records: &[(&str, &str)]) -> Value {
    json!({
        "transactionId": txn,
        "sourceOrgId": org_id,
        "timestamp": ts,
        "operation": "upsert",
        "records": records.iter().map(|(x, name)| json!({
            "attributes": {"type": "Work_Item__c"},
            "externalId": x,
            "Name": name,
            "Status__c": "New",
        })).collect::<Vec<_>>(),
    })
}
