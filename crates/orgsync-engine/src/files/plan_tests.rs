use super::*;

fn version(id: &str, doc: &str, sum: &str) -> SourceVersion {
    SourceVersion {
        id: id.into(),
        doc: doc.into(),
        gid: format!("g-{id}"),
        checksum: sum.into(),
        latest: true,
        deleted: false,
        siblings: Vec::new(),
        title: None,
        modstamp: None,
    }
}

fn link(doc: &str, record: &str) -> SourceLink {
    SourceLink {
        doc: doc.into(),
        record: record.into(),
        share_type: "V".into(),
        visibility: "AllUsers".into(),
        modstamp: None,
    }
}

fn new_link(record: &str) -> NewLink {
    NewLink {
        record: record.into(),
        share_type: "V".into(),
        visibility: "AllUsers".into(),
    }
}

fn target_with_copy() -> TargetView {
    let mut t = TargetView::default();
    t.copies.insert("rec-1".into(), "T-rec-1".into());
    t
}

#[test]
fn a_new_file_becomes_a_document_linked_to_the_copy() {
    let p = plan(
        &[version("v1", "d1", "aa")],
        &[link("d1", "rec-1")],
        &target_with_copy(),
    );
    assert_eq!(
        p.actions,
        vec![Action::NewDocument {
            version: 0,
            links: vec![new_link("T-rec-1")]
        }]
    );
    assert!(p.waiting.is_empty());
}

#[test]
fn a_version_already_there_is_not_sent_again() {
    let mut t = target_with_copy();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: false,
            ..TargetVersion::default()
        },
    );
    t.linked
        .insert("T-rec-1".into(), vec![("T-d1".into(), Some("aa".into()))]);
    let p = plan(&[version("v1", "d1", "aa")], &[link("d1", "rec-1")], &t);
    assert_eq!(p.actions, vec![]);
    assert_eq!(p.present, 1);
}

#[test]
fn a_new_version_goes_to_the_same_document() {
    let mut t = target_with_copy();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: false,
            ..TargetVersion::default()
        },
    );
    t.linked
        .insert("T-rec-1".into(), vec![("T-d1".into(), Some("aa".into()))]);
    let mut v2 = version("v2", "d1", "bb");
    v2.siblings = vec!["g-v1".into()];
    let mut v1 = version("v1", "d1", "aa");
    v1.latest = false;
    let p = plan(&[v1, v2], &[link("d1", "rec-1")], &t);
    assert_eq!(
        p.actions,
        vec![Action::NewVersion {
            version: 1,
            doc: "T-d1".into()
        }]
    );
}

#[test]
fn the_same_bytes_linked_to_the_record_are_not_sent() {
    let mut t = target_with_copy();
    t.linked.insert(
        "T-rec-1".into(),
        vec![("T-other".into(), Some("aa".into()))],
    );
    let p = plan(&[version("v1", "d1", "aa")], &[link("d1", "rec-1")], &t);
    assert_eq!(p.actions, vec![]);
    assert_eq!(p.same_checksum, 1);
}

#[test]
fn a_record_not_landed_makes_the_file_wait() {
    let p = plan(
        &[version("v1", "d1", "aa")],
        &[link("d1", "rec-9")],
        &target_with_copy(),
    );
    assert_eq!(p.actions, vec![]);
    assert_eq!(p.waiting, vec![0]);
    // Unlinked to any synced record: neither sent nor waiting.
    let p = plan(&[version("v1", "d1", "aa")], &[], &target_with_copy());
    assert_eq!(p, Plan::default());
}

#[test]
fn a_deleted_document_is_deleted_where_it_lives_once() {
    let mut t = TargetView::default();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: false,
            ..TargetVersion::default()
        },
    );
    t.versions.insert(
        "g-v2".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: false,
            ..TargetVersion::default()
        },
    );
    let mut v1 = version("v1", "d1", "aa");
    v1.deleted = true;
    let mut v2 = version("v2", "d1", "bb");
    v2.deleted = true;
    let p = plan(&[v1, v2.clone()], &[], &t);
    assert_eq!(
        p.actions,
        vec![Action::DeleteDocument { doc: "T-d1".into() }]
    );
    // Already deleted there (or never there): nothing.
    if let Some(x) = t.versions.get_mut("g-v2") {
        x.deleted = true;
    }
    t.versions.remove("g-v1");
    assert_eq!(plan(&[v2], &[], &t).actions, vec![]);
}

#[test]
fn a_document_deleted_in_the_target_is_not_brought_back() {
    let mut t = target_with_copy();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: true,
            ..TargetVersion::default()
        },
    );
    let mut v2 = version("v2", "d1", "bb");
    v2.siblings = vec!["g-v1".into()];
    assert_eq!(plan(&[v2], &[link("d1", "rec-1")], &t).actions, vec![]);
}

#[test]
fn a_document_there_gets_the_links_it_lacks_with_their_share_type() {
    let mut t = target_with_copy();
    t.copies.insert("rec-2".into(), "T-rec-2".into());
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            deleted: false,
            ..TargetVersion::default()
        },
    );
    t.linked
        .insert("T-rec-1".into(), vec![("T-d1".into(), Some("aa".into()))]);
    let mut second = link("d1", "rec-2");
    second.share_type = "C".into();
    second.visibility = "InternalUsers".into();
    let p = plan(
        &[version("v1", "d1", "aa")],
        &[link("d1", "rec-1"), second],
        &t,
    );
    assert_eq!(
        p.actions,
        vec![Action::Link {
            doc: "T-d1".into(),
            link: NewLink {
                record: "T-rec-2".into(),
                share_type: "C".into(),
                visibility: "InternalUsers".into()
            }
        }]
    );
}

/// v1 in the source renamed "new" at `source_at`; its copy in the target titled "old" at
/// `target_at` (seconds).
fn renamed(source_at: i64, target_at: i64) -> Plan {
    let at = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0);
    let mut v = version("v1", "d1", "aa");
    v.title = Some("new".into());
    v.modstamp = at(source_at);
    let mut t = target_with_copy();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            id: "T-v1".into(),
            title: Some("old".into()),
            modstamp: at(target_at),
            ..TargetVersion::default()
        },
    );
    plan(&[v], &[], &t)
}

#[test]
fn a_rename_made_after_the_copy_follows() {
    assert_eq!(
        renamed(10, 5).actions,
        vec![Action::Retitle {
            version: "T-v1".into(),
            title: "new".into()
        }]
    );
}

#[test]
fn an_older_source_version_does_not_undo_a_later_rename_in_the_target() {
    assert!(renamed(5, 10).actions.is_empty());
}

#[test]
fn a_link_removed_in_the_target_after_the_source_made_it_is_not_added_again() {
    let at = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0);
    let mut t = target_with_copy();
    t.versions.insert(
        "g-v1".into(),
        TargetVersion {
            doc: "T-d1".into(),
            ..TargetVersion::default()
        },
    );
    let mut l = link("d1", "rec-1");
    l.modstamp = at(5);
    let removed = |gone: i64| TargetLink {
        id: "L".into(),
        doc: "T-d1".into(),
        record: "T-rec-1".into(),
        modstamp: at(gone),
    };
    t.unlinked.push(removed(10));
    let v = [version("v1", "d1", "aa")];
    assert!(plan(&v, std::slice::from_ref(&l), &t).actions.is_empty());
    // removed before the source's link was made: the source's link is newer, it is added
    t.unlinked = vec![removed(1)];
    assert_eq!(plan(&v, &[l], &t).actions.len(), 1);
}
