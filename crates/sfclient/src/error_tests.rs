use super::*;

fn api(status: u16, code: &str, message: &str) -> SfError {
    SfError::Api {
        org: "a".into(),
        status,
        errors: vec![ApiError::new(code, message)],
    }
}

#[test]
fn whole_call_kinds() {
    assert_eq!(
        api(
            400,
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record"
        )
        .kind(),
        ErrorKind::Retryable
    );
    assert_eq!(
        api(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded."
        )
        .kind(),
        ErrorKind::Quota
    );
    assert_eq!(
        api(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded."
        )
        .kind(),
        ErrorKind::Retryable
    );
    assert_eq!(
        api(401, "INVALID_SESSION_ID", "Session expired or invalid").kind(),
        ErrorKind::Auth
    );
    assert_eq!(
        api(503, "SERVER_UNAVAILABLE", "down").kind(),
        ErrorKind::Retryable
    );
    assert_eq!(
        api(500, "UNKNOWN_EXCEPTION", "boom").kind(),
        ErrorKind::Retryable
    );
    assert_eq!(
        api(400, "STRING_TOO_LONG", "Name: data value too large").kind(),
        ErrorKind::Permanent
    );
    assert_eq!(
        api(400, "DUPLICATE_VALUE", "duplicate value found").kind(),
        ErrorKind::Permanent
    );
    assert_eq!(
        api(
            400,
            "INVALID_FIELD",
            "No such column 'Foo' on entity 'Account'"
        )
        .kind(),
        ErrorKind::Permanent
    );
    assert_eq!(
        api(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "nope").kind(),
        ErrorKind::Permanent
    );
    assert_eq!(
        api(404, "NOT_FOUND", "The requested resource does not exist").kind(),
        ErrorKind::Permanent
    );
    let empty_503 = SfError::Api {
        org: "a".into(),
        status: 503,
        errors: vec![],
    };
    assert_eq!(empty_503.kind(), ErrorKind::Retryable);
    let empty_401 = SfError::Api {
        org: "a".into(),
        status: 401,
        errors: vec![],
    };
    assert_eq!(empty_401.kind(), ErrorKind::Auth);
}

#[test]
fn missing_parent_is_its_own_kind_and_parsed() {
    let msg = "Foreign key external ID: A-17 not found for field Ext_Id__c in entity Account";
    let e = SfError::Record {
        org: "a".into(),
        errors: vec![ApiError::new("INVALID_FIELD", msg)],
    };
    assert_eq!(e.kind(), ErrorKind::MissingParent);
    let p = e.missing_parent().unwrap();
    assert_eq!(
        p,
        MissingParentRef {
            value: "A-17".into(),
            field: "Ext_Id__c".into(),
            entity: "Account".into()
        }
    );
    // A value containing the separator words still parses (the last occurrence wins).
    let tricky = parse_missing_parent(
        "Foreign key external ID: x not found for field y not found for field F in entity E",
    )
    .unwrap();
    assert_eq!(tricky.value, "x not found for field y");
    assert_eq!(tricky.field, "F");
    assert!(parse_missing_parent("No such column").is_none());
}

#[test]
fn record_errors_most_decisive_wins() {
    let lock = ApiError::new("UNABLE_TO_LOCK_ROW", "locked");
    let req = ApiError::new(
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [Name]",
    );
    let e = SfError::Record {
        org: "a".into(),
        errors: vec![lock.clone(), req],
    };
    assert_eq!(e.kind(), ErrorKind::Permanent);
    let e = SfError::Record {
        org: "a".into(),
        errors: vec![lock],
    };
    assert_eq!(e.kind(), ErrorKind::Retryable);
    let rolled = ApiError::new("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back");
    assert_eq!(rolled.kind(), ErrorKind::Retryable);
}

#[test]
fn deserializes_both_spellings_and_null_fields() {
    let rest: Vec<ApiError> =
        serde_json::from_str(r#"[{"message":"m","errorCode":"INVALID_FIELD","fields":null}]"#)
            .unwrap();
    assert_eq!(rest[0].code, "INVALID_FIELD");
    assert!(rest[0].fields.is_empty());
    let dml: ApiError = serde_json::from_str(
        r#"{"statusCode":"STRING_TOO_LONG","message":"too long","fields":["Name"]}"#,
    )
    .unwrap();
    assert_eq!(dml.code, "STRING_TOO_LONG");
    assert_eq!(dml.fields, vec!["Name".to_owned()]);
}

#[test]
fn display_keeps_code_message_and_fields() {
    let mut err = ApiError::new(
        "STRING_TOO_LONG",
        "Name: data value too large: XYZ (max length=25)",
    );
    err.fields = vec!["Name".into()];
    let e = SfError::Api {
        org: "prod".into(),
        status: 400,
        errors: vec![err],
    };
    let shown = e.to_string();
    assert!(shown.contains("prod"));
    assert!(shown.contains("STRING_TOO_LONG"));
    assert!(shown.contains("max length=25"));
    assert!(shown.contains("fields: Name"));
    assert_eq!(e.code(), Some("STRING_TOO_LONG"));
    assert_eq!(e.status(), Some(400));
}

#[test]
fn auth_and_transport_kinds() {
    let e = SfError::Auth {
        org: "o".into(),
        flow: "jwt-bearer",
        error: "invalid_grant".into(),
        description: "audience is invalid".into(),
    };
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("jwt-bearer"));
    assert!(e.to_string().contains("org o"));
    let t = SfError::Transport {
        org: "o".into(),
        kind: TransportKind::Timeout,
        message: "x".into(),
    };
    assert_eq!(t.kind(), ErrorKind::Retryable);
    assert_eq!(SfError::Config("bad".into()).kind(), ErrorKind::Permanent);
}

fn fault(code: &str) -> SfError {
    SfError::Fault {
        org: "a".into(),
        status: 500,
        errors: vec![ApiError::new(code, "m")],
    }
}

#[test]
fn soap_faults_are_classified_by_their_code_not_their_500() {
    assert_eq!(fault("INVALID_SESSION_ID").kind(), ErrorKind::Auth);
    assert!(fault("INVALID_SESSION_ID").is_invalid_session());
    assert!(!fault("UNKNOWN_EXCEPTION").is_invalid_session());
    assert_eq!(fault("REQUEST_LIMIT_EXCEEDED").kind(), ErrorKind::Quota);
    assert_eq!(fault("UNKNOWN_EXCEPTION").kind(), ErrorKind::Retryable);
    assert_eq!(fault("SERVER_UNAVAILABLE").kind(), ErrorKind::Retryable);
    assert_eq!(fault("UNABLE_TO_LOCK_ROW").kind(), ErrorKind::Retryable);
    assert_eq!(fault("EXCEEDED_ID_LIMIT").kind(), ErrorKind::Permanent);
    assert_eq!(fault("INVALID_XML").status(), Some(500));
    assert_eq!(fault("INVALID_XML").code(), Some("INVALID_XML"));
}

#[test]
fn not_in_recycle_bin_only_for_record_errors_saying_so() {
    let record = |code: &str| SfError::Record {
        org: "a".into(),
        errors: vec![ApiError::new(code, "m")],
    };
    for code in ["UNDELETE_FAILED", "ENTITY_IS_DELETED", "INVALID_ID_FIELD"] {
        assert!(record(code).not_in_recycle_bin(), "{code}");
        assert_eq!(record(code).kind(), ErrorKind::Permanent);
    }
    assert!(!record("UNABLE_TO_LOCK_ROW").not_in_recycle_bin());
    assert!(!record("DUPLICATE_VALUE").not_in_recycle_bin());
    assert!(!api(404, "ENTITY_IS_DELETED", "entity is deleted").not_in_recycle_bin());
    assert!(!fault("UNDELETE_FAILED").not_in_recycle_bin());
}
