//! Server errors arrive typed, with the remedy the engine needs.

use crate::support::*;
use futures::StreamExt;
use sfpubsub::{PubSubError, Remedy, Replay, ReplayId};

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test]
async fn a_malformed_replay_id_means_backfill() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::After(ReplayId::from_bytes(vec![1, 2, 3])), 5));
    let e = next(&mut sub).await.unwrap_err();
    assert!(matches!(e, PubSubError::ReplayIdInvalid(_)), "{e}");
    assert_eq!(e.remedy(), Remedy::Backfill);
    assert!(e.rpc_failure().unwrap().rpc_id.is_some(), "{e}");
    assert!(
        sub.next().await.is_none(),
        "the stream ends after a terminal error"
    );
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn a_replay_id_past_retention_means_backfill() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let ps = emu.pubsub().await;
    create_accounts(&rest, "old", 2).await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 5));
    let stored = next_event(&mut sub).await.replay_id;
    drop(sub);
    emu.control(reqwest::Method::POST, "/__sfemu/pubsub/expire", None)
        .await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::After(stored), 5));
    let e = next(&mut sub).await.unwrap_err();
    assert!(matches!(e, PubSubError::ReplayIdInvalid(_)), "{e}");
    assert!(
        e.error_code().unwrap().ends_with("replayid.corrupted"),
        "{e}"
    );
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_topic_is_permanent() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let e = ps.get_topic("/data/NoSuchChangeEvent").await.unwrap_err();
    assert_eq!(e.remedy(), Remedy::GiveUp, "{e}");
    let mut sub = boxed(ps.subscribe("/data/NoSuchChangeEvent", Replay::Latest, 5));
    let e = next(&mut sub).await.unwrap_err();
    assert_eq!(e.remedy(), Remedy::GiveUp, "{e}");
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_schema_id_is_an_error() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let e = ps.get_schema("no-such-schema").await.unwrap_err();
    assert_eq!(e.remedy(), Remedy::GiveUp, "{e}");
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let auth = std::sync::Arc::new(sfpubsub::StaticToken(sfpubsub::Credentials {
        access_token: "t".into(),
        instance_url: "http://x".into(),
        tenant_id: "00D".into(),
    }));
    let e = sfpubsub::PubSubClient::connect(&format!("http://{addr}"), auth)
        .await
        .unwrap_err();
    assert!(matches!(e, PubSubError::Transport(_)), "{e}");
    assert_eq!(e.remedy(), Remedy::Backoff);
}

#[tokio::test]
async fn an_unavailable_service_means_back_off_without_a_refresh() {
    let emu = start(config(false)).await;
    let login = emu.login().await;
    let ps = emu.pubsub_with(login.clone()).await;
    emu.control(
        reqwest::Method::PUT,
        "/__sfemu/faults",
        Some(serde_json::json!({"offline": true})),
    )
    .await;
    let e = ps.get_topic(TOPIC).await.unwrap_err();
    assert!(matches!(e, PubSubError::Unavailable(_)), "{e}");
    assert_eq!(e.remedy(), Remedy::Backoff);
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 5));
    assert_eq!(next(&mut sub).await.unwrap_err().remedy(), Remedy::Backoff);
    assert_eq!(login.refreshes(), 0, "only auth failures refresh the token");
    emu.control(reqwest::Method::DELETE, "/__sfemu/faults", None)
        .await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 5));
    live(&mut sub).await;
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn a_server_going_away_mid_stream_means_back_off() {
    let emu = start(config(false)).await;
    let ps = emu.pubsub().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 5));
    live(&mut sub).await;
    let stopping = tokio::spawn(emu.emu.shutdown());
    let e = loop {
        match next(&mut sub).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(e.remedy(), Remedy::Backoff, "{e}");
    assert!(sub.next().await.is_none());
    stopping.await.unwrap();
}
