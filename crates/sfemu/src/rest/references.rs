//! Composite reference resolution (pure): `@{refAccount.id}`, `@{refQuery.records[0].Id}`,
//! `@{refAccount.BillingAddress.city}` in subrequest URLs and bodies, case-sensitive.

use serde_json::Value as Json;
use std::collections::HashMap;

/// What an earlier subrequest left for later ones to reference.
#[derive(Debug, Clone)]
pub enum Prior {
    /// It succeeded with this response body.
    Succeeded(Json),
    /// It failed or was not executed: its dependents are not executed either.
    Failed,
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// The referenced subrequest failed or was skipped (dependents get `PROCESSING_HALTED`).
    Halted(String),
    /// Unknown reference id, a path with no value, or malformed syntax.
    Invalid(String),
}

/// True when `id` is a valid referenceId: letters, digits and `_`, starting with a letter or digit.
pub fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value of one reference expression (`refAccount.records[0].Id`).
pub fn lookup(expr: &str, priors: &HashMap<String, Prior>) -> Result<Json, RefError> {
    let mut parts = expr.split('.');
    let head = parts.next().unwrap_or("");
    let (ref_id, head_idx) = split_indexes(head).ok_or_else(|| invalid(expr))?;
    let mut cur = match priors.get(ref_id) {
        Some(Prior::Succeeded(body)) => body,
        Some(Prior::Failed) => return Err(RefError::Halted(ref_id.to_string())),
        None => return Err(invalid(expr)),
    };
    cur = index(cur, &head_idx).ok_or_else(|| invalid(expr))?;
    for part in parts {
        let (key, idx) = split_indexes(part).ok_or_else(|| invalid(expr))?;
        cur = cur.get(key).ok_or_else(|| invalid(expr))?;
        cur = index(cur, &idx).ok_or_else(|| invalid(expr))?;
    }
    if cur.is_null() {
        return Err(invalid(expr));
    }
    Ok(cur.clone())
}

fn invalid(expr: &str) -> RefError {
    RefError::Invalid(expr.to_string())
}

/// `records[0][1]` → (`records`, [0, 1]).
fn split_indexes(part: &str) -> Option<(&str, Vec<usize>)> {
    let Some(open) = part.find('[') else {
        return (!part.is_empty()).then_some((part, Vec::new()));
    };
    let (name, mut rest) = part.split_at(open);
    let mut idx = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        idx.push(inner[..close].parse().ok()?);
        rest = &inner[close + 1..];
    }
    (!name.is_empty()).then_some((name, idx))
}

fn index<'a>(mut v: &'a Json, idx: &[usize]) -> Option<&'a Json> {
    for i in idx {
        v = v.get(*i)?;
    }
    Some(v)
}

/// Replaces every `@{…}` in a string by the referenced value's text.
pub fn resolve_str(s: &str, priors: &HashMap<String, Prior>) -> Result<String, RefError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| invalid(rest))?;
        match lookup(&after[..end], priors)? {
            Json::String(v) => out.push_str(&v),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves references inside a JSON body. A string that is exactly one reference takes the
/// referenced value as is (numbers stay numbers); references inside longer text are spliced in.
pub fn resolve_json(v: &Json, priors: &HashMap<String, Prior>) -> Result<Json, RefError> {
    Ok(match v {
        Json::String(s) => {
            let whole = s
                .strip_prefix("@{")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|inner| !inner.contains('}'));
            match whole {
                Some(expr) => lookup(expr, priors)?,
                None if s.contains("@{") => Json::String(resolve_str(s, priors)?),
                None => v.clone(),
            }
        }
        Json::Array(a) => Json::Array(
            a.iter()
                .map(|x| resolve_json(x, priors))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                out.insert(k.clone(), resolve_json(x, priors)?);
            }
            Json::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn priors() -> HashMap<String, Prior> {
        let mut p = HashMap::new();
        p.insert(
            "refAccount".into(),
            Prior::Succeeded(json!({"id":"001A","success":true})),
        );
        p.insert(
            "refQ".into(),
            Prior::Succeeded(json!({"records":[{"Id":"003B","Address":{"city":"Paris"},"N":5}]})),
        );
        p.insert("refBad".into(), Prior::Failed);
        p
    }

    #[test]
    fn resolves_paths_case_sensitively() {
        let p = priors();
        assert_eq!(lookup("refAccount.id", &p), Ok(json!("001A")));
        assert_eq!(lookup("refQ.records[0].Id", &p), Ok(json!("003B")));
        assert_eq!(
            lookup("refQ.records[0].Address.city", &p),
            Ok(json!("Paris"))
        );
        assert!(matches!(
            lookup("refAccount.Id", &p),
            Err(RefError::Invalid(_))
        ));
        assert!(matches!(
            lookup("refaccount.id", &p),
            Err(RefError::Invalid(_))
        ));
        assert!(matches!(
            lookup("refQ.records[1].Id", &p),
            Err(RefError::Invalid(_))
        ));
        assert_eq!(
            lookup("refBad.id", &p),
            Err(RefError::Halted("refBad".into()))
        );
    }

    #[test]
    fn resolves_in_urls_and_bodies() {
        let p = priors();
        assert_eq!(
            resolve_str(
                "/services/data/v62.0/sobjects/Account/@{refAccount.id}?x=@{refQ.records[0].N}",
                &p
            )
            .unwrap(),
            "/services/data/v62.0/sobjects/Account/001A?x=5"
        );
        let body = json!({"AccountId":"@{refAccount.id}","N":"@{refQ.records[0].N}","Desc":"for @{refAccount.id}!","k":[1]});
        assert_eq!(
            resolve_json(&body, &p).unwrap(),
            json!({"AccountId":"001A","N":5,"Desc":"for 001A!","k":[1]})
        );
        assert!(resolve_str("@{refAccount.id", &p).is_err());
    }

    #[test]
    fn reference_ids() {
        assert!(valid_reference_id("refAccount_1"));
        assert!(valid_reference_id("1ref"));
        assert!(!valid_reference_id("_ref"));
        assert!(!valid_reference_id("ref-1"));
        assert!(!valid_reference_id(""));
    }

    proptest::proptest! {
        #[test]
        fn text_without_references_is_untouched(s in "[^@]*", n in proptest::num::i64::ANY) {
            let p = priors();
            proptest::prop_assert_eq!(resolve_str(&s, &p).unwrap(), s.clone());
            let body = json!({"a": s, "n": n, "list": [s, null, true]});
            proptest::prop_assert_eq!(resolve_json(&body, &p).unwrap(), body);
        }

        #[test]
        fn references_splice_the_value(prefix in "[^@]*", suffix in "[^@]*", value in "[^}]*") {
            let mut p = HashMap::new();
            p.insert("r1".to_string(), Prior::Succeeded(json!({"id": value})));
            let out = resolve_str(&format!("{prefix}@{{r1.id}}{suffix}"), &p).unwrap();
            proptest::prop_assert_eq!(out, format!("{prefix}{value}{suffix}"));
        }

        #[test]
        fn resolution_never_panics(s in ".*") {
            let _ = resolve_str(&s, &priors());
            let _ = resolve_json(&json!(s), &priors());
        }
    }
}
