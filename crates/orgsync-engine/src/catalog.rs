//! "Add object" (the Sync Monitor's settings page, `orgsync sync add`): which objects could be
//! synced, which of their fields, and whether a chosen set can be — asked of every org of the
//! sync, read-only, each on its own login (so the running engine's circuits are untouched).
//!
//! Why every org: a sync writes each field into every org, so a field that is missing or not
//! writable (createable and updateable for the integration user) in one org fails every record
//! there; this names that field and org before the sync exists, not after its first writes.
//! The API cost: one login and one describeGlobal per org to list objects, one describe per org
//! to list or vet fields, and one Pub/Sub GetTopic per org to learn whether Change Data Capture
//! is enabled for the object.

use std::collections::HashSet;

use orgsync_core::Settings;
use orgsync_core::config::{Capture, DEFAULT_GLOBAL_ID_FIELD};
use sfclient::FieldDescribe;

use crate::error::EngineError;
use crate::login::login;
use crate::options::EngineOptions;
use crate::orgs::OrgConn;

/// Objects never offered: the file machinery and what Salesforce derives from other objects.
fn offered(name: &str) -> bool {
    let derived = ["ChangeEvent", "Share", "History", "Feed"]
        .iter()
        .any(|s| name.ends_with(s));
    let files = ["ContentVersion", "ContentDocument", "ContentDocumentLink"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name));
    !(derived || files)
}

/// A field an added sync can carry: written both ways, not a lookup (its value is a local id,
/// different in every org), not the global-id field (the engine writes that itself).
fn pickable(f: &FieldDescribe) -> bool {
    f.createable
        && f.updateable
        && !f.calculated
        && f.reference_to.is_empty()
        && !f.name.eq_ignore_ascii_case(DEFAULT_GLOBAL_ID_FIELD)
        && !f.name.eq_ignore_ascii_case("Id")
}

async fn logins(
    settings: &Settings,
    opts: &EngineOptions,
) -> Result<Vec<(String, OrgConn)>, EngineError> {
    let mut out = Vec::new();
    for org in settings.orgs.values() {
        out.push((org.name.to_string(), login(settings, org, opts).await?));
    }
    Ok(out)
}

fn synced(settings: &Settings, name: &str) -> bool {
    settings
        .syncs
        .iter()
        .any(|s| s.object.eq_ignore_ascii_case(name) || s.target_object.eq_ignore_ascii_case(name))
}

/// The objects that exist in every org (describeGlobal) and are not synced yet, by name.
pub async fn addable_objects(
    settings: &Settings,
    opts: &EngineOptions,
) -> Result<Vec<String>, EngineError> {
    let mut common: Option<Vec<String>> = None;
    for (org, conn) in logins(settings, opts).await? {
        let names = conn
            .client
            .describe_global()
            .await
            .map_err(|source| EngineError::Api {
                org: orgsync_core::OrgName(org.clone()),
                source,
            })?;
        let here: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        common = Some(match common {
            None => names,
            Some(c) => c
                .into_iter()
                .filter(|n| here.contains(&n.to_ascii_lowercase()))
                .collect(),
        });
    }
    let mut out: Vec<String> = common
        .unwrap_or_default()
        .into_iter()
        .filter(|n| offered(n) && !synced(settings, n))
        .collect();
    out.sort();
    Ok(out)
}

/// The fields of `object` an added sync can carry: present and writable in every org.
pub async fn addable_fields(
    settings: &Settings,
    opts: &EngineOptions,
    object: &str,
) -> Result<Vec<String>, EngineError> {
    let mut common: Option<Vec<String>> = None;
    for (org, conn) in logins(settings, opts).await? {
        let d = conn
            .client
            .describe(object)
            .await
            .map_err(|source| EngineError::Api {
                org: orgsync_core::OrgName(org.clone()),
                source,
            })?;
        let here: Vec<String> = d
            .fields
            .iter()
            .filter(|f| pickable(f))
            .map(|f| f.name.clone())
            .collect();
        common = Some(match common {
            None => here,
            Some(c) => c
                .into_iter()
                .filter(|n| here.iter().any(|h| h.eq_ignore_ascii_case(n)))
                .collect(),
        });
    }
    Ok(common.unwrap_or_default())
}

/// What vetting an object and its chosen fields found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddVetting {
    /// Each thing that stops the sync, naming the field and the org.
    pub problems: Vec<String>,
    /// Per org: whether Change Data Capture is enabled for the object there (Err: why not).
    pub cdc: Vec<(String, Result<(), String>)>,
}

impl AddVetting {
    /// Change Data Capture when every org publishes the object's change events, else polling.
    pub fn capture(&self) -> Capture {
        if !self.cdc.is_empty() && self.cdc.iter().all(|(_, r)| r.is_ok()) {
            Capture::Cdc
        } else {
            Capture::Poll
        }
    }

    /// One sentence on the capture method chosen and why.
    pub fn capture_text(&self) -> String {
        let off: Vec<&str> = self
            .cdc
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(o, _)| o.as_str())
            .collect();
        match self.capture() {
            Capture::Cdc => "Change Data Capture is enabled for it in every org: captured by change events (with a backup poll every 15m)".into(),
            _ => format!(
                "Change Data Capture is not enabled for it in {}: polling will be used (every 1m)",
                off.join(", ")
            ),
        }
    }
}

/// The problems of one org's describe of `object` for `fields` (pure).
pub fn field_problems(
    org: &str,
    object: &str,
    fields: &[String],
    d: &[FieldDescribe],
) -> Vec<String> {
    let find = |n: &str| d.iter().find(|f| f.name.eq_ignore_ascii_case(n));
    let mut out = Vec::new();
    for name in fields {
        match find(name) {
            None => out.push(format!(
                "field {object}.{name} does not exist in {org} (or is hidden from the integration user)"
            )),
            Some(f) => {
                let missing: Vec<&str> = [("createable", f.createable), ("updateable", f.updateable)]
                    .iter()
                    .filter(|(_, ok)| !ok)
                    .map(|(w, _)| *w)
                    .collect();
                if !missing.is_empty() {
                    out.push(format!(
                        "field {object}.{name} in {org} is not {} for the integration user",
                        missing.join(" or ")
                    ));
                } else if !f.reference_to.is_empty() {
                    out.push(format!(
                        "field {object}.{name} is a lookup (its value is an id local to each org): add it in the file with a parent policy"
                    ));
                }
            }
        }
    }
    let g = DEFAULT_GLOBAL_ID_FIELD;
    match find(g) {
        None => out.push(format!(
            "global-id field {object}.{g} does not exist in {org}: create a Text(37) field marked External ID and Unique"
        )),
        Some(f) if !f.external_id => out.push(format!(
            "field {object}.{g} in {org} is not an External ID: edit the field and tick External ID and Unique"
        )),
        Some(_) => {}
    }
    out
}

/// Vet `object` with `fields` in every org: each field exists and is writable everywhere, the
/// global-id field exists, and whether change events can be subscribed to.
pub async fn vet_addition(
    settings: &Settings,
    opts: &EngineOptions,
    object: &str,
    fields: &[String],
) -> Result<AddVetting, EngineError> {
    let mut v = AddVetting {
        problems: Vec::new(),
        cdc: Vec::new(),
    };
    if fields.is_empty() {
        v.problems.push("choose at least one field".into());
    }
    if synced(settings, object) {
        v.problems.push(format!("{object} is synced already"));
    }
    for (org, conn) in logins(settings, opts).await? {
        match conn.client.describe(object).await {
            Ok(d) => v
                .problems
                .extend(field_problems(&org, object, fields, &d.fields)),
            Err(e) if e.kind() == sfclient::ErrorKind::Permanent => v.problems.push(format!(
                "object {object} cannot be described in {org}: {}",
                crate::policy::message(&e)
            )),
            Err(source) => {
                return Err(EngineError::Api {
                    org: orgsync_core::OrgName(org),
                    source,
                });
            }
        }
        let Some(org_settings) = settings.orgs.values().find(|o| o.name.as_str() == org) else {
            continue;
        };
        let cdc = crate::capture::cdc::can_subscribe(&conn, org_settings, object).await;
        v.cdc.push((org, cdc));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, c: bool, u: bool) -> FieldDescribe {
        serde_json::from_value(serde_json::json!({
            "name": name, "type": "string", "createable": c, "updateable": u,
            "externalId": name == DEFAULT_GLOBAL_ID_FIELD,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_broken_field_is_named_with_its_org() {
        let d = vec![
            field("LastName", true, true),
            field("Title", true, false),
            field("Email", false, false),
            field(DEFAULT_GLOBAL_ID_FIELD, true, true),
        ];
        let fields: Vec<String> = ["LastName", "Title", "Email", "Gone__c"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            field_problems("vendor_a", "Contact", &fields, &d),
            [
                "field Contact.Title in vendor_a is not updateable for the integration user",
                "field Contact.Email in vendor_a is not createable or updateable for the integration user",
                "field Contact.Gone__c does not exist in vendor_a (or is hidden from the integration user)",
            ]
        );
        assert_eq!(
            field_problems("hub", "Contact", &fields[..1], &d),
            Vec::<String>::new()
        );
        let no_gid = field_problems("hub", "Contact", &fields[..1], &d[..1]);
        assert!(
            no_gid[0]
                .starts_with("global-id field Contact.OrgSync_Global_Id__c does not exist in hub"),
            "{no_gid:?}"
        );
    }

    #[test]
    fn cdc_only_when_every_org_publishes_change_events() {
        let mut v = AddVetting {
            problems: vec![],
            cdc: vec![("hub".into(), Ok(())), ("vendor_a".into(), Ok(()))],
        };
        assert_eq!(v.capture(), Capture::Cdc);
        v.cdc.push(("vendor_b".into(), Err("not enabled".into())));
        assert_eq!(v.capture(), Capture::Poll);
        assert!(
            v.capture_text()
                .contains("not enabled for it in vendor_b: polling will be used")
        );
    }
}
