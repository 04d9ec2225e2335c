//! `undelete(ids[])`: restores records from the recycle bin under their original Id.

use super::reader::ResultItem;
use crate::client::Client;
use crate::error::SfError;
use crate::rest::collections::ItemResult;
use crate::rest::records::Saved;
use quick_xml::escape::escape;

impl ResultItem {
    fn into_item(self, org: &str) -> ItemResult {
        if self.success {
            Ok(Saved {
                id: self.id.unwrap_or_default(),
                created: None,
            })
        } else {
            Err(SfError::Record {
                org: org.to_owned(),
                errors: self.errors,
            })
        }
    }
}

impl Client {
    /// Restores records from the recycle bin through the SOAP partner API's `undelete()`
    /// (REST has no undelete): each comes back under its original Id, with the records its
    /// delete cascaded to and the lookups the delete cleared, and Salesforce publishes an
    /// `UNDELETE` change event whose `changeOrigin` carries our client tag.
    ///
    /// One result per id, in order, like the collections calls: `Ok(Saved { id, created: None })`
    /// (the 18-character id), or `Err(SfError::Record)` with Salesforce's errors. A record that
    /// cannot come back under its Id (live already, emptied from the bin, unknown) answers an
    /// error for which [`SfError::not_in_recycle_bin`] is true: write it again instead. Calls of
    /// at most 200 ids (one API call each); a call that fails as a whole reports its error for
    /// each of its ids, and after a quota or auth failure no further call is sent.
    pub async fn undelete_many(&self, ids: &[String]) -> Vec<ItemResult> {
        self.in_chunks(ids, |chunk| async move {
            let body: String = chunk
                .iter()
                .map(|id| format!("<urn:ids>{}</urn:ids>", escape(id.as_str())))
                .collect();
            let answer = self
                .soap_call("undelete", &format!("<urn:undelete>{body}</urn:undelete>"))
                .await?;
            if answer.results.len() != chunk.len() {
                return Err(self.count_mismatch(chunk.len(), answer.results.len()));
            }
            Ok(answer
                .results
                .into_iter()
                .map(|r| r.into_item(self.org()))
                .collect())
        })
        .await
    }
}
