//! `orgsync run` with `[monitor]` serves the Sync Monitor on `engine.listen` (polling only: no
//! push endpoint needed it before), behind its login, with `/metrics` and `/healthz` open,
//! and never writes the admin password to its log.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{bin, emulator, org_table};

const PASSWORD: &str = "monitor-e2e-password-0123";

async fn get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_the_dashboard_behind_its_login() {
    let emu = emulator(&["a", "b"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = org_table("a", &emu.org("a").unwrap().base_url);
    cfg += &org_table("b", &emu.org("b").unwrap().base_url);
    cfg += "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\"]\n\n";
    cfg += &format!(
        "[engine]\nlisten = \"127.0.0.1:{port}\"\n\n[monitor]\nadmin_password = \"${{ORGSYNC_ADMIN_PASSWORD}}\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), cfg).unwrap();
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args(["run", "--config", "orgsync.toml"])
        .env("RUST_LOG", "debug")
        .env("ORGSYNC_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        if get(&addr, "/healthz")
            .await
            .is_some_and(|a| a.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{}", log_text());
        assert!(child.try_wait().unwrap().is_none(), "{}", log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let overview = get(&addr, "/").await.unwrap();
    assert!(overview.starts_with("HTTP/1.1 303"), "{overview}");
    assert!(overview.to_ascii_lowercase().contains("location: /login"));
    let login = get(&addr, "/login").await.unwrap();
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("name=\"password\""));
    let metrics = get(&addr, "/metrics").await.unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("orgsync_backlog_items"), "{metrics}");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", log_text());
    assert!(
        !log_text().contains(PASSWORD),
        "the password is never logged"
    );
}
