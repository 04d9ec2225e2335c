//! Reading one (org, object) for a pass, and what the ledger knows of what was read.
//!
//! Quick: one `queryAll` of the rows whose SystemModstamp is after the window's start (live
//! and deleted together: modified and deleted since), then `SELECT COUNT()` compared with the
//! ledger's live copies there; a count that disagrees escalates to a full pass. Full: one
//! `queryAll` of every row (2,000 per page). What the ledger knows of them: [`super::known`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use orgsync_core::merge::RecordState;
use orgsync_core::reconcile::{Copy, Drift, DriftClass, Entry, Input, PassKind, PassReport, Scope};
use orgsync_core::{GlobalId, OrgId, Settings};
use orgsync_store::{RecordRow, Store};

use super::{PassProgress, ProgressFn};
use crate::capture::Captured;
use crate::capture::ingest::Ingest;
use crate::capture::poll::{select_list, to_row};
use crate::error::EngineError;
use crate::leg::Leg;
use crate::orgs::OrgConn;

/// Ids per confirming read (keeps the URL short).
const CONFIRM_IDS: usize = 200;

/// One pass's reading, with the ledger's side of it.
pub(super) struct Pass {
    pub rows: Vec<Captured>,
    pub copies: Vec<Copy>,
    pub scope: Scope,
    pub entries: HashMap<GlobalId, Entry>,
    pub agreed: HashMap<GlobalId, RecordState>,
    pub pending: HashSet<GlobalId>,
    pub parents_deleted: HashSet<GlobalId>,
    pub report: PassReport,
}

impl Pass {
    /// The classifier's input.
    pub fn input<'a>(
        &'a self,
        settings: &'a Settings,
        leg: &'a Leg,
        org_id: &'a OrgId,
    ) -> Input<'a> {
        Input {
            settings,
            sync: leg.settings(settings),
            org: &leg.org,
            org_id,
            scope: self.scope,
            copies: &self.copies,
            entries: &self.entries,
            agreed: &self.agreed,
            pending: &self.pending,
            parents_deleted: &self.parents_deleted,
        }
    }
}

fn api(leg: &Leg) -> impl Fn(sfclient::SfError) -> EngineError + '_ {
    move |source| EngineError::Api {
        org: leg.org.clone(),
        source,
    }
}

/// Read `leg` for a pass: quick when `since` is set (escalated to full when the counts
/// disagree), full otherwise.
pub(super) async fn pass<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    conn: &OrgConn,
    since: Option<DateTime<Utc>>,
    progress: &ProgressFn,
) -> Result<Pass, EngineError> {
    let settings = ingest.settings.as_ref();
    let sync = leg.settings(settings);
    let sent = || conn.client.budget().requests_sent;
    let start = sent();
    let mut report = PassReport {
        org: leg.org.clone(),
        object: leg.object.clone(),
        kind: PassKind::Quick,
        records: 0,
        org_count: None,
        ledger_count: None,
        calls: 0,
    };
    let conds: Vec<String> = sync.where_clause.iter().map(|w| format!("({w})")).collect();
    if let Some(since) = since {
        let mut window = conds.clone();
        window.push(format!(
            "SystemModstamp > {}",
            sfclient::values::soql_datetime_ms(&since)
        ));
        let how = Reading {
            leg,
            conn,
            gid_field: &sync.global_id_field,
            kind: PassKind::Quick,
            total: None,
            start,
        };
        let rows = read(how, &soql(settings, leg, &window), progress).await?;
        let count_soql = format!("SELECT COUNT() FROM {}{}", leg.object, where_of(&conds));
        let org_count = conn
            .client
            .query_page(&count_soql, false)
            .await
            .map_err(api(leg))?
            .total_size;
        let ledger_count = ingest.store.count_live(&leg.org, &leg.object).await?;
        report.org_count = Some(org_count);
        report.ledger_count = Some(ledger_count);
        if org_count == ledger_count {
            report.records = rows.len() as u64;
            report.calls = sent() - start;
            let entries = super::known::window_entries(ingest, leg, &rows).await?;
            return super::known::finish(ingest, leg, rows, entries, Scope::Window, report).await;
        }
        tracing::info!(leg = %leg, org_count, ledger_count, "counts differ: full pass");
    }
    report.kind = PassKind::Full;
    let entries: HashMap<GlobalId, RecordRow> = ingest
        .store
        .records_in(&leg.org, &leg.object)
        .await?
        .into_iter()
        .map(|r| (r.global_id.clone(), r))
        .collect();
    let total = Some(entries.values().filter(|r| r.local_id.is_some()).count() as u64);
    let how = Reading {
        leg,
        conn,
        gid_field: &sync.global_id_field,
        kind: PassKind::Full,
        total,
        start,
    };
    let rows = read(how, &soql(settings, leg, &conds), progress).await?;
    report.records = rows.len() as u64;
    report.calls = sent() - start;
    super::known::finish(ingest, leg, rows, entries, Scope::Full, report).await
}

fn where_of(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

fn soql(settings: &Settings, leg: &Leg, conds: &[String]) -> String {
    format!(
        "SELECT {} FROM {}{} ORDER BY SystemModstamp, Id",
        select_list(settings, leg).join(", "),
        leg.object,
        where_of(conds)
    )
}

/// How a pass reads, for its progress reports.
struct Reading<'a> {
    leg: &'a Leg,
    conn: &'a OrgConn,
    gid_field: &'a str,
    kind: PassKind,
    /// Rows expected, when known.
    total: Option<u64>,
    /// The org's call counter when the pass began.
    start: u64,
}

/// Stream one `queryAll`, reporting progress per page.
async fn read(
    r: Reading<'_>,
    soql: &str,
    progress: &ProgressFn,
) -> Result<Vec<Captured>, EngineError> {
    let Reading {
        leg,
        conn,
        gid_field,
        kind,
        total,
        start,
    } = r;
    let mut stream = conn.client.query_all(soql);
    let mut rows = Vec::new();
    let tell = |read: usize, done: bool| {
        progress(&PassProgress {
            org: leg.org.to_string(),
            object: leg.object.clone(),
            kind,
            read: read as u64,
            total,
            calls: conn.client.budget().requests_sent - start,
            done,
        });
    };
    while let Some(rec) = stream.next().await {
        let rec = rec.map_err(api(leg))?;
        rows.extend(to_row(leg, &rec, gid_field));
        if rows.len().is_multiple_of(2000) {
            tell(rows.len(), false);
        }
    }
    tell(rows.len(), true);
    Ok(rows)
}

/// A copy reported missing may only be outside the sync's `where` filter (or restored since
/// the read): look the candidates up by id, live or deleted, and keep only those found
/// nowhere. Costs a call per 200 candidates, and nothing when none is missing.
pub(super) async fn confirm_missing(
    leg: &Leg,
    conn: &OrgConn,
    drifts: Vec<Drift>,
) -> Result<Vec<Drift>, EngineError> {
    let ids: Vec<String> = drifts
        .iter()
        .filter(|d| d.class == DriftClass::Missing)
        .filter_map(|d| d.local_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(drifts);
    }
    let mut found = HashSet::new();
    for part in ids.chunks(CONFIRM_IDS) {
        let soql = format!(
            "SELECT Id FROM {} WHERE Id IN ({})",
            leg.object,
            crate::convert::soql_in_list(part)
        );
        let mut stream = conn.client.query_all(&soql);
        while let Some(rec) = stream.next().await {
            let rec = rec.map_err(api(leg))?;
            if let Some(id) = rec.get("Id").and_then(|v| v.as_str()) {
                found.insert(id.to_string());
            }
        }
    }
    Ok(drifts
        .into_iter()
        .filter(|d| {
            d.class != DriftClass::Missing || d.local_id.as_ref().is_none_or(|l| !found.contains(l))
        })
        .collect())
}
