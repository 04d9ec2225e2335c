//! The pages and their actions through the router.

use http::{StatusCode, header};
use orgsync_store::{ItemFilter, ItemState, Page, Store};

use crate::support::*;

async fn failed(s: &orgsync_store::SqlStore) -> Vec<orgsync_store::Item> {
    let f = ItemFilter {
        state: Some(ItemState::Failed),
        ..ItemFilter::default()
    };
    s.items(&f, Page::first(100)).await.unwrap()
}

#[tokio::test]
async fn the_overview_shows_cards_and_syncs_from_the_ledger() {
    let (store, _dir) = store().await;
    orgs_and_syncs(&store).await;
    items(&store, "b", vec![(1, Some(error("X", "bad")))]).await;
    let app = monitor_router(store);
    let b = login(&app).await;
    let res = send(&app, get("/", Some(&b.cookie))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = text(res).await;
    assert!(html.contains("aria-label=\"org a\""), "{html}");
    assert!(html.contains("1500 / 15000 (10%)"));
    assert!(html.contains("unreachable: connection refused"));
    assert!(html.contains("open: 5 failed calls in a row; calls tried again in"));
    assert!(html.contains("Circuit open"));
    assert!(html.contains("<tr class=\"red\">"), "b's row is red");
    assert!(html.contains("1 failed</a>"));
    assert!(html.contains("src=\"/static/htmx.min.js\""));
    let js = send(&app, get("/static/htmx.min.js", None)).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
}

#[tokio::test]
async fn problems_group_by_code_and_retry_dismiss_work() {
    let (store, _dir) = store().await;
    items(
        &store,
        "b",
        vec![
            (
                1,
                Some(error(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    "Name must not be empty",
                )),
            ),
            (
                2,
                Some(error(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    "Name must not be empty",
                )),
            ),
            (3, Some(error("INVALID_FIELD", "No such column 'Foo__c'"))),
            (4, None),
        ],
    )
    .await;
    let app = monitor_router(store.clone());
    let b = login(&app).await;
    let html = text(send(&app, get("/problems", Some(&b.cookie))).await).await;
    assert!(html.contains("3 failed · 1 parked"), "{html}");
    assert!(html.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION <span class=\"muted\">× 2"));
    assert!(html.contains("INVALID_FIELD <span class=\"muted\">× 1"));
    assert!(html.contains("WAITING_FOR_PARENT <span class=\"muted\">× 1"));
    assert!(
        html.contains("No such column &#39;Foo__c&#39;")
            || html.contains("No such column &#x27;Foo__c&#x27;"),
        "escaped: {html}"
    );
    assert!(
        html.contains("&quot;Name&quot;") || html.contains("&#34;Name&#34;"),
        "payload shown: {html}"
    );

    let list = failed(&store).await;
    let invalid = list
        .iter()
        .find(|i| i.last_error.as_ref().unwrap().code == "INVALID_FIELD")
        .unwrap();
    // dismiss: gone from the list, kept in the ledger, shown on request
    let res = send(
        &app,
        post(
            "/problems/dismiss",
            Some(&b.cookie),
            &format!("csrf={}&id={}", b.csrf, invalid.id.0),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/problems");
    let html = text(send(&app, get("/problems", Some(&b.cookie))).await).await;
    assert!(!html.contains("INVALID_FIELD"), "{html}");
    assert!(html.contains("Show dismissed (1)"));
    let html = text(send(&app, get("/problems?dismissed=1", Some(&b.cookie))).await).await;
    assert!(html.contains("INVALID_FIELD"));
    assert!(html.contains("(dismissed"));
    assert_eq!(failed(&store).await.len(), 3, "dismissed items stay Failed");

    // retry one: that record's item is Queued again
    let one = list.iter().find(|i| i.work.global_id == gid(1)).unwrap();
    let res = send(
        &app,
        post(
            "/problems/retry",
            Some(&b.cookie),
            &format!("csrf={}&id={}", b.csrf, one.id.0),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        store.item(one.id).await.unwrap().unwrap().state,
        ItemState::Queued
    );
    assert_eq!(failed(&store).await.len(), 2);
    // a bad id is a 400, not a panic
    let res = send(
        &app,
        post(
            "/problems/retry",
            Some(&b.cookie),
            &format!("csrf={}&id=abc", b.csrf),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // retry all: every Failed item, as `orgsync retry`
    let res = send(
        &app,
        post(
            "/problems/retry-all",
            Some(&b.cookie),
            &format!("csrf={}", b.csrf),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(failed(&store).await.is_empty());
}

#[tokio::test]
async fn an_empty_ledger_is_everything_synced() {
    let (store, _dir) = store().await;
    let app = monitor_router(store);
    let b = login(&app).await;
    let html = text(send(&app, get("/problems", Some(&b.cookie))).await).await;
    assert!(html.contains("Everything is synced"), "{html}");
    assert!(!html.contains("Retry all"));
}

#[tokio::test]
async fn large_failure_counts_are_counted_in_full_and_paged() {
    let (store, _dir) = store().await;
    let outcomes = (1..=45)
        .map(|n| (n, Some(error("UNABLE_TO_LOCK_ROW", "busy"))))
        .collect();
    items(&store, "b", outcomes).await;
    let app = monitor_router(store.clone());
    let b = login(&app).await;
    let html = text(send(&app, get("/problems", Some(&b.cookie))).await).await;
    assert!(html.contains("45 failed"), "{html}");
    assert!(html.contains("UNABLE_TO_LOCK_ROW <span class=\"muted\">× 45"));
    assert_eq!(
        html.matches("<td>Failed").count(),
        20,
        "a group lists its newest 20"
    );
    assert!(html.contains("… and 25 more: <a href=\"/problems?code=UNABLE_TO_LOCK_ROW\">all 45"));
    let all = text(
        send(
            &app,
            get("/problems?code=UNABLE_TO_LOCK_ROW", Some(&b.cookie)),
        )
        .await,
    )
    .await;
    assert_eq!(all.matches("<td>Failed").count(), 45, "{all}");
    assert!(all.contains("← all problems"));
    let f = ItemFilter {
        state: Some(ItemState::Failed),
        ..ItemFilter::default()
    };
    let ids: Vec<i64> = store
        .items(&f, Page::first(100))
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.0)
        .collect();
    let older = format!("/problems?code=UNABLE_TO_LOCK_ROW&before={}", ids[10]);
    let page = text(send(&app, get(&older, Some(&b.cookie))).await).await;
    assert_eq!(page.matches("<td>Failed").count(), 10, "the ten oldest");
}
