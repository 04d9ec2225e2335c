//! Error statuses and their `error-code` trailers.

use super::support::*;
use serde_json::json;
use sfemu::pubsub::proto::{ReplayPreset, TopicRequest};
use tonic::Code;

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test]
async fn bad_token_or_tenant_is_unauthenticated() {
    let t = start(100).await;
    let mut a = auth(&t);
    a.token = "00Dbogus!token".into();
    let mut c = client_with(&t, a).await;
    let e = c
        .get_topic(TopicRequest {
            topic_name: TOPIC.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert_eq!(
        error_code(&e),
        "sfdc.platform.eventbus.grpc.service.auth.error"
    );
    assert!(e.message().contains("rpcId: "));

    let mut a = auth(&t);
    a.tenant = "00D000000000001AAA".into();
    let mut c = client_with(&t, a).await;
    let e = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Latest, vec![], 1))
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert_eq!(
        error_code(&e),
        "sfdc.platform.eventbus.grpc.service.auth.error"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn replay_id_outside_retention_is_corrupted() {
    let t = start(100).await;
    let mut c = client(&t).await;
    create(&t, "Account", json!({"Name": "old"}), None).await;
    let mut sub = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Earliest, vec![], 10))
        .await
        .unwrap();
    let stored = sub.events(1).await[0].replay_id.clone();
    // Still valid: resumes fine.
    let mut ok = subscribe(
        &mut c,
        fetch(TOPIC, ReplayPreset::Custom, stored.clone(), 10),
    )
    .await
    .unwrap();
    ok.ready().await;
    control(
        &t,
        reqwest::Method::POST,
        "/__sfemu/pubsub/expire",
        json!({}),
    )
    .await;
    let mut bad = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Custom, stored, 10))
        .await
        .unwrap();
    let e = bad.next().await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        error_code(&e),
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    );
    // Garbage is refused the same way.
    let mut junk = subscribe(
        &mut c,
        fetch(TOPIC, ReplayPreset::Custom, vec![1, 2, 3], 10),
    )
    .await
    .unwrap();
    assert_eq!(junk.next().await.unwrap_err().code(), Code::InvalidArgument);
    t.shutdown().await;
}

#[tokio::test]
async fn changing_the_topic_mid_stream_is_invalid() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Latest, vec![], 1))
        .await
        .unwrap();
    sub.ready().await;
    sub.tx
        .send(fetch(
            "/data/ContactChangeEvent",
            ReplayPreset::Latest,
            vec![],
            1,
        ))
        .unwrap();
    let e = loop {
        match sub.next().await {
            Ok(r) => assert!(r.events.is_empty()),
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), Code::InvalidArgument);
    t.shutdown().await;
}
