//! Every auth flow, token refresh (single flight), typed auth errors, TLS with a custom CA.

use crate::support::*;
use futures::TryStreamExt;
use sfclient::{AuthFlow, Client, ErrorKind, JwtKey, Secret, SfError};

#[tokio::test]
async fn password_flow_connects_and_takes_instance_url_from_the_token() {
    let emu = start_default().await;
    let client = emu.client().await;
    assert_eq!(client.instance_url().await.unwrap(), emu.base);
    assert_eq!(client.token_fetches(), 1);
    let rows: Vec<_> = client
        .query("SELECT Id FROM User")
        .try_collect()
        .await
        .unwrap();
    assert!(!rows.is_empty());
}

#[tokio::test]
async fn client_credentials_flow() {
    let emu = start_default().await;
    let flow = AuthFlow::ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::from(CLIENT_SECRET),
    };
    let client = Client::connect(emu.org_config(flow)).await.unwrap();
    client.describe("Account").await.unwrap();
}

#[tokio::test]
async fn jwt_bearer_flow_with_pkcs8_file_and_pkcs1_pem() {
    let emu = start_default().await;
    let flow = AuthFlow::JwtBearer {
        client_id: CLIENT_ID.into(),
        username: USER.into(),
        key: JwtKey::File(fixture("jwt-key.pem")),
        audience: None,
    };
    let client = Client::connect(emu.org_config(flow)).await.unwrap();
    client.describe("Account").await.unwrap();

    let pem = std::fs::read_to_string(fixture("jwt-key-pkcs1.pem")).unwrap();
    let flow = AuthFlow::JwtBearer {
        client_id: CLIENT_ID.into(),
        username: USER.into(),
        key: JwtKey::Pem(Secret::new(pem)),
        audience: Some("https://login.salesforce.com".into()),
    };
    Client::connect(emu.org_config(flow)).await.unwrap();
}

#[tokio::test]
async fn jwt_with_an_unknown_audience_is_an_auth_error() {
    let emu = start_default().await;
    let flow = AuthFlow::JwtBearer {
        client_id: CLIENT_ID.into(),
        username: USER.into(),
        key: JwtKey::File(fixture("jwt-key.pem")),
        audience: Some("https://evil.example".into()),
    };
    let err = Client::connect(emu.org_config(flow)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        matches!(&err, SfError::Auth { error, flow: "jwt-bearer", .. } if error == "invalid_grant"),
        "{err}"
    );
}

#[tokio::test]
async fn soap_login_flow() {
    let emu = start_default().await;
    let flow = AuthFlow::SoapLogin {
        username: USER.into(),
        password: Secret::from(PASSWORD),
    };
    let client = Client::connect(emu.org_config(flow)).await.unwrap();
    assert_eq!(client.instance_url().await.unwrap(), emu.base);
    client.describe("Account").await.unwrap();

    let bad = AuthFlow::SoapLogin {
        username: USER.into(),
        password: Secret::from("wrong"),
    };
    let err = Client::connect(emu.org_config(bad)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("soap-login"));
}

#[tokio::test]
async fn refresh_token_flow() {
    let emu = start_default().await;
    // Obtain a refresh token the way a web-server flow would leave one behind.
    let form = [
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USER),
        ("password", PASSWORD),
    ];
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", emu.base))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = resp["refresh_token"]
        .as_str()
        .expect("password grant issues a refresh token")
        .to_owned();
    let flow = AuthFlow::RefreshToken {
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::from(CLIENT_SECRET)),
        refresh_token: Secret::new(refresh),
    };
    let client = Client::connect(emu.org_config(flow)).await.unwrap();
    client.describe("Account").await.unwrap();
    // Expired access tokens are replaced through the refresh token.
    emu.expire_tokens().await;
    client.clear_describe_cache();
    client.describe("Account").await.unwrap();
    assert_eq!(client.token_fetches(), 2);
}

#[tokio::test]
async fn invalid_grant_names_org_and_flow() {
    let emu = start_default().await;
    let flow = AuthFlow::Password {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::from(CLIENT_SECRET),
        username: USER.into(),
        password: Secret::from("not-the-password"),
    };
    let err = Client::connect(emu.org_config(flow)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    match &err {
        SfError::Auth {
            org, flow, error, ..
        } => {
            assert_eq!(org, "test-org");
            assert_eq!(*flow, "password");
            assert_eq!(error, "invalid_grant");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(err.to_string().contains("test-org") && err.to_string().contains("password"));
}

#[tokio::test]
async fn secrets_never_print() {
    let emu = start_default().await;
    let cfg = emu.org_config(password_flow());
    let shown = format!("{cfg:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(!shown.contains(&format!("\"{PASSWORD}\"")), "{shown}");
    assert!(shown.contains("***"));
}

#[tokio::test]
async fn expired_token_is_refreshed_once_for_many_concurrent_calls() {
    let emu = start_default().await;
    let client = emu.client().await;
    client.describe("Account").await.unwrap();
    emu.expire_tokens().await;
    let calls = (0..20).map(|_| {
        let c = client.clone();
        async move { c.query_page("SELECT Id FROM User", false).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(client.token_fetches(), 2, "exactly one refresh");
}

#[tokio::test]
async fn https_with_the_emulator_ca() {
    let emu = start(config(true)).await;
    assert!(emu.base.starts_with("https://"));
    let client = emu.client().await;
    let page = client
        .query_page("SELECT COUNT() FROM Account", false)
        .await
        .unwrap();
    assert!(page.done);

    // Without the emulator's CA the certificate is not trusted: a connect (transport) error.
    let mut cfg = emu.org_config(password_flow());
    cfg.ca_pem = None;
    let err = Client::connect(cfg).await.unwrap_err();
    assert!(matches!(err, SfError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn a_create_after_expiry_is_sent_again_once_and_not_lost() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.expire_tokens().await;
    emu.reset_usage().await;
    let id = client
        .create("Account", &rec(serde_json::json!({"Name": "after expiry"})))
        .await
        .unwrap();
    assert_eq!(client.token_fetches(), 2);
    // The 401 attempt is refused before counting; the resent create is the one call.
    assert_eq!(emu.calls().await, 1);
    let got = client
        .get_record("Account", &id, Some(&["Name"]))
        .await
        .unwrap();
    assert_eq!(got["Name"], "after expiry");
}

#[tokio::test]
async fn a_revoked_refresh_token_fails_once_for_all_waiting_calls() {
    let emu = start_default().await;
    let form = [
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USER),
        ("password", PASSWORD),
    ];
    let http = reqwest::Client::new();
    let resp: serde_json::Value = http
        .post(format!("{}/services/oauth2/token", emu.base))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = resp["refresh_token"].as_str().unwrap().to_owned();
    let flow = AuthFlow::RefreshToken {
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::from(CLIENT_SECRET)),
        refresh_token: Secret::new(refresh.clone()),
    };
    let mut cfg = emu.org_config(flow);
    cfg.max_concurrent = 50;
    let client = Client::connect(cfg).await.unwrap();
    let revoked = http
        .post(format!("{}/services/oauth2/revoke", emu.base))
        .form(&[("token", refresh)])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    emu.expire_tokens().await;

    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move { c.query_page("SELECT Id FROM User", false).await }
    });
    for r in futures::future::join_all(calls).await {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        assert!(
            matches!(
                &err,
                SfError::Auth {
                    flow: "refresh-token",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(
        client.token_attempts(),
        2,
        "the initial token and one failed refresh"
    );
}
