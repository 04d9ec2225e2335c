//! Holds already: no secret reaches the logs (every level), the ledger's files or an answer,
//! whatever a peer sends.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use orgsync_core::push::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

use super::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_state_or_answers() {
    let logs = Captured::default();
    let sink = logs.clone();
    // this test's process only (nextest runs each test in its own)
    // everything but the emulator (it stands in for Salesforce, whose logs are not ours)
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,sfemu=off,sfemu_org=off",
        ))
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .try_init();
    let mut env = start(Opts {
        org_a: format!("push_token = \"{TOKEN_A}\"\npush_secret = \"{SECRET_A}\"\n"),
        ..Opts::default()
    })
    .await;
    let a_id = env.org_id("a");
    let body = push_body(
        "t-secret",
        &a_id,
        &Utc::now().to_rfc3339(),
        &[(&fake_id(80), "s")],
    )
    .to_string();
    let t = Utc::now().timestamp().to_string();
    let good = sign(SECRET_A.as_bytes(), &t, body.as_bytes());
    let near_miss = format!("{}x", &TOKEN_A[..TOKEN_A.len() - 1]);
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("signed, applied", TOKEN_A, good.clone(), 200),
        (
            "a's token with a wrong signature",
            TOKEN_A,
            sign(b"guess-0123456789abcdef", &t, body.as_bytes()),
            401,
        ),
        ("b's token for a's org", TOKEN_B, good.clone(), 403),
        ("a token one character off", &near_miss, good, 401),
    ];
    let mut answers = String::new();
    for (case, token, sig, status) in cases {
        let a = push(
            &env,
            Some(token),
            &[(TIMESTAMP_HEADER, t.clone()), (SIGNATURE_HEADER, sig)],
            body.clone(),
        )
        .await;
        assert_eq!(a.status, status, "{case}: {a:?}");
        answers.push_str(&format!("{:?}{}", a.headers, a.body));
    }
    assert!(env.engine.wait_idle(IDLE).await);
    // keep the ledger's directory past the stop (the ledger is flushed by then)
    let dir = std::mem::replace(&mut env.dir, tempfile::tempdir().unwrap());
    env.shutdown().await;
    let mut state = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        state.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    let state = String::from_utf8_lossy(&state).into_owned();
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("orgsync"),
        "the logs were not captured: {logs}"
    );
    for secret in [
        TOKEN_A,
        TOKEN_B,
        SECRET_A,
        near_miss.as_str(),
        "sfemu-secret",
    ] {
        for (place, text) in [
            ("logs", &logs),
            ("ledger files", &state),
            ("answers", &answers),
        ] {
            assert!(!text.contains(secret), "{secret} found in the {place}");
        }
    }
}
