//! The API budget governor of one writer: it watches the org's budget beside the rounds, so a
//! call held at the ceiling in the middle of a round still shows the org's syncs as paused
//! and is probed free (`/limits`, from a small reserve) the moment the allocation is raised.

use std::time::Duration;

use orgsync_store::Store;
use tokio::sync::watch;

use super::Writer;
use crate::orgs::OrgConn;

/// First and longest pause between `/limits` probes while the budget holds calls.
const PROBE_FIRST: Duration = Duration::from_secs(10);
const PROBE_MAX: Duration = Duration::from_secs(900);
/// How often the budget is looked at when nothing signals a change.
pub(super) const GOVERN_TICK: Duration = Duration::from_secs(1);

impl<S: Store> Writer<S> {
    /// Watch the budget until `stop`: whenever it holds calls (before a claim or in the middle
    /// of a round), pause the org (see [`Writer::budget_paused`]).
    pub(super) async fn govern(&self, conn: &OrgConn, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            if !conn.client.budget_admits() {
                self.budget_paused(conn, &mut stop).await;
                continue;
            }
            tokio::select! {
                _ = conn.client.budget_changed() => {}
                _ = tokio::time::sleep(GOVERN_TICK) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// The budget holds calls: claim nothing, show every sync of the org as paused, and probe
    /// `/limits` (10 s doubling to 15 min, from the reserve) until calls are admitted again.
    async fn budget_paused(&self, conn: &OrgConn, stop: &mut watch::Receiver<bool>) {
        let org = &self.org.name;
        if self.org.update_health(|h| h.budget_paused = true) {
            tracing::warn!(%org, "API budget share reached: calls wait");
            self.status.refresh_org(org).await;
        }
        let mut pause = PROBE_FIRST;
        while !*stop.borrow() && !conn.client.budget_admits() {
            tokio::select! {
                _ = conn.client.budget_changed() => continue,
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
            if conn.client.probe_admitted() {
                if let Err(e) = conn.client.probe_limits().await {
                    tracing::warn!(%org, error = %e, "cannot read /limits");
                }
                pause = (pause * 2).min(PROBE_MAX);
            }
        }
        if conn.client.budget_admits() && self.org.update_health(|h| h.budget_paused = false) {
            tracing::info!(%org, "API budget admits calls again");
            self.status.refresh_org(org).await;
        }
    }
}
