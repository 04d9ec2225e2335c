//! Shared helpers.

use serde_json::{Map, Value as Json};
use sfemu_org::{Caller, DmlFailure, DmlOp, Org, OrgSpec, ProfileSpec, SfError, UserSpec};
use std::sync::Arc;

pub fn spec() -> OrgSpec {
    OrgSpec {
        org_id: None,
        name: "test".into(),
        schema_files: vec![],
        users: vec![],
        profiles: vec![],
        cdc_objects: vec![],
    }
}

pub fn org() -> Arc<Org> {
    Org::new(spec()).unwrap()
}

/// An org with a second user whose profile hides Account.Phone.
pub fn org_with_restricted_user() -> Arc<Org> {
    let mut s = spec();
    s.profiles.push(ProfileSpec {
        name: "Sales".into(),
        hidden_fields: vec!["Account.Phone".into()],
    });
    s.users.push(UserSpec {
        username: "admin@sfemu.test".into(),
        password: "sfemu".into(),
        first_name: "Admin".into(),
        last_name: "User".into(),
        email: "admin@sfemu.test".into(),
        profile: None,
    });
    s.users.push(UserSpec {
        username: "sales@sfemu.test".into(),
        password: "pw".into(),
        first_name: "Sam".into(),
        last_name: "Sales".into(),
        email: "sales@sfemu.test".into(),
        profile: Some("Sales".into()),
    });
    Org::new(s).unwrap()
}

pub fn admin(org: &Org) -> Caller {
    caller_for(org, "admin@sfemu.test")
}

pub fn caller_for(org: &Org, username: &str) -> Caller {
    Caller {
        user_id: org.user_by_username(username).unwrap().id,
        api: "rest".into(),
        api_version: "62.0".into(),
        client: None,
    }
}

pub fn map(j: Json) -> Map<String, Json> {
    match j {
        Json::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Creates one record; the Id or the errors.
pub fn create(org: &Org, c: &Caller, object: &str, fields: Json) -> Result<String, Vec<SfError>> {
    let op = DmlOp::Create {
        object: object.into(),
        fields: map(fields),
    };
    one(org.apply(c, vec![op], false))
}

pub fn update(org: &Org, c: &Caller, id: &str, fields: Json) -> Result<String, Vec<SfError>> {
    let op = DmlOp::Update {
        object: None,
        id: id.into(),
        fields: map(fields),
    };
    one(org.apply(c, vec![op], false))
}

pub fn delete(org: &Org, c: &Caller, id: &str) -> Result<String, Vec<SfError>> {
    one(org.apply(c, vec![DmlOp::Delete { id: id.into() }], false))
}

pub fn undelete(org: &Org, c: &Caller, id: &str) -> Result<String, Vec<SfError>> {
    one(org.apply(c, vec![DmlOp::Undelete { id: id.into() }], false))
}

fn one(mut r: Vec<Result<sfemu_org::DmlOutcome, DmlFailure>>) -> Result<String, Vec<SfError>> {
    assert_eq!(r.len(), 1);
    match r.remove(0) {
        Ok(o) => Ok(o.id),
        Err(DmlFailure::Errors(e)) => Err(e),
        Err(DmlFailure::MultipleMatches(ids)) => panic!("multiple matches {ids:?}"),
    }
}

/// The single error's code and message.
pub fn err1(r: Result<String, Vec<SfError>>) -> SfError {
    let e = r.expect_err("expected an error");
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().unwrap()
}

pub fn get(org: &Org, c: &Caller, object: &str, id: &str) -> Json {
    org.retrieve(&c.user_id, object, id, None, "62.0").unwrap()
}
