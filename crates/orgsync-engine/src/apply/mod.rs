//! Apply: one writer per target org. Each round claims due items under a lease, then load →
//! decide (pure, [`decide`]) → write ([`batch`]) → complete, reporting every item's outcome to
//! the ledger in one transaction. Before claiming, the writer checks what may stop it: the API
//! budget's ceiling (it then claims nothing, probes `/limits` from a small reserve and resumes
//! the moment the allocation is raised, so the backlog goes out in full batches), a quota pause
//! and the circuit breaker. Store failures end the round without completing anything (the
//! leases expire and the items come back): no error in this path is turned into a success.

mod batch;
mod decide;
mod governor;
mod guard;
mod load;
mod names;
mod writes;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use orgsync_core::Settings;
use orgsync_core::retry::breaker::{Admission, Breaker};
use orgsync_store::{Item, ItemId, Store};
use sfclient::Ceiling;
use tokio::sync::watch;

use crate::activity::Activity;
use crate::capture::SourceSlot;
use crate::capture::ingest::{Ingest, SyncLocks};
use crate::convert::Links;
use crate::error::EngineError;
use crate::leg::Legs;
use crate::orgs::{Org, OrgConn, Orgs};
use crate::policy::OrgAction;
use crate::status::StatusWriter;
use batch::{Round, RoundResult};

/// The sync locks a round holds from its load to its completion.
type SyncGuards<'a> = Vec<tokio::sync::MutexGuard<'a, ()>>;

/// Items claimed per round (several collections calls' worth).
const CLAIM: u32 = 2000;
/// How long a claim is held without renewal; a crashed worker's items come back after this.
/// Short, because a live worker renews it every [`RENEW`] while it writes (see `hold`).
const LEASE: TimeDelta = TimeDelta::seconds(30);
/// How often a worker renews the leases of the items it is writing.
const RENEW: Duration = Duration::from_secs(10);
/// Longest sleep without looking at the ledger (items may be queued by another replica).
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// Calls kept below the budget ceiling for `/limits` probes while paused.
pub(crate) const PROBE_RESERVE: u64 = 20;

/// Counters of what writers did, for [`crate::Progress`].
#[derive(Debug, Default)]
pub(crate) struct WriteCounters {
    pub synced: AtomicU64,
    pub failed: AtomicU64,
    /// Rounds completed (bumped before the ledger sees the outcome, so `wait_idle` never
    /// mistakes a just-finished round for no activity).
    pub rounds: AtomicU64,
}

/// The writer of one org.
#[derive(Debug)]
pub(crate) struct Writer<S> {
    pub org: Arc<Org>,
    /// Every org: a source whose org is not logged in is not waited for.
    pub orgs: Arc<Orgs>,
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub legs: Arc<Legs>,
    pub locks: Arc<SyncLocks>,
    pub ingest: Arc<Ingest<S>>,
    pub status: Arc<StatusWriter<S>>,
    /// Every capture source: nothing is written before each has read once.
    pub sources: Vec<Arc<SourceSlot>>,
    pub counters: Arc<WriteCounters>,
    pub activity: Arc<Activity>,
    pub owner: String,
}

impl<S: Store> Writer<S> {
    /// Run until `stop`. A batch being written when stop is requested finishes and is
    /// completed; nothing is claimed after that.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Some(conn) = self.org.connected(&mut stop).await else {
            return;
        };
        let share = self
            .settings
            .orgs
            .get(&self.org.name)
            .map_or(0.8, |o| o.budget_share);
        conn.client.set_ceiling(Some(Ceiling {
            share,
            reserve: PROBE_RESERVE,
        }));
        // Write nothing before every source has read once: edits made on several orgs while
        // the engine was down are then all captured (and merged, conflicts recorded) before
        // any of them is overwritten by a write of the others. A source whose org is not
        // logged in is not waited for: one org down at start must not stop the others (its
        // edits are merged when it returns; nothing is written to it meanwhile).
        while !*stop.borrow()
            && self
                .sources
                .iter()
                .any(|s| !s.has_read() && self.reachable(s))
        {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stop.changed() => {}
            }
        }
        // the governor watches the budget on its own: a call held at the ceiling in the
        // middle of a round must still show the org paused and be probed free
        let governor = self.govern(&conn, stop.clone());
        let work = self.work(&conn, stop);
        tokio::join!(governor, work);
    }

    /// Claim and write rounds until `stop`, claiming nothing while the budget holds calls.
    async fn work(&self, conn: &OrgConn, mut stop: watch::Receiver<bool>) {
        let conn = conn.clone();
        let mut breaker = Breaker::default();
        while !*stop.borrow() {
            let now = Utc::now();
            if !conn.client.budget_admits() {
                // the governor probes and says so; claim nothing until calls are admitted
                tokio::select! {
                    _ = conn.client.budget_changed() => {}
                    _ = tokio::time::sleep(governor::GOVERN_TICK) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            // the open period is over: calls are tried again (a failed probe re-opens it), so
            // the status no longer says "circuit open" even if nothing is due to probe with
            if self.org.update_health(|h| {
                h.circuit = h.circuit.take().filter(|(u, _)| *u > now);
                h.quota_until = h.quota_until.filter(|u| *u > now);
            }) {
                self.status.refresh_org(&self.org.name).await;
            }
            let wait_until = match self.org.health().quota_until.filter(|u| *u > now) {
                Some(u) => Some(u),
                None => match breaker.admit(now) {
                    Admission::Reject { retry_at } => Some(retry_at),
                    _ => None,
                },
            };
            let round = self.activity.begin();
            let claimed = match wait_until {
                Some(_) => Vec::new(),
                None => match self
                    .store
                    .claim_due(&self.org.name, now, CLAIM, &self.owner, LEASE)
                    .await
                {
                    Ok(items) => items,
                    Err(e) => {
                        tracing::warn!(org = %self.org.name, error = %e, "claim failed");
                        Vec::new()
                    }
                },
            };
            if claimed.is_empty() {
                drop(round);
                self.idle(wait_until, &mut stop).await;
                continue;
            }
            let ids: Vec<ItemId> = claimed.iter().map(|i| i.id).collect();
            let result = hold(
                self.store.as_ref(),
                &ids,
                &self.owner,
                self.round(&conn, &claimed),
            )
            .await;
            let (result, guards) = match result {
                Ok(r) => r,
                Err(e) => {
                    // nothing completed: the leases expire and the items come back
                    tracing::warn!(org = %self.org.name, error = %e, "round failed; its items come back when their leases expire");
                    drop(round);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.after_round(&mut breaker, &result).await;
            self.counters.rounds.fetch_add(1, Ordering::SeqCst);
            self.complete(&claimed, result, &conn, guards).await;
            drop(round);
        }
    }

    /// Whether `source`'s org is logged in (a source of an org that is down cannot read).
    fn reachable(&self, source: &SourceSlot) -> bool {
        self.orgs
            .get(&source.leg.org)
            .is_some_and(|o| o.conn().is_some())
    }

    /// One round over `items`: load → decide → (read the target first where the ledger's view
    /// of it may be behind, and decide again if that was news: [`guard`]) → write, holding the
    /// locks of the items' syncs from the load until [`Self::complete`] has recorded what was
    /// written. So no capture lands between the plan and the writes (the plan would rest on
    /// a view older than the ledger's), the target's read is as close to the writes as it can
    /// be, and a read of the target that sees our write (a poll, a re-read: snapshots carry
    /// no origin tag) is ingested only once the shadow knows the write, and is an echo; taken
    /// before the write landed, it is older than the shadow.
    async fn round(
        &self,
        conn: &OrgConn,
        items: &[Item],
    ) -> Result<(RoundResult, SyncGuards<'_>), EngineError> {
        let org = &self.org.name;
        // from here to the completion nothing is captured for these syncs: the plan rests on
        // what the ledger holds now plus the target read below, up to the moment of writing
        let guards = self.locks.many(&self.syncs_of(items)).await;
        let mut loaded =
            load::load(&self.settings, self.store.as_ref(), &self.legs, org, items).await?;
        let mut plan = decide::round(&self.settings, &self.legs, org, items, &loaded);
        let news =
            guard::read_first(&self.settings, &self.legs, &self.ingest, conn, items, &plan).await?;
        if news > 0 {
            // the target had changed since the ledger last saw it: decide on what it holds
            loaded =
                load::load(&self.settings, self.store.as_ref(), &self.legs, org, items).await?;
            plan = decide::round(&self.settings, &self.legs, org, items, &loaded);
        }
        tracing::debug!(
            %org,
            items = items.len(),
            batches = plan.plan.batches.len(),
            pending = plan.plan.pending.len(),
            nothing = plan.nothing.len(),
            failed = plan.failed.len(),
            "round"
        );
        let mut payloads: Vec<&orgsync_core::mapping::Payload> = Vec::new();
        for b in &plan.plan.batches {
            for w in &b.items {
                payloads.push(&w.payload);
            }
        }
        let links = Links {
            by_name: names::resolve(org, conn, payloads.into_iter()).await,
            landed: loaded.landed.clone(),
        };
        let round = Round {
            settings: &self.settings,
            legs: &self.legs,
            org,
            conn,
            owner: &self.owner,
            links: &links,
        };
        Ok((round.run(plan, items).await, guards))
    }

    /// The syncs `items` belong to (on this writer's org).
    fn syncs_of(&self, items: &[Item]) -> BTreeSet<usize> {
        items
            .iter()
            .filter_map(|i| {
                self.legs
                    .find(&self.org.name, &i.work.object)
                    .map(|l| l.sync)
            })
            .collect()
    }

    /// The breaker, the org row's call counters and the org's health after a round.
    async fn after_round(&self, breaker: &mut Breaker, result: &RoundResult) {
        let org = &self.org.name;
        for ok in &result.calls {
            if *ok {
                breaker.on_success();
            } else {
                breaker.on_failure(Utc::now());
            }
            // the org row's consecutive-failure count, shared with other replicas and shown
            // by `orgsync status`
            if let Err(e) = self.store.note_org_call(org, *ok).await {
                tracing::warn!(%org, error = %e, "cannot count the call on the org row");
            }
        }
        let now = Utc::now();
        let circuit = match *breaker {
            Breaker::Open { until, .. } if until > now => Some((
                until,
                format!(
                    "{} consecutive calls failed; retried at {until}",
                    orgsync_core::retry::breaker::FAILURE_THRESHOLD
                ),
            )),
            _ => None,
        };
        let action = result.org_action.clone();
        let changed = self.org.update_health(|h| {
            h.circuit = circuit;
            match action {
                OrgAction::None => {}
                OrgAction::Pause(until) => h.quota_until = Some(until),
                OrgAction::AuthError(m) => {
                    h.login_error = Some(m);
                    h.auth_refused = true;
                }
            }
            if result.calls.iter().any(|ok| *ok) && h.auth_refused {
                h.login_error = None;
                h.auth_refused = false;
            }
        });
        if changed {
            self.status.refresh_org(org).await;
        } else {
            self.status.note_org(org).await;
        }
    }

    /// Record the round's outcomes (under the sync locks the round took, so no capture
    /// straddles its writes), then re-read the copies that changed under the writes.
    async fn complete(
        &self,
        items: &[Item],
        result: RoundResult,
        conn: &OrgConn,
        guards: SyncGuards<'_>,
    ) {
        let (synced, failed) = (result.synced, result.failed);
        let outcomes = crate::metrics::Outcomes::of(&self.org.name, items, &result.completions);
        let completed = self.store.complete(result.completions, Utc::now()).await;
        drop(guards);
        match completed {
            Ok(_) => {
                self.counters.synced.fetch_add(synced, Ordering::Relaxed);
                self.counters.failed.fetch_add(failed, Ordering::Relaxed);
                outcomes.record(Utc::now());
                let org = &self.org.name; // its syncs in Error while writes fail
                self.status.after_writes(org, items, failed > 0).await;
            }
            Err(e) => {
                tracing::warn!(org = %self.org.name, error = %e, "cannot complete items; their leases expire");
            }
        }
        let mut by_leg: std::collections::BTreeMap<usize, (Arc<crate::leg::Leg>, Vec<String>)> =
            Default::default();
        for (leg, id) in result.reread {
            by_leg
                .entry(leg.sync)
                .or_insert_with(|| (leg.clone(), Vec::new()))
                .1
                .push(id);
        }
        for (_, (leg, ids)) in by_leg {
            if let Err(e) = crate::capture::poll::reread(&self.ingest, &leg, conn, &ids).await {
                tracing::warn!(leg = %leg, error = %e, "cannot re-read records that changed under a write");
            }
        }
    }

    /// Sleep until work may be due (or `until`), a wake, or stop.
    async fn idle(&self, until: Option<chrono::DateTime<Utc>>, stop: &mut watch::Receiver<bool>) {
        let next = match until {
            Some(u) => Some(u),
            None => self.store.next_due(&self.org.name).await.ok().flatten(),
        };
        let sleep = next
            .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(IDLE_RECHECK)
            .min(IDLE_RECHECK);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = self.org.wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// Run `work` while renewing the leases of `ids` every [`RENEW`], so a long round keeps its
/// items while a crashed worker's items come back within one short [`LEASE`].
async fn hold<S: Store, T>(
    store: &S,
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
                if let Err(e) = store.extend_lease(ids, owner, Utc::now() + LEASE).await {
                    tracing::warn!(error = %e, "cannot renew leases; they may be re-claimed");
                }
            }
        }
    }
}
