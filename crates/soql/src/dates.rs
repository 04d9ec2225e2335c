//! Relative date literals (`TODAY`, `LAST_N_DAYS:7`, `THIS_QUARTER` …) as half-open day ranges in
//! the querying user's time zone, and their conversion to bounds for date and datetime fields.
//!
//! Weeks start on Sunday (Salesforce's en_US locale); quarters are calendar quarters (fiscal-year
//! settings are not modelled). Ranges that Salesforce describes as "up to the current second"
//! (`LAST_N_DAYS`, `LAST_90_DAYS`) end at the end of today here, so rows stamped later today match.

use chrono::{DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, Timelike, Utc};

use crate::Value;
use crate::ast::{DateFunc, RelDate};

/// Whether `name` (upper-case) is a relative date literal, and whether it takes `:n`.
pub(crate) fn rel_takes_n(name: &str) -> Option<bool> {
    rel_from(name, 0).map(|r| !matches!(rel_from(name, 1), Some(r1) if r1 == r))
}

/// The literal for an upper-case name and its `:n` argument.
pub(crate) fn rel_from(name: &str, n: u32) -> Option<RelDate> {
    use RelDate::*;
    Some(match name {
        "YESTERDAY" => Yesterday,
        "TODAY" => Today,
        "TOMORROW" => Tomorrow,
        "LAST_WEEK" => LastWeek,
        "THIS_WEEK" => ThisWeek,
        "NEXT_WEEK" => NextWeek,
        "LAST_MONTH" => LastMonth,
        "THIS_MONTH" => ThisMonth,
        "NEXT_MONTH" => NextMonth,
        "LAST_90_DAYS" => Last90Days,
        "NEXT_90_DAYS" => Next90Days,
        "LAST_N_DAYS" => LastNDays(n),
        "NEXT_N_DAYS" => NextNDays(n),
        "N_DAYS_AGO" => NDaysAgo(n),
        "LAST_N_WEEKS" => LastNWeeks(n),
        "NEXT_N_WEEKS" => NextNWeeks(n),
        "LAST_N_MONTHS" => LastNMonths(n),
        "NEXT_N_MONTHS" => NextNMonths(n),
        "THIS_QUARTER" => ThisQuarter,
        "LAST_QUARTER" => LastQuarter,
        "NEXT_QUARTER" => NextQuarter,
        "LAST_N_QUARTERS" => LastNQuarters(n),
        "NEXT_N_QUARTERS" => NextNQuarters(n),
        "THIS_YEAR" => ThisYear,
        "LAST_YEAR" => LastYear,
        "NEXT_YEAR" => NextYear,
        "LAST_N_YEARS" => LastNYears(n),
        "NEXT_N_YEARS" => NextNYears(n),
        _ => return None,
    })
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    let r = if n >= 0 {
        d.checked_add_days(Days::new(n as u64))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
    };
    r.unwrap_or(if n >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

fn add_months(d: NaiveDate, n: i64) -> NaiveDate {
    let m = u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX);
    let r = if n >= 0 {
        d.checked_add_months(Months::new(m))
    } else {
        d.checked_sub_months(Months::new(m))
    };
    r.unwrap_or(if n >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

/// The half-open day range `[start, end)` a relative literal denotes, given "today".
pub(crate) fn day_range(rel: RelDate, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    use RelDate::*;
    let week = add_days(today, -i64::from(today.weekday().num_days_from_sunday()));
    let month = today.with_day(1).unwrap_or(today);
    let quarter =
        NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1).unwrap_or(month);
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(month);
    let n = |k: u32| i64::from(k);
    match rel {
        Yesterday => (add_days(today, -1), today),
        Today => (today, add_days(today, 1)),
        Tomorrow => (add_days(today, 1), add_days(today, 2)),
        LastWeek => (add_days(week, -7), week),
        ThisWeek => (week, add_days(week, 7)),
        NextWeek => (add_days(week, 7), add_days(week, 14)),
        LastMonth => (add_months(month, -1), month),
        ThisMonth => (month, add_months(month, 1)),
        NextMonth => (add_months(month, 1), add_months(month, 2)),
        Last90Days => (add_days(today, -90), add_days(today, 1)),
        Next90Days => (add_days(today, 1), add_days(today, 91)),
        LastNDays(k) => (add_days(today, -n(k)), add_days(today, 1)),
        NextNDays(k) => (add_days(today, 1), add_days(today, 1 + n(k))),
        NDaysAgo(k) => (add_days(today, -n(k)), add_days(today, 1 - n(k))),
        LastNWeeks(k) => (add_days(week, -7 * n(k)), week),
        NextNWeeks(k) => (add_days(week, 7), add_days(week, 7 + 7 * n(k))),
        LastNMonths(k) => (add_months(month, -n(k)), month),
        NextNMonths(k) => (add_months(month, 1), add_months(month, 1 + n(k))),
        ThisQuarter => (quarter, add_months(quarter, 3)),
        LastQuarter => (add_months(quarter, -3), quarter),
        NextQuarter => (add_months(quarter, 3), add_months(quarter, 6)),
        LastNQuarters(k) => (add_months(quarter, -3 * n(k)), quarter),
        NextNQuarters(k) => (add_months(quarter, 3), add_months(quarter, 3 + 3 * n(k))),
        ThisYear => (year, add_months(year, 12)),
        LastYear => (add_months(year, -12), year),
        NextYear => (add_months(year, 12), add_months(year, 24)),
        LastNYears(k) => (add_months(year, -12 * n(k)), year),
        NextNYears(k) => (add_months(year, 12), add_months(year, 12 + 12 * n(k))),
    }
}

/// Midnight of `d` in `tz`, as a UTC instant.
pub(crate) fn midnight_utc(d: NaiveDate, tz: FixedOffset) -> DateTime<Utc> {
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (local - tz).and_utc()
}

/// Bounds `[lo, hi)` of a relative literal for a field: dates for date fields, UTC instants
/// (local midnights) for datetime fields.
pub(crate) fn bounds(
    rel: RelDate,
    datetime: bool,
    now: DateTime<Utc>,
    tz: FixedOffset,
) -> (Value, Value) {
    let today = now.with_timezone(&tz).date_naive();
    let (a, b) = day_range(rel, today);
    if datetime {
        (
            Value::DateTime(midnight_utc(a, tz)),
            Value::DateTime(midnight_utc(b, tz)),
        )
    } else {
        (Value::Date(a), Value::Date(b))
    }
}

/// UTC as a fixed offset (date functions without `convertTimezone()`).
pub(crate) fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())
}

/// A date function of a date or datetime value in zone `tz` (null and other kinds give null).
pub(crate) fn apply(func: DateFunc, v: &Value, tz: FixedOffset) -> Value {
    use DateFunc::*;
    let (date, hour) = match v {
        Value::Date(d) => (*d, 0),
        Value::DateTime(t) => {
            let t = t.with_timezone(&tz);
            (t.date_naive(), t.hour())
        }
        _ => return Value::Null,
    };
    let n = |x: u32| Value::Int(i64::from(x));
    match func {
        CalendarMonth | FiscalMonth => n(date.month()),
        CalendarQuarter | FiscalQuarter => n(date.month0() / 3 + 1),
        CalendarYear | FiscalYear => Value::Int(i64::from(date.year())),
        DayInMonth => n(date.day()),
        DayInWeek => n(date.weekday().num_days_from_sunday() + 1),
        DayInYear => n(date.ordinal()),
        DayOnly => Value::Date(date),
        HourInDay => n(hour),
        WeekInMonth => n((date.day() - 1) / 7 + 1),
        WeekInYear => n((date.ordinal() - 1) / 7 + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RelDate::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn names() {
        assert_eq!(rel_takes_n("TODAY"), Some(false));
        assert_eq!(rel_takes_n("LAST_N_DAYS"), Some(true));
        assert_eq!(rel_takes_n("LAST_N_FOO"), None);
    }

    #[test]
    fn ranges() {
        let today = d("2024-05-15"); // a Wednesday
        assert_eq!(day_range(Today, today), (d("2024-05-15"), d("2024-05-16")));
        assert_eq!(
            day_range(LastNDays(1), today),
            (d("2024-05-14"), d("2024-05-16"))
        );
        assert_eq!(
            day_range(NextNDays(2), today),
            (d("2024-05-16"), d("2024-05-18"))
        );
        assert_eq!(
            day_range(NDaysAgo(3), today),
            (d("2024-05-12"), d("2024-05-13"))
        );
        assert_eq!(
            day_range(ThisWeek, today),
            (d("2024-05-12"), d("2024-05-19"))
        );
        assert_eq!(
            day_range(LastWeek, today),
            (d("2024-05-05"), d("2024-05-12"))
        );
        assert_eq!(
            day_range(LastMonth, today),
            (d("2024-04-01"), d("2024-05-01"))
        );
        assert_eq!(
            day_range(NextNMonths(2), today),
            (d("2024-06-01"), d("2024-08-01"))
        );
        assert_eq!(
            day_range(ThisQuarter, today),
            (d("2024-04-01"), d("2024-07-01"))
        );
        assert_eq!(
            day_range(LastQuarter, today),
            (d("2024-01-01"), d("2024-04-01"))
        );
        assert_eq!(
            day_range(LastYear, today),
            (d("2023-01-01"), d("2024-01-01"))
        );
        assert_eq!(
            day_range(NextNYears(2), today),
            (d("2025-01-01"), d("2027-01-01"))
        );
        assert_eq!(day_range(LastNDays(u32::MAX), today).0, NaiveDate::MIN);
    }

    #[test]
    fn datetime_bounds_use_the_users_zone() {
        let now: DateTime<Utc> = "2024-05-15T03:00:00Z".parse().unwrap();
        let pst = FixedOffset::west_opt(8 * 3600).unwrap();
        // 03:00Z is still May 14 in UTC-8.
        let (lo, hi) = bounds(Today, true, now, pst);
        assert_eq!(lo, Value::DateTime("2024-05-14T08:00:00Z".parse().unwrap()));
        assert_eq!(hi, Value::DateTime("2024-05-15T08:00:00Z".parse().unwrap()));
        let (lo, _) = bounds(Today, false, now, pst);
        assert_eq!(lo, Value::Date(d("2024-05-14")));
    }
}
