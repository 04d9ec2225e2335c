//! The pure middle of an ingest: captured rows of one leg, with what the ledger knows of them
//! (loaded by [`super::ingest`]), become the capture batch to commit — no I/O here.
//!
//! Per row: which record it is (the id map by local id, else the global id it carries, else a
//! new record of this org), whether it is news (a polled row already seen at its
//! SystemModstamp is not; an old incarnation of a record now known under another id is not),
//! which changes it stands for (delete; undelete then upsert; upsert), each processed by
//! `orgsync_core::pipeline::process`; then anti-entropy: an org whose copy lacks part of the
//! agreed state after the merge gets an item (`orgsync_core::write::behind`), and the write
//! decided when it is claimed brings exactly what it lacks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orgsync_core::merge::RecordState;
use orgsync_core::pipeline::{self, Dropped, Ledger, PipelineError};
use orgsync_core::{Change, ChangeKind, GlobalId, Op, OrgId, OrgName, Origin, Settings, SyncItem};
use orgsync_store::{
    AgreedWrite, CaptureBatch, NewAudit, NewConflict, NewItem, RecordRow, RecordWrite,
};

use super::Captured;
use crate::leg::Leg;

/// What the ledger knows that a chunk's plan needs.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// The capturing org's record rows by local id.
    pub by_local: HashMap<String, RecordRow>,
    /// The capturing org's record rows by global id (for rows carrying one).
    pub by_gid: HashMap<GlobalId, RecordRow>,
    /// Lookup parents known to the ledger: (parent object on this org lowercased, local id) →
    /// global id.
    pub parents: HashMap<(String, String), GlobalId>,
    /// Merge states by global id.
    pub states: HashMap<GlobalId, RecordState>,
    /// Where the lookup parents of the rows stand: an empty lookup to a deleted one read back
    /// is dormant, not an edit.
    pub parents_deleted: ParentLife,
}

/// Where the lookup parents behind a read's lookups stand (see `dormant.rs`).
#[derive(Debug, Default, Clone)]
pub(crate) struct ParentLife {
    /// Deleted by agreement or in the capturing org (its ledger row, or its recycle bin), and
    /// not found live there.
    pub deleted: std::collections::HashSet<GlobalId>,
    /// Live in the capturing org when asked.
    pub live: std::collections::HashSet<GlobalId>,
    /// Of those, deleted there as far as the ledger knows (restored, not captured yet), with
    /// their `SystemModstamp` there.
    pub restored: HashMap<GlobalId, DateTime<Utc>>,
    /// (row local id, parent) read again with the parent live: the lookup holds a value now.
    pub refilled: std::collections::HashSet<(String, GlobalId)>,
    /// (row local id, parent) read again with the parent live: the lookup is still empty.
    pub emptied: std::collections::HashSet<(String, GlobalId)>,
    /// Parents behind a lookup a read shows set where the copy was known empty, deleted there
    /// as far as the ledger knows and found live again: their stay in the recycle bin (see
    /// `orgsync_core::pipeline::given_back`).
    pub binned: HashMap<GlobalId, pipeline::Binned>,
}

impl ParentLife {
    /// Whether an empty lookup to `parent`, in row `id` last edited at `edited`, is
    /// Salesforce's clearing (dormant, or a read older than its restore) rather than an edit.
    /// A parent live there: the row read again says (set again → no edit; still empty →
    /// someone emptied it); unread, a parent restored there after the row's last edit is
    /// taken to have its lookup back, any other live parent never cleared it.
    pub fn dormant(&self, parent: &GlobalId, id: &str, edited: DateTime<Utc>) -> bool {
        if !self.live.contains(parent) {
            return self.deleted.contains(parent);
        }
        let key = (id.to_string(), parent.clone());
        if self.refilled.contains(&key) {
            return true;
        }
        !self.emptied.contains(&key) && self.restored.get(parent).is_some_and(|at| *at > edited)
    }
}

/// A parent that came back in this chunk.
#[derive(Debug, Clone)]
pub(crate) struct Comeback {
    /// Its global id.
    pub parent: GlobalId,
    /// Its id in the capturing org.
    pub local_id: String,
    /// Revived by agreement — every org's children need their lookups written — rather than
    /// restored in the capturing org only.
    pub revived: bool,
    /// Its stay in the capturing org's recycle bin, when the ledger knew its delete there.
    pub binned: Option<pipeline::Binned>,
}

/// Parents that came back in this chunk.
pub(crate) type Comebacks = Vec<Comeback>;

/// What a plan found, for the counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    /// Rows that were news.
    pub rows: u64,
    /// Changes dropped as echoes or as carrying nothing new.
    pub echoes: u64,
    /// Of those, our own writes told by the origin tag (the rest: by shadow values).
    pub own_writes: u64,
    /// Conflicts recorded.
    pub conflicts: u64,
}

/// A captured row placed: its global id and record row, if known.
pub(crate) struct Placed<'a> {
    pub row: &'a Captured,
    pub gid: GlobalId,
    pub known: Option<&'a RecordRow>,
}

/// Which record each row is, dropping rows that are no news.
pub(crate) fn place<'a>(rows: &'a [Captured], known: &'a Known, org_id: &OrgId) -> Vec<Placed<'a>> {
    rows.iter()
        .filter_map(|row| {
            let by_gid = row.gid_field.as_ref().and_then(|g| known.by_gid.get(g));
            let k = known.by_local.get(&row.id).or(by_gid);
            if let Some(k) = k {
                if let (Some(seen), Some(m)) = (k.last_modstamp, row.modstamp)
                    && k.local_id.as_deref() == Some(row.id.as_str())
                    && seen >= m
                {
                    return None; // already read at this SystemModstamp
                }
                if k.local_id.as_deref().is_some_and(|l| l != row.id) && (row.deleted || !k.deleted)
                {
                    // another incarnation of a record the ledger knows under a newer id: a
                    // copy left in the recycle bin, or a duplicate — not the record
                    return None;
                }
            }
            let gid = match (k, &row.gid_field) {
                (Some(k), _) => k.global_id.clone(),
                (None, Some(g)) => g.clone(),
                (None, None) if row.deleted => return None, // deleted before it was ever synced
                (None, None) => GlobalId::new(org_id.clone(), &row.id).ok()?,
            };
            Some(Placed { row, gid, known: k })
        })
        .collect()
}

/// Plan the batch for `rows` of `leg` (without its checkpoint).
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    settings: &Settings,
    leg: &Leg,
    rows: &[Placed<'_>],
    parents: &HashMap<(String, String), GlobalId>,
    parents_deleted: &ParentLife,
    mut states: HashMap<GlobalId, RecordState>,
    org_id: &OrgId,
    now: DateTime<Utc>,
) -> Result<(CaptureBatch, Tally, Comebacks), PipelineError> {
    let sync = leg.settings(settings);
    let org = &leg.org;
    let id_of = |o: &OrgName| (o == org).then(|| org_id.clone());
    let global_id_of = |_o: &OrgName, obj: &str, id: &str| {
        parents
            .get(&(obj.to_ascii_lowercase(), id.to_string()))
            .cloned()
    };
    let ledger = Ledger {
        org_id: &id_of,
        global_id_of: &global_id_of,
    };
    let mut batch = CaptureBatch::default();
    let mut tally = Tally::default();
    let mut comebacks = Comebacks::new();
    for p in rows {
        let row = p.row;
        // Change events say what changed; a read says what the copy holds: a deleted row is
        // a delete, then the values it held (edits made just before it count, merged while
        // deleted); a live row the ledger knows deleted is an undelete, then its values.
        // a live row says "undeleted" only if it is newer than the fact that the copy was
        // deleted (a read taken before our delete there landed is no undelete)
        let known_deleted = p
            .known
            .is_some_and(|k| k.deleted && k.deleted_at.is_none_or(|t| row.commit_ts > t));
        let kinds: &[(ChangeKind, bool)] = if row.deleted && !row.fields.is_empty() {
            &[(ChangeKind::Delete, false), (ChangeKind::Upsert, true)]
        } else if row.deleted {
            &[(ChangeKind::Delete, false)]
        } else if row.restored {
            &[(ChangeKind::Undelete, true)]
        } else if known_deleted {
            &[(ChangeKind::Undelete, false), (ChangeKind::Upsert, true)]
        } else {
            &[(ChangeKind::Upsert, true)]
        };
        let mut state = states.remove(&p.gid).unwrap_or_default();
        let was_deleted = state.is_deleted();
        let ours = row.client_tag.as_deref().is_some_and(|t| {
            orgsync_core::echo::origin_is_ours(&format!("client={t}"), &settings.engine.client_tag)
        });
        let mut given_back = Vec::new();
        for (kind, with_fields) in kinds {
            let kind = *kind;
            let mut fields = if *with_fields {
                row.fields.clone()
            } else {
                Default::default()
            };
            if row.snapshot && !ours {
                // a lookup Salesforce cleared when its parent was deleted is no edit
                let edited = row.edited_ts.unwrap_or(row.commit_ts);
                let deleted = |g: &GlobalId| parents_deleted.dormant(g, &row.id, edited);
                pipeline::drop_dormant_lookups(
                    sync,
                    leg.side.is_source(),
                    &state,
                    org,
                    &mut fields,
                    edited,
                    &deleted,
                );
                // and a lookup Salesforce gave back with its parent's undelete is none either:
                // the org holds it since then (below, after the merge)
                let parent_of = |obj: &str, id: &str| {
                    parents
                        .get(&(obj.to_ascii_lowercase(), id.to_string()))
                        .cloned()
                };
                given_back.extend(pipeline::take_given_back(
                    sync,
                    leg.side.is_source(),
                    &state,
                    org,
                    &mut fields,
                    (edited, row.modstamp.unwrap_or(row.commit_ts)),
                    &parent_of,
                    &|g| parents_deleted.binned.get(g).copied(),
                ));
            }
            // a read's values as of its last edit, its life events as of SystemModstamp
            let commit_ts = match (kind, row.edited_ts) {
                (ChangeKind::Upsert, Some(edited)) if edited <= row.commit_ts => edited,
                _ => row.commit_ts,
            };
            let change = Change {
                org: org.clone(),
                object: leg.object.clone(),
                record_id: row.id.clone(),
                global_id: Some(p.gid.clone()),
                fields,
                commit_ts,
                origin: Origin {
                    org: org.clone(),
                    client_tag: row.client_tag.clone(),
                    via_push_from: None,
                },
                kind,
                txn_id: format!("{}:{kind:?}", row.txn_id),
                snapshot: row.snapshot,
            };
            let out = pipeline::process(settings, sync, &change, &state, ledger)?;
            if matches!(out.dropped, Some(Dropped::NoChange | Dropped::OwnWrite)) {
                tally.echoes += 1;
            }
            if out.dropped == Some(Dropped::OwnWrite) {
                tally.own_writes += 1;
            }
            if let Some(a) = echo_audit(out.dropped, row, &change, now) {
                batch.audit.push(a);
            }
            for item in out.items {
                batch.items.push(
                    NewItem::new(item, row.commit_ts)
                        .from_source(org.clone(), row.id.clone())
                        .with_txn(change.txn_id.clone()),
                );
            }
            tally.conflicts += out.conflicts.len() as u64;
            batch
                .conflicts
                .extend(out.conflicts.into_iter().map(|c| NewConflict {
                    object: sync.object.clone(),
                    global_id: p.gid.clone(),
                    field: c.field,
                    incoming: c.incoming,
                    current: c.current,
                    winner: c.winner,
                    reason: format!("{:?}", c.resolution).to_ascii_lowercase(),
                    at: now,
                }));
            state = out.state;
        }
        for (key, parent, at) in given_back.drain(..) {
            tracing::debug!(%org, record = %row.id, field = %key, %parent, "lookup given back by its parent's undelete: held, not an edit");
            let value = orgsync_core::FieldValue::Text(parent.to_string());
            state.holds(org, &[(key, value)].into_iter().collect(), at);
        }
        // a parent back from the recycle bin: Salesforce restores only the lookups it cleared
        // (and only where it restores), so children synced meanwhile lack theirs
        let revived = was_deleted && !state.is_deleted();
        let restored_here =
            kinds.iter().any(|(k, _)| *k == ChangeKind::Undelete) && !state.deleted.contains(org);
        if revived || restored_here {
            // since its delete there (the ledger's fact before this read) until now
            let since = p.known.filter(|k| k.deleted).and_then(|k| k.deleted_at);
            comebacks.push(Comeback {
                parent: p.gid.clone(),
                local_id: row.id.clone(),
                revived,
                binned: since.map(|since| pipeline::Binned {
                    since,
                    back: row.commit_ts,
                }),
            });
        }
        // anti-entropy: the org's copy lacks part of the agreed state (an older write of ours
        // landed after a newer edit there, a write lost to a crash, a lookup left behind)
        let queued = batch
            .items
            .iter()
            .any(|i| i.work.target == *org && i.work.global_id == p.gid);
        if !queued && orgsync_core::write::behind(settings, sync, org, &state) {
            batch.items.push(NewItem::new(
                SyncItem {
                    target: org.clone(),
                    object: leg.object.clone(),
                    global_id: p.gid.clone(),
                    op: if state.is_deleted() {
                        Op::Delete
                    } else {
                        Op::Upsert
                    },
                    payload: Default::default(),
                    parents: Vec::new(),
                },
                row.commit_ts,
            ));
        }
        let mut rw = RecordWrite::new(org.clone(), &leg.object, p.gid.clone());
        rw.local_id = Some(row.id.clone());
        rw.shadow = state.shadows.get(org).cloned().unwrap_or_default();
        if !ours {
            // our own change event says what our write did: its completion records that
            rw.deleted = Some(row.deleted);
            rw.deleted_at = Some(row.commit_ts);
        }
        rw.modstamp = row.modstamp;
        batch.records.push(rw);
        batch.agreed.push(AgreedWrite {
            object: sync.object.clone(),
            global_id: p.gid.clone(),
            fields: state.agreed.clone(),
            life: state.life.clone(),
        });
        tally.rows += 1;
    }
    Ok((batch, tally, comebacks))
}

/// The audit row of a change dropped as an echo, for the record's timeline: by the origin
/// layer (it carries orgsync's client tag: our own write coming back) or the shadow layer (its
/// values are the ones already agreed), whichever path captured it — a change event, a poll
/// (or an Outbound Messaging re-read), a peer's push — named in `via`.
///
/// Why this does not bury the timeline under a poll's lookback re-reads: a read row at the
/// SystemModstamp the ledger already holds for that copy never gets here ([`place`] drops it
/// first), so a read leaves at most one row per version of the copy — the first read of our
/// own write there, typically.
fn echo_audit(
    dropped: Option<Dropped>,
    row: &Captured,
    change: &Change,
    now: DateTime<Utc>,
) -> Option<NewAudit> {
    let layer = match dropped? {
        Dropped::OwnWrite => "origin",
        Dropped::NoChange => "shadow",
        _ => return None,
    };
    let via = match (row.snapshot, row.modstamp) {
        (false, _) => "change event",
        (true, Some(_)) => "poll",
        (true, None) => "push",
    };
    let mut a = NewAudit::new(now, "echo.dropped");
    a.org = Some(change.org.clone());
    a.object = Some(change.object.clone());
    a.global_id = change.global_id.clone();
    a.detail = serde_json::json!({
        "layer": layer,
        "via": via,
        "source_record_id": change.record_id,
        "txn": change.txn_id,
        "fields": change.fields.keys().collect::<Vec<_>>(),
    });
    Some(a)
}
