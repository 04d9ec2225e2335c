//! A login server that names a hostile instance: every flow fails with an auth error and no
//! request (so no token) reaches the named host. The hostile host is a local listener that
//! records connections, reached through `0.0.0.0` (which connects to this machine) or a loopback
//! URL that the rule refuses for another reason; the control case proves it records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use futures::TryStreamExt;
use sfclient::{AuthFlow, Client, JwtKey, OrgConfig, Secret, SfError};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::support::*;

const TOKEN: &str = "00Dxx0000000001!hostile-test-token";

/// A listener that counts connections and keeps the first request head it saw.
struct Recorder {
    port: u16,
    connections: Arc<AtomicUsize>,
    first: Arc<tokio::sync::Mutex<String>>,
}

async fn recorder() -> Recorder {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(tokio::sync::Mutex::new(String::new()));
    let (c, f) = (connections.clone(), first.clone());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 8192];
            let n = tcp.read(&mut buf).await.unwrap_or(0);
            let mut first = f.lock().await;
            if first.is_empty() {
                *first = String::from_utf8_lossy(&buf[..n]).into_owned();
            }
            // dropped: the client sees the connection close
        }
    });
    Recorder {
        port,
        connections,
        first,
    }
}

/// A login server that answers every OAuth grant and SOAP login with `instance`.
async fn login_server(instance: String) -> String {
    let soap_instance = instance.clone();
    let app = Router::new()
        .route(
            "/services/oauth2/token",
            post(move || {
                let instance = instance.clone();
                async move {
                    axum::Json(serde_json::json!({
                        "access_token": TOKEN,
                        "instance_url": instance,
                        "id": "https://login.salesforce.com/id/00Dxx0000000001AAA/005xx000000001AAA",
                        "token_type": "Bearer",
                    }))
                }
            }),
        )
        .route(
            "/services/Soap/u/{version}",
            post(move || {
                let server_url = format!("{soap_instance}/services/Soap/u/62.0/00Dxx0000000001");
                async move {
                    (
                        [("content-type", "text/xml; charset=utf-8")],
                        format!(
                            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><loginResponse xmlns="urn:partner.soap.sforce.com"><result><serverUrl>{server_url}</serverUrl><sessionId>{TOKEN}</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"#
                        ),
                    )
                }
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn flows() -> Vec<AuthFlow> {
    vec![
        AuthFlow::Password {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::from(CLIENT_SECRET),
            username: USER.into(),
            password: Secret::from(PASSWORD),
        },
        AuthFlow::ClientCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::from(CLIENT_SECRET),
        },
        AuthFlow::RefreshToken {
            client_id: CLIENT_ID.into(),
            client_secret: None,
            refresh_token: Secret::from("5Aep-refresh"),
        },
        AuthFlow::JwtBearer {
            client_id: CLIENT_ID.into(),
            username: USER.into(),
            key: JwtKey::File(fixture("jwt-key.pem")),
            audience: None,
        },
        AuthFlow::SoapLogin {
            username: USER.into(),
            password: Secret::from(PASSWORD),
        },
    ]
}

fn config(login: &str, flow: AuthFlow) -> OrgConfig {
    let mut c = OrgConfig::new("hostile", login, flow);
    c.use_system_roots = false;
    c.retry.max_retries = 0;
    c
}

/// Connects and, if that succeeds (it must not), spends the token on a query.
async fn login_and_use(cfg: OrgConfig) -> Result<(), SfError> {
    let client = Client::connect(cfg).await?;
    client
        .query("SELECT Id FROM Account")
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_hostile_instance_url_is_an_auth_error_and_gets_no_request() {
    let rec = recorder().await;
    let p = rec.port;
    let hostile = [
        // the finding: plain http to a non-loopback address (0.0.0.0 reaches this machine)
        format!("http://0.0.0.0:{p}"),
        format!("https://0.0.0.0:{p}"),
        format!("http://user:pw@127.0.0.1:{p}"),
        format!("http://127.0.0.1:{p}/?next=1"),
        "http://10.255.255.1:9".to_string(),
        "https://169.254.169.254".to_string(),
        "https://evilsalesforce.com".to_string(),
    ];
    for instance in hostile {
        let login = login_server(instance.clone()).await;
        for flow in flows() {
            let name = flow.name();
            let err = login_and_use(config(&login, flow)).await.unwrap_err();
            assert!(
                matches!(&err, SfError::Auth { error, .. } if error == "untrusted_instance_url"),
                "{name} → {instance}: {err}"
            );
            assert!(err.to_string().contains("instance URL"), "{err}");
            assert!(
                !err.to_string().contains(TOKEN),
                "the token is never printed: {err}"
            );
        }
    }
    assert_eq!(
        rec.connections.load(Ordering::SeqCst),
        0,
        "a request reached the hostile host: {:?}",
        rec.first.lock().await
    );
}

#[tokio::test]
async fn the_recorder_would_have_seen_the_token() {
    // Control: with the login on loopback, a loopback instance is the emulator case and is
    // used — so the recorder above really would have caught a request carrying the token.
    let rec = recorder().await;
    let login = login_server(format!("http://127.0.0.1:{}", rec.port)).await;
    let flow = flows().remove(0);
    let err = login_and_use(config(&login, flow)).await.unwrap_err();
    assert!(!matches!(err, SfError::Auth { .. }), "{err}");
    assert_eq!(rec.connections.load(Ordering::SeqCst), 1);
    let head = rec.first.lock().await.clone();
    assert!(
        head.contains(&format!("Bearer {TOKEN}")),
        "the request carried the token: {head}"
    );
}

#[tokio::test]
async fn instance_hosts_admit_a_listed_host_only() {
    let rec = recorder().await;
    // Listed: the token goes there (the recorder sees it).
    let login = login_server(format!("https://0.0.0.0:{}", rec.port)).await;
    let mut cfg = config(&login, flows().remove(1));
    cfg.instance_hosts = vec!["0.0.0.0".into()];
    let err = login_and_use(cfg).await.unwrap_err();
    assert!(!matches!(err, SfError::Auth { .. }), "{err}");
    assert_eq!(rec.connections.load(Ordering::SeqCst), 1);
    // Listed, but plain http on a non-loopback host stays refused.
    let login = login_server(format!("http://0.0.0.0:{}", rec.port)).await;
    let mut cfg = config(&login, flows().remove(1));
    cfg.instance_hosts = vec!["0.0.0.0".into()];
    let err = login_and_use(cfg).await.unwrap_err();
    assert!(
        matches!(&err, SfError::Auth { error, .. } if error == "untrusted_instance_url"),
        "{err}"
    );
    assert_eq!(rec.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_emulator_case_still_holds_over_http_and_https() {
    for tls in [false, true] {
        let emu = start(crate::support::config(tls)).await;
        let client = emu.client().await;
        assert_eq!(client.instance_url().await.unwrap(), emu.base);
        client.describe("Account").await.unwrap();
    }
}
