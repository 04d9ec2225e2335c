//! Prometheus metrics recorded where things happen (names in `orgsync_core::metric`). They go
//! to whatever `metrics` recorder the process installed — the Sync Monitor's Prometheus
//! exporter under `orgsync run`, none in tests (then every call here is a no-op). Gauges that
//! the ledger holds (backlog, budget, circuit) are read from it at scrape time instead, so
//! `/metrics`, the dashboard and `orgsync status` agree.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use orgsync_core::OrgName;
use orgsync_core::metric as m;
use orgsync_store::{Completion, Item, ItemId, Outcome};

use crate::capture::plan::Tally;
use crate::leg::Leg;

/// A committed capture of `leg`: rows that were news, and echoes dropped per layer
/// (`duplicates`: items the store dropped as already-processed transactions).
pub(crate) fn captured(leg: &Leg, tally: &Tally, duplicates: u64) {
    let (org, object) = (leg.org.to_string(), leg.object.clone());
    if tally.rows > 0 {
        metrics::counter!(m::CHANGES_CAPTURED, "org" => org.clone(), "object" => object.clone())
            .increment(tally.rows);
    }
    let shadow = tally.echoes.saturating_sub(tally.own_writes);
    for (layer, n) in [
        (m::LAYER_ORIGIN, tally.own_writes),
        (m::LAYER_SHADOW, shadow),
        (m::LAYER_TXN, duplicates),
    ] {
        if n > 0 {
            metrics::counter!(m::ECHOES_DROPPED, "org" => org.clone(), "object" => object.clone(), "layer" => layer)
                .increment(n);
        }
    }
}

/// A write of the files component in `org` (`op` one of `orgsync_core::metric::FILE_OP_*`),
/// with the bytes it uploaded.
pub(crate) fn file_written(org: &OrgName, op: &'static str, bytes: u64) {
    metrics::counter!(m::FILES_WRITTEN, "org" => org.to_string(), "op" => op).increment(1);
    if bytes > 0 {
        metrics::counter!(m::FILE_BYTES, "org" => org.to_string()).increment(bytes);
    }
}

/// A failed file read or write concerning `org`.
pub(crate) fn file_error(org: &OrgName) {
    metrics::counter!(m::FILE_ERRORS, "org" => org.to_string()).increment(1);
}

/// API calls sent per org so far (the clients' own monotonic counts).
pub(crate) fn api_calls(calls: &BTreeMap<String, u64>) {
    for (org, n) in calls {
        metrics::counter!(m::API_CALLS, "org" => org.clone()).absolute(*n);
    }
}

/// What an apply round's completions did, taken before they are handed to the store and
/// recorded only once the store committed them (a failed commit changed nothing).
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    org: String,
    /// (object, applied, failed)
    per_object: BTreeMap<String, (u64, u64)>,
    /// First-capture times of the items written.
    applied_since: Vec<DateTime<Utc>>,
}

impl Outcomes {
    pub fn of(org: &OrgName, items: &[Item], completions: &[Completion]) -> Outcomes {
        let by_id: HashMap<ItemId, &Item> = items.iter().map(|i| (i.id, i)).collect();
        let mut out = Outcomes {
            org: org.to_string(),
            ..Outcomes::default()
        };
        for c in completions {
            let Some(item) = by_id.get(&c.id) else {
                continue;
            };
            let slot = out.per_object.entry(item.work.object.clone()).or_default();
            match c.outcome {
                Outcome::Synced { .. } => {
                    slot.0 += 1;
                    out.applied_since.push(item.created_at);
                }
                Outcome::Failed { .. } => slot.1 += 1,
                _ => {}
            }
        }
        out
    }

    pub fn record(&self, now: DateTime<Utc>) {
        for (object, (applied, failed)) in &self.per_object {
            let labels = [("org", self.org.clone()), ("object", object.clone())];
            if *applied > 0 {
                metrics::counter!(m::CHANGES_APPLIED, &labels).increment(*applied);
            }
            if *failed > 0 {
                metrics::counter!(m::CHANGES_FAILED, &labels).increment(*failed);
            }
        }
        let h = metrics::histogram!(m::CAPTURE_TO_APPLY, "org" => self.org.clone());
        for since in &self.applied_since {
            let secs = (now - *since).num_milliseconds().max(0) as f64 / 1000.0;
            h.record(secs);
        }
    }
}
