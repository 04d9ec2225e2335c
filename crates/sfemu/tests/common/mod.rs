//! Shared helpers of sfemu's integration tests: start an in-process emulator on loopback and
//! get a reqwest client and an access token.
//!
//! ```ignore
//! mod common;
//! let t = common::start().await;                         // one default org, plain HTTP
//! let r = t.get("/sobjects/Account/describe").await;     // GET {base}/services/data/v66.0/…
//! let r = t.http.post(t.data("/sobjects/Account")).bearer_auth(&t.token).json(&body).send().await?;
//! t.shutdown().await;
//! ```
#![allow(dead_code, clippy::unwrap_used)]

pub use sfemu::server::{Emulator, EmulatorConfig, RunningOrg};

/// API version the helpers put in data URLs.
pub const VERSION: &str = "66.0";
pub const CLIENT_ID: &str = "sfemu-client";
pub const CLIENT_SECRET: &str = "sfemu-secret";
pub const USERNAME: &str = "admin@sfemu.test";
pub const PASSWORD: &str = "sfemu";

/// A running emulator, a client for its first org, and a token of the default admin.
#[derive(Debug)]
pub struct TestOrg {
    pub emu: Emulator,
    /// Base URL of the first org (`http://127.0.0.1:PORT`).
    pub base: String,
    pub http: reqwest::Client,
    /// Access token of `admin@sfemu.test` (password grant).
    pub token: String,
}

/// Installs rustls's ring provider (reqwest is built without one).
pub fn init() {
    sfemu::tls::install_ring_provider();
}

/// Starts one default org.
pub async fn start() -> TestOrg {
    start_with(EmulatorConfig::single_org()).await
}

/// Starts `config` and logs in to its first org.
pub async fn start_with(config: EmulatorConfig) -> TestOrg {
    init();
    let emu = Emulator::start(config).await.unwrap();
    let org = &emu.orgs()[0];
    let base = org.base_url.clone();
    let http = client_for(org);
    let token = password_token(&http, &base).await;
    TestOrg {
        emu,
        base,
        http,
        token,
    }
}

/// A client for `org`, trusting its self-signed certificate when it serves TLS.
pub fn client_for(org: &RunningOrg) -> reqwest::Client {
    init();
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &org.ca_pem {
        b = b.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]);
    }
    b.build().unwrap()
}

/// An access token for the default admin through the password grant.
pub async fn password_token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", USERNAME),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "password grant failed");
    let body: serde_json::Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

impl TestOrg {
    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `{base}/services/data/v66.0{path}`.
    pub fn data(&self, path: &str) -> String {
        format!("{}/services/data/v{VERSION}{path}", self.base)
    }

    /// Authenticated GET of a data path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.data(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// The first org.
    pub fn org(&self) -> &RunningOrg {
        &self.emu.orgs()[0]
    }

    /// Stops the emulator (saving orgs with a data dir).
    pub async fn shutdown(self) {
        self.emu.shutdown().await;
    }
}

/// JSON body of a response.
pub async fn json(r: reqwest::Response) -> serde_json::Value {
    r.json().await.unwrap()
}
