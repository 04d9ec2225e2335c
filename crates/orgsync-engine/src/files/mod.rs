//! Files that follow their records (`files = true` on a `[[sync]]`): every ContentVersion
//! whose ContentDocument is linked to a synced record reaches the record's copies in the
//! other orgs of the route, with the same Title, PathOnClient, bytes and Checksum, linked with
//! the same ShareType and Visibility; a new version becomes a new version of the same
//! document there; a deleted document is deleted there; a link removed while its document
//! stays is removed there (`unlinks.rs`, before any version is read); a new Title of a latest
//! version (or of its document: one value) is set there.
//!
//! Its own component beside the record legs (nothing in `capture/` or `apply/` changes): a
//! round per interval reads, per org, the versions changed since its checkpoint (one
//! `queryAll`; the idle cost), their links, and what each target holds of them, then decides
//! (`plan.rs`, pure) and writes (`write.rs`: the download streamed into the upload). The
//! version's global id travels in the sync's global-id field on ContentVersion, so what a
//! target holds is read from the target itself: a re-run, and our own copies read back, send
//! nothing. Records a file is linked to must have landed in the target (their id map is the
//! ledger's); until then the version waits and its org's checkpoint stays before it.
//!
//! Not followed: a change of ShareType or Visibility on an existing link, and a Title edit of
//! an older (not latest) version.

mod plan;
mod plan_unlink;
mod read;
mod unlinks;
mod write;

use std::sync::Arc;

use chrono::Utc;
use orgsync_core::model::Origin;
use orgsync_core::routing::route;
use orgsync_core::{OrgName, Settings};
use orgsync_store::{CheckpointWrite, SourceKind, Store};

use crate::leg::Legs;
use crate::orgs::Orgs;
use plan::Action;

/// See [`FileSync::reading`].
type Reading = (
    crate::orgs::OrgConn,
    Arc<crate::leg::Leg>,
    String,
    Option<chrono::DateTime<Utc>>,
);

/// Why a files round (or part of it) failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A Salesforce call failed.
    #[error(transparent)]
    Api(#[from] sfclient::SfError),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Store(#[from] orgsync_store::StoreError),
    /// The copy's bytes are not the source's.
    #[error("version {version}: checksum {got} in the target, {want} in the source")]
    Checksum {
        version: String,
        want: String,
        got: String,
    },
    /// A row held something unusable.
    #[error("{0}")]
    Data(String),
}

/// What one round did (tests, logs, the benchmark).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Versions read (all orgs).
    pub read: usize,
    /// Versions uploaded (new documents and new versions).
    pub uploaded: usize,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Links made besides those made by an upload.
    pub linked: usize,
    /// Documents deleted.
    pub deleted: usize,
    /// Links removed (a link removed in another org while its document stays).
    pub unlinked: usize,
    /// Versions renamed (a new Title in another org).
    pub retitled: usize,
    /// Versions found already there (by global id).
    pub present: usize,
    /// Versions not sent because the same bytes are linked to the record there.
    pub same_checksum: usize,
    /// Versions waiting for a record to land.
    pub waiting: usize,
    /// Failures (org: error), each retried next round.
    pub errors: Vec<String>,
}

impl FileReport {
    /// Whether the round wrote nothing and failed nowhere: the files have converged as far as
    /// a round can tell (versions waiting for a record that never lands do not count).
    pub fn quiet(&self) -> bool {
        self.uploaded + self.linked + self.deleted + self.unlinked + self.retitled == 0
            && self.errors.is_empty()
    }
}

/// The files component: shared state only, a round at a time.
#[derive(Debug)]
pub(crate) struct FileSync<S> {
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub orgs: Arc<Orgs>,
    pub legs: Arc<Legs>,
    /// One round at a time (the periodic one and [`crate::EngineHandle::sync_files_now`]):
    /// two at once would both find a file missing and both send it.
    pub one_at_a_time: tokio::sync::Mutex<()>,
}

impl<S: Store> FileSync<S> {
    /// Whether any enabled sync carries its files.
    pub fn wanted(settings: &Settings) -> bool {
        settings.syncs.iter().any(|s| s.files && s.enabled)
    }

    /// Runs a round every `every` (the shortest interval of the file syncs) until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = self
            .settings
            .syncs
            .iter()
            .filter(|s| s.files && s.enabled)
            .map(|s| s.interval)
            .min()
            .unwrap_or(std::time::Duration::from_secs(60));
        loop {
            let report = self.round().await;
            if !report.quiet() {
                tracing::info!(
                    uploaded = report.uploaded,
                    bytes = report.bytes,
                    linked = report.linked,
                    deleted = report.deleted,
                    unlinked = report.unlinked,
                    retitled = report.retitled,
                    errors = report.errors.len(),
                    "files synced"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One round over every org of every sync with `files = true`: first every org's unlinks,
    /// then every org's versions. An org's failure is reported and its checkpoint kept; the
    /// other orgs go on.
    pub async fn round(&self) -> FileReport {
        let _one = self.one_at_a_time.lock().await;
        let mut report = FileReport::default();
        let syncs: Vec<usize> = self
            .settings
            .syncs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.files && s.enabled)
            .map(|(i, _)| i)
            .collect();
        for unlinks in [true, false] {
            for &i in &syncs {
                for org in self.settings.topology.orgs() {
                    let done = if unlinks {
                        self.org_unlinks(i, &org, &mut report).await
                    } else {
                        self.org_round(i, &org, &mut report).await
                    };
                    if let Err(e) = done {
                        tracing::warn!(%org, error = %e, "files round failed");
                        crate::metrics::file_error(&org);
                        report.errors.push(format!("{org}: {e}"));
                    }
                }
            }
        }
        report
    }

    /// What a round of `org` for sync `sync` reads with: its connection, its leg, and the
    /// checkpoint key (`<object>#<what>`) with its watermark; None when the org is not
    /// connected or has no leg of that sync.
    async fn reading(
        &self,
        sync: usize,
        org: &OrgName,
        what: &str,
    ) -> Result<Option<Reading>, FileError> {
        let (Some(conn), Some(leg)) = (
            self.orgs.get(org).and_then(|o| o.conn()),
            self.legs.of(org, sync),
        ) else {
            return Ok(None);
        };
        let key = format!("{}#{what}", leg.object);
        let since = self
            .store
            .checkpoint(org, &key, SourceKind::Poll)
            .await?
            .and_then(|c| c.watermark_ts);
        Ok(Some((conn, leg.clone(), key, since)))
    }

    async fn org_round(
        &self,
        sync: usize,
        org: &OrgName,
        report: &mut FileReport,
    ) -> Result<(), FileError> {
        let Some((conn, leg, key, since)) = self.reading(sync, org, "files").await? else {
            return Ok(());
        };
        let gid_field = &self.settings.syncs[sync].global_id_field;
        let versions = read::changed_versions(&conn.client, &conn.org_id, gid_field, since).await?;
        if versions.is_empty() {
            return Ok(());
        }
        report.read += versions.len();
        let mut docs: Vec<String> = versions
            .iter()
            .filter(|v| !v.plan.deleted)
            .map(|v| v.plan.doc.clone())
            .collect();
        docs.sort();
        docs.dedup();
        let links = read::source_links(&conn.client, &*self.store, org, &leg.object, &docs).await?;
        let plans: Vec<plan::SourceVersion> = versions.iter().map(|v| v.plan.clone()).collect();
        let mut gids: Vec<String> = plans
            .iter()
            .flat_map(|v| std::iter::once(v.gid.clone()).chain(v.siblings.iter().cloned()))
            .collect();
        gids.sort();
        gids.dedup();
        let mut records: Vec<String> = links.iter().map(|l| l.record.clone()).collect();
        records.sort();
        records.dedup();
        let origin = Origin {
            org: org.clone(),
            client_tag: None,
            via_push_from: None,
        };
        let mut waiting = vec![false; versions.len()];
        for t in route(&self.settings.topology, org, &origin) {
            let (Some(tconn), Some(tleg)) = (
                self.orgs.get(&t.org).and_then(|o| o.conn()),
                self.legs.of(&t.org, sync),
            ) else {
                // not logged in yet: everything waits for it
                waiting.iter_mut().for_each(|w| *w = true);
                continue;
            };
            let view = read::target_view(
                &tconn.client,
                &*self.store,
                (&t.org, &tconn.org_id),
                &tleg.object,
                gid_field,
                &gids,
                &records,
            )
            .await?;
            let p = plan::plan(&plans, &links, &view);
            report.present += p.present;
            report.same_checksum += p.same_checksum;
            for &i in &p.waiting {
                waiting[i] = true;
            }
            for action in p.actions {
                let failed_version = match &action {
                    Action::NewDocument { version, .. } | Action::NewVersion { version, .. } => {
                        Some(*version)
                    }
                    _ => None,
                };
                if let Err(e) = self
                    .execute(
                        &conn.client,
                        &tconn.client,
                        (&t.org, &versions),
                        gid_field,
                        action,
                        report,
                    )
                    .await
                {
                    tracing::warn!(from = %org, to = %t.org, error = %e, "file write failed");
                    crate::metrics::file_error(&t.org);
                    report.errors.push(format!("{}: {e}", t.org));
                    // retried next round: the checkpoint stays before it
                    match failed_version {
                        Some(i) => waiting[i] = true,
                        None => waiting.iter_mut().for_each(|w| *w = true),
                    }
                }
            }
        }
        report.waiting += waiting.iter().filter(|w| **w).count();
        let held = versions
            .iter()
            .zip(&waiting)
            .filter(|(_, w)| **w)
            .filter_map(|(v, _)| v.plan.modstamp)
            .min();
        let read_to = versions.iter().filter_map(|v| v.plan.modstamp).max();
        if let Some(ts) = held.or(read_to) {
            // `>=` on the next read: a version at exactly this stamp is read again (and found
            // present), never skipped.
            let write = CheckpointWrite {
                org: org.clone(),
                object: key,
                source: SourceKind::Poll,
                watermark_ts: Some(ts),
                watermark_id: None,
                replay_id: None,
            };
            self.store.set_checkpoint(write, Utc::now()).await?;
        }
        Ok(())
    }

    async fn execute(
        &self,
        source: &sfclient::Client,
        target: &sfclient::Client,
        (to, versions): (&OrgName, &[read::ReadVersion]),
        gid_field: &str,
        action: Action,
        report: &mut FileReport,
    ) -> Result<(), FileError> {
        let version = |i: usize| {
            versions
                .get(i)
                .ok_or_else(|| FileError::Data(format!("no version {i}")))
        };
        match action {
            Action::NewDocument { version: i, links } => {
                let first = links.first().filter(|l| write::first_publish_fits(l));
                let first_record = first.map(|l| l.record.as_str());
                let copied =
                    write::transfer(source, target, version(i)?, gid_field, None, first_record)
                        .await?;
                report.uploaded += 1;
                report.bytes += copied.bytes;
                crate::metrics::file_written(
                    to,
                    orgsync_core::metric::FILE_OP_UPLOAD,
                    copied.bytes,
                );
                let rest = if first.is_some() {
                    &links[1..]
                } else {
                    &links[..]
                };
                for l in rest {
                    write::link(target, &copied.doc, l).await?;
                    report.linked += 1;
                    crate::metrics::file_written(to, orgsync_core::metric::FILE_OP_LINK, 0);
                }
            }
            Action::NewVersion { version: i, doc } => {
                let copied =
                    write::transfer(source, target, version(i)?, gid_field, Some(&doc), None)
                        .await?;
                report.uploaded += 1;
                report.bytes += copied.bytes;
                crate::metrics::file_written(
                    to,
                    orgsync_core::metric::FILE_OP_UPLOAD,
                    copied.bytes,
                );
            }
            Action::Link { doc, link } => {
                write::link(target, &doc, &link).await?;
                report.linked += 1;
                crate::metrics::file_written(to, orgsync_core::metric::FILE_OP_LINK, 0);
            }
            Action::DeleteDocument { doc } => {
                target.delete("ContentDocument", &doc).await?;
                report.deleted += 1;
                crate::metrics::file_written(to, orgsync_core::metric::FILE_OP_DELETE, 0);
            }
            Action::Retitle { version, title } => {
                write::retitle(target, &version, &title).await?;
                report.retitled += 1;
                crate::metrics::file_written(to, orgsync_core::metric::FILE_OP_RETITLE, 0);
            }
        }
        Ok(())
    }
}
