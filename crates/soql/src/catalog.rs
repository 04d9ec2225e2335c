//! What the checker and the evaluator need from whoever holds the data (the emulator).
//!
//! Everything is addressed by small integer handles (table, column slot, row) resolved once when a
//! query is planned, so evaluating a row never hashes a field name.

use crate::Value;

/// Field types as SOQL cares about them (operators allowed, literal types accepted, sort order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Id,
    Reference,
    String,
    TextArea,
    LongTextArea,
    Picklist,
    MultiPicklist,
    Email,
    Phone,
    Url,
    Base64,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
}

/// An object (sObject type) visible to the querying user.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// Canonical API name (`Account`, `Work_Item__c`), used in results and messages.
    pub name: String,
    /// Handle passed back to [`DataSource`] calls.
    pub table: usize,
}

/// A field visible to the querying user (fields hidden by field-level security are absent).
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// Canonical API name, used as the key in results.
    pub name: String,
    pub kind: FieldKind,
    /// Column handle passed back to [`DataSource::value`].
    pub slot: usize,
    pub filterable: bool,
    pub sortable: bool,
    pub groupable: bool,
    /// Whether SUM/AVG apply (numeric kinds).
    pub aggregatable: bool,
}

/// A child-to-parent relationship (`Account` on Contact.AccountId, `Parent__r` on Parent__c).
#[derive(Debug, Clone)]
pub struct ParentRel {
    /// Canonical relationship name, used as the key of the nested parent object in results.
    pub name: String,
    /// Slot of the reference field that holds the parent's 18-char Id.
    pub slot: usize,
    /// The parent object (first target of a polymorphic reference).
    pub target: ObjectInfo,
}

/// A parent-to-child relationship (`Contacts` on Account), used by child subqueries.
#[derive(Debug, Clone)]
pub struct ChildRel {
    /// Canonical relationship name, the key of the nested QueryResult in results.
    pub name: String,
    pub child: ObjectInfo,
    /// Slot, on the child, of the reference field pointing at the parent.
    pub slot: usize,
}

/// Schema lookups, all case-insensitive, all from the querying user's point of view.
pub trait Catalog {
    fn object(&self, name: &str) -> Option<ObjectInfo>;
    fn field(&self, object: &ObjectInfo, name: &str) -> Option<FieldInfo>;
    fn parent_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ParentRel>;
    fn child_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ChildRel>;
    /// Every field of the object visible to the user, in describe order; used by
    /// `FIELDS(ALL|STANDARD|CUSTOM)`. Added by the soql helper with a default (no fields), so
    /// implementations that do not override it simply select nothing through FIELDS().
    fn fields(&self, object: &ObjectInfo) -> Vec<FieldInfo> {
        let _ = object;
        Vec::new()
    }
}

/// A narrowing the data source may use to avoid a full scan: the evaluator always re-checks the
/// whole `WHERE`, so a data source may ignore the hint and return every row.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanHint {
    /// No usable narrowing.
    All,
    /// Rows whose `slot` equals one of `values` (from `f = v` or `f IN (...)` in a top-level AND).
    /// The soql planner offers it for the `Id` field first, then a reference field (values are
    /// then 18-character Ids: plain string equality is the right match), then a text field
    /// (values are text that SOQL compares case-insensitively: use the hint only with an index
    /// that matches case-insensitively, else scan).
    AnyOf { slot: usize, values: Vec<Value> },
}

/// Row access. Row handles are opaque to the evaluator and stable while the source is borrowed.
pub trait DataSource: Catalog {
    /// Candidate rows of a table in a stable order (creation order). Rows in the recycle bin
    /// (IsDeleted = true) are included only when `include_deleted` (queryAll).
    fn scan(&self, table: usize, include_deleted: bool, hint: &ScanHint) -> Vec<usize>;
    /// The value of one column of one row.
    fn value(&self, table: usize, row: usize, slot: usize) -> &Value;
    /// The 18-character Id of a row.
    fn id(&self, table: usize, row: usize) -> &str;
    /// The row with this Id (15 or 18 chars) in `table`, deleted rows included only when asked.
    fn row_by_id(&self, table: usize, id: &str, include_deleted: bool) -> Option<usize>;
    /// The child rows of `child_table` whose reference column `slot` holds `parent_id`.
    fn children(
        &self,
        child_table: usize,
        slot: usize,
        parent_id: &str,
        include_deleted: bool,
    ) -> Vec<usize>;
}
