//! Record state: the id map and shadow per org, and the agreed versions across orgs.

use orgsync_core::FieldValue;
use orgsync_core::merge::ShadowValue;
use orgsync_store::*;

use crate::support::*;

fn shadow(v: &str, t: i64) -> ShadowValue {
    ShadowValue::new(FieldValue::Text(v.to_string()), at(t))
}

/// Id map and shadow: written, merged per field by time, read singly and in batches.
pub async fn shadow_and_id_map_round_trip<S: Store>(s: &S) {
    let mut w = RecordWrite::new(org("b"), "Account", gid(1));
    w.local_id = Some("001B00000000001AAA".into());
    w.fingerprint = Some([7; 32]);
    w.shadow.insert("name".into(), shadow("Acme", 10));
    w.shadow.insert("phone".into(), shadow("1", 10));
    w.modstamp = Some(at(10));
    s.write_records(vec![w], at(11)).await.unwrap();
    // an older fact about name loses; a newer one about phone wins; modstamp never goes back
    let mut w2 = RecordWrite::new(org("b"), "Account", gid(1));
    w2.shadow.insert("name".into(), shadow("Old", 5));
    w2.shadow.insert("phone".into(), shadow("2", 12));
    w2.modstamp = Some(at(3));
    w2.deleted = Some(true);
    s.write_records(vec![w2], at(12)).await.unwrap();
    let r = s
        .record(&org("b"), "Account", &gid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.local_id.as_deref(),
        Some("001B00000000001AAA"),
        "None leaves the local id"
    );
    assert_eq!(r.fingerprint, Some([7; 32]));
    assert_eq!(r.shadow["name"], shadow("Acme", 10));
    // the replaced value is remembered: a read older than 12 showing "1" is no news
    let mut phone = shadow("2", 12);
    phone.before = Some(FieldValue::Text("1".into()));
    assert_eq!(r.shadow["phone"], phone);
    assert_eq!(r.last_modstamp, Some(at(10)));
    assert!(r.deleted);
    assert_eq!(r.updated_at, at(12));
    let by_local = s
        .record_by_local_id(&org("b"), "Account", "001B00000000001AAA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_local, r);
    assert!(
        s.record(&org("c"), "Account", &gid(1))
            .await
            .unwrap()
            .is_none(),
        "per org"
    );
    assert!(
        s.record(&org("b"), "Contact", &gid(1))
            .await
            .unwrap()
            .is_none(),
        "per object"
    );
    // batch reads across the IN-list chunk size
    let writes: Vec<RecordWrite> = (0..700)
        .map(|n| {
            let mut w = RecordWrite::new(org("c"), "Account", gid(n));
            w.local_id = Some(format!("001C{n:011}AAA"));
            w
        })
        .collect();
    s.write_records(writes, at(20)).await.unwrap();
    let wanted: Vec<_> = (0..700).step_by(2).map(gid).chain([gid(9999)]).collect();
    let got = s.records(&org("c"), "Account", &wanted).await.unwrap();
    assert_eq!(got.len(), 350);
    let locals: Vec<String> = (0..700)
        .filter(|n| n % 3 == 0)
        .map(|n| format!("001C{n:011}AAA"))
        .collect();
    let got = s
        .records_by_local_ids(&org("c"), "Account", &locals)
        .await
        .unwrap();
    assert_eq!(got.len(), locals.len());
    assert!(
        got.iter()
            .all(|r| r.local_id.as_ref().is_some_and(|l| locals.contains(l)))
    );
}

/// Agreed versions merge per field by commit time.
pub async fn agreed_versions_merge<S: Store>(s: &S) {
    use orgsync_core::merge::Versioned;
    let v = |val: &str, t: i64, o: &str| Versioned {
        value: FieldValue::Text(val.into()),
        ts: at(t),
        org: org(o),
    };
    let agreed = |fields: Vec<(&str, Versioned)>| CaptureBatch {
        agreed: vec![AgreedWrite {
            object: "Account".into(),
            global_id: gid(1),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            life: None,
        }],
        ..CaptureBatch::default()
    };
    let b1 = agreed(vec![("name", v("A", 10, "a")), ("site", v("S", 10, "a"))]);
    s.commit_capture(b1, at(11)).await.unwrap();
    let b2 = agreed(vec![("name", v("B", 5, "b")), ("site", v("T", 12, "b"))]);
    s.commit_capture(b2, at(13)).await.unwrap();
    let rows = s.agreed("Account", &[gid(1), gid(2)]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].fields["name"], v("A", 10, "a"));
    assert_eq!(rows[0].fields["site"], v("T", 12, "b"));
}

/// The agreed life merges like a field: the newer event wins, a delete wins a tie, and a
/// write without a life event keeps the stored one.
pub async fn agreed_life_merges<S: Store>(s: &S) {
    use orgsync_core::life::Life;
    let ev = |deleted: bool, t: i64, o: &str| Life {
        deleted,
        ts: at(t),
        org: org(o),
    };
    let write = |life: Option<Life>| CaptureBatch {
        agreed: vec![AgreedWrite {
            object: "Account".into(),
            global_id: gid(1),
            fields: Default::default(),
            life,
        }],
        ..CaptureBatch::default()
    };
    s.commit_capture(write(Some(ev(false, 1, "a"))), at(1))
        .await
        .unwrap();
    assert_eq!(stored_life(s).await, Some(ev(false, 1, "a")));
    s.commit_capture(write(Some(ev(true, 10, "b"))), at(2))
        .await
        .unwrap();
    // an older undelete processed late loses; so does a tie
    s.commit_capture(write(Some(ev(false, 5, "c"))), at(3))
        .await
        .unwrap();
    s.commit_capture(write(Some(ev(false, 10, "c"))), at(4))
        .await
        .unwrap();
    s.commit_capture(write(None), at(5)).await.unwrap();
    assert_eq!(stored_life(s).await, Some(ev(true, 10, "b")));
    s.commit_capture(write(Some(ev(false, 11, "c"))), at(6))
        .await
        .unwrap();
    assert_eq!(stored_life(s).await, Some(ev(false, 11, "c")));
}

async fn stored_life<S: Store>(s: &S) -> Option<orgsync_core::life::Life> {
    s.agreed("Account", &[gid(1)]).await.unwrap().remove(0).life
}

/// The deleted flag is a fact as of a time: an older fact never replaces a newer one (a late
/// completion after a newer capture), whatever order they are committed in.
pub async fn deleted_flag_keeps_the_newer_fact<S: Store>(s: &S) {
    let write = |deleted: bool, t: i64| {
        let mut w = RecordWrite::new(org("b"), "Account", gid(1));
        w.local_id = Some("001B00000000001AAA".into());
        w.deleted = Some(deleted);
        w.deleted_at = Some(at(t));
        w
    };
    // a capture says deleted as of 10; a completion sent at 5 says live: the delete stands
    s.write_records(vec![write(true, 10)], at(11))
        .await
        .unwrap();
    s.write_records(vec![write(false, 5)], at(12))
        .await
        .unwrap();
    assert!(deleted_flag(s).await);
    // a later undelete does replace it
    s.write_records(vec![write(false, 15)], at(16))
        .await
        .unwrap();
    assert!(!deleted_flag(s).await);
    // in one batch too, folded in order
    s.write_records(vec![write(true, 20), write(false, 18)], at(21))
        .await
        .unwrap();
    assert!(deleted_flag(s).await);
}

async fn deleted_flag<S: Store>(s: &S) -> bool {
    s.records(&org("b"), "Account", &[gid(1)])
        .await
        .unwrap()
        .remove(0)
        .deleted
}

/// A parent's children are found by the parent's global id in their agreed fields.
pub async fn children_found_by_their_parent<S: Store>(s: &S) {
    use orgsync_core::merge::Versioned;
    let child = |n: u32, parent: u32| AgreedWrite {
        object: "Contact".into(),
        global_id: gid(n),
        fields: [(
            "accountid".to_string(),
            Versioned {
                value: FieldValue::Text(gid(parent).to_string()),
                ts: at(1),
                org: org("a"),
            },
        )]
        .into_iter()
        .collect(),
        life: None,
    };
    let batch = CaptureBatch {
        agreed: vec![child(10, 1), child(11, 1), child(12, 2)],
        ..CaptureBatch::default()
    };
    s.commit_capture(batch, at(2)).await.unwrap();
    assert_eq!(
        s.agreed_referencing("Contact", &gid(1)).await.unwrap(),
        vec![gid(10), gid(11)]
    );
    assert!(
        s.agreed_referencing("Account", &gid(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.agreed_referencing("Contact", &gid(2)).await.unwrap(),
        vec![gid(12)]
    );
    // copies that still hold a parent, per org: what its undelete there gives back
    let held = |o: &str, n: u32, parent: u32| {
        let mut w = RecordWrite::new(org(o), "Contact", gid(n));
        w.shadow
            .insert("accountid".into(), shadow(&gid(parent).to_string(), 3));
        w
    };
    s.write_records(
        vec![held("b", 20, 1), held("b", 21, 2), held("c", 22, 1)],
        at(4),
    )
    .await
    .unwrap();
    assert_eq!(
        s.held_referencing(&org("b"), "Contact", &gid(1))
            .await
            .unwrap(),
        vec![gid(20)]
    );
    assert_eq!(
        s.held_referencing(&org("c"), "Contact", &gid(1))
            .await
            .unwrap(),
        vec![gid(22)]
    );
    assert!(
        s.held_referencing(&org("b"), "Account", &gid(1))
            .await
            .unwrap()
            .is_empty()
    );
}
