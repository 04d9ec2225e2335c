//! Platform events: declared, published with Avro payloads, delivered to subscribers.

use super::support::*;
use apache_avro::types::Value as Avro;
use reqwest::Method;
use serde_json::json;
use sfemu::pubsub::proto::{
    ProducerEvent, PublishRequest, ReplayPreset, SchemaRequest, TopicRequest,
};

#[tokio::test]
async fn published_platform_events_reach_subscribers() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let decl = control(
        &t,
        Method::POST,
        "/__sfemu/pubsub/platform-events",
        json!({"name": "Sync_Signal__e", "fields": {"Message__c": "string"}}),
    )
    .await;
    assert_eq!(decl["topic"], "/event/Sync_Signal__e");
    let topic = c
        .get_topic(TopicRequest {
            topic_name: "/event/Sync_Signal__e".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(topic.can_publish && topic.can_subscribe);
    let info = c
        .get_schema(SchemaRequest {
            schema_id: topic.schema_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let schema = apache_avro::Schema::parse_str(&info.schema_json).unwrap();
    let payload = |msg: &str| {
        let v = Avro::Record(vec![
            ("CreatedDate".into(), Avro::Long(1_700_000_000_000)),
            (
                "CreatedById".into(),
                Avro::String("005000000000001AAA".into()),
            ),
            (
                "Message__c".into(),
                Avro::Union(1, Box::new(Avro::String(msg.into()))),
            ),
        ]);
        apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
            .build()
            .unwrap()
            .write_value_to_vec(v)
            .unwrap()
    };
    let event = |id: &str, schema_id: &str, msg: &str| ProducerEvent {
        id: id.into(),
        schema_id: schema_id.into(),
        payload: payload(msg),
        headers: vec![],
    };
    let mut sub = subscribe(
        &mut c,
        fetch("/event/Sync_Signal__e", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    let r = c
        .publish(PublishRequest {
            topic_name: "/event/Sync_Signal__e".into(),
            events: vec![
                event("a", &topic.schema_id, "hello"),
                event("b", "wrong-schema", "nope"),
                event("c", &topic.schema_id, "world"),
            ],
            auth_refresh: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<_> = r
        .results
        .iter()
        .map(|x| (x.correlation_key.as_str(), x.error.is_some()))
        .collect();
    assert_eq!(keys, vec![("a", false), ("b", true), ("c", false)]);
    let evs = sub.events(2).await;
    assert_eq!(evs[0].replay_id, r.results[0].replay_id);
    assert_eq!(evs[1].replay_id, r.results[2].replay_id);
    let got = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .unwrap()
        .read_value(&mut &evs[1].event.as_ref().unwrap().payload[..])
        .unwrap();
    let Avro::Record(fields) = got else { panic!() };
    assert_eq!(
        fields[2].1,
        Avro::Union(1, Box::new(Avro::String("world".into())))
    );
    assert_eq!(evs[0].event.as_ref().unwrap().id, "a");
    // Not mixed into the change-event channels.
    create(&t, "Account", json!({"Name": "cdc"}), None).await;
    assert!(sub.next().await.unwrap().events.is_empty());
    t.shutdown().await;
}
