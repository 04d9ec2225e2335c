//! The sender task of one org: queue what was committed, POST due batches, reschedule failures.
//!
//! Request: `POST <endpoint>`, `Content-Type: text/xml; charset=utf-8`, `SOAPAction: ""`
//! (UNCONFIRMED: Salesforce's SOAPAction value is not documented; an empty quoted action is the
//! SOAP 1.1 convention for "none"). Sent over reqwest with rustls (ring).

use super::soap::{self, Envelope, Note};
use super::{Outbound, Pending};
use crate::state::OrgServer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Notifications per message at most (the WSDL's `maxOccurs`).
pub const MAX_BATCH: usize = 100;
/// How long the sender waits for an endpoint's answer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

impl Outbound {
    /// Removes and returns up to [`MAX_BATCH`] due notifications of the first rule that has
    /// one; drops notifications older than `max_age` on the way.
    pub(crate) fn take_due(&self, now: Instant) -> Option<(usize, Vec<Pending>)> {
        let mut st = self.state.lock();
        let max_age = st.retry.max_age;
        let mut expired = Vec::new();
        st.queue.retain(|p| {
            let keep = now.duration_since(p.queued_at) < max_age;
            if !keep {
                expired.push(p.rule);
            }
            keep
        });
        for r in expired {
            if let Some(rule) = st.rules.get_mut(r) {
                rule.dropped += 1;
            }
        }
        let rule = st.queue.iter().find(|p| p.next_at <= now)?.rule;
        let mut batch = Vec::new();
        let mut rest = std::collections::VecDeque::with_capacity(st.queue.len());
        for p in st.queue.drain(..) {
            if p.rule == rule && p.next_at <= now && batch.len() < MAX_BATCH {
                batch.push(p);
            } else {
                rest.push_back(p);
            }
        }
        st.queue = rest;
        Some((rule, batch))
    }

    /// When the next queued notification falls due.
    fn next_due(&self) -> Option<Instant> {
        self.state.lock().queue.iter().map(|p| p.next_at).min()
    }

    fn finish(&self, rule: usize, batch: Vec<Pending>, outcome: Result<(), String>) {
        let mut st = self.state.lock();
        let retry = st.retry;
        let Some(r) = st.rules.get_mut(rule) else {
            return;
        };
        r.messages += 1;
        match outcome {
            Ok(()) => r.delivered += batch.len() as u64,
            Err(e) => {
                tracing::debug!(action = %r.action_id, error = %e, "outbound message not acknowledged");
                r.last_error = Some(e);
                let now = Instant::now();
                for mut p in batch {
                    p.attempts += 1;
                    p.next_at = now + retry.delay(p.attempts);
                    st.queue.push_back(p);
                }
            }
        }
    }
}

/// Runs until `stop` turns true.
pub async fn run(state: Arc<OrgServer>, mut stop: watch::Receiver<bool>) {
    crate::tls::install_ring_provider();
    let http = match reqwest::Client::builder().timeout(SEND_TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "outbound messaging disabled: no HTTP client");
            return;
        }
    };
    let out = state.outbound.clone();
    let mut wake = out.wake.subscribe();
    loop {
        out.ingest();
        if let Some((rule, batch)) = out.take_due(Instant::now()) {
            // A hanging endpoint must not hold up shutdown.
            let outcome = tokio::select! {
                o = send(&state, &http, rule, &batch) => o,
                _ = stop.wait_for(|s| *s) => return,
            };
            out.finish(rule, batch, outcome);
            continue;
        }
        let next = out.next_due();
        tokio::select! {
            _ = wake.changed() => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}

/// POSTs one batch with the records' current values; Ok only on HTTP 200 with `Ack` true.
async fn send(
    state: &OrgServer,
    http: &reqwest::Client,
    rule: usize,
    batch: &[Pending],
) -> Result<(), String> {
    let Some((action_id, spec)) = ({
        let st = state.outbound.state.lock();
        st.rules
            .get(rule)
            .map(|r| (r.action_id.clone(), r.spec.clone()))
    }) else {
        return Ok(());
    };
    let org = &state.org;
    let admin = org.default_user().clone();
    let mut notes = Vec::with_capacity(batch.len());
    let read: Vec<String> = std::iter::once("Id".to_string())
        .chain(spec.fields.iter().cloned())
        .collect();
    for p in batch {
        // A record deleted since the change has nothing current to send.
        let Ok(serde_json::Value::Object(rec)) =
            org.retrieve(&admin.id, &spec.object, &p.record_id, Some(&read), "66.0")
        else {
            continue;
        };
        notes.push(Note {
            id: p.id.clone(),
            record_id: p.record_id.clone(),
            fields: soap::pick(&rec, &spec.fields),
        });
    }
    if notes.is_empty() {
        return Ok(());
    }
    let session = spec.send_session_id.then(|| {
        let grant = crate::auth::Grant {
            user: admin.clone(),
            client_id: String::new(),
        };
        state.auth.tokens.issue_access(grant, None)
    });
    let org15 = org.org_id().get(..15).unwrap_or(org.org_id());
    let enterprise = format!("{}/services/Soap/c/66.0/{org15}", state.base_url);
    let partner = format!("{}/services/Soap/u/66.0/{org15}", state.base_url);
    let body = soap::envelope(
        &Envelope {
            org_id: org.org_id(),
            action_id: &action_id,
            session_id: session.as_deref(),
            enterprise_url: &enterprise,
            partner_url: &partner,
            object: &spec.object,
        },
        &notes,
    );
    let resp = http
        .post(&spec.endpoint)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {}: {e}", spec.endpoint))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    if status.as_u16() == 200 && soap::is_ack(&bytes) {
        Ok(())
    } else {
        Err(format!("HTTP {status}: no Ack true in the answer"))
    }
}
