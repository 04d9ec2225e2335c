//! The headline status of a sync on one org as the operator sees it (the seeds' Sync Settings
//! row): Active, Paused, Error or Circuit open, with the reason. One rule, derived from facts
//! each kept by the part of the engine that knows them — the capture's result, the org's login,
//! circuit and budget — so that no writer of one fact can overwrite another's verdict (a
//! capture succeeding must not turn a budget pause back into Active, and recovery must turn an
//! open circuit back into Active).
//!
//! The error count shown beside it counts capture failures since the last successful capture:
//! it says how long the current trouble has lasted and is back to 0 once the sync works again.

use serde::{Deserialize, Serialize};

/// The headline state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Enabled and healthy.
    Active,
    /// Disabled, or held by the API budget or a quota error until it frees up.
    Paused,
    /// Needs a person: the org refused the credentials, or writes to it fail (Failed items
    /// nobody dismissed: a validation rule, a field it will not take).
    Error,
    /// Calls to the org fail (unreachable, repeated 5xx): retried by itself.
    CircuitOpen,
}

/// What the status is derived from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The sync is enabled.
    pub enabled: bool,
    /// The org refused the credentials, with its message.
    pub auth_refused: Option<&'a str>,
    /// The org cannot be logged in to (unreachable), with the message.
    pub unreachable: Option<&'a str>,
    /// The org's circuit is open, with the reason.
    pub circuit_open: Option<&'a str>,
    /// A mapped field is missing or not writable in the org, in words naming it.
    pub mapping_broken: Option<&'a str>,
    /// Writes of this sync to the org failed and wait for a person (Failed items not
    /// dismissed): how many, and the newest one's error.
    pub writes_failed: Option<(u64, &'a str)>,
    /// Calls are held at the API budget's ceiling.
    pub budget_paused: bool,
    /// Salesforce refused calls with REQUEST_LIMIT_EXCEEDED; paused for a while.
    pub quota_paused: bool,
}

/// The derived headline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// State.
    pub state: SyncState,
    /// Why, when not Active.
    pub reason: Option<String>,
}

/// Derive the headline. Precedence: disabled (an operator's choice), credentials refused
/// (needs a person), unreachable or circuit open (heals by itself, and says why the writes
/// fail), budget or quota pause (frees up by itself), a broken mapping (Error naming the field:
/// the cause of the failed writes it brings), failed writes (Error with the newest error,
/// until they are retried to Synced or dismissed), then Active.
///
/// Why failed writes count even while capture works: the operator's question is whether the
/// records arrive, and a sync that reads fine but whose writes a validation rule refuses must
/// not show Active.
pub fn headline(f: &Facts<'_>) -> Headline {
    let (state, reason) = if !f.enabled {
        (SyncState::Paused, Some("disabled".to_string()))
    } else if let Some(m) = f.auth_refused {
        (SyncState::Error, Some(format!("login refused: {m}")))
    } else if let Some(m) = f.unreachable {
        (SyncState::CircuitOpen, Some(format!("cannot log in: {m}")))
    } else if let Some(m) = f.circuit_open {
        (SyncState::CircuitOpen, Some(m.to_string()))
    } else if f.budget_paused {
        let why = "API budget share reached: calls wait for a raised allocation or the rolling 24 h window";
        (SyncState::Paused, Some(why.to_string()))
    } else if f.quota_paused {
        let why = "Salesforce answered REQUEST_LIMIT_EXCEEDED: paused";
        (SyncState::Paused, Some(why.to_string()))
    } else if let Some(p) = f.mapping_broken {
        (SyncState::Error, Some(p.to_string()))
    } else if let Some((n, error)) = f.writes_failed {
        let what = match n {
            1 => "1 write failed".to_string(),
            n => format!("{n} writes failed"),
        };
        (SyncState::Error, Some(format!("{what}: {error}")))
    } else {
        (SyncState::Active, None)
    };
    Headline { state, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let ok = Facts {
            enabled: true,
            ..Facts::default()
        };
        assert_eq!(headline(&ok).state, SyncState::Active);
        let budget = Facts {
            budget_paused: true,
            ..ok
        };
        assert_eq!(headline(&budget).state, SyncState::Paused);
        let open = Facts {
            circuit_open: Some("5 failed calls"),
            ..budget
        };
        assert_eq!(headline(&open).state, SyncState::CircuitOpen);
        let refused = Facts {
            auth_refused: Some("invalid_grant"),
            ..open
        };
        let h = headline(&refused);
        assert_eq!(h.state, SyncState::Error);
        assert!(h.reason.is_some_and(|r| r.contains("invalid_grant")));
        let off = Facts {
            enabled: false,
            ..refused
        };
        assert_eq!(headline(&off).state, SyncState::Paused);
        // recovery: the facts clear, the headline follows
        assert_eq!(headline(&ok), headline(&Facts { ..ok }));
    }

    #[test]
    fn failed_writes_show_error_with_the_newest_error_under_an_open_circuit() {
        let ok = Facts {
            enabled: true,
            ..Facts::default()
        };
        let failing = Facts {
            writes_failed: Some((3, "FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount required")),
            ..ok
        };
        let h = headline(&failing);
        assert_eq!(h.state, SyncState::Error);
        assert_eq!(
            h.reason.as_deref(),
            Some("3 writes failed: FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount required")
        );
        let open = Facts {
            circuit_open: Some("5 failed calls"),
            ..failing
        };
        assert_eq!(headline(&open).state, SyncState::CircuitOpen);
        let off = Facts {
            enabled: false,
            ..failing
        };
        assert_eq!(headline(&off).state, SyncState::Paused);
        let budget = Facts {
            budget_paused: true,
            ..failing
        };
        assert_eq!(
            headline(&budget).state,
            SyncState::Paused,
            "a pause says more"
        );
        // the broken mapping behind the failures names the field
        let broken = Facts {
            mapping_broken: Some("field Work_Item__c.Legacy__c in b is no longer writable"),
            ..failing
        };
        let h = headline(&broken);
        assert_eq!(h.state, SyncState::Error);
        assert!(h.reason.is_some_and(|r| r.contains("Legacy__c")));
        // retried to Synced (or dismissed): Active again
        assert_eq!(headline(&ok).state, SyncState::Active);
    }
}
