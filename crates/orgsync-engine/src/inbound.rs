//! Changes that arrive instead of being fetched: records pushed by a connected peer
//! (`POST /api/v1/sync`, the seeds' payload) and "re-read these records" requests (outbound
//! messages, change-event gaps). Both enter the ledger through the same
//! [`ingest`](crate::capture::ingest) as polled rows, so routing, echo rules and the merge are
//! the same whatever the path.
//!
//! A push is checked whole before anything is written, in this order:
//! - its transactionId: seen with the same content hash → a duplicate, nothing done; seen
//!   with another hash → [`PushError::Replayed`] (a row from before hashes counts as same);
//! - each record's global id: it must originate in the sending org, or be one the ledger
//!   already maps for that org ([`PushError::Foreign`] otherwise: a peer must never name, and
//!   so create or stamp, another org's records); its `Id` must be that record's id there;
//! - each field against the agreed state: an older value than the ledger's is a
//!   [`PushError::Stale`]; values must be scalars.
//!
//! Pushes are partial: a field a record leaves out is not changed anywhere. So that this holds
//! for a record the ledger has not fully seen (new to it, or only ever pushed in part), such
//! records are first read back from the sending org (one query per push) and committed as a
//! poll would; the push then applies on top. Without that read, the record would be created on
//! the other orgs with the pushed fields only, and their first read of it — the other fields
//! empty or at their defaults — would look like edits made there and be written back over the
//! sender's real values. A record that read does not find is [`PushError::NotInSender`].

use chrono::{DateTime, Utc};
use orgsync_core::config::SyncSettings;
use orgsync_core::echo::same_value;
use orgsync_core::mapping::{synced_fields, to_merge_keys};
use orgsync_core::model::{Fields, to_id18};
use orgsync_core::push::{PushOperation, PushRecord, PushRequest};
use orgsync_core::{GlobalId, OrgId, OrgName};
use orgsync_store::{RecordRow, Store, txn_with_hash};
use serde_json::Value;

use crate::capture::Captured;
use crate::convert::from_json;
use crate::engine::Core;
use crate::error::EngineError;
use crate::leg::Leg;

/// A push the engine accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOutcome {
    /// Records in the request.
    pub records: usize,
    /// The transaction id was applied before; nothing was done this time.
    pub duplicate: bool,
}

/// Why a push was refused. Nothing of the push is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// `sourceOrgId` is not a configured org.
    #[error("sourceOrgId {0} is not a connected org")]
    UnknownSource(String),
    /// No sync covers the object on the sending org.
    #[error("object {0} is not synced from the sending org")]
    UnknownObject(String),
    /// The ledger holds a newer version of a field this record changes (HTTP 409).
    #[error("a newer version of record {external_id} exists (field {field} changed at {newer})")]
    Stale {
        external_id: String,
        field: String,
        newer: DateTime<Utc>,
    },
    /// The transactionId was applied before with other content (HTTP 409).
    #[error(
        "transactionId {transaction_id} was already applied with other content; send a new change under a new transactionId"
    )]
    Replayed { transaction_id: String },
    /// A global id that neither originates in the sending org nor is mapped for it (HTTP 403).
    #[error(
        "externalId {external_id} is a record of another org that the sending org does not hold; a peer may push its own records and those synced to it"
    )]
    Foreign { external_id: String },
    /// The record is not in the sending org (read back before applying the push).
    #[error("externalId {external_id}: the sending org has no record {id} of this object")]
    NotInSender { external_id: String, id: String },
    /// A record the engine cannot place (e.g. an external id that is neither a global id nor
    /// a Salesforce id, or an `Id` that is not the record's).
    #[error("{0}")]
    Invalid(String),
    /// The ledger or an org failed (HTTP 500).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The enabled leg whose object on `org` is `object`.
fn enabled_leg<'a, S>(core: &'a Core<S>, org: &OrgName, object: &str) -> Option<&'a Leg> {
    core.legs
        .find(org, object)
        .filter(|l| l.enabled)
        .map(|l| l.as_ref())
}

/// Where a pushed record goes: its global id and its id in the sending org.
struct Placed {
    gid: GlobalId,
    local: String,
}

/// Apply a pushed request as changes made in its source org.
pub(crate) async fn push<S: Store>(
    core: &Core<S>,
    req: PushRequest,
) -> Result<PushOutcome, PushError> {
    let org = core
        .orgs
        .by_id(&req.source_org_id)
        .map(|o| o.name.clone())
        .ok_or_else(|| PushError::UnknownSource(req.source_org_id.clone()))?;
    let leg =
        enabled_leg(core, &org, &req.object).ok_or(PushError::UnknownObject(req.object.clone()))?;
    let sync = leg.settings(&core.settings);
    let side = leg.side.is_source();
    let object = leg.object.clone();
    let org_id = core
        .orgs
        .org_id(&org)
        .ok_or_else(|| EngineError::Config(format!("org {org} has no known org id")))?;
    if req.transaction_id.chars().any(char::is_control) {
        // `push::parse` refuses these; a request built another way must not either (the
        // ledger entry's hash is separated by a control character)
        return Err(PushError::Invalid(
            "transactionId must not contain control characters".into(),
        ));
    }
    let key = format!("push:{}", req.transaction_id);
    let hash = req.content_hash();
    let duplicate = PushOutcome {
        records: req.records.len(),
        duplicate: true,
    };
    let _one_at_a_time = core.push_lock.lock().await;
    let seen = core
        .store
        .txn_hashes(&org, std::slice::from_ref(&key))
        .await
        .map_err(EngineError::from)?;
    match seen.get(&key) {
        None => {}
        Some(Some(h)) if *h != hash => {
            return Err(PushError::Replayed {
                transaction_id: req.transaction_id.clone(),
            });
        }
        Some(_) => return Ok(duplicate),
    }
    let gids = candidate_gids(&req, &org_id)?;
    let known = core
        .store
        .records(&org, &object, &gids)
        .await
        .map_err(EngineError::from)?;
    let placed = req
        .records
        .iter()
        .zip(gids)
        .map(|(r, gid)| place(r, gid, &org_id, &known))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = pushed_fields(sync, side, &req)?;
    let all: Vec<GlobalId> = placed.iter().map(|p| p.gid.clone()).collect();
    let agreed = core
        .store
        .agreed(&sync.object, &all)
        .await
        .map_err(EngineError::from)?;
    // an older value never overwrites a newer one: refuse the whole request
    for ((r, p), f) in req.records.iter().zip(&placed).zip(&fields) {
        let Some(a) = agreed.iter().find(|a| a.global_id == p.gid) else {
            continue;
        };
        for (k, v) in to_merge_keys(sync, side, f) {
            if let Some(cur) = a.fields.get(&k)
                && cur.ts > req.timestamp
                && !same_value(&cur.value, &v)
            {
                return Err(PushError::Stale {
                    external_id: r.external_id.clone(),
                    field: k,
                    newer: cur.ts,
                });
            }
        }
    }
    if req.operation == PushOperation::Upsert {
        read_back_unknown(core, leg, &req, &placed, &fields, &known).await?;
    }
    let rows = req
        .records
        .iter()
        .zip(placed)
        .zip(fields)
        .map(|((r, p), fields)| Captured {
            txn_id: format!("{key}:{}", r.external_id),
            id: p.local,
            commit_ts: req.timestamp,
            modstamp: None,
            edited_ts: None,
            deleted: req.operation == PushOperation::Delete,
            gid_field: Some(p.gid),
            fields,
            client_tag: None,
            // a peer pushes its records' current values, as a read would see them
            snapshot: true,
            partial: false,
            restored: false,
        })
        .collect();
    core.ingest
        .commit(
            leg,
            rows,
            None,
            vec![(org.clone(), txn_with_hash(&key, &hash))],
        )
        .await?;
    Ok(PushOutcome {
        records: req.records.len(),
        duplicate: false,
    })
}

/// Each record's global id: its externalId when that is one, else the sender's record id.
fn candidate_gids(req: &PushRequest, org_id: &OrgId) -> Result<Vec<GlobalId>, PushError> {
    req.records
        .iter()
        .map(|r| match r.external_id.parse::<GlobalId>() {
            Ok(g) => Ok(g),
            Err(_) => GlobalId::new(org_id.clone(), &r.external_id)
                .map_err(|e| PushError::Invalid(format!("externalId {}: {e}", r.external_id))),
        })
        .collect()
}

/// Check that the sender may push `gid` and find its id there: a record that originates in
/// the sender is that record; any other must be mapped for the sender by the ledger.
fn place(
    r: &PushRecord,
    gid: GlobalId,
    org_id: &OrgId,
    known: &[RecordRow],
) -> Result<Placed, PushError> {
    let local = if gid.origin_org() == org_id {
        gid.origin_record().to_string()
    } else {
        known
            .iter()
            .find(|k| k.global_id == gid)
            .and_then(|k| k.local_id.clone())
            .ok_or_else(|| PushError::Foreign {
                external_id: r.external_id.clone(),
            })?
    };
    if let Some(id) = &r.id
        && to_id18(id).ok().as_deref() != Some(local.as_str())
    {
        return Err(PushError::Invalid(format!(
            "externalId {}: Id {id} is not that record's id in the sending org ({local})",
            r.external_id
        )));
    }
    Ok(Placed { gid, local })
}

/// The synced fields each record carries (only those present: pushes are partial). A value
/// must be a scalar: an array or object is no Salesforce field value.
fn pushed_fields(
    sync: &SyncSettings,
    side: bool,
    req: &PushRequest,
) -> Result<Vec<Fields>, PushError> {
    let wanted = synced_fields(sync, side);
    req.records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut out = Fields::new();
            for f in &wanted {
                let Some((_, v)) = r.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(f)) else {
                    continue;
                };
                if matches!(v, Value::Array(_) | Value::Object(_)) {
                    return Err(PushError::Invalid(format!(
                        "records[{i}].{f} must be a single value, not an array or object"
                    )));
                }
                out.insert(f.clone(), from_json(v));
            }
            Ok(out)
        })
        .collect()
}

/// Read back from the sending org the records whose synced fields the ledger does not all
/// know there and the push does not all carry (see the module doc), and check they exist.
async fn read_back_unknown<S: Store>(
    core: &Core<S>,
    leg: &Leg,
    req: &PushRequest,
    placed: &[Placed],
    fields: &[Fields],
    known: &[RecordRow],
) -> Result<(), PushError> {
    let (org, object) = (&leg.org, leg.object.as_str());
    let sync = leg.settings(&core.settings);
    let side = leg.side.is_source();
    let all_keys: Vec<String> = sync
        .fields
        .iter()
        .map(|f| f.source.to_ascii_lowercase())
        .collect();
    let unknown: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let carried = to_merge_keys(sync, side, &fields[i]);
            let shadow = known
                .iter()
                .find(|k| k.global_id == placed[i].gid)
                .map(|k| &k.shadow);
            all_keys
                .iter()
                .any(|k| !carried.contains_key(k) && shadow.is_none_or(|s| !s.contains_key(k)))
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = unknown.iter().map(|&i| placed[i].local.clone()).collect();
    let conn = core
        .orgs
        .get(org)
        .and_then(|o| o.conn())
        .ok_or_else(|| EngineError::Config(format!("org {org} is not logged in yet")))?;
    crate::capture::poll::reread(&core.ingest, leg, &conn, &ids).await?;
    let gids: Vec<GlobalId> = unknown.iter().map(|&i| placed[i].gid.clone()).collect();
    let now_known = core
        .store
        .records(org, object, &gids)
        .await
        .map_err(EngineError::from)?;
    for &i in &unknown {
        if !now_known
            .iter()
            .any(|k| k.global_id == placed[i].gid && k.local_id.is_some())
        {
            return Err(PushError::NotInSender {
                external_id: req.records[i].external_id.clone(),
                id: placed[i].local.clone(),
            });
        }
    }
    Ok(())
}

/// Re-read `ids` of `object` (as named on `org`) and ingest their current state.
pub(crate) async fn reread<S: Store>(
    core: &Core<S>,
    org: &OrgName,
    object: &str,
    ids: &[String],
) -> Result<usize, EngineError> {
    let leg = enabled_leg(core, org, object)
        .ok_or_else(|| EngineError::Config(format!("{object} is not synced on org {org}")))?;
    let conn = core
        .orgs
        .get(org)
        .and_then(|o| o.conn())
        .ok_or_else(|| EngineError::Config(format!("org {org} is not logged in yet")))?;
    let n = crate::capture::poll::reread(&core.ingest, leg, &conn, ids).await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}
