//! Avro values → the JSON the engine already handles for REST records.
//!
//! The engine compares and writes values as REST returns them, so a datetime must come out as
//! `"2024-01-01T00:00:00.000+0000"`, a date as `"2024-01-01"`, numbers and booleans as JSON ones.
//! Salesforce's Avro carries datetimes as `long` epoch milliseconds; the field's `doc` names the
//! Salesforce type after its first colon (`"CreatedDate:DateTime"` as observed on platform events). Date and Time
//! encodings are UNCONFIRMED: we accept an `int` as days (Date) or ms of day (Time), a `long` as
//! epoch ms, the Avro logical types, and a string as already formatted.

use apache_avro::types::Value;
use chrono::{DateTime, NaiveTime, Utc};
use serde_json::Value as Json;

/// The Salesforce type a field's `doc` (or logical type) names, where it changes the JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    Plain,
    DateTime,
    Date,
    Time,
}

impl Hint {
    /// From a field's `doc`, `"<label>:<SalesforceType>[ anything]"` (`"CreatedDate:DateTime"`,
    /// `"Data:Date (epoch ms at midnight UTC)"`): the word after the first colon.
    pub(crate) fn from_doc(doc: Option<&str>) -> Self {
        let ty = doc
            .and_then(|d| d.split_once(':'))
            .and_then(|(_, t)| {
                t.trim_start()
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
            })
            .unwrap_or("");
        if ty.eq_ignore_ascii_case("datetime") {
            Hint::DateTime
        } else if ty.eq_ignore_ascii_case("date") {
            Hint::Date
        } else if ty.eq_ignore_ascii_case("time") {
            Hint::Time
        } else {
            Hint::Plain
        }
    }
}

/// Salesforce's REST datetime form.
pub(crate) fn sf_datetime(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
}

fn sf_date_from_days(days: i32) -> Option<String> {
    DateTime::<Utc>::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
}

fn sf_date_from_ms(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d").to_string())
}

fn sf_time(ms_of_day: i64) -> Option<String> {
    let secs = u32::try_from(ms_of_day.div_euclid(1000)).ok()?;
    let nanos = u32::try_from(ms_of_day.rem_euclid(1000) * 1_000_000).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
        .map(|t| t.format("%H:%M:%S%.3fZ").to_string())
}

fn num(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// Converts one Avro value (unions already unwrapped or not) to JSON. `Err` names a value the
/// hint cannot format (an out-of-range timestamp).
pub(crate) fn to_json(v: &Value, hint: Hint) -> Result<Json, String> {
    let bad = |what: &str| format!("{what} is out of range");
    Ok(match v {
        Value::Null => Json::Null,
        Value::Union(_, inner) => to_json(inner, hint)?,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => match hint {
            Hint::Date => Json::String(sf_date_from_days(*i).ok_or_else(|| bad("date"))?),
            Hint::Time => Json::String(sf_time(i64::from(*i)).ok_or_else(|| bad("time"))?),
            Hint::DateTime => {
                Json::String(sf_datetime(i64::from(*i)).ok_or_else(|| bad("datetime"))?)
            }
            Hint::Plain => Json::from(*i),
        },
        Value::Long(l) => match hint {
            Hint::DateTime => Json::String(sf_datetime(*l).ok_or_else(|| bad("datetime"))?),
            Hint::Date => Json::String(sf_date_from_ms(*l).ok_or_else(|| bad("date"))?),
            Hint::Time => Json::String(sf_time(*l).ok_or_else(|| bad("time"))?),
            Hint::Plain => Json::from(*l),
        },
        Value::TimestampMillis(ms) | Value::LocalTimestampMillis(ms) => {
            Json::String(sf_datetime(*ms).ok_or_else(|| bad("datetime"))?)
        }
        Value::TimestampMicros(us) | Value::LocalTimestampMicros(us) => {
            Json::String(sf_datetime(us.div_euclid(1000)).ok_or_else(|| bad("datetime"))?)
        }
        Value::TimestampNanos(ns) | Value::LocalTimestampNanos(ns) => {
            Json::String(sf_datetime(ns.div_euclid(1_000_000)).ok_or_else(|| bad("datetime"))?)
        }
        Value::Date(d) => Json::String(sf_date_from_days(*d).ok_or_else(|| bad("date"))?),
        Value::TimeMillis(ms) => Json::String(sf_time(i64::from(*ms)).ok_or_else(|| bad("time"))?),
        Value::TimeMicros(us) => {
            Json::String(sf_time(us.div_euclid(1000)).ok_or_else(|| bad("time"))?)
        }
        Value::Float(f) => num(f64::from(*f)),
        Value::Double(f) => num(*f),
        Value::String(s) | Value::Enum(_, s) => Json::String(s.clone()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::BigDecimal(b) => Json::String(b.to_string()),
        Value::Bytes(b) | Value::Fixed(_, b) => {
            use base64::Engine as _;
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(|i| to_json(i, hint))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), to_json(&m[k], Hint::Plain)?);
            }
            Json::Object(out)
        }
        Value::Record(fields) => {
            let mut out = serde_json::Map::new();
            for (k, v) in fields {
                out.insert(k.clone(), to_json(v, Hint::Plain)?);
            }
            Json::Object(out)
        }
        Value::Decimal(_) | Value::Duration(_) => {
            return Err("decimal and duration values are not used by Salesforce".into());
        }
    })
}

/// Strips a union wrapper.
pub(crate) fn unwrap_union(v: &Value) -> &Value {
    match v {
        Value::Union(_, inner) => unwrap_union(inner),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_forms() {
        assert_eq!(
            sf_datetime(1_704_067_200_000).unwrap(),
            "2024-01-01T00:00:00.000+0000"
        );
        assert_eq!(
            to_json(&Value::Long(1_704_067_200_123), Hint::DateTime).unwrap(),
            Json::String("2024-01-01T00:00:00.123+0000".into())
        );
        assert_eq!(
            to_json(&Value::Int(19_723), Hint::Date).unwrap(),
            Json::String("2024-01-01".into())
        );
        assert_eq!(
            to_json(&Value::Int(3_723_004), Hint::Time).unwrap(),
            Json::String("01:02:03.004Z".into())
        );
        assert_eq!(
            to_json(&Value::Long(5), Hint::Plain).unwrap(),
            Json::from(5)
        );
        assert!(to_json(&Value::Long(i64::MAX), Hint::DateTime).is_err());
    }

    #[test]
    fn hints_from_doc() {
        assert_eq!(Hint::from_doc(Some("CreatedDate:DateTime")), Hint::DateTime);
        assert_eq!(Hint::from_doc(Some("Data:Date")), Hint::Date);
        assert_eq!(Hint::from_doc(Some("Data:Time")), Hint::Time);
        assert_eq!(Hint::from_doc(Some("CreatedBy:EntityId")), Hint::Plain);
        assert_eq!(Hint::from_doc(None), Hint::Plain);
        assert_eq!(
            Hint::from_doc(Some("Data:Date (epoch ms at midnight UTC)")),
            Hint::Date
        );
        assert_eq!(
            Hint::from_doc(Some("Data:DateTime (epoch ms)")),
            Hint::DateTime
        );
        assert_eq!(Hint::from_doc(Some("no type here")), Hint::Plain);
    }
}
