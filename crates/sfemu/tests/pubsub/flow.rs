//! Flow control, replay presets and keepalives.

use super::support::*;
use serde_json::json;
use sfemu::pubsub::proto::ReplayPreset;

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test]
async fn credit_limits_delivery_until_more_is_requested() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Latest, vec![], 2))
        .await
        .unwrap();
    sub.ready().await;
    for n in ["one", "two", "three"] {
        create(&t, "Account", json!({"Name": n}), None).await;
    }
    let evs = sub.events(2).await;
    let second = replay(&evs[1]);
    // Credit spent: keepalives only, pointing at the last delivered event (the third waits).
    let k = sub.next().await.unwrap();
    assert!(k.events.is_empty());
    assert_eq!(k.pending_num_requested, 0);
    assert_eq!(
        u64::from_be_bytes(k.latest_replay_id.try_into().unwrap()),
        second
    );
    sub.more(5);
    let third = sub.events(1).await;
    let d = decode(&mut c, &third[0]).await;
    assert_eq!(
        d.fields["Name"],
        apache_avro::types::Value::String("three".into())
    );
    t.shutdown().await;
}

#[tokio::test]
async fn earliest_replays_everything_and_custom_resumes_after_the_id() {
    let t = start(100).await;
    let mut c = client(&t).await;
    for n in ["a", "b", "c"] {
        create(&t, "Account", json!({"Name": n}), None).await;
    }
    let mut all = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Earliest, vec![], 100))
        .await
        .unwrap();
    let evs = all.events(3).await;
    let first = evs[0].replay_id.clone();
    let mut rest = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Custom, first, 100))
        .await
        .unwrap();
    let resumed = rest.events(2).await;
    assert_eq!(resumed[0].replay_id, evs[1].replay_id);
    assert_eq!(resumed[1].replay_id, evs[2].replay_id);
    // LATEST after the fact sees none of them.
    let mut latest = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Latest, vec![], 100))
        .await
        .unwrap();
    let k = latest.ready().await;
    assert_eq!(k.latest_replay_id, evs[2].replay_id);
    t.shutdown().await;
}

#[tokio::test]
async fn idle_stream_gets_keepalives_with_the_latest_replay_id() {
    let t = start(50).await;
    let mut c = client(&t).await;
    create(&t, "Contact", json!({"LastName": "Other topic"}), None).await;
    let mut sub = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Latest, vec![], 1))
        .await
        .unwrap();
    for _ in 0..3 {
        let k = sub.next().await.unwrap();
        assert!(k.events.is_empty());
        assert_eq!(k.latest_replay_id.len(), 8);
        assert_eq!(k.pending_num_requested, 1);
        assert!(!k.rpc_id.is_empty());
    }
    let status = control(&t, reqwest::Method::GET, "/__sfemu/pubsub", json!({})).await;
    assert_eq!(status["keepaliveMs"], 50);
    t.shutdown().await;
}

#[tokio::test]
async fn replay_ids_survive_an_emulator_restart_with_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut cfg = sfemu::server::EmulatorConfig::single_org().with_data_dir(dir.path());
        cfg.orgs[0].spec.cdc_objects = vec!["Account".into()];
        cfg.orgs[0].pubsub.keepalive = std::time::Duration::from_millis(100);
        cfg
    };
    let t = crate::common::start_with(config()).await;
    let mut c = client(&t).await;
    for n in ["before 1", "before 2"] {
        create(&t, "Account", json!({"Name": n}), None).await;
    }
    let mut sub = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Earliest, vec![], 10))
        .await
        .unwrap();
    let before: Vec<Vec<u8>> = sub
        .events(2)
        .await
        .into_iter()
        .map(|e| e.replay_id)
        .collect();
    drop(sub);
    t.shutdown().await;

    let t = crate::common::start_with(config()).await;
    let mut c = client(&t).await;
    create(&t, "Account", json!({"Name": "after"}), None).await;
    let mut sub = subscribe(
        &mut c,
        fetch(TOPIC, ReplayPreset::Custom, before[1].clone(), 10),
    )
    .await
    .unwrap();
    let evs = sub.events(1).await;
    let d = decode(&mut c, &evs[0]).await;
    assert_eq!(
        d.fields["Name"],
        apache_avro::types::Value::String("after".into())
    );
    let mut all = subscribe(&mut c, fetch(TOPIC, ReplayPreset::Earliest, vec![], 10))
        .await
        .unwrap();
    let again: Vec<Vec<u8>> = all
        .events(3)
        .await
        .into_iter()
        .map(|e| e.replay_id)
        .collect();
    assert_eq!(&again[..2], &before[..]);
    t.shutdown().await;
}
