//! The project's own attack suite: the endpoints against a hostile peer. One table-driven
//! test per case; every refusal is checked for its status, its reason, and that nothing was
//! written (the emulator's write counters on both orgs and every ledger table that a push or a
//! re-read could touch).

mod bodies;
mod partial;
mod peers;
mod rate;
mod replay;
mod secrets;
mod stall;

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::{Column, Row, ValueRef};

use crate::support::*;

/// One answer: status, headers, and the body as JSON (`Value::String` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `error` text of a JSON refusal ("" when there is none).
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

/// `POST /api/v1/sync` with `token` (if any), extra headers and `body`.
pub async fn push(
    env: &Env,
    token: Option<&str>,
    headers: &[(&str, String)],
    body: impl Into<reqwest::Body>,
) -> Answer {
    let mut req = env
        .http
        .post(env.url("/api/v1/sync"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    answer(req.send().await.unwrap()).await
}

/// `POST /outbound/{org}` with a SOAP body.
pub async fn outbound(env: &Env, org: &str, body: String) -> Answer {
    let r = env
        .http
        .post(env.url(&format!("/outbound/{org}")))
        .header("content-type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// Everything a refused request must leave as it was.
#[derive(Debug, PartialEq)]
pub struct Written {
    writes: (u64, u64),
    tables: BTreeMap<&'static str, Vec<String>>,
}

/// Ledger tables a push or a re-read writes (orgs, syncs and checkpoints move with every poll).
const TABLES: [&str; 6] = [
    "sync_items",
    "records",
    "agreed",
    "transactions",
    "conflicts",
    "audit",
];

/// The emulator's write counters and every row of the ledger tables, once the engine is idle.
pub async fn written(env: &Env) -> Written {
    assert!(env.engine.wait_idle(IDLE).await);
    let db = env.dir.path().join("ledger.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let mut tables = BTreeMap::new();
    for t in TABLES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {t}")))
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows.iter().map(row_text).collect();
        lines.sort();
        tables.insert(t, lines);
    }
    pool.close().await;
    Written {
        writes: env.writes().await,
        tables,
    }
}

fn row_text(row: &sqlx::sqlite::SqliteRow) -> String {
    let mut out = Vec::new();
    for (i, c) in row.columns().iter().enumerate() {
        let null = row.try_get_raw(i).map(|v| v.is_null()).unwrap_or(true);
        let v = if null {
            "NULL".to_string()
        } else if let Ok(n) = row.try_get::<i64, _>(i) {
            n.to_string()
        } else if let Ok(s) = row.try_get::<String, _>(i) {
            s
        } else if let Ok(b) = row.try_get::<Vec<u8>, _>(i) {
            format!("{b:?}")
        } else {
            "?".to_string()
        };
        out.push(format!("{}={v}", c.name()));
    }
    out.join(" ")
}

/// Assert that `case` was refused with `status` and a reason containing `reason`, and that
/// nothing was written since `before`.
pub async fn refused(
    env: &Env,
    before: &Written,
    case: &str,
    a: &Answer,
    status: u16,
    reason: &str,
) {
    assert_eq!(a.status, status, "{case}: {a:?}");
    let text = match &a.body {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    assert!(
        text.contains(reason),
        "{case}: the answer should say `{reason}`: {text}"
    );
    let now = written(env).await;
    assert_eq!(&now, before, "{case}: something was written");
}
