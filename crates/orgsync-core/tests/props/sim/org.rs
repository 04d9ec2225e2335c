//! An emulated org: rows with Id, synced fields, the global-id field, SystemModstamp and
//! IsDeleted (a delete keeps the row in the recycle bin; undelete restores the same row with
//! its pre-delete values and id), and its change log (CDC events in commit order). Users and
//! the engine write through the same calls; the engine's writes carry our client tag.
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
}

/// One org.
#[derive(Debug)]
pub struct Org {
    pub name: OrgName,
    pub id: OrgId,
    /// Source-side names (the hub, the chain's first org).
    pub source_side: bool,
    pub object: &'static str,
    pub field_names: [&'static str; 3],
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
            object: if source_side {
                "Account"
            } else {
                "Customer__c"
            },
            field_names: if source_side {
                ["Name", "Phone", "Notes__c"]
            } else {
                ["Name", "Phone", "Vendor_Notes__c"]
            },
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
    pub fn create(
        &mut self,
        id: &str,
        values: &Fields,
        gid: Option<GlobalId>,
        ts: i64,
        ours: bool,
    ) {
        let mut fields = Fields::new();
        for n in self.field_names {
            let v = values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map_or(FieldValue::Null, |(_, v)| v.clone());
            fields.insert(n.to_string(), v);
        }
        let mut unseen = BTreeMap::new();
        if !ours {
            unseen = self
                .field_names
                .iter()
                .map(|n| (n.to_string(), ts))
                .collect();
        }
        self.rows.insert(
            id.to_string(),
            Row {
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
