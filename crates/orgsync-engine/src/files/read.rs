//! The reads of a files round: the source's new versions and their links, and what a target
//! holds of them. Every read is a query over many files at once (200 ids per call), so a
//! round costs a few calls whatever the number of files; bytes are never read here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use orgsync_core::{GlobalId, OrgId, OrgName};
use orgsync_store::Store;
use serde_json::Value;
use sfclient::values::{get_datetime, soql_datetime_ms};

use super::FileError;
use super::plan::{SourceLink, SourceVersion, TargetLink, TargetVersion, TargetView};
use crate::convert::query_all_ids;

/// A version as read, with what the transfer needs besides the plan's facts.
#[derive(Debug, Clone)]
pub(crate) struct ReadVersion {
    pub plan: SourceVersion,
    pub path: String,
    pub size: Option<u64>,
}

pub(super) fn text(r: &sfclient::Record, f: &str) -> Option<String> {
    r.get(f)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A version's global id: the one it carries (a copy orgsync made), else made from the org
/// it was first created in and its id there.
pub(super) fn file_gid(
    carried: Option<String>,
    org: &OrgId,
    id: &str,
) -> Result<String, FileError> {
    match carried {
        Some(g) => Ok(g),
        None => Ok(GlobalId::new(org.clone(), id)
            .map_err(|e| FileError::Data(format!("version id {id}: {e}")))?
            .to_string()),
    }
}

/// Every version changed in `org` since `since` (deleted ones included), oldest first, with
/// the global ids of their documents' other versions.
pub(crate) async fn changed_versions(
    client: &sfclient::Client,
    org: &OrgId,
    gid_field: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<ReadVersion>, FileError> {
    let window = since.map_or(String::new(), |t| {
        format!(" WHERE SystemModstamp >= {}", soql_datetime_ms(&t))
    });
    let soql = format!(
        "SELECT Id, ContentDocumentId, Title, PathOnClient, Checksum, ContentSize, IsLatest, \
         IsDeleted, SystemModstamp, {gid_field} FROM ContentVersion{window} \
         ORDER BY SystemModstamp, Id"
    );
    let mut rows = Vec::new();
    let mut stream = client.query_all(&soql);
    while let Some(r) = stream.next().await {
        rows.push(r?);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (Some(id), Some(doc)) = (text(r, "Id"), text(r, "ContentDocumentId")) else {
            continue;
        };
        out.push(ReadVersion {
            plan: SourceVersion {
                gid: file_gid(text(r, gid_field), org, &id)?,
                id,
                doc,
                checksum: text(r, "Checksum").unwrap_or_default(),
                latest: r.get("IsLatest").and_then(Value::as_bool).unwrap_or(false),
                deleted: r.get("IsDeleted").and_then(Value::as_bool).unwrap_or(false),
                siblings: Vec::new(),
                title: text(r, "Title"),
                modstamp: get_datetime(r, "SystemModstamp").ok().flatten(),
            },
            path: text(r, "PathOnClient").unwrap_or_else(|| "file".into()),
            size: r.get("ContentSize").and_then(Value::as_u64),
        });
    }
    // Documents with more than this one version: read their other versions' global ids.
    let mut docs: Vec<String> = out
        .iter()
        .filter(|v| v.plan.latest && !v.plan.deleted)
        .map(|v| v.plan.doc.clone())
        .collect();
    docs.sort();
    docs.dedup();
    if docs.is_empty() {
        return Ok(out);
    }
    let all = query_all_ids(client, &docs, |list| {
        format!(
            "SELECT Id, ContentDocumentId, {gid_field} FROM ContentVersion \
             WHERE ContentDocumentId IN ({list})"
        )
    })
    .await?;
    let mut by_doc: HashMap<String, Vec<String>> = HashMap::new();
    for r in &all {
        if let (Some(id), Some(doc)) = (text(r, "Id"), text(r, "ContentDocumentId")) {
            by_doc
                .entry(doc)
                .or_default()
                .push(file_gid(text(r, gid_field), org, &id)?);
        }
    }
    for v in &mut out {
        if let Some(gids) = by_doc.get(&v.plan.doc) {
            v.plan.siblings = gids.iter().filter(|g| **g != v.plan.gid).cloned().collect();
        }
    }
    Ok(out)
}

/// The live links of `docs` to records of `object` the ledger knows in `org`, with the
/// records' global ids.
pub(crate) async fn source_links<S: Store>(
    client: &sfclient::Client,
    store: &S,
    org: &OrgName,
    object: &str,
    docs: &[String],
) -> Result<Vec<SourceLink>, FileError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query_all_ids(client, docs, |list| {
        format!(
            "SELECT ContentDocumentId, LinkedEntityId, ShareType, Visibility, IsDeleted, \
             SystemModstamp FROM ContentDocumentLink WHERE ContentDocumentId IN ({list})"
        )
    })
    .await?;
    let live: Vec<&sfclient::Record> = rows
        .iter()
        .filter(|r| r.get("IsDeleted").and_then(Value::as_bool) != Some(true))
        .collect();
    let mut entities: Vec<String> = live
        .iter()
        .filter_map(|r| text(r, "LinkedEntityId"))
        .collect();
    entities.sort();
    entities.dedup();
    let known = store.records_by_local_ids(org, object, &entities).await?;
    let gid_of: HashMap<String, String> = known
        .into_iter()
        .filter(|r| !r.deleted)
        .filter_map(|r| r.local_id.map(|l| (l, r.global_id.to_string())))
        .collect();
    Ok(live
        .iter()
        .filter_map(|r| {
            let record = gid_of.get(&text(r, "LinkedEntityId")?)?.clone();
            Some(SourceLink {
                doc: text(r, "ContentDocumentId")?,
                record,
                share_type: text(r, "ShareType").unwrap_or_else(|| "V".into()),
                visibility: text(r, "Visibility").unwrap_or_else(|| "AllUsers".into()),
                modstamp: get_datetime(r, "SystemModstamp").ok().flatten(),
            })
        })
        .collect())
}

/// What `target` holds of `gids` (by the global-id field, or by Id for versions that were
/// first created there) and of the records' copies: their links and latest checksums.
pub(crate) async fn target_view<S: Store>(
    client: &sfclient::Client,
    store: &S,
    target: (&OrgName, &OrgId),
    object: &str,
    gid_field: &str,
    gids: &[String],
    records: &[String],
) -> Result<TargetView, FileError> {
    let (name, org_id) = target;
    let mut view = TargetView::default();
    let (own, foreign): (Vec<&String>, Vec<&String>) = gids.iter().partition(|g| {
        g.parse::<GlobalId>()
            .is_ok_and(|g| g.origin_org() == org_id)
    });
    let own_ids: Vec<String> = own
        .iter()
        .filter_map(|g| g.parse::<GlobalId>().ok())
        .map(|g| g.origin_record().to_string())
        .collect();
    let foreign: Vec<String> = foreign.into_iter().cloned().collect();
    let mut rows = Vec::new();
    for (list, field) in [(&own_ids, "Id"), (&foreign, gid_field)] {
        if list.is_empty() {
            continue;
        }
        rows.extend(
            query_all_ids(client, list, |l| {
                format!(
                    "SELECT Id, ContentDocumentId, IsDeleted, Title, SystemModstamp, {gid_field} \
                     FROM ContentVersion WHERE {field} IN ({l})"
                )
            })
            .await?,
        );
    }
    for r in &rows {
        let (Some(id), Some(doc)) = (text(r, "Id"), text(r, "ContentDocumentId")) else {
            continue;
        };
        let gid = file_gid(text(r, gid_field), org_id, &id)?;
        let deleted = r.get("IsDeleted").and_then(Value::as_bool).unwrap_or(false);
        let version = TargetVersion {
            doc,
            deleted,
            title: text(r, "Title"),
            modstamp: get_datetime(r, "SystemModstamp").ok().flatten(),
            id,
        };
        view.versions.insert(gid, version);
    }
    let parsed: Vec<GlobalId> = records.iter().filter_map(|g| g.parse().ok()).collect();
    if parsed.is_empty() {
        return Ok(view);
    }
    for row in store.records(name, object, &parsed).await? {
        if let (Some(local), false) = (row.local_id, row.deleted) {
            view.copies.insert(row.global_id.to_string(), local);
        }
    }
    let copies: Vec<String> = view.copies.values().cloned().collect();
    if copies.is_empty() {
        return Ok(view);
    }
    let links = query_all_ids(client, &copies, |l| {
        format!(
            "SELECT Id, ContentDocumentId, LinkedEntityId, SystemModstamp, IsDeleted, \
             ContentDocument.LatestPublishedVersion.Checksum FROM ContentDocumentLink \
             WHERE LinkedEntityId IN ({l})"
        )
    })
    .await?;
    for r in &links {
        let (Some(doc), Some(entity)) = (text(r, "ContentDocumentId"), text(r, "LinkedEntityId"))
        else {
            continue;
        };
        let sum = r
            .get("ContentDocument")
            .and_then(|d| d.get("LatestPublishedVersion"))
            .and_then(|v| v.get("Checksum"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let link = TargetLink {
            id: text(r, "Id").unwrap_or_default(),
            doc: doc.clone(),
            record: entity.clone(),
            modstamp: get_datetime(r, "SystemModstamp").ok().flatten(),
        };
        if r.get("IsDeleted").and_then(Value::as_bool) == Some(true) {
            view.unlinked.push(link);
            continue;
        }
        view.links.push(link);
        view.linked.entry(entity).or_default().push((doc, sum));
    }
    Ok(view)
}
