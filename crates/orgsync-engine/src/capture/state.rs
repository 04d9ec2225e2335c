//! The merge state of a set of records, assembled from the ledger: agreed versions of the
//! sync's (source-side) object plus every org's record row (shadow, deleted flag). One query
//! per org per chunk, never one per record.

use std::collections::HashMap;

use orgsync_core::GlobalId;
use orgsync_core::config::SyncSettings;
use orgsync_core::mapping::object_name;
use orgsync_core::merge::RecordState;
use orgsync_store::Store;

use crate::error::EngineError;
use crate::shared::Shared;

/// Merge states by global id (missing ids get the default, empty state).
pub(crate) async fn load<S: Store>(
    sh: &Shared<S>,
    sync: &SyncSettings,
    gids: &[GlobalId],
) -> Result<HashMap<GlobalId, RecordState>, EngineError> {
    let mut out: HashMap<GlobalId, RecordState> = HashMap::new();
    for row in sh.store.agreed(&sync.object, gids).await? {
        let st = out.entry(row.global_id).or_default();
        st.agreed = row.fields;
        st.life = row.life;
    }
    for org in sh.settings.topology.orgs() {
        let object = object_name(sync, sh.source_side(&org));
        for row in sh.store.records(&org, object, gids).await? {
            let st = out.entry(row.global_id).or_default();
            if row.deleted {
                st.deleted.insert(org.clone());
            }
            st.shadows.insert(org.clone(), row.shadow);
        }
    }
    Ok(out)
}
