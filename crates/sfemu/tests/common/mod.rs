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

/// A partner-API `undelete` envelope: the session header, an optional CallOptions client and
/// AllOrNoneHeader, and the ids.
pub fn undelete_envelope(
    session: &str,
    ids: &[&str],
    client: Option<&str>,
    all_or_none: bool,
) -> String {
    let mut headers =
        format!("<urn:SessionHeader><urn:sessionId>{session}</urn:sessionId></urn:SessionHeader>");
    if let Some(c) = client {
        headers.push_str(&format!(
            "<urn:CallOptions><urn:client>{c}</urn:client></urn:CallOptions>"
        ));
    }
    if all_or_none {
        headers.push_str(
            "<urn:AllOrNoneHeader><urn:allOrNone>true</urn:allOrNone></urn:AllOrNoneHeader>",
        );
    }
    let ids: String = ids
        .iter()
        .map(|i| format!("<urn:ids>{i}</urn:ids>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><env:Header>{headers}</env:Header><env:Body><urn:undelete>{ids}</urn:undelete></env:Body></env:Envelope>"#
    )
}

/// POSTs a SOAP envelope to `/services/Soap/u/{version}`; the status and the body.
pub async fn soap_post(t: &TestOrg, version: &str, body: String) -> (u16, String) {
    let r = t
        .http
        .post(t.url(&format!("/services/Soap/u/{version}")))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "undelete")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// One `result` of an `undeleteResponse`: id (None when nil), success, error status codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndeleteResult {
    pub id: Option<String>,
    pub success: bool,
    pub codes: Vec<String>,
    pub messages: Vec<String>,
}

/// The results of an `undeleteResponse`, and the `LimitInfoHeader`'s `current`.
pub fn undelete_results(xml: &str) -> (Vec<UndeleteResult>, Option<u64>) {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current = None;
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "result" {
                    out.push(UndeleteResult {
                        id: None,
                        success: false,
                        codes: vec![],
                        messages: vec![],
                    });
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(g) => text.push_str(&format!("&{};", g.decode().unwrap())),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                let value = quick_xml::escape::unescape(&text).unwrap().into_owned();
                match (parent, name.as_str()) {
                    (Some("limitInfo"), "current") => current = value.parse().ok(),
                    (Some("result"), "id") => out.last_mut().unwrap().id = Some(value),
                    (Some("result"), "success") => {
                        out.last_mut().unwrap().success = value == "true"
                    }
                    (Some("errors"), "statusCode") => out.last_mut().unwrap().codes.push(value),
                    (Some("errors"), "message") => out.last_mut().unwrap().messages.push(value),
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => return (out, current),
            _ => {}
        }
    }
}

/// The text of the first element named `name` (prefix included in `name` if any).
pub fn xml_text(xml: &str, name: &str) -> String {
    let start = xml
        .find(&format!("<{name}>"))
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + name.len()
        + 2;
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_string()
}
