//! Files: inserting a ContentVersion creates (or versions) its ContentDocument and, with
//! `FirstPublishLocationId`, links the document to that record (wire facts §12). A document's
//! Title and its latest version's Title are one value: an update of either sets the other.

use super::Exec;
use super::ops::required_missing;
use crate::SfError;
use crate::blobs::BlobMeta;
use soql::Value;

impl Exec<'_> {
    pub(super) fn create_content_version(
        &mut self,
        vt: usize,
        mut row: Vec<Value>,
    ) -> Result<String, SfError> {
        let vobj = self.schema.obj(vt);
        let slot = |n: &str| {
            vobj.slot(n).ok_or_else(|| {
                SfError::new("INVALID_SCHEMA", format!("ContentVersion.{n} missing"))
            })
        };
        let (path_s, data_s, title_s) =
            (slot("PathOnClient")?, slot("VersionData")?, slot("Title")?);
        let (doc_s, loc_s) = (slot("ContentDocumentId")?, slot("FirstPublishLocationId")?);
        let missing: Vec<String> = [("PathOnClient", path_s), ("VersionData", data_s)]
            .iter()
            .filter(|(_, s)| row[*s].is_null())
            .map(|(n, _)| n.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(required_missing(missing));
        }
        let path = row[path_s].as_str().unwrap_or("").to_string();
        // The body is already on disk (convert.rs / the wire's streamed upload): its key
        // carries the size and MD5.
        let blob = row[data_s].as_str().and_then(BlobMeta::from_slot);
        let size = blob
            .as_ref()
            .map_or(0, |m| i64::try_from(m.size).unwrap_or(i64::MAX));
        let checksum = blob.map_or(Value::Null, |m| Value::text(m.md5.as_str()));
        let ext = path
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .filter(|e| !e.is_empty());
        let file_type = ext
            .as_deref()
            .map_or_else(|| "UNKNOWN".to_string(), str::to_ascii_uppercase);
        if row[title_s].is_null() {
            let stem = path.rsplit(['/', '\\']).next().unwrap_or(&path);
            let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
            row[title_s] = Value::text(stem);
        }
        let set = |row: &mut Vec<Value>, n: &str, v: Value| {
            if let Some(s) = vobj.slot(n) {
                row[s] = v;
            }
        };
        set(&mut row, "ContentSize", Value::Int(size));
        set(&mut row, "Checksum", checksum);
        set(
            &mut row,
            "FileExtension",
            ext.as_deref().map_or(Value::Null, Value::text),
        );
        set(&mut row, "FileType", Value::text(file_type.as_str()));
        set(&mut row, "IsLatest", Value::Bool(true));
        let version_id = self.data.idgen.next(&vobj.key_prefix);
        row[crate::schema::ID_SLOT] = Value::text(version_id.as_str());
        let dt = self
            .schema
            .table("ContentDocument")
            .ok_or_else(|| SfError::new("INVALID_SCHEMA", "no ContentDocument"))?;
        let dobj = self.schema.obj(dt);
        let doc_fields = |row: &mut Vec<Value>| {
            for (n, v) in [
                ("LatestPublishedVersionId", Value::text(version_id.as_str())),
                ("ContentSize", Value::Int(size)),
                (
                    "FileExtension",
                    ext.as_deref().map_or(Value::Null, Value::text),
                ),
                ("FileType", Value::text(file_type.as_str())),
            ] {
                if let Some(s) = dobj.slot(n) {
                    row[s] = v;
                }
            }
        };
        let title = row[title_s].clone();
        match row[doc_s].as_str().map(str::to_string) {
            Some(doc_id) => {
                // A new version of an existing document.
                let drow = self.data.tables[dt].find(&doc_id).ok_or_else(|| {
                    SfError::with_fields(
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id",
                        vec!["ContentDocumentId".into()],
                    )
                })?;
                let siblings = self.data.tables[vt]
                    .find_children(doc_s, &doc_id)
                    .unwrap_or_default();
                set(
                    &mut row,
                    "VersionNumber",
                    Value::text((siblings.len() + 1).to_string()),
                );
                if let Some(latest) = vobj.slot("IsLatest") {
                    for r in siblings {
                        let mut v = self.data.tables[vt].row(r).to_vec();
                        if v[latest] == Value::Bool(true) {
                            v[latest] = Value::Bool(false);
                            self.replace_row(vt, r, v);
                        }
                    }
                }
                let old = self.data.tables[dt].row(drow).to_vec();
                let mut new = old.clone();
                doc_fields(&mut new);
                if let Some(s) = dobj.slot("Title") {
                    new[s] = title;
                }
                self.write_update(dt, drow, old, new)?;
                self.finish_create(vt, row)
            }
            None => {
                let mut drow = self.new_row(dt);
                doc_fields(&mut drow);
                if let Some(s) = dobj.slot("Title") {
                    drow[s] = title;
                }
                if let (Some(o), Some(vo)) = (dobj.sys.owner, vobj.sys.owner) {
                    drow[o] = row[vo].clone();
                }
                let doc_id = self.finish_create(dt, drow)?;
                row[doc_s] = Value::text(doc_id.as_str());
                set(&mut row, "VersionNumber", Value::text("1"));
                let location = row[loc_s].clone();
                let id = self.finish_create(vt, row)?;
                if !location.is_null() {
                    self.link(&doc_id, location)?;
                }
                Ok(id)
            }
        }
    }

    fn link(&mut self, doc_id: &str, entity: Value) -> Result<(), SfError> {
        let lt = self
            .schema
            .table("ContentDocumentLink")
            .ok_or_else(|| SfError::new("INVALID_SCHEMA", "no ContentDocumentLink"))?;
        let lobj = self.schema.obj(lt);
        let mut row = self.new_row(lt);
        for (n, v) in [
            ("ContentDocumentId", Value::text(doc_id)),
            ("LinkedEntityId", entity),
            ("ShareType", Value::text("I")),
            ("Visibility", Value::text("AllUsers")),
        ] {
            if let Some(s) = lobj.slot(n) {
                row[s] = v;
            }
        }
        self.finish_create(lt, row).map(|_| ())
    }

    /// After an update changed `Title` (slot `title`) of a ContentDocument or of a latest
    /// ContentVersion (`row` of `table`), sets the same Title on the other one, stamped like
    /// any update (so a poll on either object sees the edit). Salesforce shows one title for a
    /// document and its latest version; that an edit of one moves the other's SystemModstamp
    /// is UNCONFIRMED.
    pub(super) fn mirror_title(
        &mut self,
        table: usize,
        row: usize,
        title: usize,
    ) -> Result<(), SfError> {
        let (Some(dt), Some(vt)) = (
            self.schema.table("ContentDocument"),
            self.schema.table("ContentVersion"),
        ) else {
            return Ok(());
        };
        let value = self.data.tables[table].get(row, title).clone();
        let vobj = self.schema.obj(vt);
        let (Some(doc_s), Some(latest_s), Some(vtitle)) = (
            vobj.slot("ContentDocumentId"),
            vobj.slot("IsLatest"),
            vobj.slot("Title"),
        ) else {
            return Ok(());
        };
        let (other_t, other_row, other_title) = if table == dt {
            let doc_id = self.data.tables[dt].id(row).to_string();
            let latest = self.data.tables[vt]
                .find_children(doc_s, &doc_id)
                .unwrap_or_default()
                .into_iter()
                .find(|&r| self.data.tables[vt].get(r, latest_s) == &Value::Bool(true));
            match latest {
                Some(r) => (vt, r, vtitle),
                None => return Ok(()),
            }
        } else {
            if self.data.tables[vt].get(row, latest_s) != &Value::Bool(true) {
                return Ok(());
            }
            let doc_id = self.data.tables[vt]
                .get(row, doc_s)
                .as_str()
                .map(str::to_string);
            let drow = doc_id.and_then(|d| self.data.tables[dt].find(&d));
            match (drow, self.schema.obj(dt).slot("Title")) {
                (Some(r), Some(s)) => (dt, r, s),
                _ => return Ok(()),
            }
        };
        let old = self.data.tables[other_t].row(other_row).to_vec();
        if old[other_title] == value {
            return Ok(());
        }
        let mut new = old.clone();
        new[other_title] = value;
        self.write_update(other_t, other_row, old, new)
    }
}
