//! What the judge sees: every org's rows (live and in the recycle bin) and its whole change
//! log, plus the synced objects. Plain data, built from the emulator at the end of a run
//! ([`crate::snapshot`]) or by hand in the judge's tests, so the checks are pure functions.

use serde_json::{Map, Value};

/// A lookup field and the object it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The lookup field (`Work_Item__c`).
    pub field: String,
    /// The parent object (`Work_Item__c`).
    pub parent: String,
}

/// One synced object. Field names are the same in every org (the suite maps nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    /// API name.
    pub name: String,
    /// Synced fields, lookups included.
    pub fields: Vec<String>,
    /// The lookups among `fields`.
    pub lookups: Vec<Lookup>,
}

impl ObjectSpec {
    /// The lookup `field` is, if it is one.
    pub fn lookup(&self, field: &str) -> Option<&Lookup> {
        self.lookups
            .iter()
            .find(|l| l.field.eq_ignore_ascii_case(field))
    }

    /// Whether `field` is synced.
    pub fn syncs(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f.eq_ignore_ascii_case(field))
    }
}

/// One row of one org, live or in the recycle bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Object API name.
    pub object: String,
    /// Local id (18 characters).
    pub id: String,
    /// The global-id field's value, if stamped.
    pub gid_field: Option<String>,
    /// In the recycle bin.
    pub deleted: bool,
    /// Synced field values as the REST API renders them (lookups are local ids).
    pub values: Map<String, Value>,
}

/// Kind of a change-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created.
    Create,
    /// Fields changed (possibly none but the system fields: a no-op write).
    Update,
    /// Moved to the recycle bin.
    Delete,
    /// Restored from the recycle bin.
    Undelete,
}

impl ChangeKind {
    /// From CDC's `changeType`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CREATE" => ChangeKind::Create,
            "UPDATE" => ChangeKind::Update,
            "DELETE" => ChangeKind::Delete,
            "UNDELETE" => ChangeKind::Undelete,
            _ => return None,
        })
    }

    /// Create, delete and undelete are life events; an update is not.
    pub fn is_life_event(self) -> bool {
        self != ChangeKind::Update
    }
}

/// One committed change to one record, as the org's change log has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position in the org's log.
    pub seq: u64,
    /// Object API name.
    pub object: String,
    /// Local id of the record.
    pub record_id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// Commit time, epoch milliseconds.
    pub ts_ms: i64,
    /// The writer's `client=` tag, if it sent one.
    pub client: Option<String>,
    /// Fields whose value changed (UPDATE).
    pub changed: Vec<String>,
    /// New values of the changed fields (all non-null fields on CREATE).
    pub values: Map<String, Value>,
    /// Why the platform made this change on its own inside another one (`LOOKUP_CLEARED` by
    /// a parent's delete, `LOOKUP_RESTORED` by its undelete); None for a writer's change.
    /// Such a change is nobody's edit: it follows from the life event that caused it.
    pub platform: Option<String>,
}

impl Change {
    /// The value this change gave `field`, if it set it: a CREATE sets every field (absent
    /// means null), an UPDATE the fields it lists as changed.
    pub fn sets(&self, field: &str) -> Option<Value> {
        let value = || {
            self.values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map_or(Value::Null, |(_, v)| v.clone())
        };
        match self.kind {
            ChangeKind::Create => Some(value()),
            ChangeKind::Update if self.changed.iter().any(|c| c.eq_ignore_ascii_case(field)) => {
                Some(value())
            }
            _ => None,
        }
    }
}

/// The `client=` value of a change origin (`com/salesforce/api/rest/62.0;client=orgsync`).
pub fn client_of(origin: &str) -> Option<String> {
    origin
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("client="))
        .map(str::to_string)
}

/// One org at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgState {
    /// Config name.
    pub name: String,
    /// 18-character org id.
    pub org_id: String,
    /// Conflict priority from the config (lower wins exact-time ties).
    pub priority: u32,
    /// Every row of the synced objects.
    pub rows: Vec<Row>,
    /// The whole change log of the synced objects.
    pub changes: Vec<Change>,
    /// The objects whose changes in this org orgsync learns as whole-row snapshots (polling,
    /// Outbound Messaging, a peer's pushes) rather than as change events naming the fields
    /// that changed: a snapshot dates every changed field at the row's last modification.
    pub snapshot_objects: Vec<String>,
}

/// Everything the judge needs.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    /// The synced objects.
    pub objects: Vec<ObjectSpec>,
    /// Every org.
    pub orgs: Vec<OrgState>,
    /// orgsync's `[engine] client_tag`: changes carrying it are orgsync's writes, every other
    /// change is a user's.
    pub client_tag: String,
}

impl World {
    /// The spec of `object`.
    pub fn object(&self, object: &str) -> Option<&ObjectSpec> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(object))
    }

    /// Whether `c` is one of orgsync's writes.
    pub fn by_orgsync(&self, c: &Change) -> bool {
        c.client.as_deref() == Some(self.client_tag.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tag_is_read_from_the_origin() {
        assert_eq!(
            client_of("com/salesforce/api/rest/62.0;client=orgsync").as_deref(),
            Some("orgsync")
        );
        assert_eq!(client_of("com/salesforce/api/rest/62.0"), None);
        assert_eq!(
            client_of("com/salesforce/api/soap/62.0;client=user").as_deref(),
            Some("user")
        );
    }
}
