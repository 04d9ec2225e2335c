//! `GET /limits`: the org's allocations (`DailyApiRequests`, storage, Bulk…).

use crate::budget::Usage;
use crate::client::Client;
use crate::error::SfError;
use crate::http::Request;
use reqwest::Method;
use serde_json::{Map, Value};

/// The `/limits` answer: `{"DailyApiRequests":{"Max":15000,"Remaining":14998}, …}`.
#[derive(Debug, Clone)]
pub struct OrgLimits(pub Map<String, Value>);

impl OrgLimits {
    /// One limit as used/max (`used = Max - Remaining`).
    pub fn get(&self, name: &str) -> Option<Usage> {
        let l = self.0.get(name)?;
        let max = l.get("Max")?.as_u64()?;
        let remaining = l.get("Remaining")?.as_u64()?;
        Some(Usage {
            used: max.saturating_sub(remaining),
            max,
        })
    }

    /// The daily API request allocation.
    pub fn daily_api_requests(&self) -> Option<Usage> {
        self.get("DailyApiRequests")
    }
}

impl Client {
    /// `GET /limits/` (itself one API call).
    pub async fn limits(&self) -> Result<OrgLimits, SfError> {
        self.call_json(&Request::new(Method::GET, "/limits/"), true)
            .await
            .map(OrgLimits)
    }

    /// `GET /limits/` as a probe of a client held at its budget ceiling: it may use the
    /// reserve below the ceiling, and the daily allocation it reads (a raised `Max`, or a
    /// rolling window that moved on) releases held calls at once. Returns the daily usage.
    pub async fn probe_limits(&self) -> Result<Option<Usage>, SfError> {
        let mut req = Request::new(Method::GET, "/limits/");
        req.probe = true;
        let limits = OrgLimits(self.call_json(&req, true).await?);
        let daily = limits.daily_api_requests();
        if let Some(u) = daily {
            self.inner.budget.observe_usage(u);
        }
        Ok(daily)
    }
}
