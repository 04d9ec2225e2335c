//! Stored values rendered as Salesforce renders them in JSON: datetimes
//! `2013-05-20T20:49:32.000+0000`, dates `2013-05-07`, times `20:49:32.000Z`, numbers as JSON
//! numbers, multipicklists as `a;b`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value as Json;
use soql::Value;

/// A datetime in Salesforce's JSON form.
pub fn datetime(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// One value as JSON.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.to_string()),
        Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(d) => Json::String(datetime(d)),
        Value::Time(t) => Json::String(t.format("%H:%M:%S%.3fZ").to_string()),
    }
}

/// Truncates a datetime to whole milliseconds (Salesforce's precision).
pub fn to_millis(d: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(d.timestamp_millis()).unwrap_or(d)
}

/// Parses the datetime forms Salesforce accepts: `2024-01-01T00:00:00.000+0000`, `…Z`,
/// `…+01:00`, with or without millis, and a bare date (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(to_millis(d.with_timezone(&Utc)));
        }
    }
    if let Some(stripped) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(d) = NaiveDateTime::parse_from_str(stripped, fmt) {
                return Some(to_millis(d.and_utc()));
            }
        }
    }
    // No zone: Salesforce reads it as UTC.
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(to_millis(d.and_utc()));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// Parses a date `YYYY-MM-DD` (a datetime string is accepted and cut to its date).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    parse_datetime(s).map(|d| d.date_naive())
}

/// Parses a time `HH:MM:SS[.sss][Z]` or `HH:MM`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim().trim_end_matches(['Z', 'z']);
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_every_accepted_form() {
        let want = "2024-01-01T10:00:00.000+0000";
        for s in [
            "2024-01-01T10:00:00.000+0000",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.000Z",
            "2024-01-01T11:00:00+01:00",
            "2024-01-01T11:00:00.000+0100",
            "2024-01-01T10:00:00",
        ] {
            assert_eq!(datetime(&parse_datetime(s).unwrap()), want, "{s}");
        }
        assert!(parse_datetime("2024-13-01T00:00:00Z").is_none());
        assert_eq!(value(&Value::Double(10.0)).to_string(), "10.0");
        assert_eq!(parse_date("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert!(parse_date("2023-02-29").is_none());
        assert_eq!(
            value(&Value::Time(parse_time("08:30:00Z").unwrap())),
            Json::from("08:30:00.000Z")
        );
    }
}
