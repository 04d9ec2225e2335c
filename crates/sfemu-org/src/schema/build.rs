//! Builds a [`Schema`] from the embedded default schema plus schema files, adding the system
//! fields, allocating custom key prefixes and deriving child relationships.

use super::fields::{default_label, field_def, sys_field};
use super::file::{FieldSpec, ObjectSpec, SchemaFile};
use super::{ChildRelDef, FieldType, ObjFlags, ObjectDef, Schema, SysSlots};
use crate::SfError;
use std::collections::HashMap;
use std::path::PathBuf;

const DEFAULT_SCHEMA: &str = include_str!("default.toml");

/// An object being assembled: its own fields come before the system audit fields, fields added
/// by later files after them (as Salesforce lists fields added later at the end).
struct Pending {
    spec: ObjectSpec,
    custom: bool,
    key_prefix: String,
    base: Vec<(String, FieldSpec)>,
    extra: Vec<(String, FieldSpec)>,
}

pub(super) fn bad(file: &str, msg: impl std::fmt::Display) -> SfError {
    SfError::new("INVALID_SCHEMA", format!("schema file {file}: {msg}"))
}

/// The default schema extended by `files` (in order). Errors name the file and the problem.
pub fn build_schema(files: &[PathBuf]) -> Result<Schema, SfError> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut next_custom = 0u64;
    let mut sources = vec![("<default schema>".to_string(), DEFAULT_SCHEMA.to_string())];
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| bad(&f.display().to_string(), format_args!("cannot read: {e}")))?;
        sources.push((f.display().to_string(), text));
    }
    for (file, text) in sources {
        let parsed: SchemaFile = toml::from_str(&text).map_err(|e| bad(&file, e))?;
        for mut ospec in parsed.objects {
            let fields = std::mem::take(&mut ospec.fields);
            for fs in &fields {
                if FieldType::parse(&fs.ftype).is_none() {
                    return Err(bad(
                        &file,
                        format_args!(
                            "{}.{}: unknown field type '{}'",
                            ospec.name, fs.name, fs.ftype
                        ),
                    ));
                }
            }
            let existing = pending
                .iter()
                .position(|p| p.spec.name.eq_ignore_ascii_case(&ospec.name));
            match existing {
                Some(i) => {
                    for fs in fields {
                        let p = &pending[i];
                        let dup = p
                            .base
                            .iter()
                            .chain(&p.extra)
                            .any(|(_, f)| f.name.eq_ignore_ascii_case(&fs.name))
                            || is_system_name(&fs.name);
                        if dup {
                            return Err(bad(
                                &file,
                                format_args!("field {}.{} already exists", p.spec.name, fs.name),
                            ));
                        }
                        pending[i].extra.push((file.clone(), fs));
                    }
                }
                None => {
                    let custom = ospec.name.ends_with("__c");
                    if !custom && file != "<default schema>" {
                        return Err(bad(
                            &file,
                            format_args!(
                                "unknown object '{}' (new objects must be custom: end in __c)",
                                ospec.name
                            ),
                        ));
                    }
                    if !valid_api_name(&ospec.name) {
                        return Err(bad(
                            &file,
                            format_args!("invalid object name '{}'", ospec.name),
                        ));
                    }
                    let key_prefix = match &ospec.key_prefix {
                        Some(k) if k.len() == 3 && k.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                            k.clone()
                        }
                        Some(k) => {
                            return Err(bad(&file, format_args!("invalid key_prefix '{k}'")));
                        }
                        None => {
                            let k = custom_prefix(next_custom);
                            next_custom += 1;
                            k
                        }
                    };
                    if pending.iter().any(|p| p.key_prefix == key_prefix) {
                        return Err(bad(
                            &file,
                            format_args!("key prefix {key_prefix} used twice"),
                        ));
                    }
                    let mut seen = std::collections::HashSet::new();
                    for fs in &fields {
                        if !seen.insert(fs.name.to_ascii_lowercase()) || is_system_name(&fs.name) {
                            return Err(bad(
                                &file,
                                format_args!("field {}.{} defined twice", ospec.name, fs.name),
                            ));
                        }
                    }
                    let mut base: Vec<(String, FieldSpec)> =
                        fields.into_iter().map(|f| (file.clone(), f)).collect();
                    if custom
                        && !base
                            .iter()
                            .any(|(_, f)| f.name.eq_ignore_ascii_case("Name"))
                    {
                        // Every custom object has a Name (text 80) in Salesforce.
                        let label = ospec.label.clone().unwrap_or_else(|| {
                            ospec.name.trim_end_matches("__c").replace('_', " ")
                        });
                        let name = FieldSpec::text_name(&format!("{label} Name"));
                        base.insert(0, (file.clone(), name));
                    }
                    pending.push(Pending {
                        spec: ospec,
                        custom,
                        key_prefix,
                        base,
                        extra: Vec::new(),
                    });
                }
            }
        }
    }
    finalize(pending)
}

fn custom_prefix(n: u64) -> String {
    // a00…a0Z, a10… (36 digits per place; allocation order UNCONFIRMED in the wire facts).
    const D: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let (hi, lo) = ((n / 36) % 36, n % 36);
    format!("a{}{}", D[hi as usize] as char, D[lo as usize] as char)
}

pub(super) fn valid_api_name(n: &str) -> bool {
    n.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const SYSTEM_NAMES: [&str; 8] = [
    "Id",
    "IsDeleted",
    "OwnerId",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
];

fn is_system_name(n: &str) -> bool {
    SYSTEM_NAMES.iter().any(|s| s.eq_ignore_ascii_case(n))
}

fn finalize(pending: Vec<Pending>) -> Result<Schema, SfError> {
    let names: Vec<String> = pending.iter().map(|p| p.spec.name.clone()).collect();
    let mut objects = Vec::with_capacity(pending.len());
    for p in pending {
        let label = p
            .spec
            .label
            .clone()
            .unwrap_or_else(|| default_label(&p.spec.name));
        let mut fields = vec![
            sys_field("Id", &format!("{label} ID"), FieldType::Id, &[], None),
            sys_field("IsDeleted", "Deleted", FieldType::Boolean, &[], None),
        ];
        for (file, fs) in &p.base {
            fields.push(field_def(file, &p.spec.name, fs, &names)?);
        }
        let owner = if p.spec.owner.unwrap_or(p.custom) {
            let mut f = sys_field(
                "OwnerId",
                "Owner ID",
                FieldType::Reference,
                &["User"],
                Some("Owner"),
            );
            f.createable = true;
            f.updateable = true;
            fields.push(f);
            Some(fields.len() - 1)
        } else {
            None
        };
        let first_audit = fields.len();
        fields.push(sys_field(
            "CreatedDate",
            "Created Date",
            FieldType::DateTime,
            &[],
            None,
        ));
        fields.push(sys_field(
            "CreatedById",
            "Created By ID",
            FieldType::Reference,
            &["User"],
            Some("CreatedBy"),
        ));
        fields.push(sys_field(
            "LastModifiedDate",
            "Last Modified Date",
            FieldType::DateTime,
            &[],
            None,
        ));
        fields.push(sys_field(
            "LastModifiedById",
            "Last Modified By ID",
            FieldType::Reference,
            &["User"],
            Some("LastModifiedBy"),
        ));
        fields.push(sys_field(
            "SystemModstamp",
            "System Modstamp",
            FieldType::DateTime,
            &[],
            None,
        ));
        for (file, fs) in &p.extra {
            fields.push(field_def(file, &p.spec.name, fs, &names)?);
        }
        let sys = SysSlots {
            owner,
            created_date: first_audit,
            created_by: first_audit + 1,
            last_modified_date: first_audit + 2,
            last_modified_by: first_audit + 3,
            system_modstamp: first_audit + 4,
        };
        let flags = ObjFlags {
            createable: p.spec.createable.unwrap_or(true),
            updateable: p.spec.updateable.unwrap_or(true),
            deletable: p.spec.deletable.unwrap_or(true),
        };
        let mut obj = ObjectDef {
            label_plural: p
                .spec
                .label_plural
                .clone()
                .unwrap_or_else(|| format!("{label}s")),
            label,
            name: p.spec.name.clone(),
            key_prefix: p.key_prefix,
            custom: p.custom,
            flags,
            fields,
            sys,
            children: Vec::new(),
            by_lower: HashMap::new(),
            rel_by_lower: HashMap::new(),
            child_by_lower: HashMap::new(),
        };
        obj.reindex();
        objects.push(obj);
    }
    let by_lower: HashMap<String, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
        .collect();
    // Polymorphic references to any record (ContentDocumentLink.LinkedEntityId,
    // ContentVersion.FirstPublishLocationId): `"*"` expands to every object but the file
    // objects themselves.
    let names: Vec<String> = objects.iter().map(|o| o.name.clone()).collect();
    for o in &mut objects {
        for f in &mut o.fields {
            if f.reference_to.iter().any(|r| r == "*") {
                f.reference_to = names
                    .iter()
                    .filter(|n| !n.starts_with("Content"))
                    .cloned()
                    .collect();
            }
        }
    }
    // Child relationships, derived from every named reference field.
    let mut children: Vec<Vec<ChildRelDef>> = vec![Vec::new(); objects.len()];
    for (ci, o) in objects.iter().enumerate() {
        for (slot, f) in o.fields.iter().enumerate() {
            let Some(rel) = &f.child_relationship else {
                continue;
            };
            for target in &f.reference_to {
                let Some(&pi) = by_lower.get(&target.to_ascii_lowercase()) else {
                    continue;
                };
                if children[pi]
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(rel))
                {
                    return Err(SfError::new(
                        "INVALID_SCHEMA",
                        format!("child relationship {target}.{rel} defined twice"),
                    ));
                }
                children[pi].push(ChildRelDef {
                    name: rel.clone(),
                    child_table: ci,
                    slot,
                    cascade_delete: f.cascade_delete,
                });
            }
        }
    }
    for (o, ch) in objects.iter_mut().zip(children) {
        o.children = ch;
        o.reindex();
    }
    let by_prefix = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.key_prefix.clone(), i))
        .collect();
    Ok(Schema {
        objects,
        by_lower,
        by_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_builds() {
        let s = build_schema(&[]).unwrap();
        let acc = s.obj(s.table("account").unwrap());
        assert_eq!(acc.key_prefix, "001");
        assert!(acc.child("contacts").is_some());
        assert!(acc.child("Work_Items__r").is_some());
        let wi = s.obj(s.table("Work_Item__c").unwrap());
        assert_eq!(wi.key_prefix, "a00");
        assert!(wi.sys.owner.is_some());
        assert_eq!(
            s.obj(s.table("Work_Item_Dependency__c").unwrap())
                .key_prefix,
            "a03"
        );
        let c = s.obj(s.table("Contact").unwrap());
        assert_eq!(c.fields[c.rel_slot("account").unwrap()].name, "AccountId");
        assert_eq!(s.table_for_id("003000000000001"), s.table("Contact"));
    }

    #[test]
    fn bad_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(
            &p,
            "[[object]]\nname = \"X__c\"\n[[object.field]]\nname = \"A__c\"\ntype = \"weird\"\n",
        )
        .unwrap();
        let e = build_schema(&[p]).unwrap_err();
        assert!(
            e.message.contains("bad.toml") && e.message.contains("weird"),
            "{e}"
        );
        let p2 = dir.path().join("dup.toml");
        std::fs::write(
            &p2,
            "[[object]]\nname = \"Account\"\n[[object.field]]\nname = \"Name\"\ntype = \"text\"\n",
        )
        .unwrap();
        assert!(
            build_schema(&[p2])
                .unwrap_err()
                .message
                .contains("already exists")
        );
    }
}
