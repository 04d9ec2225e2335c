//! OAuth token endpoint grants (password, client credentials, refresh) and revocation.

use super::*;

#[tokio::test]
async fn password_grant_answers_salesforce_shape() {
    let t = common::start().await;
    let (status, body) = token_request(&t, &password_form(PASSWORD)).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "refresh_token",
            "signature",
            "scope",
            "instance_url",
            "id",
            "token_type",
            "issued_at"
        ]
    );
    let org_id = &t.org().org_id;
    assert_eq!(org_id.len(), 18);
    assert!(org_id.starts_with("00D"));
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}!", &org_id[..15]))
    );
    assert_eq!(body["instance_url"], t.base.as_str());
    assert_eq!(body["token_type"], "Bearer");
    let id = body["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}/id/{org_id}/005", t.base)),
        "{id}"
    );
    let issued_at = body["issued_at"].as_str().unwrap();
    assert!(issued_at.len() >= 13 && issued_at.bytes().all(|b| b.is_ascii_digit()));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
    let sig = STANDARD
        .decode(body["signature"].as_str().unwrap())
        .unwrap();
    ring::hmac::verify(&key, format!("{id}{issued_at}").as_bytes(), &sig).unwrap();
    // The token works.
    let r = t
        .http
        .get(t.data("/limits"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn token_errors_are_rfc6749_json() {
    let t = common::start().await;
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            password_form("wrong"),
            "invalid_grant",
            "authentication failure",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "nope"),
                ("client_secret", "x"),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", "bad"),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
            "invalid_client",
            "invalid client credentials",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("username", "who@x"),
                ("password", PASSWORD),
            ],
            "invalid_grant",
            "authentication failure",
        ),
        (
            vec![("username", USERNAME)],
            "invalid_request",
            "grant type is missing",
        ),
        (
            vec![("grant_type", "magic")],
            "unsupported_grant_type",
            "grant type not supported",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "5Aepnope"),
            ],
            "invalid_grant",
            "expired access/refresh token",
        ),
    ];
    for (form, error, description) in cases {
        let (status, body) = token_request(&t, &form).await;
        assert_eq!(status, 400, "{form:?}");
        assert_eq!(
            body,
            json!({"error": error, "error_description": description}),
            "{form:?}"
        );
    }
    t.shutdown().await;
}

#[tokio::test]
async fn client_credentials_by_basic_and_body_without_refresh_token() {
    let t = common::start().await;
    let r = t
        .http
        .post(t.url("/services/oauth2/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = json(r).await;
    assert!(body.get("refresh_token").is_none());
    assert!(body["id"].as_str().unwrap().contains("/005"));
    let (status, body) = token_request(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = token_request(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    t.shutdown().await;
}

#[tokio::test]
async fn refresh_grant_and_revocation() {
    let t = common::start().await;
    let (_, first) = token_request(&t, &password_form(PASSWORD)).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, second) = token_request(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert!(second.get("refresh_token").is_none());
    let access = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(access, first["access_token"].as_str().unwrap());
    assert_eq!(
        t.http
            .get(t.data("/limits"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Revoking the access token: 200, then INVALID_SESSION_ID.
    let r = t
        .http
        .post(t.url("/services/oauth2/revoke"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .get(t.data("/limits"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        json(r).await,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );

    // Revoking the refresh token revokes its access tokens and the refresh token itself.
    let first_access = first["access_token"].as_str().unwrap();
    let r = t
        .http
        .post(t.url("/services/oauth2/revoke"))
        .form(&[("token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        t.http
            .get(t.data("/limits"))
            .bearer_auth(first_access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let (status, _) = token_request(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, 400);

    let r = t
        .http
        .post(t.url("/services/oauth2/revoke"))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        json(r).await,
        json!({"error": "unsupported_token_type", "error_description": "this token type is not supported"})
    );
    t.shutdown().await;
}
