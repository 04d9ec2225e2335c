//! "Add object" through the router, over a catalog that answers like orgs would: the objects
//! not synced yet, the fields writable in every org, a vetting that names the field and org
//! that stop a choice; the sync is created disabled in the overlay and then behaves like the
//! file's (Save resumes it, Remove removes it).

use std::sync::Arc;

use http::StatusCode;
use orgsync_core::Settings;
use orgsync_core::config::{Capture, MonitorSettings, Secret};
use orgsync_monitor::catalog::{Answer, Catalog, Vetting};
use orgsync_store::*;

use crate::settings::config;
use crate::support::*;

/// Two orgs `a` and `b`; in `b` Lead.Title is read-only.
struct Fake;

impl Catalog for Fake {
    fn objects(&self, settings: Arc<Settings>) -> Answer<Vec<String>> {
        Box::pin(async move {
            Ok(["Account", "Case", "Contact", "Lead"]
                .iter()
                .filter(|o| !settings.syncs.iter().any(|s| s.object == **o))
                .map(|o| o.to_string())
                .collect())
        })
    }
    fn fields(&self, _: Arc<Settings>, object: String) -> Answer<Vec<String>> {
        Box::pin(async move {
            match object.as_str() {
                "Lead" => Ok(vec!["LastName".into(), "Email".into()]),
                _ => Err(format!("INVALID_TYPE: {object}")),
            }
        })
    }
    fn vet(&self, _: Arc<Settings>, object: String, fields: Vec<String>) -> Answer<Vetting> {
        Box::pin(async move {
            let problems = fields
                .iter()
                .filter(|f| *f == "Title")
                .map(|f| {
                    format!("field {object}.{f} in b is not updateable for the integration user")
                })
                .collect();
            Ok(Vetting {
                problems,
                capture: Capture::Poll,
                capture_text: "Change Data Capture is not enabled for it in b: polling will be used (every 1m)".into(),
            })
        })
    }
}

fn app(store: Arc<SqlStore>) -> axum::Router {
    let settings = MonitorSettings {
        admin_password: Secret(PASSWORD.into()),
    };
    orgsync_monitor::router(orgsync_monitor::Monitor::with_config(
        store,
        &settings,
        Some(config()),
        None,
        Some(Arc::new(Fake)),
    ))
}

#[tokio::test]
async fn an_object_is_added_disabled_after_its_fields_are_vetted_in_every_org() {
    let (store, _dir) = store().await;
    let app = app(store.clone());
    let b = login_as(&app, "ann").await;
    let page = text(send(&app, get("/settings", Some(&b.cookie))).await).await;
    assert!(page.contains("href=\"/settings/add\""), "{page}");
    let list = text(send(&app, get("/settings/add", Some(&b.cookie))).await).await;
    assert!(
        list.contains("<option value=\"Lead\">") && list.contains("<option value=\"Case\">"),
        "{list}"
    );
    assert!(
        !list.contains("<option value=\"Account\""),
        "synced already: {list}"
    );
    let fields = text(send(&app, get("/settings/add?object=Lead", Some(&b.cookie))).await).await;
    assert!(
        fields.contains("name=\"field\" value=\"Email\""),
        "{fields}"
    );
    let broken = text(send(&app, get("/settings/add?object=Case", Some(&b.cookie))).await).await;
    assert!(
        broken.contains("cannot describe Case: INVALID_TYPE: Case"),
        "{broken}"
    );

    // a field not writable in one org: named with its org, nothing stored
    let form = format!("csrf={}&object=Lead&field=LastName&field=Title", b.csrf);
    let refused = text(send(&app, post("/settings/add", Some(&b.cookie), &form)).await).await;
    assert!(
        refused
            .contains("<li>field Lead.Title in b is not updateable for the integration user</li>"),
        "{refused}"
    );
    assert!(store.sync_overrides().await.unwrap().is_empty());

    let form = format!("csrf={}&object=Lead&field=LastName&field=Email", b.csrf);
    let added = text(send(&app, post("/settings/add", Some(&b.cookie), &form)).await).await;
    assert!(
        added.contains("Added Lead with LastName, Email — disabled"),
        "{added}"
    );
    assert!(added.contains("polling will be used"), "{added}");
    assert!(added.contains("id=\"sync-Lead\""), "listed: {added}");
    assert!(added.contains("added by dashboard:ann"), "{added}");
    assert!(
        added.contains("the service takes it up, paused, within seconds"),
        "not in the running engine: {added}"
    );
    let o = store.sync_overrides().await.unwrap();
    assert_eq!(o.len(), 1);
    assert_eq!(
        (o[0].object.as_str(), o[0].enabled, o[0].capture.as_deref()),
        ("Lead", Some(false), Some("poll"))
    );
    assert_eq!(
        o[0].fields.as_deref(),
        Some(&["LastName".to_string(), "Email".into()][..])
    );
    let again = text(send(&app, get("/settings/add", Some(&b.cookie))).await).await;
    assert!(
        !again.contains("<option value=\"Lead\""),
        "not offered twice: {again}"
    );
    let twice = text(send(&app, post("/settings/add", Some(&b.cookie), &form)).await).await;
    assert!(twice.contains("Lead is synced already"), "{twice}");

    // then it is a sync like the file's: Save resumes it
    let save = format!(
        "csrf={}&object=Lead&method=poll&interval=1m&enabled=1",
        b.csrf
    );
    let res = send(&app, post("/settings/save", Some(&b.cookie), &save)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let o = store.sync_overrides().await.unwrap();
    assert_eq!(o[0].enabled, Some(true));
    assert!(
        o[0].fields.is_some(),
        "a Save keeps the added sync's fields"
    );
    let activity = text(send(&app, get("/activity", Some(&b.cookie))).await).await;
    assert!(
        activity.contains("added sync Lead: added with LastName, Email (poll), disabled"),
        "{activity}"
    );
    assert!(activity.contains("resumed sync Lead"), "{activity}");
}

#[tokio::test]
async fn adding_needs_the_csrf_token() {
    let (store, _dir) = store().await;
    let app = app(store.clone());
    let b = login(&app).await;
    let res = send(
        &app,
        post("/settings/add", Some(&b.cookie), "object=Lead&field=Email"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(store.sync_overrides().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_overview_draws_the_topology_with_each_routes_state() {
    let (store, _dir) = store().await;
    let app = app(store.clone());
    let b = login(&app).await;
    let html = text(send(&app, get("/", Some(&b.cookie))).await).await;
    assert!(html.contains("<svg class=\"topology\""), "{html}");
    assert!(
        html.contains("<g class=\"edge ok\" data-from=\"a\" data-to=\"b\">"),
        "{html}"
    );
}
