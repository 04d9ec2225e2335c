//! Case 2: pushes are partial. A field a push leaves out is never nulled anywhere; an explicit
//! `null` nulls. Before: a push of a record new to the ledger created it on b with only the
//! pushed fields, b's next read reported the others as null (or b's defaults), and the engine
//! took that for an edit made on b and wrote it back over the sender's real values.

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::*;

fn opts() -> Opts {
    Opts {
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Assignee__c\"]\ninterval = \"30m\"\n".into(),
        ..Opts::default()
    }
}

fn record(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The synced fields of every Work_Item__c on `org`, by global id (a's own: `a's id:Id`).
async fn state(env: &Env, org: &str) -> Vec<(String, Value, Value, Value)> {
    let org_id = env.org_id(org);
    let page = env
        .user(org)
        .await
        .query_page(
            "SELECT Id, Name, Status__c, Assignee__c, OrgSync_Global_Id__c FROM Work_Item__c",
            false,
        )
        .await
        .unwrap();
    let mut out: Vec<_> = page
        .records
        .iter()
        .map(|r| {
            let gid = match r["OrgSync_Global_Id__c"].as_str() {
                Some(g) => g.to_string(),
                None => format!("{org_id}:{}", r["Id"].as_str().unwrap()),
            };
            (
                gid,
                r["Name"].clone(),
                r["Status__c"].clone(),
                r["Assignee__c"].clone(),
            )
        })
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// One record in a: how it is made (`known`: synced before the push, else new to the ledger,
/// last changed before the watermark), what the user changes there, what the peer pushes,
/// and what both orgs must hold afterwards (Name, Status, Assignee).
struct Case {
    name: &'static str,
    known: bool,
    edit: Vec<(&'static str, Value)>,
    pushed: Vec<(&'static str, Value)>,
    expect: (&'static str, &'static str, Option<&'static str>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_field_is_never_nulled() {
    let cases = [
        Case {
            name: "new to the ledger, Name only",
            known: false,
            edit: vec![("Name", json!("renamed"))],
            pushed: vec![("Name", json!("renamed"))],
            expect: ("renamed", "Blocked", Some("alice")),
        },
        Case {
            name: "new to the ledger, Status only",
            known: false,
            edit: vec![("Status__c", json!("Done"))],
            pushed: vec![("Status__c", json!("Done"))],
            expect: ("real", "Done", Some("alice")),
        },
        Case {
            name: "already synced, Name only",
            known: true,
            edit: vec![("Name", json!("renamed"))],
            pushed: vec![("Name", json!("renamed"))],
            expect: ("renamed", "Blocked", Some("alice")),
        },
        Case {
            name: "new to the ledger, an explicit null",
            known: false,
            edit: vec![("Assignee__c", Value::Null)],
            pushed: vec![("Assignee__c", Value::Null)],
            expect: ("real", "Blocked", None),
        },
        Case {
            name: "already synced, an explicit null",
            known: true,
            edit: vec![("Assignee__c", Value::Null)],
            pushed: vec![("Name", json!("real")), ("Assignee__c", Value::Null)],
            expect: ("real", "Blocked", None),
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let env = start(opts()).await;
        let (a_id, a) = (env.org_id("a"), env.user("a").await);
        let full = record(&[
            ("Name", json!("real")),
            ("Status__c", json!("Blocked")),
            ("Assignee__c", json!("alice")),
        ]);
        // a first record moves a's poll watermark forward
        a.create("Work_Item__c", &record(&[("Name", json!("first"))]))
            .await
            .unwrap();
        assert!(env.engine.wait_idle(IDLE).await);
        let id = a.create("Work_Item__c", &full).await.unwrap();
        if case.known {
            assert!(env.engine.wait_idle(IDLE).await);
        } else {
            // last changed before the watermark: a's poll will not see it, only the push tells
            direct_edit(
                &env,
                &id,
                &[("SystemModstamp", json!("2020-01-01T00:00:00.000Z"))],
            )
            .await;
        }
        // the user's edit, which the peer then pushes (a's poll does not see it either)
        direct_edit(&env, &id, &case.edit).await;
        let a_writes = env.writes().await.0;
        let mut rec = record(&case.pushed);
        rec.insert("attributes".into(), json!({"type": "Work_Item__c"}));
        rec.insert("externalId".into(), json!(id));
        let body = json!({"transactionId": format!("t-partial-{i}"), "sourceOrgId": a_id,
            "timestamp": Utc::now().to_rfc3339(), "operation": "upsert", "records": [rec]});
        let ans = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
        assert_eq!(ans.status, 200, "{}: {ans:?}", case.name);
        assert!(env.engine.wait_idle(IDLE).await);
        assert!(env.engine.wait_idle(IDLE).await);
        let (n, s, who) = case.expect;
        let want = vec![(
            format!("{a_id}:{id}"),
            json!(n),
            json!(s),
            who.map_or(Value::Null, |w| json!(w)),
        )];
        for org in ["a", "b"] {
            let got: Vec<_> = state(&env, org)
                .await
                .into_iter()
                .filter(|r| r.0 == want[0].0)
                .collect();
            assert_eq!(got, want, "{}: {org}", case.name);
        }
        assert_eq!(
            env.writes().await.0,
            a_writes,
            "{}: the engine wrote to the sender",
            case.name
        );
        env.shutdown().await;
    }
}

/// Edit a record of a in place (the emulator's test hook: no SystemModstamp change, no
/// change event), so that only the push tells orgsync about it.
async fn direct_edit(env: &Env, id: &str, fields: &[(&str, Value)]) {
    let r = env
        .http
        .patch(format!(
            "{}/__sfemu/records/Work_Item__c/{id}",
            env.base("a")
        ))
        .json(&record(fields))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
}

/// A record pushed in part that the sending org does not have is refused (the engine would
/// otherwise create it elsewhere with holes it can never fill), and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_push_of_a_record_the_sender_lacks_is_refused() {
    let env = start(opts()).await;
    let a_id = env.org_id("a");
    let before = written(&env).await;
    let made_up = fake_id(77);
    for (case, external_id) in [
        ("its record id", made_up.clone()),
        ("its global id", format!("{a_id}:{made_up}")),
    ] {
        let body = json!({"transactionId": format!("t-{case}"), "sourceOrgId": a_id,
            "timestamp": Utc::now().to_rfc3339(), "operation": "upsert",
            "records": [{"attributes": {"type": "Work_Item__c"}, "externalId": external_id, "Name": "ghost"}]});
        let a = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
        refused(
            &env,
            &before,
            case,
            &a,
            400,
            "the sending org has no record",
        )
        .await;
        assert_eq!(a.body["externalId"], json!(external_id), "{case}: {a:?}");
    }
    env.shutdown().await;
}
