//! The sync settings page through the router: Save writes the overlay (and the activity log),
//! Test answers on the page, Remove confirms what goes and cascades, Restore forgets it.

use std::sync::Arc;

use http::{StatusCode, header};
use orgsync_core::Settings;
use orgsync_core::config::{MonitorSettings, Secret};
use orgsync_store::*;

use crate::support::*;

pub fn config() -> Arc<Settings> {
    let text = orgsync_core::config::sample::peers(&["a", "b"], &["Account", "Contact"]);
    Arc::new(Settings::from_str(&text, "t.toml").unwrap())
}

fn app(store: Arc<SqlStore>) -> axum::Router {
    let settings = MonitorSettings {
        admin_password: Secret(PASSWORD.into()),
    };
    let tester: orgsync_monitor::Tester = Arc::new(|_, org: String, object: String| {
        Box::pin(async move {
            match org.as_str() {
                "a" => Ok(format!(
                    "ok   a login: logged in\nok   a {object}: query, fields and global-id field ok"
                )),
                _ => Err("INVALID_TYPE: sObject type 'Account' is not supported".to_string()),
            }
        })
    });
    orgsync_monitor::router(orgsync_monitor::Monitor::with_config(
        store,
        &settings,
        Some(config()),
        Some(tester),
        None,
    ))
}

#[tokio::test]
async fn save_pauses_a_sync_in_the_overlay_and_the_page_shows_it() {
    let (store, _dir) = store().await;
    let app = app(store.clone());
    let b = login_as(&app, "ann").await;
    let html = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(html.contains("id=\"sync-Account\""), "{html}");
    assert!(html.contains("<option value=\"15m\">"), "quick picks");
    let form = format!("csrf={}&object=Account&method=cdc&interval=5m", b.csrf);
    let res = send(&app, post("/settings/save", Some(&b.cookie), &form)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let o = store.sync_overrides().await.unwrap();
    assert_eq!(o.len(), 1);
    assert_eq!(
        (o[0].capture.as_deref(), o[0].interval_secs, o[0].enabled),
        (Some("cdc"), Some(300), Some(false)),
        "an unchecked switch is a pause"
    );
    assert_eq!(o[0].updated_by, "dashboard:ann");
    let html = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(html.contains("the file says poll, 30s, enabled; changed by dashboard:ann"));
    assert!(html.contains("<option value=\"cdc\" selected>"));
    let activity = text(send(&app, get("/activity", Some(&b.cookie))).await).await;
    assert!(
        activity.contains("changed sync Account: method cdc, interval 5m, disabled"),
        "{activity}"
    );
    // bad input is a 400 naming the problem, and changes nothing
    for bad in [
        "object=Account&method=poll&interval=forever",
        "object=Account&method=bulk&interval=5m",
        "object=Case&method=poll&interval=5m",
    ] {
        let form = format!("csrf={}&{bad}", b.csrf);
        let res = send(&app, post("/settings/save", Some(&b.cookie), &form)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(store.sync_overrides().await.unwrap(), o);
}

#[tokio::test]
async fn a_sync_given_new_settings_is_not_shown_active_until_the_engine_runs_them() {
    let (store, _dir) = store().await;
    orgs_and_syncs(&store).await;
    let app = app(store.clone());
    let b = login_as(&app, "ann").await;
    let html = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(html.contains("a Account: Active"), "{html}");
    assert!(!html.contains("id=\"applying-Account\""), "{html}");
    // the running engine (here: the file's settings) polls every 30 s; now 5 m is asked
    let form = format!(
        "csrf={}&object=Account&method=poll&interval=5m&enabled=1",
        b.csrf
    );
    let res = send(&app, post("/settings/save", Some(&b.cookie), &form)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(html.contains("id=\"applying-Account\""), "{html}");
    assert!(
        html.contains("a Account: Enabled — restarting with the new settings"),
        "{html}"
    );
    assert!(
        !html.contains("a Account: Active"),
        "the status rows are the old engine's: {html}"
    );
}

#[tokio::test]
async fn test_answers_on_the_page_and_remove_confirms_then_cascades() {
    let (store, _dir) = store().await;
    items(&store, "b", vec![(1, Some(error("X", "bad")))]).await;
    let app = app(store.clone());
    let b = login(&app).await;
    let ok = text(
        send(
            &app,
            post(
                "/settings/test",
                Some(&b.cookie),
                &format!("csrf={}&org=a&object=Account", b.csrf),
            ),
        )
        .await,
    )
    .await;
    assert!(
        ok.contains("Test of Account in a: Connection successful"),
        "{ok}"
    );
    assert!(
        ok.contains("<li>ok   a login: logged in</li><li>ok   a Account: query"),
        "each check line is its own list item: {ok}"
    );
    let bad = text(
        send(
            &app,
            post(
                "/settings/test",
                Some(&b.cookie),
                &format!("csrf={}&org=b&object=Account", b.csrf),
            ),
        )
        .await,
    )
    .await;
    assert!(
        bad.contains("sObject type &#39;Account&#39; is not supported")
            || bad.contains("sObject type &#x27;Account&#x27; is not supported"),
        "{bad}"
    );
    let confirm = text(
        send(
            &app,
            get("/settings/remove?object=account", Some(&b.cookie)),
        )
        .await,
    )
    .await;
    assert!(confirm.contains("in b: the Account checkpoints, queued, waiting and failed items, id-map and shadow rows"), "{confirm}");
    assert!(confirm.contains("Records already in the orgs stay."));
    let res = send(
        &app,
        post(
            "/settings/remove",
            Some(&b.cookie),
            &format!("csrf={}&object=Account", b.csrf),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/settings");
    assert!(
        store
            .items(&ItemFilter::default(), Page::first(10))
            .await
            .unwrap()
            .is_empty(),
        "the failed item went with it"
    );
    let html = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(!html.contains("id=\"sync-Account\""));
    assert!(html.contains("<h2>Removed</h2>"));
    send(
        &app,
        post(
            "/settings/restore",
            Some(&b.cookie),
            &format!("csrf={}&object=Account", b.csrf),
        ),
    )
    .await;
    assert!(store.sync_overrides().await.unwrap().is_empty());
    let activity = text(send(&app, get("/activity", Some(&b.cookie))).await).await;
    for what in [
        "restored sync Account",
        "removed sync Account",
        "tested Account in b: failed",
        "tested Account in a: Connection successful",
    ] {
        assert!(activity.contains(what), "{what}: {activity}");
    }
}

#[tokio::test]
async fn settings_actions_refuse_a_missing_csrf_token() {
    let (store, _dir) = store().await;
    let app = app(store.clone());
    let b = login(&app).await;
    for action in [
        "/settings/save",
        "/settings/test",
        "/settings/remove",
        "/settings/restore",
    ] {
        let res = send(&app, post(action, Some(&b.cookie), "object=Account&org=a")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{action}");
        let res = send(&app, post(action, None, "object=Account&org=a")).await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{action} without a session"
        );
    }
    assert!(store.sync_overrides().await.unwrap().is_empty());
    let res = send(&app, get("/settings", None)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a login first");
}
