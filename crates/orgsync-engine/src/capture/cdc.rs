//! Capture by Change Data Capture over the Pub/Sub API (`capture = "cdc"`): one subscription
//! per (org, sync) on `/data/<Object>ChangeEvent`.
//!
//! - Each event becomes [`Captured`] rows (its changed fields only, so the field-level merge
//!   sees exactly what changed) and is committed with its replay id as the checkpoint, in the
//!   same ledger transaction. A restart resumes strictly after the stored replay id.
//! - Our own writes come back with `client=<our tag>` in `changeOrigin` and are dropped as
//!   echoes by the pipeline.
//! - Gap events name records whose change could not be described: they are re-read in one
//!   batched query. An overflow event (or an undecodable one) wakes the object's poller.
//! - No stored replay id, or one the server no longer holds (`replayid.corrupted`): subscribe
//!   at LATEST and then run a poll from the last watermark, so nothing between the old position
//!   and the new subscription is skipped (on the very first start the poller's first cycle is
//!   that read: the source is read once, not twice). The backup poll keeps running too.
//! - Once the subscription has delivered what waited for it (a second without events), the
//!   leg is "caught up": the backup poll starts only then, so polled rows never race the replay
//!   of the precise events.
//! - A CREATE (or UNDELETE) event omits null fields: those fields are null, and are captured as
//!   such, so a later read of them is not mistaken for an edit.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use orgsync_store::{CheckpointWrite, SourceKind, Store};
use sfpubsub::{
    ChangeEvent, ChangeType, ConnectOptions, Credentials, PubSubClient, PubSubError, Received,
    Replay, ReplayId, TokenSource,
};
use tokio::sync::watch;

use super::ingest::Ingest;
use super::{Captured, SourceSlot};
use crate::convert::from_json;
use crate::error::EngineError;
use crate::leg::Leg;
use crate::orgs::{Org, OrgConn};
use crate::status::StatusWriter;

/// Events requested at a time (Salesforce's maximum).
const BATCH: i32 = 100;
/// After subscribing at LATEST, how long to wait for the subscription to settle before the
/// backfill poll runs (the poll must read after the server took our position).
const SETTLE: Duration = Duration::from_millis(500);
/// A subscription that delivered nothing for this long has caught up.
const QUIET: Duration = Duration::from_secs(1);
/// Salesforce's Pub/Sub endpoint for production and sandbox orgs.
const SALESFORCE_ENDPOINT: &str = "https://api.pubsub.salesforce.com:7443";

/// The Pub/Sub topic of an object's change events (`Work_Item__c` → `Work_Item__ChangeEvent`).
pub(crate) fn topic(object: &str) -> String {
    match object.strip_suffix("__c") {
        Some(base) => format!("/data/{base}__ChangeEvent"),
        None => format!("/data/{object}ChangeEvent"),
    }
}

/// The change-event subscriber of one leg.
#[derive(Debug)]
pub(crate) struct Subscriber<S> {
    pub slot: Arc<SourceSlot>,
    pub ingest: Arc<Ingest<S>>,
    pub org: Arc<Org>,
    pub status: Arc<StatusWriter<S>>,
}

impl<S: Store> Subscriber<S> {
    /// Run until `stop`, resubscribing after failures with a growing pause (0.5 s … 60 s).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Some(conn) = self.org.connected(&mut stop).await else {
            return;
        };
        let mut pause = Duration::from_millis(500);
        let mut force_latest = false;
        while !*stop.borrow() {
            let result = tokio::select! {
                r = self.subscription(&conn, &mut force_latest) => r,
                _ = stop.changed() => break,
            };
            self.slot.set_behind();
            match result {
                Ok(()) => pause = Duration::from_millis(500),
                Err(e) => {
                    tracing::warn!(leg = %self.slot.leg, error = %e, "change-event subscription failed; resubscribing");
                    self.status.after_capture(&self.slot.leg, Some(&e)).await;
                    pause = (pause * 2).min(Duration::from_secs(60));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// One subscription, until its stream ends or fails.
    async fn subscription(
        &self,
        conn: &OrgConn,
        force_latest: &mut bool,
    ) -> Result<(), EngineError> {
        let leg = &self.slot.leg;
        let org = &leg.org;
        let settings = self.ingest.settings.orgs.get(org);
        let ca = settings.and_then(|o| o.ca_file.as_deref());
        let configured = settings.and_then(|o| o.pubsub_endpoint.as_deref());
        let client =
            connect(conn, configured, ca)
                .await
                .map_err(|message| EngineError::Stream {
                    org: org.clone(),
                    message,
                })?;
        let stored = self
            .ingest
            .store
            .checkpoint(org, &leg.object, SourceKind::Cdc)
            .await?
            .and_then(|c| c.replay_id)
            .map(ReplayId::from_bytes);
        let replay = match stored {
            Some(id) if !*force_latest => Replay::After(id),
            _ => Replay::Latest,
        };
        let latest = matches!(replay, Replay::Latest);
        // at LATEST nothing waits to be replayed; a poll from the watermark covers the gap
        // (the first cycle of a poller that never read is that poll)
        let mut backfill =
            (latest && self.slot.has_read()).then(|| tokio::time::Instant::now() + SETTLE);
        if latest {
            // events before this moment will not come: the poll reads them
            self.slot.set_uncovered_before(chrono::Utc::now());
            self.slot.set_caught_up();
        }
        let stream = client
            .subscribe(&topic(&leg.object), replay, BATCH)
            .ready_chunks(BATCH as usize);
        let mut stream = std::pin::pin!(stream);
        loop {
            let quiet = !self
                .slot
                .caught_up
                .load(std::sync::atomic::Ordering::SeqCst);
            let chunk = tokio::select! {
                c = stream.next() => c,
                _ = tokio::time::sleep_until(backfill.unwrap_or_else(far)), if backfill.is_some() => {
                    backfill = None;
                    self.slot.wake.notify_one();
                    continue;
                }
                _ = tokio::time::sleep(QUIET), if quiet => {
                    self.slot.set_caught_up();
                    continue;
                }
            };
            let Some(chunk) = chunk else {
                return Ok(());
            };
            self.slot
                .events
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut events = Vec::with_capacity(chunk.len());
            let mut failure = None;
            for item in chunk {
                match item {
                    Ok(Received::Event(e)) => events.push(*e),
                    Ok(Received::Keepalive { .. }) => self.slot.set_caught_up(),
                    Err(PubSubError::Decode {
                        replay_id, reason, ..
                    }) => {
                        tracing::warn!(leg = %leg, %replay_id, reason, "undecodable change event; polling the object instead");
                        self.slot.poll_everything();
                    }
                    Err(e @ PubSubError::ReplayIdInvalid(_)) => {
                        // resume at LATEST after a backfill poll from the watermark
                        *force_latest = true;
                        failure = Some(pubsub_error(leg, &e));
                        break;
                    }
                    Err(e) => {
                        failure = Some(pubsub_error(leg, &e));
                        break;
                    }
                }
            }
            if !events.is_empty() {
                self.apply_events(conn, events).await?;
                *force_latest = false;
                // the sync's "last sync" moves with every committed chunk of events
                self.status.after_capture(leg, None).await;
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }

    /// Commit `events` (in order) to the ledger: one ingest per run of events in which no
    /// record appears twice, each with the replay id of its last event as the checkpoint.
    async fn apply_events(
        &self,
        conn: &OrgConn,
        events: Vec<ChangeEvent>,
    ) -> Result<(), EngineError> {
        let leg = &self.slot.leg;
        let gid_field = &leg.settings(&self.ingest.settings).global_id_field;
        let mut rows: Vec<Captured> = Vec::new();
        let mut ids: HashSet<String> = HashSet::new();
        let mut last: Option<ReplayId> = None;
        for ev in events {
            let h = &ev.header;
            if h.change_type.is_gap() || h.record_ids.iter().any(|id| ids.contains(id)) {
                self.flush(&mut rows, &mut ids, last.take()).await?;
            }
            match h.change_type {
                ChangeType::GapOverflow => self.slot.poll_everything(),
                t if t.is_gap() => {
                    let n = super::poll::reread(&self.ingest, leg, conn, &h.record_ids).await?;
                    tracing::debug!(leg = %leg, records = h.record_ids.len(), new = n, "gap event re-read");
                }
                _ => {
                    for id in &h.record_ids {
                        if let Some(row) = to_captured(&ev, id, &leg.fields, gid_field) {
                            ids.insert(id.clone());
                            rows.push(row);
                        }
                    }
                }
            }
            last = Some(ev.replay_id.clone());
        }
        self.flush(&mut rows, &mut ids, last).await
    }

    async fn flush(
        &self,
        rows: &mut Vec<Captured>,
        ids: &mut HashSet<String>,
        replay: Option<ReplayId>,
    ) -> Result<(), EngineError> {
        if rows.is_empty() && replay.is_none() {
            return Ok(());
        }
        let leg = &self.slot.leg;
        let checkpoint = replay.map(|r| CheckpointWrite {
            org: leg.org.clone(),
            object: leg.object.clone(),
            source: SourceKind::Cdc,
            watermark_ts: None,
            watermark_id: None,
            replay_id: Some(r.as_bytes().to_vec()),
        });
        ids.clear();
        self.ingest
            .commit(leg, std::mem::take(rows), checkpoint, Vec::new())
            .await?;
        Ok(())
    }
}

fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

/// A Pub/Sub client for `conn`'s org, sharing its REST session; `configured` is the org's
/// `pubsub_endpoint`, if set.
async fn connect(
    conn: &OrgConn,
    configured: Option<&str>,
    ca_file: Option<&Path>,
) -> Result<PubSubClient, String> {
    let session = conn.client.session().await.map_err(|e| e.to_string())?;
    let mut opts = ConnectOptions::default();
    if let Some(ca) = ca_file {
        opts.ca_pem =
            Some(std::fs::read_to_string(ca).map_err(|e| format!("{}: {e}", ca.display()))?);
    }
    let tokens = Arc::new(Tokens {
        client: conn.client.clone(),
        tenant: conn.org_id.to_string(),
    });
    let endpoint = configured.map_or_else(|| endpoint(&session.instance_url), str::to_string);
    PubSubClient::connect_with(&endpoint, tokens, opts)
        .await
        .map_err(|e| e.to_string())
}

/// For `orgsync check`: whether the integration user can subscribe to `object`'s change
/// events (Change Data Capture selected for it, Pub/Sub reachable). One GetTopic RPC.
pub(crate) async fn can_subscribe(
    conn: &OrgConn,
    org: &orgsync_core::config::OrgSettings,
    object: &str,
) -> Result<(), String> {
    let client = connect(conn, org.pubsub_endpoint.as_deref(), org.ca_file.as_deref()).await?;
    let info = client
        .get_topic(&topic(object))
        .await
        .map_err(|e| e.to_string())?;
    if info.can_subscribe {
        Ok(())
    } else {
        Err(format!(
            "topic {} does not allow subscribing",
            topic(object)
        ))
    }
}

/// One record of a change event as a captured row: UPDATE carries the changed (and nulled)
/// fields — an UPDATE that changed no synced field yields nothing —, CREATE and UNDELETE the
/// whole record, where a field the event leaves out is null.
pub(crate) fn to_captured(
    ev: &ChangeEvent,
    id: &str,
    wanted: &[String],
    gid_field: &str,
) -> Option<Captured> {
    let h = &ev.header;
    let update = h.change_type == ChangeType::Update;
    let values = if update {
        ev.changed_values()
    } else {
        ev.fields.clone()
    };
    let pick = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| from_json(v))
    };
    let deleted = h.change_type == ChangeType::Delete;
    let fields: orgsync_core::model::Fields = if deleted {
        Default::default()
    } else if update {
        wanted
            .iter()
            .filter_map(|f| pick(f).map(|v| (f.clone(), v)))
            .collect()
    } else {
        wanted
            .iter()
            .map(|f| (f.clone(), pick(f).unwrap_or(orgsync_core::FieldValue::Null)))
            .collect()
    };
    if update && fields.is_empty() {
        return None;
    }
    let gid = ev
        .fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(gid_field))
        .and_then(|(_, v)| v.as_str())
        .and_then(|s| s.parse().ok());
    Some(Captured {
        id: id.to_string(),
        commit_ts: orgsync_core::model::truncate_ms(h.commit_timestamp),
        modstamp: None,
        edited_ts: None,
        deleted,
        gid_field: gid,
        fields,
        client_tag: h.origin_client.clone(),
        txn_id: format!("cdc:{}:{}:{id}", h.transaction_key, h.sequence_number),
        // a created record's values are its state; a restored record's values are what it
        // held before its delete, not edits
        snapshot: !update,
        partial: update,
        restored: h.change_type == ChangeType::Undelete,
    })
}

/// Where to reach the Pub/Sub API when the org sets no `pubsub_endpoint`: the emulator serves
/// it on the instance's own address (loopback); a real org uses Salesforce's endpoint.
fn endpoint(instance_url: &str) -> String {
    let host = url_host(instance_url);
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        instance_url.trim_end_matches('/').to_string()
    } else {
        SALESFORCE_ENDPOINT.to_string()
    }
}

fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    }
}

fn pubsub_error(leg: &Leg, e: &PubSubError) -> EngineError {
    EngineError::Stream {
        org: leg.org.clone(),
        message: e.to_string(),
    }
}

/// The REST session's token, shared with the Pub/Sub client (one refresh for both).
struct Tokens {
    client: sfclient::Client,
    tenant: String,
}

impl Tokens {
    fn creds(&self, s: &sfclient::Session) -> Credentials {
        Credentials {
            access_token: s.access_token.expose().clone(),
            instance_url: s.instance_url.clone(),
            tenant_id: self.tenant.clone(),
        }
    }
}

impl TokenSource for Tokens {
    fn current(&self) -> BoxFuture<'_, Result<Credentials, PubSubError>> {
        Box::pin(async move {
            let s = self
                .client
                .session()
                .await
                .map_err(|e| PubSubError::Token(e.to_string()))?;
            Ok(self.creds(&s))
        })
    }

    fn refresh<'a>(
        &'a self,
        rejected_token: &'a str,
    ) -> BoxFuture<'a, Result<Credentials, PubSubError>> {
        Box::pin(async move {
            let cur = self
                .client
                .session()
                .await
                .map_err(|e| PubSubError::Token(e.to_string()))?;
            if cur.access_token.expose() != rejected_token {
                return Ok(self.creds(&cur));
            }
            let s = self
                .client
                .refresh_session(&cur)
                .await
                .map_err(|e| PubSubError::Token(e.to_string()))?;
            Ok(self.creds(&s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_salesforce_naming() {
        assert_eq!(topic("Account"), "/data/AccountChangeEvent");
        assert_eq!(topic("Work_Item__c"), "/data/Work_Item__ChangeEvent");
    }

    #[test]
    fn loopback_instances_serve_pubsub_themselves() {
        assert_eq!(endpoint("http://127.0.0.1:4100"), "http://127.0.0.1:4100");
        assert_eq!(endpoint("https://localhost:9/"), "https://localhost:9");
        assert_eq!(
            endpoint("https://acme.my.salesforce.com"),
            SALESFORCE_ENDPOINT
        );
    }
}
