//! Files after they were copied: unlinks and renames follow (and do not echo back), the
//! engine's idle check waits for file work, and file writes are counted in the metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use sfclient::Client;

use crate::files::{ORGS, attach, files_of, record_id, rows, settings};
use crate::support::*;

/// The document of version `version`.
async fn doc_of(c: &Client, version: &str) -> String {
    rows(
        c,
        &format!("SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{version}'"),
    )
    .await[0]["ContentDocumentId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The id of the link of `doc` to `record`.
async fn link_id(c: &Client, doc: &str, record: &str) -> String {
    rows(
        c,
        &format!(
            "SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}' \
             AND LinkedEntityId = '{record}'"
        ),
    )
    .await[0]["Id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Titles of the files linked to `record`, sorted.
async fn titles(c: &Client, record: &str) -> Vec<String> {
    files_of(c, record).await.into_iter().map(|f| f.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinks_and_renames_follow_everywhere_without_echo() {
    let env = start(ORGS, |_| vec![]).await;
    let (hub, s1, s2) = (
        env.user("hub").await,
        env.user("s1").await,
        env.user("s2").await,
    );
    for name in ["U1", "U2"] {
        create(&hub, "Work_Item__c", json!({"Name": name})).await;
    }
    let engine = env.engine(settings(&env)).await;
    assert!(engine.wait_idle(IDLE).await);
    let mut ids = BTreeMap::new();
    for (org, c) in [("hub", &hub), ("s1", &s1), ("s2", &s2)] {
        for name in ["U1", "U2"] {
            ids.insert((org, name), record_id(c, name).await);
        }
    }
    // One document on the hub linked to both records; it reaches both copies on each spoke.
    let v = attach(&hub, Some(&ids[&("hub", "U1")]), None, "plan", b"the plan").await;
    let doc_hub = doc_of(&hub, &v).await;
    create(&hub, "ContentDocumentLink", json!({"ContentDocumentId": doc_hub, "LinkedEntityId": ids[&("hub", "U2")], "ShareType": "V", "Visibility": "AllUsers"})).await;
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.uploaded, rep.errors.len()), (2, 0), "{rep:?}");
    for (org, c) in [("s1", &s1), ("s2", &s2)] {
        for name in ["U1", "U2"] {
            assert_eq!(
                titles(c, &ids[&(org, name)]).await,
                ["plan"],
                "{org} {name}"
            );
        }
    }

    // A user on s1 removes the file from U1 there: it goes from U1 on the hub and on s2,
    // and stays on U2 everywhere (the document is not deleted).
    let doc_s1 = files_of(&s1, &ids[&("s1", "U1")]).await[0].6.clone();
    let l = link_id(&s1, &doc_s1, &ids[&("s1", "U1")]).await;
    s1.delete("ContentDocumentLink", &l).await.unwrap();
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.unlinked, rep.errors.len()), (2, 0), "{rep:?}");
    for (org, c) in [("hub", &hub), ("s1", &s1), ("s2", &s2)] {
        assert!(titles(c, &ids[&(org, "U1")]).await.is_empty(), "{org} U1");
        assert_eq!(titles(c, &ids[&(org, "U2")]).await, ["plan"], "{org} U2");
    }

    // Renamed on the hub (the document's Title): the spokes' copies take the new Title.
    let mut title = sfclient::Record::new();
    title.insert("Title".into(), json!("plan v2"));
    hub.update("ContentDocument", &doc_hub, &title)
        .await
        .unwrap();
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.retitled, rep.errors.len()), (2, 0), "{rep:?}");
    for (org, c) in [("hub", &hub), ("s1", &s1), ("s2", &s2)] {
        assert_eq!(titles(c, &ids[&(org, "U2")]).await, ["plan v2"], "{org}");
    }

    // Renamed on s2 (the latest version's Title): the hub and s1 follow.
    let v_s2 = rows(
        &s2,
        &format!(
            "SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{}' AND IsLatest = true",
            files_of(&s2, &ids[&("s2", "U2")]).await[0].6
        ),
    )
    .await[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    title.insert("Title".into(), json!("plan, final"));
    s2.update("ContentVersion", &v_s2, &title).await.unwrap();
    let rep = engine.sync_files_now().await.unwrap();
    assert_eq!((rep.retitled, rep.errors.len()), (2, 0), "{rep:?}");
    for (org, c) in [("hub", &hub), ("s1", &s1), ("s2", &s2)] {
        assert_eq!(
            titles(c, &ids[&(org, "U2")]).await,
            ["plan, final"],
            "{org}"
        );
    }

    // Our own unlinks and renames read back are no news: later rounds write nothing.
    let before: Vec<u64> = futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    for _ in 0..2 {
        let rep = engine.sync_files_now().await.unwrap();
        assert!(rep.quiet(), "{rep:?}");
    }
    let after: Vec<u64> = futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    assert_eq!(before, after, "no writes anywhere");
    for (org, c) in [("hub", &hub), ("s1", &s1), ("s2", &s2)] {
        assert!(titles(c, &ids[&(org, "U1")]).await.is_empty(), "{org} U1");
        assert_eq!(
            titles(c, &ids[&(org, "U2")]).await,
            ["plan, final"],
            "{org}"
        );
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_idle_waits_for_pending_file_work() {
    let env = start(ORGS, |_| vec![]).await;
    let (hub, s1) = (env.user("hub").await, env.user("s1").await);
    create(&hub, "Work_Item__c", json!({"Name": "I1"})).await;
    // files every 30 minutes: only the idle check's own round can move the file in time
    let engine = env.engine(settings(&env)).await;
    assert!(engine.wait_idle(IDLE).await);
    let h = record_id(&hub, "I1").await;
    attach(&hub, Some(&h), None, "late", b"attached after the start").await;
    assert!(engine.wait_idle(IDLE).await);
    let r1 = record_id(&s1, "I1").await;
    assert_eq!(
        titles(&s1, &r1).await,
        ["late"],
        "idle means the file arrived"
    );
    engine.shutdown().await;
}

/// Counters by name and labels, as a local `metrics` recorder sees them.
#[derive(Debug, Default)]
struct Counters(Mutex<BTreeMap<String, Arc<AtomicU64>>>);

impl Counters {
    fn get(&self, key: &str) -> u64 {
        let map = self.0.lock().unwrap();
        map.get(key).map_or(0, |c| c.load(Ordering::SeqCst))
    }
}

impl metrics::Recorder for Counters {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let c = self.0.lock().unwrap().entry(name).or_default().clone();
        metrics::Counter::from_arc(c)
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// The files round runs in the calling task (`sync_files_now`), so a recorder local to the
/// test's thread sees exactly this test's file metrics.
#[test]
fn file_writes_are_counted_in_the_metrics() {
    let counters = Counters::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&counters, || {
        rt.block_on(async {
            let env = start(ORGS, |_| vec![]).await;
            let hub = env.user("hub").await;
            create(&hub, "Work_Item__c", json!({"Name": "M1"})).await;
            let engine = env.engine(settings(&env)).await;
            assert!(engine.wait_idle(IDLE).await);
            let h = record_id(&hub, "M1").await;
            attach(&hub, Some(&h), None, "counted", b"twelve bytes").await;
            let rep = engine.sync_files_now().await.unwrap();
            assert_eq!((rep.uploaded, rep.errors.len()), (2, 0), "{rep:?}");
            engine.shutdown().await;
        })
    });
    use orgsync_core::metric as m;
    for org in ["s1", "s2"] {
        let written = format!("{}{{op={},org={org}}}", m::FILES_WRITTEN, m::FILE_OP_UPLOAD);
        assert_eq!(counters.get(&written), 1, "{written}: {counters:?}");
        let bytes = format!("{}{{org={org}}}", m::FILE_BYTES);
        assert_eq!(counters.get(&bytes), 12, "{bytes}: {counters:?}");
    }
    assert_eq!(counters.get(&format!("{}{{org=hub}}", m::FILES_WRITTEN)), 0);
}
