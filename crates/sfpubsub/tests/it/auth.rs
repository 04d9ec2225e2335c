//! Expired tokens: refreshed once, then the call goes through; a token that cannot be refreshed
//! ends in `Auth`.

use crate::support::*;
use serde_json::json;
use sfpubsub::{Credentials, PubSubError, Remedy, Replay, StaticToken};
use std::sync::Arc;

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_unary_calls() {
    let emu = start(config(false)).await;
    let login = emu.login().await;
    let ps = emu.pubsub_with(login.clone()).await;
    ps.get_topic(TOPIC).await.unwrap();
    assert_eq!(login.refreshes(), 0);
    emu.expire_tokens().await;
    let topic = ps.get_topic(TOPIC).await.unwrap();
    assert_eq!(login.refreshes(), 1);
    // The schema call uses the refreshed token: no further login.
    ps.get_schema(&topic.schema_id).await.unwrap();
    assert_eq!(login.refreshes(), 1);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_a_subscription() {
    let emu = start(config(false)).await;
    let rest = emu.rest().await;
    let id = rest
        .create("Account", &rec(json!({"Name": "R"})))
        .await
        .unwrap();
    let login = emu.login().await;
    let ps = emu.pubsub_with(login.clone()).await;
    emu.expire_tokens().await;
    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Earliest, 5));
    assert_eq!(next_event(&mut sub).await.header.record_ids, [id]);
    assert_eq!(login.refreshes(), 1);
    emu.emu.shutdown().await;
}

#[tokio::test]
async fn a_token_that_stays_bad_ends_in_auth() {
    let emu = start(config(false)).await;
    let bad = Arc::new(StaticToken(Credentials {
        access_token: "00Dnot-a-token".into(),
        instance_url: emu.base.clone(),
        tenant_id: emu.org_id.clone(),
    }));
    let ps = emu.pubsub_with(bad).await;
    let e = ps.get_topic(TOPIC).await.unwrap_err();
    assert!(matches!(e, PubSubError::Auth(_)), "{e}");
    assert_eq!(e.remedy(), Remedy::Reauthenticate);
    assert!(e.error_code().unwrap().ends_with("auth.error"), "{e}");

    let mut sub = boxed(ps.subscribe(TOPIC, Replay::Latest, 5));
    let e = next(&mut sub).await.unwrap_err();
    assert!(matches!(e, PubSubError::Auth(_)), "{e}");
    emu.emu.shutdown().await;
}
