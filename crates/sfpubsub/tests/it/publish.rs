//! Publish: one result per event, matched by correlation key; per-event refusals are results.

use crate::support::*;
use sfpubsub::proto::ProducerEvent;

#[tokio::test]
async fn publishing_to_a_change_event_topic_is_refused_per_event() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let topic = ps.get_topic("/data/AccountChangeEvent").await.unwrap();
    let events = ["e-1", "e-2"]
        .map(|id| ProducerEvent {
            id: id.into(),
            schema_id: topic.schema_id.clone(),
            payload: vec![0],
            headers: Vec::new(),
        })
        .to_vec();
    let resp = ps.publish(&topic.topic_name, events).await.unwrap();
    let keys: Vec<&str> = resp
        .results
        .iter()
        .map(|r| r.correlation_key.as_str())
        .collect();
    assert_eq!(keys, ["e-1", "e-2"]);
    assert!(resp.results.iter().all(|r| r.error.is_some()), "{resp:?}");
    assert!(!resp.rpc_id.is_empty());
    emu.emu.shutdown().await;
}
