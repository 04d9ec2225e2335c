//! The push API's request, as the engine takes it (`POST /api/v1/sync`, the seeds' payload:
//! transactionId, sourceOrgId, timestamp, operation, records[] each with an externalId).
//!
//! Why here: the shape and its validation are pure, shared by the HTTP layer (which parses
//! and authenticates) and the engine (which turns records into changes). Parsing from the wire
//! lives in [`parse`](self) functions next to these types.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// One validated push request.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRequest {
    /// Unique per sync operation; the engine applies a transaction once (idempotency).
    pub transaction_id: String,
    /// The Salesforce organization id of the sending org (15 or 18 characters).
    pub source_org_id: String,
    /// When the change happened in the sending org: the commit time used by the merge
    /// (last writer wins), and the reference for "a newer version exists" (409).
    pub timestamp: DateTime<Utc>,
    /// What to do with the records.
    pub operation: PushOperation,
    /// The sObject the records belong to, as named in the sending org.
    pub object: String,
    /// The records.
    pub records: Vec<PushRecord>,
}

/// `upsert` or `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOperation {
    /// Create or update.
    Upsert,
    /// Delete.
    Delete,
}

/// One pushed record.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRecord {
    /// The record's global id (`<origin org id>:<origin record id>`) or, for a record that
    /// originates in the sending org, its record id there.
    pub external_id: String,
    /// The record's id in the sending org, when given.
    pub id: Option<String>,
    /// Field values as Salesforce JSON, named as in the sending org.
    pub fields: Map<String, Value>,
}
