//! Issue 9, findings 3, 4, 8 and 13: which values win and which reads are edits — a polled
//! row's unchanged fields keep their own time, a null never captured is no edit, a create's
//! left-out nulls echo nowhere and conflict with nothing, lookups are compared and repaired.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

const HUB: &str = "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\"]\n";
const LOGS: &str = "[[sync]]\nobject = \"Work_Log__c\"\nfields = [\"Name\", \"Hours__c\", \"Log_Date__c\", \"Description__c\"]\ninterval = \"30m\"\n";
const LOG_FIELDS: &[&str] = &["Name", "Hours__c", "Log_Date__c", "Description__c"];

/// Finding 3 (older values won). v1 changes Hours at t1 and orgsync reads it (the ledger
/// holds v1's Hours at t1). With the engine down, the hub sets Hours = 3.5 at t2, then v1
/// changes only Log_Date at t3. v1's row read at t3 still holds its old Hours: that field
/// did not change at t3, so the hub's newer Hours wins. With every field of a polled row
/// stamped with the row's SystemModstamp again, v1's old Hours (2) would be taken as an edit
/// at t3 and overwrite the hub's 3.5 everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_row_does_not_re_assert_older_values_of_fields_it_did_not_change() {
    let names = ["hub", "v1"];
    let env = start(&names, |_| vec![]).await;
    let (hub, v1) = (env.user("hub").await, env.user("v1").await);
    let log = create(
        &v1,
        "Work_Log__c",
        json!({"Name": "log", "Hours__c": 1.0, "Log_Date__c": "2024-05-01"}),
    )
    .await;
    let settings = env.settings(&names, &format!("{HUB}{LOGS}"));
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    update(&v1, "Work_Log__c", &log, json!({"Hours__c": 2.0})).await; // t1
    assert!(engine.wait_idle(IDLE).await);
    let on_hub = local_id(&hub, "Work_Log__c", &log).await.unwrap();
    assert_eq!(
        snapshot(&hub, "Work_Log__c", LOG_FIELDS).await[0]["Hours__c"],
        2.0
    );
    engine.shutdown().await;
    update(&hub, "Work_Log__c", &on_hub, json!({"Hours__c": 3.5})).await; // t2
    tokio::time::sleep(Duration::from_millis(30)).await;
    update(
        &v1,
        "Work_Log__c",
        &log,
        json!({"Log_Date__c": "2024-05-02"}),
    )
    .await; // t3
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sh = snapshot(&hub, "Work_Log__c", LOG_FIELDS).await;
    assert_eq!(sh, snapshot(&v1, "Work_Log__c", LOG_FIELDS).await);
    assert_eq!(sh[0]["Hours__c"], 3.5, "the hub's newer Hours wins: {sh:?}");
    assert_eq!(sh[0]["Log_Date__c"], "2024-05-02");
    assert!(env.conflicts().await.is_empty(), "different fields changed");
    engine.shutdown().await;
}

/// Run the engine with `down` offline until another org's change for it is captured (an
/// item waits for `down`), then stop: the ledger holds the change, `down` was not read.
async fn capture_while_down(env: &Env, settings: &orgsync_core::Settings, down: &str) {
    env.faults(down, json!({"offline": true})).await;
    let engine = env.engine(settings.clone()).await;
    let waiting = orgsync_store::ItemFilter {
        target: Some(orgsync_core::OrgName(down.into())),
        ..Default::default()
    };
    eventually("a change for the org that is down is captured", || async {
        env.items(waiting.clone())
            .await
            .iter()
            .any(|i| i.state != orgsync_store::ItemState::Synced)
    })
    .await;
    engine.shutdown().await;
    env.faults(down, json!({})).await;
}

/// Run the engine until the copy of `origin_id` exists on `org`, then stop at once: `org`
/// is not read again after orgsync's create.
async fn create_copy_and_stop(
    env: &Env,
    settings: &orgsync_core::Settings,
    org: &str,
    object: &str,
    origin_id: &str,
) -> String {
    let c = env.user(org).await;
    let engine = env.engine(settings.clone()).await;
    eventually("the copy is created", || async {
        local_id(&c, object, origin_id).await.is_some()
            && env.in_state(orgsync_store::ItemState::Synced).await.len() == 1
    })
    .await;
    engine.shutdown().await;
    local_id(&c, object, origin_id).await.unwrap()
}

/// Finding 3, second half (a null never captured was read as a change). The hub creates a
/// log without a Description; orgsync creates v1's copy leaving the null field out, and v1
/// is not read after that. The hub sets a Description (t2), which orgsync captures while v1
/// is offline. Then v1 edits only the Name (t3). v1's row read at t3 holds Description =
/// null, which v1 never set: no edit, the hub's Description reaches v1. With the left-out
/// null unknown to the ledger, v1's null is a change at t3, newer than t2, and wipes the
/// hub's Description everywhere (recording a conflict). (Checked by mutation: with creates
/// leaving null fields out and the created copy's shadow not recording them, the
/// Description ends null.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_never_captured_is_not_read_as_a_change() {
    let names = ["hub", "v1"];
    let env = start(&names, |_| vec![]).await;
    let (hub, v1) = (env.user("hub").await, env.user("v1").await);
    let log = create(&hub, "Work_Log__c", json!({"Name": "log", "Hours__c": 1.0})).await;
    let settings = env.settings(&names, &format!("{HUB}{LOGS}"));
    let on_v1 = create_copy_and_stop(&env, &settings, "v1", "Work_Log__c", &log).await;
    update(
        &hub,
        "Work_Log__c",
        &log,
        json!({"Description__c": "from the hub"}),
    )
    .await;
    capture_while_down(&env, &settings, "v1").await;
    update(&v1, "Work_Log__c", &on_v1, json!({"Name": "renamed on v1"})).await;
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sh = snapshot(&hub, "Work_Log__c", LOG_FIELDS).await;
    assert_eq!(sh, snapshot(&v1, "Work_Log__c", LOG_FIELDS).await);
    assert_eq!(sh[0]["Description__c"], "from the hub", "{sh:?}");
    assert_eq!(sh[0]["Name"], "renamed on v1");
    assert!(env.conflicts().await.is_empty());
    engine.shutdown().await;
}

const CDC_HUB: &str =
    "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n";
const CDC_SYNC: &str = "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Assignee__c\", \"Estimate_Hours__c\", \"Due_Date__c\"]\ninterval = \"30m\"\ncapture = \"cdc\"\n";
const POLL_SYNC: &str = "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Assignee__c\", \"Estimate_Hours__c\", \"Due_Date__c\"]\ninterval = \"30m\"\n";
const WI: &[&str] = &[
    "Name",
    "Status__c",
    "Assignee__c",
    "Estimate_Hours__c",
    "Due_Date__c",
];

/// Finding 4 (echo writes). A record created on the hub with several fields left null
/// reaches the spokes as a change event; CREATE events omit null fields, and orgsync's
/// creates on the spokes leave them out too. The next poll of every org reads those nulls:
/// they are what the ledger already holds, so nothing is written anywhere (the emulator's
/// write counters do not move). With the nulls read as changes again, the poll writes them
/// to the other orgs and the counters move. (Checked by mutation: reverting the null
/// handling as a whole — creates leaving nulls out, the CREATE event's omitted fields not
/// taken as null, a never-recorded null accepted as a change — makes this fail with an extra
/// write to the hub; any one of those rules alone is covered by the others.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nulls_left_out_of_create_events_are_not_written_back_by_the_next_poll() {
    let names = ["hub", "v1", "v2"];
    let env = start(&names, |_| vec![]).await;
    let engine = env
        .engine(env.settings(&names, &format!("{CDC_HUB}{CDC_SYNC}")))
        .await;
    assert!(engine.wait_idle(IDLE).await);
    let hub = env.user("hub").await;
    create(&hub, "Work_Item__c", json!({"Name": "sparse"})).await;
    eventually("the record reaches both spokes", || async {
        snapshot(&env.user("v1").await, "Work_Item__c", WI)
            .await
            .len()
            == 1
            && snapshot(&env.user("v2").await, "Work_Item__c", WI)
                .await
                .len()
                == 1
    })
    .await;
    // from the moment the record arrived: the polls below are the first reads of every org
    let before = (
        env.writes("hub").await,
        env.writes("v1").await,
        env.writes("v2").await,
    );
    // every poller reads everything up to now, twice over
    assert!(engine.wait_idle(IDLE).await);
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    let after = (
        env.writes("hub").await,
        env.writes("v1").await,
        env.writes("v2").await,
    );
    assert_eq!(before, after, "the polls wrote nothing");
    let s = snapshot(&hub, "Work_Item__c", WI).await;
    assert_eq!(s, snapshot(&env.user("v1").await, "Work_Item__c", WI).await);
    assert!(env.conflicts().await.is_empty());
    engine.shutdown().await;
}

/// Finding 13 (spurious conflicts). Edits happen on one org only. a creates a record with
/// null fields; orgsync creates b's copy leaving the nulls out, and b is not read after
/// that. a then sets those fields, captured while b is offline. b's next read shows its
/// copy as created (the nulls, older than a's edits): what orgsync's create left there, not
/// b's edits — no conflict, and a's values reach b. With the left-out nulls unknown to the
/// ledger, b's nulls count as b's own changes made without seeing a's values, and a
/// conflict is recorded per field. (Checked by mutation like the test above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creates_left_out_nulls_are_not_the_targets_edits() {
    let names = ["a", "b"];
    let env = start(&names, |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let id = create(&a, "Work_Item__c", json!({"Name": "one org edits"})).await;
    let settings = env.settings(
        &names,
        &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{POLL_SYNC}"),
    );
    create_copy_and_stop(&env, &settings, "b", "Work_Item__c", &id).await;
    update(
        &a,
        "Work_Item__c",
        &id,
        json!({"Assignee__c": "ann", "Estimate_Hours__c": 2.5, "Due_Date__c": "2024-06-01"}),
    )
    .await;
    capture_while_down(&env, &settings, "b").await;
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sa = snapshot(&a, "Work_Item__c", WI).await;
    assert_eq!(sa, snapshot(&b, "Work_Item__c", WI).await);
    assert_eq!(sa[0]["Assignee__c"], "ann");
    assert_eq!(sa[0]["Estimate_Hours__c"], 2.5);
    let conflicts = env.conflicts().await;
    assert!(conflicts.is_empty(), "edits on one org only: {conflicts:?}");
    engine.shutdown().await;
}

const LOOKUPS: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"30m\"\nparents = [{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\n";

async fn parent_name(c: &sfclient::Client) -> serde_json::Value {
    let rows = c
        .query_page("SELECT Account__r.Name FROM Work_Item__c", false)
        .await
        .unwrap();
    rows.records[0]["Account__r"]["Name"].clone()
}

/// Finding 8 (lookups were not compared like other fields). A child's lookup changed on a
/// reaches b (pointing at b's copy of the new parent), and one changed back on b reaches a,
/// with no echo writes and no conflicts once converged. With lookups left out of the
/// comparison (treated as always equal), neither change travels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_travel_and_are_repaired_like_other_fields() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let acme = create(&a, "Account", json!({"Name": "Acme"})).await;
    let beta = create(&a, "Account", json!({"Name": "Beta"})).await;
    let child = create(
        &a,
        "Work_Item__c",
        json!({"Name": "child", "Account__c": acme}),
    )
    .await;
    let engine = env.engine(env.settings(&["a", "b"], LOOKUPS)).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(parent_name(&b).await, "Acme");
    // changed on a: reaches b
    update(&a, "Work_Item__c", &child, json!({"Account__c": beta})).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(parent_name(&b).await, "Beta");
    // changed on b: reaches a
    let child_b = local_id(&b, "Work_Item__c", &child).await.unwrap();
    let acme_b = local_id(&b, "Account", &acme).await.unwrap();
    update(&b, "Work_Item__c", &child_b, json!({"Account__c": acme_b})).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(parent_name(&a).await, "Acme");
    let before = (env.writes("a").await, env.writes("b").await);
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(
        before,
        (env.writes("a").await, env.writes("b").await),
        "no echo"
    );
    assert!(env.conflicts().await.is_empty());
    engine.shutdown().await;
}

/// Finding 8, second half (a queued write's lookup was never brought up to date: the
/// stale-payload refresh skipped references). With the engine down, a points the child at
/// Beta, then b points it at Gamma: a's change queues a write of Beta for b, b's newer one is
/// captured before that write goes out. The write must come from the agreed state — Gamma
/// everywhere, b's newer lookup never overwritten by the older queued one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_lookup_never_overwrites_a_newer_one() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let acme = create(&a, "Account", json!({"Name": "Acme"})).await;
    let beta = create(&a, "Account", json!({"Name": "Beta"})).await;
    let gamma = create(&a, "Account", json!({"Name": "Gamma"})).await;
    let child = create(
        &a,
        "Work_Item__c",
        json!({"Name": "child", "Account__c": acme}),
    )
    .await;
    let settings = env.settings(&["a", "b"], LOOKUPS);
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    engine.shutdown().await;

    update(&a, "Work_Item__c", &child, json!({"Account__c": beta})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let child_b = local_id(&b, "Work_Item__c", &child).await.unwrap();
    let gamma_b = local_id(&b, "Account", &gamma).await.unwrap();
    update(&b, "Work_Item__c", &child_b, json!({"Account__c": gamma_b})).await;

    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(parent_name(&a).await, "Gamma");
    assert_eq!(parent_name(&b).await, "Gamma");
    engine.shutdown().await;
}
