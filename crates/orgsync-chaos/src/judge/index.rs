//! The world indexed by global id: which rows of which org are one record, and the canonical
//! form of a value (a lookup becomes its parent's global id; numbers compare as numbers), so
//! values from different orgs can be compared at all.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::model::{Change, Row, World};

/// A record: object and global id.
pub type Key = (String, String);

/// A global id for a row: its stamped global-id field, or `<org id>:<Id>` for a record never
/// stamped (it began in this org and orgsync never wrote to it), as orgsync itself names it.
pub fn gid_of(org_id: &str, row: &Row) -> String {
    match &row.gid_field {
        Some(g) if !g.is_empty() => g.clone(),
        _ => format!("{org_id}:{}", row.id),
    }
}

/// What a lookup points at in one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Empty.
    Empty,
    /// A live row of this global id.
    Live(String),
    /// A row in the recycle bin, with its global id.
    Deleted(String),
    /// An id no row of this org has.
    Unknown(String),
}

impl Target {
    /// The global id pointed at, when known.
    pub fn gid(&self) -> Option<&str> {
        match self {
            Target::Live(g) | Target::Deleted(g) => Some(g),
            Target::Empty | Target::Unknown(_) => None,
        }
    }
}

/// The index.
#[derive(Debug)]
pub struct Index<'w> {
    /// The world indexed.
    pub world: &'w World,
    /// Per org: local id → (global id, row index).
    by_id: Vec<HashMap<&'w str, (String, usize)>>,
    /// Per record: per org, its row indexes (live and deleted).
    pub records: BTreeMap<Key, Vec<Vec<usize>>>,
}

impl<'w> Index<'w> {
    /// Index every row of every org.
    pub fn new(world: &'w World) -> Self {
        let n = world.orgs.len();
        let mut by_id = vec![HashMap::new(); n];
        let mut records: BTreeMap<Key, Vec<Vec<usize>>> = BTreeMap::new();
        for (o, org) in world.orgs.iter().enumerate() {
            for (r, row) in org.rows.iter().enumerate() {
                let gid = gid_of(&org.org_id, row);
                by_id[o].insert(row.id.as_str(), (gid.clone(), r));
                records
                    .entry((row.object.clone(), gid))
                    .or_insert_with(|| vec![Vec::new(); n])[o]
                    .push(r);
            }
        }
        Index {
            world,
            by_id,
            records,
        }
    }

    /// The row of `org` with local id `id`.
    pub fn row(&self, org: usize, id: &str) -> Option<(&str, &'w Row)> {
        let (gid, r) = self.by_id.get(org)?.get(id)?;
        Some((gid.as_str(), &self.world.orgs[org].rows[*r]))
    }

    /// The global id of a change's record (None when the row is unknown).
    pub fn gid_of_change(&self, org: usize, c: &Change) -> Option<&str> {
        self.row(org, &c.record_id).map(|(g, _)| g)
    }

    /// The first live row of `key` in `org`.
    pub fn live(&self, key: &Key, org: usize) -> Option<&'w Row> {
        let rows = self.records.get(key)?.get(org)?;
        rows.iter()
            .map(|r| &self.world.orgs[org].rows[*r])
            .find(|row| !row.deleted)
    }

    /// How many live rows `key` has in `org`.
    pub fn live_count(&self, key: &Key, org: usize) -> usize {
        self.records
            .get(key)
            .and_then(|v| v.get(org))
            .map_or(0, |rows| {
                rows.iter()
                    .filter(|r| !self.world.orgs[org].rows[**r].deleted)
                    .count()
            })
    }

    /// The value of `field` in the first live row of `key` in `org` (null when none).
    pub fn live_value(&self, key: &Key, org: usize, field: &str) -> &'w Value {
        static NULL: Value = Value::Null;
        self.live(key, org)
            .and_then(|r| r.values.get(field))
            .unwrap_or(&NULL)
    }

    /// The names of `orgs`, comma-separated.
    pub fn names(&self, orgs: &[usize]) -> String {
        let v: Vec<&str> = orgs
            .iter()
            .map(|o| self.world.orgs[*o].name.as_str())
            .collect();
        v.join(", ")
    }

    /// The orgs where `key` is live.
    pub fn live_orgs(&self, key: &Key) -> Vec<usize> {
        (0..self.world.orgs.len())
            .filter(|o| self.live(key, *o).is_some())
            .collect()
    }

    /// What a lookup value read in `org` points at.
    pub fn target(&self, org: usize, v: &Value) -> Target {
        match v {
            Value::Null => Target::Empty,
            Value::String(s) if s.is_empty() => Target::Empty,
            Value::String(id) => match self.row(org, id) {
                Some((g, row)) if !row.deleted => Target::Live(g.to_string()),
                Some((g, _)) => Target::Deleted(g.to_string()),
                None => Target::Unknown(id.clone()),
            },
            other => Target::Unknown(other.to_string()),
        }
    }

    /// `v`, read in `org` for `object.field`, in a form comparable across orgs: a lookup as
    /// `@<parent global id>` (`?<id>` when no row of the org has that id), a number as an f64,
    /// an empty string as null.
    pub fn canonical(&self, org: usize, object: &str, field: &str, v: &Value) -> Value {
        let is_lookup = self
            .world
            .object(object)
            .is_some_and(|o| o.lookup(field).is_some());
        if is_lookup {
            return match self.target(org, v) {
                Target::Empty => Value::Null,
                Target::Live(g) | Target::Deleted(g) => Value::String(format!("@{g}")),
                Target::Unknown(id) => Value::String(format!("?{id}")),
            };
        }
        plain(v)
    }
}

/// Numbers as f64 (`5` and `5.0` are one value), empty strings as null.
pub fn plain(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(v.clone(), Value::from),
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    }
}
