//! Conflicts, the audit trail, and org and sync status rows.

use chrono::{DateTime, Utc};
use orgsync_core::merge::Versioned;
use orgsync_core::{GlobalId, OrgId, OrgName};
use serde::{Deserialize, Serialize};

use super::*;

/// A field changed on two orgs without either seeing the other's change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    /// Object (source-side name).
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// The field (lowercased source-side name).
    pub field: String,
    /// The incoming change's version.
    pub incoming: Versioned,
    /// The agreed version it competed with.
    pub current: Versioned,
    /// The winning org; None when a person must decide.
    pub winner: Option<OrgName>,
    /// Why (`newer_wins`, `priority_tie_break`, `source_wins`, `manual`).
    pub reason: String,
    /// When it was found.
    pub at: DateTime<Utc>,
}

/// A recorded conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    /// Row id.
    pub id: i64,
    /// The conflict.
    pub conflict: NewConflict,
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// When.
    pub at: DateTime<Utc>,
    /// What kind (`capture`, `item.synced`, `item.failed`, `retry`, `circuit.open` …).
    pub kind: String,
    /// The org concerned.
    pub org: Option<OrgName>,
    /// The object concerned.
    pub object: Option<String>,
    /// The record concerned.
    pub global_id: Option<GlobalId>,
    /// The item concerned.
    pub item_id: Option<ItemId>,
    /// Anything else, as JSON.
    pub detail: serde_json::Value,
}

impl NewAudit {
    /// An event with only a kind and time; fill the rest as needed.
    pub fn new(at: DateTime<Utc>, kind: impl Into<String>) -> Self {
        NewAudit {
            at,
            kind: kind.into(),
            org: None,
            object: None,
            global_id: None,
            item_id: None,
            detail: serde_json::Value::Null,
        }
    }
}

/// An appended audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Row id: audit order is id order.
    pub id: i64,
    /// The event.
    pub event: NewAudit,
}

/// An org's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls stop until `circuit_until`.
    Open,
    /// One trial call is allowed.
    HalfOpen,
}

impl CircuitState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
    /// Parse the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One configured org's runtime state.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgRow {
    /// Config name.
    pub name: OrgName,
    /// Salesforce org id, learnt at login.
    pub org_id: Option<OrgId>,
    /// Free-form status (`ok`, `auth_error: …`) for the operator.
    pub status: String,
    /// Circuit breaker.
    pub circuit: CircuitState,
    /// Open until.
    pub circuit_until: Option<DateTime<Utc>>,
    /// Consecutive failed calls.
    pub consecutive_failures: u32,
    /// API requests used in the current 24 h window, as last observed.
    pub budget_used: Option<i64>,
    /// The daily allocation.
    pub budget_max: Option<i64>,
    /// When those were observed (`Sforce-Limit-Info` or `/limits`).
    pub budget_observed_at: Option<DateTime<Utc>>,
}

impl OrgRow {
    /// A healthy org with nothing known yet.
    pub fn new(name: OrgName) -> Self {
        OrgRow {
            name,
            org_id: None,
            status: "ok".into(),
            circuit: CircuitState::Closed,
            circuit_until: None,
            consecutive_failures: 0,
            budget_used: None,
            budget_max: None,
            budget_observed_at: None,
        }
    }
}

/// Per (org, object) sync status shown to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Running.
    Active,
    /// Stopped by the operator or the budget governor.
    Paused,
    /// Stopped by an error needing attention (auth, setup).
    Error,
    /// The org's circuit is open.
    CircuitOpen,
}

impl SyncStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Active => "active",
            SyncStatus::Paused => "paused",
            SyncStatus::Error => "error",
            SyncStatus::CircuitOpen => "circuit_open",
        }
    }
    /// Parse the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        [
            SyncStatus::Active,
            SyncStatus::Paused,
            SyncStatus::Error,
            SyncStatus::CircuitOpen,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One (org, object) sync's state.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRow {
    /// The org captured.
    pub org: OrgName,
    /// The object captured.
    pub object: String,
    /// Capture method (`poll`, `cdc`, `outbound`, `push`).
    pub capture: String,
    /// Capture interval in seconds.
    pub interval_secs: u32,
    /// Enabled in the config.
    pub enabled: bool,
    /// Status.
    pub status: SyncStatus,
    /// Last completed capture.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Errors since the last success.
    pub error_count: u32,
    /// The last error's text.
    pub last_error: Option<String>,
}
