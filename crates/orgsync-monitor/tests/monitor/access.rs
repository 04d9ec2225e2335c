//! Access: the login form, the session cookie's flags, pages refused without a session,
//! CSRF refusals on every state-changing request.

use http::{StatusCode, header};

use crate::support::*;
use orgsync_store::Store;

#[tokio::test]
async fn pages_need_a_login_and_the_form_logs_in() {
    let (store, _dir) = store().await;
    let app = monitor_router(store);
    for page in [
        "/",
        "/problems",
        "/problems?dismissed=1",
        "/records?id=x",
        "/conflicts",
        "/activity",
        "/charts",
        "/settings",
    ] {
        let res = send(&app, get(page, None)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(res.headers()[header::LOCATION], "/login");
        let res = send(&app, get(page, Some("orgsync_session=forged"))).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{page} with a forged cookie"
        );
    }
    for action in [
        "/problems/retry",
        "/problems/retry-all",
        "/problems/dismiss",
        "/logout",
    ] {
        let res = send(&app, post(action, None, "csrf=x&id=1")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let form = send(&app, get("/login", None)).await;
    assert_eq!(form.status(), StatusCode::OK);
    let (_, flags) = set_cookie(&form, "orgsync_login").unwrap();
    assert!(flags.contains("HttpOnly") && flags.contains("SameSite=Strict"));
    let html = text(form).await;
    assert!(html.contains("<form method=\"post\" action=\"/login\""));
    assert!(html.contains("type=\"password\" name=\"password\""));

    let b = login(&app).await;
    let res = send(&app, get("/", Some(&b.cookie))).await;
    assert_eq!(res.status(), StatusCode::OK);
    // logged in, /login sends you on to the overview
    let res = send(&app, get("/login", Some(&b.cookie))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_strict() {
    let (store, _dir) = store().await;
    let app = monitor_router(store);
    let form = send(&app, get("/login", None)).await;
    let (login_cookie, _) = set_cookie(&form, "orgsync_login").unwrap();
    let token = csrf_in(&text(form).await);
    let body = format!("csrf={token}&password={}", PASSWORD.replace(' ', "+"));
    let res = send(&app, post("/login", Some(&login_cookie), &body)).await;
    let (_, flags) = set_cookie(&res, "orgsync_session").unwrap();
    assert!(flags.contains("HttpOnly"), "{flags}");
    assert!(flags.contains("SameSite=Strict"), "{flags}");
    assert!(flags.contains("Path=/"), "{flags}");
}

#[tokio::test]
async fn a_wrong_password_or_a_forged_login_is_refused() {
    let (store, _dir) = store().await;
    let app = monitor_router(store);
    let form = send(&app, get("/login", None)).await;
    let (login_cookie, _) = set_cookie(&form, "orgsync_login").unwrap();
    let token = csrf_in(&text(form).await);
    let res = send(
        &app,
        post(
            "/login",
            Some(&login_cookie),
            &format!("csrf={token}&password=wrong"),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res, "orgsync_session").is_none());
    assert!(text(res).await.contains("Wrong password."));
    // the right password without the login form's token (a cross-site login): refused
    let pw = PASSWORD.replace(' ', "+");
    let res = send(&app, post("/login", None, &format!("password={pw}"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(
        &app,
        post(
            "/login",
            Some(&login_cookie),
            &format!("csrf=other&password={pw}"),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_action_refuses_a_missing_or_wrong_csrf_token() {
    let (store, _dir) = store().await;
    items(&store, "b", vec![(1, Some(error("X", "bad")))]).await;
    let app = monitor_router(store.clone());
    let b = login(&app).await;
    for action in [
        "/problems/retry",
        "/problems/retry-all",
        "/problems/dismiss",
        "/logout",
    ] {
        for body in ["id=1".to_string(), "csrf=wrong&id=1".to_string()] {
            let res = send(&app, post(action, Some(&b.cookie), &body)).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{action} {body}");
        }
    }
    // nothing was done
    let failed = store
        .items(
            &orgsync_store::ItemFilter {
                state: Some(orgsync_store::ItemState::Failed),
                ..Default::default()
            },
            orgsync_store::Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].dismissed_at.is_none());
    // and the session still works
    let res = send(&app, get("/", Some(&b.cookie))).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (store, _dir) = store().await;
    let app = monitor_router(store);
    let b = login(&app).await;
    let res = send(
        &app,
        post("/logout", Some(&b.cookie), &format!("csrf={}", b.csrf)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = send(&app, get("/", Some(&b.cookie))).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is dead"
    );
}
