//! Mapping and fingerprint properties, and the lookup rewrites.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use orgsync_core::config::{Direction, Settings};
use orgsync_core::echo::{fingerprint, same_value};
use orgsync_core::mapping::*;
use orgsync_core::model::{FieldValue, Fields, GlobalId, OrgId};
use orgsync_core::routing::Travel;
use proptest::prelude::*;

fn org(n: u8) -> OrgId {
    format!("00D00000000000{n}").parse().unwrap()
}

fn gid() -> GlobalId {
    GlobalId::new(org(1), "006000000000001").unwrap()
}

pub fn value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        Just(FieldValue::Null),
        any::<bool>().prop_map(FieldValue::Bool),
        any::<i64>().prop_map(FieldValue::Int),
        (any::<i32>(), 0u32..4).prop_map(|(m, s)| FieldValue::Number(format!(
            "{}.{:0width$}",
            m,
            5,
            width = s as usize + 1
        ))),
        "[a-zA-Z0-9 ]{1,12}".prop_map(FieldValue::Text),
        (0i64..20_000).prop_map(|d| FieldValue::Date(
            NaiveDate::from_num_days_from_ce_opt(730_000 + d as i32).unwrap()
        )),
        (0i64..4_000_000_000_000).prop_map(|ms| FieldValue::DateTime(
            DateTime::<Utc>::from_timestamp_millis(ms).unwrap()
        )),
    ]
}

/// A peer config whose Opportunity sync has `dirs.len()` fields, F{i}__c on the source side
/// and G{i}__c on the target side, with the given directions, plus a constant.
fn settings(dirs: &[Direction]) -> Settings {
    let fields: Vec<String> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = match d {
                Direction::Both => "both",
                Direction::ToTarget => "to_target",
                Direction::ToSource => "to_source",
            };
            format!("{{ source = \"F{i}__c\", target = \"G{i}__c\", direction = \"{d}\" }}")
        })
        .collect();
    let text = format!(
        r#"
[orgs.a]
login_url = "https://login.salesforce.com"
auth = {{ flow = "client_credentials", client_id = "x", client_secret = "y" }}
[orgs.b]
login_url = "https://login.salesforce.com"
auth = {{ flow = "client_credentials", client_id = "x", client_secret = "y" }}
[topology]
kind = "peer"
orgs = ["a", "b"]
[[sync]]
object = "Opportunity"
target_object = "Deal__c"
fields = [{}]
constants = {{ From_Hub__c = true }}
"#,
        fields.join(", ")
    );
    Settings::from_files(&[("t.toml", &text)], &|_| None).unwrap()
}

const DOWN: Leg = Leg {
    from_source_side: true,
    to_source_side: false,
    travel: Travel {
        downstream: true,
        upstream: false,
    },
};
const UP: Leg = Leg {
    from_source_side: false,
    to_source_side: true,
    travel: Travel {
        downstream: false,
        upstream: true,
    },
};

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::Both),
        Just(Direction::ToTarget),
        Just(Direction::ToSource)
    ]
}

proptest! {
    #[test]
    fn mapping_round_trips_fields_that_flow_both_ways(cols in prop::collection::vec((direction(), value()), 1..8)) {
        let dirs: Vec<Direction> = cols.iter().map(|c| c.0).collect();
        let s = settings(&dirs);
        let sync = &s.syncs[0];
        let record: Fields = cols.iter().enumerate().map(|(i, c)| (format!("F{i}__c"), c.1.clone())).collect();
        let none = |_: &str, _: &str| None;
        let there = map_fields(&s, sync, DOWN, &record, &gid(), &org(1), &none).unwrap();
        prop_assert_eq!(&there.payload["OrgSync_Global_Id__c"], &PayloadValue::value(FieldValue::Text(gid().to_string())));
        prop_assert_eq!(&there.payload["From_Hub__c"], &PayloadValue::value(FieldValue::Bool(true)));
        let target_values = payload_values(&there.payload);
        for (i, (d, v)) in cols.iter().enumerate() {
            let got = target_values.get(&format!("G{i}__c"));
            prop_assert_eq!(got, (*d != Direction::ToSource).then_some(v));
        }
        let back = map_fields(&s, sync, UP, &target_values, &gid(), &org(2), &none).unwrap();
        prop_assert!(!back.payload.contains_key("From_Hub__c"), "constants only go to the target side");
        let back_values = payload_values(&back.payload);
        for (i, (d, v)) in cols.iter().enumerate() {
            prop_assert_eq!(back_values.get(&format!("F{i}__c")), (*d == Direction::Both).then_some(v));
        }
        // merge keys are the same from either side
        prop_assert_eq!(to_merge_keys(sync, true, &record).len(), cols.len());
        let keyed = to_merge_keys(sync, false, &target_values);
        let synced_only: Fields = target_values.into_iter().filter(|(k, _)| k.starts_with('G')).collect();
        prop_assert_eq!(from_merge_keys(sync, false, &keyed), synced_only);
    }

    #[test]
    fn fingerprints_ignore_format_and_catch_every_change(vals in prop::collection::vec(value(), 1..8), which in any::<prop::sample::Index>(), other in value()) {
        let names: Vec<String> = (0..vals.len()).map(|i| format!("Field{i}__c")).collect();
        let record: Fields = names.iter().cloned().zip(vals.iter().cloned()).collect();
        // the same values written differently: other name case and order, other number and
        // datetime text, "" for null
        let mut alt: Vec<(String, FieldValue)> = names.iter().zip(&vals).map(|(n, v)| {
            let v = match v {
                FieldValue::Int(i) => FieldValue::Number(format!("{i}.000")),
                FieldValue::Number(n) => FieldValue::Number(format!("{n}0")),
                FieldValue::DateTime(t) => FieldValue::parse_datetime(&t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()).unwrap(),
                FieldValue::Null => FieldValue::Text(String::new()),
                v => v.clone(),
            };
            (n.to_uppercase(), v)
        }).collect();
        alt.reverse();
        let alt: Fields = alt.into_iter().collect();
        prop_assert_eq!(fingerprint(&record, &names), fingerprint(&alt, &names));
        let i = which.index(vals.len());
        if !same_value(&vals[i], &other) {
            let mut changed = record.clone();
            changed.insert(names[i].clone(), other);
            prop_assert_ne!(fingerprint(&record, &names), fingerprint(&changed, &names));
        }
    }
}

#[test]
fn datetime_text_forms_fingerprint_alike() {
    let t = DateTime::<Utc>::from_timestamp_millis(1_535_194_800_000).unwrap();
    let names = vec!["CloseDate__c".to_string()];
    let a: Fields = [("CloseDate__c".to_string(), FieldValue::DateTime(t))]
        .into_iter()
        .collect();
    let b: Fields = [(
        "closedate__c".to_string(),
        FieldValue::parse_datetime(&t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap(),
    )]
    .into_iter()
    .collect();
    assert_eq!(fingerprint(&a, &names), fingerprint(&b, &names));
}

const LOOKUPS: &str = r#"
[orgs.hub]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[topology]
kind = "hub_and_spoke"
hub = "hub"
spokes = ["v"]
[[sync]]
object = "Account"
fields = ["Name"]
global_id_field = "Acct_Gid__c"
[[sync]]
object = "Opportunity"
fields = ["Name", "AccountId", "Partner__c", "Pricebook2Id", "CampaignId"]
parents = [
  { field = "AccountId", policy = "sync", object = "Account" },
  { field = "Partner__c", policy = "match_by_name", object = "Account" },
  { field = "Pricebook2Id", policy = "fixed", fixed_id = "01s000000000001" },
  { field = "CampaignId", policy = "none" },
]
"#;

#[test]
fn lookups_become_global_id_references() {
    let s = Settings::from_files(&[("t.toml", LOOKUPS)], &|_| None).unwrap();
    let opp = &s.syncs[1];
    let parent_gid = GlobalId::new(org(3), "001000000000009").unwrap();
    let mut rec = Fields::new();
    rec.insert("Name".into(), FieldValue::Text("Deal".into()));
    rec.insert(
        "AccountId".into(),
        FieldValue::Text("001000000000001AAA".into()),
    );
    rec.insert(
        "Partner__c".into(),
        FieldValue::Text("001000000000002AAA".into()),
    );
    rec.insert(
        "Pricebook2Id".into(),
        FieldValue::Text("01s000000000009AAA".into()),
    );
    rec.insert(
        "CampaignId".into(),
        FieldValue::Text("701000000000001AAA".into()),
    );
    rec.insert(
        "Partner__c".into(),
        orgsync_core::mapping::name_ref("Globex"),
    );
    let known = |object: &str, id: &str| {
        (object == "Account" && id == "001000000000001AAA").then(|| parent_gid.clone())
    };
    let m = map_fields(&s, opp, DOWN, &rec, &gid(), &org(1), &known).unwrap();
    assert_eq!(
        m.payload["AccountId"],
        PayloadValue::Reference {
            relationship: "Account".into(),
            external_field: "Acct_Gid__c".into(),
            global_id: parent_gid.clone()
        }
    );
    assert_eq!(m.parents.len(), 1);
    assert_eq!(m.parents[0].global_id, parent_gid);
    assert_eq!(
        m.payload["Partner__c"],
        PayloadValue::MatchByName {
            object: "Account".into(),
            name: "Globex".into()
        }
    );
    assert_eq!(
        m.payload["Pricebook2Id"],
        PayloadValue::value(FieldValue::Text("01s000000000001AAA".into()))
    );
    assert!(!m.payload.contains_key("CampaignId"));
    // a match_by_name lookup whose Name could not be read (still an id) is left out
    let mut raw = rec.clone();
    raw.insert(
        "Partner__c".into(),
        FieldValue::Text("001000000000002AAA".into()),
    );
    let m = map_fields(&s, opp, DOWN, &raw, &gid(), &org(1), &known).unwrap();
    assert!(!m.payload.contains_key("Partner__c"));
    // a parent the id map does not know was created in the org the change came from
    let m = map_fields(&s, opp, DOWN, &rec, &gid(), &org(1), &|_, _| None).unwrap();
    assert_eq!(
        m.parents[0].global_id,
        GlobalId::new(org(1), "001000000000001").unwrap()
    );
    // writing to the hub (source side) leaves the hub's own fixed lookup alone
    let m = map_fields(&s, opp, UP, &rec, &gid(), &org(2), &|_, _| None).unwrap();
    assert!(!m.payload.contains_key("Pricebook2Id"));
    // a cleared lookup stays cleared; a non-id value is an error
    rec.insert("AccountId".into(), FieldValue::Null);
    let m = map_fields(&s, opp, DOWN, &rec, &gid(), &org(1), &|_, _| None).unwrap();
    assert_eq!(
        m.payload["AccountId"],
        PayloadValue::value(FieldValue::Null)
    );
    rec.insert("AccountId".into(), FieldValue::Int(5));
    assert!(map_fields(&s, opp, DOWN, &rec, &gid(), &org(1), &|_, _| None).is_err());
}

/// 15-character Salesforce-shaped record ids of an object prefix.
fn record_id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[0-9A-Za-z]{12}".prop_map(move |s| format!("{prefix}{s}"))
}

proptest! {
    /// Lookups in canonical form: two orgs pointing at the same parent (each by its own local
    /// id, which the id map knows) hold the same value; the rewrite is idempotent; match-by-name,
    /// fixed and none lookups are left alone; a parent the id map does not know gets the
    /// capturing org's global id.
    #[test]
    fn canonical_lookups_agree_across_orgs_and_are_idempotent(
        local_a in record_id("001"),
        local_b in record_id("001"),
        unknown in record_id("001"),
        partner in record_id("001"),
    ) {
        let s = Settings::from_files(&[("t.toml", LOOKUPS)], &|_| None).unwrap();
        let opp = &s.syncs[1];
        let parent = GlobalId::new(org(3), "001000000000009").unwrap();
        let known = |id: &str| id == local_a || id == local_b;
        let resolver = |object: &str, id: &str| {
            (object == "Account" && known(id)).then(|| parent.clone())
        };
        let keyed = |account: &str| {
            let mut f = Fields::new();
            f.insert("AccountId".into(), FieldValue::Text(account.to_string()));
            f.insert("Partner__c".into(), FieldValue::Text(partner.clone()));
            to_merge_keys(opp, true, &f)
        };
        let (mut a, mut b) = (keyed(&local_a), keyed(&local_b));
        canonical_lookups(opp, true, &mut a, &org(1), &resolver);
        canonical_lookups(opp, true, &mut b, &org(2), &resolver);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a["accountid"], &FieldValue::Text(parent.to_string()));
        prop_assert_eq!(&a["partner__c"], &FieldValue::Text(partner.clone()));
        let again = {
            let mut x = a.clone();
            canonical_lookups(opp, true, &mut x, &org(2), &|_, _| None);
            x
        };
        prop_assert_eq!(&again, &a);
        let mut c = keyed(&unknown);
        canonical_lookups(opp, true, &mut c, &org(1), &|_, _| None);
        let expected = GlobalId::new(org(1), &unknown).unwrap().to_string();
        prop_assert_eq!(&c["accountid"], &FieldValue::Text(expected));
        // what our own write left: a known parent maps, an unmapped one is left out (not
        // taken for a parent born there), a global id stays
        let mut own = keyed(&local_a);
        canonical_known_lookups(opp, true, &mut own, &resolver);
        prop_assert_eq!(&own["accountid"], &FieldValue::Text(parent.to_string()));
        let mut own = keyed(&unknown);
        canonical_known_lookups(opp, true, &mut own, &resolver);
        prop_assert!(!own.contains_key("accountid"));
        let mut own = a.clone();
        canonical_known_lookups(opp, true, &mut own, &|_, _| None);
        prop_assert_eq!(&own, &a);
    }
}
