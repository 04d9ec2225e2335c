//! Subscribing: live events, decoding, flow control, resuming.

use crate::support::*;
use serde_json::json;
use sfpubsub::{ChangeType, Received, Replay};
use std::collections::HashSet;

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test]
async fn latest_receives_create_and_update_with_changed_field_names() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let rest = emu.rest().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 10));
    live(&mut sub).await;

    let id = rest
        .create(
            "Account",
            &rec(json!({"Name": "Acme", "NumberOfEmployees": 12})),
        )
        .await
        .unwrap();
    let created = next_event(&mut sub).await;
    assert_eq!(created.header.change_type, ChangeType::Create);
    assert_eq!(created.header.entity_name, "Account");
    assert_eq!(created.header.record_ids, std::slice::from_ref(&id));
    assert_eq!(created.header.origin_client.as_deref(), Some(TAG));
    assert!(
        created.header.changed_fields.is_empty(),
        "{:?}",
        created.header.changed_fields
    );
    assert_eq!(created.fields["Name"], "Acme");
    assert_eq!(created.fields["NumberOfEmployees"], 12);
    let created_date = created.fields["CreatedDate"].as_str().unwrap();
    assert!(
        created_date.len() == 28 && created_date.ends_with("+0000"),
        "REST datetime form, got {created_date}"
    );
    assert!(!created.replay_id.is_empty());

    rest.update(
        "Account",
        &id,
        &rec(json!({"Name": "Acme 2", "Industry": "Energy"})),
    )
    .await
    .unwrap();
    let updated = next_event(&mut sub).await;
    assert_eq!(updated.header.change_type, ChangeType::Update);
    assert_eq!(updated.header.record_ids, std::slice::from_ref(&id));
    let changed: HashSet<&str> = updated
        .header
        .changed_fields
        .iter()
        .map(String::as_str)
        .collect();
    for f in ["Name", "Industry", "LastModifiedDate"] {
        assert!(changed.contains(f), "{f} missing from {changed:?}");
    }
    assert!(!changed.contains("NumberOfEmployees"), "{changed:?}");
    assert_eq!(updated.fields["Name"], "Acme 2");
    assert!(
        !updated.fields.contains_key("NumberOfEmployees"),
        "unchanged fields are null"
    );
    assert!(updated.replay_id > created.replay_id);
    let values = updated.changed_values();
    assert_eq!(values["Industry"], "Energy");

    rest.update("Account", &id, &rec(json!({"Industry": null})))
        .await
        .unwrap();
    let nulled = next_event(&mut sub).await;
    assert_eq!(nulled.header.nulled_fields, ["Industry"]);
    assert_eq!(nulled.changed_values()["Industry"], serde_json::Value::Null);

    rest.delete("Account", &id).await.unwrap();
    let deleted = next_event(&mut sub).await;
    assert_eq!(deleted.header.change_type, ChangeType::Delete);
    assert_eq!(deleted.header.record_ids, [id]);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn credit_is_topped_up_so_a_small_batch_still_gets_everything() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    // 7 events with a batch of 2: without topping credit back up the stream would stall after 2.
    let ids = create_accounts(&rest, "fc", 7).await;
    let ps = emu.pubsub().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 2));
    let mut got = Vec::new();
    for _ in 0..7 {
        got.extend(next_event(&mut sub).await.header.record_ids);
    }
    assert_eq!(got, ids);
    expect_idle(&mut sub).await;
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn resuming_after_a_replay_id_loses_and_repeats_nothing() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    let ids = create_accounts(&rest, "resume", 6).await;

    let mut first = boxed(ps.subscribe(TOPIC, Replay::Earliest, 3));
    let mut seen = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let e = next_event(&mut first).await;
        seen.extend(e.header.record_ids.clone());
        last = Some(e.replay_id);
    }
    drop(first);
    // What a restarted engine does: the stored id, as hex, back into After.
    let stored = last.unwrap().to_hex();
    let more = create_accounts(&rest, "resume-late", 2).await;

    let after = sfpubsub::ReplayId::from_hex(&stored).unwrap();
    let mut second = boxed(ps.subscribe(TOPIC, Replay::After(after), 3));
    for _ in 0..4 {
        seen.extend(next_event(&mut second).await.header.record_ids);
    }
    expect_idle(&mut second).await;
    let expected: Vec<String> = ids.into_iter().chain(more).collect();
    assert_eq!(seen, expected);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn all_change_events_topic_and_contact_dates() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    let mut sub = boxed(ps.subscribe("/data/ChangeEvents", Replay::Latest, 5));
    live(&mut sub).await;
    rest.create("Account", &rec(json!({"Name": "A"})))
        .await
        .unwrap();
    let cid = rest
        .create(
            "Contact",
            &rec(json!({"LastName": "Lovelace", "Birthdate": "1815-12-10"})),
        )
        .await
        .unwrap();
    assert_eq!(next_event(&mut sub).await.header.entity_name, "Account");
    let c = next_event(&mut sub).await;
    assert_eq!(c.header.entity_name, "Contact");
    assert_eq!(c.header.record_ids, [cid]);
    assert_eq!(c.fields["Birthdate"], "1815-12-10");
    assert_eq!(c.fields["LastName"], "Lovelace");
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn gap_and_overflow_events() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 5));
    live(&mut sub).await;
    emu.control(
        reqwest::Method::POST,
        "/__sfemu/pubsub/gap",
        Some(json!({"count": 1})),
    )
    .await;
    let id = rest
        .create("Account", &rec(json!({"Name": "G"})))
        .await
        .unwrap();
    let gap = next_event(&mut sub).await;
    assert_eq!(gap.header.change_type, ChangeType::GapCreate);
    assert!(gap.header.change_type.is_gap());
    assert_eq!(gap.header.record_ids, [id]);
    emu.control(
        reqwest::Method::POST,
        "/__sfemu/pubsub/overflow",
        Some(json!({"object": "Account"})),
    )
    .await;
    let over = next_event(&mut sub).await;
    assert_eq!(over.header.change_type, ChangeType::GapOverflow);
    assert!(over.header.record_ids.is_empty());
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn keepalives_carry_a_replay_id_and_cost_no_rest_calls() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let rest = emu.rest().await;
    rest.create("Account", &rec(json!({"Name": "K"})))
        .await
        .unwrap();
    let before = emu.api_calls().await;
    let topic = ps.get_topic(TOPIC).await.unwrap();
    assert!(topic.can_subscribe);
    ps.get_schema(&topic.schema_id).await.unwrap();
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 5));
    next_event(&mut sub).await;
    let mut keepalives = 0;
    while keepalives < 2 {
        if let Received::Keepalive { latest_replay_id } = next(&mut sub).await.unwrap() {
            assert!(!latest_replay_id.is_empty());
            keepalives += 1;
        }
    }
    // GetTopic, GetSchema, Subscribe and keepalives are not REST API requests. (The control
    // surface read itself is not counted either.)
    assert_eq!(emu.api_calls().await, before);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn tls_with_the_emulators_ca() {
    let emu = start(config(true)).await;
    assert!(emu.base.starts_with("https://"));
    let ps = emu.pubsub().await;
    let rest = emu.rest().await;
    let id = rest
        .create("Account", &rec(json!({"Name": "T"})))
        .await
        .unwrap();
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 5));
    assert_eq!(next_event(&mut sub).await.header.record_ids, [id]);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn resuming_after_a_keepalive_replay_id_gets_only_newer_events() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    create_accounts(&rest, "before", 2).await;
    // Events on another topic move the org's position but must not be skipped or replayed.
    rest.create("Contact", &rec(json!({"LastName": "Other"})))
        .await
        .unwrap();
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 5));
    next_event(&mut sub).await;
    next_event(&mut sub).await;
    let stored = match next(&mut sub).await.unwrap() {
        Received::Keepalive { latest_replay_id } => latest_replay_id,
        Received::Event(e) => panic!("unexpected {e:?}"),
    };
    drop(sub);
    let newer = create_accounts(&rest, "after", 1).await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::After(stored), 5));
    assert_eq!(next_event(&mut sub).await.header.record_ids, newer);
    expect_idle(&mut sub).await;
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn one_change_to_several_records_in_one_transaction_is_one_event() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    let ids = create_accounts(&rest, "merge", 3).await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 10));
    live(&mut sub).await;
    let same: Vec<_> = ids
        .iter()
        .map(|id| rec(json!({"Id": id, "Industry": "Energy"})))
        .collect();
    for r in rest.update_many("Account", &same).await {
        assert!(r.is_ok(), "{r:?}");
    }
    let ev = next_event(&mut sub).await;
    assert_eq!(ev.header.change_type, ChangeType::Update);
    let mut got = ev.header.record_ids.clone();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "one event names every record");
    assert_eq!(ev.fields["Industry"], "Energy");
    expect_idle(&mut sub).await;
    emu.emu.shutdown().await;
}
