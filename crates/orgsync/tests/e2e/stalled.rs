//! `orgsync run` serving the push endpoints stops promptly on SIGTERM even with 150 stalled
//! connections open (half-sent request heads, push and outbound bodies trickling in), their
//! own deadlines set far away so that only the stop can end them. Before: the stop waited up
//! to 30 s for such connections.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{bin, emulator, org_table};

const TOKEN: &str = "token-a-0123456789abcdef";
const STALLED: usize = 150;

/// A head that never completes, or a complete head whose body never does.
fn stall(i: usize) -> String {
    match i % 3 {
        0 => "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nx-slow: ".into(),
        1 => format!(
            "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{{"
        ),
        _ => "POST /outbound/a HTTP/1.1\r\nhost: x\r\ncontent-type: text/xml\r\ncontent-length: 100000\r\n\r\n<".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_5_s_with_150_stalled_connections() {
    let emu = emulator(&["a", "b"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = org_table("a", &emu.org("a").unwrap().base_url);
    cfg = cfg.replace("\n\n", &format!("\npush_token = \"{TOKEN}\"\n\n"));
    cfg += &org_table("b", &emu.org("b").unwrap().base_url);
    cfg += "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n\n";
    cfg += &format!(
        "[engine]\nlisten = \"127.0.0.1:{port}\"\n\n[api]\nheader_timeout = \"5m\"\nbody_timeout = \"10m\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), cfg).unwrap();
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args(["run", "--config", "orgsync.toml"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    let addr = format!("127.0.0.1:{port}");
    let healthy = || healthz(&addr);
    let start = Instant::now();
    while !healthy().await {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never served: {}",
            log_text()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited: {}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut socks = Vec::new();
    for i in 0..STALLED {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(stall(i).as_bytes()).await.unwrap();
        socks.push(s);
    }
    // served after all of them were accepted: the stalled ones are open on the server
    assert!(healthy().await, "{}", log_text());
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            child.kill().unwrap();
            panic!(
                "still running 5 s after SIGTERM with {STALLED} stalled connections: {}",
                log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}: {}", log_text());
    assert!(log_text().contains("stopped cleanly"), "{}", log_text());
    drop(socks);
    emu.shutdown().await;
}

/// `GET /healthz` answered 200 (raw HTTP/1.1, one connection).
async fn healthz(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    matches!(read, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 200")
}
