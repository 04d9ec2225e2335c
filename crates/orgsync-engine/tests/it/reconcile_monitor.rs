//! The Sync Monitor's Reconcile page against a running engine and real emulated orgs: its
//! buttons' endpoint starts passes in the engine (answering before the pass ends), a dry run
//! reports a direct edit and writes nothing, Repair fixes it, a second start while one runs
//! is refused, and each start is in the activity log with who did it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use orgsync_core::config::{MonitorSettings, Secret};
use orgsync_core::reconcile::{DriftClass, Report};
use orgsync_engine::EngineHandle;
use orgsync_engine::reconcile::ReconcileRequest;
use orgsync_monitor::reconcile_page::Reconciler;
use orgsync_store::Store;
use serde_json::json;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::reconcile::{FIELDS, SYNCS, raw_edit};
use crate::support::*;

const PASSWORD: &str = "reconcile monitor password";

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn request(method: &str, uri: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(form.to_string())).unwrap()
}

fn cookie(res: &Response<Body>, name: &str) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string()
}

fn csrf_in(page: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let at = page.find(key).unwrap() + key.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// Log in as "ops"; the session cookie and its CSRF token.
async fn login(app: &Router) -> (String, String) {
    let form = send(app, request("GET", "/login", None, "")).await;
    let login_cookie = cookie(&form, "orgsync_login");
    let token = csrf_in(&text(form).await);
    let body = format!(
        "csrf={token}&password={}&name=ops",
        PASSWORD.replace(' ', "+")
    );
    let res = send(app, request("POST", "/login", Some(&login_cookie), &body)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = cookie(&res, "orgsync_session");
    let page = text(send(app, request("GET", "/reconcile", Some(&session), "")).await).await;
    (session.clone(), csrf_in(&page))
}

/// Poll the page until no pass runs, then the last run's report (generous limit, no timing).
async fn finished(app: &Router, session: &str, store: &impl Store) -> Report {
    let deadline = tokio::time::Instant::now() + IDLE;
    loop {
        let page = text(send(app, request("GET", "/reconcile", Some(session), "")).await).await;
        if !page.contains("id=\"running\"") {
            assert!(!page.contains("failed:"), "{page}");
            let run = store.last_reconcile_run().await.unwrap().unwrap();
            return serde_json::from_value(run.report).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pass never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The dashboard over `engine`, whose passes wait for a permit of `gate` before they start:
/// the test holds the first pass running for as long as it needs, without timing.
async fn dashboard(
    env: &Env,
    config: orgsync_core::Settings,
    engine: Arc<EngineHandle>,
    gate: Arc<Semaphore>,
) -> Router {
    let reconciler: Reconciler = Arc::new(move |objects, full, mode| {
        let (engine, gate) = (engine.clone(), gate.clone());
        Box::pin(async move {
            gate.acquire().await.map_err(|e| e.to_string())?.forget();
            let req = ReconcileRequest {
                objects,
                full,
                mode,
            };
            engine.reconcile(req).await.map_err(|e| e.to_string())
        })
    });
    let store = Arc::new(env.store().await);
    let settings = MonitorSettings {
        admin_password: Secret(PASSWORD.into()),
    };
    orgsync_monitor::router(orgsync_monitor::Monitor::with_engine(
        store,
        &settings,
        Some(Arc::new(config)),
        None,
        None,
        Some(reconciler),
        None,
    ))
}

/// Drift made by a direct edit in v1: Quick and Full dry runs started from the page report it
/// and change nothing; a second start while one runs answers 409; Repair (after its
/// confirmation) brings v1 back to the agreed values; the activity log names who started each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconcile_page_starts_passes_in_the_running_engine() {
    let env = start(&["hub", "v1"], |_| vec![]).await;
    let hub = env.user("hub").await;
    let w = create(
        &hub,
        "Work_Item__c",
        json!({"Name": "w", "Status__c": "New"}),
    )
    .await;
    let syncs = SYNCS.replace("spokes = [\"v1\", \"v2\"]", "spokes = [\"v1\"]");
    let settings = env.settings(&["hub", "v1"], &syncs);
    let engine = Arc::new(env.engine(settings.clone()).await);
    assert!(engine.wait_idle(IDLE).await);
    let v1 = env.user("v1").await;
    let w_v1 = local_id(&v1, "Work_Item__c", &w).await.unwrap();
    raw_edit(
        &env,
        "v1",
        "Work_Item__c",
        &w_v1,
        json!({"Status__c": "Behind"}),
    )
    .await;
    let status = |c| async move { snapshot(c, "Work_Item__c", FIELDS).await };
    let gate = Arc::new(Semaphore::new(0));
    let app = dashboard(&env, settings.clone(), engine.clone(), gate.clone()).await;
    let store = env.store().await;
    let (session, csrf) = login(&app).await;
    let page = text(send(&app, request("GET", "/reconcile", Some(&session), "")).await).await;
    assert!(page.contains("Quick check (dry run)"), "{page}");
    assert!(page.contains("No reconcile has run yet"), "{page}");

    // a full dry run: answered at once (the pass waits on the gate), shown running
    let full_dry = format!("csrf={csrf}&pass=full&mode=dry-run");
    let res = send(
        &app,
        request("POST", "/reconcile/start", Some(&session), &full_dry),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = text(send(&app, request("GET", "/reconcile", Some(&session), "")).await).await;
    assert!(page.contains("id=\"running\""), "{page}");
    // a second start while it runs is refused, naming the running one
    let quick = format!("csrf={csrf}&pass=quick&mode=dry-run");
    let res = send(
        &app,
        request("POST", "/reconcile/start", Some(&session), &quick),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let refused = text(res).await;
    assert!(refused.contains("running already"), "{refused}");
    assert!(refused.contains("dashboard:ops"), "{refused}");
    gate.add_permits(100);
    let report = finished(&app, &session, &store).await;
    assert_eq!(report.mode, orgsync_core::reconcile::Mode::DryRun);
    assert_eq!(report.queued, 0);
    let stale: Vec<_> = report
        .drifts
        .iter()
        .filter(|d| d.class == DriftClass::Stale && d.org.as_str() == "v1")
        .collect();
    assert_eq!(stale.len(), 1, "{:?}", report.drifts);
    let page = text(send(&app, request("GET", "/reconcile", Some(&session), "")).await).await;
    assert!(
        page.contains("status__c"),
        "the drifted field is listed: {page}"
    );
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(
        status(&v1).await[0]["Status__c"],
        "Behind",
        "a dry run writes nothing"
    );

    // a quick dry run starts too (the first run's drift is still reported to it)
    let res = send(
        &app,
        request("POST", "/reconcile/start", Some(&session), &quick),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let report = finished(&app, &session, &store).await;
    assert!(!report.full);
    assert_eq!(report.queued, 0);
    assert_eq!(
        status(&v1).await[0]["Status__c"],
        "Behind",
        "a dry run writes nothing"
    );

    // Repair asks first, then fixes
    let confirm = text(
        send(
            &app,
            request("GET", "/reconcile/repair", Some(&session), ""),
        )
        .await,
    )
    .await;
    assert!(confirm.contains("Repair drift?"), "{confirm}");
    let repair = format!("csrf={csrf}&pass=full&mode=repair");
    let res = send(
        &app,
        request("POST", "/reconcile/start", Some(&session), &repair),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let report = finished(&app, &session, &store).await;
    assert_eq!(report.mode, orgsync_core::reconcile::Mode::Repair);
    assert!(report.queued >= 1, "{report:?}");
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(status(&v1).await[0]["Status__c"], "New", "repaired");
    assert_eq!(status(&v1).await, status(&hub).await);

    // a sync paused on the settings page since the engine's start is left out of the pass
    let pause = orgsync_monitor::admin::Change {
        enabled: Some(false),
        ..Default::default()
    };
    orgsync_monitor::admin::change(&store, &settings, "Work_Item__c", &pause, "test")
        .await
        .unwrap();
    let res = send(
        &app,
        request("POST", "/reconcile/start", Some(&session), &quick),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let report = finished(&app, &session, &store).await;
    assert!(!report.passes.is_empty());
    assert!(
        report.passes.iter().all(|p| p.object != "Work_Item__c"),
        "{:?}",
        report.passes
    );

    // without the token, nothing starts
    let res = send(
        &app,
        request(
            "POST",
            "/reconcile/start",
            Some(&session),
            "pass=quick&mode=dry-run",
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let activity = text(send(&app, request("GET", "/activity", Some(&session), "")).await).await;
    assert_eq!(
        activity
            .matches("started a full reconcile (dry-run)")
            .count(),
        1,
        "{activity}"
    );
    assert!(
        activity.contains("started a quick reconcile (dry-run)"),
        "{activity}"
    );
    assert!(
        activity.contains("started a full reconcile (repair)"),
        "{activity}"
    );
    assert!(activity.contains("dashboard:ops"), "{activity}");
    engine.shutdown().await;
}
