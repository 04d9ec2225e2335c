//! SOSL over REST, approximated: `GET /search?q=FIND {term} [IN … FIELDS] [RETURNING Obj(fields
//! [WHERE …] [ORDER BY …] [LIMIT n]), …] [LIMIT n]` → `{"searchRecords":[records…]}`.
//!
//! Salesforce matches indexed words; the emulator runs one SOQL query per returned object with
//! `field LIKE '%term%'` over the searched text fields (`*` → `%`, `?` → `_`). Good enough for
//! clients that search by name or email; ranking and stemming are not emulated (UNCONFIRMED
//! beyond the response shape).

use super::support::{Ctx, json};
use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};

/// Most records one search returns (Salesforce's default SOSL limit).
const MAX_RESULTS: usize = 2000;
/// Objects searched when the query has no RETURNING clause.
const DEFAULT_OBJECTS: &[&str] = &["Account", "Contact", "Lead", "Opportunity"];

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MALFORMED_SEARCH", message)
}

/// One `RETURNING` entry: object, field list, and the optional tail (`WHERE …`, `ORDER BY …`,
/// `LIMIT n`) copied into the SOQL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returning {
    pub object: String,
    pub fields: String,
    pub where_clause: Option<String>,
    pub tail: String,
}

/// A parsed search: term, which fields (`ALL`, `NAME`, `EMAIL`, `PHONE`), objects, limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub term: String,
    pub scope: String,
    pub returning: Vec<Returning>,
    pub limit: usize,
}

/// Finds a keyword at top level (outside quotes and parentheses), case-insensitively.
fn find_kw(s: &str, kw: &str) -> Option<usize> {
    let upper = s.to_ascii_uppercase();
    let (mut depth, mut quoted) = (0i32, false);
    let bytes = s.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'\'' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ => {}
        }
        let boundary = i == 0 || bytes[i - 1].is_ascii_whitespace() || bytes[i - 1] == b')';
        if !quoted && depth == 0 && boundary && upper[i..].starts_with(kw) {
            let end = i + kw.len();
            if end == s.len() || bytes[end].is_ascii_whitespace() || bytes[end] == b'(' {
                return Some(i);
            }
        }
    }
    None
}

/// Splits on top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses the SOSL subset.
pub fn parse(q: &str) -> Result<Search, ApiError> {
    let q = q.trim();
    let rest = q
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("FIND"))
        .map(|_| q[4..].trim_start())
        .ok_or_else(|| malformed("A search must begin with FIND"))?;
    let (term, rest) = match rest.chars().next() {
        Some('{') => {
            let end = rest.find('}').ok_or_else(|| {
                malformed("No search term found. The search term must be enclosed in braces.")
            })?;
            (rest[1..end].to_string(), &rest[end + 1..])
        }
        Some('\'') => {
            let end = rest[1..]
                .find('\'')
                .ok_or_else(|| malformed("Unterminated search term"))?
                + 1;
            (rest[1..end].to_string(), &rest[end + 1..])
        }
        _ => {
            return Err(malformed(
                "No search term found. The search term must be enclosed in braces.",
            ));
        }
    };
    if term
        .trim()
        .chars()
        .filter(|c| *c != '*' && *c != '?')
        .count()
        < 2
    {
        return Err(malformed("search term must be longer than one character"));
    }
    let mut rest = rest.trim().to_string();
    let mut scope = "ALL".to_string();
    if rest.to_ascii_uppercase().starts_with("IN ") {
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() < 3 || !words[2].eq_ignore_ascii_case("FIELDS") {
            return Err(malformed("Expected IN ALL|NAME|EMAIL|PHONE FIELDS"));
        }
        scope = words[1].to_ascii_uppercase();
        rest = words[3..].join(" ");
    }
    let mut limit = MAX_RESULTS;
    if let Some(i) = find_kw(&rest, "LIMIT") {
        limit = rest[i + 5..]
            .trim()
            .parse()
            .map_err(|_| malformed("LIMIT must be a number"))?;
        rest.truncate(i);
    }
    let mut returning = Vec::new();
    let rest = rest.trim();
    if !rest.is_empty() {
        let spec = rest
            .get(..9)
            .filter(|p| p.eq_ignore_ascii_case("RETURNING"))
            .map(|_| &rest[9..])
            .ok_or_else(|| {
                malformed(format!(
                    "unexpected token: '{}'",
                    rest.split_whitespace().next().unwrap_or("")
                ))
            })?;
        for item in split_top(spec) {
            returning.push(parse_returning(&item)?);
        }
    }
    Ok(Search {
        term,
        scope,
        returning,
        limit: limit.min(MAX_RESULTS),
    })
}

fn parse_returning(item: &str) -> Result<Returning, ApiError> {
    let Some(open) = item.find('(') else {
        return Ok(Returning {
            object: item.to_string(),
            fields: "Id".into(),
            where_clause: None,
            tail: String::new(),
        });
    };
    let inner = item[open + 1..]
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| malformed("Unbalanced parentheses"))?;
    let object = item[..open].trim().to_string();
    let cut = ["WHERE", "ORDER", "LIMIT"]
        .iter()
        .filter_map(|k| find_kw(inner, k))
        .min()
        .unwrap_or(inner.len());
    let fields = inner[..cut].trim().to_string();
    let mut tail = inner[cut..].trim().to_string();
    let mut where_clause = None;
    if tail.to_ascii_uppercase().starts_with("WHERE") {
        let end = ["ORDER", "LIMIT"]
            .iter()
            .filter_map(|k| find_kw(&tail, k))
            .min()
            .unwrap_or(tail.len());
        where_clause = Some(tail[5..end].trim().to_string());
        tail = tail[end..].trim().to_string();
    }
    Ok(Returning {
        object,
        fields: if fields.is_empty() {
            "Id".into()
        } else {
            fields
        },
        where_clause,
        tail,
    })
}

/// The LIKE pattern of a search term: `*` → `%`, `?` → `_`, quotes and backslashes escaped.
pub fn like_pattern(term: &str) -> String {
    let mut p = String::from("%");
    for c in term.trim().trim_matches('"').chars() {
        match c {
            '*' => p.push('%'),
            '?' => p.push('_'),
            '\'' => p.push_str("\\'"),
            '\\' => p.push_str("\\\\"),
            c => p.push(c),
        }
    }
    p.push('%');
    p
}

/// The text fields of `object` searched in `scope`.
fn searched_fields(ctx: &Ctx, object: &str, scope: &str) -> Result<Vec<String>, ApiError> {
    let d = ctx
        .state
        .org
        .describe(ctx.user_id(), object, &ctx.version.number())?;
    let fields = d["fields"].as_array().cloned().unwrap_or_default();
    Ok(fields
        .iter()
        .filter(|f| f["filterable"] != Json::Bool(false))
        .filter(|f| {
            let ty = f["type"].as_str().unwrap_or("");
            match scope {
                "NAME" => {
                    f["nameField"] == Json::Bool(true)
                        || matches!(f["name"].as_str(), Some("FirstName" | "LastName"))
                }
                "EMAIL" => ty == "email",
                "PHONE" => ty == "phone",
                _ => matches!(ty, "string" | "email" | "phone" | "url"),
            }
        })
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect())
}

/// `GET /search?q=…`.
pub async fn search(ctx: Ctx) -> Result<Response, ApiError> {
    let q = ctx.query_param("q").unwrap_or("");
    if q.trim().is_empty() {
        return Err(malformed(
            "No search term found. The search term must be enclosed in braces.",
        ));
    }
    let s = parse(q)?;
    let returning = if s.returning.is_empty() {
        DEFAULT_OBJECTS
            .iter()
            .map(|o| Returning {
                object: (*o).into(),
                fields: "Id".into(),
                where_clause: None,
                tail: String::new(),
            })
            .collect()
    } else {
        s.returning.clone()
    };
    let pattern = like_pattern(&s.term);
    let mut records = Vec::new();
    for r in returning {
        if records.len() >= s.limit {
            break;
        }
        let fields = searched_fields(&ctx, &r.object, &s.scope)?;
        if fields.is_empty() {
            continue;
        }
        let matches: Vec<String> = fields
            .iter()
            .map(|f| format!("{f} LIKE '{pattern}'"))
            .collect();
        let mut soql = format!(
            "SELECT {} FROM {} WHERE ({})",
            r.fields,
            r.object,
            matches.join(" OR ")
        );
        if let Some(w) = &r.where_clause {
            soql.push_str(&format!(" AND ({w})"));
        }
        if !r.tail.is_empty() {
            soql.push(' ');
            soql.push_str(&r.tail);
        }
        let page = ctx.state.org.query(
            ctx.user_id(),
            &soql,
            false,
            MAX_RESULTS,
            &ctx.version.number(),
        )?;
        records.extend(page.records.into_iter().take(s.limit - records.len()));
    }
    Ok(json(StatusCode::OK, &json!({"searchRecords": records})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_forms() {
        let s = parse("FIND {Acme*} IN NAME FIELDS RETURNING Account(Id, Name WHERE Industry = 'Tech' ORDER BY Name LIMIT 5), Contact LIMIT 20").unwrap();
        assert_eq!(s.term, "Acme*");
        assert_eq!(s.scope, "NAME");
        assert_eq!(s.limit, 20);
        assert_eq!(
            s.returning[0],
            Returning {
                object: "Account".into(),
                fields: "Id, Name".into(),
                where_clause: Some("Industry = 'Tech'".into()),
                tail: "ORDER BY Name LIMIT 5".into()
            }
        );
        assert_eq!(s.returning[1].object, "Contact");
        assert_eq!(s.returning[1].fields, "Id");
        let plain = parse("find {jane@example.com}").unwrap();
        assert!(plain.returning.is_empty());
        assert_eq!(plain.scope, "ALL");
        for bad in [
            "SELECT Id FROM Account",
            "FIND Acme",
            "FIND {a}",
            "FIND {Acme} RETURNING Account(Id",
            "FIND {Acme} BOGUS",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().errors[0].code,
                "MALFORMED_SEARCH",
                "{bad}"
            );
        }
    }

    #[test]
    fn like_patterns_escape_and_map_wildcards() {
        assert_eq!(like_pattern("Acme*"), "%Acme%%");
        assert_eq!(like_pattern("O'Br?en"), "%O\\'Br_en%");
    }
}
