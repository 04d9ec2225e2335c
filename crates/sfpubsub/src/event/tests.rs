use super::*;
use apache_avro::types::Value as V;

/// A CDC-shaped schema: header record, a compound Name, an Address record reused by `Ref`, and
/// typed optional fields. `change_type` is the header's changeType schema (enum or string).
fn schema_json(change_type: &str) -> String {
    let opt = |name: &str, ty: &str, doc: &str| {
        format!(r#"{{"name":"{name}","type":["null",{ty}],"default":null,"doc":"{doc}"}}"#)
    };
    let arr =
        |name: &str| format!(r#"{{"name":"{name}","type":{{"type":"array","items":"string"}}}}"#);
    let header = format!(
        r#"{{"type":"record","name":"ChangeEventHeader","fields":[
          {{"name":"entityName","type":"string"}}, {},
          {{"name":"changeType","type":{change_type}}},
          {{"name":"changeOrigin","type":"string"}}, {{"name":"transactionKey","type":"string"}},
          {{"name":"sequenceNumber","type":"int"}}, {{"name":"commitTimestamp","type":"long"}},
          {{"name":"commitNumber","type":"long"}}, {{"name":"commitUser","type":"string"}},
          {}, {}, {}]}}"#,
        arr("recordIds"),
        arr("nulledFields"),
        arr("diffFields"),
        arr("changedFields")
    );
    let name = r#"{"type":"record","name":"Switchable_PersonName","fields":[
        {"name":"Salutation","type":["null","string"],"default":null},
        {"name":"FirstName","type":["null","string"],"default":null},
        {"name":"LastName","type":["null","string"],"default":null}]}"#;
    let address = r#"{"type":"record","name":"Address","fields":[
        {"name":"Street","type":["null","string"],"default":null},
        {"name":"City","type":["null","string"],"default":null}]}"#;
    format!(
        r#"{{"type":"record","name":"ContactChangeEvent","namespace":"com.sforce.eventbus","fields":[
          {{"name":"ChangeEventHeader","type":{header},"doc":"Data:ComplexValueType"}},
          {}, {}, {}, {}, {}, {}, {}, {}]}}"#,
        opt("Name", name, "Data:Switchable_PersonName"),
        opt("AccountId", "\"string\"", "Data:EntityId"),
        opt("MailingAddress", address, "Data:Address"),
        opt("OtherAddress", "\"Address\"", "Data:Address"),
        opt("Birthdate", "\"int\"", "Data:Date"),
        opt("LastModifiedDate", "\"long\"", "Data:DateTime"),
        opt("Score__c", "\"double\"", "Data:Double"),
        opt("Active__c", "\"boolean\"", "Data:Boolean"),
    )
}

const ENUM_CT: &str = r#"{"type":"enum","name":"ChangeType","symbols":["CREATE","UPDATE","DELETE","UNDELETE","GAP_CREATE","GAP_UPDATE","GAP_DELETE","GAP_UNDELETE","GAP_OVERFLOW"]}"#;

fn strs(v: &[&str]) -> V {
    V::Array(v.iter().map(|s| V::String(s.to_string())).collect())
}
fn some(v: V) -> V {
    V::Union(1, Box::new(v))
}
fn none() -> V {
    V::Union(0, Box::new(V::Null))
}

fn header(change_type: V, origin: &str, changed: &[&str], nulled: &[&str]) -> V {
    V::Record(vec![
        ("entityName".into(), V::String("Contact".into())),
        (
            "recordIds".into(),
            strs(&["003000000000001AAA", "003000000000002AAA"]),
        ),
        ("changeType".into(), change_type),
        ("changeOrigin".into(), V::String(origin.into())),
        ("transactionKey".into(), V::String("0001-abcd".into())),
        ("sequenceNumber".into(), V::Int(2)),
        ("commitTimestamp".into(), V::Long(1_704_067_200_000)),
        ("commitNumber".into(), V::Long(1_234_567_890_123)),
        ("commitUser".into(), V::String("005000000000001AAA".into())),
        ("nulledFields".into(), strs(nulled)),
        ("diffFields".into(), strs(&[])),
        ("changedFields".into(), strs(changed)),
    ])
}

fn record(header: V) -> V {
    let name = V::Record(vec![
        ("Salutation".into(), none()),
        ("FirstName".into(), none()),
        ("LastName".into(), some(V::String("Lovelace".into()))),
    ]);
    let addr = |street: &str, city: &str| {
        V::Record(vec![
            ("Street".into(), some(V::String(street.into()))),
            ("City".into(), some(V::String(city.into()))),
        ])
    };
    V::Record(vec![
        ("ChangeEventHeader".into(), header),
        ("Name".into(), some(name)),
        ("AccountId".into(), none()),
        (
            "MailingAddress".into(),
            some(addr("1 Main St", "Springfield")),
        ),
        (
            "OtherAddress".into(),
            some(addr("2 Side St", "Shelbyville")),
        ),
        ("Birthdate".into(), some(V::Int(19_723))),
        ("LastModifiedDate".into(), some(V::Long(1_704_067_200_123))),
        ("Score__c".into(), some(V::Double(1.5))),
        ("Active__c".into(), some(V::Boolean(true))),
    ])
}

fn encode(schema: &EventSchema, v: V) -> Vec<u8> {
    apache_avro::writer::datum::GenericDatumWriter::builder(&schema.schema)
        .build()
        .unwrap()
        .write_value_to_vec(v)
        .unwrap()
}

#[test]
fn decodes_update_with_bitmaps_enum_change_type_and_typed_fields() {
    let schema = EventSchema::parse("sch-1", &schema_json(ENUM_CT)).unwrap();
    let h = header(
        V::Enum(1, "UPDATE".into()),
        "com/salesforce/api/rest/66.0;client=orgsync",
        // bits 5,6 = Birthdate, LastModifiedDate; Name.LastName; MailingAddress.City
        &["0x60", "1-0x04", "3-0x02"],
        &["0x04"],
    );
    let bytes = encode(&schema, record(h));
    let ev = decode(
        &schema,
        ReplayId::from_bytes(vec![0, 7]),
        "e-1".into(),
        &bytes,
    )
    .unwrap();
    assert_eq!(ev.header.change_type, ChangeType::Update);
    assert_eq!(ev.header.entity_name, "Contact");
    assert_eq!(ev.header.record_ids.len(), 2);
    assert_eq!(ev.header.origin_client.as_deref(), Some("orgsync"));
    assert_eq!(ev.header.sequence_number, 2);
    assert_eq!(ev.header.commit_number, 1_234_567_890_123);
    assert_eq!(
        ev.header.commit_timestamp.timestamp_millis(),
        1_704_067_200_000
    );
    assert_eq!(
        ev.header.changed_fields,
        [
            "Birthdate",
            "LastModifiedDate",
            "Name.LastName",
            "MailingAddress.City"
        ]
    );
    assert_eq!(ev.header.nulled_fields, ["AccountId"]);
    assert!(ev.header.diff_fields.is_empty());
    let f = &ev.fields;
    assert_eq!(f["LastName"], "Lovelace");
    assert!(!f.contains_key("FirstName"), "null parts are left out");
    assert!(!f.contains_key("AccountId"));
    assert_eq!(f["MailingCity"], "Springfield");
    assert_eq!(f["OtherStreet"], "2 Side St", "a Ref'd record decodes too");
    assert_eq!(f["Birthdate"], "2024-01-01");
    assert_eq!(f["LastModifiedDate"], "2024-01-01T00:00:00.123+0000");
    assert_eq!(f["Score__c"], 1.5);
    assert_eq!(f["Active__c"], true);
    let changed = ev.changed_values();
    assert_eq!(changed["LastName"], "Lovelace");
    assert_eq!(changed["MailingCity"], "Springfield");
    assert_eq!(changed["AccountId"], Json::Null);
    assert_eq!(changed.len(), 5);
}

#[test]
fn a_changed_compound_parent_expands_to_its_parts_and_missing_values_are_not_nulls() {
    let schema = EventSchema::parse("sch-1", &schema_json(ENUM_CT)).unwrap();
    // bit 1 = Name (the compound parent), bit 2 = AccountId (changed, but no value and not
    // nulled: left out, not reported as null).
    let h = header(V::Enum(1, "UPDATE".into()), "", &["0x06"], &[]);
    let ev = decode(
        &schema,
        ReplayId::default(),
        String::new(),
        &encode(&schema, record(h)),
    )
    .unwrap();
    assert_eq!(ev.header.changed_fields, ["Name", "AccountId"]);
    assert_eq!(ev.compound_parts["Name"], ["LastName"]);
    assert_eq!(
        ev.compound_parts["MailingAddress"],
        ["MailingStreet", "MailingCity"]
    );
    let changed = ev.changed_values();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed["LastName"], "Lovelace");
}

#[test]
fn decodes_string_change_type_and_plain_field_names() {
    let schema = EventSchema::parse("sch-2", &schema_json(r#""string""#)).unwrap();
    let h = header(
        V::String("GAP_UPDATE".into()),
        "",
        &["LastModifiedDate", "Name"],
        &[],
    );
    let ev = decode(
        &schema,
        ReplayId::default(),
        String::new(),
        &encode(&schema, record(h)),
    )
    .unwrap();
    assert_eq!(ev.header.change_type, ChangeType::GapUpdate);
    assert!(ev.header.change_type.is_gap());
    assert_eq!(ev.header.origin_client, None);
    assert_eq!(ev.header.changed_fields, ["LastModifiedDate", "Name"]);
}

#[test]
fn bad_payloads_are_errors() {
    let schema = EventSchema::parse("sch-1", &schema_json(ENUM_CT)).unwrap();
    assert!(
        decode(
            &schema,
            ReplayId::default(),
            String::new(),
            &[0xff, 0xff, 0x01]
        )
        .is_err()
    );
    let h = header(V::Enum(1, "UPDATE".into()), "", &["0x8000"], &[]);
    let err = decode(
        &schema,
        ReplayId::default(),
        String::new(),
        &encode(&schema, record(h)),
    )
    .unwrap_err();
    assert!(err.contains("changedFields"), "{err}");
    let unknown = EventSchema::parse("sch-3", &schema_json(r#""string""#)).unwrap();
    let h = header(V::String("SNAPSHOT".into()), "", &[], &[]);
    assert!(
        decode(
            &unknown,
            ReplayId::default(),
            String::new(),
            &encode(&unknown, record(h))
        )
        .is_err()
    );
}

#[test]
fn platform_event_without_header_is_refused() {
    let json = r#"{"name":"CM_Test_Event__e","namespace":"com.sforce.eventbus","type":"record","fields":[{"name":"CreatedDate","type":"long","doc":"CreatedDate:DateTime"}]}"#;
    let schema = EventSchema::parse("pe", json).unwrap();
    let bytes = encode(&schema, V::Record(vec![("CreatedDate".into(), V::Long(0))]));
    let err = decode(&schema, ReplayId::default(), String::new(), &bytes).unwrap_err();
    assert!(err.contains("ChangeEventHeader"), "{err}");
}

#[test]
fn origin_client_tag() {
    assert_eq!(
        origin_client("com/salesforce/api/soap/49.0;client=Astro").as_deref(),
        Some("Astro")
    );
    assert_eq!(
        origin_client("com/salesforce/api/rest/59.0;client=xyz;other=1").as_deref(),
        Some("xyz")
    );
    assert_eq!(origin_client("com/salesforce/api/rest/59.0"), None);
    assert_eq!(origin_client(""), None);
    assert_eq!(origin_client("x;client="), None);
}

#[test]
fn rest_names_of_compound_parts() {
    assert_eq!(rest_field_name("Name.LastName"), "LastName");
    assert_eq!(rest_field_name("BillingAddress.City"), "BillingCity");
    assert_eq!(rest_field_name("Address.Street"), "Street");
    assert_eq!(rest_field_name("Status__c"), "Status__c");
}
