//! The public surface of an emulated org (the contract the `sfemu` HTTP layer codes against).
//!
//! The types live here; `impl Org` below is a thin layer delegating to the modules that do the
//! work (`dml`, `query`, `describe`, `records`, `replication`, `persist`, `changelog`).

use crate::SfError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::sync::Arc;

pub use crate::org::Org;

/// How an org is built: identity, schema, users. The `sfemu` config file maps onto this.
#[derive(Debug, Clone)]
pub struct OrgSpec {
    /// 18-character org id (`00D…`). Generated when absent.
    pub org_id: Option<String>,
    /// Organization name shown by userinfo and SOAP login.
    pub name: String,
    /// Extra schema files (TOML) adding custom objects and fields to the default schema.
    pub schema_files: Vec<std::path::PathBuf>,
    /// Users; when empty, the default `admin@sfemu.test` / `sfemu` System Administrator.
    pub users: Vec<UserSpec>,
    /// Profiles; `System Administrator` (sees everything) always exists.
    pub profiles: Vec<ProfileSpec>,
    /// Objects whose changes are published as Change Data Capture events (for the later CDC issue).
    pub cdc_objects: Vec<String>,
}

/// A user of the org.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub username: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Profile name; `System Administrator` when absent.
    pub profile: Option<String>,
}

/// A profile: field-level security as a list of hidden fields (`Account.Phone`).
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub name: String,
    /// `Object.Field` names this profile cannot see or write.
    pub hidden_fields: Vec<String>,
}

/// A user as resolved by the org (ids are 18 chars).
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub profile_id: String,
    pub profile_name: String,
}

/// Who is acting and through which API, for system fields, field-level security and the
/// change log's `changeOrigin` (`com/salesforce/api/rest/62.0;client=orgsync`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    /// `rest`, `soap`, `bulkapi`…
    pub api: String,
    /// `62.0`
    pub api_version: String,
    /// The `client=` value of `Sforce-Call-Options`, if sent.
    pub client: Option<String>,
}

/// One record operation inside a batch (sObject Collections, composite, or a single REST call).
#[derive(Debug, Clone)]
pub enum DmlOp {
    Create {
        object: String,
        fields: Map<String, Json>,
    },
    Update {
        object: Option<String>,
        id: String,
        fields: Map<String, Json>,
    },
    Upsert {
        object: String,
        ext_field: String,
        ext_value: String,
        fields: Map<String, Json>,
    },
    Delete {
        id: String,
    },
    Undelete {
        id: String,
    },
}

/// The outcome of one successful operation.
#[derive(Debug, Clone, PartialEq)]
pub struct DmlOutcome {
    pub id: String,
    /// `Some(true)` for a created record, `Some(false)` for an upsert that updated.
    pub created: Option<bool>,
}

/// Why one operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum DmlFailure {
    /// Validation or access errors, in Salesforce's codes.
    Errors(Vec<SfError>),
    /// An upsert whose external id matched several records (HTTP 300): their ids.
    MultipleMatches(Vec<String>),
}

/// One page of a query result, already rendered in Salesforce's JSON record shape
/// (`attributes` first, then fields in SELECT order, parents nested, children as QueryResults).
#[derive(Debug, Clone)]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    /// Locator for `/query/<locator>` when `done` is false (`01g…-2000`).
    pub next_locator: Option<String>,
    pub records: Vec<Json>,
}

/// `/updated` result.
#[derive(Debug, Clone)]
pub struct UpdatedIds {
    pub ids: Vec<String>,
    pub latest_date_covered: DateTime<Utc>,
}

/// `/deleted` result.
#[derive(Debug, Clone)]
pub struct DeletedIds {
    pub deleted: Vec<(String, DateTime<Utc>)>,
    pub earliest_date_available: DateTime<Utc>,
    pub latest_date_covered: DateTime<Utc>,
}

/// One committed change to one record, as Change Data Capture would report it.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// Position in the org's change log (1, 2, 3…), increasing.
    pub seq: u64,
    pub entity: String,
    pub record_id: String,
    /// `CREATE`, `UPDATE`, `DELETE`, `UNDELETE`.
    pub change_type: String,
    pub change_origin: String,
    pub transaction_key: String,
    /// Order within the transaction, from 1.
    pub sequence_number: u32,
    pub commit_timestamp: DateTime<Utc>,
    pub commit_number: u64,
    pub commit_user: String,
    /// Fields whose value changed (UPDATE; includes LastModifiedDate), empty on CREATE.
    pub changed_fields: Vec<String>,
    /// Fields set to null by this change.
    pub nulled_fields: Vec<String>,
    /// The new values of the changed fields (all non-null fields on CREATE), JSON-rendered.
    pub values: Map<String, Json>,
    /// False for changes the platform made on its own inside another change's transaction
    /// (lookups cleared by a parent's delete, restored by its undelete): recorded here, not
    /// published as change events or outbound messages.
    pub published: bool,
    /// Why such a change happened (`LOOKUP_CLEARED`, `LOOKUP_RESTORED`); None otherwise.
    pub cause: Option<String>,
}

/// A mark in an org's history for [`Org::rollback_to`] (composite `allOrNone`). Opaque.
#[derive(Debug)]
pub struct Savepoint {
    /// The org's change-log position when the savepoint was taken.
    pub seq: u64,
    pub(crate) commit: u64,
    pub(crate) journal: usize,
    pub(crate) org: std::sync::Weak<Org>,
    pub(crate) done: bool,
}

/// Dropping a savepoint without rolling back releases it: the changes made since stay, and
/// are published (change log, commit hooks) when the outermost savepoint is released.
impl Drop for Savepoint {
    fn drop(&mut self) {
        if !self.done
            && let Some(org) = self.org.upgrade()
        {
            org.release_savepoint();
        }
    }
}

#[allow(clippy::too_many_arguments)]
impl Org {
    /// Builds an org from its spec (default schema + schema files, users, profiles).
    pub fn new(spec: OrgSpec) -> Result<Arc<Org>, SfError> {
        Org::build(spec, None, None)
    }
    /// Loads an org persisted by [`Org::save`] in `dir`, or builds it from `spec` when none.
    /// The schema, users and profiles always come from `spec`; data, counters, recycle bin and
    /// change log from the snapshot.
    pub fn open(spec: OrgSpec, dir: &Path) -> Result<Arc<Org>, SfError> {
        let path = crate::persist::snapshot_path(dir);
        let blobs = Some(dir.join("blobs"));
        if path.exists() {
            Org::build(spec, Some(&path), blobs)
        } else {
            Org::build(spec, None, blobs)
        }
    }
    /// Writes the org's state to `dir` atomically (temp file + rename).
    pub fn save(&self, dir: &Path) -> Result<(), SfError> {
        self.save_snapshot(dir)
    }
    pub fn org_id(&self) -> &str {
        &self.org_id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn user_by_username(&self, username: &str) -> Option<User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .cloned()
    }
    pub fn user_by_id(&self, id: &str) -> Option<User> {
        self.find_user(id).cloned()
    }
    /// Every configured user.
    pub fn users(&self) -> Vec<User> {
        self.users.clone()
    }
    /// Inserts records given as a JSON object `{"Account": [ {fields…}, … ], …}` (parents by
    /// external id allowed), as the seed data of a config file. One all-or-none transaction;
    /// the error names the failing record (`seed Account[3]: …`).
    pub fn load_seed(&self, caller: &Caller, seed: &Json) -> Result<usize, SfError> {
        self.seed(caller, seed)
    }

    /// `GET /sobjects/` body (describeGlobal) for this user; `version` like `62.0` builds urls.
    pub fn describe_global(&self, user_id: &str, version: &str) -> Json {
        self.global(user_id, version)
    }
    /// `GET /sobjects/X/describe` body; `NOT_FOUND` for an unknown object.
    pub fn describe(&self, user_id: &str, object: &str, version: &str) -> Result<Json, SfError> {
        self.full_describe(user_id, object, version)
    }
    /// `GET /sobjects/X` body's `objectDescribe` part (the describeGlobal entry).
    pub fn describe_basic(
        &self,
        user_id: &str,
        object: &str,
        version: &str,
    ) -> Result<Json, SfError> {
        let _ = user_id;
        self.basic_describe(object, version)
    }
    /// Canonical object name for a case-insensitive name, or `NOT_FOUND`.
    pub fn object_name(&self, object: &str) -> Result<String, SfError> {
        self.schema
            .table(object)
            .map(|t| self.schema.obj(t).name.clone())
            .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))
    }

    /// Runs operations in one transaction. With `all_or_none`, any failure rolls back every
    /// operation (the others then fail with `ALL_OR_NONE_OPERATION_ROLLED_BACK`); otherwise each
    /// succeeds or fails on its own. Results come back in request order.
    ///
    /// Unknown or recycled ids: `NOT_FOUND` "The requested resource does not exist" /
    /// `ENTITY_IS_DELETED` "entity is deleted" (the HTTP layer picks the status).
    pub fn apply(
        &self,
        caller: &Caller,
        ops: Vec<DmlOp>,
        all_or_none: bool,
    ) -> Vec<Result<DmlOutcome, DmlFailure>> {
        crate::dml::apply(self, caller, ops, all_or_none)
    }
    /// A record by id (15 or 18 chars) or by external id, rendered with `attributes`.
    /// `fields` None = every visible field. Recycled record → `ENTITY_IS_DELETED`.
    pub fn retrieve(
        &self,
        user_id: &str,
        object: &str,
        id: &str,
        fields: Option<&[String]>,
        version: &str,
    ) -> Result<Json, SfError> {
        self.get_record(user_id, object, id, fields, version)
    }
    /// `GET /sobjects/X/{ExtField}/{value}`.
    pub fn retrieve_by_external_id(
        &self,
        user_id: &str,
        object: &str,
        ext_field: &str,
        value: &str,
        fields: Option<&[String]>,
        version: &str,
    ) -> Result<Json, DmlFailure> {
        self.get_by_ext(user_id, object, ext_field, value, fields, version)
    }

    /// Runs a SOQL query (`all_rows` = queryAll) and returns its first page of at most
    /// `batch_size` rows (200..=2000); later pages via [`Org::query_more`].
    pub fn query(
        &self,
        user_id: &str,
        soql: &str,
        all_rows: bool,
        batch_size: usize,
        version: &str,
    ) -> Result<QueryPage, SfError> {
        self.run_query(user_id, soql, all_rows, batch_size, version)
    }
    /// The page at a locator returned by [`Org::query`]; `INVALID_QUERY_LOCATOR` if unknown.
    /// Accepts the bare locator (`01g…-2000`) or the whole `nextRecordsUrl`.
    pub fn query_more(
        &self,
        user_id: &str,
        locator: &str,
        batch_size: usize,
        version: &str,
    ) -> Result<QueryPage, SfError> {
        self.run_query_more(user_id, locator, batch_size, version)
    }
    /// `/sobjects/X/updated?start&end`.
    pub fn updated(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedIds, SfError> {
        self.updated_ids(object, start, end)
    }
    /// `/sobjects/X/deleted?start&end`.
    pub fn deleted(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedIds, SfError> {
        self.deleted_ids(object, start, end)
    }

    /// Change-log entries with `seq > after`, at most `max`.
    pub fn changes_after(&self, after: u64, max: usize) -> Vec<ChangeRecord> {
        let d = self.data.read();
        let upto = d.sp_base.unwrap_or(d.log.last_seq);
        d.log.after(&self.schema, after, upto, max)
    }
    /// The last change-log sequence number (0 when empty).
    pub fn last_change_seq(&self) -> u64 {
        let d = self.data.read();
        d.sp_base.unwrap_or(d.log.last_seq)
    }
    /// Edits a record's fields directly, bypassing validation, system fields and the change log
    /// (to simulate drift in tests).
    pub fn direct_edit(
        &self,
        object: &str,
        id: &str,
        fields: &Map<String, Json>,
    ) -> Result<(), SfError> {
        self.edit_direct(object, id, fields)
    }
    /// Removes a record for good, live or in the recycle bin, with no change log entry and no
    /// cascade (a test hook standing for data lost behind the API's back: a sandbox refresh, a
    /// hard delete outside the sync). Queries then never see it again, not even `queryAll`.
    pub fn purge_direct(&self, object: &str, id: &str) -> Result<(), SfError> {
        self.purge_direct_impl(object, id)
    }
    /// Number of live records per object (for the control surface and benchmarks).
    pub fn record_counts(&self) -> Vec<(String, usize)> {
        self.counts()
    }

    /// Marks the org's current state so that [`Org::rollback_to`] can undo every change
    /// committed after it — records, recycle bin, change log — leaving no trace (a composite
    /// `allOrNone` request whose later subrequest fails). Changes committed by other callers in
    /// between are undone too: the emulator does not isolate concurrent transactions.
    /// While a savepoint is open, every commit joins one transaction (one transaction key and
    /// commit number in the change log), and the changes are published (`changes_after`,
    /// `last_change_seq`, commit hooks) only when the outermost savepoint is released by being
    /// dropped; [`Org::rollback_to`] discards them unpublished.
    pub fn savepoint(&self) -> Result<Savepoint, SfError> {
        Ok(self.take_savepoint())
    }
    /// Returns the org to the state marked by `savepoint` (see [`Org::savepoint`]).
    pub fn rollback_to(&self, savepoint: Savepoint) -> Result<(), SfError> {
        self.rollback_savepoint(savepoint)
    }
}
