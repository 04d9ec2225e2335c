//! Query streams: pages of 2000 followed through `nextRecordsUrl`, token expiry mid-stream.

use crate::support::*;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sfclient::Record;
use std::collections::HashSet;

async fn seed(client: &sfclient::Client, n: usize) {
    let results = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &work_items("Q", n))
        .await;
    assert!(results.iter().all(|r| r.is_ok()));
}

#[tokio::test]
async fn token_expiring_mid_stream_of_10000_rows() {
    // Over HTTPS: TLS, gzip and connection reuse all on the path.
    let emu = start(config(true)).await;
    let client = emu.client().await;
    seed(&client, 10_000).await;
    emu.reset_usage().await;
    let fetches_before = client.token_fetches();

    let mut stream = client.query("SELECT Id, Name, OrgSync_Global_Id__c FROM Work_Item__c");
    let mut seen = HashSet::new();
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        seen.insert(row["OrgSync_Global_Id__c"].as_str().unwrap().to_owned());
        if seen.len() == 3000 {
            // Page 2 is being consumed; page 3 will need a new token.
            emu.expire_tokens().await;
        }
    }
    assert_eq!(seen.len(), 10_000, "every row exactly once");
    assert_eq!(client.token_fetches(), fetches_before + 1, "one refresh");
    assert_eq!(
        emu.usage().await["byKind"]["query"].as_u64(),
        Some(5),
        "⌈10000/2000⌉ page calls"
    );
}

#[tokio::test]
async fn pages_count_and_query_all() {
    let emu = start_default().await;
    let client = emu.client().await;
    seed(&client, 2500).await;
    let pages: Vec<sfclient::QueryPage> = client
        .query_pages("SELECT Id FROM Work_Item__c", false)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].total_size, 2500);
    assert_eq!(pages[0].records.len() + pages[1].records.len(), 2500);

    let count = client
        .query_page("SELECT COUNT() FROM Work_Item__c", false)
        .await
        .unwrap();
    assert_eq!(count.total_size, 2500);

    let one = client
        .get_by_external_id("Work_Item__c", "OrgSync_Global_Id__c", "Q-7", Some(&["Id"]))
        .await
        .unwrap();
    let id = one["Id"].as_str().unwrap().to_owned();
    client.delete("Work_Item__c", &id).await.unwrap();
    let live: Vec<Record> = client
        .query(&format!("SELECT Id FROM Work_Item__c WHERE Id = '{id}'"))
        .try_collect()
        .await
        .unwrap();
    assert!(live.is_empty());
    let all: Vec<Record> = client
        .query_all("SELECT Id, IsDeleted FROM Work_Item__c WHERE IsDeleted = true")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["Id"], json!(id));
}

#[tokio::test]
async fn batch_size_option_is_sent() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.query_batch_size = Some(500);
    let client = sfclient::Client::connect(cfg).await.unwrap();
    seed(&client, 1200).await;
    let pages: Vec<sfclient::QueryPage> = client
        .query_pages("SELECT Id FROM Work_Item__c", false)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
}

#[tokio::test]
async fn bad_soql_is_permanent() {
    let emu = start_default().await;
    let client = emu.client().await;
    let err = client
        .query("SELECT Nope__c FROM Work_Item__c")
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), sfclient::ErrorKind::Permanent);
    assert_eq!(err.code(), Some("INVALID_FIELD"));
}
