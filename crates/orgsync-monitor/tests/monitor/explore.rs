//! The record explorer, conflicts and the activity log through the router, over a ledger
//! filled the way the engine fills it.

use std::collections::BTreeMap;

use http::StatusCode;
use orgsync_core::FieldValue;
use orgsync_core::merge::Versioned;
use orgsync_store::*;

use crate::support::*;

/// gid(1) known in a (source) and b (written), with agreed values and a conflict.
async fn one_record(s: &SqlStore) {
    items(
        s,
        "b",
        vec![(
            1,
            Some(error(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "Name must not be empty",
            )),
        )],
    )
    .await;
    let mut a = RecordWrite::new(org("a"), "Account", gid(1));
    a.local_id = Some("001A00000000001AAA".into());
    let mut b = RecordWrite::new(org("b"), "Account", gid(1));
    b.local_id = Some("001B00000000001AAA".into());
    let mut fields = BTreeMap::new();
    fields.insert(
        "name".to_string(),
        Versioned {
            value: FieldValue::Text("Acme".into()),
            ts: ago(50),
            org: org("a"),
        },
    );
    let conflict = NewConflict {
        object: "Account".into(),
        global_id: gid(1),
        field: "phone".into(),
        incoming: Versioned {
            value: FieldValue::Text("555-1".into()),
            ts: ago(40),
            org: org("b"),
        },
        current: Versioned {
            value: FieldValue::Text("555-0".into()),
            ts: ago(41),
            org: org("a"),
        },
        winner: Some(org("b")),
        reason: "newer_wins".into(),
        at: ago(39),
    };
    let batch = CaptureBatch {
        records: vec![a, b],
        agreed: vec![AgreedWrite {
            object: "Account".into(),
            global_id: gid(1),
            fields,
            life: None,
        }],
        conflicts: vec![conflict],
        ..CaptureBatch::default()
    };
    s.commit_capture(batch, ago(30)).await.unwrap();
}

#[tokio::test]
async fn the_explorer_finds_a_record_by_a_spokes_local_id_or_its_global_id() {
    let (store, _dir) = store().await;
    one_record(&store).await;
    let app = monitor_router(store);
    let b = login(&app).await;
    let empty = text(send(&app, get("/records", Some(&b.cookie))).await).await;
    assert!(empty.contains("name=\"id\""), "a search form: {empty}");
    for id in ["001B00000000001AAA", &gid(1).to_string()] {
        let res = send(&app, get(&format!("/records?id={id}"), Some(&b.cookie))).await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = text(res).await;
        assert!(
            html.contains(&format!("Global id <code>{}</code>", gid(1))),
            "{html}"
        );
        assert!(html.contains("001A00000000001AAA") && html.contains("001B00000000001AAA"));
        assert!(
            html.contains("<td>name</td><td>Acme</td><td>a</td>"),
            "agreed: {html}"
        );
        assert!(
            html.contains("captured from a (001A00000000001AAA)"),
            "{html}"
        );
        assert!(html.contains("write to b failed: FIELD_CUSTOM_VALIDATION_EXCEPTION"));
        assert!(
            html.contains("conflict on phone: 555-1 from b vs 555-0 from a: b won (newer_wins)")
        );
        assert!(
            html.contains("is failed (FIELD_CUSTOM_VALIDATION_EXCEPTION"),
            "still to write"
        );
    }
    let hit = text(send(&app, get("/records?id=001B00000000001AAA", Some(&b.cookie))).await).await;
    assert!(
        hit.contains("<tr class=\"hit\"><td>b</td>"),
        "the searched copy is marked"
    );
    let none = text(send(&app, get("/records?id=nope%3Cb%3E", Some(&b.cookie))).await).await;
    assert!(
        none.contains("No record with id <code>nope&#60;b&#62;</code>")
            || none.contains("No record with id <code>nope&lt;b&gt;</code>"),
        "{none}"
    );
}

#[tokio::test]
async fn conflicts_are_listed_newest_first_with_the_decision() {
    let (store, _dir) = store().await;
    one_record(&store).await;
    let app = monitor_router(store);
    let b = login(&app).await;
    let html = text(send(&app, get("/conflicts", Some(&b.cookie))).await).await;
    assert!(html.contains("<td>phone</td><td>555-1 (in b,"), "{html}");
    assert!(html.contains("b won <span class=\"muted\">(newer_wins)"));
    assert!(html.contains(&format!("/records?id={}", gid(1))));
    let res = send(&app, get("/conflicts?before=abc", Some(&b.cookie))).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a bad cursor is refused"
    );
}

#[tokio::test]
async fn operators_actions_are_logged_with_who_and_shown() {
    let (store, _dir) = store().await;
    items(
        &store,
        "b",
        vec![(1, Some(error("X", "bad"))), (2, Some(error("X", "bad")))],
    )
    .await;
    let app = monitor_router(store.clone());
    let b = login_as(&app, "Ann <script>").await;
    let f = ItemFilter {
        state: Some(ItemState::Failed),
        ..ItemFilter::default()
    };
    let failed = store.items(&f, Page::first(10)).await.unwrap();
    let form = |id: i64| format!("csrf={}&id={id}", b.csrf);
    send(
        &app,
        post("/problems/dismiss", Some(&b.cookie), &form(failed[0].id.0)),
    )
    .await;
    send(
        &app,
        post("/problems/retry", Some(&b.cookie), &form(failed[1].id.0)),
    )
    .await;
    send(
        &app,
        post(
            "/problems/retry-all",
            Some(&b.cookie),
            &format!("csrf={}", b.csrf),
        ),
    )
    .await;
    let html = text(send(&app, get("/activity", Some(&b.cookie))).await).await;
    assert!(
        html.contains("<td>dashboard:Ann script</td>"),
        "name cleaned: {html}"
    );
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} in {html}"));
    assert!(
        at("retried every failed item (1 queued)") < at("retried item"),
        "newest first"
    );
    assert!(at("retried item") < at("dismissed failed item"));
    // the record's own timeline shows the operator too
    let rec = text(
        send(
            &app,
            get(&format!("/records?id={}", gid(2)), Some(&b.cookie)),
        )
        .await,
    )
    .await;
    assert!(rec.contains("by dashboard:Ann script"), "{rec}");
}

#[tokio::test]
async fn charts_render_svg_over_each_range() {
    let (store, _dir) = store().await;
    items(&store, "b", vec![(1, Some(error("X", "bad"))), (2, None)]).await;
    let mut b_row = OrgRow::new(org("b"));
    b_row.budget_max = Some(15_000);
    store.put_org(&b_row).await.unwrap();
    let now = chrono::Utc::now();
    let sample = |at, calls| OrgSample {
        replica: "r1".into(),
        org: org("b"),
        at,
        api_calls: calls,
        budget_used: Some(10),
        budget_max: Some(15_000),
        backlog: 4,
        failed: 1,
    };
    store
        .put_org_samples(&[sample(now - chrono::TimeDelta::minutes(2), 5)])
        .await
        .unwrap();
    store.put_org_samples(&[sample(now, 17)]).await.unwrap();
    assert_eq!(
        store
            .org_samples(now - chrono::TimeDelta::hours(1))
            .await
            .unwrap()
            .len(),
        2
    );
    let app = monitor_router(store);
    let b = login(&app).await;
    for range in ["", "?range=1h", "?range=24h", "?range=7d", "?range=bogus"] {
        let res = send(&app, get(&format!("/charts{range}"), Some(&b.cookie))).await;
        assert_eq!(res.status(), StatusCode::OK, "{range}");
        let html = text(res).await;
        assert_eq!(html.matches("<svg").count(), 6, "{range}: {html}");
        assert!(html.contains("aria-label=\"Changes per minute\""));
        assert!(html.contains("aria-label=\"Echoes dropped per minute, by layer\""));
        for layer in ["origin tag", "shadow values", "transaction id"] {
            assert!(html.contains(&format!(">{layer}<")), "{layer}");
        }
        assert!(html.contains("aria-label=\"API calls per hour\""));
        assert!(
            html.contains("daily allocation per hour (b 15000 a day (625/h))"),
            "{html}"
        );
        // b's budget line drawn across the calls chart, dashed, in the scale
        assert!(
            html.contains("stroke-dasharray") && html.contains(">b budget<"),
            "{html}"
        );
        assert!(html.contains("aria-label=\"Backlog (waiting items) per org\""));
        assert!(
            html.contains(">failed<") && html.contains(">pending<"),
            "backlog bars"
        );
    }
    let html = text(send(&app, get("/charts?range=7d", Some(&b.cookie))).await).await;
    assert!(html.contains("<strong>7d</strong>"));
}
