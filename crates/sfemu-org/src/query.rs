//! SOQL over the store: [`soql::Catalog`] + [`soql::DataSource`] on a read-locked view with
//! field-level security, query cursors (`01g…-2000` locators) and the JSON record shapes.

use crate::org::{Data, Org};
use crate::records::url_version;
use crate::schema::{FieldType, ID_SLOT, Schema};
use crate::{QueryPage, SfError, ids};
use chrono::{FixedOffset, Utc};
use serde_json::{Map, Value as Json};
use soql::{
    Catalog, ChildRel, DataSource, EvalContext, Execution, FieldInfo, ObjectInfo, OutRecord,
    OutValue, ParentRel, Plan, ScanHint, Value,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an unused cursor lives.
pub const CURSOR_IDLE: Duration = Duration::from_secs(15 * 60);
/// Open cursors per user; opening another evicts the least recently used.
pub const CURSORS_PER_USER: usize = 50;

/// The org's data as one user sees it (hidden fields absent), for the SOQL engine.
pub(crate) struct View<'a> {
    pub schema: &'a Schema,
    pub data: &'a Data,
    pub hidden: &'a HashSet<(usize, usize)>,
}

impl View<'_> {
    fn info(&self, table: usize) -> ObjectInfo {
        ObjectInfo {
            name: self.schema.obj(table).name.clone(),
            table,
        }
    }
    fn visible(&self, table: usize, slot: usize) -> bool {
        !self.hidden.contains(&(table, slot))
    }
}

impl Catalog for View<'_> {
    fn object(&self, name: &str) -> Option<ObjectInfo> {
        self.schema.table(name).map(|t| self.info(t))
    }

    fn field(&self, object: &ObjectInfo, name: &str) -> Option<FieldInfo> {
        let obj = self.schema.objects.get(object.table)?;
        let slot = obj.slot(name).filter(|&s| self.visible(object.table, s))?;
        let f = &obj.fields[slot];
        let long = f.is_long_text();
        let numeric = f.ftype.is_numeric();
        Some(FieldInfo {
            name: f.name.clone(),
            kind: f.kind(),
            slot,
            filterable: !long,
            sortable: !long && f.ftype != FieldType::MultiPicklist,
            groupable: !long
                && !matches!(
                    f.ftype,
                    FieldType::Double
                        | FieldType::Currency
                        | FieldType::Percent
                        | FieldType::DateTime
                        | FieldType::MultiPicklist
                ),
            aggregatable: numeric,
        })
    }

    fn parent_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ParentRel> {
        let obj = self.schema.objects.get(object.table)?;
        let slot = obj
            .rel_slot(name)
            .filter(|&s| self.visible(object.table, s))?;
        let f = &obj.fields[slot];
        let target = self.schema.table(f.reference_to.first()?)?;
        Some(ParentRel {
            name: f.relationship_name.clone()?,
            slot,
            target: self.info(target),
        })
    }

    fn child_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ChildRel> {
        let obj = self.schema.objects.get(object.table)?;
        let c = obj.child(name)?;
        if !self.visible(c.child_table, c.slot) {
            return None;
        }
        Some(ChildRel {
            name: c.name.clone(),
            child: self.info(c.child_table),
            slot: c.slot,
        })
    }
}

impl DataSource for View<'_> {
    fn scan(&self, table: usize, include_deleted: bool, hint: &ScanHint) -> Vec<usize> {
        let t = &self.data.tables[table];
        let keep = |r: &usize| include_deleted || !t.is_deleted(*r);
        if let ScanHint::AnyOf { slot, values } = hint {
            let slot = *slot;
            let indexed = slot == ID_SLOT || t.has_ci_unique_index(slot) || t.has_ref_index(slot);
            if indexed {
                let mut rows: Vec<usize> = Vec::new();
                for v in values {
                    let Value::Text(s) = v else { continue };
                    if slot == ID_SLOT {
                        rows.extend(t.find(s).filter(|_| ids::is_well_formed(s)));
                    } else if t.has_ci_unique_index(slot) {
                        // The unique index holds live rows only.
                        if include_deleted {
                            return (0..t.len()).collect();
                        }
                        rows.extend(t.find_unique(slot, s).unwrap_or_default());
                    } else if let Some(kids) =
                        ids::to18(s).and_then(|id| t.find_children(slot, &id))
                    {
                        rows.extend(kids);
                    }
                }
                rows.sort_unstable();
                rows.dedup();
                rows.retain(keep);
                return rows;
            }
        }
        (0..t.len()).filter(keep).collect()
    }

    fn value(&self, table: usize, row: usize, slot: usize) -> &Value {
        self.data.tables[table].get(row, slot)
    }

    fn id(&self, table: usize, row: usize) -> &str {
        self.data.tables[table].id(row)
    }

    fn row_by_id(&self, table: usize, id: &str, include_deleted: bool) -> Option<usize> {
        if !ids::is_well_formed(id) {
            return None;
        }
        let t = &self.data.tables[table];
        t.find(id).filter(|&r| include_deleted || !t.is_deleted(r))
    }

    fn children(
        &self,
        child_table: usize,
        slot: usize,
        parent_id: &str,
        include_deleted: bool,
    ) -> Vec<usize> {
        let t = &self.data.tables[child_table];
        let rows = match t.find_children(slot, parent_id) {
            Some(mut rows) => {
                rows.sort_unstable();
                rows
            }
            None => (0..t.len())
                .filter(|&r| t.get(r, slot).as_str() == Some(parent_id))
                .collect(),
        };
        rows.into_iter()
            .filter(|&r| include_deleted || !t.is_deleted(r))
            .collect()
    }
}

/// One open query cursor.
struct Cursor {
    plan: Arc<Plan>,
    rows: Arc<Vec<usize>>,
    user: String,
    include_deleted: bool,
    last_used: Instant,
}

/// Open cursors of an org.
#[derive(Default)]
pub struct Cursors {
    map: HashMap<String, Cursor>,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cursors({})", self.map.len())
    }
}

impl Cursors {
    fn purge(&mut self, now: Instant) {
        self.map
            .retain(|_, c| now.duration_since(c.last_used) < CURSOR_IDLE);
    }

    fn open(&mut self, c: Cursor) -> String {
        let now = Instant::now();
        self.purge(now);
        let mine: Vec<(String, Instant)> = self
            .map
            .iter()
            .filter(|(_, x)| x.user == c.user)
            .map(|(k, x)| (k.clone(), x.last_used))
            .collect();
        if mine.len() >= CURSORS_PER_USER
            && let Some((oldest, _)) = mine.iter().min_by_key(|(_, t)| *t)
        {
            self.map.remove(oldest);
        }
        let id = format!("01g{}", ids::random_base62(15));
        self.map.insert(id.clone(), c);
        id
    }
}

fn invalid_locator() -> SfError {
    SfError::new("INVALID_QUERY_LOCATOR", "invalid query locator")
}

fn map_soql(e: soql::SoqlError) -> SfError {
    SfError::new(e.code.as_str(), e.message)
}

fn ctx(include_deleted: bool) -> EvalContext {
    EvalContext {
        now: Utc::now(),
        include_deleted,
        tz: FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()),
    }
}

/// Renders a SOQL output record as Salesforce's JSON.
pub(crate) fn out_json(schema: &Schema, rec: &OutRecord, version: &str) -> Json {
    let mut m = Map::new();
    let mut attrs = Map::new();
    attrs.insert("type".into(), Json::String(rec.object.clone()));
    if let Some(id) = &rec.id {
        attrs.insert(
            "url".into(),
            Json::String(format!(
                "/services/data/{}/sobjects/{}/{id}",
                url_version(version),
                rec.object
            )),
        );
    }
    m.insert("attributes".into(), Json::Object(attrs));
    let obj = schema.table(&rec.object).map(|t| schema.obj(t));
    for (k, v) in &rec.fields {
        let j = match v {
            OutValue::Scalar(val) => {
                let blob = obj
                    .and_then(|o| o.slot(k))
                    .and_then(|s| obj.map(|o| &o.fields[s]));
                match (blob, &rec.id) {
                    (Some(f), Some(id)) if f.ftype == FieldType::Base64 && !val.is_null() => {
                        Json::String(format!(
                            "/services/data/{}/sobjects/{}/{id}/{}",
                            url_version(version),
                            rec.object,
                            f.name
                        ))
                    }
                    _ => crate::render::value(val),
                }
            }
            OutValue::Parent(None) | OutValue::Children(None) => Json::Null,
            OutValue::Parent(Some(p)) => out_json(schema, p, version),
            OutValue::Children(Some(rows)) => {
                let records: Vec<Json> =
                    rows.iter().map(|r| out_json(schema, r, version)).collect();
                serde_json::json!({"totalSize": records.len(), "done": true, "records": records})
            }
        };
        m.insert(k.clone(), j);
    }
    Json::Object(m)
}

fn page(
    org: &Org,
    view: &View<'_>,
    cur: &Cursor,
    offset: usize,
    batch: usize,
    version: &str,
    locator_id: &str,
) -> QueryPage {
    let ctx = ctx(cur.include_deleted);
    let end = (offset + batch).min(cur.rows.len());
    // Rows removed since the cursor was opened (a savepoint rollback) are skipped.
    let live = view.data.tables[cur.plan.object().table].len();
    let records = cur.rows[offset.min(end)..end]
        .iter()
        .filter(|&&r| r < live)
        .map(|&r| out_json(&org.schema, &cur.plan.project(view, r, &ctx), version))
        .collect();
    let done = end >= cur.rows.len();
    QueryPage {
        total_size: cur.rows.len() as u64,
        done,
        next_locator: (!done).then(|| format!("{locator_id}-{end}")),
        records,
    }
}

impl Org {
    pub(crate) fn run_query(
        &self,
        user_id: &str,
        text: &str,
        all_rows: bool,
        batch: usize,
        version: &str,
    ) -> Result<QueryPage, SfError> {
        crate::query_rules::check(text)?;
        let user = self.cursor_owner(user_id);
        let batch = batch.clamp(200, 2000);
        let data = self.data.read();
        let view = View {
            schema: &self.schema,
            data: &data,
            hidden: self.hidden_for(&user),
        };
        let plan = soql::plan(text, &view).map_err(map_soql)?;
        let c = ctx(all_rows);
        match plan.execute(&view, &c).map_err(map_soql)? {
            Execution::Count(n) => Ok(QueryPage {
                total_size: n,
                done: true,
                next_locator: None,
                records: Vec::new(),
            }),
            Execution::Aggregate(recs) => Ok(QueryPage {
                total_size: recs.len() as u64,
                done: true,
                next_locator: None,
                records: recs
                    .iter()
                    .map(|r| out_json(&self.schema, r, version))
                    .collect(),
            }),
            Execution::Rows(rows) => {
                let cur = Cursor {
                    plan: Arc::new(plan),
                    rows: Arc::new(rows),
                    user: user.clone(),
                    include_deleted: all_rows,
                    last_used: Instant::now(),
                };
                if cur.rows.len() <= batch {
                    return Ok(page(self, &view, &cur, 0, batch, version, ""));
                }
                let first_rows = cur.rows.clone();
                let plan = cur.plan.clone();
                let id = self.cursors.lock().open(cur);
                let tmp = Cursor {
                    plan,
                    rows: first_rows,
                    user,
                    include_deleted: all_rows,
                    last_used: Instant::now(),
                };
                Ok(page(self, &view, &tmp, 0, batch, version, &id))
            }
        }
    }

    pub(crate) fn run_query_more(
        &self,
        user_id: &str,
        locator: &str,
        batch: usize,
        version: &str,
    ) -> Result<QueryPage, SfError> {
        let user = self.cursor_owner(user_id);
        let batch = batch.clamp(200, 2000);
        let locator = locator.trim_matches('/');
        let locator = locator.rsplit('/').next().unwrap_or(locator);
        let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid_locator)?;
        let offset: usize = offset.parse().map_err(|_| invalid_locator())?;
        let (plan, rows, include_deleted) = {
            let mut cursors = self.cursors.lock();
            cursors.purge(Instant::now());
            let c = cursors.map.get_mut(id).ok_or_else(invalid_locator)?;
            if c.user != user || offset > c.rows.len() {
                return Err(invalid_locator());
            }
            c.last_used = Instant::now();
            (c.plan.clone(), c.rows.clone(), c.include_deleted)
        };
        let data = self.data.read();
        let view = View {
            schema: &self.schema,
            data: &data,
            hidden: self.hidden_for(&user),
        };
        let cur = Cursor {
            plan,
            rows,
            user,
            include_deleted,
            last_used: Instant::now(),
        };
        Ok(page(self, &view, &cur, offset, batch, version, id))
    }

    /// The id a cursor is kept under: the caller's user id when known, else the caller as given
    /// (so only the same caller can page on).
    fn cursor_owner(&self, user_id: &str) -> String {
        self.find_user(user_id)
            .map_or_else(|| user_id.to_string(), |u| u.id.clone())
    }

    /// Number of open query cursors (for tests and the control surface).
    pub fn open_cursors(&self) -> usize {
        let mut c = self.cursors.lock();
        c.purge(Instant::now());
        c.map.len()
    }
}
