//! An emulated org: rows with Id, synced fields, the global-id field, SystemModstamp and
//! IsDeleted (a delete keeps the row in the recycle bin; undelete restores the same row with
//! its pre-delete values and id), and its change log (CDC events in commit order). Users and
//! the engine write through the same calls; the engine's writes carry our client tag.
//!
//! Two objects: a parent (Account on the hub, Customer__c elsewhere) and a child (Contact)
//! with a lookup to it. As in Salesforce, deleting a parent clears its children's lookups in
//! that org (without a change event or a new SystemModstamp), and undeleting it restores those
//! not replaced meanwhile; a lookup to a parent in the recycle bin is refused.
//!
//! It also keeps what only an observer knows (never read by the engine): per row, the users'
//! changes the engine has not captured yet, to tell an unavoidable write from an echo and to
//! tell where a poll cannot be precise.

use std::collections::BTreeMap;

use orgsync_core::config::OrgName;
use orgsync_core::echo::same_value;
use orgsync_core::model::{FieldValue, Fields, GlobalId, OrgId};

/// What a change event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Create,
    Update,
    Delete,
    Undelete,
}

/// One change event (CDC): CREATE and UNDELETE carry every synced field (absent = null) and
/// the global-id field, UPDATE only the changed fields, DELETE nothing.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub fields: Fields,
    pub gid: Option<GlobalId>,
    pub ts: i64,
    /// Written by orgsync (changeOrigin carries our client tag).
    pub ours: bool,
}

/// One record row.
#[derive(Debug, Clone)]
pub struct Row {
    /// 0: the parent object, 1: the child.
    pub object: usize,
    /// Child: the parent whose delete cleared its lookup (restored by its undelete).
    pub restore: Option<String>,
    /// Every synced field by this org's name (null explicit).
    pub fields: Fields,
    /// The global-id field.
    pub gid: Option<GlobalId>,
    pub modstamp: i64,
    pub deleted: bool,
    /// Observer: users' changes (events) not captured yet.
    pub uncaptured: usize,
    /// Observer: per field, the time of a user edit no capture has seen yet.
    pub unseen: BTreeMap<String, i64>,
    /// Observer: a user delete/undelete no capture has seen yet, with its time.
    pub unseen_life: Option<i64>,
    /// Observer: a user delete/undelete was undone before any capture saw it.
    pub missed_life: bool,
    /// Observer: users' commits on this row, ever.
    pub user_commits: usize,
}

impl Row {
    fn life_event(&mut self, ts: i64, ours: bool) {
        if !ours {
            self.missed_life |= self.unseen_life.is_some();
            self.unseen_life = Some(ts);
        }
    }
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The row is in the recycle bin (update, delete of a deleted row).
    EntityIsDeleted,
    /// Undelete of a row that is not in the recycle bin.
    NotInBin,
    /// A lookup to this parent, which is in the recycle bin.
    ParentDeleted,
}

/// An object's names in one org.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// Key prefix of its ids.
    pub prefix: &'static str,
}

/// The child's lookup field (same name on every org).
pub const LOOKUP: &str = "AccountId";

/// One org.
#[derive(Debug)]
pub struct Org {
    pub name: OrgName,
    pub id: OrgId,
    /// Source-side names (the hub, the chain's first org).
    pub source_side: bool,
    pub objects: [Object; 2],
    pub rows: BTreeMap<String, Row>,
    pub log: Vec<Event>,
    /// Time of its last commit (its SystemModstamps only increase).
    pub last_ts: i64,
    /// Observer: (row, field) of user edits our writes overwrote before any capture saw them.
    pub overwritten_unseen: Vec<(String, String)>,
}

impl Org {
    pub fn new(index: usize, name: &str, source_side: bool) -> Org {
        Org {
            name: OrgName::from(name),
            id: format!("00D00000000000{index}")
                .parse()
                .expect("valid org id"),
            source_side,
            objects: [
                if source_side {
                    Object {
                        name: "Account",
                        fields: &["Name", "Phone", "Notes__c"],
                        prefix: "001",
                    }
                } else {
                    Object {
                        name: "Customer__c",
                        fields: &["Name", "Phone", "Vendor_Notes__c"],
                        prefix: "a00",
                    }
                },
                Object {
                    name: "Contact",
                    fields: &["LastName", LOOKUP],
                    prefix: "003",
                },
            ],
            rows: BTreeMap::new(),
            log: Vec::new(),
            last_ts: -1,
            overwritten_unseen: Vec::new(),
        }
    }

    /// The record's global id as the engine would give it: the global-id field, else the row
    /// was created here.
    pub fn gid_of(&self, id: &str) -> GlobalId {
        self.rows
            .get(id)
            .and_then(|r| r.gid.clone())
            .unwrap_or_else(|| GlobalId::new(self.id.clone(), id).expect("valid id"))
    }

    fn event(&mut self, id: &str, kind: EventKind, fields: Fields, ts: i64, ours: bool) {
        let gid = self.rows.get(id).and_then(|r| r.gid.clone());
        self.log.push(Event {
            id: id.to_string(),
            kind,
            fields,
            gid,
            ts,
            ours,
        });
    }

    fn touch(&mut self, id: &str, ts: i64, ours: bool) -> &mut Row {
        assert!(ts > self.last_ts, "an org's commits are ordered");
        self.last_ts = ts;
        let row = self.rows.get_mut(id).expect("row");
        row.modstamp = ts;
        if !ours {
            row.uncaptured += 1;
            row.user_commits += 1;
        }
        row
    }

    /// Insert a new row (`gid`: the global-id field, set by orgsync's upsert).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        id: &str,
        object: usize,
        values: &Fields,
        gid: Option<GlobalId>,
        ts: i64,
        ours: bool,
    ) -> Result<(), Refused> {
        self.check_lookup(values)?;
        let names = self.objects[object].fields;
        let mut fields = Fields::new();
        for n in names {
            let v = values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map_or(FieldValue::Null, |(_, v)| v.clone());
            fields.insert(n.to_string(), v);
        }
        let mut unseen = BTreeMap::new();
        if !ours {
            unseen = names.iter().map(|n| (n.to_string(), ts)).collect();
        }
        self.rows.insert(
            id.to_string(),
            Row {
                object,
                restore: None,
                fields: fields.clone(),
                gid,
                modstamp: ts,
                deleted: false,
                uncaptured: 0,
                unseen,
                unseen_life: (!ours).then_some(ts),
                missed_life: false,
                user_commits: 0,
            },
        );
        self.touch(id, ts, ours);
        self.event(id, EventKind::Create, fields, ts, ours);
        Ok(())
    }

    /// A lookup may not point at a parent in the recycle bin.
    fn check_lookup(&self, values: &Fields) -> Result<(), Refused> {
        let to_deleted = values.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(LOOKUP)
                && matches!(v, FieldValue::Text(p) if self.rows.get(p).is_some_and(|r| r.deleted))
        });
        if to_deleted {
            return Err(Refused::ParentDeleted);
        }
        Ok(())
    }

    /// A parent was deleted (or restored): its children's lookups are cleared (or restored,
    /// where not replaced meanwhile), with no change event and no new SystemModstamp. For the
    /// observer, a user's delete or restore of the parent is a user's change of each child it
    /// touches (a write decided before it may find the value already there).
    fn cascade(&mut self, parent: &str, deleted: bool, ours: bool) {
        for row in self.rows.values_mut().filter(|r| r.object == 1) {
            let points = matches!(&row.fields[LOOKUP], FieldValue::Text(p) if p == parent);
            let touched = if deleted && points {
                row.fields.insert(LOOKUP.into(), FieldValue::Null);
                row.restore = Some(parent.to_string());
                true
            } else if !deleted && row.restore.as_deref() == Some(parent) {
                row.fields
                    .insert(LOOKUP.into(), FieldValue::Text(parent.to_string()));
                row.restore = None;
                true
            } else {
                false
            };
            if touched && !ours {
                row.user_commits += 1;
            }
        }
    }

    /// Observer: whether `row`'s lookup was cleared by a user's delete of its parent that no
    /// capture has seen yet — the engine cannot know the value is already empty there.
    pub fn cleared_unseen(&self, row: &Row) -> bool {
        row.restore
            .as_ref()
            .and_then(|p| self.rows.get(p))
            .is_some_and(|p| p.unseen_life.is_some())
    }

    /// Update fields of a live row; returns whether any value changed. A user's edit that
    /// changes nothing is no edit (no commit).
    pub fn update(
        &mut self,
        id: &str,
        values: &Fields,
        ts: i64,
        ours: bool,
    ) -> Result<bool, Refused> {
        let row = self.rows.get(id).expect("row");
        if row.deleted {
            return Err(Refused::EntityIsDeleted);
        }
        self.check_lookup(values)?;
        let row = self.rows.get(id).expect("row");
        let mut changed = Fields::new();
        for (k, v) in values {
            if let Some((name, cur)) = row.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(k))
                && !same_value(cur, v)
            {
                changed.insert(name.clone(), v.clone());
            }
        }
        if changed.is_empty() && !ours {
            return Ok(false);
        }
        let row = self.touch(id, ts, ours);
        let mut overwritten = Vec::new();
        for (k, v) in &changed {
            row.fields.insert(k.clone(), v.clone());
            if k == LOOKUP {
                row.restore = None;
            }
            if !ours {
                row.unseen.insert(k.clone(), ts);
            } else if row.unseen.remove(k).is_some() {
                overwritten.push((id.to_string(), k.clone()));
            }
        }
        self.overwritten_unseen.extend(overwritten);
        // Salesforce commits (and stamps) an update that changes nothing too; its event names
        // no synced field, which capture drops
        self.event(id, EventKind::Update, changed.clone(), ts, ours);
        Ok(!changed.is_empty())
    }

    pub fn delete(&mut self, id: &str, ts: i64, ours: bool) -> Result<(), Refused> {
        if self.rows.get(id).expect("row").deleted {
            return Err(Refused::EntityIsDeleted);
        }
        let row = self.touch(id, ts, ours);
        row.deleted = true;
        row.life_event(ts, ours);
        self.event(id, EventKind::Delete, Fields::new(), ts, ours);
        self.cascade(id, true, ours);
        Ok(())
    }

    pub fn undelete(&mut self, id: &str, ts: i64, ours: bool) -> Result<(), Refused> {
        if !self.rows.get(id).expect("row").deleted {
            return Err(Refused::NotInBin);
        }
        let row = self.touch(id, ts, ours);
        row.deleted = false;
        row.life_event(ts, ours);
        let fields = row.fields.clone();
        self.event(id, EventKind::Undelete, fields, ts, ours);
        self.cascade(id, false, ours);
        Ok(())
    }

    /// The live row carrying `gid` in its global-id field (what an upsert matches; rows in
    /// the recycle bin do not match).
    pub fn live_with_gid(&self, gid: &GlobalId) -> Option<String> {
        let mut found = self
            .rows
            .iter()
            .filter(|(_, r)| !r.deleted && r.gid.as_ref() == Some(gid))
            .map(|(id, _)| id.clone());
        let first = found.next();
        assert!(found.next().is_none(), "two live rows carry {gid}");
        first
    }

    /// Ids of live (or deleted) rows, sorted.
    pub fn ids(&self, deleted: bool) -> Vec<String> {
        self.rows
            .iter()
            .filter(|(_, r)| r.deleted == deleted)
            .map(|(id, _)| id.clone())
            .collect()
    }
}
