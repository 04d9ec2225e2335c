//! Pure view models: ledger rows in, what a page shows out. No I/O, so every rule (when a
//! sync is Late, which row is red, how problems group) is unit-tested without a server.

pub mod activity;
pub mod charts;
pub mod history;
pub mod overview;
pub mod problems;
pub mod reconcile;
pub mod record;
pub mod settings;
pub mod topology;

use chrono::{DateTime, Utc};

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for none. Times in the future
/// (a retry time) read "in 5 min".
pub fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(t) = t else {
        return "never".into();
    };
    let secs = (now - t).num_seconds();
    let (n, future) = (secs.unsigned_abs(), secs < 0);
    let span = match n {
        0..60 => format!("{n} s"),
        60..3600 => format!("{} min", n / 60),
        3600..86_400 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    match future {
        true => format!("in {span}"),
        false => format!("{span} ago"),
    }
}

/// The exact time, for a tooltip: RFC 3339 in UTC, to the second.
pub fn exact(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn ages_read_naturally() {
        let now = Utc::now();
        assert_eq!(ago(None, now), "never");
        assert_eq!(ago(Some(now - TimeDelta::seconds(12)), now), "12 s ago");
        assert_eq!(ago(Some(now - TimeDelta::minutes(3)), now), "3 min ago");
        assert_eq!(ago(Some(now - TimeDelta::hours(2)), now), "2 h ago");
        assert_eq!(ago(Some(now - TimeDelta::days(4)), now), "4 d ago");
        assert_eq!(ago(Some(now + TimeDelta::minutes(5)), now), "in 5 min");
    }
}
