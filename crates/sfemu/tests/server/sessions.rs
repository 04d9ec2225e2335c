//! Authorization header rules, token expiry, userinfo and the identity URL.

use super::*;

#[tokio::test]
async fn auth_header_rules_and_token_expiry() {
    let t = common::start().await;
    let r = t.http.get(t.data("/limits")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("sforce-limit-info").is_none());
    assert_eq!(
        json(r).await,
        json!([{"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}])
    );
    let r = t
        .http
        .get(t.data("/limits"))
        .header("Authorization", format!("OAuth {}", t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .get(t.data("/limits"))
        .bearer_auth("00Dxx!garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await[0]["errorCode"], "INVALID_SESSION_ID");

    // Control: expire every access token; refresh tokens keep working.
    let (_, login) = token_request(&t, &password_form(PASSWORD)).await;
    let r = t
        .http
        .post(t.url("/__sfemu/tokens/expire"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 401);
    assert_eq!(json(r).await[0]["errorCode"], "INVALID_SESSION_ID");
    let refresh = login["refresh_token"].as_str().unwrap();
    let (status, _) = token_request(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, 200);
    t.shutdown().await;

    // A zero TTL: every token is expired by its first use.
    common::init();
    let emu = common::Emulator::start(
        EmulatorConfig::single_org().with_token_ttl(std::time::Duration::ZERO),
    )
    .await
    .unwrap();
    let http = common::client_for(&emu.orgs()[0]);
    let base = emu.orgs()[0].base_url.clone();
    let token = common::password_token(&http, &base).await;
    let r = http
        .get(format!("{base}/services/data/v66.0/limits"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn userinfo_and_identity_url() {
    let t = common::start().await;
    let r = t
        .http
        .get(t.url("/services/oauth2/userinfo"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info = json(r).await;
    assert_eq!(info["preferred_username"], USERNAME);
    assert_eq!(info["organization_id"], t.org().org_id.as_str());
    let user_id = info["user_id"].as_str().unwrap().to_string();
    assert!(user_id.starts_with("005") && user_id.len() == 18);
    let r = t
        .http
        .get(t.url(&format!("/id/{}/{user_id}", t.org().org_id)))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = json(r).await;
    assert_eq!(id["username"], USERNAME);
    assert_eq!(
        id["urls"]["rest"],
        format!("{}/services/data/v66.0/", t.base)
    );
    let r = t
        .http
        .get(t.url(&format!("/id/{}/005000000000000AAA", t.org().org_id)))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Multi-byte characters where an id is expected: an error, not a panic.
    let r = t
        .http
        .get(t.url("/id/ééééééééééééééééé/ü"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = t
        .http
        .get(t.url("/services/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    t.shutdown().await;
}
