//! Sync status rows (Active / Paused / Error / Circuit open with the reason, last sync time,
//! error count, last error), written when a capture finishes and whenever an org's health
//! changes, so `orgsync status` and the dashboard read them from the ledger.
//!
//! Every write derives the headline afresh from the facts (`orgsync_core::status::headline`):
//! the org's health as its writer and login task keep it, and the sync's enabled flag. A
//! capture finishing therefore cannot overwrite a budget pause with Active, and a recovered
//! org turns Active again by itself. Writes are serialized, so the last one always carries the
//! latest facts.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use orgsync_core::config::Capture;
use orgsync_core::status::{Facts, SyncState, headline};
use orgsync_core::{OrgName, Settings};
use orgsync_store::{CircuitState, Item, OrgRow, Store, SyncRow, SyncStatus};

use crate::error::EngineError;
use crate::leg::{Leg, Legs};
use crate::orgs::Orgs;
use crate::overlay::{Switch, Switches};

/// Writes the sync rows.
#[derive(Debug)]
pub(crate) struct StatusWriter<S> {
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub legs: Arc<Legs>,
    pub orgs: Arc<Orgs>,
    /// Whether each sync captures now (paused and resumed at runtime from the overlay).
    pub switches: Arc<Switches>,
    /// Per leg (org, sync index): a mapped field missing or not writable there
    /// ([`crate::schema`]); the sync shows Error with it until a describe finds it fixed.
    schema: std::sync::Mutex<HashMap<(OrgName, usize), String>>,
    /// Orgs whose `/limits` was asked because no call had told their API usage yet (an org
    /// first heard from on the change-event stream): asked once per org and process.
    limits_asked: std::sync::Mutex<std::collections::HashSet<OrgName>>,
    serial: tokio::sync::Mutex<()>,
}

fn capture_name(c: Capture) -> &'static str {
    match c {
        Capture::Poll => "poll",
        Capture::Cdc => "cdc",
        Capture::Outbound => "outbound",
    }
}

fn stored(state: SyncState) -> SyncStatus {
    match state {
        SyncState::Active => SyncStatus::Active,
        SyncState::Paused => SyncStatus::Paused,
        SyncState::Error => SyncStatus::Error,
        SyncState::CircuitOpen => SyncStatus::CircuitOpen,
    }
}

impl<S: Store> StatusWriter<S> {
    pub fn new(
        settings: Arc<Settings>,
        store: Arc<S>,
        legs: Arc<Legs>,
        orgs: Arc<Orgs>,
        switches: Arc<Switches>,
    ) -> Self {
        StatusWriter {
            settings,
            store,
            legs,
            orgs,
            switches,
            schema: std::sync::Mutex::new(HashMap::new()),
            limits_asked: std::sync::Mutex::new(std::collections::HashSet::new()),
            serial: tokio::sync::Mutex::new(()),
        }
    }

    /// The row of `leg` as it starts: nothing known.
    fn initial(&self, leg: &Leg) -> SyncRow {
        let sync = leg.settings(&self.settings);
        SyncRow {
            org: leg.org.clone(),
            object: leg.object.clone(),
            capture: capture_name(sync.capture).into(),
            interval_secs: u32::try_from(sync.interval.as_secs()).unwrap_or(u32::MAX),
            enabled: sync.enabled,
            status: SyncStatus::Active,
            last_sync_at: None,
            error_count: 0,
            last_error: None,
        }
    }

    /// Read-modify-write the row of `leg`, its headline derived from the facts now.
    async fn write(&self, leg: &Leg, change: impl FnOnce(&mut SyncRow)) {
        let enabled = match self.switches.get(leg.sync) {
            Switch::On => true,
            Switch::Off => false,
            // removed while running: its rows went with it
            Switch::Removed => return,
        };
        let _one_at_a_time = self.serial.lock().await;
        let mut row = match self.store.sync(&leg.org, &leg.object).await {
            Ok(Some(r)) => r,
            Ok(None) => self.initial(leg),
            Err(e) => {
                tracing::warn!(leg = %leg, error = %e, "cannot read the sync status");
                return;
            }
        };
        change(&mut row);
        let sync = leg.settings(&self.settings);
        row.enabled = enabled;
        row.capture = capture_name(sync.capture).into();
        let health = self
            .orgs
            .get(&leg.org)
            .map(|o| o.health())
            .unwrap_or_default();
        let circuit = health.circuit.as_ref().map(|(_, why)| why.as_str());
        let login = health.login_error.as_deref();
        let schema = self.schema_problem(leg);
        let failed = match self.store.failed_writes(&leg.org, &leg.object).await {
            Ok((0, _)) => None,
            Ok((n, error)) => Some((n, error.unwrap_or_else(|| "no error recorded".into()))),
            Err(e) => {
                tracing::warn!(leg = %leg, error = %e, "cannot count the failed writes");
                None
            }
        };
        let facts = Facts {
            enabled,
            auth_refused: login.filter(|_| health.auth_refused),
            unreachable: login.filter(|_| !health.auth_refused),
            circuit_open: circuit,
            mapping_broken: schema.as_deref(),
            writes_failed: failed.as_ref().map(|(n, e)| (*n, e.as_str())),
            budget_paused: health.budget_paused,
            quota_paused: health.quota_until.is_some_and(|u| u > Utc::now()),
        };
        let h = headline(&facts);
        let was_held = row.status != SyncStatus::Active;
        row.status = stored(h.state);
        // back to Active from a pause, an open circuit or a broken mapping: the reason it was
        // held no longer holds (a capture error, counted in error_count, stays shown)
        if was_held && h.state == SyncState::Active && row.error_count == 0 {
            row.last_error = None;
        }
        if let Some(reason) = h.reason.filter(|_| h.state != SyncState::Active) {
            row.last_error = Some(reason);
        }
        if let Err(e) = self.store.put_sync(&row).await {
            tracing::warn!(leg = %leg, error = %e, "cannot write the sync status");
        }
    }

    /// The schema problem of `leg`, if any.
    pub fn schema_problem(&self, leg: &Leg) -> Option<String> {
        let all = self.schema.lock().unwrap_or_else(|p| p.into_inner());
        all.get(&(leg.org.clone(), leg.sync)).cloned()
    }

    /// Set or clear the schema problem of `leg`; true when it changed (then refresh the rows).
    pub fn set_schema_problem(&self, leg: &Leg, problem: Option<String>) -> bool {
        let mut all = self.schema.lock().unwrap_or_else(|p| p.into_inner());
        let key = (leg.org.clone(), leg.sync);
        let before = match problem {
            Some(p) => all.insert(key.clone(), p),
            None => all.remove(&key),
        };
        before != all.get(&key).cloned()
    }

    /// Rows for every leg (at start), with the current headline.
    pub async fn init(&self) {
        for leg in self.legs.all() {
            self.write(leg, |_| {}).await;
        }
    }

    /// Record a capture's result.
    pub async fn after_capture(&self, leg: &Leg, error: Option<&EngineError>) {
        self.write(leg, |row| match error {
            None => {
                row.last_sync_at = Some(Utc::now());
                row.error_count = 0;
            }
            Some(e) => {
                row.error_count += 1;
                row.last_error = Some(e.to_string());
            }
        })
        .await;
    }

    /// A write round to `org` was completed: when some write failed, re-derive the rows of
    /// its syncs of those items (Error with the newest failure). Rows in Error turn Active
    /// again through [`StatusWriter::refresh_errors`] every overlay tick, so a round that
    /// failed nothing costs no status read or write here.
    pub async fn after_writes(&self, org: &OrgName, items: &[Item], any_failed: bool) {
        if !any_failed {
            return;
        }
        for leg in self.legs.of_org(org) {
            if items.iter().any(|i| i.work.object == leg.object) {
                self.write(leg, |_| {}).await;
            }
        }
    }

    /// Re-derive the rows shown in Error. Why: what holds a row there can go away with no
    /// capture or write round of that sync to notice — failed items dismissed or retried from
    /// the Sync Monitor or the CLI, while a change-event sync waits for its next event or
    /// backup poll. Costs one read of the sync rows; only rows in Error are written.
    pub async fn refresh_errors(&self) {
        let rows = match self.store.syncs().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the sync status");
                return;
            }
        };
        for leg in self.legs.all() {
            let in_error = rows.iter().any(|r| {
                r.org == leg.org && r.object == leg.object && r.status == SyncStatus::Error
            });
            if in_error {
                self.write(leg, |_| {}).await;
            }
        }
    }

    /// An org's health changed: re-derive the headline of each of its syncs, and its row.
    pub async fn refresh_org(&self, org: &OrgName) {
        for leg in self.legs.of_org(org) {
            self.write(leg, |_| {}).await;
        }
        self.note_org(org).await;
    }

    /// True the first time it is asked for `org` (then false): `/limits` is read once.
    fn ask_limits_once(&self, org: &OrgName) -> bool {
        self.limits_asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org.clone())
    }

    /// The org's row: its id, health in words, circuit and API budget as last observed.
    pub async fn note_org(&self, org: &OrgName) {
        let Some(o) = self.orgs.get(org) else {
            return;
        };
        let mut row = match self.store.org(org).await {
            Ok(r) => r.unwrap_or_else(|| OrgRow::new(org.clone())),
            Err(e) => {
                tracing::warn!(%org, error = %e, "cannot read the org row");
                return;
            }
        };
        let h = o.health();
        row.org_id = o.org_id().or(row.org_id);
        row.status = match (&h.login_error, h.auth_refused) {
            (Some(m), true) => format!("login refused: {m}"),
            (Some(m), false) => format!("unreachable: {m}"),
            (None, _) if h.budget_paused => "paused: API budget share reached".into(),
            (None, _) => "ok".into(),
        };
        (row.circuit, row.circuit_until) = match &h.circuit {
            Some((until, _)) => (CircuitState::Open, Some(*until)),
            None => (CircuitState::Closed, None),
        };
        if let Some(u) = o.conn().and_then(|c| c.client.budget().api_usage) {
            row.budget_used = i64::try_from(u.used).ok();
            row.budget_max = i64::try_from(u.max).ok();
            row.budget_observed_at = Some(Utc::now());
        } else if row.budget_max.is_none()
            && let Some(conn) = o.conn()
            && self.ask_limits_once(org)
        {
            // nothing has told the usage yet (data only from the change-event stream, whose
            // answers carry no Sforce-Limit-Info): one `/limits` call says it
            match conn.client.limits().await {
                Ok(l) => {
                    if let Some(u) = l.daily_api_requests() {
                        row.budget_used = i64::try_from(u.used).ok();
                        row.budget_max = i64::try_from(u.max).ok();
                        row.budget_observed_at = Some(Utc::now());
                    }
                }
                Err(e) => tracing::debug!(%org, error = %e, "cannot read the org's /limits"),
            }
        }
        if let Err(e) = self.store.put_org(&row).await {
            tracing::warn!(%org, error = %e, "cannot write the org row");
        }
    }
}
