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
