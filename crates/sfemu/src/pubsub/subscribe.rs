//! The Subscribe stream: pull-based flow control, replay presets and keepalives.
//!
//! The first FetchRequest names the topic and where to start (LATEST: after the newest event;
//! EARLIEST: the oldest retained; CUSTOM: *after* the given replay id, which must be within
//! retention). Every request adds `num_requested` (at most 100 each) to the stream's credit;
//! events are sent while credit lasts. An idle stream gets an empty FetchResponse carrying a
//! replay id it may store, every keepalive interval.

use super::bus::{EventBus, parse_replay, replay_bytes};
use super::proto::{ConsumerEvent, FetchRequest, FetchResponse, ProducerEvent, ReplayPreset};
use super::service::{
    BoxStream, NOT_FOUND, REPLAY_CORRUPTED, VALIDATION_FAILED, status, unavailable,
};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tonic::{Code, Status, Streaming};

/// The most events one FetchRequest may ask for (more counts as this).
pub const MAX_REQUESTED: i32 = 100;

type Tx = mpsc::Sender<Result<FetchResponse, Status>>;

/// Starts serving one Subscribe call; the returned stream ends when the client goes away, or
/// with an error status when a request is invalid, the emulator shuts down or the org goes
/// offline (`offline` turns true: `UNAVAILABLE`, as when Salesforce's service drops streams).
pub fn start(
    bus: Arc<EventBus>,
    input: Streaming<FetchRequest>,
    rpc: String,
    offline: watch::Receiver<bool>,
) -> BoxStream<FetchResponse> {
    let (tx, mut rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Err(e) = run(&bus, input, &rpc, &tx, offline).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

fn credit_of(r: &FetchRequest) -> u64 {
    r.num_requested.clamp(0, MAX_REQUESTED) as u64
}

fn start_after(bus: &EventBus, first: &FetchRequest, rpc: &str) -> Result<u64, Status> {
    bus.sync();
    match ReplayPreset::try_from(first.replay_preset) {
        Ok(ReplayPreset::Latest) => Ok(bus.latest_id()),
        Ok(ReplayPreset::Earliest) => Ok(bus.earliest_cursor()),
        Ok(ReplayPreset::Custom) => {
            let corrupted = || {
                status(
                    Code::InvalidArgument,
                    REPLAY_CORRUPTED,
                    "The Replay ID validation failed: the replay id is outside retention or does not belong to this topic.",
                    rpc,
                )
            };
            let id = parse_replay(&first.replay_id).ok_or_else(corrupted)?;
            if bus.replay_id_valid(id) {
                Ok(id)
            } else {
                Err(corrupted())
            }
        }
        Err(_) => Err(status(
            Code::InvalidArgument,
            VALIDATION_FAILED,
            "unknown replay_preset",
            rpc,
        )),
    }
}

async fn run(
    bus: &EventBus,
    mut input: Streaming<FetchRequest>,
    rpc: &str,
    tx: &Tx,
    mut offline: watch::Receiver<bool>,
) -> Result<(), Status> {
    let Some(first) = input.message().await? else {
        return Ok(());
    };
    let topic = first.topic_name.clone();
    if !bus.catalog.has_topic(&topic) {
        return Err(status(
            Code::NotFound,
            NOT_FOUND,
            &format!("topic {topic} does not exist or CDC is not enabled for it"),
            rpc,
        ));
    }
    let mut cursor = start_after(bus, &first, rpc)?;
    let mut credit = credit_of(&first);
    let mut wake = bus.wake();
    let mut closed = bus.closed();
    let mut last_sent = Instant::now();
    loop {
        if *offline.borrow() {
            return Err(unavailable("the service is unavailable", rpc));
        }
        if credit > 0 {
            bus.sync();
            let evs = bus.read_after(&topic, cursor, credit as usize);
            if let Some(last) = evs.last() {
                cursor = last.replay_id;
                credit -= evs.len() as u64;
                let events = evs
                    .iter()
                    .map(|e| ConsumerEvent {
                        event: Some(ProducerEvent {
                            id: e.id.clone(),
                            schema_id: e.schema_id.clone(),
                            payload: e.payload.clone(),
                            headers: Vec::new(),
                        }),
                        replay_id: replay_bytes(e.replay_id),
                    })
                    .collect();
                let resp = response(events, cursor, rpc, credit);
                if tx.send(Ok(resp)).await.is_err() {
                    return Ok(());
                }
                last_sent = Instant::now();
                continue;
            }
        }
        let keepalive_at = last_sent + bus.settings().keepalive;
        tokio::select! {
            r = input.message() => {
                let Some(r) = r? else { return Ok(()) };
                if !r.topic_name.is_empty() && r.topic_name != topic {
                    return Err(status(
                        Code::InvalidArgument,
                        VALIDATION_FAILED,
                        "a subscription cannot change its topic",
                        rpc,
                    ));
                }
                credit += credit_of(&r);
            }
            _ = wake.changed() => {}
            _ = async { let _ = closed.wait_for(|c| *c).await; } => {
                return Err(unavailable("the server is shutting down", rpc));
            }
            _ = async { let _ = offline.wait_for(|o| *o).await; } => {
                return Err(unavailable("the service is unavailable", rpc));
            }
            _ = tokio::time::sleep_until(keepalive_at) => {
                cursor = bus.keepalive_id(&topic, cursor);
                if tx.send(Ok(response(Vec::new(), cursor, rpc, credit))).await.is_err() {
                    return Ok(());
                }
                last_sent = Instant::now();
            }
        }
    }
}

fn response(events: Vec<ConsumerEvent>, latest: u64, rpc: &str, credit: u64) -> FetchResponse {
    FetchResponse {
        events,
        latest_replay_id: replay_bytes(latest),
        rpc_id: rpc.to_string(),
        pending_num_requested: i32::try_from(credit).unwrap_or(i32::MAX),
    }
}
