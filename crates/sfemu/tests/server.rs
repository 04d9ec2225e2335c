//! End-to-end tests of the emulator's server side over real HTTP on loopback: OAuth grants,
//! JWT, SOAP login, tokens, limits, faults, the control surface, error shapes, TLS, config
//! files, persistence and the binary.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{CLIENT_ID, CLIENT_SECRET, EmulatorConfig, PASSWORD, USERNAME, json};
use serde_json::{Value, json};
use sfemu::auth::ConnectedApp;

async fn token_request(t: &common::TestOrg, form: &[(&str, &str)]) -> (u16, Value) {
    let r = t
        .http
        .post(t.url("/services/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, json(r).await)
}

fn password_form(password: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USERNAME),
        ("password", password),
    ]
}

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

// ---- JWT bearer ----------------------------------------------------------------------------

const JWT_KEY: &str = include_str!("fixtures/jwt-key.pem");
const JWT_OTHER_KEY: &str = include_str!("fixtures/jwt-other-key.pem");
const JWT_CERT: &str = include_str!("fixtures/jwt-cert.pem");

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

// ---- SOAP login ----------------------------------------------------------------------------

fn soap_login(username: &str, password: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{username}</n1:username><n1:password><![CDATA[{password}]]></n1:password></n1:login></env:Body></env:Envelope>"#
    )
}

/// Local names of the child elements of the first element named `parent`, in order.
fn children(xml: &str, parent: &str) -> Vec<String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut depth_in: Option<usize> = None;
    let mut depth = 0;
    let mut out = Vec::new();
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                depth += 1;
                if depth_in == Some(depth - 1) {
                    out.push(name.clone());
                }
                if depth_in.is_none() && name == parent {
                    depth_in = Some(depth);
                }
            }
            quick_xml::events::Event::Empty(e) if depth_in == Some(depth) => {
                out.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            quick_xml::events::Event::End(_) => {
                if depth_in == Some(depth) {
                    return out;
                }
                depth -= 1;
            }
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

fn element_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

#[tokio::test]
async fn soap_login_result_in_wsdl_order_and_fault() {
    let t = common::start().await;
    let r = t
        .http
        .post(t.url("/services/Soap/u/62.0"))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "login")
        .body(soap_login(USERNAME, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let xml = r.text().await.unwrap();
    assert_eq!(
        children(&xml, "result"),
        [
            "metadataServerUrl",
            "passwordExpired",
            "sandbox",
            "serverUrl",
            "sessionId",
            "userId",
            "userInfo"
        ]
    );
    let info = children(&xml, "userInfo");
    assert_eq!(info.len(), 24);
    assert_eq!(info[8], "organizationId");
    assert_eq!(
        info,
        [
            "accessibilityMode",
            "chatterExternal",
            "currencySymbol",
            "orgAttachmentFileSizeLimit",
            "orgDefaultCurrencyIsoCode",
            "orgDefaultCurrencyLocale",
            "orgDisallowHtmlAttachments",
            "orgHasPersonAccounts",
            "organizationId",
            "organizationMultiCurrency",
            "organizationName",
            "profileId",
            "roleId",
            "sessionSecondsValid",
            "userDefaultCurrencyIsoCode",
            "userEmail",
            "userFullName",
            "userId",
            "userLanguage",
            "userLocale",
            "userName",
            "userTimeZone",
            "userType",
            "userUiSkin"
        ]
    );
    let org_id = &t.org().org_id;
    assert_eq!(element_text(&xml, "organizationId"), org_id);
    assert_eq!(
        element_text(&xml, "serverUrl"),
        format!("{}/services/Soap/u/62.0/{}", t.base, &org_id[..15])
    );
    let session = element_text(&xml, "sessionId").to_string();
    assert_eq!(
        t.http
            .get(t.data("/limits"))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The org-specific endpoint works too; bad password → 500 fault with LoginFault detail.
    let r = t
        .http
        .post(t.url(&format!("/services/Soap/u/62.0/{}", &org_id[..15])))
        .header("Content-Type", "text/xml")
        .body(soap_login(USERNAME, "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let xml = r.text().await.unwrap();
    assert_eq!(element_text(&xml, "faultcode"), "sf:INVALID_LOGIN");
    assert_eq!(element_text(&xml, "sf:exceptionCode"), "INVALID_LOGIN");
    assert_eq!(
        element_text(&xml, "sf:exceptionMessage"),
        "Invalid username, password, security token; or user locked out."
    );
    assert_eq!(children(&xml, "detail"), ["LoginFault"]);

    // Not XML → a fault, never HTML.
    let r = t
        .http
        .post(t.url("/services/Soap/u/62.0"))
        .body("<oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("<soapenv:Fault>"));
    t.shutdown().await;
}

// ---- sessions ------------------------------------------------------------------------------

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
    let r = t
        .http
        .get(t.url("/services/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    t.shutdown().await;
}

// ---- limits --------------------------------------------------------------------------------

#[tokio::test]
async fn limits_header_resource_and_exhaustion() {
    let t = common::start_with(EmulatorConfig::single_org().with_daily_api_limit(3)).await;
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/3");
    let body = json(r).await;
    assert_eq!(body["DailyApiRequests"], json!({"Max": 3, "Remaining": 2}));
    assert!(body["DataStorageMB"]["Max"].is_u64());
    // Errors after auth carry the header too (an unknown data path is counted).
    let r = t.get("/limits/").await;
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=2/3");
    let r = t.get("/limits").await;
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/3");
    // Spent: 403, and the refused call is not counted.
    for _ in 0..2 {
        let r = t.get("/limits").await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/3");
        assert_eq!(
            json(r).await,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        );
    }
    let usage = json(
        t.http
            .get(t.url("/__sfemu/api-usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        usage,
        json!({"total": 3, "max": 3, "remaining": 0, "byKind": {"limits": 3}})
    );
    // Token requests and the version list are not counted.
    common::password_token(&t.http, &t.base).await;
    t.http.get(t.url("/services/data/")).send().await.unwrap();
    assert_eq!(
        json(
            t.http
                .get(t.url("/__sfemu/api-usage"))
                .send()
                .await
                .unwrap()
        )
        .await["total"],
        3
    );

    // Control: raise the max, set usage, reset.
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .json(&json!({"dailyApiRequests": 100, "used": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        t.get("/limits").await.headers()["sforce-limit-info"],
        "api-usage=51/100"
    );
    assert_eq!(
        t.http
            .post(t.url("/__sfemu/api-usage/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let usage = json(
        t.http
            .get(t.url("/__sfemu/api-usage"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        usage,
        json!({"total": 0, "max": 100, "remaining": 100, "byKind": {}})
    );
    t.shutdown().await;
}

#[tokio::test]
async fn data_routes_pass_the_pipeline_and_are_counted_by_kind() {
    let t = common::start().await;
    let r = t.get("/query?q=SELECT+Id+FROM+Account").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/100000");
    let r = t.get("/sobjects/Account/describe").await;
    assert_eq!(r.status(), 200);
    let r = t.get("/sobjects/NoSuchObject__c/describe").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=3/100000");
    let r = t.http.get(t.data("/query?q=SELECT+Id+FROM+Account")).send().await.unwrap();
    assert_eq!(r.status(), 401, "data routes need a token");
    let usage = json(t.http.get(t.url("/__sfemu/api-usage")).send().await.unwrap()).await;
    assert_eq!(usage["byKind"], json!({"query": 1, "describe": 2}));
    t.shutdown().await;
}

// ---- faults --------------------------------------------------------------------------------

async fn put_faults(t: &common::TestOrg, body: Value) -> u16 {
    t.http
        .put(t.url("/__sfemu/faults"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn injected_call_errors_offline_and_latency() {
    let t = common::start().await;
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await,
        204
    );
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.headers().get("sforce-limit-info").is_some(),
        "injected errors are counted calls"
    );
    assert_eq!(
        json(r).await,
        json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW"}])
    );
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"503": 1.0}})).await,
        204
    );
    let r = t.get("/limits").await;
    assert_eq!(r.status(), 503);
    assert_eq!(json(r).await[0]["errorCode"], "SERVER_UNAVAILABLE");

    // Seeded rates repeat exactly.
    let mut runs = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            put_faults(&t, json!({"errorRate": {"500": 0.5}, "seed": 7})).await,
            204
        );
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(t.get("/limits").await.status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );

    // Per-record errors are drawn by the handlers through Faults::record_error.
    assert_eq!(
        put_faults(&t, json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}})).await,
        204
    );
    let e = t.org().state.faults.record_error().unwrap();
    assert_eq!(e.code, "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        t.get("/limits").await.status(),
        200,
        "record faults do not fail whole calls"
    );

    // Offline: everything but the control surface answers 503.
    assert_eq!(put_faults(&t, json!({"offline": true})).await, 204);
    assert_eq!(t.get("/limits").await.status(), 503);
    let (status, _) = token_request(&t, &password_form(PASSWORD)).await;
    assert_eq!(status, 503);
    let shown = json(t.http.get(t.url("/__sfemu/faults")).send().await.unwrap()).await;
    assert_eq!(shown["offline"], true);
    assert_eq!(
        t.http
            .delete(t.url("/__sfemu/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(t.get("/limits").await.status(), 200);

    // Latency: a call takes at least the injected delay.
    assert_eq!(put_faults(&t, json!({"latencyMs": 300})).await, 204);
    let started = std::time::Instant::now();
    assert_eq!(t.get("/limits").await.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    // Invalid fault settings are refused with a JSON error.
    assert_eq!(
        put_faults(&t, json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 2.0}})).await,
        400
    );
    assert_eq!(put_faults(&t, json!({"bogus": 1})).await, 400);
    t.shutdown().await;
}

// ---- control surface -----------------------------------------------------------------------

#[tokio::test]
async fn control_org_records_and_changes() {
    let t = common::start().await;
    let org = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    assert_eq!(org["orgId"], t.org().org_id.as_str());
    assert_eq!(org["name"], "sfemu");
    assert_eq!(org["instanceUrl"], t.base.as_str());
    assert_eq!(org["users"][0]["username"], USERNAME);
    assert!(org["counts"].is_object());

    // A record created through the org, then edited directly (drift): no change-log entry.
    let admin = t.org().state.org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id.clone(),
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Acme"));
    let out = t.org().state.org.apply(
        &caller,
        vec![sfemu_org::DmlOp::Create {
            object: "Account".into(),
            fields,
        }],
        true,
    );
    let id = out[0].as_ref().unwrap().id.clone();
    let changes = json(
        t.http
            .get(t.url("/__sfemu/changes?after=0&max=10"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["recordId"], id.as_str());
    assert_eq!(list[0]["changeType"], "CREATE");
    let r = t
        .http
        .patch(t.url(&format!("/__sfemu/records/Account/{id}")))
        .json(&json!({"Name": "Drifted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let rec = t
        .org()
        .state
        .org
        .retrieve(
            &admin.id,
            "Account",
            &id,
            Some(&["Name".to_string()]),
            "66.0",
        )
        .unwrap();
    assert_eq!(rec["Name"], "Drifted");
    let changes = json(
        t.http
            .get(t.url("/__sfemu/changes?after=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(changes["changes"], json!([]));
    let counts = json(t.http.get(t.url("/__sfemu/org")).send().await.unwrap()).await;
    assert_eq!(counts["counts"]["Account"], 1);
    // Unknown record → Salesforce error JSON.
    let r = t
        .http
        .patch(t.url("/__sfemu/records/Account/001000000000000AAA"))
        .json(&json!({"Name": "x"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    assert!(json(r).await[0]["errorCode"].is_string());
    t.shutdown().await;
}

// ---- never HTML ----------------------------------------------------------------------------

#[tokio::test]
async fn every_error_is_salesforce_json() {
    let t = common::start().await;
    for path in [
        "/nope",
        "/services",
        "/services/oauth2/nope",
        "/__sfemu/nope",
    ] {
        let r = t.http.get(t.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            json(r).await,
            json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
        );
    }
    let r = t
        .http
        .delete(t.url("/services/oauth2/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body = json(r).await;
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert_eq!(
        body[0]["message"],
        "HTTP Method 'DELETE' not allowed. Allowed are POST"
    );
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await[0]["errorCode"], "JSON_PARSER_ERROR");
    let r = t
        .http
        .get(t.url("/__sfemu/changes?after=minus-one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(json(r).await[0]["message"].is_string());
    t.shutdown().await;
}

/// A gzip member holding `data` in one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    let crc = !crc;
    let len = data.len() as u16;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[tokio::test]
async fn gzip_requests_and_responses() {
    let t = common::start().await;
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .header("Content-Encoding", "gzip")
        .header("Content-Type", "application/json")
        .body(gzip_stored(br#"{"used": 5}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = t
        .http
        .get(t.data("/limits"))
        .bearer_auth(&t.token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=6/100000");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    t.shutdown().await;
}

// ---- TLS, config files, persistence, binary ------------------------------------------------

#[tokio::test]
async fn tls_with_the_generated_certificate() {
    let t = common::start_with(EmulatorConfig::single_org().with_tls(true)).await;
    assert!(t.base.starts_with("https://127.0.0.1:"));
    let pem = t.org().ca_pem.clone().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(t.get("/limits").await.status(), 200);
    // A client that does not trust the certificate cannot connect.
    let other = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(other.get(t.data("/limits")).send().await.is_err());
    t.shutdown().await;
}

#[tokio::test]
async fn config_file_with_two_orgs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfemu.toml");
    std::fs::write(
        dir.path().join("seed.json"),
        r#"{"Account": [{"Name": "Seeded"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &path,
        r#"
[[org]]
name = "alpha"
port = 0
org_id = "00D000000000001EAA"
seed = "seed.json"
[[org.users]]
username = "ops@alpha.test"
password = "pw"
security_token = "TOK"

[[org]]
name = "beta"
port = 0
org_id = "00D000000000002"
daily_api_requests = 7
"#,
    )
    .unwrap();
    let config = EmulatorConfig::from_toml_file(&path).unwrap();
    common::init();
    let emu = common::Emulator::start(config).await.unwrap();
    let (a, b) = (emu.org("alpha").unwrap(), emu.org("beta").unwrap());
    assert_eq!(a.org_id, "00D000000000001EAA");
    assert_eq!(b.org_id, "00D000000000002EAA");
    assert_ne!(a.base_url, b.base_url);
    let http = common::client_for(a);
    // alpha's user logs in with password + security token; the default admin is not there.
    let r = http
        .post(format!("{}/services/oauth2/token", a.base_url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", "ops@alpha.test"),
            ("password", "pwTOK"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = json(r).await["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("00D000000000001!"));
    // alpha's token means nothing to beta.
    let r = http
        .get(format!("{}/services/data/v66.0/limits", b.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let beta_token = common::password_token(&http, &b.base_url).await;
    let r = http
        .get(format!("{}/services/data/v66.0/limits", b.base_url))
        .bearer_auth(&beta_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/7");
    let org = json(
        http.get(format!("{}/__sfemu/org", a.base_url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(org["counts"]["Account"], 1, "seed loaded");
    emu.shutdown().await;
}

#[tokio::test]
async fn data_dir_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig::single_org().with_data_dir(dir.path());
    common::init();
    let emu = common::Emulator::start(config()).await.unwrap();
    let org_id = emu.orgs()[0].org_id.clone();
    let org = &emu.orgs()[0].state.org;
    let admin = org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id,
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Kept"));
    assert!(
        org.apply(
            &caller,
            vec![sfemu_org::DmlOp::Create {
                object: "Account".into(),
                fields
            }],
            true
        )[0]
        .is_ok()
    );
    emu.shutdown().await;

    let emu = common::Emulator::start(config()).await.unwrap();
    assert_eq!(emu.orgs()[0].org_id, org_id, "same org id after restart");
    let counts: std::collections::HashMap<_, _> = emu.orgs()[0]
        .state
        .org
        .record_counts()
        .into_iter()
        .collect();
    assert_eq!(counts.get("Account"), Some(&1));
    emu.shutdown().await;
}

#[test]
fn binary_rejects_a_bad_config_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[org]]\nname = \"a\"\norg_id = \"nope\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sfemu"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: org_id", path.display())),
        "{err}"
    );
}
