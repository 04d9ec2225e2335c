//! Source record → target payload: field renames, per-field direction, constants, lookups
//! rewritten to the parent's global id (a relationship external-id reference, so no lookup
//! query is spent per record) and the global-id field itself.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::config::{Direction, FieldMap, ParentPolicy, Settings, SyncSettings};
use crate::model::{FieldValue, Fields, GlobalId, OrgId, ParentRef};
use crate::routing::Travel;

/// One value to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayloadValue {
    /// Write this value to the field.
    Value {
        /// The value.
        value: FieldValue,
    },
    /// Set the lookup through its relationship by the parent's external id: the engine
    /// writes `"<relationship>": {"<external_field>": "<global id>"}` instead of the field.
    Reference {
        /// Relationship name on the written org (`Account`, `Foo__r`).
        relationship: String,
        /// The parent's global-id field.
        external_field: String,
        /// The parent's global id.
        global_id: GlobalId,
    },
    /// Link to the written org's record of `object` named `name` (created there when
    /// missing): the seeds' "match or create the parent by Name" policy. The engine resolves
    /// all names of a batch with one query per object.
    MatchByName {
        /// Parent object on the written org.
        object: String,
        /// The parent's Name.
        name: String,
    },
}

impl PayloadValue {
    /// A plain value.
    pub fn value(v: FieldValue) -> Self {
        PayloadValue::Value { value: v }
    }
}

/// Fields to write, keyed by the written org's field API name (lookups by the lookup field).
pub type Payload = IndexMap<String, PayloadValue>;

/// Why a record could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A synced lookup held something that is not a record id.
    #[error("lookup {field} holds `{value}`, which is not a record id")]
    BadLookup {
        /// Lookup field.
        field: String,
        /// Its value as text.
        value: String,
    },
}

/// The direction of one mapping: which side's names are read and written, and which ways
/// the value travels (from [`crate::routing::RouteTarget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// The change came from a source-side org.
    pub from_source_side: bool,
    /// The payload is for a source-side org.
    pub to_source_side: bool,
    /// Directions travelled.
    pub travel: Travel,
}

/// Whether a field with `direction` may travel this way.
pub fn allowed(direction: Direction, travel: Travel) -> bool {
    !(travel.downstream && direction == Direction::ToSource
        || travel.upstream && direction == Direction::ToTarget)
}

fn name(f: &FieldMap, source_side: bool) -> &str {
    if source_side { &f.source } else { &f.target }
}

/// The synced field names of `sync` on one side (for shadows, fingerprints and the list of
/// fields to capture).
pub fn synced_fields(sync: &SyncSettings, source_side: bool) -> Vec<String> {
    sync.fields
        .iter()
        .map(|f| name(f, source_side).to_string())
        .collect()
}

/// The object name on one side.
pub fn object_name(sync: &SyncSettings, source_side: bool) -> &str {
    if source_side {
        &sync.object
    } else {
        &sync.target_object
    }
}

/// What a mapped record carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapped {
    /// Fields to write.
    pub payload: Payload,
    /// Synced parents referenced by global id; the item is Pending until they exist.
    pub parents: Vec<ParentRef>,
}

/// Map the fields of a change (from-side names; absent fields are left out, so a partial CDC
/// change maps to a partial payload) into a payload for the other side.
///
/// `from_org` and `parent_global_id` resolve a lookup's local id to the parent's global id:
/// the id map answers for parents that came from elsewhere; a parent it does not know was
/// created in `from_org`, so its global id is `from_org:<id>`.
pub fn map_fields(
    settings: &Settings,
    sync: &SyncSettings,
    leg: Leg,
    fields: &Fields,
    global_id: &GlobalId,
    from_org: &OrgId,
    parent_global_id: &dyn Fn(&str, &str) -> Option<GlobalId>,
) -> Result<Mapped, MappingError> {
    let mut out = Mapped::default();
    let lower = lowercased(fields);
    for f in &sync.fields {
        if !allowed(f.direction, leg.travel) {
            continue;
        }
        let Some(value) = lower.get(&name(f, leg.from_source_side).to_ascii_lowercase()) else {
            continue;
        };
        let to = name(f, leg.to_source_side).to_string();
        let parent = sync
            .parents
            .iter()
            .find(|p| p.field.eq_ignore_ascii_case(&f.source));
        let Some(parent) = parent else {
            out.payload
                .insert(to, PayloadValue::value((*value).clone()));
            continue;
        };
        let relationship = if leg.to_source_side {
            &parent.source_relationship
        } else {
            &parent.target_relationship
        };
        let local_id = match value {
            FieldValue::Null => None,
            FieldValue::Text(id) => Some(id.as_str()),
            other => {
                return Err(MappingError::BadLookup {
                    field: f.source.clone(),
                    value: other.display_text(),
                });
            }
        };
        match (&parent.policy, local_id) {
            (ParentPolicy::None, _) => {}
            (ParentPolicy::Fixed { id }, _) => {
                // The fixed id belongs to the target side; source-side orgs keep their own link.
                if !leg.to_source_side {
                    out.payload
                        .insert(to, PayloadValue::value(FieldValue::Text(id.clone())));
                }
            }
            (_, None) => {
                out.payload
                    .insert(to, PayloadValue::value(FieldValue::Null));
            }
            (
                ParentPolicy::Sync {
                    object,
                    target_object,
                },
                Some(id),
            ) => {
                let from_object = if leg.from_source_side {
                    object
                } else {
                    target_object
                };
                let gid = match id.parse::<GlobalId>() {
                    // already canonical (see [`canonical_lookups`])
                    Ok(g) => g,
                    Err(_) => match parent_global_id(from_object, id) {
                        Some(g) => g,
                        None => GlobalId::new(from_org.clone(), id).map_err(|_| {
                            MappingError::BadLookup {
                                field: f.source.clone(),
                                value: id.to_string(),
                            }
                        })?,
                    },
                };
                let parent_sync = settings
                    .syncs
                    .iter()
                    .find(|s| s.object.eq_ignore_ascii_case(object));
                let external_field =
                    parent_sync.map_or(sync.global_id_field.clone(), |s| s.global_id_field.clone());
                let to_object = if leg.to_source_side {
                    object
                } else {
                    target_object
                };
                out.parents.push(ParentRef {
                    field: to.clone(),
                    object: to_object.clone(),
                    global_id: gid.clone(),
                });
                out.payload.insert(
                    to,
                    PayloadValue::Reference {
                        relationship: relationship.clone(),
                        external_field,
                        global_id: gid,
                    },
                );
            }
            (ParentPolicy::MatchByName { object }, Some(value)) => {
                // the engine has put the parent's Name in place of its id (see
                // [`name_ref`]); a parent whose Name could not be read is left out
                let Some(name) = value.strip_prefix(NAME_REF) else {
                    continue;
                };
                out.payload.insert(
                    to,
                    PayloadValue::MatchByName {
                        object: parent_object(settings, object, leg.to_source_side),
                        name: name.to_string(),
                    },
                );
            }
        }
    }
    if !leg.to_source_side {
        for (k, v) in &sync.constants {
            out.payload
                .insert(k.clone(), PayloadValue::value(v.clone()));
        }
    }
    out.payload.insert(
        sync.global_id_field.clone(),
        PayloadValue::value(FieldValue::Text(global_id.to_string())),
    );
    Ok(out)
}

/// The synced fields of a change renamed to source-side names, lowercased: the keys of the
/// merge state ([`crate::merge::RecordState`]) are the same whichever org a change came from.
/// Unsynced fields are dropped.
pub fn to_merge_keys(sync: &SyncSettings, from_source_side: bool, fields: &Fields) -> Fields {
    let lower = lowercased(fields);
    sync.fields
        .iter()
        .filter_map(|f| {
            let v = lower.get(&name(f, from_source_side).to_ascii_lowercase())?;
            Some((f.source.to_ascii_lowercase(), (*v).clone()))
        })
        .collect()
}

/// The lookups of `sync` whose parent is synced too (policy `sync`), each with the parent
/// object as named on one side.
pub fn sync_parents(
    sync: &SyncSettings,
    source_side: bool,
) -> impl Iterator<Item = (&crate::config::ParentSettings, &str)> {
    sync.parents.iter().filter_map(move |p| match &p.policy {
        ParentPolicy::Sync {
            object,
            target_object,
        } => Some((
            p,
            if source_side {
                object.as_str()
            } else {
                target_object.as_str()
            },
        )),
        _ => None,
    })
}

/// Rewrite the synced lookups of merge-keyed `fields` (see [`to_merge_keys`]) from the local id
/// of the parent in the org the change came from to the parent's global id, in place.
///
/// Why: a parent has a different local id in every org, so comparing lookups as local ids
/// makes every copy look like an edit (spurious conflicts, endless rewrites). The global id is
/// the same everywhere, so the merge state, the shadows and the agreed values hold lookups in
/// this canonical form. A parent the id map does not know was created in `from_org`, so its
/// global id is `from_org:<id>` (the same id its own capture will give it). Values that already
/// are global ids, nulls and non-text values are left alone (mapping rejects the latter).
pub fn canonical_lookups(
    sync: &SyncSettings,
    from_source_side: bool,
    fields: &mut Fields,
    from_org: &OrgId,
    parent_global_id: &dyn Fn(&str, &str) -> Option<GlobalId>,
) {
    for (p, from_object) in sync_parents(sync, from_source_side) {
        let key = p.field.to_ascii_lowercase();
        let Some(FieldValue::Text(id)) = fields.get(&key) else {
            continue;
        };
        if id.parse::<GlobalId>().is_ok() {
            continue;
        }
        let gid =
            parent_global_id(from_object, id).or_else(|| GlobalId::new(from_org.clone(), id).ok());
        if let Some(g) = gid {
            fields.insert(key, FieldValue::Text(g.to_string()));
        }
    }
}

/// [`canonical_lookups`] for what one of orgsync's own writes left in an org: a lookup whose
/// local id the ledger does not map yet is dropped instead of taken for a parent born there.
/// The write set it by a known parent's global id; the id map of a parent written in the same
/// round is recorded when that round completes, which its change events may precede. Taking
/// the unmapped id for a new parent would read as "the org holds another parent" and rewrite
/// a lookup that is right.
pub fn canonical_known_lookups(
    sync: &SyncSettings,
    from_source_side: bool,
    fields: &mut Fields,
    parent_global_id: &dyn Fn(&str, &str) -> Option<GlobalId>,
) {
    for (p, from_object) in sync_parents(sync, from_source_side) {
        let key = p.field.to_ascii_lowercase();
        let Some(FieldValue::Text(id)) = fields.get(&key) else {
            continue;
        };
        if id.parse::<GlobalId>().is_ok() {
            continue;
        }
        match parent_global_id(from_object, id) {
            Some(g) => fields.insert(key, FieldValue::Text(g.to_string())),
            None => fields.shift_remove(&key),
        };
    }
}

/// Prefix of a lookup held by its parent's Name (policy `match_by_name`).
pub const NAME_REF: &str = "name:";

/// A `match_by_name` lookup in its canonical form: the parent's Name, which is the same in
/// every org (its id is not). The engine reads the Name when it captures the lookup and puts
/// this in place of the id, so merges, shadows and payloads compare names.
pub fn name_ref(name: &str) -> FieldValue {
    FieldValue::Text(format!("{NAME_REF}{name}"))
}

/// A `match_by_name` parent object as named on one side: its sync's name there, or the
/// configured name when the parent is not synced itself.
pub fn parent_object(settings: &Settings, object: &str, source_side: bool) -> String {
    settings
        .syncs
        .iter()
        .find(|s| s.object.eq_ignore_ascii_case(object))
        .map_or(object.to_string(), |s| {
            object_name(s, source_side).to_string()
        })
}

/// The fields keyed by lowercased name: Salesforce field names are case-insensitive.
fn lowercased(fields: &Fields) -> IndexMap<String, &FieldValue> {
    fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// Back from merge keys to one side's field names (the inverse of [`to_merge_keys`]).
pub fn from_merge_keys(sync: &SyncSettings, to_source_side: bool, fields: &Fields) -> Fields {
    let lower = lowercased(fields);
    sync.fields
        .iter()
        .filter_map(|f| {
            let v = lower.get(&f.source.to_ascii_lowercase())?;
            Some((name(f, to_source_side).to_string(), (*v).clone()))
        })
        .collect()
}

/// The plain values of a payload (references and matches left out) as fields, for shadows.
pub fn payload_values(payload: &Payload) -> Fields {
    payload
        .iter()
        .filter_map(|(k, v)| match v {
            PayloadValue::Value { value } => Some((k.clone(), value.clone())),
            _ => None,
        })
        .collect()
}
