//! `/metrics`: the Prometheus text format, parsed with a Prometheus parser; ledger gauges
//! read at scrape time.

use http::StatusCode;
use orgsync_core::metric as m;

use crate::support::*;

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_carry_the_ledger() {
    let (store, _dir) = store().await;
    orgs_and_syncs(&store).await;
    items(
        &store,
        "b",
        vec![(1, Some(error("X", "bad"))), (2, Some(error("X", "bad")))],
    )
    .await;
    let handle = orgsync_monitor::metrics::install().unwrap();
    // what the engine records (the engine's own calls go through the same macros)
    metrics::counter!(m::CHANGES_CAPTURED, "org" => "a", "object" => "Account").increment(3);
    metrics::counter!(m::ECHOES_DROPPED, "org" => "a", "object" => "Account", "layer" => m::LAYER_SHADOW).increment(2);
    metrics::histogram!(m::CAPTURE_TO_APPLY, "org" => "b").record(0.3);
    let app = orgsync_monitor::metrics_router(store, handle, vec!["a".into(), "b".into()]);
    let res = send(&app, get("/metrics", None)).await;
    assert_eq!(res.status(), StatusCode::OK, "no login needed");
    let body = text(res).await;
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| s.value.clone())
    };
    let gauge = |v: Option<prometheus_parse::Value>| match v {
        Some(prometheus_parse::Value::Gauge(g)) | Some(prometheus_parse::Value::Untyped(g)) => g,
        other => panic!("not a gauge: {other:?}\n{body}"),
    };
    assert_eq!(
        gauge(value(m::BACKLOG, &[("org", "b"), ("state", "failed")])),
        2.0
    );
    assert_eq!(
        gauge(value(m::BACKLOG, &[("org", "b"), ("state", "queued")])),
        0.0
    );
    assert_eq!(gauge(value(m::API_BUDGET_USED, &[("org", "a")])), 1500.0);
    assert_eq!(gauge(value(m::API_BUDGET_MAX, &[("org", "a")])), 15000.0);
    assert_eq!(gauge(value(m::CIRCUIT_OPEN, &[("org", "b")])), 1.0);
    assert_eq!(gauge(value(m::CIRCUIT_OPEN, &[("org", "a")])), 0.0);
    assert!(
        matches!(
            value(m::CHANGES_CAPTURED, &[("org", "a"), ("object", "Account")]),
            Some(prometheus_parse::Value::Counter(c)) if c >= 3.0
        ),
        "{body}"
    );
    assert!(matches!(
        value(m::ECHOES_DROPPED, &[("layer", "shadow")]),
        Some(prometheus_parse::Value::Counter(c)) if c >= 2.0
    ));
    assert!(
        matches!(
            value(m::CAPTURE_TO_APPLY, &[("org", "b")]),
            Some(prometheus_parse::Value::Histogram(_))
        ),
        "a histogram with buckets: {body}"
    );
}
