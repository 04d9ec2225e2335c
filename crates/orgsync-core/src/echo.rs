//! Echo suppression, three independent layers and no time windows (a time window drops real
//! edits made inside it):
//!
//! 1. **Origin tag** — every write orgsync makes carries `Sforce-Call-Options: client=<tag>`;
//!    a CDC event whose `changeOrigin` has that client is our own write.
//! 2. **Shadow values** — per (org, record) the values last synced; a change whose synced
//!    values equal them brings nothing new (this catches polling, which has no origin tag).
//!    Values compare canonically: `1` = `1.0`, `…Z` = `….000+0000`, `""` = null.
//! 3. **Transaction ids** — a transaction already processed for a target is skipped (replays,
//!    duplicate deliveries). The ledger applies this layer when a capture is committed
//!    (`orgsync_store::Store::commit_capture`).
//!
//! Layer 2 itself is the field merge ([`crate::merge`]): a field equal to the org's shadow is
//! unchanged there.

use std::fmt;

use crate::model::{FieldValue, Fields};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
