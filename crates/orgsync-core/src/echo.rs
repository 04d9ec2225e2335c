//! Echo suppression, three independent layers and no time windows (a time window drops real
//! edits made inside it):
//!
//! 1. **Origin tag** — every write orgsync makes carries `Sforce-Call-Options: client=<tag>`;
//!    a CDC event whose `changeOrigin` has that client is our own write.
//! 2. **Shadow values** — per (org, record) the values last synced; a change whose synced
//!    values equal them brings nothing new (this catches polling, which has no origin tag).
//!    Values compare canonically: `1` = `1.0`, `…Z` = `….000+0000`, `""` = null.
//! 3. **Transaction ids** — a transaction already processed for a target is skipped (replays,
//!    duplicate deliveries).

use std::collections::HashSet;
use std::fmt;

use crate::model::{Change, ChangeKind, FieldValue, Fields, OrgName};

/// The canonical text of a value: equal texts ⇔ Salesforce would store the same thing.
pub fn canonical_value(v: &FieldValue) -> String {
    match v {
        FieldValue::Null => "z".into(),
        FieldValue::Text(t) if t.is_empty() => "z".into(),
        FieldValue::Bool(b) => format!("b:{b}"),
        FieldValue::Int(i) => format!("n:{}", canonical_number(&i.to_string()).unwrap_or_default()),
        FieldValue::Number(n) => match canonical_number(n) {
            Some(c) => format!("n:{c}"),
            None => format!("n?:{n}"),
        },
        FieldValue::Text(t) => format!("t:{t}"),
        FieldValue::Date(d) => format!("d:{}", d.format("%Y-%m-%d")),
        FieldValue::DateTime(t) => format!("dt:{}", t.timestamp_millis()),
    }
}

/// Normalise decimal text to `<digits>e<exponent>` with no leading or trailing zeros (`0` for
/// zero), so `1`, `1.0`, `1.00`, `+1` and `0.1e1` are the same. None when it is not a number.
pub fn canonical_number(text: &str) -> Option<String> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{int}{frac}");
    let mut exp = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some("0".into());
    }
    let without_trailing = trimmed.trim_end_matches('0');
    exp = exp.checked_add(i64::try_from(trimmed.len() - without_trailing.len()).ok()?)?;
    Some(format!(
        "{}{without_trailing}e{exp}",
        if negative { "-" } else { "" }
    ))
}

/// Whether two values are the same once stored.
pub fn same_value(a: &FieldValue, b: &FieldValue) -> bool {
    a == b || canonical_value(a) == canonical_value(b)
}

/// A blake3 hash of a record's synced values, stored per (org, record) in the ledger.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Fingerprint the `synced` fields of `fields` (a field missing from `fields` counts as null):
/// names lowercased and sorted, values canonical, every part length-prefixed so no two
/// different records can encode the same.
pub fn fingerprint(fields: &Fields, synced: &[String]) -> Fingerprint {
    let lower: std::collections::HashMap<String, &FieldValue> = fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let mut names: Vec<String> = synced.iter().map(|s| s.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let mut h = blake3::Hasher::new();
    for n in &names {
        let v = lower.get(n).map_or_else(
            || canonical_value(&FieldValue::Null),
            |v| canonical_value(v),
        );
        for part in [n.as_bytes(), v.as_bytes()] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    Fingerprint(*h.finalize().as_bytes())
}

/// Layer 1: whether a CDC `changeOrigin` (`com/salesforce/api/rest/62.0;client=orgsync`) names
/// our client tag. Parts are split on `;` or `,` (both occur); the token is case-sensitive and
/// may carry the older `/<version>` suffix.
pub fn origin_is_ours(change_origin: &str, client_tag: &str) -> bool {
    change_origin
        .split([';', ','])
        .filter_map(|p| p.trim().strip_prefix("client="))
        .any(|c| {
            c == client_tag
                || c.strip_prefix(client_tag)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// What we last knew an org to hold for a record, in the synced fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shadow {
    /// Synced field values.
    pub fields: Fields,
    /// Whether the record is deleted there.
    pub deleted: bool,
    /// Since when it holds them: its own commit time, or when our write was *sent* (a lower
    /// bound of that write's commit time). A change committed before this instant that
    /// happens to carry equal values is a real edit our write overwrote, not an echo.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a change is dropped, or that it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A real change: process it.
    Process,
    /// Layer 1: our own write, by its origin tag.
    OwnWrite,
    /// Layer 2: values equal what we last synced to that org.
    ShadowMatch,
    /// The change touches no synced field (e.g. only LastModifiedDate).
    NothingSynced,
}

/// Layers 1 and 2 for one captured change. `synced` are the synced field names in the
/// change's org; `shadow` is what we last synced with that org for this record, if anything.
pub fn classify(
    change: &Change,
    client_tag: &str,
    synced: &[String],
    shadow: Option<&Shadow>,
) -> Verdict {
    if change
        .origin
        .client_tag
        .as_deref()
        .is_some_and(|t| origin_is_ours(&format!("client={t}"), client_tag))
    {
        return Verdict::OwnWrite;
    }
    match change.kind {
        ChangeKind::Delete => {
            return if shadow.is_some_and(|s| s.deleted) {
                Verdict::ShadowMatch
            } else {
                Verdict::Process
            };
        }
        ChangeKind::Undelete => {
            return if shadow.is_some_and(|s| !s.deleted) {
                Verdict::ShadowMatch
            } else {
                Verdict::Process
            };
        }
        ChangeKind::Upsert => {}
    }
    let wanted: HashSet<String> = synced.iter().map(|s| s.to_ascii_lowercase()).collect();
    let relevant: Vec<(&String, &FieldValue)> = change
        .fields
        .iter()
        .filter(|(k, _)| wanted.contains(&k.to_ascii_lowercase()))
        .collect();
    if relevant.is_empty() {
        return Verdict::NothingSynced;
    }
    let Some(shadow) =
        shadow.filter(|s| !s.deleted && s.at.is_none_or(|at| at <= change.commit_ts))
    else {
        return Verdict::Process;
    };
    let known: std::collections::HashMap<String, &FieldValue> = shadow
        .fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let all_equal = relevant.iter().all(|(k, v)| {
        let old = known
            .get(&k.to_ascii_lowercase())
            .copied()
            .unwrap_or(&FieldValue::Null);
        same_value(v, old)
    });
    if all_equal {
        Verdict::ShadowMatch
    } else {
        Verdict::Process
    }
}

/// Layer 3: the key under which a transaction is remembered for a target.
pub fn txn_key(target: &OrgName, txn_id: &str) -> String {
    format!("{target}\u{1f}{txn_id}")
}

/// Layer 3: whether `txn_id` was already processed for `target`, given the ledger's seen-set
/// (keys from [`txn_key`]).
pub fn already_processed(seen: &HashSet<String>, target: &OrgName, txn_id: &str) -> bool {
    seen.contains(&txn_key(target, txn_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;

    #[test]
    fn numbers_normalise() {
        for (a, b) in [
            ("1", "1.0"),
            ("1.50", "1.5"),
            ("+1", "0.1e1"),
            ("100", "1e2"),
            ("0.00", "-0"),
            ("-2.500", "-25e-1"),
        ] {
            assert_eq!(canonical_number(a), canonical_number(b), "{a} vs {b}");
        }
        assert_ne!(canonical_number("1"), canonical_number("10"));
        assert_ne!(canonical_number("1"), canonical_number("-1"));
        assert_eq!(canonical_number("abc"), None);
        assert_eq!(canonical_number("."), None);
        assert_eq!(canonical_number("1e"), None);
    }

    #[test]
    fn change_origin_tags() {
        assert!(origin_is_ours(
            "com/salesforce/api/rest/62.0;client=orgsync",
            "orgsync"
        ));
        assert!(origin_is_ours(
            "com/salesforce/api/soap/49.0;client=orgsync/100, defaultNamespace=x",
            "orgsync"
        ));
        assert!(!origin_is_ours(
            "com/salesforce/api/rest/62.0;client=OrgSync",
            "orgsync"
        ));
        assert!(!origin_is_ours(
            "com/salesforce/api/rest/62.0;client=orgsync2",
            "orgsync"
        ));
        assert!(!origin_is_ours("", "orgsync"));
    }

    fn change(fields: Fields, kind: ChangeKind, tag: Option<&str>) -> Change {
        Change {
            org: OrgName::from("a"),
            object: "Account".into(),
            record_id: "001000000000001AAA".into(),
            global_id: None,
            fields,
            commit_ts: chrono::DateTime::UNIX_EPOCH,
            origin: Origin {
                org: OrgName::from("a"),
                client_tag: tag.map(str::to_string),
                via_push_from: None,
            },
            kind,
            txn_id: "t1".into(),
        }
    }

    #[test]
    fn classify_layers() {
        let synced = vec!["Name".to_string(), "Amount".to_string()];
        let mut f = Fields::new();
        f.insert("Name".into(), FieldValue::Text("Acme".into()));
        f.insert("amount".into(), FieldValue::Number("10.0".into()));
        let mut shadow = Shadow::default();
        shadow
            .fields
            .insert("name".into(), FieldValue::Text("Acme".into()));
        shadow.fields.insert("Amount".into(), FieldValue::Int(10));
        let c = change(f.clone(), ChangeKind::Upsert, None);
        assert_eq!(
            classify(&c, "orgsync", &synced, Some(&shadow)),
            Verdict::ShadowMatch
        );
        assert_eq!(classify(&c, "orgsync", &synced, None), Verdict::Process);
        // equal values committed before our write was sent: a real edit we overwrote
        let later = Shadow {
            at: Some(c.commit_ts + chrono::TimeDelta::seconds(1)),
            ..shadow.clone()
        };
        assert_eq!(
            classify(&c, "orgsync", &synced, Some(&later)),
            Verdict::Process
        );
        assert_eq!(
            classify(
                &change(f.clone(), ChangeKind::Upsert, Some("orgsync")),
                "orgsync",
                &synced,
                None
            ),
            Verdict::OwnWrite
        );
        shadow.fields.insert("Amount".into(), FieldValue::Int(11));
        assert_eq!(
            classify(&c, "orgsync", &synced, Some(&shadow)),
            Verdict::Process
        );
        let mut only_meta = Fields::new();
        only_meta.insert("LastModifiedDate".into(), FieldValue::Null);
        assert_eq!(
            classify(
                &change(only_meta, ChangeKind::Upsert, None),
                "orgsync",
                &synced,
                Some(&shadow)
            ),
            Verdict::NothingSynced
        );
        shadow.deleted = true;
        assert_eq!(
            classify(
                &change(Fields::new(), ChangeKind::Delete, None),
                "orgsync",
                &synced,
                Some(&shadow)
            ),
            Verdict::ShadowMatch
        );
        assert_eq!(
            classify(
                &change(Fields::new(), ChangeKind::Undelete, None),
                "orgsync",
                &synced,
                Some(&shadow)
            ),
            Verdict::Process
        );
    }

    #[test]
    fn txn_dedupe() {
        let mut seen = HashSet::new();
        let b = OrgName::from("b");
        assert!(!already_processed(&seen, &b, "tx"));
        seen.insert(txn_key(&b, "tx"));
        assert!(already_processed(&seen, &b, "tx"));
        assert!(!already_processed(&seen, &OrgName::from("c"), "tx"));
    }
}
