//! The pushing peer: after each user edit on its org, the record goes to orgsync's
//! `POST /api/v1/sync` as Delivery Hub sends it (the record's synced fields as that org has
//! them, lookups as its local ids, `externalId` = the global id when stamped or else its own
//! Id, `timestamp` = the edit's commit time from the change log, one transaction id per push).
//! Pushes go out in order from an outbox and are retried while orgsync is down or failing
//! (connection refused, 5xx), as a peer with a durable queue would; a 409 (a newer version is
//! in the ledger) drops the push; any other 4xx is recorded as refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::orgs::{ChaosOrg, USER_CLIENT};

/// What happened to the pushes.
#[derive(Debug, Default)]
pub struct PushStats {
    /// Put in the outbox.
    pub queued: AtomicU64,
    /// Answered 200.
    pub delivered: AtomicU64,
    /// Answered 409.
    pub stale: AtomicU64,
    /// Answered another 4xx: status and body.
    pub refused: Mutex<Vec<String>>,
    /// Refusals counted.
    pub refused_n: AtomicU64,
}

impl PushStats {
    /// Pushes not answered yet.
    pub fn pending(&self) -> u64 {
        let done = self.delivered.load(Ordering::Relaxed)
            + self.stale.load(Ordering::Relaxed)
            + self.refused_n.load(Ordering::Relaxed);
        self.queued.load(Ordering::Relaxed).saturating_sub(done)
    }
}

/// The peer of one org.
#[derive(Debug)]
pub struct Peer {
    /// The pushing org's index.
    pub org: usize,
    tx: mpsc::UnboundedSender<Value>,
    /// Counters.
    pub stats: Arc<PushStats>,
    seed: u64,
    n: u64,
}

impl Peer {
    /// Start the outbox of org `org` toward `url` (`http://…/api/v1/sync`).
    pub fn spawn(
        http: reqwest::Client,
        url: String,
        token: String,
        org: usize,
        seed: u64,
    ) -> (Peer, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let stats = Arc::new(PushStats::default());
        let st = stats.clone();
        let task = tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                deliver(&http, &url, &token, &body, &st).await;
            }
        });
        (
            Peer {
                org,
                tx,
                stats,
                seed,
                n: 0,
            },
            task,
        )
    }

    /// Push the record a user just changed on `org` (`before`: the change-log position before
    /// the edit, to find its commit time); `fields`: the object's synced fields.
    pub fn after_edit(
        &mut self,
        org: &ChaosOrg,
        object: &str,
        id: &str,
        fields: &[String],
        before: u64,
    ) {
        let Some(change) = org.changes_after(before).into_iter().find(|c| {
            c.record_id == id && c.change_origin.ends_with(&format!("client={USER_CLIENT}"))
        }) else {
            return;
        };
        let Some(row) = org.read(object, id, fields) else {
            return;
        };
        let external_id = match row.get("OrgSync_Global_Id__c").and_then(Value::as_str) {
            Some(g) if !g.is_empty() => g.to_string(),
            _ => id.to_string(),
        };
        let mut record = serde_json::Map::new();
        record.insert("attributes".into(), json!({"type": object}));
        record.insert("externalId".into(), json!(external_id));
        record.insert("Id".into(), json!(id));
        let delete = change.change_type == "DELETE";
        if !delete {
            for f in fields {
                record.insert(f.clone(), row.get(f).cloned().unwrap_or(Value::Null));
            }
        }
        self.n += 1;
        let body = json!({
            "transactionId": format!("chaos-{}-{}", self.seed, self.n),
            "sourceOrgId": org.org_id,
            "timestamp": change.commit_timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "operation": if delete { "delete" } else { "upsert" },
            "object": object,
            "records": [Value::Object(record)],
        });
        if self.tx.send(body).is_ok() {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn deliver(http: &reqwest::Client, url: &str, token: &str, body: &Value, st: &PushStats) {
    loop {
        let r = http
            .post(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(15))
            .json(body)
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                st.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) if r.status().as_u16() == 409 => {
                st.stale.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) if r.status().is_client_error() => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                st.refused
                    .lock()
                    .await
                    .push(format!("{status} {text} for {body}"));
                st.refused_n.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // down, restarting or failing: retry as a durable outbox would
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}
