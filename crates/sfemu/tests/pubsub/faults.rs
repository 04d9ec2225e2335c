//! Injected gap and overflow events; the org going offline.

use super::support::*;
use reqwest::Method;
use serde_json::json;
use sfemu::pubsub::proto::ReplayPreset;

#[tokio::test]
async fn gap_events_for_the_next_changes_then_normal_ones() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(
        &mut c,
        fetch("/data/ChangeEvents", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    control(&t, Method::POST, "/__sfemu/pubsub/gap", json!({"count": 2})).await;
    let a = create(&t, "Account", json!({"Name": "gap 1"}), None).await;
    call(
        &t,
        Method::PATCH,
        &format!("/sobjects/Account/{a}"),
        Some(json!({"Name": "gap 2"})),
    )
    .await;
    call(
        &t,
        Method::PATCH,
        &format!("/sobjects/Account/{a}"),
        Some(json!({"Name": "normal"})),
    )
    .await;
    let evs = sub.events(3).await;
    let g1 = decode(&mut c, &evs[0]).await;
    assert_eq!(g1.s("changeType"), "GAP_CREATE");
    assert_eq!(g1.list("recordIds"), vec![a.clone()]);
    assert!(g1.fields.is_empty(), "gap events carry no field values");
    let g2 = decode(&mut c, &evs[1]).await;
    assert_eq!(g2.s("changeType"), "GAP_UPDATE");
    assert!(g2.list("changedFields").is_empty());
    let n = decode(&mut c, &evs[2]).await;
    assert_eq!(n.s("changeType"), "UPDATE");
    assert_eq!(
        n.fields["Name"],
        apache_avro::types::Value::String("normal".into())
    );
    t.shutdown().await;
}

#[tokio::test]
async fn overflow_event_has_no_record_ids() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(
        &mut c,
        fetch("/data/ContactChangeEvent", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    control(
        &t,
        Method::POST,
        "/__sfemu/pubsub/overflow",
        json!({"object": "Contact"}),
    )
    .await;
    let evs = sub.events(1).await;
    let d = decode(&mut c, &evs[0]).await;
    assert_eq!(d.s("changeType"), "GAP_OVERFLOW");
    assert_eq!(d.s("entityName"), "Contact");
    assert!(d.list("recordIds").is_empty());
    t.shutdown().await;
}

#[tokio::test]
async fn a_transaction_over_the_threshold_overflows_once_per_object() {
    let t = start(100).await;
    let mut c = client(&t).await;
    control(
        &t,
        Method::PUT,
        "/__sfemu/pubsub",
        json!({"overflowThreshold": 3}),
    )
    .await;
    let mut sub = subscribe(
        &mut c,
        fetch("/data/ChangeEvents", ReplayPreset::Latest, vec![], 50),
    )
    .await
    .unwrap();
    sub.ready().await;
    let mut records: Vec<_> = (0..4)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("Acc {i}")}))
        .collect();
    records.extend(
        (0..2).map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("C {i}")})),
    );
    call(
        &t,
        Method::POST,
        "/composite/sobjects",
        Some(json!({"allOrNone": true, "records": records})),
    )
    .await;
    // 3 creates publish normally; the 4th Account and both Contacts overflow: one per object.
    let evs = sub.events(5).await;
    let mut kinds = Vec::new();
    for e in &evs {
        let d = decode(&mut c, e).await;
        kinds.push((
            d.s("changeType"),
            d.s("entityName"),
            d.list("recordIds").len(),
        ));
    }
    assert_eq!(
        kinds,
        vec![
            ("CREATE".into(), "Account".into(), 1),
            ("CREATE".into(), "Account".into(), 1),
            ("CREATE".into(), "Account".into(), 1),
            ("GAP_OVERFLOW".into(), "Account".into(), 0),
            ("GAP_OVERFLOW".into(), "Contact".into(), 0),
        ]
    );
    // A later transaction starts a fresh budget.
    create(&t, "Account", json!({"Name": "after"}), None).await;
    let d = decode(&mut c, &sub.events(1).await[0]).await;
    assert_eq!(d.s("changeType"), "CREATE");
    t.shutdown().await;
}

#[tokio::test]
async fn offline_ends_open_streams_and_refuses_new_ones_until_back() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let topic = "/data/AccountChangeEvent";
    let mut sub = ready_sub(&mut c, topic).await;
    control(&t, Method::PUT, "/__sfemu/faults", json!({"offline": true})).await;
    // A keepalive may still be in flight; the stream then ends with UNAVAILABLE (a stream
    // that stays open keeps sending keepalives: give up after 20 of them).
    let mut ended = None;
    for _ in 0..20 {
        match sub.next().await {
            Ok(r) => assert!(r.events.is_empty(), "no events while offline"),
            Err(s) => {
                ended = Some(s);
                break;
            }
        }
    }
    let ended = ended.expect("the stream stayed open while offline");
    assert_eq!(ended.code(), tonic::Code::Unavailable);
    assert_eq!(
        error_code(&ended),
        "sfdc.platform.eventbus.grpc.service.unavailable"
    );
    let refused = subscribe(&mut c, fetch(topic, ReplayPreset::Latest, vec![], 10))
        .await
        .err()
        .unwrap();
    assert_eq!(refused.code(), tonic::Code::Unavailable);

    control(
        &t,
        Method::PUT,
        "/__sfemu/faults",
        json!({"offline": false}),
    )
    .await;
    let mut again = ready_sub(&mut c, topic).await;
    let id = create(&t, "Account", json!({"Name": "back online"}), None).await;
    let evs = again.events(1).await;
    assert_eq!(decode(&mut c, &evs[0]).await.list("recordIds"), vec![id]);
    t.shutdown().await;
}
