//! The [`Org`] itself: identity, schema, users and profiles, and the lock-protected data.

use crate::changelog::ChangeLog;
use crate::ids::{self, IdGen};
use crate::query::Cursors;
use crate::render::to_millis;
use crate::schema::{ID_SLOT, IS_DELETED_SLOT, Schema, build_schema};
use crate::store::Table;
use crate::{OrgSpec, SfError, User};
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use soql::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// Everything that changes, behind one lock (queries take it shared, DML exclusive).
#[derive(Debug)]
pub struct Data {
    pub tables: Vec<Table>,
    pub idgen: IdGen,
    /// The last timestamp handed out: SystemModstamp never goes backwards within the org.
    pub clock: DateTime<Utc>,
    pub log: ChangeLog,
    /// Undo entries of transactions committed while an org-level savepoint is open.
    pub(crate) journal: Vec<crate::dml::Undo>,
    /// Open org-level savepoints.
    pub(crate) sp_depth: usize,
    /// The change-log seq when the outermost open savepoint was taken: later entries are not
    /// published (changes_after/last_change_seq/hooks) until the savepoint is released.
    pub(crate) sp_base: Option<u64>,
}

impl Data {
    /// Now, in ms precision, never before the previous call.
    pub fn tick(&mut self) -> DateTime<Utc> {
        let now = to_millis(Utc::now());
        if now > self.clock {
            self.clock = now;
        }
        self.clock
    }
}

/// A profile as resolved: its hidden `(table, slot)` pairs.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub hidden: HashSet<(usize, usize)>,
}

/// Callback run after each commit with the last change-log sequence number.
pub type CommitHook = Box<dyn Fn(u64) + Send + Sync>;

/// One emulated org. Cheap to share (`Arc<Org>`); all methods take `&self` and are thread-safe.
pub struct Org {
    /// A handle to itself, so savepoints can release themselves when dropped.
    pub(crate) me: std::sync::Weak<Org>,
    pub(crate) org_id: String,
    pub(crate) name: String,
    pub(crate) spec: OrgSpec,
    pub(crate) schema: Arc<Schema>,
    pub(crate) users: Vec<User>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) data: RwLock<Data>,
    pub(crate) cursors: Mutex<Cursors>,
    pub(crate) hooks: Mutex<Vec<CommitHook>>,
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

pub(crate) const ADMIN_PROFILE: &str = "System Administrator";

impl Org {
    /// Builds the org from its spec, with `data` restored from a snapshot when given.
    pub(crate) fn build(
        spec: OrgSpec,
        snapshot: Option<&std::path::Path>,
    ) -> Result<Arc<Org>, SfError> {
        let schema = Arc::new(build_schema(&spec.schema_files)?);
        let restored = match snapshot {
            Some(p) => Some(crate::persist::load(&schema, p)?),
            None => None,
        };
        let (org_id, mut data) = match restored {
            Some(r) => r,
            None => {
                let org_id = match &spec.org_id {
                    Some(id) => {
                        ids::to18(id)
                            .filter(|i| i.starts_with("00D"))
                            .ok_or_else(|| {
                                SfError::new("INVALID_ORG_ID", format!("invalid org id: {id}"))
                            })?
                    }
                    None => ids::new_org_id(),
                };
                let data = Data {
                    tables: schema.objects.iter().map(Table::new).collect(),
                    idgen: IdGen::new(&org_id),
                    clock: to_millis(Utc::now()),
                    log: ChangeLog::default(),
                    journal: Vec::new(),
                    sp_depth: 0,
                    sp_base: None,
                };
                (org_id, data)
            }
        };
        let profiles = ensure_profiles(&spec, &schema, &mut data)?;
        let users = ensure_users(&spec, &schema, &profiles, &mut data)?;
        Ok(Arc::new_cyclic(|me| Org {
            me: me.clone(),
            org_id,
            name: spec.name.clone(),
            spec,
            schema,
            users,
            profiles,
            data: RwLock::new(data),
            cursors: Mutex::new(Cursors::default()),
            hooks: Mutex::new(Vec::new()),
        }))
    }

    /// The schema (read-only, shared).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The `(table, slot)` pairs hidden from a user (empty for unknown users: they see all).
    pub(crate) fn hidden_for(&self, user_id: &str) -> &HashSet<(usize, usize)> {
        static EMPTY: std::sync::OnceLock<HashSet<(usize, usize)>> = std::sync::OnceLock::new();
        let empty = EMPTY.get_or_init(HashSet::new);
        let Some(u) = self.find_user(user_id) else {
            return empty;
        };
        self.profiles
            .iter()
            .find(|p| p.id == u.profile_id)
            .map_or(empty, |p| &p.hidden)
    }

    pub(crate) fn find_user(&self, user_id: &str) -> Option<&User> {
        let id = ids::to18(user_id)?;
        self.users.iter().find(|u| u.id == id)
    }

    /// The default user (first configured) — acts for seed data without a caller.
    pub fn default_user(&self) -> &User {
        &self.users[0]
    }

    /// Registers a callback run (outside the data lock) after every commit with the last
    /// change-log sequence number. Callbacks must be quick (e.g. wake a task).
    pub fn on_commit(&self, hook: CommitHook) {
        self.hooks.lock().push(hook);
    }

    /// A channel receiving the last sequence number after every commit (for threads that
    /// block; async servers should prefer [`Org::on_commit`] with a notifier).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<u64> {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        self.on_commit(Box::new(move |seq| {
            let _ = tx.lock().send(seq);
        }));
        rx
    }

    pub(crate) fn notify(&self, seq: u64) {
        for h in self.hooks.lock().iter() {
            h(seq);
        }
    }

    /// Objects whose changes are published as CDC events (from the spec).
    pub fn cdc_objects(&self) -> &[String] {
        &self.spec.cdc_objects
    }

    /// Caps the change log at `cap` entries (older ones are dropped first).
    pub fn set_change_log_cap(&self, cap: usize) {
        let mut d = self.data.write();
        d.log.cap = cap.max(1);
        d.log.trim();
    }

    /// Caps the change log's memory at about `bytes` (older entries are dropped first).
    pub fn set_change_log_max_bytes(&self, bytes: usize) {
        let mut d = self.data.write();
        d.log.max_bytes = bytes.max(1);
        d.log.trim();
    }

    /// The oldest change-log `seq` still kept (`last_change_seq() + 1` when the log is empty):
    /// a consumer that needs an older one has lost changes (a CDC gap).
    pub fn first_change_seq(&self) -> u64 {
        self.data.read().log.first_seq()
    }
}

/// Inserts a system row (users, profiles) directly, without DML or change log.
fn insert_system_row(
    schema: &Schema,
    data: &mut Data,
    table: usize,
    fields: &[(&str, Value)],
    creator: Option<&str>,
) -> String {
    let obj = schema.obj(table);
    let id = data.idgen.next(&obj.key_prefix);
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

fn ensure_profiles(
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

fn ensure_users(
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
                insert_system_row(schema, data, t, &fields, creator.as_deref())
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
