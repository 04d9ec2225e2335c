//! SOAP partner undelete(): restoring records with their Id, cascade and lookups; per-id
//! results; counting, faults and sessions.

use super::*;
use common::{TestOrg, soap_post, undelete_envelope, undelete_results, xml_text};

async fn rest(
    t: &TestOrg,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t.http.request(method, t.data(path)).bearer_auth(&t.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create(t: &TestOrg, object: &str, body: Value) -> String {
    let (s, v) = rest(
        t,
        reqwest::Method::POST,
        &format!("/sobjects/{object}"),
        Some(body),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn delete(t: &TestOrg, object: &str, id: &str) {
    let (s, v) = rest(
        t,
        reqwest::Method::DELETE,
        &format!("/sobjects/{object}/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
}

async fn get(t: &TestOrg, object: &str, id: &str) -> (u16, Value) {
    rest(
        t,
        reqwest::Method::GET,
        &format!("/sobjects/{object}/{id}"),
        None,
    )
    .await
}

async fn control(t: &TestOrg, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = t.http.request(method, t.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// `undelete(ids)` with the test token: the status and the answer.
async fn undelete(t: &TestOrg, ids: &[&str]) -> (u16, String) {
    soap_post(t, "62.0", undelete_envelope(&t.token, ids, None, false)).await
}

/// A fault's status and exception code.
fn fault_of((status, xml): (u16, String)) -> (u16, String) {
    (status, xml_text(&xml, "sf:exceptionCode"))
}

async fn usage(t: &TestOrg) -> Value {
    control(t, reqwest::Method::GET, "/__sfemu/api-usage", None).await
}

#[tokio::test]
async fn undelete_restores_ids_cascades_and_lookups_one_result_per_id() {
    let t = common::start().await;
    let account = create(&t, "Account", json!({"Name": "Acme"})).await;
    let contact = create(
        &t,
        "Contact",
        json!({"LastName": "K", "AccountId": account}),
    )
    .await;
    let item = create(
        &t,
        "Work_Item__c",
        json!({"Name": "W", "Account__c": account}),
    )
    .await;
    delete(&t, "Account", &account).await;
    assert_eq!(get(&t, "Contact", &contact).await.0, 404, "cascade-deleted");
    assert_eq!(
        get(&t, "Work_Item__c", &item).await.1["Account__c"],
        Value::Null
    );
    let seq = t.org().state.org.last_change_seq();
    control(&t, reqwest::Method::POST, "/__sfemu/api-usage/reset", None).await;

    let unknown = format!("{}AAAAAAAAAAAA", &account[..3]);
    let ids = [&account[..15], item.as_str(), unknown.as_str(), "garbage"];
    let (status, xml) = soap_post(
        &t,
        "62.0",
        undelete_envelope(&t.token, &ids, Some("orgsync-test"), false),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let (results, current) = undelete_results(&xml);
    // One call against the daily allocation, reported in the LimitInfoHeader.
    let u = usage(&t).await;
    assert_eq!(
        (u["total"].as_u64(), u["byKind"]["soap"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(current, Some(1));
    assert_eq!(results.len(), 4, "{xml}");
    assert_eq!(
        (results[0].id.as_deref(), results[0].success),
        (Some(account.as_str()), true),
        "the 18-character id of the restored record"
    );
    assert!(results[0].codes.is_empty());
    assert_eq!(
        (
            results[1].id.as_deref(),
            results[1].success,
            results[1].codes.clone()
        ),
        (
            Some(item.as_str()),
            false,
            vec!["UNDELETE_FAILED".to_string()]
        ),
        "a live record is not in the recycle bin"
    );
    assert_eq!(
        results[1].messages,
        vec!["Entity is not in the recycle bin"]
    );
    assert_eq!(results[2].codes, vec!["ENTITY_IS_DELETED"]);
    assert_eq!(results[2].id.as_deref().map(str::len), Some(18));
    assert_eq!(
        (results[3].id.clone(), results[3].codes.clone()),
        (None, vec!["MALFORMED_ID".to_string()])
    );

    // The record is back under its own Id, with its cascade and the lookups it cleared.
    let (s, acc) = get(&t, "Account", &account).await;
    assert_eq!((s, acc["Id"].as_str()), (200, Some(account.as_str())));
    assert_eq!(get(&t, "Contact", &contact).await.0, 200);
    assert_eq!(
        get(&t, "Work_Item__c", &item).await.1["Account__c"],
        json!(account)
    );

    // Change log: UNDELETE for the account and its contact, with the SOAP origin and the
    // CallOptions client; the restored lookup is logged but not published.
    let log = control(
        &t,
        reqwest::Method::GET,
        &format!("/__sfemu/changes?after={seq}"),
        None,
    )
    .await;
    let log = log["changes"].as_array().unwrap().clone();
    let undeleted: Vec<(&str, &str)> = log
        .iter()
        .filter(|c| c["changeType"] == "UNDELETE")
        .map(|c| {
            (
                c["entity"].as_str().unwrap(),
                c["changeOrigin"].as_str().unwrap(),
            )
        })
        .collect();
    let origin = "com/salesforce/api/soap/62.0;client=orgsync-test";
    assert_eq!(undeleted, vec![("Account", origin), ("Contact", origin)]);
    let restored = log.iter().find(|c| c["recordId"] == json!(item)).unwrap();
    assert_eq!(
        (&restored["cause"], &restored["published"]),
        (&json!("LOOKUP_RESTORED"), &json!(false))
    );
    t.shutdown().await;
}

#[tokio::test]
async fn sessions_limits_and_malformed_requests_answer_faults() {
    let t = common::start().await;
    let id = create(&t, "Account", json!({"Name": "x"})).await;
    delete(&t, "Account", &id).await;
    control(&t, reqwest::Method::POST, "/__sfemu/api-usage/reset", None).await;

    for session in ["00Dbogus!token", ""] {
        let (s, xml) = soap_post(&t, "62.0", undelete_envelope(session, &[&id], None, false)).await;
        assert_eq!(s, 500);
        assert_eq!(xml_text(&xml, "faultcode"), "sf:INVALID_SESSION_ID");
        assert_eq!(xml_text(&xml, "sf:exceptionCode"), "INVALID_SESSION_ID");
    }
    assert_eq!(
        usage(&t).await["total"],
        0,
        "refused sessions are not counted"
    );

    let many: Vec<String> = (0..201).map(|_| id.clone()).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let (s, xml) = undelete(&t, &refs).await;
    assert_eq!(s, 500);
    assert_eq!(xml_text(&xml, "sf:exceptionCode"), "EXCEEDED_ID_LIMIT");
    assert!(xml_text(&xml, "sf:exceptionMessage").contains("200"));

    let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><undelete><ids>&a;</ids></undelete>"#;
    assert_eq!(
        fault_of(soap_post(&t, "62.0", bomb.to_string()).await),
        (500, "INVALID_XML".into())
    );

    let limits = |max: u64, used: u64| {
        let body = json!({"dailyApiRequests": max, "used": used});
        control(&t, reqwest::Method::PUT, "/__sfemu/limits", Some(body))
    };
    limits(5, 5).await;
    assert_eq!(
        fault_of(undelete(&t, &[&id]).await),
        (500, "REQUEST_LIMIT_EXCEEDED".into())
    );
    limits(100_000, 0).await;

    // A SOAP login's session id works as well as an OAuth token.
    let login = format!(
        r#"<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><login xmlns="urn:partner.soap.sforce.com"><username>{USERNAME}</username><password>{PASSWORD}</password></login></env:Body></env:Envelope>"#
    );
    let (_, xml) = soap_post(&t, "62.0", login).await;
    let session = xml_text(&xml, "sessionId");
    let (s, xml) = soap_post(&t, "62.0", undelete_envelope(&session, &[&id], None, false)).await;
    assert_eq!(s, 200, "{xml}");
    assert!(undelete_results(&xml).0[0].success);
    t.shutdown().await;
}

#[tokio::test]
async fn injected_faults_and_all_or_none() {
    let t = common::start().await;
    let gone = create(&t, "Account", json!({"Name": "gone"})).await;
    let live = create(&t, "Account", json!({"Name": "live"})).await;
    delete(&t, "Account", &gone).await;
    let faults = |body: Value| control(&t, reqwest::Method::PUT, "/__sfemu/faults", Some(body));

    faults(json!({"errorRate": {"503": 1.0}})).await;
    assert_eq!(
        fault_of(undelete(&t, &[&gone]).await),
        (503, "SERVER_UNAVAILABLE".into())
    );
    faults(json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await;
    assert_eq!(
        fault_of(undelete(&t, &[&gone]).await),
        (500, "UNABLE_TO_LOCK_ROW".into())
    );
    faults(json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await;
    let (s, xml) = undelete(&t, &[&gone]).await;
    assert_eq!(s, 200);
    let r = &undelete_results(&xml).0[0];
    assert_eq!(
        (r.success, r.codes.clone()),
        (false, vec!["UNABLE_TO_LOCK_ROW".to_string()])
    );
    assert_eq!(
        get(&t, "Account", &gone).await.0,
        404,
        "nothing was restored"
    );
    control(&t, reqwest::Method::DELETE, "/__sfemu/faults", None).await;

    // All or none: the live record fails, so the deleted one is not restored either.
    let (s, xml) = soap_post(
        &t,
        "62.0",
        undelete_envelope(&t.token, &[&gone, &live], None, true),
    )
    .await;
    assert_eq!(s, 200);
    let (r, _) = undelete_results(&xml);
    assert_eq!(r[0].codes, vec!["ALL_OR_NONE_OPERATION_ROLLED_BACK"]);
    assert_eq!(r[1].codes, vec!["UNDELETE_FAILED"]);
    assert_eq!(get(&t, "Account", &gone).await.0, 404);
    t.shutdown().await;
}
