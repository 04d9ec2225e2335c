//! Anti-entropy on every read: a captured record whose synced values disagree with the agreed
//! state (after the merge) is written back with the agreed values.
//!
//! Why: polling sees only the latest value. If our write of an older value lands on an org
//! just after a newer edit there was captured, the org ends up holding exactly what we wrote,
//! the shadow says "echo", and nothing would ever fix it. Comparing every read against the
//! agreed state closes that window; a converged record never differs, so this costs nothing
//! at rest. A read older than the agreed change it disagrees with proves nothing and is not
//! corrected. Lookup fields are left out (their ids differ per org by design).

use orgsync_core::config::SyncSettings;
use orgsync_core::echo::same_value;
use orgsync_core::mapping::{Payload, PayloadValue, from_merge_keys, object_name, to_merge_keys};
use orgsync_core::merge::RecordState;
use orgsync_core::model::Fields;
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::NewItem;

/// What a capture saw of a record in one org: its synced fields (that org's names) and when
/// they were observed (SystemModstamp of a query row, commit time of an event).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observed<'a> {
    pub fields: &'a Fields,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The corrective item for `org`, if what it holds (`seen`) disagrees with `state`.
pub(crate) fn correction(
    sync: &SyncSettings,
    org: &OrgName,
    source_side: bool,
    gid: &GlobalId,
    seen: Observed<'_>,
    state: &RecordState,
    already: &[NewItem],
) -> Option<NewItem> {
    let (fields, observed_at) = (seen.fields, seen.at);
    let lookups: Vec<String> = sync
        .parents
        .iter()
        .map(|p| p.field.to_ascii_lowercase())
        .collect();
    let mut wrong = Fields::new();
    let mut newest = None;
    for (k, v) in to_merge_keys(sync, source_side, fields) {
        if lookups.contains(&k) {
            continue;
        }
        let Some(agreed) = state.agreed.get(&k) else {
            continue;
        };
        // Only a read taken after the agreed change can prove the org is wrong: an older read
        // (a poll page read before a change event was ingested) shows a state the org has
        // already left, and "correcting" it would be a needless write.
        if !same_value(&agreed.value, &v) && observed_at >= agreed.ts {
            newest = newest.max(Some(agreed.ts));
            wrong.insert(k, agreed.value.clone());
        }
    }
    let ts = newest?;
    let object = object_name(sync, source_side).to_string();
    let covered = |name: &str| {
        already.iter().any(|i| {
            i.work.target == *org
                && i.work.object.eq_ignore_ascii_case(&object)
                && i.work.payload.keys().any(|k| k.eq_ignore_ascii_case(name))
        })
    };
    let mut payload = Payload::new();
    for (name, value) in from_merge_keys(sync, source_side, &wrong) {
        if !covered(&name) {
            payload.insert(name, PayloadValue::value(value));
        }
    }
    if payload.is_empty() {
        return None;
    }
    payload.insert(
        sync.global_id_field.clone(),
        PayloadValue::value(FieldValue::Text(gid.to_string())),
    );
    Some(NewItem::new(
        SyncItem {
            target: org.clone(),
            object,
            global_id: gid.clone(),
            op: Op::Upsert,
            payload,
            parents: Vec::new(),
        },
        ts,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};
    use orgsync_core::Settings;
    use orgsync_core::merge::Versioned;

    const CONFIG: &str = "[orgs.a]\nlogin_url = \"https://login.salesforce.com\"\nauth = { flow = \"client_credentials\", client_id = \"x\", client_secret = \"y\" }\n[orgs.b]\nlogin_url = \"https://login.salesforce.com\"\nauth = { flow = \"client_credentials\", client_id = \"x\", client_secret = \"y\" }\n[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\n";

    /// The agreed Status is "Edited" (made at `t`); org b is seen holding "New".
    fn case(seen_at: chrono::DateTime<Utc>, t: chrono::DateTime<Utc>) -> Option<NewItem> {
        let settings = Settings::from_str(CONFIG, "t.toml").unwrap();
        let sync = &settings.syncs[0];
        let org: orgsync_core::OrgId = "00D000000000001".parse().unwrap();
        let gid = GlobalId::new(org, "a00000000000001").unwrap();
        let mut state = RecordState::default();
        state.agreed.insert(
            "status__c".into(),
            Versioned {
                value: FieldValue::Text("Edited".into()),
                ts: t,
                org: OrgName("b".into()),
            },
        );
        let mut fields = Fields::new();
        fields.insert("Status__c".into(), FieldValue::Text("New".into()));
        let seen = Observed {
            fields: &fields,
            at: seen_at,
        };
        correction(sync, &OrgName("b".into()), true, &gid, seen, &state, &[])
    }

    #[test]
    fn a_read_newer_than_the_agreed_change_is_corrected() {
        let t = Utc::now();
        let fix = case(t + TimeDelta::seconds(1), t).expect("b is wrong and must be rewritten");
        assert_eq!(fix.work.target, OrgName("b".into()));
        assert_eq!(
            fix.work.payload.get("Status__c"),
            Some(&PayloadValue::value(FieldValue::Text("Edited".into())))
        );
    }

    #[test]
    fn a_read_older_than_the_agreed_change_is_left_alone() {
        let t = Utc::now();
        assert!(case(t - TimeDelta::seconds(1), t).is_none());
    }
}
