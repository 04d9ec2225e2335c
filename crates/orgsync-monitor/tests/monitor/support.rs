//! A ledger with orgs, syncs, failed and parked items, and a client that logs in.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use chrono::{DateTime, TimeDelta, Utc};
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use orgsync_core::config::{MonitorSettings, Secret};
use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::*;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn org(n: &str) -> OrgName {
    OrgName(n.to_string())
}

pub fn gid(n: u32) -> GlobalId {
    GlobalId::new("00D000000000001".parse().unwrap(), &format!("001{n:012}")).unwrap()
}

pub fn ago(secs: i64) -> DateTime<Utc> {
    Utc::now() - TimeDelta::seconds(secs)
}

pub fn upsert(target: &str, n: u32, name: &str) -> NewItem {
    let payload: Payload = [(
        "Name".to_string(),
        PayloadValue::value(FieldValue::Text(name.into())),
    )]
    .into_iter()
    .collect();
    NewItem::new(
        SyncItem {
            target: org(target),
            object: "Account".into(),
            global_id: gid(n),
            op: Op::Upsert,
            payload,
            parents: vec![],
        },
        ago(120),
    )
    .from_source(org("a"), format!("001A{n:011}AAA"))
}

pub fn error(code: &str, message: &str) -> ItemError {
    ItemError {
        code: code.into(),
        message: message.into(),
        kind: "permanent".into(),
    }
}

/// A SQLite ledger (kept alive by the returned directory).
pub async fn store() -> (Arc<SqlStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
    (Arc::new(SqlStore::open(&url).await.unwrap()), dir)
}

/// Items for `target`, each failed with the given error (None: left queued).
pub async fn items(s: &SqlStore, target: &str, outcomes: Vec<(u32, Option<ItemError>)>) {
    let batch = CaptureBatch {
        items: outcomes
            .iter()
            .map(|(n, _)| upsert(target, *n, ""))
            .collect(),
        ..CaptureBatch::default()
    };
    s.commit_capture(batch, ago(100)).await.unwrap();
    let claimed = s
        .claim_due(&org(target), Utc::now(), 100, "w", TimeDelta::seconds(30))
        .await
        .unwrap();
    let done: Vec<Completion> = claimed
        .iter()
        .filter_map(|it| {
            let (_, e) = outcomes
                .iter()
                .find(|(n, _)| gid(*n) == it.work.global_id)?;
            let outcome = match e {
                Some(error) => Outcome::Failed {
                    error: error.clone(),
                },
                None => Outcome::Pending {
                    parent: gid(999),
                    error: None,
                },
            };
            Some(Completion {
                id: it.id,
                lease_owner: "w".into(),
                outcome,
                follow_ups: vec![],
                detail: serde_json::Value::Null,
            })
        })
        .collect();
    s.complete(done, Utc::now()).await.unwrap();
}

/// Two orgs (b with an open circuit), two syncs.
pub async fn orgs_and_syncs(s: &SqlStore) {
    let mut a = OrgRow::new(org("a"));
    a.budget_used = Some(1500);
    a.budget_max = Some(15000);
    s.put_org(&a).await.unwrap();
    let mut b = OrgRow::new(org("b"));
    b.circuit = CircuitState::Open;
    b.circuit_until = Some(Utc::now() + TimeDelta::minutes(5));
    b.status = "unreachable: connection refused".into();
    s.put_org(&b).await.unwrap();
    let row = |o: &str, status, last: Option<DateTime<Utc>>, err: Option<&str>| SyncRow {
        org: org(o),
        object: "Account".into(),
        capture: "poll".into(),
        interval_secs: 60,
        enabled: true,
        status,
        last_sync_at: last,
        error_count: u32::from(err.is_some()),
        last_error: err.map(str::to_string),
    };
    s.put_sync(&row("a", SyncStatus::Active, Some(ago(5)), None))
        .await
        .unwrap();
    s.put_sync(&row(
        "b",
        SyncStatus::CircuitOpen,
        Some(ago(900)),
        Some("5 failed calls in a row"),
    ))
    .await
    .unwrap();
}

pub fn monitor_router(store: Arc<SqlStore>) -> Router {
    let settings = MonitorSettings {
        admin_password: Secret(PASSWORD.into()),
    };
    orgsync_monitor::router(orgsync_monitor::Monitor::new(store, &settings))
}

/// The body as text.
pub async fn text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `name=value` of the Set-Cookie header for `name`.
pub fn set_cookie(res: &Response<Body>, name: &str) -> Option<(String, String)> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let pair = v.split(';').next().unwrap_or_default().to_string();
            (pair, v.to_string())
        })
}

/// The value of the hidden `csrf` input in a page.
pub fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// A logged-in browser: its session cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

pub fn post(uri: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut r =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(form.to_string())).unwrap()
}

/// Log in through the form, as a browser would.
pub async fn login(app: &Router) -> Browser {
    login_as(app, "").await
}

/// Log in giving `name` for the activity log.
pub async fn login_as(app: &Router, name: &str) -> Browser {
    let form = send(app, get("/login", None)).await;
    assert_eq!(form.status(), StatusCode::OK);
    let (login_cookie, _) = set_cookie(&form, "orgsync_login").unwrap();
    let token = csrf_in(&text(form).await);
    let name: String = form_urlencoded(name);
    let body = format!(
        "csrf={token}&password={}&name={name}",
        PASSWORD.replace(' ', "+")
    );
    let res = send(app, post("/login", Some(&login_cookie), &body)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = set_cookie(&res, "orgsync_session").unwrap();
    let page = text(send(app, get("/", Some(&cookie))).await).await;
    Browser {
        csrf: csrf_in(&page),
        cookie,
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_urlencoded(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
