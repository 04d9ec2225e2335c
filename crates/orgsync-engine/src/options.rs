//! What the caller (CLI, demo, tests) chooses at start, and what it can watch.

use std::collections::BTreeMap;

/// Start-up options that are not part of the sync configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Who holds the leases of items this process claims; unique per running replica so a
    /// crashed replica's items are recognised and re-claimed when its leases expire.
    pub lease_owner: String,
    /// Run one capture cycle of every poller at once instead of waiting an interval.
    pub poll_now_on_start: bool,
    /// Extra trusted CA (PEM) for every org, e.g. the emulator's self-signed certificate.
    pub ca_pem: Option<String>,
    /// How often failed writes are looked at for a field the org lost (`crate::schema`);
    /// 30 s, shorter in tests.
    pub schema_tick: std::time::Duration,
    /// How often each org is sampled for the Sync Monitor's history and forecast
    /// (`crate::samples`); a minute, shorter in `orgsync demo` so its charts fill quickly.
    pub sample_every: std::time::Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "orgsync".into());
        EngineOptions {
            lease_owner: format!("{host}:{}", std::process::id()),
            poll_now_on_start: true,
            ca_pem: None,
            schema_tick: crate::schema::TICK,
            sample_every: crate::samples::EVERY,
        }
    }
}

/// Counters for the CLI and demo display. Monotonic counts since start, except `queued`,
/// `in_flight` and `pending`, which are the ledger's current figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Changes read from the orgs (after the already-seen filter).
    pub captured: u64,
    /// Items waiting to be written.
    pub queued: u64,
    /// Items being written.
    pub in_flight: u64,
    /// Items written.
    pub synced: u64,
    /// Items given up (kept for manual retry).
    pub failed: u64,
    /// Items waiting for a parent.
    pub pending: u64,
    /// Conflicts recorded.
    pub conflicts: u64,
    /// Changes recognised as our own writes (echoes) or as carrying nothing new.
    pub echoes_dropped: u64,
    /// REST calls sent per org (auth excluded).
    pub api_calls: BTreeMap<String, u64>,
    /// Initial load progress (done, total), while a first sync runs.
    pub initial_load: Option<(u64, u64)>,
}
