//! Reconciliation, the I/O part: read each org's copies of each synced object (a quick pass:
//! changes since the last run plus `COUNT()`; or a full pass: every copy's synced fields), load
//! what the ledger believes, classify the drift with the pure
//! [`orgsync_core::reconcile::classify`], and, when asked to repair, queue the repairs through
//! the ledger exactly like captured changes ([`repair`]). The run's report is kept in the
//! ledger for `orgsync status`.
//!
//! Why through the ledger: a repair written straight to an org would bypass echo suppression,
//! the merge and the id map, and race the running service. Queued as items (or ingested as
//! the missed changes they are), repairs are claimed, decided and written by the normal
//! writer, whichever process runs it.
//!
//! Cost: a quick pass with nothing drifted is 2 calls per org and object (one `queryAll` of
//! the window, one `SELECT COUNT()`); a count that disagrees with the ledger escalates that
//! org and object to a full pass (⌈records / 2,000⌉ query calls).

mod known;
mod read;
mod repair;
mod schedule;

pub(crate) use schedule::schedule;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use orgsync_core::reconcile::{Mode, PassKind, Report, classify};
use orgsync_core::{OrgName, Settings};
use orgsync_store::{ReconcileRun, Store};

use crate::capture::ingest::{CaptureCounters, Ingest, SyncLocks};
use crate::error::EngineError;
use crate::leg::Legs;
use crate::options::EngineOptions;
use crate::orgs::{Org, Orgs};

/// What to reconcile, and how.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    /// These objects (either side's name), or every enabled sync's object when empty.
    pub objects: Vec<String>,
    /// Read every record instead of the changes since the last run.
    pub full: bool,
    /// Report only, or also queue the repairs.
    pub mode: Mode,
}

/// Where one (org, object) pass stands, for progress bars and log lines.
#[derive(Debug, Clone, PartialEq)]
pub struct PassProgress {
    /// The org.
    pub org: String,
    /// The object as named there.
    pub object: String,
    /// Quick or full.
    pub kind: PassKind,
    /// Rows read so far.
    pub read: u64,
    /// Rows expected, when known (the ledger's count for a full pass).
    pub total: Option<u64>,
    /// API calls spent so far by this pass.
    pub calls: u64,
    /// The pass is over.
    pub done: bool,
}

/// Receives [`PassProgress`] updates (at most one per page read).
pub type ProgressFn = dyn Fn(&PassProgress) + Send + Sync;

/// Log in to every org and reconcile: the `orgsync reconcile` path, which runs no engine
/// (nothing is captured or written besides what the run itself queues). The report is not
/// saved: call [`save_report`] once the run is over.
pub async fn reconcile<S: Store>(
    settings: Settings,
    store: Arc<S>,
    opts: &EngineOptions,
    req: &ReconcileRequest,
    progress: &ProgressFn,
) -> Result<Report, EngineError> {
    let settings = Arc::new(settings);
    let mut list = Vec::new();
    for name in settings.topology.orgs() {
        let Some(org) = settings.orgs.get(&name) else {
            continue;
        };
        let conn = crate::login::login(&settings, org, opts).await?;
        let o = Org::new(name.clone(), Some(conn.org_id.clone()));
        o.set_conn(conn);
        list.push(o);
    }
    let ingest = Ingest {
        settings: settings.clone(),
        store,
        orgs: Arc::new(Orgs::new(list)),
        locks: Arc::new(SyncLocks::new(settings.syncs.len())),
        counters: Arc::new(CaptureCounters::default()),
    };
    run(&ingest, &Legs::new(&settings), req, progress).await
}

/// Reconcile with the orgs and ledger of `ingest` (an engine's, or [`reconcile`]'s own).
pub(crate) async fn run<S: Store>(
    ingest: &Ingest<S>,
    legs: &Legs,
    req: &ReconcileRequest,
    progress: &ProgressFn,
) -> Result<Report, EngineError> {
    let settings = ingest.settings.as_ref();
    let clock = Instant::now();
    let started_at = Utc::now();
    let lookback = TimeDelta::from_std(settings.engine.lookback).unwrap_or_default();
    // the quick pass reads from the start of the last run that passed over the same org and
    // object (a run of other objects says nothing of this one: full pass then)
    let last: Option<(chrono::DateTime<Utc>, Report)> =
        ingest.store.last_reconcile_run().await?.and_then(|r| {
            Some((
                r.started_at,
                serde_json::from_value::<Report>(r.report).ok()?,
            ))
        });
    // … and whose drift there was repaired: drift a dry run only reported lies before its
    // start, and a window from there would not see it again
    let since = |leg: &crate::leg::Leg| {
        let (at, r) = last.as_ref()?;
        let object = &leg.settings(settings).object;
        let passed = r
            .passes
            .iter()
            .any(|p| p.org == leg.org && p.object.eq_ignore_ascii_case(&leg.object));
        let left = r.mode == Mode::DryRun
            && r.drifts
                .iter()
                .any(|d| d.org == leg.org && d.object.eq_ignore_ascii_case(object));
        (passed && !left).then(|| *at - lookback)
    };
    let syncs: Vec<usize> = (0..settings.syncs.len())
        .filter(|i| {
            let s = &settings.syncs[*i];
            s.enabled
                && (req.objects.is_empty()
                    || req.objects.iter().any(|o| {
                        s.object.eq_ignore_ascii_case(o) || s.target_object.eq_ignore_ascii_case(o)
                    }))
        })
        .collect();
    if !req.objects.is_empty() && syncs.is_empty() {
        return Err(EngineError::Config(format!(
            "no enabled sync has the object {}",
            req.objects.join(", ")
        )));
    }
    let calls = |ingest: &Ingest<S>| -> BTreeMap<OrgName, u64> {
        ingest
            .orgs
            .all()
            .filter_map(|o| Some((o.name.clone(), o.conn()?.client.budget().requests_sent)))
            .collect()
    };
    let before = calls(ingest);
    let mut report = Report {
        started_at,
        finished_at: started_at,
        duration_ms: 0,
        full: req.full,
        mode: req.mode,
        passes: Vec::new(),
        api_calls: BTreeMap::new(),
        drifts: Vec::new(),
        skipped_pending: 0,
        queued: 0,
        applied: 0,
    };
    for sync in syncs {
        for leg in legs.all().iter().filter(|l| l.sync == sync) {
            let conn = ingest
                .orgs
                .get(&leg.org)
                .and_then(|o| o.conn())
                .ok_or_else(|| EngineError::Config(format!("org {} is not logged in", leg.org)))?;
            let from = since(leg).filter(|_| !req.full);
            let pass = read::pass(ingest, leg, &conn, from, progress).await?;
            let found = classify(&pass.input(settings, leg, &conn.org_id));
            let drifts = read::confirm_missing(leg, &conn, found.drifts).await?;
            report.skipped_pending += found.skipped_pending;
            if req.mode == Mode::Repair && !drifts.is_empty() {
                report.queued += repair::queue(ingest, leg, &pass, &drifts, started_at).await?;
            }
            report.passes.push(pass.report.clone());
            report.drifts.extend(drifts);
        }
    }
    let after = calls(ingest);
    report.api_calls = after
        .iter()
        .map(|(o, n)| (o.to_string(), n - before.get(o).copied().unwrap_or(0)))
        .collect();
    report.finished_at = Utc::now();
    report.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    let keys: HashSet<_> = report.drifts.iter().map(|d| d.class).collect();
    tracing::info!(
        drifted = report.drifts.len(),
        classes = keys.len(),
        queued = report.queued,
        calls = report.total_calls(),
        "reconcile done"
    );
    Ok(report)
}

/// Keep a run's report in the ledger (`orgsync status` shows the last one; the next quick pass
/// starts from its start). Called once the run is over (after its repairs were applied, when
/// the caller applies them). A dry run keeps its report too: it queues nothing and changes no
/// record, but what it found is worth showing.
pub async fn save_report<S: Store>(store: &S, report: &Report) -> Result<(), EngineError> {
    let json = serde_json::to_value(report)
        .map_err(|e| EngineError::Config(format!("cannot encode the report: {e}")))?;
    store
        .put_reconcile_run(&ReconcileRun {
            started_at: report.started_at,
            finished_at: report.finished_at,
            full: report.full,
            mode: report.mode.as_str().to_string(),
            report: json,
        })
        .await?;
    Ok(())
}
