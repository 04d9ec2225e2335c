//! gRPC over TLS on the org's HTTPS port (ALPN h2), offline mode, PublishStream.

use super::support::*;
use crate::common;
use serde_json::json;
use sfemu::pubsub::proto::pub_sub_client::PubSubClient;
use sfemu::pubsub::proto::{PublishRequest, ReplayPreset, TopicRequest};
use sfemu::server::EmulatorConfig;
use std::time::Duration;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

#[tokio::test]
async fn subscribe_over_tls_on_the_https_port() {
    let mut cfg = EmulatorConfig::single_org().with_tls(true);
    cfg.orgs[0].spec.cdc_objects = vec!["Account".into()];
    cfg.orgs[0].pubsub.keepalive = Duration::from_millis(100);
    let t = common::start_with(cfg).await;
    assert!(t.base.starts_with("https://"));
    let pem = t.org().ca_pem.clone().unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pem))
        .domain_name("localhost");
    let ch = Endpoint::from_shared(t.base.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = PubSubClient::with_interceptor(ch, auth(&t));
    let mut sub = subscribe(
        &mut c,
        fetch("/data/AccountChangeEvent", ReplayPreset::Latest, vec![], 5),
    )
    .await
    .unwrap();
    sub.ready().await;
    create(&t, "Account", json!({"Name": "Over TLS"}), None).await;
    let evs = sub.events(1).await;
    let d = decode(&mut c, &evs[0]).await;
    assert_eq!(d.s("changeType"), "CREATE");
    t.shutdown().await;
}

#[tokio::test]
async fn offline_org_is_unavailable_and_publish_stream_answers_each_request() {
    let t = start(100).await;
    let mut c = client(&t).await;
    let reqs = (0..2).map(|i| PublishRequest {
        topic_name: "/data/AccountChangeEvent".into(),
        events: vec![sfemu::pubsub::proto::ProducerEvent {
            id: format!("e{i}"),
            ..Default::default()
        }],
        auth_refresh: String::new(),
    });
    let mut out = c
        .publish_stream(futures::stream::iter(reqs.collect::<Vec<_>>()))
        .await
        .unwrap()
        .into_inner();
    let mut keys = Vec::new();
    while let Some(r) = out.message().await.unwrap() {
        keys.push(r.results[0].correlation_key.clone());
    }
    assert_eq!(keys, vec!["e0", "e1"]);

    control(
        &t,
        reqwest::Method::PUT,
        "/__sfemu/faults",
        json!({"offline": true}),
    )
    .await;
    let e = c
        .get_topic(TopicRequest {
            topic_name: "/data/AccountChangeEvent".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    t.shutdown().await;
}
