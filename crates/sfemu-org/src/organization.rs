//! The `Organization` row: exactly one per org, whose Id is the org id, so `sf.is_sandbox()`
//! (`SELECT IsSandbox FROM Organization LIMIT 1`) and `SELECT Name FROM Organization` answer as
//! Salesforce does. It is created with the org and found again by Id when a snapshot is
//! reopened (never duplicated); its Name follows the spec.

use crate::org::Data;
use crate::schema::Schema;
use crate::users::insert_system_row;
use crate::{OrgSpec, SfError, User};
use soql::Value;

/// The instance name reported by the emulator (Salesforce's are `NA123`, `USA244S`…).
pub const INSTANCE_NAME: &str = "SFEMU1";
/// The edition reported by the emulator.
pub const ORGANIZATION_TYPE: &str = "Developer Edition";

/// Creates the Organization row if missing, or brings its Name in line with the spec.
pub(crate) fn ensure_organization(
    spec: &OrgSpec,
    schema: &Schema,
    org_id: &str,
    users: &[User],
    data: &mut Data,
) -> Result<(), SfError> {
    let t = schema
        .table("Organization")
        .ok_or_else(|| SfError::new("INVALID_SCHEMA", "no Organization object"))?;
    let obj = schema.obj(t);
    let name = Value::text(spec.name.as_str());
    if let Some(r) = data.tables[t].find(org_id) {
        let Some(slot) = obj.slot("Name") else {
            return Ok(());
        };
        if data.tables[t].get(r, slot) != &name {
            let now = Value::DateTime(data.tick());
            let mut row = data.tables[t].row(r).to_vec();
            row[slot] = name;
            row[obj.sys.last_modified_date] = now.clone();
            row[obj.sys.system_modstamp] = now;
            data.tables[t].replace(r, row);
        }
        return Ok(());
    }
    let first = users.first();
    let contact = first
        .map(|u| {
            format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    let contact = if contact.is_empty() {
        Value::Null
    } else {
        Value::text(contact.as_str())
    };
    let fields = [
        ("Name", name),
        ("PrimaryContact", contact),
        ("IsSandbox", Value::Bool(false)),
        ("OrganizationType", Value::text(ORGANIZATION_TYPE)),
        ("InstanceName", Value::text(INSTANCE_NAME)),
        ("DefaultLocaleSidKey", Value::text("en_US")),
        ("LanguageLocaleKey", Value::text("en_US")),
        ("TimeZoneSidKey", Value::text("GMT")),
    ];
    insert_system_row(
        schema,
        data,
        t,
        &fields,
        first.map(|u| u.id.as_str()),
        Some(org_id),
    );
    Ok(())
}
