//! Files follow their records (`files = true`): hub and two spokes on emulated orgs, files
//! attached by users, rounds driven by `sync_files_now`.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use sfclient::{ByteStream, Client, NewVersion};

use crate::support::*;

pub(crate) const ORGS: &[&str] = &["hub", "s1", "s2"];

pub(crate) fn settings(env: &Env) -> orgsync_core::Settings {
    env.settings(
        ORGS,
        r#"[topology]
kind = "hub_and_spoke"
hub = "hub"
spokes = ["s1", "s2"]

[[sync]]
object = "Work_Item__c"
fields = ["Name", "Status__c"]
interval = "30m"
files = true
"#,
    )
}

fn body(data: &'static [u8]) -> ByteStream {
    Box::pin(futures::stream::once(async move {
        Ok::<_, sfclient::SfError>(Bytes::from_static(data))
    }))
}

/// A user attaches a file (or a new version when `doc` is given) to `record`.
pub(crate) async fn attach(
    c: &Client,
    record: Option<&str>,
    doc: Option<&str>,
    name: &str,
    data: &'static [u8],
) -> String {
    let mut fields = rec(json!({"Title": name, "PathOnClient": format!("{name}.txt")}));
    if let Some(r) = record {
        fields.insert("FirstPublishLocationId".into(), json!(r));
    }
    if let Some(d) = doc {
        fields.insert("ContentDocumentId".into(), json!(d));
    }
    let v = NewVersion {
        fields,
        file_name: format!("{name}.txt"),
        size: Some(data.len() as u64),
    };
    c.insert_content_version(&v, body(data)).await.unwrap()
}

pub(crate) async fn rows(c: &Client, soql: &str) -> Vec<Value> {
    c.query(soql)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(Value::Object)
        .collect()
}

/// The local id of the record named `name` on an org.
pub(crate) async fn record_id(c: &Client, name: &str) -> String {
    let r = rows(
        c,
        &format!("SELECT Id FROM Work_Item__c WHERE Name = '{name}'"),
    )
    .await;
    r[0]["Id"].as_str().unwrap().to_string()
}

/// The files linked to a record: (Title, PathOnClient, Checksum, VersionNumber, ShareType,
/// Visibility, document id), sorted.
pub(crate) async fn files_of(
    c: &Client,
    record: &str,
) -> Vec<(String, String, String, String, String, String, String)> {
    let links = rows(c, &format!("SELECT ContentDocumentId, ShareType, Visibility FROM ContentDocumentLink WHERE LinkedEntityId = '{record}'")).await;
    let mut out = Vec::new();
    for l in links {
        let doc = l["ContentDocumentId"].as_str().unwrap();
        let v = rows(c, &format!("SELECT Title, PathOnClient, Checksum, VersionNumber FROM ContentVersion WHERE ContentDocumentId = '{doc}' AND IsLatest = true")).await;
        let s = |x: &Value, f: &str| x[f].as_str().unwrap_or("").to_string();
        out.push((
            s(&v[0], "Title"),
            s(&v[0], "PathOnClient"),
            s(&v[0], "Checksum"),
            s(&v[0], "VersionNumber"),
            s(&l, "ShareType"),
            s(&l, "Visibility"),
            doc.to_string(),
        ));
    }
    out.sort();
    out
}

pub(crate) fn without_doc(
    v: Vec<(String, String, String, String, String, String, String)>,
) -> Vec<(String, String, String, String, String, String)> {
    v.into_iter()
        .map(|(a, b, c, d, e, f, _)| (a, b, c, d, e, f))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_follow_their_records_across_hub_and_spokes() {
    let env = start(ORGS, |_| vec![]).await;
    let (hub, s1, s2) = (
        env.user("hub").await,
        env.user("s1").await,
        env.user("s2").await,
    );
    create(
        &hub,
        "Work_Item__c",
        json!({"Name": "W1", "Status__c": "New"}),
    )
    .await;
    let engine = env.engine(settings(&env)).await;
    assert!(engine.wait_idle(IDLE).await);
    let (h1, r1, r2) = (
        record_id(&hub, "W1").await,
        record_id(&s1, "W1").await,
        record_id(&s2, "W1").await,
    );

    // A file attached on the hub reaches both spokes, linked to their copies.
    attach(&hub, Some(&h1), None, "spec", b"the spec, v1").await;
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.uploaded, rep.errors.len()), (2, 0), "{rep:?}");
    let want = without_doc(files_of(&hub, &h1).await);
    assert_eq!(want.len(), 1);
    assert_eq!(want[0].4, "I");
    assert_eq!(without_doc(files_of(&s1, &r1).await), want);
    assert_eq!(without_doc(files_of(&s2, &r2).await), want);

    // A re-run sends nothing, and our own copies read back are no news.
    let before: Vec<u64> = futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!(
        (rep.uploaded, rep.linked, rep.deleted),
        (0, 0, 0),
        "{rep:?}"
    );
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!(
        (rep.uploaded, rep.linked, rep.deleted),
        (0, 0, 0),
        "{rep:?}"
    );
    let after: Vec<u64> = futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    assert_eq!(before, after, "no writes anywhere");

    // A new version on the hub becomes a new version of the same document on the spokes.
    let doc_hub = files_of(&hub, &h1).await[0].6.clone();
    let doc_s1 = files_of(&s1, &r1).await[0].6.clone();
    attach(&hub, None, Some(&doc_hub), "spec", b"the spec, v2 - longer").await;
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.uploaded, rep.errors.len()), (2, 0), "{rep:?}");
    let s1_files = files_of(&s1, &r1).await;
    assert_eq!(s1_files.len(), 1);
    assert_eq!(s1_files[0].6, doc_s1, "same document");
    assert_eq!(s1_files[0].3, "2");
    assert_eq!(
        without_doc(s1_files),
        without_doc(files_of(&hub, &h1).await)
    );

    // A file attached on a spoke with its own sharing reaches the hub and the other spoke.
    let spoke_file = attach(&s1, None, None, "notes", b"spoke notes").await;
    let spoke_doc = rows(
        &s1,
        &format!("SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{spoke_file}'"),
    )
    .await[0]["ContentDocumentId"]
        .as_str()
        .unwrap()
        .to_string();
    create(&s1, "ContentDocumentLink", json!({"ContentDocumentId": spoke_doc, "LinkedEntityId": r1, "ShareType": "C", "Visibility": "InternalUsers"})).await;
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.uploaded, rep.errors.len()), (2, 0), "{rep:?}");
    let want = without_doc(files_of(&s1, &r1).await);
    assert_eq!(want.len(), 2);
    assert!(
        want.iter()
            .any(|f| f.0 == "notes" && f.4 == "C" && f.5 == "InternalUsers"),
        "{want:?}"
    );
    assert_eq!(without_doc(files_of(&hub, &h1).await), want);
    assert_eq!(without_doc(files_of(&s2, &r2).await), want);

    // A document deleted on the hub is deleted on the spokes.
    hub.delete("ContentDocument", &doc_hub).await.unwrap();
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.deleted, rep.errors.len()), (2, 0), "{rep:?}");
    for (c, r) in [(&s1, &r1), (&s2, &r2)] {
        let left = files_of(c, r).await;
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].0, "notes");
    }
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!(
        (rep.uploaded, rep.linked, rep.deleted),
        (0, 0, 0),
        "{rep:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_already_linked_are_not_sent() {
    let env = start(ORGS, |_| vec![]).await;
    let (hub, s1) = (env.user("hub").await, env.user("s1").await);
    create(&hub, "Work_Item__c", json!({"Name": "W2"})).await;
    let engine = env.engine(settings(&env)).await;
    assert!(engine.wait_idle(IDLE).await);
    let (h, r1) = (record_id(&hub, "W2").await, record_id(&s1, "W2").await);
    // s1 already holds the same bytes on its copy (attached there independently).
    attach(&s1, Some(&r1), None, "same-on-s1", b"identical bytes").await;
    attach(&hub, Some(&h), None, "same", b"identical bytes").await;
    let rep = engine.sync_files_now().await.unwrap();
    assert!(rep.same_checksum >= 1, "{rep:?}");
    assert_eq!(files_of(&s1, &r1).await.len(), 1, "not sent to s1 again");
    engine.shutdown().await;
}

/// Reads `/proc/self/status` fields in KiB (VmRSS, VmHWM).
fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The benchmark of the README: one file of `FILE_BENCH_MB` MiB (default 1024) attached on
/// one org moves to the other in one files round. Prints wall time, the process's peak
/// resident memory (engine, ledger, test client and both emulated orgs together: an upper
/// bound of orgsync's own) and the API calls of the round per org. Not a timed CI test:
/// `cargo nextest run -p orgsync-engine --run-ignored only file_bench --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: moves a 1 GiB file"]
async fn file_bench_moves_a_large_file_with_flat_memory() {
    let mb: u64 = std::env::var("FILE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mb * 1024 * 1024;
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    create(&a, "Work_Item__c", json!({"Name": "Big"})).await;
    let settings = env.settings(
        &["a", "b"],
        "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\"]\ninterval = \"30m\"\nfiles = true\n",
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!(rep.uploaded, 0);
    let ra = record_id(&a, "Big").await;
    const CHUNK: u64 = 1024 * 1024;
    let block = Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let stream: ByteStream = Box::pin(
        futures::stream::iter(0..total.div_ceil(CHUNK))
            .map(move |i| Ok(block.slice(..CHUNK.min(total - i * CHUNK) as usize))),
    );
    let fields =
        rec(json!({"Title": "big", "PathOnClient": "big.bin", "FirstPublishLocationId": ra}));
    let v = NewVersion {
        fields,
        file_name: "big.bin".into(),
        size: Some(total),
    };
    a.insert_content_version(&v, stream).await.unwrap();
    let calls = |org: &'static str| {
        let env = &env;
        async move { env.usage(org).await["total"].as_u64().unwrap_or(0) }
    };
    let (a0, b0) = (calls("a").await, calls("b").await);
    let (hwm0, rss0) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
    let started = std::time::Instant::now();
    let rep = engine.sync_files_now().await.unwrap();
    let elapsed = started.elapsed();
    let hwm1 = status_kib("VmHWM:");
    let (a1, b1) = (calls("a").await, calls("b").await);
    assert_eq!(
        (rep.uploaded, rep.bytes, rep.errors.len()),
        (1, total, 0),
        "{rep:?}"
    );
    let rb = record_id(&b, "Big").await;
    let fa = without_doc(files_of(&a, &ra).await);
    assert_eq!(fa, without_doc(files_of(&b, &rb).await));
    println!(
        "files bench: {mb} MiB moved a→b in {:.1} s ({:.0} MiB/s); process RSS before {} MiB, \
         peak during the round {} MiB (peak before {} MiB); API calls of the round: a {} (incl. \
         b's round reads), b {}",
        elapsed.as_secs_f64(),
        mb as f64 / elapsed.as_secs_f64(),
        rss0 / 1024,
        hwm1 / 1024,
        hwm0 / 1024,
        a1 - a0,
        b1 - b0,
    );
    assert!(hwm1 / 1024 < 100, "peak RSS {} MiB", hwm1 / 1024);
    engine.shutdown().await;
}
