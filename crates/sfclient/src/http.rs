//! Sending one REST request: token, concurrency slot, call options, limit info, error mapping,
//! the single token refresh on 401, and in-client retries for idempotent calls.

use crate::auth::Token;
use crate::client::Client;
use crate::error::{ApiError, ErrorKind, SfError};
use backon::{ExponentialBuilder, Retryable as _};
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// Characters escaped in one URL path segment (an external id value may hold `/`, `?`, `#`…).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Escapes one path segment.
pub(crate) fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Relative to `/services/data/vXX.X` (starts with `/`).
    Data(String),
    /// A server-relative path Salesforce handed us (`nextRecordsUrl`).
    Absolute(String),
}

/// One REST request, kept whole so it can be sent again (after a refresh or a retry).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub target: Target,
    pub query: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub query_options: bool,
    /// A `/limits` probe: may use the reserve below the budget's ceiling.
    pub probe: bool,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            target: Target::Data(path.into()),
            query: Vec::new(),
            body: None,
            query_options: false,
            probe: false,
        }
    }

    pub fn absolute(path: impl Into<String>) -> Self {
        Request {
            method: Method::GET,
            target: Target::Absolute(path.into()),
            query: Vec::new(),
            body: None,
            query_options: true,
            probe: false,
        }
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self, SfError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| SfError::Config(format!("request body: {e}")))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Client {
    /// Sends `rb` and learns the org's API usage from the answer's `Sforce-Limit-Info`
    /// (every REST answer carries it, errors included).
    pub(crate) async fn send_observed(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SfError> {
        let resp = rb
            .send()
            .await
            .map_err(|e| SfError::from_reqwest(self.org(), &e))?;
        if let Some(info) = resp
            .headers()
            .get("Sforce-Limit-Info")
            .and_then(|v| v.to_str().ok())
        {
            self.inner.budget.observe(info);
        }
        Ok(resp)
    }

    /// Sends a request; retries it on retryable errors when `idempotent`.
    pub(crate) async fn call(&self, req: &Request, idempotent: bool) -> Result<Response, SfError> {
        self.with_retries(idempotent, || self.send(req)).await
    }

    /// Runs `op` again on retryable errors (with backoff) when `idempotent`.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        idempotent: bool,
        op: F,
    ) -> Result<T, SfError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SfError>>,
    {
        let policy = self.inner.config.retry;
        let mut op = op;
        if !idempotent || policy.max_retries == 0 {
            return op().await;
        }
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        op.retry(backoff)
            .when(|e: &SfError| e.kind() == ErrorKind::Retryable)
            .notify(|e: &SfError, after| tracing::debug!(org = %self.org(), error = %e, ?after, "retrying"))
            .await
    }

    /// Sends and decodes a JSON answer.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        req: &Request,
        idempotent: bool,
    ) -> Result<T, SfError> {
        let resp = self.call(req, idempotent).await?;
        self.decode(&resp)
    }

    pub(crate) fn decode<T: DeserializeOwned>(&self, resp: &Response) -> Result<T, SfError> {
        serde_json::from_slice(&resp.body).map_err(|e| SfError::Protocol {
            org: self.org().to_owned(),
            status: resp.status,
            message: format!("undecodable body: {e}"),
        })
    }

    /// One send, with exactly one token refresh + resend when the session is invalid. Held at
    /// the budget's ceiling (a `/limits` probe may use the reserve below it).
    async fn send(&self, req: &Request) -> Result<Response, SfError> {
        self.with_session(
            req.probe,
            |token| async move { self.attempt(req, &token).await },
        )
        .await
    }

    /// Runs one attempt of a call under the org's concurrency cap and budget ceiling (`probe`:
    /// a `/limits` probe may use the reserve below it) with the current token; when the session
    /// is rejected, exactly one token refresh (shared with every other caller) and one more
    /// attempt. Every protocol authenticated by the session goes through here.
    pub(crate) async fn with_session<T, F, Fut>(
        &self,
        probe: bool,
        attempt: F,
    ) -> Result<T, SfError>
    where
        F: Fn(Arc<Token>) -> Fut,
        Fut: Future<Output = Result<T, SfError>>,
    {
        let _slot = self.inner.budget.acquire(probe).await;
        let (generation, token) = self.inner.tokens.get().await?;
        match attempt(token).await {
            Err(e) if e.is_invalid_session() => {
                tracing::debug!(org = %self.org(), "session invalid; refreshing the token");
                let (_, token) = self.inner.tokens.refresh(Some(generation)).await?;
                attempt(token).await
            }
            other => other,
        }
    }

    async fn attempt(&self, req: &Request, token: &Token) -> Result<Response, SfError> {
        let cfg = &self.inner.config;
        let url = match &req.target {
            Target::Data(path) => format!(
                "{}/services/data/v{}{}",
                token.instance_url, cfg.api_version, path
            ),
            Target::Absolute(path) => format!("{}{}", token.instance_url, path),
        };
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), &url)
            .bearer_auth(token.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .header("Sforce-Call-Options", format!("client={}", cfg.client_tag));
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        if req.query_options
            && let Some(n) = cfg.query_batch_size
        {
            rb = rb.header("Sforce-Query-Options", format!("batchSize={n}"));
        }
        if let Some(body) = &req.body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let org = self.org();
        let resp = self.send_observed(rb).await?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| SfError::from_reqwest(org, &e))?;
        if (200..300).contains(&status) {
            Ok(Response { status, body })
        } else {
            Err(SfError::Api {
                org: org.to_owned(),
                status,
                errors: parse_error_body(status, &body),
            })
        }
    }
}

/// Salesforce answers errors as a JSON array; accept a single object too, and keep anything
/// else as text (a proxy's HTML page, an empty 503).
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> Vec<ApiError> {
    let text = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(500)
            .collect::<String>()
    };
    if status == 300 {
        // Several records match the external id; the body lists them.
        return vec![ApiError::new("MULTIPLE_CHOICES", text())];
    }
    if let Ok(list) = serde_json::from_slice::<Vec<ApiError>>(body) {
        return list;
    }
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(one) = serde_json::from_value::<ApiError>(serde_json::Value::Object(obj))
        && !one.code.is_empty()
    {
        return vec![one];
    }
    vec![ApiError::new(format!("HTTP_{status}"), text())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let e = parse_error_body(
            400,
            br#"[{"message":"locked","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]"#,
        );
        assert_eq!(e[0].code, "UNABLE_TO_LOCK_ROW");
        let e = parse_error_body(503, b"");
        assert_eq!(e[0].code, "HTTP_503");
        let e = parse_error_body(300, br#"["/services/data/v62.0/sobjects/Account/001"]"#);
        assert_eq!(e[0].code, "MULTIPLE_CHOICES");
        assert!(e[0].message.contains("/001"));
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(seg("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
        assert_eq!(seg("Ext-1_2.3"), "Ext-1_2.3");
    }
}
