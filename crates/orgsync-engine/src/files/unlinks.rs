//! The unlink phase of a files round (its reads and writes; the decisions are
//! `plan_unlink.rs`): per org, the ContentDocumentLinks of synced records deleted since its
//! checkpoint (one `queryAll` of the bin; the idle cost), then, when there are some, their
//! documents' live links and versions, and per target what it holds of them.
//!
//! It runs for every org before any version is read, so a link a user removed is gone from
//! every org before a re-read of an older version elsewhere could find it "missing" there and
//! link it again. Whether Salesforce shows deleted ContentDocumentLinks to `queryAll` (as sfemu
//! does, like any record in the recycle bin) is UNCONFIRMED.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use orgsync_core::model::Origin;
use orgsync_core::routing::route;
use orgsync_core::{OrgId, OrgName};
use orgsync_store::{CheckpointWrite, SourceKind, Store};
use sfclient::values::{get_datetime, soql_datetime_ms};

use super::plan_unlink::{DeletedLink, SourceLinks, plan_unlinks};
use super::read::{file_gid, target_view, text};
use super::{FileError, FileReport, FileSync};
use crate::convert::query_all_ids;

/// Links to records of `object` deleted in the source since `since`, oldest first:
/// (document, linked record, deletion stamp).
async fn deleted_links(
    client: &sfclient::Client,
    object: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<(String, String, DateTime<Utc>)>, FileError> {
    let window = since.map_or(String::new(), |t| {
        format!(" AND SystemModstamp >= {}", soql_datetime_ms(&t))
    });
    let soql = format!(
        "SELECT Id, ContentDocumentId, LinkedEntityId, SystemModstamp FROM ContentDocumentLink \
         WHERE LinkedEntityId IN (SELECT Id FROM {object}) AND IsDeleted = true{window} \
         ORDER BY SystemModstamp, Id"
    );
    let mut out = Vec::new();
    let mut stream = client.query_all(&soql);
    while let Some(r) = stream.next().await {
        let r = r?;
        let stamp = get_datetime(&r, "SystemModstamp").ok().flatten();
        if let (Some(doc), Some(entity), Some(at)) = (
            text(&r, "ContentDocumentId"),
            text(&r, "LinkedEntityId"),
            stamp,
        ) {
            out.push((doc, entity, at));
        }
    }
    Ok(out)
}

/// The source's facts about the deleted links' documents: the records' global ids (the
/// ledger's), the documents' live links and their versions' global ids.
async fn source_facts<S: Store>(
    client: &sfclient::Client,
    store: &S,
    (org, org_id): (&OrgName, &OrgId),
    object: &str,
    gid_field: &str,
    deleted: &[(String, String, DateTime<Utc>)],
) -> Result<SourceLinks, FileError> {
    let mut entities: Vec<String> = deleted.iter().map(|d| d.1.clone()).collect();
    entities.sort();
    entities.dedup();
    let gid_of: HashMap<String, String> = store
        .records_by_local_ids(org, object, &entities)
        .await?
        .into_iter()
        .filter(|r| !r.deleted)
        .filter_map(|r| r.local_id.map(|l| (l, r.global_id.to_string())))
        .collect();
    let mut out = SourceLinks::default();
    for (doc, entity, at) in deleted {
        if let Some(record) = gid_of.get(entity) {
            out.deleted.push(DeletedLink {
                doc: doc.clone(),
                entity: entity.clone(),
                record: record.clone(),
                deleted_at: *at,
            });
        }
    }
    let mut docs: Vec<String> = out.deleted.iter().map(|d| d.doc.clone()).collect();
    docs.sort();
    docs.dedup();
    if docs.is_empty() {
        return Ok(out);
    }
    let live = query_all_ids(client, &docs, |l| {
        format!(
            "SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink \
             WHERE ContentDocumentId IN ({l}) AND IsDeleted = false"
        )
    })
    .await?;
    out.live = live
        .iter()
        .filter_map(|r| Some((text(r, "ContentDocumentId")?, text(r, "LinkedEntityId")?)))
        .collect::<HashSet<_>>();
    let versions = query_all_ids(client, &docs, |l| {
        format!(
            "SELECT Id, ContentDocumentId, {gid_field} FROM ContentVersion \
             WHERE ContentDocumentId IN ({l}) AND IsDeleted = false"
        )
    })
    .await?;
    for r in &versions {
        if let (Some(id), Some(doc)) = (text(r, "Id"), text(r, "ContentDocumentId")) {
            let gid = file_gid(text(r, gid_field), org_id, &id)?;
            out.versions.entry(doc).or_default().push(gid);
        }
    }
    Ok(out)
}

impl<S: Store> FileSync<S> {
    /// The unlinks of `org` for sync `sync`, followed in every org of its route. The org's
    /// checkpoint moves past them only when every target took them.
    pub(super) async fn org_unlinks(
        &self,
        sync: usize,
        org: &OrgName,
        report: &mut FileReport,
    ) -> Result<(), FileError> {
        let Some((conn, leg, key, since)) = self.reading(sync, org, "unlinks").await? else {
            return Ok(());
        };
        let gid_field = &self.settings.syncs[sync].global_id_field;
        let deleted = deleted_links(&conn.client, &leg.object, since).await?;
        let Some(read_to) = deleted.iter().map(|d| d.2).max() else {
            return Ok(());
        };
        let source = source_facts(
            &conn.client,
            &*self.store,
            (org, &conn.org_id),
            &leg.object,
            gid_field,
            &deleted,
        )
        .await?;
        let mut gids: Vec<String> = source.versions.values().flatten().cloned().collect();
        gids.sort();
        gids.dedup();
        let mut records: Vec<String> = source.deleted.iter().map(|d| d.record.clone()).collect();
        records.sort();
        records.dedup();
        let origin = Origin {
            org: org.clone(),
            client_tag: None,
            via_push_from: None,
        };
        let mut complete = true;
        for t in route(&self.settings.topology, org, &origin) {
            if source.deleted.is_empty() {
                break;
            }
            let (Some(tconn), Some(tleg)) = (
                self.orgs.get(&t.org).and_then(|o| o.conn()),
                self.legs.of(&t.org, sync),
            ) else {
                complete = false;
                continue;
            };
            let view = target_view(
                &tconn.client,
                &*self.store,
                (&t.org, &tconn.org_id),
                &tleg.object,
                gid_field,
                &gids,
                &records,
            )
            .await?;
            for id in plan_unlinks(&source, &view) {
                match tconn.client.delete("ContentDocumentLink", &id).await {
                    Ok(()) => {
                        report.unlinked += 1;
                        crate::metrics::file_written(
                            &t.org,
                            orgsync_core::metric::FILE_OP_UNLINK,
                            0,
                        );
                    }
                    Err(e) => {
                        tracing::warn!(from = %org, to = %t.org, error = %e, "unlink failed");
                        crate::metrics::file_error(&t.org);
                        report.errors.push(format!("{}: {e}", t.org));
                        complete = false;
                    }
                }
            }
        }
        if complete {
            // `>=` on the next read: a link deleted at exactly this stamp is read again and
            // finds nothing left to remove.
            let write = CheckpointWrite {
                org: org.clone(),
                object: key,
                source: SourceKind::Poll,
                watermark_ts: Some(read_to),
                watermark_id: None,
                replay_id: None,
            };
            self.store.set_checkpoint(write, Utc::now()).await?;
        }
        Ok(())
    }
}
