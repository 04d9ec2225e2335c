//! Building result rows: selected fields in SELECT order, parent paths nested per relationship,
//! child subqueries as nested lists.

use crate::Value;

/// One result record, before JSON rendering (the emulator adds `attributes`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    /// sObject type for `attributes.type`; `"AggregateResult"` for aggregate rows.
    pub object: String,
    /// Record Id for `attributes.url`; `None` for aggregate rows.
    pub id: Option<String>,
    /// Fields in SELECT order under canonical names (relationship names for nested records).
    pub fields: Vec<(String, OutValue)>,
}

/// One value of a result record.
#[derive(Debug, Clone, PartialEq)]
pub enum OutValue {
    Scalar(Value),
    /// A parent relationship; `None` when the lookup is empty (rendered `null`).
    Parent(Option<Box<OutRecord>>),
    /// A child subquery's rows; `None` when there are none (Salesforce renders `null`).
    Children(Option<Vec<OutRecord>>),
}
