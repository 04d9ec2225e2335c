//! Subscribe: a stream of decoded change events with flow control, keepalives and one transparent
//! re-subscription after an auth failure.
//!
//! The Pub/Sub API is pull-based: the server sends at most as many events as the client has
//! requested (`num_requested`, ≤ 100 per request, adding up across requests). This stream keeps
//! credit topped up to `batch` whenever the outstanding count falls to half of it, and only reads
//! the next response once the caller has taken every item of the previous one, so a slow consumer
//! slows the server instead of filling memory.

use crate::auth::Credentials;
use crate::client::PubSubClient;
use crate::error::{PubSubError, Remedy, RpcFailure};
use crate::event::{ChangeEvent, decode};
use crate::proto::{self, FetchRequest, ReplayPreset};
use crate::replay::{Replay, ReplayId};
use crate::schema::EventSchema;
use futures::Stream;
use futures::channel::mpsc;
use std::collections::VecDeque;

/// Salesforce's cap on one request's `num_requested`.
pub const MAX_BATCH: i32 = 100;

/// One item of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A decoded change event.
    Event(Box<ChangeEvent>),
    /// The server's idle signal (an empty response, at least every 270 s). `latest_replay_id` is
    /// the topic's newest position: a caller that has processed everything may store it so that a
    /// restart does not replay a long idle tail.
    Keepalive { latest_replay_id: ReplayId },
}

type Item = Result<Received, PubSubError>;

struct Conn {
    /// Kept open: closing the request side may end the subscription.
    requests: mpsc::UnboundedSender<FetchRequest>,
    responses: tonic::Streaming<proto::FetchResponse>,
    /// Events the server still owes us by our count.
    outstanding: i32,
}

struct Subscription {
    client: PubSubClient,
    topic: String,
    batch: i32,
    /// Where a (re)subscription starts: moves to `After(id)` with every event handed out, so a
    /// transparent re-subscription neither loses nor repeats events.
    start: Replay,
    conn: Option<Conn>,
    creds: Option<Credentials>,
    queue: VecDeque<Item>,
    /// One refresh per failure: set when we re-subscribe after UNAUTHENTICATED, cleared by the
    /// next good response, so an expired token is refreshed once and a bad one fails.
    refreshed: bool,
    done: bool,
}

impl PubSubClient {
    /// Subscribes to `topic` (`/data/AccountChangeEvent`, `/data/ChangeEvents`, …) from `replay`,
    /// keeping up to `batch` events requested (clamped to 1..=100).
    ///
    /// The stream connects on first poll. Items: events, keepalives, and per-event
    /// [`PubSubError::Decode`] errors (the stream goes on). Any other error ends the stream; the
    /// caller resubscribes `After` the last event it stored, or backfills on
    /// [`PubSubError::ReplayIdInvalid`].
    ///
    /// An auth failure is handled inside: one token refresh, then a re-subscription `After` the
    /// last event handed out (or from `replay` again if none was — with `Latest`, changes made
    /// during that moment are not seen, as with any `Latest` subscription).
    pub fn subscribe(
        &self,
        topic: &str,
        replay: Replay,
        batch: i32,
    ) -> impl Stream<Item = Item> + Send + 'static + use<> {
        let sub = Subscription {
            client: self.clone(),
            topic: topic.to_string(),
            batch: batch.clamp(1, MAX_BATCH),
            start: replay,
            conn: None,
            creds: None,
            queue: VecDeque::new(),
            refreshed: false,
            done: false,
        };
        futures::stream::unfold(sub, |mut s| async move {
            let item = s.next().await?;
            Some((item, s))
        })
    }
}

impl Subscription {
    async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(conn) = self.conn.as_mut() else {
                match self.open().await {
                    Ok(c) => self.conn = Some(c),
                    Err(e) => {
                        if let Some(retry) = self.after_failure(e).await {
                            return Some(Err(retry));
                        }
                    }
                }
                continue;
            };
            match conn.responses.message().await {
                Ok(Some(resp)) => {
                    self.refreshed = false;
                    self.handle(resp).await;
                }
                Ok(None) => {
                    self.done = true;
                    return Some(Err(PubSubError::Unavailable(RpcFailure {
                        code: tonic::Code::Unavailable,
                        message: "the server ended the subscription".into(),
                        error_code: None,
                        rpc_id: None,
                    })));
                }
                Err(status) => {
                    self.conn = None;
                    if let Some(e) = self.after_failure(status.into()).await {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Decides whether a failure ends the stream (returns it) or was cured by a token refresh
    /// (returns `None`, and the loop re-subscribes from `start`).
    async fn after_failure(&mut self, e: PubSubError) -> Option<PubSubError> {
        if e.is_auth() && !self.refreshed {
            self.refreshed = true;
            let rejected = self
                .creds
                .take()
                .map(|c| c.access_token)
                .unwrap_or_default();
            match self.client.auth.refresh(&rejected).await {
                Ok(c) => {
                    tracing::debug!(topic = %self.topic, "token refreshed, re-subscribing");
                    self.creds = Some(c);
                    return None;
                }
                Err(refresh_err) => {
                    self.done = true;
                    return Some(refresh_err);
                }
            }
        }
        self.done = true;
        Some(e)
    }

    async fn open(&mut self) -> Result<Conn, PubSubError> {
        let creds = match self.creds.clone() {
            Some(c) => c,
            None => {
                let c = self.client.auth.current().await?;
                self.creds = Some(c.clone());
                c
            }
        };
        let (preset, replay_id) = match &self.start {
            Replay::Latest => (ReplayPreset::Latest, Vec::new()),
            Replay::Earliest => (ReplayPreset::Earliest, Vec::new()),
            Replay::After(id) => (ReplayPreset::Custom, id.as_bytes().to_vec()),
        };
        let (tx, rx) = mpsc::unbounded();
        let first = FetchRequest {
            topic_name: self.topic.clone(),
            replay_preset: preset.into(),
            replay_id,
            num_requested: self.batch,
            auth_refresh: String::new(),
        };
        tx.unbounded_send(first)
            .map_err(|_| PubSubError::Transport("request channel closed".into()))?;
        let mut req = tonic::Request::new(rx);
        creds.apply(req.metadata_mut())?;
        let mut grpc = self.client.grpc.clone();
        let responses = grpc.subscribe(req).await?.into_inner();
        Ok(Conn {
            requests: tx,
            responses,
            outstanding: self.batch,
        })
    }

    /// Queues the response's items and tops up credit.
    async fn handle(&mut self, resp: proto::FetchResponse) {
        if resp.events.is_empty() {
            self.queue.push_back(Ok(Received::Keepalive {
                latest_replay_id: ReplayId::from_bytes(resp.latest_replay_id),
            }));
        }
        let received = i32::try_from(resp.events.len()).unwrap_or(i32::MAX);
        for ce in resp.events {
            let replay_id = ReplayId::from_bytes(ce.replay_id);
            let schema = match &ce.event {
                Some(ev) => Some(self.client.get_schema(&ev.schema_id).await),
                None => None,
            };
            match event_item(replay_id.clone(), ce.event, schema) {
                Ok(item) => {
                    self.queue.push_back(item);
                    self.start = Replay::After(replay_id);
                }
                Err(stop) => {
                    // The schema could not be fetched for a reason that may pass: end here,
                    // before this event, so resubscribing after the last handed-out event
                    // picks it up again.
                    self.queue.push_back(Err(stop));
                    self.done = true;
                    return;
                }
            }
        }
        if let Some(conn) = self.conn.as_mut() {
            top_up(
                conn,
                &self.topic,
                self.batch,
                received,
                resp.pending_num_requested,
            );
        }
    }
}

/// The stream item for one delivered event, given the outcome of looking up its schema.
/// `Err` means "stop the stream before this event" (a lookup failure worth retrying); anything
/// that will not get better by retrying — no event, an unknown or unparsable schema, a payload
/// that does not decode — becomes a per-event [`PubSubError::Decode`] carrying the replay id.
fn event_item(
    replay_id: ReplayId,
    ev: Option<proto::ProducerEvent>,
    schema: Option<Result<std::sync::Arc<EventSchema>, PubSubError>>,
) -> Result<Item, PubSubError> {
    let (Some(ev), Some(schema)) = (ev, schema) else {
        return Ok(Err(decode_err(&replay_id, "", "no event in ConsumerEvent")));
    };
    match schema {
        Ok(schema) => Ok(decode(&schema, replay_id.clone(), ev.id, &ev.payload)
            .map(|e| Received::Event(Box::new(e)))
            .map_err(|reason| decode_err(&replay_id, &ev.schema_id, &reason))),
        Err(PubSubError::Decode { reason, .. }) => {
            Ok(Err(decode_err(&replay_id, &ev.schema_id, &reason)))
        }
        Err(e) if e.remedy() == Remedy::GiveUp => Ok(Err(decode_err(
            &replay_id,
            &ev.schema_id,
            &format!("schema lookup: {e}"),
        ))),
        Err(e) => Err(e),
    }
}

fn decode_err(replay_id: &ReplayId, schema_id: &str, reason: &str) -> PubSubError {
    PubSubError::Decode {
        replay_id: replay_id.clone(),
        schema_id: schema_id.to_string(),
        reason: reason.to_string(),
    }
}

/// Counts `received` against the credit, believes the server when it reports owing fewer
/// (`pending_num_requested`), and requests back up to `batch` once half is used.
fn top_up(conn: &mut Conn, topic: &str, batch: i32, received: i32, server_pending: i32) {
    let want = credit_to_request(conn.outstanding, batch, received, server_pending);
    conn.outstanding = (conn.outstanding - received)
        .max(0)
        .min(server_pending.max(0));
    if want > 0 {
        let req = FetchRequest {
            topic_name: topic.to_string(),
            num_requested: want,
            ..Default::default()
        };
        // A closed request side means the stream is ending: the response side will say why.
        if conn.requests.unbounded_send(req).is_ok() {
            conn.outstanding += want;
        }
    }
}

/// How much credit to request after a response, given our count before it. Pure, for tests.
pub(crate) fn credit_to_request(
    outstanding: i32,
    batch: i32,
    received: i32,
    server_pending: i32,
) -> i32 {
    let now = (outstanding - received).max(0).min(server_pending.max(0));
    if now <= batch / 2 { batch - now } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pe(payload: Vec<u8>) -> proto::ProducerEvent {
        proto::ProducerEvent {
            id: "ev".into(),
            schema_id: "s1".into(),
            payload,
            headers: Vec::new(),
        }
    }

    fn status(code: tonic::Code) -> PubSubError {
        PubSubError::from(tonic::Status::new(code, "x"))
    }

    #[test]
    fn undecodable_events_are_parked_with_their_replay_id_and_transient_failures_stop() {
        let id = ReplayId::from_bytes(vec![0, 9]);
        let schema = Arc::new(
            EventSchema::parse("s1", r#"{"type":"record","name":"X","fields":[]}"#).unwrap(),
        );
        let parked = |r: Result<Item, PubSubError>| match r {
            Ok(Err(PubSubError::Decode { replay_id, .. })) => replay_id,
            other => panic!("expected a parked event, got {other:?}"),
        };
        // Decodes to a record without a header: not a change event.
        assert_eq!(
            parked(event_item(
                id.clone(),
                Some(pe(vec![])),
                Some(Ok(schema.clone()))
            )),
            id
        );
        // Trailing bytes after the datum.
        assert_eq!(
            parked(event_item(id.clone(), Some(pe(vec![1])), Some(Ok(schema)))),
            id
        );
        assert_eq!(parked(event_item(id.clone(), None, None)), id);
        let unknown = Some(Err(status(tonic::Code::NotFound)));
        assert_eq!(
            parked(event_item(id.clone(), Some(pe(vec![])), unknown)),
            id
        );
        let down = Some(Err(status(tonic::Code::Unavailable)));
        assert!(matches!(
            event_item(id, Some(pe(vec![])), down),
            Err(PubSubError::Unavailable(_))
        ));
    }

    #[test]
    fn credit_is_topped_up_at_half() {
        // 10 requested, 3 arrive, server owes 7: above half, wait.
        assert_eq!(credit_to_request(10, 10, 3, 7), 0);
        // 10 requested, 5 arrive, server owes 5: at half, request 5 more.
        assert_eq!(credit_to_request(10, 10, 5, 5), 5);
        // keepalive from a server that does not report pending (0): top up fully, never above batch.
        assert_eq!(credit_to_request(10, 10, 0, 0), 10);
        // batch of 1: request one after every event.
        assert_eq!(credit_to_request(1, 1, 1, 0), 1);
        // server owes fewer than we think (it capped us): believe it.
        assert_eq!(credit_to_request(100, 100, 0, 30), 70);
    }
}
