//! Once a minute, a sample per org into the ledger — this replica's API calls so far, the
//! org's API usage as last observed, its backlog — for the Sync Monitor's history charts (API
//! calls per hour, backlog over time) and its budget forecast. One small write a minute; no
//! Salesforce call.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use orgsync_store::{ItemState, OrgSample, Store};

use crate::engine::Core;

/// How often samples are taken.
pub(crate) const EVERY: Duration = Duration::from_secs(60);

/// Sample every org every `every` ([`EVERY`] by default; the first at once) until the engine
/// stops; `replica` names this process (its lease owner) so replicas' counters never mix.
pub(crate) async fn sample_loop<S: Store>(core: Arc<Core<S>>, replica: String, every: Duration) {
    let mut stop = core.stop.subscribe();
    loop {
        if let Err(e) = sample(&core, &replica).await {
            tracing::warn!(error = %e, "cannot write the org samples");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn sample<S: Store>(core: &Core<S>, replica: &str) -> orgsync_store::Result<()> {
    let now = Utc::now();
    let counts = core.store.counts().await?;
    let rows = core.store.orgs().await?;
    let calls = core.progress.borrow().api_calls.clone();
    let samples: Vec<OrgSample> = core
        .settings
        .topology
        .orgs()
        .into_iter()
        .map(|org| {
            let n = |st: ItemState| counts.get(&(org.clone(), st)).copied().unwrap_or(0);
            let row = rows.iter().find(|r| r.name == org);
            OrgSample {
                replica: replica.to_string(),
                api_calls: calls.get(org.as_str()).copied().unwrap_or(0),
                budget_used: row.and_then(|r| r.budget_used),
                budget_max: row.and_then(|r| r.budget_max),
                backlog: n(ItemState::Queued) + n(ItemState::InFlight) + n(ItemState::Pending),
                failed: n(ItemState::Failed),
                at: now,
                org,
            }
        })
        .collect();
    core.store.put_org_samples(&samples).await
}
