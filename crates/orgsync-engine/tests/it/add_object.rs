//! "Add object" against emulated orgs: the objects in every org (describeGlobal), the fields
//! writable in every org, a vetting that names the field and the org that stop a choice and
//! says whether CDC is enabled; then the added sync laid over the file at start (as `orgsync
//! run` does), paused until the overlay turns it on, and syncing once it does.

use orgsync_core::config::Capture;
use orgsync_engine::EngineOptions;
use orgsync_engine::catalog::{addable_fields, addable_objects, vet_addition};
use orgsync_store::{NewAudit, Store, SyncOverride, overlay};
use serde_json::json;

use crate::support::*;

const ACCOUNT: &str = r#"
[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name"]
interval = "1s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_and_fields_are_offered_and_vetted_in_every_org() {
    // Work_Item__c.Legacy__c is writable in a only
    let env = start(&["a", "b"], |n| vec![fixture(&format!("legacy-{n}.toml"))]).await;
    let settings = env.settings(&["a", "b"], ACCOUNT);
    let opts = EngineOptions::default();
    let objects = addable_objects(&settings, &opts).await.unwrap();
    assert!(objects.iter().any(|o| o == "Contact"), "{objects:?}");
    assert!(objects.iter().any(|o| o == "Work_Item__c"), "{objects:?}");
    assert!(!objects.iter().any(|o| o == "Account"), "synced already");
    assert!(!objects.iter().any(|o| o.ends_with("ChangeEvent")));

    let fields = addable_fields(&settings, &opts, "Work_Item__c")
        .await
        .unwrap();
    assert!(fields.iter().any(|f| f == "Status__c"), "{fields:?}");
    for not in ["Legacy__c", "Account__c", "OrgSync_Global_Id__c", "Id"] {
        assert!(
            !fields.iter().any(|f| f == not),
            "{not} offered: {fields:?}"
        );
    }

    let v = vet_addition(
        &settings,
        &opts,
        "Work_Item__c",
        &["Name".into(), "Legacy__c".into(), "Nope__c".into()],
    )
    .await
    .unwrap();
    assert_eq!(
        v.problems,
        [
            "field Work_Item__c.Nope__c does not exist in a (or is hidden from the integration user)",
            "field Work_Item__c.Legacy__c in b is not createable or updateable for the integration user",
            "field Work_Item__c.Nope__c does not exist in b (or is hidden from the integration user)",
        ]
    );
    assert_eq!(
        v.capture(),
        Capture::Cdc,
        "change events enabled in both: {:?}",
        v.cdc
    );

    let v = vet_addition(&settings, &opts, "Contact", &["LastName".into()])
        .await
        .unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.capture(), Capture::Poll);
    assert!(
        v.capture_text()
            .contains("not enabled for it in a, b: polling will be used"),
        "{}",
        v.capture_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_sync_starts_paused_and_syncs_once_turned_on() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let store = env.store().await;
    let mut added = SyncOverride::new("Contact", chrono::Utc::now(), "test");
    added.fields = Some(vec!["LastName".into(), "Email".into()]);
    added.capture = Some("poll".into());
    added.enabled = Some(false);
    let audit = || NewAudit::new(chrono::Utc::now(), "admin.sync.add");
    store.put_sync_override(&added, audit()).await.unwrap();
    create(
        &a,
        "Contact",
        json!({"LastName": "Added", "Email": "a@example.com"}),
    )
    .await;

    let mut settings = env.settings(&["a", "b"], ACCOUNT);
    overlay::apply(&mut settings, &store.sync_overrides().await.unwrap());
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    assert!(
        snapshot(&b, "Contact", &["LastName"]).await.is_empty(),
        "added disabled: nothing captured"
    );

    added.enabled = Some(true);
    store.put_sync_override(&added, audit()).await.unwrap();
    eventually("turned on, the Contact arrives in b", || async {
        snapshot(&b, "Contact", &["LastName", "Email"])
            .await
            .first()
            .is_some_and(|r| r["LastName"] == "Added" && r["Email"] == "a@example.com")
    })
    .await;
    engine.shutdown().await;
}
