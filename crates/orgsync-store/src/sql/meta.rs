//! Capture commits, checkpoints, conflicts and audit rows: the writes that go into a capture
//! transaction, plus their stand-alone forms.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::args::{Arg, bind, values};

use super::SqlStore;
use super::codec::{ms, to_json};
use super::items::Enqueued;
use crate::error::Result;

use crate::types::{
    CaptureBatch, CaptureReport, CheckpointWrite, NewAudit, NewConflict, NewItem, RecordWrite,
    split_txn,
};

impl SqlStore {
    pub(super) async fn commit_capture_impl(
        &self,
        batch: CaptureBatch,
        now: DateTime<Utc>,
    ) -> Result<CaptureReport> {
        let mut report = CaptureReport::default();
        // Lock rows in key order (stable: same-key changes keep their arrival order) so two
        // concurrent captures on PostgreSQL cannot deadlock on each other's rows.
        let mut items: Vec<&NewItem> = batch.items.iter().collect();
        items.sort_by(|a, b| {
            (&a.work.target, &a.work.object, &a.work.global_id).cmp(&(
                &b.work.target,
                &b.work.object,
                &b.work.global_id,
            ))
        });
        let mut records: Vec<&RecordWrite> = batch.records.iter().collect();
        records.sort_by(|a, b| {
            (&a.org, &a.object, &a.global_id).cmp(&(&b.org, &b.object, &b.global_id))
        });
        let mut tx = self.begin().await?;
        let enqueued = self.enqueue_many(&mut tx, &items, now).await?;
        let mut audits = Vec::with_capacity(items.len() + batch.audit.len());
        for (e, n) in enqueued.into_iter().zip(&items) {
            match e {
                Enqueued::Inserted(id) => report.inserted.push(id),
                Enqueued::Merged(id) => report.merged.push(id),
                Enqueued::Duplicate => report.duplicates += 1,
            }
            audits.push(captured_audit(n, e, now));
        }
        audits.extend(batch.audit.iter().cloned());
        for (target, entry) in &batch.txns {
            let (txn, hash) = split_txn(entry);
            sqlx::query(
                "INSERT INTO transactions (target_org, txn_id, at, body_hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (target_org, txn_id) DO NOTHING",
            )
            .bind(target.as_str())
            .bind(txn)
            .bind(ms(now))
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        let landed = self.write_records_many(&mut tx, &records, now).await?;
        report.woken += self.wake_many(&mut tx, landed, now).await?;
        for w in &batch.agreed {
            self.write_agreed(&mut tx, w, now).await?;
        }
        for c in &batch.conflicts {
            self.insert_conflict(&mut tx, c).await?;
        }
        self.insert_audits(&mut tx, &audits).await?;
        if let Some(cp) = &batch.checkpoint {
            self.write_checkpoint(&mut tx, cp, now).await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    pub(super) async fn write_checkpoint(
        &self,
        c: &mut AnyConnection,
        cp: &CheckpointWrite,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO checkpoints (org, object, source, watermark_ts, watermark_id, replay_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org, object, source) DO UPDATE SET \
             watermark_ts = excluded.watermark_ts, watermark_id = excluded.watermark_id, \
             replay_id = excluded.replay_id, updated_at = excluded.updated_at",
        )
        .bind(cp.org.as_str())
        .bind(cp.object.as_str())
        .bind(cp.source.as_str())
        .bind(cp.watermark_ts.map(ms))
        .bind(cp.watermark_id.clone())
        .bind(cp.replay_id.clone())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    pub(super) async fn insert_conflict(
        &self,
        c: &mut AnyConnection,
        x: &NewConflict,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO conflicts (object, global_id, field, incoming_value, incoming_org, incoming_ts, \
             current_value, current_org, current_ts, winner, reason, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(x.object.as_str())
        .bind(x.global_id.to_string())
        .bind(x.field.as_str())
        .bind(to_json(&x.incoming.value)?)
        .bind(x.incoming.org.as_str())
        .bind(ms(x.incoming.ts))
        .bind(to_json(&x.current.value)?)
        .bind(x.current.org.as_str())
        .bind(ms(x.current.ts))
        .bind(x.winner.as_ref().map(|w| w.0.clone()))
        .bind(x.reason.as_str())
        .bind(ms(x.at))
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Append audit rows, many per statement.
    pub(super) async fn insert_audits(
        &self,
        c: &mut AnyConnection,
        events: &[NewAudit],
    ) -> Result<()> {
        for chunk in events.chunks(100) {
            let sql = format!(
                "INSERT INTO audit (at, kind, org, object, global_id, item_id, detail) VALUES {}",
                values(chunk.len(), 7, 1)
            );
            let mut args = Vec::with_capacity(chunk.len() * 7);
            for a in chunk {
                args.extend([
                    Arg::Int(ms(a.at)),
                    Arg::Text(a.kind.clone()),
                    Arg::OptText(a.org.as_ref().map(|o| o.0.clone())),
                    Arg::OptText(a.object.clone()),
                    Arg::OptText(a.global_id.as_ref().map(ToString::to_string)),
                    Arg::OptInt(a.item_id.map(|i| i.0)),
                    Arg::Text(to_json(&a.detail)?),
                ]);
            }
            bind(sqlx::query(AssertSqlSafe(sql)), args)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }
}

/// The audit row of one captured item, so a record's timeline says where each change came
/// from: `item.captured` (a new item for the target), `item.merged` (folded into the item
/// already waiting) or `echo.dropped` (its transaction id was already processed for the
/// target: the transaction-id echo layer). `org` is the org it was captured from.
fn captured_audit(n: &NewItem, e: Enqueued, now: DateTime<Utc>) -> NewAudit {
    let (kind, id) = match e {
        Enqueued::Inserted(id) => ("item.captured", Some(id)),
        Enqueued::Merged(id) => ("item.merged", Some(id)),
        Enqueued::Duplicate => ("echo.dropped", None),
    };
    let mut a = NewAudit::new(now, kind);
    a.org = n.source_org.clone();
    a.object = Some(n.work.object.clone());
    a.global_id = Some(n.work.global_id.clone());
    a.item_id = id;
    a.detail = serde_json::json!({
        "target": n.work.target,
        "op": crate::types::op_str(n.work.op),
        "source_record_id": n.source_record_id,
        "txn": n.txn_id,
        "fields": n.work.payload.keys().collect::<Vec<_>>(),
        "layer": (kind == "echo.dropped").then_some("txn"),
    });
    a
}
