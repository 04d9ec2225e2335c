//! `orgsync demo --seconds 20`: three emulated orgs, edits for 20 s, then convergence; the
//! Sync Monitor served meanwhile on the printed URL, behind the printed login.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::support::bin;

/// A plain HTTP/1.1 GET on loopback: (status, headers and body).
fn http_get(url: &str, path: &str) -> (u16, String) {
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

#[test]
fn demo_converges_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["demo", "--seconds", "20", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    let mut dashboard = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        out += &line;
        out.push('\n');
        if line.contains("dashboard") {
            dashboard = Some(line);
            break;
        }
    }
    let line = dashboard.unwrap_or_else(|| panic!("no dashboard line: {out}"));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no loopback URL: {line}"));
    let password = line
        .split("password ")
        .nth(1)
        .map(|p| p.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("no login: {line}"));
    assert!(password.len() >= 12, "{line}");
    // the dashboard answers while the demo runs: login first, metrics and health open
    assert_eq!(http_get(url, "/healthz").0, 200);
    let (status, answer) = http_get(url, "/");
    assert_eq!(status, 303, "{answer}");
    assert!(answer.to_ascii_lowercase().contains("location: /login"));
    let (status, answer) = http_get(url, "/login");
    assert_eq!(status, 200);
    assert!(answer.contains("name=\"password\""));
    let (status, answer) = http_get(url, "/metrics");
    assert_eq!(status, 200);
    assert!(answer.contains("orgsync_backlog_items"), "{answer}");
    for line in lines {
        out += &line.unwrap();
        out.push('\n');
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("final: converged ✓"), "{out}");
    assert!(
        out.contains("http://127.0.0.1:"),
        "org URLs are printed: {out}"
    );
    assert!(dir.path().join("orgsync.toml").exists());
    assert!(dir.path().join("orgsync.db").exists());
    let config = std::fs::read_to_string(dir.path().join("orgsync.toml")).unwrap();
    assert!(
        !config.contains(&password),
        "the password is not written down"
    );
    // the generated config is valid on its own
    let v = bin()
        .args(["config", "validate", "--config"])
        .arg(dir.path().join("orgsync.toml"))
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{:?}", crate::support::text(&v));
}
