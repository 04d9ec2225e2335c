//! Change-event contents: the four change types, merged transactions, changeOrigin, topics.

use super::support::*;
use reqwest::Method;
use serde_json::json;
use sfemu::pubsub::proto::{ReplayPreset, TopicRequest};
use sfemu_org::{Caller, DmlOp};

#[tokio::test]
async fn create_update_delete_undelete_arrive_decoded() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(
        &mut c,
        fetch("/data/AccountChangeEvent", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    let id = create(
        &t,
        "Account",
        json!({"Name": "Acme", "Industry": "Energy"}),
        None,
    )
    .await;
    call(
        &t,
        Method::PATCH,
        &format!("/sobjects/Account/{id}"),
        Some(json!({"Industry": "Retail", "Phone": null})),
    )
    .await;
    call(&t, Method::DELETE, &format!("/sobjects/Account/{id}"), None).await;
    let org = &t.org().state.org;
    let caller = Caller {
        user_id: org.default_user().id.clone(),
        api: "soap".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let r = org.apply(&caller, vec![DmlOp::Undelete { id: id.clone() }], true);
    assert!(r[0].is_ok());

    let evs = sub.events(4).await;
    let ids: Vec<u64> = evs.iter().map(replay).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "replay ids increase: {ids:?}"
    );

    let create = decode(&mut c, &evs[0]).await;
    assert_eq!(create.s("changeType"), "CREATE");
    assert_eq!(create.s("entityName"), "Account");
    assert_eq!(create.list("recordIds"), vec![id.clone()]);
    assert!(create.list("changedFields").is_empty());
    assert_eq!(
        create.fields["Name"],
        apache_avro::types::Value::String("Acme".into())
    );
    assert_eq!(
        create.fields["Industry"],
        apache_avro::types::Value::String("Energy".into())
    );
    assert!(
        matches!(create.fields["CreatedDate"], apache_avro::types::Value::Long(ms) if ms > 1_600_000_000_000)
    );
    assert!(
        create
            .s("changeOrigin")
            .starts_with("com/salesforce/api/rest/66.0")
    );
    assert_eq!(
        create.header["sequenceNumber"],
        apache_avro::types::Value::Int(1)
    );

    let update = decode(&mut c, &evs[1]).await;
    assert_eq!(update.s("changeType"), "UPDATE");
    let changed = update.bitmap_names("changedFields");
    assert!(changed.contains(&"Industry".to_string()), "{changed:?}");
    assert!(
        changed.contains(&"LastModifiedDate".to_string()),
        "{changed:?}"
    );
    assert!(!changed.contains(&"Name".to_string()));
    assert_eq!(
        update.fields["Industry"],
        apache_avro::types::Value::String("Retail".into())
    );
    assert!(
        !update.fields.contains_key("Name"),
        "unchanged fields are null"
    );
    assert_ne!(update.s("transactionKey"), create.s("transactionKey"));

    let delete = decode(&mut c, &evs[2]).await;
    assert_eq!(delete.s("changeType"), "DELETE");
    assert_eq!(delete.list("recordIds"), vec![id.clone()]);
    assert!(delete.fields.is_empty(), "delete carries the header only");

    let undelete = decode(&mut c, &evs[3]).await;
    assert_eq!(undelete.s("changeType"), "UNDELETE");
    assert!(
        undelete
            .s("changeOrigin")
            .starts_with("com/salesforce/api/soap/")
    );
    assert_eq!(
        undelete.fields["Name"],
        apache_avro::types::Value::String("Acme".into())
    );
    t.shutdown().await;
}

#[tokio::test]
async fn one_transaction_on_three_records_is_one_event() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut ids = Vec::new();
    for n in ["A", "B", "C"] {
        ids.push(create(&t, "Account", json!({"Name": n}), None).await);
    }
    let mut sub = subscribe(
        &mut c,
        fetch("/data/AccountChangeEvent", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    let records: Vec<_> = ids
        .iter()
        .map(|id| json!({"attributes": {"type": "Account"}, "id": id, "Industry": "Energy"}))
        .collect();
    call(
        &t,
        Method::PATCH,
        "/composite/sobjects",
        Some(json!({"allOrNone": true, "records": records})),
    )
    .await;
    let evs = sub.events(1).await;
    let d = decode(&mut c, &evs[0]).await;
    assert_eq!(d.s("changeType"), "UPDATE");
    assert_eq!(d.list("recordIds"), ids);
    // Nothing else follows: the next response is a keepalive.
    assert!(sub.next().await.unwrap().events.is_empty());
    t.shutdown().await;
}

#[tokio::test]
async fn change_origin_carries_the_client_tag() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let mut sub = subscribe(
        &mut c,
        fetch("/data/ChangeEvents", ReplayPreset::Latest, vec![], 10),
    )
    .await
    .unwrap();
    sub.ready().await;
    create(
        &t,
        "Contact",
        json!({"LastName": "Lovelace"}),
        Some("orgsync-test"),
    )
    .await;
    let evs = sub.events(1).await;
    let d = decode(&mut c, &evs[0]).await;
    assert_eq!(d.s("entityName"), "Contact");
    assert_eq!(
        d.s("changeOrigin"),
        "com/salesforce/api/rest/66.0;client=orgsync-test"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn topics_follow_the_cdc_selection() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let info = c
        .get_topic(TopicRequest {
            topic_name: "/data/AccountChangeEvent".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(info.can_subscribe);
    assert!(!info.can_publish);
    assert_eq!(info.tenant_guid, t.org().org_id);
    let schema = c
        .get_schema(sfemu::pubsub::proto::SchemaRequest {
            schema_id: info.schema_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let json: serde_json::Value = serde_json::from_str(&schema.schema_json).unwrap();
    assert_eq!(json["name"], "AccountChangeEvent");
    assert_eq!(json["namespace"], "com.sforce.eventbus");
    assert_eq!(json["fields"][0]["name"], "ChangeEventHeader");
    assert_eq!(schema.schema_id, info.schema_id);
    // Opportunity has no CDC here.
    let err = c
        .get_topic(TopicRequest {
            topic_name: "/data/OpportunityChangeEvent".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(
        c.get_topic(TopicRequest {
            topic_name: "/data/ChangeEvents".into()
        })
        .await
        .is_ok()
    );
    t.shutdown().await;
}

#[tokio::test]
async fn publishing_to_a_change_channel_fails_per_event() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let req = sfemu::pubsub::proto::PublishRequest {
        topic_name: "/data/AccountChangeEvent".into(),
        events: vec![sfemu::pubsub::proto::ProducerEvent {
            id: "corr-1".into(),
            schema_id: String::new(),
            payload: vec![],
            headers: vec![],
        }],
        auth_refresh: String::new(),
    };
    let r = c.publish(req).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].correlation_key, "corr-1");
    assert!(r.results[0].error.is_some());
    // Counted by kind, not against the REST allocation.
    let usage = control(&t, Method::GET, "/__sfemu/api-usage", json!({})).await;
    assert_eq!(usage["byKind"]["pubsub.Publish"], 1);
    t.shutdown().await;
}

/// The SOAP `undelete` call publishes UNDELETE events with the SOAP origin and the CallOptions
/// client; lookups cleared by a delete and restored by an undelete publish nothing.
#[tokio::test]
async fn soap_undelete_publishes_and_cleared_lookups_stay_silent() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let parent = create(&t, "Account", json!({"Name": "parent"}), None).await;
    let child = create(
        &t,
        "Account",
        json!({"Name": "child", "ParentId": parent}),
        None,
    )
    .await;
    let mut sub = ready_sub(&mut c, "/data/AccountChangeEvent").await;
    call(
        &t,
        Method::DELETE,
        &format!("/sobjects/Account/{parent}"),
        None,
    )
    .await;
    let (status, xml) = crate::common::soap_post(
        &t,
        "66.0",
        crate::common::undelete_envelope(&t.token, &[&parent], Some("orgsync"), false),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let marker = create(&t, "Account", json!({"Name": "marker"}), None).await;

    // Exactly three events: nothing for the child whose ParentId was cleared and restored.
    let evs = sub.events(3).await;
    let mut got = Vec::new();
    for e in &evs {
        let d = decode(&mut c, e).await;
        got.push((d.s("changeType"), d.list("recordIds"), d.s("changeOrigin")));
    }
    assert_eq!(
        got,
        vec![
            (
                "DELETE".to_string(),
                vec![parent.clone()],
                "com/salesforce/api/rest/66.0".to_string()
            ),
            (
                "UNDELETE".to_string(),
                vec![parent.clone()],
                "com/salesforce/api/soap/66.0;client=orgsync".to_string()
            ),
            (
                "CREATE".to_string(),
                vec![marker],
                "com/salesforce/api/rest/66.0".to_string()
            ),
        ]
    );
    let rec = t
        .http
        .get(t.data(&format!("/sobjects/Account/{child}")))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(crate::common::json(rec).await["ParentId"], json!(parent));
    t.shutdown().await;
}
