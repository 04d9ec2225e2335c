//! Capture: one poller task per (org, sync). Each cycle reads what changed since the
//! checkpoint (see [`poll`]) and commits it to the ledger together with the new checkpoint.

pub(crate) mod cdc;
mod correct;
pub(crate) mod ingest;
mod names;
pub(crate) mod poll;
mod state;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use orgsync_store::Store;

use crate::shared::{PollerSlot, Shared};
use crate::status;

/// Run one poller until shutdown: a cycle at every interval, or at once when woken.
pub(crate) async fn run<S: Store>(sh: Arc<Shared<S>>, slot: Arc<PollerSlot>) {
    let interval = sh.settings.syncs[slot.sync].interval;
    let mut stop = sh.shutdown.subscribe();
    loop {
        if sh.stopping() {
            break;
        }
        slot.started.fetch_add(1, Ordering::SeqCst);
        let result = poll::cycle(&sh, &slot.org, slot.sync).await;
        let object = sh.settings.syncs[slot.sync].object.clone();
        if let Err(e) = &result {
            tracing::warn!(org = %slot.org, object, error = %e, "capture failed");
        }
        status::after_capture(&sh, &slot.org, slot.sync, result.err()).await;
        slot.finished.fetch_add(1, Ordering::SeqCst);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = slot.wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
