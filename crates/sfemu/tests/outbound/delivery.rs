//! A small axum endpoint that records every message and answers from a script.

use crate::common::{self, TestOrg};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use quick_xml::events::Event;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc};

const ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// One received message.
#[derive(Debug, Clone)]
struct Msg {
    content_type: String,
    soap_action: String,
    body: String,
}

struct Endpoint {
    /// Answer 500 to this many messages first.
    nacks: Mutex<u32>,
    /// When set, the first message waits for this before answering.
    hold_first: Option<Arc<Notify>>,
    held: std::sync::atomic::AtomicBool,
    seen: mpsc::UnboundedSender<Msg>,
}

async fn receive(
    State(e): State<Arc<Endpoint>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let h = |k: &str| {
        headers
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let _ = e
        .seen
        .send(Msg {
            content_type: h("content-type"),
            soap_action: h("soapaction"),
            body: String::from_utf8(body.to_vec()).unwrap(),
        })
        .is_ok();
    let first = !e.held.swap(true, std::sync::atomic::Ordering::SeqCst);
    if let (true, Some(n)) = (first, &e.hold_first) {
        n.notified().await;
    }
    let mut nacks = e.nacks.lock().await;
    if *nacks > 0 {
        *nacks -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "try later".into());
    }
    (StatusCode::OK, ACK.into())
}

/// Starts the endpoint; returns its URL and the received messages.
async fn endpoint(
    nacks: u32,
    hold_first: Option<Arc<Notify>>,
) -> (String, mpsc::UnboundedReceiver<Msg>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Endpoint {
        nacks: Mutex::new(nacks),
        hold_first,
        held: Default::default(),
        seen: tx,
    });
    let app = axum::Router::new()
        .route("/notify", axum::routing::post(receive))
        .with_state(state);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Msg>) -> Msg {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no message within 10 s")
        .unwrap()
}

async fn fast_retries(t: &TestOrg) {
    let r = t
        .http
        .put(t.url("/__sfemu/outbound/retry"))
        .json(&json!({"baseDelayMs": 20, "maxDelayMs": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn add_rule(t: &TestOrg, rule: Value) -> String {
    let r = t
        .http
        .post(t.url("/__sfemu/outbound/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    common::json(r).await["actionId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn status(t: &TestOrg) -> Value {
    common::json(t.http.get(t.url("/__sfemu/outbound")).send().await.unwrap()).await
}

/// `(Notification/Id, sObject fields)` of every notification, plus the header elements.
fn parse(body: &str) -> (Value, Vec<(String, Value)>) {
    let mut r = quick_xml::Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut head = serde_json::Map::new();
    let mut notes: Vec<(String, Value)> = Vec::new();
    let mut cur = String::new();
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if name == "sObject" {
                    let ty = e.try_get_attribute("xsi:type").unwrap().unwrap();
                    notes.last_mut().unwrap().1["type"] =
                        json!(String::from_utf8(ty.value.to_vec()).unwrap());
                }
                if name == "Notification" {
                    notes.push((String::new(), json!({})));
                }
                cur.clear();
                path.push(name);
            }
            Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let nil = e
                    .try_get_attribute("xsi:nil")
                    .unwrap()
                    .map(|a| a.value.to_vec());
                head.insert(name, json!({"nil": nil == Some(b"true".to_vec())}));
            }
            Event::Text(t) => cur.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => cur.push_str(match r.decode().unwrap().as_ref() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                other => panic!("entity {other}"),
            }),
            Event::End(_) => {
                let text = std::mem::take(&mut cur);
                let leaf = path.last().unwrap().clone();
                match path.iter().rev().nth(1).map(String::as_str) {
                    Some("notifications") if !text.is_empty() => {
                        head.insert(leaf, json!(text));
                    }
                    Some("Notification") if leaf == "Id" => notes.last_mut().unwrap().0 = text,
                    Some("sObject") => {
                        notes.last_mut().unwrap().1[leaf.trim_start_matches("sf:")] = json!(text);
                    }
                    _ => {}
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (Value::Object(head), notes)
}

async fn create_accounts(t: &TestOrg, names: &[String], industry: &str) -> Vec<String> {
    let records: Vec<Value> = names
        .iter()
        .map(|n| json!({"attributes": {"type": "Account"}, "Name": n, "Industry": industry}))
        .collect();
    let r = t
        .http
        .post(t.data("/composite/sobjects"))
        .bearer_auth(&t.token)
        .json(&json!({"allOrNone": true, "records": records}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn nacked_twice_then_acked_arrives_three_times_and_stops() {
    let t = common::start().await;
    fast_retries(&t).await;
    let (url, mut rx) = endpoint(2, None).await;
    let action = add_rule(
        &t,
        json!({"object": "Account", "fields": ["Name", "Industry"], "endpoint": url}),
    )
    .await;
    assert!(action.starts_with("04k"));
    let ids = create_accounts(&t, &["Acme & Sons".to_string()], "Energy").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut rx).await);
    }
    // Acked: the queue is empty, so nothing more is sent.
    let mut st = status(&t).await;
    while st["rules"][0]["delivered"] != 1 {
        tokio::task::yield_now().await;
        st = status(&t).await;
    }
    assert_eq!(st["pending"].as_array().unwrap().len(), 0);
    assert_eq!(st["rules"][0]["messages"], 3);
    assert!(
        st["rules"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    assert!(rx.try_recv().is_err());

    let m = &got[2];
    assert_eq!(m.content_type, "text/xml; charset=utf-8");
    assert_eq!(m.soap_action, "\"\"");
    let (head, notes) = parse(&m.body);
    assert_eq!(head["OrganizationId"], json!(t.org().org_id));
    assert_eq!(head["ActionId"], json!(action));
    assert_eq!(head["SessionId"]["nil"], true);
    assert!(
        head["EnterpriseUrl"]
            .as_str()
            .unwrap()
            .contains("/services/Soap/c/66.0/00D")
    );
    assert!(
        head["PartnerUrl"]
            .as_str()
            .unwrap()
            .contains("/services/Soap/u/66.0/00D")
    );
    assert_eq!(notes.len(), 1);
    assert!(notes[0].0.starts_with("04l"));
    assert_eq!(notes[0].1["type"], "sf:Account");
    assert_eq!(notes[0].1["Id"], json!(ids[0]));
    assert_eq!(notes[0].1["Name"], "Acme & Sons");
    assert_eq!(notes[0].1["Industry"], "Energy");
    // The same notification each time (dedupe by Notification/Id).
    assert_eq!(parse(&got[0].body).1[0].0, notes[0].0);
    t.shutdown().await;
}

#[tokio::test]
async fn batches_hold_at_most_100_notifications() {
    let t = common::start().await;
    let (url, mut rx) = endpoint(0, None).await;
    add_rule(
        &t,
        json!({"object": "Account", "fields": ["Name"], "endpoint": url}),
    )
    .await;
    let names: Vec<String> = (0..150).map(|i| format!("Batch {i}")).collect();
    let ids = create_accounts(&t, &names, "Energy").await;
    let a = parse(&next(&mut rx).await.body).1;
    let b = parse(&next(&mut rx).await.body).1;
    assert_eq!((a.len(), b.len()), (100, 50));
    let mut seen: Vec<String> = a
        .iter()
        .chain(&b)
        .map(|n| n.1["Id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    t.shutdown().await;
}

#[tokio::test]
async fn criteria_filter_and_current_values_are_sent() {
    let t = common::start().await;
    fast_retries(&t).await;
    let hold = Arc::new(Notify::new());
    let (url, mut rx) = endpoint(1, Some(hold.clone())).await;
    add_rule(
        &t,
        // selecting Id as well is allowed (it is always sent as sf:Id)
        json!({"object": "Account", "fields": ["Id", "Name"], "criteria": "Industry = 'Energy'", "endpoint": url, "sendSessionId": true}),
    )
    .await;
    create_accounts(&t, &["Skipped".to_string()], "Retail").await;
    let id = create_accounts(&t, &["v1".to_string()], "Energy")
        .await
        .remove(0);
    let first = next(&mut rx).await;
    let (head, notes) = parse(&first.body);
    assert_eq!(notes.len(), 1, "the Retail account does not match");
    assert_eq!(notes[0].1["Name"], "v1");
    let session = head["SessionId"].as_str().unwrap().to_string();
    // The session id works as a bearer token.
    let r = t
        .http
        .get(t.data("/limits"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Edit while the first attempt is in flight: the retry carries the current name.
    let r = t
        .http
        .patch(t.data(&format!("/sobjects/Account/{id}")))
        .bearer_auth(&t.token)
        .json(&json!({"Name": "v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    hold.notify_one();
    let mut names = Vec::new();
    while names.len() < 2 {
        let (_, notes) = parse(&next(&mut rx).await.body);
        names.extend(
            notes
                .into_iter()
                .map(|n| n.1["Name"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(names, vec!["v2", "v2"]);
    t.shutdown().await;
}

#[tokio::test]
async fn never_acknowledged_notifications_are_dropped_after_max_age() {
    let t = common::start().await;
    let r = t
        .http
        .put(t.url("/__sfemu/outbound/retry"))
        .json(&json!({"baseDelayMs": 10, "maxDelayMs": 40, "maxAgeMs": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (url, mut rx) = endpoint(u32::MAX, None).await;
    add_rule(
        &t,
        json!({"object": "Account", "fields": ["Name"], "endpoint": url}),
    )
    .await;
    create_accounts(&t, &["Never acked".to_string()], "Energy").await;
    // Retried several times, with growing gaps, then given up.
    let mut st = status(&t).await;
    let mut attempts = 0;
    while st["rules"][0]["dropped"] != 1 {
        while rx.try_recv().is_ok() {
            attempts += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        st = status(&t).await;
    }
    while rx.try_recv().is_ok() {
        attempts += 1;
    }
    assert!(attempts >= 2, "retried {attempts} times");
    assert_eq!(st["rules"][0]["delivered"], 0);
    assert_eq!(st["pending"].as_array().unwrap().len(), 0);
    t.shutdown().await;
}
