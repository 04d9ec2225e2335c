//! The change model: who a record is (global id), what a value is, and what a captured change
//! says. Every other module speaks these types, so they are plain data with no behaviour beyond
//! parsing, formatting and canonical comparison.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use crate::config::OrgName;

/// Why an identifier could not be parsed. Carries the offending text so the caller can show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 15 or 18 characters of `[0-9A-Za-z]`.
    #[error("`{0}` is not a Salesforce id (15 or 18 letters and digits)")]
    NotAnId(String),
    /// 18 characters whose checksum suffix does not match the first 15.
    #[error("`{0}` has a wrong 3-character checksum suffix")]
    BadChecksum(String),
    /// An org id must start with the key prefix `00D`.
    #[error("`{0}` is not an organization id (must start with 00D)")]
    NotAnOrgId(String),
    /// A global id is `<18-char org id>:<18-char record id>`.
    #[error("`{0}` is not a global id (expected <org id>:<record id>)")]
    NotAGlobalId(String),
}

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Normalise a Salesforce id to its 18-character form (the form every API returns), checking
/// the checksum when 18 characters are given. Ids are compared in this form everywhere so that
/// a 15-char id from a formula field and the 18-char id from the API are the same record.
pub fn to_id18(raw: &str) -> Result<String, IdError> {
    let bytes = raw.as_bytes();
    if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(IdError::NotAnId(raw.to_string()));
    }
    let mut suffix = String::with_capacity(3);
    for group in bytes[..15].chunks(5) {
        let n = group
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        suffix.push(SUFFIX_ALPHABET[n] as char);
    }
    if bytes.len() == 18 && !raw[15..].eq_ignore_ascii_case(&suffix) {
        return Err(IdError::BadChecksum(raw.to_string()));
    }
    Ok(format!("{}{}", &raw[..15], suffix))
}

/// A Salesforce organization id (`00D…`), always held in 18-character form. It names the
/// origin half of a [`GlobalId`]; configured orgs are named by [`OrgName`] instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    /// The 18-character id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrgId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let id = to_id18(s)?;
        if !id.starts_with("00D") {
            return Err(IdError::NotAnOrgId(s.to_string()));
        }
        Ok(Self(id))
    }
}

impl TryFrom<String> for OrgId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> String {
        id.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of a synced record across all orgs: origin org id + `:` + origin record id,
/// both 18 characters. It is written to the external-id field on every org, so upserts on it
/// are idempotent. A record forwarded along a chain or through a hub keeps the global id of
/// the org where it was first created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GlobalId {
    org: OrgId,
    record: String,
}

impl GlobalId {
    /// Build the global id of a record first seen in `org` with local id `record_id`.
    pub fn new(org: OrgId, record_id: &str) -> Result<Self, IdError> {
        Ok(Self {
            org,
            record: to_id18(record_id)?,
        })
    }
    /// The org where the record was first created.
    pub fn origin_org(&self) -> &OrgId {
        &self.org
    }
    /// The record's id in its origin org (18 chars).
    pub fn origin_record(&self) -> &str {
        &self.record
    }
}

impl FromStr for GlobalId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let (org, rec) = s
            .split_once(':')
            .ok_or_else(|| IdError::NotAGlobalId(s.to_string()))?;
        if org.len() != 18 || rec.len() != 18 {
            return Err(IdError::NotAGlobalId(s.to_string()));
        }
        GlobalId::new(org.parse()?, rec)
    }
}

impl TryFrom<String> for GlobalId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<GlobalId> for String {
    fn from(id: GlobalId) -> String {
        id.to_string()
    }
}

impl fmt::Display for GlobalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.org, self.record)
    }
}

/// One field value. Numbers keep their decimal text (lossless: a currency `1234.50` is never
/// rounded through f64); comparison goes through [`crate::echo::canonical_value`], under which
/// `1`, `1.0` and `1.00` are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// Explicitly empty (Salesforce `null`, CDC `nulledFields`).
    Null,
    /// Checkbox.
    Bool(bool),
    /// A whole number that fits i64.
    Int(i64),
    /// Any other number (decimal, currency, percent), as its JSON text.
    Number(String),
    /// Text of any kind (string, picklist, id, textarea, email …).
    Text(String),
    /// A date without time.
    Date(NaiveDate),
    /// A datetime, UTC, at millisecond precision (what Salesforce stores).
    DateTime(DateTime<Utc>),
}

impl FieldValue {
    /// Parse a Salesforce datetime in any of its formats (`…000+0000`, `…Z`, with or without
    /// milliseconds, or epoch milliseconds as CDC over Pub/Sub sends) and truncate to ms.
    pub fn parse_datetime(s: &str) -> Option<FieldValue> {
        let t = s.trim();
        let parsed = DateTime::parse_from_rfc3339(t)
            .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                t.parse::<i64>()
                    .ok()
                    .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            })?;
        Some(FieldValue::DateTime(truncate_ms(parsed)))
    }

    /// The value as Salesforce JSON text would carry it (used for logs and audit).
    pub fn display_text(&self) -> String {
        match self {
            FieldValue::Null => "null".into(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::Number(n) | FieldValue::Text(n) => n.clone(),
            FieldValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            FieldValue::DateTime(d) => d.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// Drop sub-millisecond precision: Salesforce keeps ms, so finer digits would only make two
/// equal values look different.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

/// A record's fields by API name, in capture order.
pub type Fields = IndexMap<String, FieldValue>;

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Created or updated.
    Upsert,
    /// Deleted (moved to the recycle bin or hard-deleted).
    Delete,
    /// Restored from the recycle bin.
    Undelete,
}

/// Where a change came from, for echo suppression and routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The org where the edit was made (for captured changes, the capturing org).
    pub org: OrgName,
    /// The `client=` token of the API call that made the change, when the source tells it
    /// (CDC `changeOrigin`); `Some(our tag)` means orgsync itself wrote it.
    pub client_tag: Option<String>,
    /// For changes received on the push API: the peer that pushed it. Never routed back there.
    pub via_push_from: Option<OrgName>,
}

/// One captured change, whatever the source (CDC, poll, outbound message, push API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The configured org the change was captured from.
    pub org: OrgName,
    /// The sObject API name in that org.
    pub object: String,
    /// The record's id in that org (18 chars).
    pub record_id: String,
    /// The record's global id when known (read from the external-id field or the id map).
    pub global_id: Option<GlobalId>,
    /// The changed fields where the source says which (CDC), else every captured field.
    pub fields: Fields,
    /// When the change was committed in the org (CDC commitTimestamp, or SystemModstamp).
    pub commit_ts: DateTime<Utc>,
    /// Who made it.
    pub origin: Origin,
    /// Upsert, delete or undelete.
    pub kind: ChangeKind,
    /// A globally unique id of the transaction (CDC transactionKey + sequence, push
    /// transactionId, or a hash of org+record+modstamp for polls). Used to drop replays.
    pub txn_id: String,
    /// `fields` are the record's state as read (poll, re-read, a created or restored record)
    /// rather than a list of edits (CDC update, push): see [`crate::merge::Incoming::snapshot`].
    #[serde(default)]
    pub snapshot: bool,
}

/// The operation a sync item performs on the target org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// sObject Collections upsert on the global-id field.
    Upsert,
    /// Delete by local id.
    Delete,
    /// Undelete by local id.
    Undelete,
}

impl From<ChangeKind> for Op {
    fn from(k: ChangeKind) -> Op {
        match k {
            ChangeKind::Upsert => Op::Upsert,
            ChangeKind::Delete => Op::Delete,
            ChangeKind::Undelete => Op::Undelete,
        }
    }
}

/// A lookup that points at another synced record, expressed by that record's global id so no
/// lookup query is spent per record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParentRef {
    /// The lookup field on the child (target-side name), e.g. `AccountId`.
    pub field: String,
    /// The parent object on the target side, e.g. `Account`.
    pub object: String,
    /// The parent's global id.
    pub global_id: GlobalId,
}

/// One durable unit of work: bring (target org, object, global id) to the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncItem {
    /// The org to write.
    pub target: OrgName,
    /// The target-side object.
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// Upsert, delete or undelete.
    pub op: Op,
    /// The fields to write (target-side names), built by [`crate::mapping`].
    pub payload: crate::mapping::Payload,
    /// Synced parents this record points at; the item waits (Pending) until they exist.
    pub parents: Vec<ParentRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id18_vectors_from_the_wire_facts() {
        assert_eq!(to_id18("003G000001SUbc4").unwrap(), "003G000001SUbc4IAD");
        assert_eq!(to_id18("a0BA0000000L2ZC").unwrap(), "a0BA0000000L2ZCMA0");
        assert_eq!(to_id18("AaaAABbbBBCccCC").unwrap(), "AaaAABbbBBCccCCZZZ");
        assert_eq!(to_id18("ABCDEFGHIJKLMNO").unwrap(), "ABCDEFGHIJKLMNO555");
        assert_eq!(to_id18("AAaAAbbBBBCcCCC").unwrap(), "AAaAAbbBBBCcCCC123");
        assert!(matches!(
            to_id18("003G000001SUbc4XXX"),
            Err(IdError::BadChecksum(_))
        ));
        assert!(matches!(to_id18("003G0000"), Err(IdError::NotAnId(_))));
        assert!(matches!(
            to_id18("003G000001SUb-4"),
            Err(IdError::NotAnId(_))
        ));
    }

    #[test]
    fn global_id_round_trip_and_validation() {
        let org: OrgId = "00D000000000001".parse().unwrap();
        let g = GlobalId::new(org.clone(), "001000000000001").unwrap();
        let text = g.to_string();
        assert_eq!(text, "00D000000000001EAA:001000000000001AAA");
        assert_eq!(text.parse::<GlobalId>().unwrap(), g);
        assert_eq!(g.origin_org(), &org);
        assert!("00D000000000001AAA".parse::<GlobalId>().is_err());
        assert!(
            "001000000000001AAA:001000000000001AAA"
                .parse::<GlobalId>()
                .is_err()
        );
        assert!(
            "00D000000000001:001000000000001"
                .parse::<GlobalId>()
                .is_err()
        );
    }

    #[test]
    fn datetime_formats_parse_to_the_same_instant() {
        let a = FieldValue::parse_datetime("2018-08-25T11:00:00.000+0000").unwrap();
        let b = FieldValue::parse_datetime("2018-08-25T11:00:00Z").unwrap();
        let c = FieldValue::parse_datetime("1535194800000").unwrap();
        let d = FieldValue::parse_datetime("2018-08-25T11:00:00.0004Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(FieldValue::parse_datetime("yesterday").is_none());
    }
}
