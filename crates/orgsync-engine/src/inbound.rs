//! Changes that arrive instead of being fetched: records pushed by a connected peer
//! (`POST /api/v1/sync`, the seeds' payload) and "re-read these records" requests (outbound
//! messages, change-event gaps). Both enter the ledger through the same
//! [`ingest`](crate::capture::ingest) as polled rows, so routing, echo rules and the merge are
//! the same whatever the path.

use chrono::{DateTime, Utc};
use orgsync_core::echo::same_value;
use orgsync_core::mapping::to_merge_keys;
use orgsync_core::push::{PushOperation, PushRequest};
use orgsync_core::{GlobalId, OrgName};
use orgsync_store::Store;

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

/// Why a push was refused. Nothing is written in any of these cases.
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
    /// A record the engine cannot place (e.g. an external id that is neither a global id nor
    /// a Salesforce id).
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
    let key = format!("push:{}", req.transaction_id);
    let _one_at_a_time = core.push_lock.lock().await;
    let seen = core
        .store
        .processed_txns(&org, std::slice::from_ref(&key))
        .await
        .map_err(EngineError::from)?;
    if seen.contains(&key) {
        return Ok(PushOutcome {
            records: req.records.len(),
            duplicate: true,
        });
    }
    // each record: its global id and its id in the source org
    let mut placed = Vec::with_capacity(req.records.len());
    for r in &req.records {
        let (gid, local) = match r.external_id.parse::<GlobalId>() {
            Ok(g) => (g, r.id.clone()),
            Err(_) => {
                let g = GlobalId::new(org_id.clone(), &r.external_id).map_err(|e| {
                    PushError::Invalid(format!("externalId {}: {e}", r.external_id))
                })?;
                (g, Some(r.external_id.clone()))
            }
        };
        placed.push((gid, local));
    }
    let gids: Vec<GlobalId> = placed.iter().map(|(g, _)| g.clone()).collect();
    let known = core
        .store
        .records(&org, &object, &gids)
        .await
        .map_err(EngineError::from)?;
    let agreed = core
        .store
        .agreed(&sync.object, &gids)
        .await
        .map_err(EngineError::from)?;
    let wanted = &leg.fields;
    let mut rows = Vec::with_capacity(req.records.len());
    for (r, (gid, local)) in req.records.iter().zip(placed) {
        let fields: orgsync_core::model::Fields = wanted
            .iter()
            .filter_map(|f| {
                let (_, v) = r.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(f))?;
                Some((f.clone(), from_json(v)))
            })
            .collect();
        // an older value never overwrites a newer one: refuse the whole request
        if let Some(a) = agreed.iter().find(|a| a.global_id == gid) {
            for (k, v) in to_merge_keys(sync, side, &fields) {
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
        let local = local.or_else(|| {
            known
                .iter()
                .find(|k| k.global_id == gid)
                .and_then(|k| k.local_id.clone())
        });
        let Some(id) = local else {
            return Err(PushError::Invalid(format!(
                "externalId {}: the record's id in the sending org is unknown; send its \"Id\"",
                r.external_id
            )));
        };
        rows.push(Captured {
            txn_id: format!("{key}:{}", r.external_id),
            id,
            commit_ts: req.timestamp,
            modstamp: None,
            deleted: req.operation == PushOperation::Delete,
            gid_field: Some(gid),
            fields,
            client_tag: None,
            snapshot: false,
        });
    }
    core.ingest
        .commit(leg, rows, None, vec![(org.clone(), key)])
        .await?;
    Ok(PushOutcome {
        records: req.records.len(),
        duplicate: false,
    })
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
