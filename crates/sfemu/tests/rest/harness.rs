//! A running emulator, an access token, and small request helpers over real HTTP.

use serde_json::Value;
use sfemu::server::Emulator;

/// One answer: status, headers, the body as JSON (`Null` when empty or not JSON) and raw bytes.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Resp {
    /// Whether the content type is Salesforce's JSON one.
    pub fn is_sf_json(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("application/json;charset=UTF-8")
    }
}

/// An emulated org with a logged-in client on API v62.0.
pub struct Api {
    _emu: Emulator,
    pub base: String,
    pub org_id: String,
    pub token: String,
    http: reqwest::Client,
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Api {
    pub async fn start() -> Api {
        let t = crate::common::start().await;
        let org_id = t.emu.orgs()[0].org_id.clone();
        Api {
            base: t.base,
            org_id,
            token: t.token,
            http: t.http,
            _emu: t.emu,
        }
    }

    /// Absolute URL: `/services…` and `/__sfemu…` as is, anything else under `/services/data/v62.0`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/services") || path.starts_with("/__sfemu") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/services/data/v62.0{path}", self.base)
        }
    }

    async fn finish(resp: reqwest::Response) -> Resp {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            bytes,
        }
    }

    /// An authenticated request with a JSON body and extra headers.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, self.url(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        Self::finish(rb.send().await.unwrap()).await
    }

    /// An authenticated request with a raw body and content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let rb = self
            .http
            .request(m, self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body);
        Self::finish(rb.send().await.unwrap()).await
    }

    /// An authenticated POST whose body is streamed (chunked, no Content-Length).
    pub async fn post_stream(&self, path: &str, content_type: &str, body: reqwest::Body) -> Resp {
        let rb = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body);
        Self::finish(rb.send().await.unwrap()).await
    }

    /// An authenticated GET answering the raw response (to read a body as a stream).
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.send_with(method, path, body, &[]).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(method_get(), path, None).await
    }

    /// A request without a token.
    pub async fn anon_get(&self, path: &str) -> Resp {
        Self::finish(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    /// A control-surface request (no token).
    pub async fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, self.url(path));
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        Self::finish(rb.send().await.unwrap()).await
    }

    /// Creates one record, returning its id (panics unless 201).
    pub async fn create(&self, object: &str, fields: Value) -> String {
        let r = self
            .send("POST", &format!("/sobjects/{object}"), Some(&fields))
            .await;
        assert_eq!(r.status, 201, "create {object}: {}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Runs a query, returning the first page.
    pub async fn query(&self, soql: &str) -> Resp {
        self.get(&format!("/query?q={}", enc(soql))).await
    }

    /// `SELECT COUNT() FROM …` → the count.
    pub async fn count(&self, soql_from_where: &str) -> u64 {
        let r = self
            .query(&format!("SELECT COUNT() FROM {soql_from_where}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["totalSize"].as_u64().unwrap()
    }
}

fn method_get() -> &'static str {
    "GET"
}
