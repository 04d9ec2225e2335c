//! `POST /outbound/{org}` end to end against the real engine.

use serde_json::{Value, json};

use crate::support::*;

fn envelope(org_id: &str, notes: &[(&str, &str)]) -> String {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">"#,
    );
    x.push_str(&format!("<OrganizationId>{org_id}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil=\"true\"/><EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl>"));
    for (i, (object, id)) in notes.iter().enumerate() {
        x.push_str(&format!(
            r#"<Notification><Id>04l00000000000{i}AAA</Id><sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{id}</sf:Id><sf:Name>stale name</sf:Name></sObject></Notification>"#
        ));
    }
    x.push_str("</notifications></soapenv:Body></soapenv:Envelope>");
    x
}

async fn send(env: &Env, org: &str, body: String) -> (u16, String, String) {
    let r = env
        .http
        .post(env.url(&format!("/outbound/{org}")))
        .header("content-type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), ct, r.text().await.unwrap())
}

fn outbound_sync() -> Opts {
    Opts {
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_is_acked_after_the_ledger_commit_and_lands() {
    let env = start(outbound_sync()).await;
    let a = env.user("a").await;
    let mut rec = serde_json::Map::new();
    rec.insert("Name".into(), json!("from outbound"));
    let id = a.create("Work_Item__c", &rec).await.unwrap();
    assert!(env.ledger().await.is_empty());
    // the 15-character form of the org id is the same org
    let org15 = env.org_id("a")[..15].to_string();
    let (s, ct, body) = send(&env, "a", envelope(&org15, &[("Work_Item__c", &id)])).await;
    assert_eq!(s, 200, "{body}");
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert!(body.contains("<Ack>true</Ack>"), "{body}");
    // committed before the Ack: the item for b is already in the ledger
    let ledger = env.ledger().await;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert!(ledger[0].contains(&id), "{ledger:?}");
    assert!(env.engine.wait_idle(IDLE).await);
    // the current name, not the message's copy ("stale name")
    let a_id = env.org_id("a");
    assert_eq!(
        env.work_items("b").await,
        vec![(format!("{a_id}:{id}"), "from outbound".to_string())]
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_org_doctype_and_entities_are_refused_and_write_nothing() {
    let env = start(outbound_sync()).await;
    let a = env.user("a").await;
    let mut rec = serde_json::Map::new();
    rec.insert("Name".into(), json!("never via outbound"));
    let id = a.create("Work_Item__c", &rec).await.unwrap();
    let writes = env.writes().await;
    // b's id sent to a's listener
    let (s, _, body) = send(
        &env,
        "a",
        envelope(&env.org_id("b"), &[("Work_Item__c", &id)]),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body.contains("<faultcode>soapenv:Client</faultcode>"),
        "{body}"
    );
    assert!(body.contains("is not the id of org `a`"), "{body}");
    // DOCTYPE, declared entities, undeclared entities
    let valid = envelope(&env.org_id("a"), &[("Work_Item__c", &id)]);
    let doctype = valid.replace(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
    );
    let (s, _, body) = send(&env, "a", doctype).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("DOCTYPE"), "{body}");
    let entity = valid.replace("stale name", "&xxe;");
    let (s, _, body) = send(&env, "a", entity).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("&amp;xxe;"), "{body}");
    // malformed, unknown org name, unsynced object, too large
    assert_eq!(send(&env, "a", "<notifications>".into()).await.0, 400);
    assert_eq!(send(&env, "zz", valid.clone()).await.0, 404);
    let contact = envelope(&env.org_id("a"), &[("Contact", &id)]);
    assert_eq!(send(&env, "a", contact).await.0, 400);
    let big = valid.replace("stale name", &"x".repeat(70 * 1024));
    assert_eq!(send(&env, "a", big).await.0, 413);
    assert!(env.ledger().await.is_empty());
    assert_eq!(env.writes().await, writes);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers() {
    let env = start(Opts::default()).await;
    let v: Value = env
        .http
        .get(env.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"status": "ok"}));
    env.shutdown().await;
}
