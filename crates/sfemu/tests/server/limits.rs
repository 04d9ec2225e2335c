//! Daily API limits: Sforce-Limit-Info, /limits, exhaustion, control of counters.

use super::*;

#[tokio::test]
async fn limits_header_resource_and_exhaustion() {
    let t = common::start_with(EmulatorConfig::single_org().with_daily_api_limit(3)).await;
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/3");
    let body = json(r).await;
    assert_eq!(body["DailyApiRequests"], json!({"Max": 3, "Remaining": 2}));
    assert!(body["DataStorageMB"]["Max"].is_u64());
    // Errors after auth carry the header too (an unknown data path is counted).
    let r = t.get("/limits/").await;
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=2/3");
    let r = t.get("/limits").await;
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/3");
    // Spent: 403, and the refused call is not counted.
    for _ in 0..2 {
        let r = t.get("/limits").await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/3");
        assert_eq!(
            json(r).await,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        );
    }
    let usage = json(
        t.http
            .get(t.url("/__sfemu/api-usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        usage,
        json!({"total": 3, "max": 3, "remaining": 0, "byKind": {"limits": 3}})
    );
    // Token requests and the version list are not counted.
    common::password_token(&t.http, &t.base).await;
    t.http.get(t.url("/services/data/")).send().await.unwrap();
    assert_eq!(
        json(
            t.http
                .get(t.url("/__sfemu/api-usage"))
                .send()
                .await
                .unwrap()
        )
        .await["total"],
        3
    );

    // Control: raise the max, set usage, reset.
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .json(&json!({"dailyApiRequests": 100, "used": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        t.get("/limits").await.headers()["sforce-limit-info"],
        "api-usage=51/100"
    );
    assert_eq!(
        t.http
            .post(t.url("/__sfemu/api-usage/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let usage = json(
        t.http
            .get(t.url("/__sfemu/api-usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        usage,
        json!({"total": 0, "max": 100, "remaining": 100, "byKind": {}})
    );
    t.shutdown().await;
}

#[tokio::test]
async fn data_routes_pass_the_pipeline_and_are_counted_by_kind() {
    let t = common::start().await;
    let r = t.get("/query?q=SELECT+Id+FROM+Account").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/100000");
    let r = t.get("/sobjects/Account/describe").await;
    assert_eq!(r.status(), 200);
    let r = t.get("/sobjects/NoSuchObject__c/describe").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/100000");
    let r = t
        .http
        .get(t.data("/query?q=SELECT+Id+FROM+Account"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "data routes need a token");
    let usage = json(
        t.http
            .get(t.url("/__sfemu/api-usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(usage["byKind"], json!({"query": 1, "describe": 2}));
    t.shutdown().await;
}
