//! Salesforce's value formats: datetimes (`2024-01-01T00:00:00.000+0000`), dates, times, and
//! SOQL literals, read and written without loss.
//!
//! Records themselves travel as [`Record`] (an order-preserving JSON object): numbers, booleans,
//! nulls and nested relationship objects (`"Owner":{"attributes":…,"Name":"Ann"}`) pass through
//! untouched, so a record read from one org can be written to another as-is. Only datetimes and
//! dates need a typed view, because sync compares and orders them.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};

/// A record as JSON fields in Salesforce's order (`attributes` included when Salesforce sent it).
pub type Record = serde_json::Map<String, serde_json::Value>;

/// A value that is not in any format Salesforce uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Salesforce {what}: {input:?}")]
pub struct ValueError {
    what: &'static str,
    input: String,
}

/// Formats a datetime the way Salesforce writes it: UTC, milliseconds, `+0000`.
pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Parses a datetime in any form Salesforce emits or accepts: `…T…[.fff](+0000|+00:00|Z)`.
pub fn parse_datetime(s: &str) -> Result<DateTime<Utc>, ValueError> {
    let err = || ValueError {
        what: "datetime",
        input: s.to_owned(),
    };
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    // `+0000` (no colon) is Salesforce's own output.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(t, fmt) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    // No zone at all: Salesforce treats it as UTC.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Utc.from_utc_datetime(&naive));
        }
    }
    Err(err())
}

/// Formats a date (`2024-01-31`).
pub fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses a date (`2024-01-31`).
pub fn parse_date(s: &str) -> Result<NaiveDate, ValueError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ValueError {
        what: "date",
        input: s.to_owned(),
    })
}

/// Formats a time field (`13:45:00.000Z`).
pub fn format_time(t: &NaiveTime) -> String {
    t.format("%H:%M:%S%.3fZ").to_string()
}

/// Parses a time field (`13:45:00.000Z`, with or without millis / `Z`).
pub fn parse_time(s: &str) -> Result<NaiveTime, ValueError> {
    let t = s.trim().trim_end_matches('Z');
    NaiveTime::parse_from_str(t, "%H:%M:%S%.f").map_err(|_| ValueError {
        what: "time",
        input: s.to_owned(),
    })
}

/// A datetime literal for a SOQL `WHERE` clause (`2024-01-01T00:00:00Z`, unquoted, UTC).
/// Sub-second parts are dropped because SOQL literals with milliseconds are not documented;
/// callers that poll on `SystemModstamp` use a look-back overlap anyway.
pub fn soql_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats a datetime as a SOQL literal with milliseconds (`2024-01-02T03:04:05.678Z`), the
/// precision of SystemModstamp: a keyset or a window bound at second precision would re-read
/// (or leave out) everything within that second.
pub fn soql_datetime_ms(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Quotes a string for a SOQL literal (`'O\'Brien'`).
pub fn soql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Reads a datetime field of a record (`None` when absent or null).
pub fn get_datetime(record: &Record, field: &str) -> Result<Option<DateTime<Utc>>, ValueError> {
    match record.get(field).and_then(|v| v.as_str()) {
        Some(s) => parse_datetime(s).map(Some),
        None => Ok(None),
    }
}

/// Serde adapter for `DateTime<Utc>` fields in Salesforce's format (`#[serde(with = …)]`).
pub mod sf_datetime {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes Salesforce's format.
    pub fn serialize<S: Serializer>(dt: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_datetime(dt))
    }

    /// Reads any accepted form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_datetime(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    #[test]
    fn salesforce_format_both_ways() {
        let dt = parse_datetime("2024-01-01T00:00:00.000+0000").unwrap();
        assert_eq!(format_datetime(&dt), "2024-01-01T00:00:00.000+0000");
        let dt = parse_datetime("2013-05-20T20:49:32.123+0000").unwrap();
        assert_eq!(dt.nanosecond(), 123_000_000);
        assert_eq!(
            parse_datetime("2013-05-20T20:49:32Z").unwrap(),
            parse_datetime("2013-05-20T20:49:32.000+00:00").unwrap()
        );
        // Offsets convert to UTC.
        assert_eq!(
            format_datetime(&parse_datetime("2024-01-01T01:30:00.000+0130").unwrap()),
            "2024-01-01T00:00:00.000+0000"
        );
        assert_eq!(
            format_datetime(&parse_datetime("2024-01-01T00:00:00").unwrap()),
            "2024-01-01T00:00:00.000+0000"
        );
        assert!(parse_datetime("2024-13-01T00:00:00Z").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn dates_times_and_literals() {
        let d = parse_date("2024-02-29").unwrap();
        assert_eq!(format_date(&d), "2024-02-29");
        assert!(parse_date("2023-02-29").is_err());
        let t = parse_time("13:45:00.250Z").unwrap();
        assert_eq!(format_time(&t), "13:45:00.250Z");
        let dt = parse_datetime("2024-01-01T10:00:00.999+0000").unwrap();
        assert_eq!(soql_datetime(&dt), "2024-01-01T10:00:00Z");
        assert_eq!(soql_string("O'Brien\\x"), "'O\\'Brien\\\\x'");
    }

    #[test]
    fn record_values_pass_through_unchanged() {
        let src = r#"{"attributes":{"type":"Account","url":"/x"},"Id":"001000000000001AAA","Amount__c":10.0,"Count__c":3,"Big__c":12345678901234,"Flag__c":false,"Empty__c":null,"When__c":"2024-01-01T00:00:00.000+0000","Day__c":"2024-01-31","Owner":{"attributes":{"type":"User"},"Name":"Ann"}}"#;
        let rec: Record = serde_json::from_str(src).unwrap();
        assert_eq!(serde_json::to_string(&rec).unwrap(), src);
        assert_eq!(
            get_datetime(&rec, "When__c").unwrap(),
            Some(parse_datetime("2024-01-01T00:00:00Z").unwrap())
        );
        assert_eq!(get_datetime(&rec, "Empty__c").unwrap(), None);
    }

    proptest! {
        #[test]
        fn datetime_round_trip(secs in -5_000_000_000i64..60_000_000_000i64, ms in 0u32..1000) {
            let dt = DateTime::<Utc>::from_timestamp(secs, ms * 1_000_000).unwrap();
            let s = format_datetime(&dt);
            prop_assert_eq!(parse_datetime(&s).unwrap(), dt);
            prop_assert_eq!(s.len(), 28);
        }

        #[test]
        fn offsets_normalise(secs in 0i64..4_000_000_000i64, off_min in -720i32..=840) {
            let dt = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let off = FixedOffset::east_opt(off_min * 60).unwrap();
            let local = dt.with_timezone(&off).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
            prop_assert_eq!(parse_datetime(&local).unwrap(), dt);
        }

        #[test]
        fn date_round_trip(days in -100_000i32..1_000_000) {
            let d = NaiveDate::from_num_days_from_ce_opt(days.abs() + 1).unwrap();
            prop_assert_eq!(parse_date(&format_date(&d)).unwrap(), d);
        }
    }
}
