//! A document's Title and its latest version's are one value: an update of either sets the
//! other (stamped like any update, so a poll of either object sees the rename); an older
//! version's Title is its own.

use super::common::*;
use serde_json::json;

#[test]
fn a_rename_of_the_document_or_its_latest_version_renames_both() {
    let org = org();
    let c = admin(&org);
    let v1 = create(
        &org,
        &c,
        "ContentVersion",
        json!({"Title": "Q1", "PathOnClient": "q1.txt", "VersionData": "aGVsbG8="}),
    )
    .unwrap();
    let doc = get(&org, &c, "ContentVersion", &v1)["ContentDocumentId"]
        .as_str()
        .unwrap()
        .to_string();
    let v2 = create(
        &org,
        &c,
        "ContentVersion",
        json!({"PathOnClient": "q1.txt", "VersionData": "aGk=", "ContentDocumentId": doc}),
    )
    .unwrap();

    update(&org, &c, &doc, json!({"Title": "Renamed"})).unwrap();
    assert_eq!(get(&org, &c, "ContentVersion", &v2)["Title"], "Renamed");
    assert_eq!(
        get(&org, &c, "ContentVersion", &v1)["Title"],
        "Q1",
        "an older version keeps its own Title"
    );

    update(&org, &c, &v2, json!({"Title": "Final"})).unwrap();
    assert_eq!(get(&org, &c, "ContentDocument", &doc)["Title"], "Final");

    update(&org, &c, &v1, json!({"Title": "Old one"})).unwrap();
    assert_eq!(
        get(&org, &c, "ContentDocument", &doc)["Title"],
        "Final",
        "an older version's Title is its own"
    );
}
