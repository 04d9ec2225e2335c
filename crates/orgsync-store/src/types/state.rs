//! Checkpoints, the id map and shadows, and agreed field versions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use orgsync_core::life::Life;
use orgsync_core::merge::{ShadowValue, Versioned};
use orgsync_core::{GlobalId, OrgName};
use serde::{Deserialize, Serialize};

/// Which capture source a checkpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// REST polling on the `(SystemModstamp, Id)` keyset.
    Poll,
    /// Change Data Capture (Pub/Sub API replay id).
    Cdc,
}

impl SourceKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Poll => "poll",
            SourceKind::Cdc => "cdc",
        }
    }
}

/// How far a capture source has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The org read.
    pub org: OrgName,
    /// The object read.
    pub object: String,
    /// Poll or CDC.
    pub source: SourceKind,
    /// Poll keyset: last `SystemModstamp` read.
    pub watermark_ts: Option<DateTime<Utc>>,
    /// Poll keyset: last `Id` read at that `SystemModstamp`.
    pub watermark_id: Option<String>,
    /// CDC: the last replay id (opaque bytes).
    pub replay_id: Option<Vec<u8>>,
    /// When it last moved (set by the store).
    pub updated_at: DateTime<Utc>,
}

/// One org's record as the ledger knows it: the id map entry and the shadow.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// The org.
    pub org: OrgName,
    /// The object in that org.
    pub object: String,
    /// The record's global id.
    pub global_id: GlobalId,
    /// Its id in that org; None while it has not landed there.
    pub local_id: Option<String>,
    /// Hash of the synced values last written to / read from that org.
    pub fingerprint: Option<[u8; 32]>,
    /// Per field (lowercased name): the value the org holds and since when.
    pub shadow: BTreeMap<String, ShadowValue>,
    /// Deleted there.
    pub deleted: bool,
    /// When that was last known (the commit time of the capture, or the send time of our
    /// write, that said so).
    pub deleted_at: Option<DateTime<Utc>>,
    /// The newest `SystemModstamp` seen for it there.
    pub last_modstamp: Option<DateTime<Utc>>,
    /// Last write to this row.
    pub updated_at: DateTime<Utc>,
}

/// A change to one org's record row. The store applies it as a merge so that concurrent
/// writers (capture of that org, a worker writing to it) never lose each other's facts:
/// shadow fields merge per field keeping the newer `at` (ties: this write), `None` leaves a
/// column as it is, and `last_modstamp` only moves forward.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    /// The org.
    pub org: OrgName,
    /// The object in that org.
    pub object: String,
    /// The record's global id.
    pub global_id: GlobalId,
    /// Set the local id (and wake Pending children in that org waiting for this record).
    pub local_id: Option<String>,
    /// Set the fingerprint.
    pub fingerprint: Option<[u8; 32]>,
    /// Shadow fields to merge in.
    pub shadow: BTreeMap<String, ShadowValue>,
    /// Set the deleted flag — unless the stored one is known as of a later time than
    /// `deleted_at` (a fact never replaces a newer one).
    pub deleted: Option<bool>,
    /// As of when `deleted` is known; None: as of now (always applied).
    pub deleted_at: Option<DateTime<Utc>>,
    /// A `SystemModstamp` seen.
    pub modstamp: Option<DateTime<Utc>>,
}

impl RecordWrite {
    /// A write that changes nothing yet; fill the fields you know.
    pub fn new(org: OrgName, object: impl Into<String>, global_id: GlobalId) -> Self {
        RecordWrite {
            org,
            object: object.into(),
            global_id,
            local_id: None,
            fingerprint: None,
            shadow: BTreeMap::new(),
            deleted: None,
            deleted_at: None,
            modstamp: None,
        }
    }
}

/// The agreed value of each field of one record (source-side lowercased names), the
/// per-field last-writer-wins register of [`orgsync_core::merge::RecordState::agreed`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgreedRow {
    /// The sync's source-side object name.
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// Field → agreed version.
    pub fields: BTreeMap<String, Versioned>,
    /// The agreed life (None: never recorded, live).
    pub life: Option<Life>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
}

/// Agreed versions to merge in: per field the version with the newer commit time is kept
/// (ties: this write), so concurrent captures of two orgs commute.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreedWrite {
    /// The sync's source-side object name.
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// Field → version.
    pub fields: BTreeMap<String, Versioned>,
    /// The life event to merge in ([`orgsync_core::life::merge_life`]), if any.
    pub life: Option<Life>,
}

/// A checkpoint position to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointWrite {
    /// The org read.
    pub org: OrgName,
    /// The object read.
    pub object: String,
    /// Poll or CDC.
    pub source: SourceKind,
    /// Poll keyset timestamp.
    pub watermark_ts: Option<DateTime<Utc>>,
    /// Poll keyset id.
    pub watermark_id: Option<String>,
    /// CDC replay id.
    pub replay_id: Option<Vec<u8>>,
}

/// One reconcile run as the ledger keeps it: `orgsync status` shows the last one, and the next
/// quick pass reads what changed since the last run began.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileRun {
    /// When it began (the next quick pass reads changes from here, minus the look-back).
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// A full pass (every record read) rather than a quick one.
    pub full: bool,
    /// `dry-run`, `report` or `repair`.
    pub mode: String,
    /// The whole report, as the reconciler wrote it (`orgsync_core::reconcile::Report`).
    pub report: serde_json::Value,
}
