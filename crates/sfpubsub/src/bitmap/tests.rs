use super::*;
use proptest::prelude::*;

fn slots() -> Vec<FieldSlot> {
    let plain = |n: &str| FieldSlot {
        name: n.into(),
        children: None,
    };
    let mut v = vec![
        plain("ChangeEventHeader"),
        FieldSlot {
            name: "Name".into(),
            children: Some(vec![
                "Salutation".into(),
                "FirstName".into(),
                "LastName".into(),
            ]),
        },
        plain("AccountId"),
        plain("Email"),
        FieldSlot {
            name: "MailingAddress".into(),
            children: Some(
                [
                    "Street",
                    "City",
                    "State",
                    "PostalCode",
                    "Country",
                    "Latitude",
                    "Longitude",
                ]
                .map(String::from)
                .to_vec(),
            ),
        },
    ];
    for i in 5..20 {
        v.push(plain(&format!("F{i}__c")));
    }
    v
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn top_level_single_byte() {
    // bits 2 and 3 → AccountId, Email
    assert_eq!(
        decode_fields(&s(&["0x0C"]), &slots()).unwrap(),
        s(&["AccountId", "Email"])
    );
}

#[test]
fn top_level_multi_byte_is_big_endian() {
    // 0x0102: bit 1 (Name) and bit 8 (F8__c)
    assert_eq!(
        decode_fields(&s(&["0x0102"]), &slots()).unwrap(),
        s(&["Name", "F8__c"])
    );
    // odd digit count and lowercase
    assert_eq!(
        decode_fields(&s(&["0x102"]), &slots()).unwrap(),
        s(&["Name", "F8__c"])
    );
}

#[test]
fn nested_compound_fields() {
    assert_eq!(
        decode_fields(&s(&["0x08", "1-0x04", "4-0x03"]), &slots()).unwrap(),
        s(&[
            "Email",
            "Name.LastName",
            "MailingAddress.Street",
            "MailingAddress.City"
        ])
    );
}

#[test]
fn plain_names_pass_through() {
    assert_eq!(
        decode_fields(&s(&["LastModifiedDate", "Name"]), &slots()).unwrap(),
        s(&["LastModifiedDate", "Name"])
    );
    // a field name containing a dash is not a nested bitmap
    assert_eq!(decode_fields(&s(&["a-b"]), &slots()).unwrap(), s(&["a-b"]));
}

#[test]
fn errors_instead_of_panics() {
    assert!(matches!(
        decode_fields(&s(&["0x100000"]), &slots()),
        Err(BitmapError::OutOfRange { bit: 20, .. })
    ));
    assert!(matches!(
        decode_fields(&s(&["2-0x01"]), &slots()),
        Err(BitmapError::NotCompound { parent: 2, .. })
    ));
    assert!(matches!(
        decode_fields(&s(&["0xZZ"]), &slots()),
        Err(BitmapError::BadHex(_))
    ));
    assert!(matches!(
        decode_fields(&s(&["1-0x10"]), &slots()),
        Err(BitmapError::OutOfRange { bit: 4, len: 3, .. })
    ));
}

#[test]
fn empty_is_empty() {
    assert!(decode_fields(&[], &slots()).unwrap().is_empty());
}

proptest! {
    #[test]
    fn decode_never_panics(entries in proptest::collection::vec(".{0,24}", 0..4),
                           hexes in proptest::collection::vec("(0x|[0-9]{1,2}-0x)[0-9a-fA-F]{0,12}", 0..4)) {
        let mut all = entries;
        all.extend(hexes);
        let _ = decode_fields(&all, &slots());
    }

    #[test]
    fn encode_then_decode_round_trips(top in proptest::collection::btree_set(1usize..20, 0..10),
                                      name in proptest::collection::btree_set(0usize..3, 0..3),
                                      addr in proptest::collection::btree_set(0usize..7, 0..7)) {
        let slots = slots();
        let mut names: Vec<String> = top.iter().map(|i| slots[*i].name.clone()).collect();
        let kids = |p: usize, set: &std::collections::BTreeSet<usize>| -> Vec<String> {
            set.iter().map(|c| format!("{}.{}", slots[p].name, slots[p].children.as_ref().unwrap()[*c])).collect()
        };
        names.extend(kids(1, &name));
        names.extend(kids(4, &addr));
        let encoded = encode_fields(&names, &slots);
        prop_assert_eq!(decode_fields(&encoded, &slots).unwrap(), names);
    }
}
