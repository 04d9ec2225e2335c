//! One way into the ledger for every capture path: polled rows, change events, re-reads asked
//! for by an outbound message or a failed write, and records pushed by a peer all become
//! [`Captured`] rows and are committed here, with the source's new checkpoint (watermark or
//! replay id) in the same transaction (`Store::commit_capture`). A crash therefore re-reads at
//! most one chunk, and a change can never be both checkpointed and lost.
//!
//! Per chunk: load (the ledger's record rows by local id and by global id, the lookups'
//! parents, the merge states: a handful of queries, never one per record) → plan (pure,
//! [`super::plan`]) → commit. Captures and completions of one sync are serialized
//! ([`SyncLocks`]), so each sees the other's effects whole.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use orgsync_core::merge::RecordState;
use orgsync_core::{FieldValue, GlobalId, OrgName, Settings};
use orgsync_store::{CheckpointWrite, Store};

use super::Captured;
use super::plan::{Known, Tally, place, plan};
use crate::error::EngineError;
use crate::leg::{Leg, Side};
use crate::orgs::Orgs;

/// One lock per sync: a capture loads the merge state, merges and commits under it, and a
/// writer completes its items under the locks of their syncs (taken in ascending order), so a
/// capture's view of the id map and shadows never straddles a completion, and two captures of
/// the same records on different orgs see each other's agreed values (otherwise concurrent
/// edits would both look unopposed and the conflict would go unrecorded).
#[derive(Debug)]
pub(crate) struct SyncLocks(Vec<tokio::sync::Mutex<()>>);

impl SyncLocks {
    pub fn new(syncs: usize) -> SyncLocks {
        SyncLocks((0..syncs).map(|_| tokio::sync::Mutex::new(())).collect())
    }

    pub async fn one(&self, sync: usize) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.0.get(sync)?.lock().await)
    }

    /// The locks of `syncs`, in ascending order.
    pub async fn many(
        &self,
        syncs: &std::collections::BTreeSet<usize>,
    ) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut out = Vec::with_capacity(syncs.len());
        for s in syncs {
            if let Some(m) = self.0.get(*s) {
                out.push(m.lock().await);
            }
        }
        out
    }
}

/// Counters of what captures did, for [`crate::Progress`].
#[derive(Debug, Default)]
pub(crate) struct CaptureCounters {
    pub captured: AtomicU64,
    pub conflicts: AtomicU64,
    pub echoes_dropped: AtomicU64,
}

/// The ingest: commits captured rows of any leg.
#[derive(Debug)]
pub(crate) struct Ingest<S> {
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub orgs: Arc<Orgs>,
    pub locks: Arc<SyncLocks>,
    pub counters: Arc<CaptureCounters>,
}

/// What [`Ingest::commit`] did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ingested {
    /// Rows that were new to the ledger.
    pub rows: u64,
}

impl<S: Store> Ingest<S> {
    /// Commit `rows` captured from `leg` with `checkpoint`, plus `txns` marked processed
    /// (idempotency keys of pushes).
    pub async fn commit(
        &self,
        leg: &Leg,
        rows: Vec<Captured>,
        checkpoint: Option<CheckpointWrite>,
        txns: Vec<(OrgName, String)>,
    ) -> Result<Ingested, EngineError> {
        self.commit_inner(leg, rows, checkpoint, txns, Utc::now(), false)
            .await
    }

    /// [`Ingest::commit`] of a writer's read of its target taken while the writer holds the
    /// lock of `leg`'s sync (see `apply::guard`): nothing can be captured between that read
    /// and the writes decided on it.
    pub async fn commit_held(
        &self,
        leg: &Leg,
        rows: Vec<Captured>,
    ) -> Result<Ingested, EngineError> {
        self.commit_inner(leg, rows, None, Vec::new(), Utc::now(), true)
            .await
    }

    /// [`Ingest::commit`] of a read that began at `read_at`: the checkpoint's time says so
    /// (a poll's look-back is counted from it).
    pub async fn commit_at(
        &self,
        leg: &Leg,
        rows: Vec<Captured>,
        checkpoint: Option<CheckpointWrite>,
        read_at: DateTime<Utc>,
    ) -> Result<Ingested, EngineError> {
        self.commit_inner(leg, rows, checkpoint, Vec::new(), read_at, false)
            .await
    }

    async fn commit_inner(
        &self,
        leg: &Leg,
        mut rows: Vec<Captured>,
        checkpoint: Option<CheckpointWrite>,
        txns: Vec<(OrgName, String)>,
        now: DateTime<Utc>,
        held: bool,
    ) -> Result<Ingested, EngineError> {
        let org_id = self
            .orgs
            .org_id(&leg.org)
            .ok_or_else(|| EngineError::Config(format!("org {} has no known org id", leg.org)))?;
        if !rows.is_empty()
            && let Some(conn) = self.orgs.get(&leg.org).and_then(|o| o.conn())
        {
            super::names::canonical_names(&self.settings, leg, &conn, &mut rows).await?;
        }
        let serial = if held {
            None
        } else {
            self.locks.one(leg.sync).await
        };
        let mut known = self.load(leg, &rows).await?;
        // the changed fields of a record the ledger has never seen say too little to create it
        // elsewhere (its other fields would look null): read it whole instead, after this commit
        let tag = &self.settings.engine.client_tag;
        let (rows, unseen): (Vec<Captured>, Vec<Captured>) = rows.into_iter().partition(|r| {
            !r.partial
                || r.client_tag.as_deref().is_some_and(|t| {
                    orgsync_core::echo::origin_is_ours(&format!("client={t}"), tag)
                })
                || known.by_local.contains_key(&r.id)
                || r.gid_field
                    .as_ref()
                    .is_some_and(|g| known.by_gid.contains_key(g) || known.states.contains_key(g))
                || GlobalId::new(org_id.clone(), &r.id).is_ok_and(|g| known.states.contains_key(&g))
        });
        let states = std::mem::take(&mut known.states);
        let placed = place(&rows, &known, &org_id);
        let (mut batch, tally, comebacks) = if placed.is_empty() {
            Default::default()
        } else {
            plan(
                &self.settings,
                leg,
                &placed,
                &known.parents,
                &known.parents_deleted,
                states,
                &org_id,
                now,
            )?
        };
        batch.checkpoint = checkpoint;
        batch.txns = txns;
        let queued = !batch.items.is_empty();
        let report = self.store.commit_capture(batch, now).await?;
        crate::metrics::captured(leg, &tally, report.duplicates);
        let Tally {
            rows: n,
            echoes,
            conflicts,
            ..
        } = tally;
        self.counters.captured.fetch_add(n, Ordering::Relaxed);
        self.counters
            .echoes_dropped
            .fetch_add(echoes, Ordering::Relaxed);
        self.counters
            .conflicts
            .fetch_add(conflicts, Ordering::Relaxed);
        if !comebacks.is_empty() {
            super::wake::wake_children(self, leg, &comebacks, now).await?;
        }
        if queued || !comebacks.is_empty() {
            self.orgs.wake_writers();
        }
        let mut n = n;
        if !unseen.is_empty()
            && let Some(conn) = self.orgs.get(&leg.org).and_then(|o| o.conn())
        {
            let ids: Vec<String> = unseen.into_iter().map(|r| r.id).collect();
            drop(serial);
            n += Box::pin(super::poll::reread_by(self, leg, &conn, "Id", &ids, held)).await?;
        }
        Ok(Ingested { rows: n })
    }

    /// Everything the plan needs from the ledger.
    async fn load(&self, leg: &Leg, rows: &[Captured]) -> Result<Known, EngineError> {
        let mut known = Known::default();
        if rows.is_empty() {
            return Ok(known);
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        for r in self
            .store
            .records_by_local_ids(&leg.org, &leg.object, &ids)
            .await?
        {
            if let Some(l) = r.local_id.clone() {
                known.by_local.insert(l, r);
            }
        }
        let carried: Vec<GlobalId> = rows
            .iter()
            .filter(|r| !known.by_local.contains_key(&r.id))
            .filter_map(|r| r.gid_field.clone())
            .collect();
        if !carried.is_empty() {
            for r in self.store.records(&leg.org, &leg.object, &carried).await? {
                known.by_gid.insert(r.global_id.clone(), r);
            }
        }
        known.parents = self.parents(leg, rows).await?;
        let mut gids: HashSet<GlobalId> = known
            .by_local
            .values()
            .chain(known.by_gid.values())
            .map(|r| r.global_id.clone())
            .collect();
        if let Some(org_id) = self.orgs.org_id(&leg.org) {
            gids.extend(rows.iter().filter_map(|r| {
                r.gid_field
                    .clone()
                    .or_else(|| GlobalId::new(org_id.clone(), &r.id).ok())
            }));
        }
        known.states = self
            .states(leg, &gids.into_iter().collect::<Vec<_>>())
            .await?;
        if rows.iter().any(|r| r.snapshot) {
            known.parents_deleted =
                super::dormant::deleted_parents(self, leg, rows, &known).await?;
        }
        Ok(known)
    }

    /// The lookups' parents known to the ledger: (parent object on this org, local id) → gid.
    async fn parents(
        &self,
        leg: &Leg,
        rows: &[Captured],
    ) -> Result<HashMap<(String, String), GlobalId>, EngineError> {
        let sync = leg.settings(&self.settings);
        let mut out = HashMap::new();
        for (p, parent_object) in orgsync_core::mapping::sync_parents(sync, leg.side.is_source()) {
            let field = if leg.side.is_source() {
                &p.field
            } else {
                &p.target_field
            };
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|r| match r.field(field) {
                    Some(FieldValue::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if ids.is_empty() {
                continue;
            }
            for row in self
                .store
                .records_by_local_ids(&leg.org, parent_object, &ids)
                .await?
            {
                if let Some(l) = row.local_id {
                    out.insert((parent_object.to_ascii_lowercase(), l), row.global_id);
                }
            }
        }
        Ok(out)
    }

    /// Merge states of `gids`: the agreed versions and life, plus every org's record row
    /// (shadow, deleted flag). One query per org, never one per record.
    pub async fn states(
        &self,
        leg: &Leg,
        gids: &[GlobalId],
    ) -> Result<HashMap<GlobalId, RecordState>, EngineError> {
        load_states(&self.settings, self.store.as_ref(), leg.sync, gids).await
    }
}

/// Merge states of `gids` of sync `sync` (see [`Ingest::states`]).
pub(crate) async fn load_states<S: Store>(
    settings: &Settings,
    store: &S,
    sync: usize,
    gids: &[GlobalId],
) -> Result<HashMap<GlobalId, RecordState>, EngineError> {
    let s = &settings.syncs[sync];
    let mut out: HashMap<GlobalId, RecordState> = HashMap::new();
    if gids.is_empty() {
        return Ok(out);
    }
    for row in store.agreed(&s.object, gids).await? {
        let st = out.entry(row.global_id).or_default();
        st.agreed = row.fields;
        st.life = row.life;
    }
    for org in settings.topology.orgs() {
        let object = orgsync_core::mapping::object_name(s, Side::of(settings, &org).is_source());
        for row in store.records(&org, object, gids).await? {
            let st = out.entry(row.global_id).or_default();
            if row.deleted {
                st.deleted.insert(org.clone());
            }
            if let Some(t) = row.deleted_at {
                st.deleted_at.insert(org.clone(), t);
            }
            st.shadows.insert(org.clone(), row.shadow);
        }
    }
    Ok(out)
}
