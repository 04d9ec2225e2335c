//! Fault injection: whole-call errors, seeded rates, per-record errors, offline, latency.

use super::*;

async fn put_faults(t: &common::TestOrg, body: Value) -> u16 {
    t.http
        .put(t.url("/__sfemu/faults"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn injected_call_errors_offline_and_latency() {
    let t = common::start().await;
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await,
        204
    );
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.headers().get("sforce-limit-info").is_some(),
        "injected errors are counted calls"
    );
    assert_eq!(
        json(r).await,
        json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW"}])
    );
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"503": 1.0}})).await,
        204
    );
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 503);
    assert_eq!(json(r).await[0]["errorCode"], "SERVER_UNAVAILABLE");

    // Seeded rates repeat exactly.
    let mut runs = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            put_faults(&t, json!({"errorRate": {"500": 0.5}, "seed": 7})).await,
            204
        );
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(t.get("/limits").await.status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );

    // Per-record errors are drawn by the handlers through Faults::record_error.
    assert_eq!(
        put_faults(&t, json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await,
        204
    );
    let e = t.org().state.faults.record_error().unwrap();
    assert_eq!(e.code, "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        t.get("/limits").await.status(),
        200,
        "record faults do not fail whole calls"
    );

    // Offline: everything but the control surface answers 503.
    assert_eq!(put_faults(&t, json!({"offline": true})).await, 204);
    assert_eq!(t.get("/limits").await.status(), 503);
    let (status, _) = token_request(&t, &password_form(PASSWORD)).await;
    assert_eq!(status, 503);
    let shown = json(t.http.get(t.url("/__sfemu/faults")).send().await.unwrap()).await;
    assert_eq!(shown["offline"], true);
    assert_eq!(
        t.http
            .delete(t.url("/__sfemu/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(t.get("/limits").await.status(), 200);

    // Latency: a call takes at least the injected delay.
    assert_eq!(put_faults(&t, json!({"latencyMs": 300})).await, 204);
    let started = std::time::Instant::now();
    assert_eq!(t.get("/limits").await.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    // Invalid fault settings are refused with a JSON error.
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 2.0}})).await,
        400
    );
    assert_eq!(put_faults(&t, json!({"bogus": 1})).await, 400);
    t.shutdown().await;
}

/// Live records of `object`, from the control surface (costs no API call).
async fn live(t: &common::TestOrg, object: &str) -> u64 {
    let org = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    org["counts"][object].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn record_errors_fail_single_record_writes_as_salesforce_answers_them() {
    let t = common::start().await;
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = t.http.request(method, t.data(path)).bearer_auth(&t.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let r = send(
        reqwest::Method::POST,
        "/sobjects/Account",
        Some(json!({"Name": "kept"})),
    )
    .await
    .unwrap();
    let id = json(r).await["id"].as_str().unwrap().to_string();

    assert_eq!(
        put_faults(&t, json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await,
        204
    );
    let locked = json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW"}]);
    let account = format!("/sobjects/Account/{id}");
    let calls = [
        (
            reqwest::Method::POST,
            "/sobjects/Account".to_string(),
            Some(json!({"Name": "n"})),
        ),
        (
            reqwest::Method::PATCH,
            account.clone(),
            Some(json!({"Name": "changed"})),
        ),
        (reqwest::Method::DELETE, account.clone(), None),
        (
            reqwest::Method::PATCH,
            "/sobjects/Account/OrgSync_Global_Id__c/g-1".to_string(),
            Some(json!({"Name": "upserted"})),
        ),
    ];
    for (method, path, body) in calls {
        let r = send(method.clone(), &path, body).await.unwrap();
        assert_eq!(r.status(), 400, "{method} {path}");
        assert_eq!(json(r).await, locked, "{method} {path}");
    }
    assert_eq!(live(&t, "Account").await, 1, "nothing was written");
    let r = t.get(&account).await;
    assert_eq!(json(r).await["Name"], "kept", "reads are not record writes");

    // A status code as the injected record error answers with that status.
    assert_eq!(
        put_faults(&t, json!({"recordErrorRate": {"503": 1.0}})).await,
        204
    );
    let r = send(
        reqwest::Method::POST,
        "/sobjects/Account",
        Some(json!({"Name": "n"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(json(r).await[0]["errorCode"], "SERVER_UNAVAILABLE");

    // Inside a composite request a record draws its fault once, from the composite: the
    // outcomes follow the seeded draws one for one.
    let cfg = json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 0.5}, "seed": 3});
    let same = sfemu::faults::Faults::new(serde_json::from_value(cfg.clone()).unwrap());
    let expected: Vec<u64> = (0..20)
        .map(|_| {
            if same.record_error().is_some() {
                400
            } else {
                201
            }
        })
        .collect();
    assert_eq!(put_faults(&t, cfg).await, 204);
    let mut outcomes = Vec::new();
    for i in 0..20 {
        let body = json!({"compositeRequest": [{"method": "POST", "url": "/services/data/v66.0/sobjects/Account", "referenceId": "a", "body": {"Name": format!("c{i}")}}]});
        let r = send(reqwest::Method::POST, "/composite", Some(body))
            .await
            .unwrap();
        outcomes.push(
            json(r).await["compositeResponse"][0]["httpStatusCode"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(outcomes, expected);
    let created = outcomes.iter().filter(|s| **s == 201).count() as u64;
    assert!(created > 0 && created < 20, "{outcomes:?}");
    assert_eq!(live(&t, "Account").await, 1 + created);
    t.shutdown().await;
}
