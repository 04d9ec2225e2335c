//! The /__sfemu control surface: org, records (drift), changes.

use super::*;

#[tokio::test]
async fn control_org_records_and_changes() {
    let t = common::start().await;
    let org = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    assert_eq!(org["orgId"], t.org().org_id.as_str());
    assert_eq!(org["name"], "sfemu");
    assert_eq!(org["instanceUrl"], t.base.as_str());
    assert_eq!(org["users"][0]["username"], USERNAME);
    assert!(org["counts"].is_object());

    // A record created through the org, then edited directly (drift): no change-log entry.
    let admin = t.org().state.org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id.clone(),
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Acme"));
    let out = t.org().state.org.apply(
        &caller,
        vec![sfemu_org::DmlOp::Create {
            object: "Account".into(),
            fields,
        }],
        true,
    );
    let id = out[0].as_ref().unwrap().id.clone();
    let changes = json(
        t.http
            .get(t.url("/__sfemu/changes?after=0&max=10"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["recordId"], id.as_str());
    assert_eq!(list[0]["changeType"], "CREATE");
    let r = t
        .http
        .patch(t.url(&format!("/__sfemu/records/Account/{id}")))
        .json(&json!({"Name": "Drifted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let rec = t
        .org()
        .state
        .org
        .retrieve(
            &admin.id,
            "Account",
            &id,
            Some(&["Name".to_string()]),
            "66.0",
        )
        .unwrap();
    assert_eq!(rec["Name"], "Drifted");
    let changes = json(
        t.http
            .get(t.url("/__sfemu/changes?after=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(changes["changes"], json!([]));
    let counts = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    assert_eq!(counts["counts"]["Account"], 1);
    // Unknown record → Salesforce error JSON.
    let r = t
        .http
        .patch(t.url("/__sfemu/records/Account/001000000000000AAA"))
        .json(&json!({"Name": "x"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    assert!(json(r).await[0]["errorCode"].is_string());
    t.shutdown().await;
}

/// A purge removes a record for good: queryAll no longer sees it, another record moved into
/// its row is still found by id, nothing lands in the change log, and a second purge is a 404.
#[tokio::test]
async fn control_purge_leaves_no_trace() {
    let t = common::start().await;
    let admin = t.org().state.org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id.clone(),
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let mut fields = serde_json::Map::new();
        fields.insert("Name".into(), json!(name));
        let out = t.org().state.org.apply(
            &caller,
            vec![sfemu_org::DmlOp::Create {
                object: "Account".into(),
                fields,
            }],
            true,
        );
        ids.push(out[0].as_ref().unwrap().id.clone());
    }
    let seq = t.org().state.org.last_change_seq();
    let r = t
        .http
        .delete(t.url(&format!("/__sfemu/records/Account/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        t.org().state.org.last_change_seq(),
        seq,
        "no change log entry"
    );
    let all = t
        .org()
        .state
        .org
        .retrieve(
            &admin.id,
            "Account",
            &ids[2],
            Some(&["Name".to_string()]),
            "66.0",
        )
        .unwrap();
    assert_eq!(
        all["Name"], "C",
        "the row moved into the purged one's place is found"
    );
    assert!(
        t.org()
            .state
            .org
            .retrieve(&admin.id, "Account", &ids[0], None, "66.0")
            .is_err()
    );
    let counts = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    assert_eq!(counts["counts"]["Account"], 2);
    let again = t
        .http
        .delete(t.url(&format!("/__sfemu/records/Account/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    t.shutdown().await;
}
