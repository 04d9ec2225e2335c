//! What a reconcile run found and did: the drifted records with their class and repair, the
//! passes with their API cost, and the totals `orgsync reconcile` prints and `orgsync status`
//! shows (kept in the ledger as JSON).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::OrgName;
use crate::model::GlobalId;

/// The kinds of drift a pass tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftClass {
    /// The ledger maps the record to a copy in the org, which is gone (not even in its recycle
    /// bin) while the record is live.
    Missing,
    /// A copy carries a global id (its external-id field, or its own id names a record the
    /// ledger knows) but the ledger does not map it in that org.
    UnknownWithGlobalId,
    /// A copy the ledger has never heard of and carrying no global id: a new record.
    UnknownNew,
    /// A live copy holds values other than the agreed ones (the fields are listed).
    Stale,
    /// The copy is deleted where the record is live by agreement, or live where it is deleted.
    DeletedInSomeOrgs,
    /// Two live copies in one org stand for the same record.
    DuplicateGlobalId,
    /// A lookup points at another parent than the agreed one.
    WrongParent,
}

impl DriftClass {
    /// Every class, in report order.
    pub const ALL: [DriftClass; 7] = [
        DriftClass::Missing,
        DriftClass::UnknownWithGlobalId,
        DriftClass::UnknownNew,
        DriftClass::Stale,
        DriftClass::DeletedInSomeOrgs,
        DriftClass::DuplicateGlobalId,
        DriftClass::WrongParent,
    ];

    /// The name printed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftClass::Missing => "missing",
            DriftClass::UnknownWithGlobalId => "unknown_with_global_id",
            DriftClass::UnknownNew => "unknown_new",
            DriftClass::Stale => "stale",
            DriftClass::DeletedInSomeOrgs => "deleted_in_some_orgs",
            DriftClass::DuplicateGlobalId => "duplicate_global_id",
            DriftClass::WrongParent => "wrong_parent",
        }
    }
}

/// The repair a drift needs. Every repair goes through the ledger like any change: the engine
/// never writes to an org outside the normal apply path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// The copy changed after what the ledger last saw of it (SystemModstamp) and after the
    /// agreed version: a change capture missed. It is ingested like a captured row, so the
    /// merge and conflict policy decide, and it propagates to the other orgs.
    Propagate,
    /// The org is behind: its copy is brought back to the agreed state (the ledger's view of
    /// the copy is corrected first, so the write decided for it brings exactly what it lacks).
    Restore,
    /// The copy is gone without a captured delete: it is created again from the agreed
    /// record, and the id map then points at the new row.
    Recreate,
    /// The copy carries a global id the ledger does not map there: the id map is pointed at
    /// it, and it is brought to the agreed state.
    Adopt,
    /// Not repaired automatically (which duplicate to remove is an operator's call).
    Manual,
}

/// One drifted record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The class.
    pub class: DriftClass,
    /// The sync's (source-side) object.
    pub object: String,
    /// The org whose copy drifted.
    pub org: OrgName,
    /// The record's global id, when it has one.
    pub global_id: Option<GlobalId>,
    /// The copy's id in that org, when it has one there.
    pub local_id: Option<String>,
    /// The fields that differ (merge keys), for stale values and wrong parents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The repair it needs.
    pub fix: Fix,
}

/// Whether a run only looks, or also repairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Report only; nothing is queued or written.
    DryRun,
    /// Queue the repairs in the ledger (the running service, or this command, applies them).
    Repair,
}

impl Mode {
    /// The name printed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Repair => "repair",
        }
    }
}

/// Quick or full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassKind {
    /// Changes since the last run plus `COUNT()`.
    Quick,
    /// Every record's synced fields.
    Full,
}

/// One (org, object) pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassReport {
    /// The org.
    pub org: OrgName,
    /// The object as named in that org.
    pub object: String,
    /// Quick or full (a quick pass whose count disagreed is followed by a full one).
    pub kind: PassKind,
    /// Rows read (live and deleted).
    pub records: u64,
    /// The org's `COUNT()` (quick passes).
    pub org_count: Option<u64>,
    /// Live copies the ledger maps there (quick passes).
    pub ledger_count: Option<u64>,
    /// API calls the pass spent.
    pub calls: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// `--full` was asked for.
    pub full: bool,
    /// Dry run or repair.
    pub mode: Mode,
    /// Every (org, object) pass.
    pub passes: Vec<PassReport>,
    /// API calls per org (every call of the run: queries, counts).
    pub api_calls: BTreeMap<String, u64>,
    /// Every drifted record.
    pub drifts: Vec<Drift>,
    /// Records left alone because an item for them is still waiting to be written: not
    /// drift, work in progress.
    pub skipped_pending: u64,
    /// Repair items queued in the ledger (records ingested as missed changes count once).
    pub queued: u64,
    /// Repairs applied by this command before it returned (`--repair` without
    /// `--queue-only`); the rest is left to the running service.
    pub applied: u64,
}

impl Report {
    /// Drifts per object and class.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<DriftClass, u64>> {
        let mut out: BTreeMap<String, BTreeMap<DriftClass, u64>> = BTreeMap::new();
        for d in &self.drifts {
            *out.entry(d.object.clone())
                .or_default()
                .entry(d.class)
                .or_default() += 1;
        }
        out
    }

    /// API calls of the whole run.
    pub fn total_calls(&self) -> u64 {
        self.api_calls.values().sum()
    }
}
