//! sObject Collections: chunks of 200, one call each, per-record results in the caller's order.

use crate::support::*;
use futures::TryStreamExt;
use serde_json::{Value, json};
use sfclient::{ErrorKind, Record};

fn ext(r: &Record) -> String {
    r["OrgSync_Global_Id__c"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn upsert_many_chunks_and_maps_results_in_order() {
    let emu = start_default().await;
    let client = emu.client().await;
    let items = work_items("U", 450);
    emu.reset_usage().await;
    let results = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &items)
        .await;
    assert_eq!(emu.calls().await, 3, "⌈450/200⌉ calls");
    assert_eq!(results.len(), 450);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap().created == Some(true))
    );

    // The i-th id belongs to the i-th item, across chunk boundaries.
    let ids: Vec<String> = results
        .iter()
        .map(|r| r.as_ref().unwrap().id.clone())
        .collect();
    let got = client
        .retrieve_many("Work_Item__c", &ids, &["Id", "OrgSync_Global_Id__c"])
        .await
        .unwrap();
    for (i, row) in got.iter().enumerate() {
        assert_eq!(ext(row.as_ref().unwrap()), ext(&items[i]));
    }

    let again = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &items)
        .await;
    for (i, r) in again.iter().enumerate() {
        let s = r.as_ref().unwrap();
        assert_eq!(s.created, Some(false));
        assert_eq!(s.id, ids[i]);
    }
}

#[tokio::test]
async fn create_update_delete_retrieve_many() {
    let emu = start_default().await;
    let client = emu.client().await;
    let items = work_items("C", 250);
    let created = client.create_many("Work_Item__c", &items).await;
    let ids: Vec<String> = created
        .iter()
        .map(|r| r.as_ref().unwrap().id.clone())
        .collect();

    let updates: Vec<Record> = ids
        .iter()
        .map(|id| rec(json!({"Id": id, "Status__c": "Done"})))
        .collect();
    let updated = client.update_many("Work_Item__c", &updates).await;
    assert!(updated.iter().all(|r| r.is_ok()));

    let mut ask = ids[..3].to_vec();
    ask.push("a00000000000000AAA".into());
    let got = client
        .retrieve_many("Work_Item__c", &ask, &["Id", "Status__c"])
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].as_ref().unwrap()["Status__c"], "Done");
    assert!(got[3].is_none(), "unknown id comes back as null");

    emu.reset_usage().await;
    let deleted = client.delete_many(&ids).await;
    assert_eq!(emu.calls().await, 2);
    assert!(deleted.iter().all(|r| r.is_ok()));
    let again = client.delete_many(&ids[..1]).await;
    assert_eq!(again[0].as_ref().unwrap_err().kind(), ErrorKind::Permanent);
}

#[tokio::test]
async fn per_record_errors_are_classified_and_in_place() {
    let emu = start_default().await;
    let client = emu.client().await;
    client
        .upsert(
            "Account",
            "OrgSync_Global_Id__c",
            "ACC-1",
            &rec(json!({"Name": "Parent"})),
        )
        .await
        .unwrap();
    let items = vec![
        rec(
            json!({"OrgSync_Global_Id__c": "P-0", "Name": "ok", "Account__r": {"OrgSync_Global_Id__c": "ACC-1"}}),
        ),
        rec(json!({"OrgSync_Global_Id__c": "P-1", "Name": "x".repeat(81)})),
        rec(
            json!({"OrgSync_Global_Id__c": "P-2", "Name": "orphan", "Account__r": {"OrgSync_Global_Id__c": "ACC-404"}}),
        ),
        rec(json!({"OrgSync_Global_Id__c": "P-3", "Name": "ok too"})),
    ];
    let results = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &items)
        .await;
    assert!(results[0].is_ok());
    let too_long = results[1].as_ref().unwrap_err();
    assert_eq!(too_long.kind(), ErrorKind::Permanent);
    assert_eq!(too_long.code(), Some("STRING_TOO_LONG"));
    let orphan = results[2].as_ref().unwrap_err();
    assert_eq!(orphan.kind(), ErrorKind::MissingParent, "{orphan}");
    let parent = orphan.missing_parent().unwrap();
    assert_eq!(parent.value, "ACC-404");
    assert_eq!(parent.field, "OrgSync_Global_Id__c");
    assert_eq!(parent.entity, "Account");
    assert!(results[3].is_ok());
}

#[tokio::test]
async fn injected_row_locks_are_reported_per_record() {
    let emu = start_default().await;
    let client = emu.client().await;
    let items = work_items("L", 1000);
    emu.faults(json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 0.2}, "seed": 7}))
        .await;
    emu.reset_usage().await;
    let results = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &items)
        .await;
    assert_eq!(
        emu.calls().await,
        5,
        "record errors do not cost extra calls"
    );
    emu.clear_faults().await;

    let failed: Vec<usize> = (0..items.len()).filter(|i| results[*i].is_err()).collect();
    assert!(
        (100..=300).contains(&failed.len()),
        "about 20% fail, got {}",
        failed.len()
    );
    for i in &failed {
        let e = results[*i].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Retryable);
        assert_eq!(e.code(), Some("UNABLE_TO_LOCK_ROW"));
    }
    // What the results say matches what is in the org: succeeded items exist, failed ones don't.
    let rows: Vec<Record> = client
        .query("SELECT Id, OrgSync_Global_Id__c FROM Work_Item__c")
        .try_collect()
        .await
        .unwrap();
    let in_org: std::collections::HashMap<String, Value> =
        rows.iter().map(|r| (ext(r), r["Id"].clone())).collect();
    assert_eq!(in_org.len(), items.len() - failed.len());
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(saved) => assert_eq!(
                in_org.get(&ext(&items[i])),
                Some(&Value::String(saved.id.clone()))
            ),
            Err(_) => assert!(!in_org.contains_key(&ext(&items[i]))),
        }
    }
    // Retrying exactly the failed items completes the set.
    let retry: Vec<Record> = failed.iter().map(|i| items[*i].clone()).collect();
    let second = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &retry)
        .await;
    assert!(
        second
            .iter()
            .all(|r| r.as_ref().unwrap().created == Some(true))
    );
}

#[tokio::test]
async fn a_chunk_failing_whole_fails_each_of_its_items() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.retry.max_retries = 0;
    let client = sfclient::Client::connect(cfg).await.unwrap();
    emu.faults(json!({"errorRate": {"503": 1.0}})).await;
    let results = client
        .upsert_many(
            "Work_Item__c",
            "OrgSync_Global_Id__c",
            &work_items("F", 250),
        )
        .await;
    emu.clear_faults().await;
    assert_eq!(results.len(), 250);
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Retryable);
        assert_eq!(e.status(), Some(503));
    }
}
