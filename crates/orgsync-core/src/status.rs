//! Per-sync status as the operator sees it (the seeds' Sync Settings row): Active, Paused,
//! Error or Circuit open, with the last sync time, the error count and the last error. Derived
//! from stored facts so the dashboard, `orgsync status` and `/metrics` always agree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::retry::breaker::Breaker;

/// The headline state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Enabled and healthy.
    Active,
    /// Disabled in the config (`enabled = false`) or by an operator.
    Paused,
    /// Stopped on a fatal error (credentials, configuration) until someone fixes it.
    Error,
    /// An org of this sync failed five times in a row; calls resume after the open period.
    CircuitOpen,
}

/// Running counters kept per sync in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncHealth {
    /// Last successful capture or apply.
    pub last_sync: Option<DateTime<Utc>>,
    /// Errors since the sync was created (never reset by success: it is a running total).
    pub error_count: u64,
    /// The most recent error message.
    pub last_error: Option<String>,
}

impl SyncHealth {
    /// Record a success.
    pub fn on_success(&mut self, now: DateTime<Utc>) {
        self.last_sync = Some(now);
    }

    /// Record an error.
    pub fn on_error(&mut self, message: impl Into<String>) {
        self.error_count += 1;
        self.last_error = Some(message.into());
    }
}

/// What the status is derived from.
#[derive(Debug, Clone, Copy)]
pub struct StatusInputs<'a> {
    /// The sync is enabled (config and operator).
    pub enabled: bool,
    /// A fatal error of one of the sync's orgs (auth failed after refresh, bad config).
    pub org_error: Option<&'a str>,
    /// The breakers of the sync's orgs.
    pub breakers: &'a [Breaker],
    /// Counters.
    pub health: &'a SyncHealth,
    /// Whether the budget governor is holding normal work for one of the orgs.
    pub budget_paused: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The status row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Headline.
    pub state: SyncState,
    /// Last successful sync.
    pub last_sync: Option<DateTime<Utc>>,
    /// Running error total.
    pub error_count: u64,
    /// Shown (red) when the state is Error or CircuitOpen, and on hover otherwise.
    pub last_error: Option<String>,
    /// A secondary note, e.g. that the API budget is holding normal work.
    pub note: Option<String>,
}

/// Derive the status. Precedence: Paused (an operator's choice wins), then Error (needs a
/// person), then Circuit open (heals by itself), then Active.
pub fn derive(i: StatusInputs<'_>) -> SyncStatus {
    let state = if !i.enabled {
        SyncState::Paused
    } else if i.org_error.is_some() {
        SyncState::Error
    } else if i.breakers.iter().any(|b| b.is_open(i.now)) {
        SyncState::CircuitOpen
    } else {
        SyncState::Active
    };
    let last_error = match (state, i.org_error) {
        (SyncState::Error, Some(e)) => Some(e.to_string()),
        _ => i.health.last_error.clone(),
    };
    let note = (i.budget_paused && state == SyncState::Active)
        .then(|| "API budget share reached: only deletes and manual retries run".to_string());
    SyncStatus {
        state,
        last_sync: i.health.last_sync,
        error_count: i.health.error_count,
        last_error,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn inputs<'a>(health: &'a SyncHealth, breakers: &'a [Breaker]) -> StatusInputs<'a> {
        StatusInputs {
            enabled: true,
            org_error: None,
            breakers,
            health,
            budget_paused: false,
            now: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn precedence_and_counters() {
        let mut h = SyncHealth::default();
        h.on_success(DateTime::UNIX_EPOCH);
        h.on_error("UNABLE_TO_LOCK_ROW");
        let open = [Breaker::Open {
            until: DateTime::UNIX_EPOCH + TimeDelta::minutes(1),
            open_for: TimeDelta::minutes(1),
        }];
        let s = derive(inputs(&h, &[]));
        assert_eq!(
            (s.state, s.error_count, s.last_error.as_deref()),
            (SyncState::Active, 1, Some("UNABLE_TO_LOCK_ROW"))
        );
        assert_eq!(s.last_sync, Some(DateTime::UNIX_EPOCH));
        assert_eq!(derive(inputs(&h, &open)).state, SyncState::CircuitOpen);
        let err = StatusInputs {
            org_error: Some("invalid_grant"),
            ..inputs(&h, &open)
        };
        assert_eq!(
            (derive(err).state, derive(err).last_error.as_deref()),
            (SyncState::Error, Some("invalid_grant"))
        );
        assert_eq!(
            derive(StatusInputs {
                enabled: false,
                ..err
            })
            .state,
            SyncState::Paused
        );
        let closed_again = [Breaker::Closed { failures: 0 }];
        assert_eq!(derive(inputs(&h, &closed_again)).state, SyncState::Active);
        assert!(
            derive(StatusInputs {
                budget_paused: true,
                ..inputs(&h, &[])
            })
            .note
            .is_some()
        );
    }
}
