//! Case 5: clients that stall on purpose, over raw TCP. Each is cut within the configured
//! deadline (small here), connections beyond the cap are refused at once, and a stop never
//! waits for a stalled client. Before: headers at 1 byte/s, a slow push body with a valid
//! token and a slow outbound body were all still open after 45 s, and a stop waited up to 30 s.
//! The bounds asserted are the deadlines plus generous slack, never tight timings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Deadlines of 1 s; slack for a busy machine on top.
const DEADLINES: &str = "header_timeout = \"1s\"\nbody_timeout = \"1s\"\n";
const BOUND: Duration = Duration::from_secs(10);

/// What a stalled client sends: `head` at once, then one `drip` byte every 200 ms.
struct Stall {
    name: &'static str,
    head: String,
    drip: Option<u8>,
}

fn stalls(token: &str) -> Vec<Stall> {
    vec![
        Stall {
            name: "silent after connecting",
            head: String::new(),
            drip: None,
        },
        Stall {
            name: "headers at 5 bytes/s",
            head: "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nx-slow: ".into(),
            drip: Some(b'x'),
        },
        Stall {
            name: "idle after a kept-alive request",
            head: "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".into(),
            drip: None,
        },
        Stall {
            name: "a push body at 5 bytes/s with a valid token",
            head: format!("POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"),
            drip: Some(b' '),
        },
        Stall {
            name: "an outbound body at 5 bytes/s (no credentials needed)",
            head: "POST /outbound/a HTTP/1.1\r\nhost: x\r\ncontent-type: text/xml\r\ncontent-length: 1000\r\n\r\n<".into(),
            drip: Some(b' '),
        },
    ]
}

/// Open a connection and stall as `s` says, in the background.
async fn open(env: &Env, s: &Stall) -> TcpStream {
    let mut sock = TcpStream::connect(env.addr).await.unwrap();
    sock.write_all(s.head.as_bytes()).await.unwrap();
    sock
}

/// Keep dripping into `sock` (split off) while reading everything the server says, until it
/// closes or `bound` passes: (what it said, whether it closed, how long it took).
async fn until_closed(
    sock: TcpStream,
    drip: Option<u8>,
    bound: Duration,
) -> (String, bool, Duration) {
    let start = Instant::now();
    let (mut rd, mut wr) = sock.into_split();
    let answered = Arc::new(AtomicBool::new(false));
    let quiet = answered.clone();
    let writer = tokio::spawn(async move {
        // holds the write half open until aborted: dropping it would half-close the socket
        let Some(b) = drip else {
            return std::future::pending::<()>().await;
        };
        while !quiet.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
        }
    });
    let mut got = Vec::new();
    let closed = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    answered.store(true, Ordering::SeqCst);
                    got.extend_from_slice(&buf[..n]);
                }
            }
        }
    })
    .await
    .is_ok();
    writer.abort();
    (
        String::from_utf8_lossy(&got).into_owned(),
        closed,
        start.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_cut_within_the_deadlines() {
    let env = start(Opts {
        api: DEADLINES.into(),
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    let before = written(&env).await;
    let expect = [
        None,
        None,
        Some("HTTP/1.1 200"),
        Some("HTTP/1.1 408"),
        Some("HTTP/1.1 408"),
    ];
    let mut runs = Vec::new();
    for s in stalls(TOKEN_A) {
        let sock = open(&env, &s).await;
        runs.push((s.name, tokio::spawn(until_closed(sock, s.drip, BOUND))));
    }
    for ((name, run), status) in runs.into_iter().zip(expect) {
        let (said, closed, took) = run.await.unwrap();
        assert!(closed, "{name}: still open after {took:?}: {said}");
        if let Some(status) = status {
            assert!(said.contains(status), "{name}: {said}");
        }
        if status == Some("HTTP/1.1 408") {
            assert!(said.contains("[api] body_timeout"), "{name}: {said}");
            assert!(
                said.to_ascii_lowercase().contains("connection: close"),
                "{name}: {said}"
            );
        }
    }
    assert_eq!(
        written(&env).await,
        before,
        "a stalled client wrote something"
    );
    env.shutdown().await;
}

/// Beyond `max_connections`, a new connection is answered 503 at once and closed; once the
/// stalled ones are cut, connections are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_at_once() {
    let env = start(Opts {
        api: "max_connections = 4\nheader_timeout = \"2s\"\n".into(),
        ..Opts::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(env.addr).await.unwrap());
    }
    // the accept loop may not have seen all four yet: the fifth is refused once it has
    let mut refused = String::new();
    for _ in 0..50 {
        let sock = TcpStream::connect(env.addr).await.unwrap();
        let (said, closed, _) = until_closed(sock, None, Duration::from_millis(500)).await;
        if closed && said.starts_with("HTTP/1.1 503") {
            refused = said;
            break;
        }
    }
    assert!(refused.contains("max_connections"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    // the held ones are cut by header_timeout, freeing their slots
    for sock in held {
        let (_, closed, took) = until_closed(sock, None, BOUND).await;
        assert!(closed, "still open after {took:?}");
    }
    let v = env.http.get(env.url("/healthz")).send().await.unwrap();
    assert_eq!(v.status(), 200);
    env.shutdown().await;
}

/// A stop with stalled clients of every kind open (deadlines far away) returns at once: it
/// does not wait for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_stalled_clients() {
    let env = start(Opts {
        api: "header_timeout = \"5m\"\nbody_timeout = \"10m\"\n".into(),
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    let mut socks = Vec::new();
    for _ in 0..6 {
        for s in stalls(TOKEN_A) {
            let sock = open(&env, &s).await;
            socks.push((s.name, tokio::spawn(until_closed(sock, s.drip, BOUND * 3))));
        }
    }
    // let every request reach its handler
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    env.shutdown().await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    for (name, run) in socks {
        let (said, closed, _) = run.await.unwrap();
        assert!(closed, "{name}: still open after the stop: {said}");
    }
}

/// A stop still lets a request that is being applied finish and answer: an Outbound
/// Messaging notification whose re-read is slow gets its Ack, and its record is in the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_lets_a_request_being_applied_answer() {
    let mut env = start(Opts {
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    let mut rec = serde_json::Map::new();
    rec.insert("Name".into(), serde_json::json!("acked while stopping"));
    let id = env
        .user("a")
        .await
        .create("Work_Item__c", &rec)
        .await
        .unwrap();
    let faults = env
        .http
        .put(format!("{}/__sfemu/faults", env.base("a")))
        .json(&serde_json::json!({"latencyMs": 3000}))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), 204);
    let body = super::bodies::envelope(&env.org_id("a"), &id).replace("NAME", "x");
    let (http, url) = (env.http.clone(), env.url("/outbound/a"));
    let sent = tokio::spawn(async move {
        let r = http
            .post(url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    // the notification reaches its handler (the re-read then waits 3 s on the emulator)
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    // keep the ledger's directory past the stop
    let dir = std::mem::replace(&mut env.dir, tempfile::tempdir().unwrap());
    let ledger = dir.path().join("ledger.db");
    env.shutdown().await;
    assert!(
        start.elapsed() < crate::support::GRACE_BOUND,
        "{:?}",
        start.elapsed()
    );
    let (status, text) = sent.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<Ack>true</Ack>"), "{text}");
    let store = orgsync_store::SqlStore::open(&format!("sqlite:{}", ledger.display()))
        .await
        .unwrap();
    let items =
        orgsync_store::Store::items(&store, &Default::default(), orgsync_store::Page::first(10))
            .await
            .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
}
