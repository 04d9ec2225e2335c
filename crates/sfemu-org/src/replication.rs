//! `/sobjects/X/updated` and `/deleted` (wire facts §2): based on SystemModstamp / the deleted
//! date, start and end truncated to the minute, at most 30 days back, `latestDateCovered` ≤ end.

use crate::org::Org;
use crate::{DeletedIds, SfError, UpdatedIds};
use chrono::{DateTime, Duration, DurationRound, Utc};
use soql::Value;

/// More ids than this → `EXCEEDED_ID_LIMIT`.
pub const MAX_IDS: usize = 600_000;

fn minute(d: DateTime<Utc>) -> DateTime<Utc> {
    d.duration_trunc(Duration::minutes(1)).unwrap_or(d)
}

fn bad_date(msg: &str) -> SfError {
    SfError::new("INVALID_REPLICATION_DATE", msg)
}

/// Validated `[start, latest)` window.
fn window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), SfError> {
    let (start, end) = (minute(start), minute(end));
    if start >= end {
        return Err(bad_date("startDate must chronologically precede endDate"));
    }
    let now = Utc::now();
    if start < minute(now) - Duration::days(30) {
        return Err(bad_date("startDate cannot be more than 30 days ago"));
    }
    // Never claim to cover the future (UNCONFIRMED: Salesforce may lag further behind).
    Ok((start, end.min(crate::render::to_millis(now))))
}

impl Org {
    fn table_of(&self, object: &str) -> Result<usize, SfError> {
        self.schema
            .table(object)
            .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))
    }

    pub(crate) fn updated_ids(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedIds, SfError> {
        let table = self.table_of(object)?;
        let (start, latest) = window(start, end)?;
        let stamp = self.schema.obj(table).sys.system_modstamp;
        let data = self.data.read();
        let t = &data.tables[table];
        let mut ids = Vec::new();
        for r in 0..t.len() {
            if t.is_deleted(r) {
                continue;
            }
            if let Value::DateTime(d) = t.get(r, stamp)
                && *d >= start
                && *d <= latest
            {
                ids.push(t.id(r).to_string());
                if ids.len() > MAX_IDS {
                    return Err(SfError::new(
                        "EXCEEDED_ID_LIMIT",
                        "too many ids: narrow the time window",
                    ));
                }
            }
        }
        Ok(UpdatedIds {
            ids,
            latest_date_covered: latest.max(start),
        })
    }

    pub(crate) fn deleted_ids(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedIds, SfError> {
        let table = self.table_of(object)?;
        let (start, latest) = window(start, end)?;
        let data = self.data.read();
        let t = &data.tables[table];
        let mut rows: Vec<(&u32, &DateTime<Utc>)> = t
            .deleted_at
            .iter()
            .filter(|(_, d)| **d >= start && **d <= latest)
            .collect();
        rows.sort_unstable();
        if rows.len() > MAX_IDS {
            return Err(SfError::new(
                "EXCEEDED_ID_LIMIT",
                "too many ids: narrow the time window",
            ));
        }
        let earliest = t.deleted_at.values().min().map_or(latest, |d| minute(*d));
        Ok(DeletedIds {
            deleted: rows
                .into_iter()
                .map(|(r, d)| (t.id(*r as usize).to_string(), *d))
                .collect(),
            earliest_date_available: earliest,
            latest_date_covered: latest.max(start),
        })
    }
}
