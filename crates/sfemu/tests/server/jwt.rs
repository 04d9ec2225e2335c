//! The JWT bearer grant: signature, audience, expiry rules.

use super::*;

const JWT_KEY: &str = include_str!("../fixtures/jwt-key.pem");
const JWT_OTHER_KEY: &str = include_str!("../fixtures/jwt-other-key.pem");
const JWT_CERT: &str = include_str!("../fixtures/jwt-cert.pem");

fn sign_jwt(key_pem: &str, claims: &Value) -> String {
    let der = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_der()).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn jwt_config() -> EmulatorConfig {
    let mut c = EmulatorConfig::single_org();
    let cert = rustls_pemfile::certs(&mut JWT_CERT.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    c.orgs[0].apps.push(ConnectedApp {
        name: "jwt".into(),
        consumer_key: "jwt-app".into(),
        consumer_secret: "jwt-secret".into(),
        certificate_der: Some(cert.to_vec()),
        issue_refresh_tokens: true,
        run_as: USERNAME.into(),
    });
    c
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn jwt_bearer_grant() {
    let t = common::start_with(jwt_config()).await;
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let claims =
        |aud: &str, exp: Value| json!({"iss": "jwt-app", "sub": USERNAME, "aud": aud, "exp": exp});
    let login = "https://login.salesforce.com";

    // Valid, with exp as a string of digits (simple-salesforce) and as a number.
    for exp in [json!((now() + 170).to_string()), json!(now() + 60)] {
        let a = sign_jwt(JWT_KEY, &claims(login, exp));
        let (status, body) = token_request(&t, &[("grant_type", grant), ("assertion", &a)]).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("refresh_token").is_none(),
            "never a refresh token for JWT"
        );
        assert_eq!(body["instance_url"], t.base.as_str());
    }
    // Own base URL as audience, legacy prn claim.
    let a = sign_jwt(
        JWT_KEY,
        &json!({"iss": "jwt-app", "prn": USERNAME, "aud": t.base, "exp": now() + 60}),
    );
    assert_eq!(
        token_request(&t, &[("grant_type", grant), ("assertion", &a)])
            .await
            .0,
        200
    );

    let failures = [
        (
            sign_jwt(JWT_OTHER_KEY, &claims(login, json!(now() + 60))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            sign_jwt(
                JWT_KEY,
                &claims("https://evil.example.com", json!(now() + 60)),
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            sign_jwt(JWT_KEY, &claims(login, json!(now() + 3600))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            sign_jwt(JWT_KEY, &claims(login, json!(now() - 10))),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            sign_jwt(
                JWT_KEY,
                &json!({"iss": "jwt-app", "sub": "ghost@x.test", "aud": login, "exp": now() + 60}),
            ),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            sign_jwt(
                JWT_KEY,
                &json!({"iss": "unknown", "sub": USERNAME, "aud": login, "exp": now() + 60}),
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "not.a.jwt".to_string(),
            "invalid_grant",
            "invalid assertion",
        ),
    ];
    for (a, error, description) in failures {
        let (status, body) = token_request(&t, &[("grant_type", grant), ("assertion", &a)]).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"error": error, "error_description": description})
        );
    }
    // An app without a certificate cannot use JWT.
    let a = sign_jwt(
        JWT_KEY,
        &json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": login, "exp": now() + 60}),
    );
    assert_eq!(
        token_request(&t, &[("grant_type", grant), ("assertion", &a)])
            .await
            .1["error_description"],
        "invalid assertion"
    );
    t.shutdown().await;
}
