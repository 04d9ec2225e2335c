//! Users and profiles: kept as rows of the User and Profile objects (so `SELECT Name FROM User`
//! and `CreatedBy.Name` work), created from the spec on first start and matched by name /
//! username on later starts so their ids stay stable across snapshots.

use crate::org::{ADMIN_PROFILE, Data, Profile};
use crate::schema::{ID_SLOT, IS_DELETED_SLOT, Schema};
use crate::{OrgSpec, SfError, User};
use soql::Value;
use std::collections::HashSet;

/// Inserts a system row (users, profiles, the organization) directly, without DML or change
/// log. `id` is minted when `None`; `creator` defaults to the row itself (the first user).
pub(crate) fn insert_system_row(
    schema: &Schema,
    data: &mut Data,
    table: usize,
    fields: &[(&str, Value)],
    creator: Option<&str>,
    id: Option<&str>,
) -> String {
    let obj = schema.obj(table);
    let id = match id {
        Some(i) => i.to_string(),
        None => data.idgen.next(&obj.key_prefix),
    };
    let now = data.tick();
    let mut row = vec![Value::Null; obj.fields.len()];
    for (i, f) in obj.fields.iter().enumerate() {
        if let Some(d) = &f.default {
            row[i] = d.clone();
        }
    }
    row[ID_SLOT] = Value::text(id.as_str());
    row[IS_DELETED_SLOT] = Value::Bool(false);
    for (name, v) in fields {
        if let Some(s) = obj.slot(name) {
            row[s] = v.clone();
        }
    }
    let by = Value::text(creator.unwrap_or(&id));
    let sys = obj.sys;
    row[sys.created_date] = Value::DateTime(now);
    row[sys.last_modified_date] = Value::DateTime(now);
    row[sys.system_modstamp] = Value::DateTime(now);
    row[sys.created_by] = by.clone();
    row[sys.last_modified_by] = by;
    data.tables[table].push(row);
    id
}

pub(crate) fn ensure_profiles(
    spec: &OrgSpec,
    schema: &Schema,
    data: &mut Data,
) -> Result<Vec<Profile>, SfError> {
    let t = schema
        .table("Profile")
        .ok_or_else(|| SfError::new("INVALID_SCHEMA", "no Profile object"))?;
    let name_slot = schema.obj(t).slot("Name").unwrap_or(ID_SLOT);
    let mut names: Vec<(String, Vec<String>)> = vec![(ADMIN_PROFILE.to_string(), Vec::new())];
    for p in &spec.profiles {
        match names
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p.name))
        {
            Some(e) => e.1.extend(p.hidden_fields.iter().cloned()),
            None => names.push((p.name.clone(), p.hidden_fields.clone())),
        }
    }
    let mut out = Vec::new();
    for (name, hidden_names) in names {
        let table = &data.tables[t];
        let existing = (0..table.len()).find(|&r| {
            table
                .get(r, name_slot)
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        let id = match existing {
            Some(r) => table.id(r).to_string(),
            None => insert_system_row(
                schema,
                data,
                t,
                &[("Name", Value::text(name.as_str()))],
                None,
                None,
            ),
        };
        let mut hidden = HashSet::new();
        for h in &hidden_names {
            let bad = || {
                SfError::new(
                    "INVALID_PROFILE",
                    format!("profile {name}: unknown field '{h}' (want Object.Field)"),
                )
            };
            let (o, f) = h.split_once('.').ok_or_else(bad)?;
            let ti = schema.table(o).ok_or_else(bad)?;
            let si = schema.obj(ti).slot(f).ok_or_else(bad)?;
            if si == ID_SLOT {
                return Err(SfError::new(
                    "INVALID_PROFILE",
                    format!("profile {name}: Id cannot be hidden"),
                ));
            }
            hidden.insert((ti, si));
        }
        out.push(Profile { id, name, hidden });
    }
    Ok(out)
}

pub(crate) fn ensure_users(
    spec: &OrgSpec,
    schema: &Schema,
    profiles: &[Profile],
    data: &mut Data,
) -> Result<Vec<User>, SfError> {
    let t = schema
        .table("User")
        .ok_or_else(|| SfError::new("INVALID_SCHEMA", "no User object"))?;
    let obj = schema.obj(t);
    let uname_slot = obj.slot("Username").unwrap_or(ID_SLOT);
    let mut specs = spec.users.clone();
    if specs.is_empty() {
        specs.push(crate::UserSpec {
            username: "admin@sfemu.test".into(),
            password: "sfemu".into(),
            first_name: "Admin".into(),
            last_name: "User".into(),
            email: "admin@sfemu.test".into(),
            profile: None,
        });
    }
    let mut out: Vec<User> = Vec::new();
    for u in specs {
        let pname = u
            .profile
            .clone()
            .unwrap_or_else(|| ADMIN_PROFILE.to_string());
        let profile = profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(&pname))
            .ok_or_else(|| {
                SfError::new(
                    "INVALID_PROFILE",
                    format!("user {}: unknown profile '{pname}'", u.username),
                )
            })?;
        if out
            .iter()
            .any(|x| x.username.eq_ignore_ascii_case(&u.username))
        {
            return Err(SfError::new(
                "DUPLICATE_USERNAME",
                format!("user {} defined twice", u.username),
            ));
        }
        let table = &data.tables[t];
        let existing = (0..table.len()).find(|&r| {
            table
                .get(r, uname_slot)
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&u.username))
        });
        let id = match existing {
            Some(r) => table.id(r).to_string(),
            None => {
                let creator = out.first().map(|f| f.id.clone());
                let full = format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_string();
                let alias: String = u
                    .username
                    .chars()
                    .take_while(|c| *c != '@')
                    .take(8)
                    .collect();
                let fields = [
                    ("Username", Value::text(u.username.as_str())),
                    ("FirstName", text_or_null(&u.first_name)),
                    ("LastName", Value::text(u.last_name.as_str())),
                    ("Name", Value::text(full.as_str())),
                    ("Email", Value::text(u.email.as_str())),
                    ("Alias", Value::text(alias.as_str())),
                    ("ProfileId", Value::text(profile.id.as_str())),
                    ("IsActive", Value::Bool(true)),
                ];
                insert_system_row(schema, data, t, &fields, creator.as_deref(), None)
            }
        };
        out.push(User {
            id,
            username: u.username,
            password: u.password,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            profile_id: profile.id.clone(),
            profile_name: profile.name.clone(),
        });
    }
    // Profiles were created before any user existed: credit them to the first user.
    let first = Value::text(out[0].id.as_str());
    let pt = schema.table("Profile").unwrap_or(0);
    let psys = schema.obj(pt).sys;
    let ptable = &mut data.tables[pt];
    for r in 0..ptable.len() {
        if ptable
            .get(r, psys.created_by)
            .as_str()
            .is_some_and(|c| c.starts_with("00e"))
        {
            let mut row = ptable.row(r).to_vec();
            row[psys.created_by] = first.clone();
            row[psys.last_modified_by] = first.clone();
            ptable.replace(r, row);
        }
    }
    Ok(out)
}

fn text_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::text(s)
    }
}
