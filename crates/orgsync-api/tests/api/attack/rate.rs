//! Case 3 (rate): each org's pushes are metered by a token bucket (`[api] push_rate`,
//! `push_burst`); over it, 429 with `Retry-After`, before the body is read, nothing written.
//! Before: no limit at all.

use chrono::Utc;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_over_its_rate_gets_429_with_retry_after() {
    let env = start(Opts {
        api: "push_rate = \"1/h\"\npush_burst = 2\n".into(),
        ..Opts::default()
    })
    .await;
    let (a_id, b_id) = (env.org_id("a"), env.org_id("b"));
    let body = |txn: &str, org: &str, n: u32| {
        push_body(
            txn,
            org,
            &Utc::now().to_rfc3339(),
            &[(&fake_id(n), "rated")],
        )
        .to_string()
    };
    // a wrong token is refused before the bucket: it does not use a's pushes up
    for _ in 0..5 {
        let a = push(
            &env,
            Some("not-a-token-0123456789"),
            &[],
            body("t-x", &a_id, 1),
        )
        .await;
        assert_eq!(a.status, 401, "{a:?}");
    }
    for (i, txn) in ["t-r1", "t-r2"].iter().enumerate() {
        let a = push(&env, Some(TOKEN_A), &[], body(txn, &a_id, 10 + i as u32)).await;
        assert_eq!(a.status, 200, "burst push {i}: {a:?}");
    }
    let before = written(&env).await;
    let cases = [
        ("a third push within the hour", body("t-r3", &a_id, 12)),
        ("a duplicate of an applied one", body("t-r1", &a_id, 10)),
        ("a malformed one", "{".to_string()),
    ];
    for (case, b) in cases {
        let a = push(&env, Some(TOKEN_A), &[], b).await;
        refused(&env, &before, case, &a, 429, "push_rate 1/h (burst 2)").await;
        let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&wait), "{case}: Retry-After {wait}");
    }
    // b has a bucket of its own
    let a = push(&env, Some(TOKEN_B), &[], body("t-b", &b_id, 20)).await;
    assert_eq!(a.status, 200, "{a:?}");
    env.shutdown().await;
}
