//! Sync status rows (Active / Paused / Error / CircuitOpen, last sync time, error count, last
//! error), written after every capture cycle and when an org's health changes, so `orgsync
//! status` and the dashboard read them from the ledger.

use chrono::Utc;
use orgsync_core::OrgName;
use orgsync_core::config::Capture;
use orgsync_core::mapping::object_name;
use orgsync_store::{Store, SyncRow, SyncStatus};

use crate::error::EngineError;
use crate::shared::Shared;

fn capture_name(c: Capture) -> &'static str {
    match c {
        Capture::Poll => "poll",
        Capture::Cdc => "cdc",
        Capture::Outbound => "outbound",
    }
}

/// The row of (org, sync) as it should start: Active, nothing known.
pub(crate) fn initial<S>(sh: &Shared<S>, org: &OrgName, sync_idx: usize) -> SyncRow {
    let sync = &sh.settings.syncs[sync_idx];
    SyncRow {
        org: org.clone(),
        object: object_name(sync, sh.source_side(org)).to_string(),
        capture: capture_name(sync.capture).into(),
        interval_secs: u32::try_from(sync.interval.as_secs()).unwrap_or(u32::MAX),
        enabled: sync.enabled,
        status: SyncStatus::Active,
        last_sync_at: None,
        error_count: 0,
        last_error: None,
    }
}

/// Record a capture cycle's result.
pub(crate) async fn after_capture<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync_idx: usize,
    error: Option<EngineError>,
) {
    let object = object_name(&sh.settings.syncs[sync_idx], sh.source_side(org)).to_string();
    let mut row = match sh.store.sync(org, &object).await {
        Ok(Some(r)) => r,
        _ => initial(sh, org, sync_idx),
    };
    match error {
        None => {
            row.last_sync_at = Some(Utc::now());
            row.error_count = 0;
            if row.status == SyncStatus::Error {
                row.status = SyncStatus::Active;
            }
        }
        Some(e) => {
            row.error_count += 1;
            row.last_error = Some(e.to_string());
            if matches!(e, EngineError::Auth { .. }) {
                row.status = SyncStatus::Error;
            }
        }
    }
    if let Err(e) = sh.store.put_sync(&row).await {
        tracing::warn!(%org, object, error = %e, "cannot write the sync status");
    }
}

/// Set the status of every sync of `org` (circuit open, paused by the governor, auth error,
/// or back to Active), keeping the other columns.
pub(crate) async fn set_org<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    status: SyncStatus,
    error: Option<String>,
) {
    for idx in 0..sh.settings.syncs.len() {
        let object = object_name(&sh.settings.syncs[idx], sh.source_side(org)).to_string();
        let mut row = match sh.store.sync(org, &object).await {
            Ok(Some(r)) => r,
            _ => initial(sh, org, idx),
        };
        if row.status == status && error.is_none() {
            continue;
        }
        row.status = status;
        if let Some(e) = &error {
            row.last_error = Some(e.clone());
        }
        let _ = sh.store.put_sync(&row).await;
    }
}
