//! The writes of a files round: a transfer streams the source's `VersionData` download into
//! the target's multipart insert (the bytes pass through in chunks, never whole), stamped with
//! the version's global id, then checks the copy's `Checksum` against the source's; links and
//! deletes are single calls.

use serde_json::{Value, json};
use sfclient::{Client, NewVersion, Record};

use super::FileError;
use super::plan::NewLink;
use super::read::ReadVersion;

/// What a transfer produced in the target.
#[derive(Debug, Clone)]
pub(crate) struct Copied {
    /// The new version's document there.
    pub doc: String,
    /// Bytes moved.
    pub bytes: u64,
}

/// Copies `v` from `source` to `target`: as a new document (`doc` None, linked to `first` by
/// `FirstPublishLocationId` when given) or as a new version of the target's `doc`.
pub(crate) async fn transfer(
    source: &Client,
    target: &Client,
    v: &ReadVersion,
    gid_field: &str,
    doc: Option<&str>,
    first: Option<&str>,
) -> Result<Copied, FileError> {
    let mut fields = Record::new();
    fields.insert("PathOnClient".into(), json!(v.path));
    if let Some(t) = &v.plan.title {
        fields.insert("Title".into(), json!(t));
    }
    fields.insert(gid_field.into(), json!(v.plan.gid));
    if let Some(d) = doc {
        fields.insert("ContentDocumentId".into(), json!(d));
    }
    if let (None, Some(rec)) = (doc, first) {
        fields.insert("FirstPublishLocationId".into(), json!(rec));
    }
    let download = source.download_version_data(&v.plan.id).await?;
    let size = download.size.or(v.size);
    let file_name = v
        .path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&v.path)
        .to_string();
    let id = target
        .insert_content_version(
            &NewVersion {
                fields,
                file_name,
                size,
            },
            download.stream,
        )
        .await?;
    let rec = target
        .get_record(
            "ContentVersion",
            &id,
            Some(&["ContentDocumentId", "Checksum", "ContentSize"]),
        )
        .await?;
    let got = rec.get("Checksum").and_then(Value::as_str).unwrap_or("");
    if !v.plan.checksum.is_empty() && !got.eq_ignore_ascii_case(&v.plan.checksum) {
        return Err(FileError::Checksum {
            version: v.plan.id.clone(),
            want: v.plan.checksum.clone(),
            got: got.to_string(),
        });
    }
    Ok(Copied {
        doc: rec
            .get("ContentDocumentId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        bytes: rec.get("ContentSize").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Links the target's `doc` to a record with the source link's ShareType and Visibility.
pub(crate) async fn link(target: &Client, doc: &str, l: &NewLink) -> Result<(), FileError> {
    let mut fields = Record::new();
    fields.insert("ContentDocumentId".into(), json!(doc));
    fields.insert("LinkedEntityId".into(), json!(l.record));
    fields.insert("ShareType".into(), json!(l.share_type));
    fields.insert("Visibility".into(), json!(l.visibility));
    target.create("ContentDocumentLink", &fields).await?;
    Ok(())
}

/// Whether a link made by `FirstPublishLocationId` is the link wanted: Salesforce makes it
/// with ShareType `I` and Visibility `AllUsers` (UNCONFIRMED; sfemu does so), which saves a
/// call; any other link is made explicitly.
pub(crate) fn first_publish_fits(l: &NewLink) -> bool {
    l.share_type == "I" && l.visibility == "AllUsers"
}

/// Sets the Title of the target's version `version` (its document's Title follows there).
pub(crate) async fn retitle(target: &Client, version: &str, title: &str) -> Result<(), FileError> {
    let mut fields = Record::new();
    fields.insert("Title".into(), json!(title));
    target.update("ContentVersion", version, &fields).await?;
    Ok(())
}
