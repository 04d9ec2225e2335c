//! An in-process emulator with CDC on Account and Contact, a password-flow token source, and
//! helpers to read a subscription.

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use sfclient::{AuthFlow, Client, OrgConfig, Record, Secret};
use sfemu::server::{Emulator, EmulatorConfig};
use sfpubsub::{
    ChangeEvent, ConnectOptions, Credentials, PubSubClient, PubSubError, Received, TokenSource,
};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const USER: &str = "admin@sfemu.test";
pub const PASSWORD: &str = "sfemu";
pub const CLIENT_ID: &str = "sfemu-client";
pub const CLIENT_SECRET: &str = "sfemu-secret";
/// The tag our REST writes carry in `Sforce-Call-Options: client=…`.
pub const TAG: &str = "sfpubsub-it";

/// Guard against a hung test (not a timing assertion): every wait on the stream is bounded.
pub const WAIT: Duration = Duration::from_secs(20);

pub type Sub = Pin<Box<dyn Stream<Item = Result<Received, PubSubError>> + Send>>;

pub struct Emu {
    pub emu: Emulator,
    pub base: String,
    pub org_id: String,
    pub ca: Option<String>,
    http: reqwest::Client,
}

/// One org with CDC on Account and Contact.
pub fn config(tls: bool) -> EmulatorConfig {
    let mut cfg = EmulatorConfig::single_org().with_tls(tls);
    for org in &mut cfg.orgs {
        org.spec.cdc_objects = vec!["Account".into(), "Contact".into()];
    }
    cfg
}

pub async fn start(cfg: EmulatorConfig) -> Emu {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = Emulator::start(cfg).await.unwrap();
    let org = &emu.orgs()[0];
    let (base, org_id, ca) = (org.base_url.clone(), org.org_id.clone(), org.ca_pem.clone());
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &ca {
        use rustls_pki_types::pem::PemObject as _;
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
    let emu = Emu {
        emu,
        base,
        org_id,
        ca,
        http: builder.build().unwrap(),
    };
    // Fast keepalives: the first one tells a test its subscription is live.
    emu.control(
        reqwest::Method::PUT,
        "/__sfemu/pubsub",
        Some(json!({"keepaliveMs": 150})),
    )
    .await;
    emu
}

impl Emu {
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    pub async fn expire_tokens(&self) {
        self.control(reqwest::Method::POST, "/__sfemu/tokens/expire", None)
            .await;
    }

    /// REST API requests counted so far.
    pub async fn api_calls(&self) -> u64 {
        self.control(reqwest::Method::GET, "/__sfemu/api-usage", None)
            .await["total"]
            .as_u64()
            .unwrap()
    }

    /// A token source that logs in with the password flow and counts refreshes.
    pub async fn login(&self) -> Arc<PasswordLogin> {
        let me = PasswordLogin {
            http: self.http.clone(),
            base: self.base.clone(),
            org_id: self.org_id.clone(),
            current: Mutex::new(None),
            logins: AtomicUsize::new(0),
        };
        let c = me.fetch().await.unwrap();
        *me.current.lock().unwrap() = Some(c);
        Arc::new(me)
    }

    pub async fn pubsub_with(&self, auth: Arc<dyn TokenSource>) -> PubSubClient {
        let opts = ConnectOptions {
            ca_pem: self.ca.clone(),
            ..Default::default()
        };
        PubSubClient::connect_with(&self.base, auth, opts)
            .await
            .unwrap()
    }

    pub async fn pubsub(&self) -> PubSubClient {
        let auth = self.login().await;
        self.pubsub_with(auth).await
    }

    /// A REST client whose writes carry our client tag.
    pub async fn rest(&self) -> Client {
        let auth = AuthFlow::Password {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::from(CLIENT_SECRET),
            username: USER.into(),
            password: Secret::from(PASSWORD),
        };
        let mut c = OrgConfig::new("it", self.base.clone(), auth);
        c.ca_pem = self.ca.clone();
        c.use_system_roots = false;
        c.client_tag = TAG.into();
        Client::connect(c).await.unwrap()
    }
}

/// Logs in with the OAuth password flow; `refresh` logs in again unless someone already did.
pub struct PasswordLogin {
    http: reqwest::Client,
    base: String,
    org_id: String,
    current: Mutex<Option<Credentials>>,
    pub logins: AtomicUsize,
}

impl PasswordLogin {
    async fn fetch(&self) -> Result<Credentials, PubSubError> {
        self.logins.fetch_add(1, Ordering::SeqCst);
        let form = [
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", USER),
            ("password", PASSWORD),
        ];
        let v: Value = self
            .http
            .post(format!("{}/services/oauth2/token", self.base))
            .form(&form)
            .send()
            .await
            .map_err(|e| PubSubError::Token(e.to_string()))?
            .json()
            .await
            .map_err(|e| PubSubError::Token(e.to_string()))?;
        Ok(Credentials {
            access_token: v["access_token"].as_str().unwrap().to_string(),
            instance_url: v["instance_url"].as_str().unwrap().to_string(),
            tenant_id: self.org_id.clone(),
        })
    }

    /// Logins after the first.
    pub fn refreshes(&self) -> usize {
        self.logins.load(Ordering::SeqCst) - 1
    }
}

impl TokenSource for PasswordLogin {
    fn current(&self) -> BoxFuture<'_, Result<Credentials, PubSubError>> {
        let c = self.current.lock().unwrap().clone();
        Box::pin(async move { c.ok_or_else(|| PubSubError::Token("not logged in".into())) })
    }

    fn refresh<'a>(&'a self, rejected: &'a str) -> BoxFuture<'a, Result<Credentials, PubSubError>> {
        Box::pin(async move {
            let cur = self.current.lock().unwrap().clone();
            if let Some(c) = cur.filter(|c| c.access_token != rejected) {
                return Ok(c);
            }
            let c = self.fetch().await?;
            *self.current.lock().unwrap() = Some(c.clone());
            Ok(c)
        })
    }
}

pub fn rec(v: Value) -> Record {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

pub fn boxed(s: impl Stream<Item = Result<Received, PubSubError>> + Send + 'static) -> Sub {
    Box::pin(s)
}

/// The next item, bounded by [`WAIT`].
pub async fn next(sub: &mut Sub) -> Result<Received, PubSubError> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("the subscription produced nothing")
        .expect("the subscription ended")
}

/// Waits for the first keepalive: the server has placed the subscription.
pub async fn live(sub: &mut Sub) {
    match next(sub).await.unwrap() {
        Received::Keepalive { .. } => {}
        Received::Event(e) => panic!("an event before the subscription was live: {e:?}"),
    }
}

/// The next event, skipping keepalives; bounded by [`WAIT`] as a whole (keepalives keep coming
/// while a stalled stream sends no event).
pub async fn next_event(sub: &mut Sub) -> ChangeEvent {
    let skip_keepalives = async {
        loop {
            match sub.next().await.expect("the subscription ended").unwrap() {
                Received::Event(e) => return *e,
                Received::Keepalive { .. } => {}
            }
        }
    };
    tokio::time::timeout(WAIT, skip_keepalives)
        .await
        .expect("no event arrived")
}

/// Asserts the next item is a keepalive: nothing more was pending, since the server sends one
/// only when it has no event to send (and the stream has credit).
pub async fn expect_idle(sub: &mut Sub) {
    match next(sub).await.unwrap() {
        Received::Keepalive { .. } => {}
        Received::Event(e) => panic!(
            "unexpected event {:?} for {:?}",
            e.header.change_type, e.header.record_ids
        ),
    }
}

/// Creates `n` Accounts, one transaction each; their ids in order.
pub async fn create_accounts(rest: &Client, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            rest.create("Account", &rec(json!({"Name": format!("{prefix} {i}")})))
                .await
                .unwrap(),
        );
    }
    ids
}
