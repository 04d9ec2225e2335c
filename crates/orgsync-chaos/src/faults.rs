//! Run-time faults through each org's control surface (`/__sfemu/faults`): during the edits
//! every org answers 5% of records with `UNABLE_TO_LOCK_ROW` and 2% of calls with 503, with the
//! plan's added latency, and one org goes offline for a while; everything is lifted before the
//! final convergence wait.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};

use crate::orgs::ChaosOrg;
use crate::plan::Plan;

/// The fault settings of org `org`; `offline` for the outage.
pub fn config(plan: &Plan, org: usize, offline: bool) -> Value {
    json!({
        "recordErrorRate": {"UNABLE_TO_LOCK_ROW": 0.05},
        "errorRate": {"503": 0.02},
        "latencyMs": plan.latency_ms.get(org).copied().unwrap_or(0),
        "offline": offline,
        "seed": plan.fault_seed.wrapping_add(org as u64),
    })
}

/// Sets and lifts faults over HTTP.
#[derive(Debug, Clone)]
pub struct Faults {
    http: reqwest::Client,
    urls: Vec<String>,
}

impl Faults {
    /// For these orgs.
    pub fn new(http: reqwest::Client, orgs: &[ChaosOrg]) -> Self {
        Faults {
            http,
            urls: orgs.iter().map(|o| o.url.clone()).collect(),
        }
    }

    /// One control-surface call; any answer but 2xx is an error.
    async fn call(&self, method: Method, url: String, body: Option<&Value>) -> anyhow::Result<()> {
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.with_context(|| url.clone())?;
        if !r.status().is_success() {
            bail!(
                "{method} {url}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// The same call on every org's `path`.
    async fn each(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<()> {
        for url in &self.urls {
            self.call(method.clone(), format!("{url}{path}"), body)
                .await?;
        }
        Ok(())
    }

    /// Org `org` gets `cfg`.
    pub async fn set(&self, org: usize, cfg: &Value) -> anyhow::Result<()> {
        let url = format!("{}/__sfemu/faults", self.urls[org]);
        self.call(Method::PUT, url, Some(cfg)).await
    }

    /// Every org gets the plan's faults (none offline).
    pub async fn start(&self, plan: &Plan) -> anyhow::Result<()> {
        for i in 0..self.urls.len() {
            self.set(i, &config(plan, i, false)).await?;
        }
        Ok(())
    }

    /// No faults anywhere.
    pub async fn lift(&self) -> anyhow::Result<()> {
        self.each(Method::DELETE, "/__sfemu/faults", None).await
    }

    /// Outbound retries every 0.5 s doubling to 5 s (Salesforce waits minutes; the run has
    /// seconds), for every org.
    pub async fn quick_outbound_retries(&self) -> anyhow::Result<()> {
        let body = json!({"baseDelayMs": 500, "maxDelayMs": 5000});
        self.each(Method::PUT, "/__sfemu/outbound/retry", Some(&body))
            .await
    }

    /// Outbound notifications still queued, over every org.
    pub async fn outbound_pending(&self) -> usize {
        let mut n = 0;
        for url in &self.urls {
            let got: Option<Value> = async {
                self.http
                    .get(format!("{url}/__sfemu/outbound"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()
            }
            .await;
            n += got
                .and_then(|v| v.get("pending").and_then(Value::as_array).map(Vec::len))
                .unwrap_or(0);
        }
        n
    }
}
