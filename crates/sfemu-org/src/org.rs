//! The [`Org`] itself: identity, schema, users and profiles, and the lock-protected data.

use crate::changelog::ChangeLog;
use crate::ids::{self, IdGen};
use crate::query::Cursors;
use crate::render::to_millis;
use crate::schema::{Schema, build_schema};
use crate::store::Table;
use crate::{OrgSpec, SfError, User};
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
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
    /// When this org's schema was built (it never changes while the org runs).
    pub(crate) schema_built: DateTime<Utc>,
    /// File bodies on disk (`blobs.rs`).
    pub(crate) blobs: crate::blobs::BlobStore,
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
        blob_dir: Option<std::path::PathBuf>,
    ) -> Result<Arc<Org>, SfError> {
        let blobs = match blob_dir {
            Some(d) => crate::blobs::BlobStore::persistent(d),
            None => crate::blobs::BlobStore::temporary(),
        }
        .map_err(|e| SfError::new("UNKNOWN_EXCEPTION", format!("blob directory: {e}")))?;
        let schema = Arc::new(build_schema(&spec.schema_files)?);
        let restored = match snapshot {
            Some(p) => Some(crate::persist::load(&schema, p)?),
            None => None,
        };
        let (org_id, mut data) = match restored {
            Some(r) => {
                if let Some(want) = &spec.org_id
                    && crate::ids::to18(want).as_deref() != Some(r.0.as_str())
                {
                    // The snapshot's identity wins: its ids were minted under it.
                    tracing::warn!(snapshot = %r.0, configured = %want, "org id differs from the snapshot's; keeping the snapshot's");
                }
                r
            }
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
        let profiles = crate::users::ensure_profiles(&spec, &schema, &mut data)?;
        let users = crate::users::ensure_users(&spec, &schema, &profiles, &mut data)?;
        crate::organization::ensure_organization(&spec, &schema, &org_id, &users, &mut data)?;
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
            schema_built: to_millis(Utc::now()),
            blobs,
        }))
    }

    /// When the schema was last modified (the org's start: schema files are read then), for
    /// `If-Modified-Since` on describe calls.
    pub fn schema_last_modified(&self) -> DateTime<Utc> {
        self.schema_built
    }

    /// Where this org keeps file bodies (the wire layer streams uploads into it).
    pub fn blobs(&self) -> &crate::blobs::BlobStore {
        &self.blobs
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
