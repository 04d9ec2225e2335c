//! In-process access to the demo's emulated orgs: DML and SOQL straight on
//! `sfemu_org::Org` (no HTTP, so the demo's own reads and edits cost none of the API calls
//! it reports for orgsync).

use std::sync::Arc;

use anyhow::{Context, anyhow};
use serde_json::{Map, Value};
use sfemu_org::{Caller, DmlOp, Org};

/// One emulated org as the demo drives it.
#[derive(Debug, Clone)]
pub struct DemoOrg {
    /// Config name (`hub`, `vendor_a`, `vendor_b`).
    pub name: String,
    /// Base URL clients use.
    pub url: String,
    /// The org's data.
    pub org: Arc<Org>,
    /// 18-char org id.
    pub org_id: String,
}

impl DemoOrg {
    fn caller(&self) -> Caller {
        Caller {
            user_id: self.org.default_user().id.clone(),
            api: "rest".into(),
            api_version: "62.0".into(),
            // a person editing in the UI, as far as orgsync's echo filter can tell
            client: Some("demo-user".into()),
        }
    }

    /// Run operations (not all-or-none); the ids of those that succeeded, in order (None for
    /// a failed one).
    pub fn apply(&self, ops: Vec<DmlOp>) -> Vec<Option<String>> {
        self.org
            .apply(&self.caller(), ops, false)
            .into_iter()
            .map(|r| r.ok().map(|o| o.id))
            .collect()
    }

    /// Create records of one object; their ids (all must succeed).
    pub fn create(
        &self,
        object: &str,
        rows: Vec<Map<String, Value>>,
    ) -> anyhow::Result<Vec<String>> {
        let ops = rows
            .into_iter()
            .map(|fields| DmlOp::Create {
                object: object.to_string(),
                fields,
            })
            .collect();
        let caller = self.caller();
        self.org
            .apply(&caller, ops, true)
            .into_iter()
            .map(|r| {
                r.map(|o| o.id)
                    .map_err(|e| anyhow!("creating {object} in {}: {e:?}", self.name))
            })
            .collect()
    }

    /// Every row of a SOQL query, following query locators.
    pub fn query(&self, soql: &str) -> anyhow::Result<Vec<Value>> {
        let user = self.org.default_user().id.clone();
        let mut page = self
            .org
            .query(&user, soql, false, 2000, "62.0")
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("{}: {soql}", self.name))?;
        let mut rows = std::mem::take(&mut page.records);
        while let Some(loc) = page.next_locator.clone() {
            page = self
                .org
                .query_more(&user, &loc, 2000, "62.0")
                .map_err(|e| anyhow!("{e}"))?;
            rows.append(&mut page.records);
        }
        Ok(rows)
    }

    /// Live record count of one object.
    pub fn count(&self, object: &str) -> usize {
        self.org
            .record_counts()
            .into_iter()
            .find(|(o, _)| o == object)
            .map_or(0, |(_, n)| n)
    }
}
