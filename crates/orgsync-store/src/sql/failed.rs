//! Failed writes per sync, for its status headline (`orgsync_core::status`): a sync whose
//! writes an org refuses shows Error with the newest error until they are retried or
//! dismissed. Counted by the database, so right for any number of failures.

use orgsync_core::OrgName;
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use crate::error::Result;

impl SqlStore {
    pub(super) async fn failed_writes_impl(
        &self,
        target: &OrgName,
        object: &str,
    ) -> Result<(u64, Option<String>)> {
        const WHERE: &str = "FROM sync_items WHERE state = 'failed' AND dismissed_at IS NULL \
             AND target_org = $1 AND object = $2";
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) {WHERE}")))
            .bind(target.as_str())
            .bind(object)
            .fetch_one(&self.pool)
            .await?;
        if n == 0 {
            return Ok((0, None));
        }
        let newest = sqlx::query(AssertSqlSafe(format!(
            "SELECT error_code, error_message {WHERE} ORDER BY updated_at DESC, id DESC LIMIT 1"
        )))
        .bind(target.as_str())
        .bind(object)
        .fetch_optional(&self.pool)
        .await?;
        let error = match newest {
            Some(r) => {
                let code: Option<String> = r.try_get("error_code")?;
                let message: Option<String> = r.try_get("error_message")?;
                match (code, message) {
                    // a message that names its code already is not prefixed twice
                    (Some(c), Some(m)) if m.starts_with(&c) => Some(m),
                    (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                    (c, m) => c.or(m),
                }
            }
            None => None,
        };
        Ok((u64::try_from(n).unwrap_or(0), error))
    }
}
