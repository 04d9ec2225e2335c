//! Push API parsing and signing: no panic on any input, each wrong field named, and a
//! signature that verifies exactly when body, timestamp and secret are unchanged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orgsync_core::push::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const ORG: &str = "00D000000000001EAA";

fn valid() -> Value {
    json!({
        "transactionId": "t-1",
        "sourceOrgId": ORG,
        "timestamp": "2026-01-31T12:00:00.000Z",
        "operation": "upsert",
        "records": [
            { "attributes": { "type": "Work_Item__c" }, "externalId": "x-1", "Id": "a00000000000001AAA", "Name": "one" },
            { "attributes": { "type": "Work_Item__c" }, "externalId": "x-2", "Name": "two" }
        ]
    })
}

fn field_of(v: &Value) -> Option<String> {
    parse(v.to_string().as_bytes())
        .err()
        .and_then(|e| e.field().map(str::to_string))
}

#[test]
fn a_valid_payload_parses() {
    let r = parse(valid().to_string().as_bytes()).unwrap();
    assert_eq!(r.transaction_id, "t-1");
    assert_eq!(r.source_org_id, ORG);
    assert_eq!(r.operation, PushOperation::Upsert);
    assert_eq!(r.object, "Work_Item__c");
    assert_eq!(r.records.len(), 2);
    assert_eq!(r.records[0].id.as_deref(), Some("a00000000000001AAA"));
    assert_eq!(r.records[0].fields.keys().collect::<Vec<_>>(), ["Name"]);
    assert_eq!(r.timestamp.to_rfc3339(), "2026-01-31T12:00:00+00:00");
}

#[test]
fn a_15_char_org_id_is_normalised_and_salesforce_timestamps_parse() {
    let mut v = valid();
    v["sourceOrgId"] = json!("00D000000000001");
    v["timestamp"] = json!("2026-01-31T12:00:00.000+0000");
    let r = parse(v.to_string().as_bytes()).unwrap();
    assert_eq!(r.source_org_id, ORG);
}

#[test]
fn each_missing_field_is_named() {
    for f in [
        "transactionId",
        "sourceOrgId",
        "timestamp",
        "operation",
        "records",
    ] {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(f);
        let e = parse(v.to_string().as_bytes()).unwrap_err();
        assert_eq!(e, PushError::Missing { field: f.into() }, "{f}");
    }
    let mut v = valid();
    v["records"][1]
        .as_object_mut()
        .unwrap()
        .remove("externalId");
    assert_eq!(field_of(&v).as_deref(), Some("records[1].externalId"));
}

#[test]
fn each_wrong_field_is_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("operation", json!("merge"), "operation"),
        ("records", json!({"a": 1}), "records"),
        ("records", json!([]), "records"),
        ("records", json!([1]), "records[0]"),
        ("timestamp", json!("yesterday"), "timestamp"),
        ("timestamp", json!("1767225600000"), "timestamp"),
        ("sourceOrgId", json!("001000000000001AAA"), "sourceOrgId"),
        ("sourceOrgId", json!("00D-bad"), "sourceOrgId"),
        ("transactionId", json!(""), "transactionId"),
        ("transactionId", json!(7), "transactionId"),
        ("object", json!("Bad Name"), "object"),
    ];
    for (key, value, field) in cases {
        let mut v = valid();
        v[key] = value.clone();
        assert_eq!(field_of(&v).as_deref(), Some(field), "{key} = {value}");
    }
}

#[test]
fn object_from_top_level_or_records_must_agree() {
    let mut v = valid();
    v["object"] = json!("Account");
    assert_eq!(field_of(&v).as_deref(), Some("records[0].attributes.type"));
    let mut v = valid();
    v["records"][1]["attributes"]["type"] = json!("Account");
    assert_eq!(field_of(&v).as_deref(), Some("records[1].attributes.type"));
    // no type anywhere
    let mut v = valid();
    for r in v["records"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("attributes");
    }
    assert_eq!(field_of(&v).as_deref(), Some("object"));
    // top-level object alone is enough
    v["object"] = json!("Work_Item__c");
    assert_eq!(
        parse(v.to_string().as_bytes()).unwrap().object,
        "Work_Item__c"
    );
    // a type on only some records, no top-level object: the untyped one is named
    let mut v = valid();
    v["records"][0]
        .as_object_mut()
        .unwrap()
        .remove("attributes");
    assert_eq!(field_of(&v).as_deref(), Some("records[0].attributes.type"));
}

#[test]
fn malformed_and_non_object_bodies() {
    assert!(matches!(parse(b"{"), Err(PushError::Malformed(_))));
    assert_eq!(parse(b"[1,2]"), Err(PushError::NotAnObject));
    assert!(matches!(parse(b""), Err(PushError::Malformed(_))));
}

#[test]
fn signature_known_cases() {
    let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    let w = DEFAULT_WINDOW;
    let sig = sign(b"k", "1700000000", b"body");
    assert_eq!(
        verify_signature(b"k", Some("1700000000"), b"body", Some(&sig), now, w),
        Ok(())
    );
    assert_eq!(
        verify_signature(b"k", None, b"body", Some(&sig), now, w),
        Err(SignatureError::MissingTimestamp)
    );
    assert_eq!(
        verify_signature(b"k", Some("1700000000"), b"body", None, now, w),
        Err(SignatureError::MissingSignature)
    );
    assert_eq!(
        verify_signature(b"k", Some("1700000000"), b"body", Some("abc"), now, w),
        Err(SignatureError::BadFormat)
    );
    assert_eq!(
        verify_signature(b"k", Some("soon"), b"body", Some(&sig), now, w),
        Err(SignatureError::BadTimestamp)
    );
    let old = sign(b"k", "1699999600", b"body");
    assert!(matches!(
        verify_signature(b"k", Some("1699999600"), b"body", Some(&old), now, w),
        Err(SignatureError::Stale { skew_secs: 400, .. })
    ));
    let upper = sig.to_uppercase().replace("SHA256=", "sha256=");
    assert_eq!(
        verify_signature(b"k", Some("1700000000"), b"body", Some(&upper), now, w),
        Ok(())
    );
}

/// Mutations of the valid payload: drop a key, change a value's type, truncate, flip a byte.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let text = valid().to_string().into_bytes();
    let n = text.len();
    (0..n, any::<u8>(), 0..4u8, 0..n).prop_map(move |(pos, byte, kind, cut)| {
        let mut t = text.clone();
        match kind {
            0 => t[pos] = byte,
            1 => t.truncate(cut),
            2 => t.insert(pos, byte),
            _ => {
                t.remove(pos);
            }
        }
        t
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutations(bytes in mutated()) {
        let _ = parse(&bytes);
    }

    /// Any field of the valid payload replaced by any JSON value: Ok or an error naming a field
    /// under the replaced key (never a panic, never blame elsewhere).
    #[test]
    fn a_replaced_field_is_the_one_blamed(
        key in prop::sample::select(vec!["transactionId", "sourceOrgId", "timestamp", "operation", "records", "object"]),
        value in json_value(),
    ) {
        let mut v = valid();
        v[key] = value;
        if let Err(e) = parse(v.to_string().as_bytes()) {
            let f = e.field().unwrap_or("");
            // a bad records array may blame the object type it implies
            prop_assert!(f.starts_with(key) || (key == "records" && f == "object")
                || (key == "object" && f.starts_with("records[")), "{} blamed for {}", f, key);
        }
    }

    #[test]
    fn signature_verifies_iff_unchanged(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        other_secret in prop::collection::vec(any::<u8>(), 1..64),
        body in prop::collection::vec(any::<u8>(), 0..256),
        other_body in prop::collection::vec(any::<u8>(), 0..256),
        ts in 1_600_000_000i64..2_000_000_000,
        dts in -1000i64..1000,
        skew in -300i64..=300,
    ) {
        let now = DateTime::<Utc>::from_timestamp(ts + skew, 0).unwrap();
        let w = Duration::from_secs(300);
        let t = ts.to_string();
        let sig = sign(&secret, &t, &body);
        prop_assert_eq!(verify_signature(&secret, Some(&t), &body, Some(&sig), now, w), Ok(()));
        let r = verify_signature(&other_secret, Some(&t), &body, Some(&sig), now, w);
        prop_assert_eq!(r.is_ok(), other_secret == secret);
        let r = verify_signature(&secret, Some(&t), &other_body, Some(&sig), now, w);
        prop_assert_eq!(r.is_ok(), other_body == body);
        let t2 = (ts + dts).to_string();
        let r = verify_signature(&secret, Some(&t2), &body, Some(&sig), now, w);
        if dts == 0 { prop_assert!(r.is_ok()); } else { prop_assert!(r.is_err()); }
    }

    #[test]
    fn outside_the_window_is_stale_even_when_signed(
        ts in 1_600_000_000i64..2_000_000_000,
        skew in 301i64..100_000,
        sign_of_skew in any::<bool>(),
    ) {
        let skew = if sign_of_skew { skew } else { -skew };
        let now = DateTime::<Utc>::from_timestamp(ts + skew, 0).unwrap();
        let t = ts.to_string();
        let sig = sign(b"s", &t, b"b");
        let r = verify_signature(b"s", Some(&t), b"b", Some(&sig), now, Duration::from_secs(300));
        let is_stale = matches!(r, Err(SignatureError::Stale { .. }));
        prop_assert!(is_stale);
    }
}
