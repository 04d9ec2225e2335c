//! Org samples for the Sync Monitor's history charts: one row per replica, org and minute,
//! older than [`KEEP`] deleted as new ones are written.

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::OrgName;
use sqlx::Row;

use super::SqlStore;
use super::codec::{from_ms, ms};
use crate::error::Result;
use crate::types::{OrgSample, RouteWrite};

/// How long samples are kept (the charts show at most 7 days).
pub const KEEP: TimeDelta = TimeDelta::days(8);

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(super) async fn put_org_samples_impl(&self, rows: &[OrgSample]) -> Result<()> {
        let mut tx = self.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO org_samples (replica, org, at, api_calls, budget_used, budget_max, backlog, failed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (replica, org, at) DO NOTHING",
            )
            .bind(r.replica.as_str())
            .bind(r.org.as_str())
            .bind(ms(r.at))
            .bind(count(r.api_calls))
            .bind(r.budget_used)
            .bind(r.budget_max)
            .bind(count(r.backlog))
            .bind(count(r.failed))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(newest) = rows.iter().map(|r| r.at).max() {
            sqlx::query("DELETE FROM org_samples WHERE at < $1")
                .bind(ms(newest - KEEP))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn org_samples_impl(&self, since: DateTime<Utc>) -> Result<Vec<OrgSample>> {
        let rows = sqlx::query(
            "SELECT replica, org, at, api_calls, budget_used, budget_max, backlog, failed FROM org_samples \
             WHERE at >= $1 ORDER BY replica, org, at",
        )
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        rows.iter()
            .map(|r| {
                Ok(OrgSample {
                    replica: r.try_get("replica")?,
                    org: OrgName(r.try_get("org")?),
                    at: from_ms(r.try_get("at")?)?,
                    api_calls: n(r.try_get("api_calls")?),
                    budget_used: r.try_get("budget_used")?,
                    budget_max: r.try_get("budget_max")?,
                    backlog: n(r.try_get("backlog")?),
                    failed: n(r.try_get("failed")?),
                })
            })
            .collect()
    }

    pub(super) async fn route_writes_impl(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RouteWrite>> {
        sqlx::query(
            "SELECT source_org, target_org, updated_at - created_at AS latency FROM sync_items \
             WHERE state = 'synced' AND updated_at >= $1 ORDER BY updated_at DESC LIMIT $2",
        )
        .bind(ms(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RouteWrite {
                source: r.try_get::<Option<String>, _>("source_org")?.map(OrgName),
                target: OrgName(r.try_get("target_org")?),
                latency_ms: r.try_get::<i64, _>("latency")?.max(0),
            })
        })
        .collect()
    }
}
