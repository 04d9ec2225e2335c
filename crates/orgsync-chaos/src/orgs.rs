//! The emulated orgs of a run: `sfemu` in-process, one loopback port per org, change events
//! for every synced object, outbound rules toward orgsync's listener for the objects captured
//! that way. Users' edits and the final reads go straight to `sfemu_org::Org` (the same DML,
//! change log, change events, outbound queue and SystemModstamp as a REST call, at no API
//! cost and untouched by the injected faults, which are meant for orgsync).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use serde_json::{Map, Value};
use sfemu::outbound::RuleSpec;
use sfemu::server::{Emulator, EmulatorConfig, OrgConfig};
use sfemu_org::{Caller, ChangeRecord, DmlFailure, DmlOp, DmlOutcome, Org};

use crate::plan::{Capture, Plan, objects};

/// The `client=` tag of the simulated users' edits.
pub const USER_CLIENT: &str = "user";

/// One emulated org.
#[derive(Debug, Clone)]
pub struct ChaosOrg {
    /// Config name.
    pub name: String,
    /// Base URL.
    pub url: String,
    /// 18-character org id.
    pub org_id: String,
    /// The org's data.
    pub org: Arc<Org>,
}

/// A record as the editor sees it: local id and global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// Local id.
    pub id: String,
    /// `OrgSync_Global_Id__c`, or `<org id>:<Id>` when not stamped.
    pub gid: String,
}

/// Start the orgs of `plan`; outbound rules point at `listen`.
pub async fn start(plan: &Plan, listen: SocketAddr) -> anyhow::Result<(Emulator, Vec<ChaosOrg>)> {
    let specs = objects();
    let mut cfg = EmulatorConfig::single_org();
    cfg.orgs = plan
        .orgs
        .iter()
        .map(|name| {
            let mut o = OrgConfig::new(name, 0);
            o.spec.cdc_objects = specs.iter().map(|s| s.name.clone()).collect();
            o.outbound = specs
                .iter()
                .zip(&plan.captures)
                .filter(|(_, c)| **c == Capture::Outbound)
                .map(|(s, _)| RuleSpec {
                    object: s.name.clone(),
                    fields: vec!["Id".into()],
                    criteria: None,
                    endpoint: format!("http://{listen}/outbound/{name}"),
                    send_session_id: false,
                })
                .collect();
            o
        })
        .collect();
    let emu = Emulator::start(cfg)
        .await
        .context("starting the emulated orgs")?;
    let orgs = emu
        .orgs()
        .iter()
        .map(|o| ChaosOrg {
            name: o.name.clone(),
            url: o.base_url.clone(),
            org_id: o.org_id.clone(),
            org: o.state.org.clone(),
        })
        .collect();
    Ok((emu, orgs))
}

impl ChaosOrg {
    fn caller(&self) -> Caller {
        Caller {
            user_id: self.org.default_user().id.clone(),
            api: "rest".into(),
            api_version: "62.0".into(),
            client: Some(USER_CLIENT.into()),
        }
    }

    /// One user operation, in its own transaction.
    pub fn apply(&self, op: DmlOp) -> Result<DmlOutcome, DmlFailure> {
        self.org
            .apply(&self.caller(), vec![op], false)
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(DmlFailure::Errors(Vec::new())))
    }

    /// Create records of one object in one all-or-none transaction; their ids.
    pub fn create_all(
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
        self.org
            .apply(&self.caller(), ops, true)
            .into_iter()
            .map(|r| {
                r.map(|o| o.id)
                    .map_err(|e| anyhow!("creating {object} in {}: {e:?}", self.name))
            })
            .collect()
    }

    /// Every row of a query (`all_rows`: the recycle bin too), following query locators.
    pub fn query(&self, soql: &str, all_rows: bool) -> anyhow::Result<Vec<Value>> {
        let user = self.org.default_user().id.clone();
        let mut page = self
            .org
            .query(&user, soql, all_rows, 2000, "62.0")
            .map_err(|e| anyhow!("{}: {soql}: {e}", self.name))?;
        let mut rows = std::mem::take(&mut page.records);
        while let Some(loc) = page.next_locator.clone() {
            page = self
                .org
                .query_more(&user, &loc, 2000, "62.0")
                .map_err(|e| anyhow!("{}: {e}", self.name))?;
            rows.append(&mut page.records);
        }
        Ok(rows)
    }

    /// Live (`deleted` false) or recycled (true) records of `object`, by Id.
    pub fn records(&self, object: &str, deleted: bool) -> Vec<Rec> {
        let soql = format!(
            "SELECT Id, OrgSync_Global_Id__c FROM {object} WHERE IsDeleted = {deleted} ORDER BY Id"
        );
        self.query(&soql, deleted)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let id = r.get("Id")?.as_str()?.to_string();
                let gid = match r.get("OrgSync_Global_Id__c").and_then(Value::as_str) {
                    Some(g) if !g.is_empty() => g.to_string(),
                    _ => format!("{}:{id}", self.org_id),
                };
                Some(Rec { id, gid })
            })
            .collect()
    }

    /// One record's `fields` (None when it does not exist, live or recycled).
    pub fn read(&self, object: &str, id: &str, fields: &[String]) -> Option<Map<String, Value>> {
        let soql = format!(
            "SELECT Id, OrgSync_Global_Id__c, {} FROM {object} WHERE Id = '{id}'",
            fields.join(", ")
        );
        let row = self.query(&soql, true).ok()?.into_iter().next()?;
        row.as_object().cloned()
    }

    /// The change log after `seq`.
    pub fn changes_after(&self, seq: u64) -> Vec<ChangeRecord> {
        self.org.changes_after(seq, usize::MAX)
    }

    /// The last change-log position.
    pub fn last_seq(&self) -> u64 {
        self.org.last_change_seq()
    }
}
