//! Apply: one worker per target org. It claims due items under a lease, writes them in
//! planned batches ([`batch`]) and reports every item's outcome to the ledger in one
//! transaction. The per-org circuit breaker and the budget governor gate each round.

mod batch;
mod fresh;
mod names;
mod writes;

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use orgsync_core::OrgName;
use orgsync_core::retry::breaker::{Admission, Breaker};
use orgsync_core::retry::budget::{Governor, Transition};
use orgsync_store::{CircuitState, ItemId, Store, SyncStatus};

use crate::failure::OrgAction;
use crate::shared::{Counters, Shared};
use crate::status;

/// Items claimed per round (several collections calls' worth).
const CLAIM: u32 = 2000;
/// How long a claim is held without renewal; a crashed worker's items come back after this.
/// Short, because a live worker renews it every [`RENEW`] while it writes (see `hold`).
const LEASE: TimeDelta = TimeDelta::seconds(30);
/// How often a worker renews the leases of the items it is writing.
const RENEW: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest sleep without looking at the ledger (items may be queued by another replica).
const IDLE_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Run the worker of `org` until shutdown. A batch being written when shutdown is requested
/// finishes and is completed; nothing is claimed after that.
pub(crate) async fn run<S: Store>(sh: Arc<Shared<S>>, org: OrgName) {
    let Some(wake) = sh.apply_wake.get(&org).cloned() else {
        return;
    };
    let Some(conn) = sh.orgs.get(&org).cloned() else {
        return;
    };
    let share = sh.settings.orgs.get(&org).map_or(0.8, |o| o.budget_share);
    let mut governor = Governor::new(share);
    let mut breaker = Breaker::default();
    let mut paused_until = None;
    let mut stop = sh.shutdown.subscribe();
    let owner = format!("{}/{}", sh.opts.lease_owner, org);
    // Write nothing before every poller has read once: edits made on several orgs while the
    // engine was down are then all captured (and merged, conflicts recorded) before any of
    // them is overwritten by a write of the others.
    while !sh.stopping()
        && sh
            .pollers
            .iter()
            .any(|p| p.finished.load(std::sync::atomic::Ordering::SeqCst) == 0)
    {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
            _ = stop.changed() => {}
        }
    }
    loop {
        if sh.stopping() {
            break;
        }
        let now = Utc::now();
        let mut wait_until = None;
        if let Some(u) = paused_until.filter(|u| *u > now) {
            wait_until = Some(u);
        }
        if let Some(usage) = conn.client.budget().api_usage {
            match governor.observe(usage.used, usage.max) {
                Some(Transition::Paused) => {
                    status::set_org(&sh, &org, SyncStatus::Paused, Some("API budget".into())).await
                }
                Some(Transition::Resumed) => {
                    status::set_org(&sh, &org, SyncStatus::Active, None).await
                }
                None => {}
            }
        }
        if wait_until.is_none()
            && let Admission::Reject { retry_at } = breaker.admit(now)
        {
            wait_until = Some(retry_at);
        }
        let round = sh.activity.begin();
        let claimed = if wait_until.is_none() {
            match sh.store.claim_due(&org, now, CLAIM, &owner, LEASE).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::warn!(%org, error = %e, "claim failed");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        if claimed.is_empty() {
            drop(round);
            let next = match wait_until {
                Some(u) => Some(u),
                None => sh.store.next_due(&org).await.ok().flatten(),
            };
            let sleep = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(IDLE_RECHECK)
                .min(IDLE_RECHECK);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let mut claimed = claimed;
        fresh::refresh(&sh, &org, &mut claimed).await;
        let ids: Vec<ItemId> = claimed.iter().map(|i| i.id).collect();
        let syncs: std::collections::BTreeSet<usize> = claimed
            .iter()
            .filter_map(|i| sh.sync_index(&org, &i.work.object))
            .collect();
        let result = hold(
            &sh,
            &ids,
            &owner,
            batch::run(&sh, &org, &conn, &governor, claimed),
        )
        .await;
        for call_ok in &result.calls {
            if *call_ok {
                breaker.on_success();
            } else {
                breaker.on_failure(Utc::now());
            }
            // the org row's consecutive-failure count, shared with other replicas and shown
            // by `orgsync status`
            if let Err(e) = sh.store.note_org_call(&org, *call_ok).await {
                tracing::warn!(%org, error = %e, "cannot count the call on the org row");
            }
        }
        let circuit = if breaker.is_open(Utc::now()) {
            CircuitState::Open
        } else {
            CircuitState::Closed
        };
        note_org(&sh, &org, circuit, &conn).await;
        match &result.org_action {
            OrgAction::None => {}
            OrgAction::Pause(u) => {
                paused_until = Some(*u);
                status::set_org(&sh, &org, SyncStatus::Paused, Some("quota".into())).await;
            }
            OrgAction::Error(m) => {
                paused_until = Some(Utc::now() + orgsync_core::retry::QUOTA_PAUSE);
                status::set_org(&sh, &org, SyncStatus::Error, Some(m.clone())).await;
            }
        }
        if circuit == CircuitState::Open {
            status::set_org(&sh, &org, SyncStatus::CircuitOpen, None).await;
        }
        let synced = result.synced;
        let failed = result.failed;
        Counters::add(&sh.counters.rounds, 1);
        // Completions and captures of the same sync never interleave: a capture reads the id
        // map and merge state and writes record rows back; a completion landing in between
        // (an undelete re-created under a new id, say) would be overwritten by the capture's
        // older view. Locks are taken in ascending order; a capture holds only one.
        let mut guards = Vec::with_capacity(syncs.len());
        for i in &syncs {
            guards.push(sh.capture_locks[*i].lock().await);
        }
        let completed = sh.store.complete(result.completions, Utc::now()).await;
        drop(guards);
        match completed {
            Ok(_) => {
                Counters::add(&sh.counters.synced, synced);
                Counters::add(&sh.counters.failed, failed);
            }
            Err(e) => tracing::warn!(%org, error = %e, "cannot complete items; leases expire"),
        }
        drop(round);
    }
}

async fn note_org<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    circuit: CircuitState,
    conn: &crate::shared::OrgConn,
) {
    let Ok(Some(mut row)) = sh.store.org(org).await else {
        return;
    };
    row.circuit = circuit;
    if let Some(u) = conn.client.budget().api_usage {
        row.budget_used = i64::try_from(u.used).ok();
        row.budget_max = i64::try_from(u.max).ok();
        row.budget_observed_at = Some(Utc::now());
    }
    let _ = sh.store.put_org(&row).await;
}

/// Run `work` while renewing the leases of `ids` every [`RENEW`], so a long round keeps its
/// items while a crashed worker's items come back within one short [`LEASE`].
async fn hold<S: Store, T>(
    sh: &Shared<S>,
    ids: &[ItemId],
    owner: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    let mut tick = tokio::time::interval(RENEW);
    tick.tick().await; // the first tick is immediate; the claim just set the lease
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = tick.tick() => {
                if let Err(e) = sh.store.extend_lease(ids, owner, Utc::now() + LEASE).await {
                    tracing::warn!(error = %e, "cannot renew leases; they may be re-claimed");
                }
            }
        }
    }
}
