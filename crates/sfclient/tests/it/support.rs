//! Starting an in-process emulator and driving its control surface.

use serde_json::{Value, json};
use sfclient::{AuthFlow, Client, OrgConfig, Record, RetryPolicy, Secret};
use sfemu::server::{Emulator, EmulatorConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const USER: &str = "admin@sfemu.test";
pub const PASSWORD: &str = "sfemu";
pub const CLIENT_ID: &str = "sfemu-client";
pub const CLIENT_SECRET: &str = "sfemu-secret";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A running emulator with one org.
pub struct Emu {
    pub emu: Emulator,
    pub base: String,
    pub ca: Option<String>,
    http: reqwest::Client,
}

/// The default test config: one org, our test schema, JWT certificate on the default app.
pub fn config(tls: bool) -> EmulatorConfig {
    let mut cfg = EmulatorConfig::single_org().with_tls(tls);
    let cert_pem = std::fs::read(fixture("jwt-cert.pem")).unwrap();
    let der = rustls_pki_types::CertificateDer::pem_slice_iter(&cert_pem)
        .next()
        .unwrap()
        .unwrap();
    for org in &mut cfg.orgs {
        org.spec.schema_files.push(fixture("schema.toml"));
        for app in &mut org.apps {
            app.certificate_der = Some(der.to_vec());
        }
    }
    cfg
}

use rustls_pki_types::pem::PemObject as _;

pub async fn start(cfg: EmulatorConfig) -> Emu {
    let emu = Emulator::start(cfg).await.unwrap();
    let org = &emu.orgs()[0];
    let base = org.base_url.clone();
    let ca = org.ca_pem.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &ca {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        builder = builder.tls_backend_preconfigured(tls);
    }
    Emu {
        emu,
        base,
        ca,
        http: builder.build().unwrap(),
    }
}

pub async fn start_default() -> Emu {
    start(config(false)).await
}

pub fn password_flow() -> AuthFlow {
    AuthFlow::Password {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::from(CLIENT_SECRET),
        username: USER.into(),
        password: Secret::from(PASSWORD),
    }
}

impl Emu {
    pub fn org_config(&self, auth: AuthFlow) -> OrgConfig {
        let mut c = OrgConfig::new("test-org", self.base.clone(), auth);
        c.ca_pem = self.ca.clone();
        c.use_system_roots = false;
        c.retry = RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        };
        c
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.org_config(password_flow()))
            .await
            .unwrap()
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let bytes = resp.bytes().await.unwrap();
        if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        }
    }

    /// `{"total","max","remaining","byKind":{…}}`.
    pub async fn usage(&self) -> Value {
        self.control(reqwest::Method::GET, "/__sfemu/api-usage", None)
            .await
    }

    pub async fn calls(&self) -> u64 {
        self.usage().await["total"].as_u64().unwrap()
    }

    pub async fn reset_usage(&self) {
        self.control(reqwest::Method::POST, "/__sfemu/api-usage/reset", None)
            .await;
    }

    pub async fn faults(&self, faults: Value) {
        self.control(reqwest::Method::PUT, "/__sfemu/faults", Some(faults))
            .await;
    }

    pub async fn clear_faults(&self) {
        self.control(reqwest::Method::DELETE, "/__sfemu/faults", None)
            .await;
    }

    pub async fn expire_tokens(&self) {
        self.control(reqwest::Method::POST, "/__sfemu/tokens/expire", None)
            .await;
    }

    pub async fn set_limits(&self, body: Value) {
        self.control(reqwest::Method::PUT, "/__sfemu/limits", Some(body))
            .await;
    }
}

/// A record from a JSON literal.
pub fn rec(v: Value) -> Record {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// `n` Work_Item__c records keyed `prefix-i`.
pub fn work_items(prefix: &str, n: usize) -> Vec<Record> {
    (0..n).map(|i| rec(json!({"Name": format!("{prefix} {i}"), "OrgSync_Global_Id__c": format!("{prefix}-{i}"), "Estimate_Hours__c": i as f64 / 4.0}))).collect()
}

impl Emu {
    /// The change log (`/__sfemu/changes`).
    pub async fn changes(&self) -> Vec<Value> {
        let v = self
            .control(
                reqwest::Method::GET,
                "/__sfemu/changes?after=0&max=100000",
                None,
            )
            .await;
        v["changes"].as_array().cloned().unwrap_or_default()
    }
}
