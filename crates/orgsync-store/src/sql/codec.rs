//! Rows to types and back. Both backends store the same representation — epoch milliseconds
//! for times, JSON text for structured values, 0/1 for flags — so this one codec serves both.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use orgsync_core::life::Life;
use orgsync_core::mapping::Payload;
use orgsync_core::merge::{ShadowValue, Versioned};
use orgsync_core::model::ParentRef;
use orgsync_core::{GlobalId, OrgName, SyncItem};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::types::{
    AgreedRow, AuditRow, Checkpoint, CircuitState, ConflictRow, Item, ItemError, ItemId, Lease,
    NewAudit, NewConflict, OrgRow, RecordRow, SourceKind, SyncRow, SyncStatus, parse_op,
};

/// Milliseconds since the epoch, the stored form of every time.
pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back.
pub fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(v)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("time {v} out of range")))
}

fn opt_ms(v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(from_ms).transpose()
}

/// JSON text of a value (never fails for our types; mapped to Invalid for safety).
pub fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode as JSON: {e}")))
}

fn from_json<T: DeserializeOwned>(col: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    col: &str,
) -> Result<T> {
    row.try_get(col).map_err(StoreError::from)
}

fn gid(col: &str, text: &str) -> Result<GlobalId> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

fn count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// The `payload` column of `sync_items`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredPayload {
    /// Fields to write.
    pub payload: Payload,
    /// Parent references.
    #[serde(default)]
    pub parents: Vec<ParentRef>,
    /// Commit time per field.
    #[serde(default)]
    pub field_ts: BTreeMap<String, DateTime<Utc>>,
}

/// The columns [`item`] reads, in `SELECT` form.
pub const ITEM_COLS: &str = "id, target_org, object, global_id, op, payload, source_org, source_record_id, txn_id, \
     state, attempts, reclaimed, next_attempt_at, lease_owner, lease_until, waiting_for, error_code, error_message, \
     error_kind, dismissed_at, created_at, updated_at";

/// A `sync_items` row.
pub fn item(row: &AnyRow) -> Result<Item> {
    let op_text: String = get(row, "op")?;
    let op =
        parse_op(&op_text).ok_or_else(|| StoreError::Corrupt(format!("unknown op `{op_text}`")))?;
    let payload: StoredPayload = from_json("payload", &get::<String>(row, "payload")?)?;
    let state_text: String = get(row, "state")?;
    let state = state_text.parse().map_err(StoreError::Corrupt)?;
    let lease = match (
        get::<Option<String>>(row, "lease_owner")?,
        get::<Option<i64>>(row, "lease_until")?,
    ) {
        (Some(owner), Some(until)) => Some(Lease {
            owner,
            until: from_ms(until)?,
        }),
        _ => None,
    };
    let last_error = match get::<Option<String>>(row, "error_code")? {
        Some(code) => Some(ItemError {
            code,
            message: get::<Option<String>>(row, "error_message")?.unwrap_or_default(),
            kind: get::<Option<String>>(row, "error_kind")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Item {
        id: ItemId(get(row, "id")?),
        work: SyncItem {
            target: OrgName(get(row, "target_org")?),
            object: get(row, "object")?,
            global_id: gid("global_id", &get::<String>(row, "global_id")?)?,
            op,
            payload: payload.payload,
            parents: payload.parents,
        },
        field_ts: payload.field_ts,
        source_org: get::<Option<String>>(row, "source_org")?.map(OrgName),
        source_record_id: get(row, "source_record_id")?,
        txn_id: get(row, "txn_id")?,
        state,
        attempts: count(get(row, "attempts")?),
        reclaimed: get::<i64>(row, "reclaimed")? != 0,
        next_attempt_at: from_ms(get(row, "next_attempt_at")?)?,
        lease,
        last_error,
        waiting_for: get::<Option<String>>(row, "waiting_for")?
            .map(|t| gid("waiting_for", &t))
            .transpose()?,
        dismissed_at: get::<Option<i64>>(row, "dismissed_at")?
            .map(from_ms)
            .transpose()?,
        created_at: from_ms(get(row, "created_at")?)?,
        updated_at: from_ms(get(row, "updated_at")?)?,
    })
}

/// The columns [`record`] reads.
pub const RECORD_COLS: &str = "org, object, global_id, local_id, fingerprint, shadow, deleted, deleted_at, \
     last_modstamp, updated_at";

/// A `records` row.
pub fn record(row: &AnyRow) -> Result<RecordRow> {
    let fingerprint = match get::<Option<Vec<u8>>>(row, "fingerprint")? {
        Some(bytes) => Some(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| StoreError::Corrupt("fingerprint is not 32 bytes".into()))?,
        ),
        None => None,
    };
    Ok(RecordRow {
        org: OrgName(get(row, "org")?),
        object: get(row, "object")?,
        global_id: gid("global_id", &get::<String>(row, "global_id")?)?,
        local_id: get(row, "local_id")?,
        fingerprint,
        shadow: from_json::<BTreeMap<String, ShadowValue>>(
            "shadow",
            &get::<String>(row, "shadow")?,
        )?,
        deleted: get::<i64>(row, "deleted")? != 0,
        deleted_at: opt_ms(get(row, "deleted_at")?)?,
        last_modstamp: opt_ms(get(row, "last_modstamp")?)?,
        updated_at: from_ms(get(row, "updated_at")?)?,
    })
}

/// An `agreed` row.
pub fn agreed(row: &AnyRow) -> Result<AgreedRow> {
    Ok(AgreedRow {
        object: get(row, "object")?,
        global_id: gid("global_id", &get::<String>(row, "global_id")?)?,
        fields: from_json::<BTreeMap<String, Versioned>>("fields", &get::<String>(row, "fields")?)?,
        life: get::<Option<String>>(row, "life")?
            .map(|l| from_json::<Life>("life", &l))
            .transpose()?,
        updated_at: from_ms(get(row, "updated_at")?)?,
    })
}

/// A `checkpoints` row.
pub fn checkpoint(row: &AnyRow) -> Result<Checkpoint> {
    let source = match get::<String>(row, "source")?.as_str() {
        "poll" => SourceKind::Poll,
        "cdc" => SourceKind::Cdc,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown checkpoint source `{other}`"
            )));
        }
    };
    Ok(Checkpoint {
        org: OrgName(get(row, "org")?),
        object: get(row, "object")?,
        source,
        watermark_ts: opt_ms(get(row, "watermark_ts")?)?,
        watermark_id: get(row, "watermark_id")?,
        replay_id: get(row, "replay_id")?,
        updated_at: from_ms(get(row, "updated_at")?)?,
    })
}

/// An `orgs` row.
pub fn org(row: &AnyRow) -> Result<OrgRow> {
    let circuit_text: String = get(row, "circuit")?;
    Ok(OrgRow {
        name: OrgName(get(row, "name")?),
        org_id: get::<Option<String>>(row, "org_id")?
            .map(|t| {
                t.parse()
                    .map_err(|e| StoreError::Corrupt(format!("column org_id: {e}")))
            })
            .transpose()?,
        status: get(row, "status")?,
        circuit: CircuitState::parse(&circuit_text).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown circuit state `{circuit_text}`"))
        })?,
        circuit_until: opt_ms(get(row, "circuit_until")?)?,
        consecutive_failures: count(get(row, "consecutive_failures")?),
        budget_used: get(row, "budget_used")?,
        budget_max: get(row, "budget_max")?,
        budget_observed_at: opt_ms(get(row, "budget_observed_at")?)?,
    })
}

/// A `syncs` row.
pub fn sync(row: &AnyRow) -> Result<SyncRow> {
    let status_text: String = get(row, "status")?;
    Ok(SyncRow {
        org: OrgName(get(row, "org")?),
        object: get(row, "object")?,
        capture: get(row, "capture")?,
        interval_secs: count(get(row, "interval_secs")?),
        enabled: get::<i64>(row, "enabled")? != 0,
        status: SyncStatus::parse(&status_text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown sync status `{status_text}`")))?,
        last_sync_at: opt_ms(get(row, "last_sync_at")?)?,
        error_count: count(get(row, "error_count")?),
        last_error: get(row, "last_error")?,
    })
}

/// A `conflicts` row.
pub fn conflict(row: &AnyRow) -> Result<ConflictRow> {
    let version = |value: &str, org: &str, ts: &str| -> Result<Versioned> {
        Ok(Versioned {
            value: from_json(value, &get::<String>(row, value)?)?,
            org: OrgName(get(row, org)?),
            ts: from_ms(get(row, ts)?)?,
        })
    };
    Ok(ConflictRow {
        id: get(row, "id")?,
        conflict: NewConflict {
            object: get(row, "object")?,
            global_id: gid("global_id", &get::<String>(row, "global_id")?)?,
            field: get(row, "field")?,
            incoming: version("incoming_value", "incoming_org", "incoming_ts")?,
            current: version("current_value", "current_org", "current_ts")?,
            winner: get::<Option<String>>(row, "winner")?.map(OrgName),
            reason: get(row, "reason")?,
            at: from_ms(get(row, "at")?)?,
        },
    })
}

/// An `audit` row.
pub fn audit(row: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        id: get(row, "id")?,
        event: NewAudit {
            at: from_ms(get(row, "at")?)?,
            kind: get(row, "kind")?,
            org: get::<Option<String>>(row, "org")?.map(OrgName),
            object: get(row, "object")?,
            global_id: get::<Option<String>>(row, "global_id")?
                .map(|t| gid("global_id", &t))
                .transpose()?,
            item_id: get::<Option<i64>>(row, "item_id")?.map(ItemId),
            detail: from_json("detail", &get::<String>(row, "detail")?)?,
        },
    })
}
