//! The Sync Monitor's "Add object" and its Test over the engine's read-only calls
//! (`orgsync_engine::catalog`, `orgsync_engine::check`), each on its own logins so the running
//! engine's circuits are untouched; and `orgsync sync add`, the same from the command line.

use std::sync::Arc;

use orgsync_core::Settings;
use orgsync_engine::EngineOptions;
use orgsync_engine::catalog;
use orgsync_monitor::catalog::{Answer, Catalog, Vetting};

/// "Add object" against the configured orgs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Orgs;

impl Catalog for Orgs {
    fn objects(&self, settings: Arc<Settings>) -> Answer<Vec<String>> {
        Box::pin(async move {
            catalog::addable_objects(&settings, &EngineOptions::default())
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn fields(&self, settings: Arc<Settings>, object: String) -> Answer<Vec<String>> {
        Box::pin(async move {
            catalog::addable_fields(&settings, &EngineOptions::default(), &object)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn vet(&self, settings: Arc<Settings>, object: String, fields: Vec<String>) -> Answer<Vetting> {
        Box::pin(async move {
            vet(&settings, &object, &fields)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Vet `object` with `fields` in every org (for the dashboard and `orgsync sync add`).
pub async fn vet(
    settings: &Settings,
    object: &str,
    fields: &[String],
) -> Result<Vetting, orgsync_engine::EngineError> {
    let v = catalog::vet_addition(settings, &EngineOptions::default(), object, fields).await?;
    Ok(Vetting {
        capture: v.capture(),
        capture_text: v.capture_text(),
        problems: v.problems,
    })
}

/// The settings page's Test: the read-only `check` of one org and object in the settings in
/// effect (its own login, so the engine's circuit is untouched).
pub fn tester() -> orgsync_monitor::Tester {
    Arc::new(move |config: Arc<Settings>, org: String, object: String| {
        Box::pin(async move {
            let mut one = (*config).clone();
            one.orgs.retain(|name, _| name.as_str() == org);
            one.syncs.retain(|s| {
                s.object.eq_ignore_ascii_case(&object)
                    || s.target_object.eq_ignore_ascii_case(&object)
            });
            if one.orgs.is_empty() || one.syncs.is_empty() {
                return Err(format!("no sync of {object} in {org}"));
            }
            let report = orgsync_engine::check(&one, &EngineOptions::default()).await;
            let text = report.to_string().trim_end().to_string();
            match report.ok() {
                true => Ok(text),
                false => Err(text),
            }
        })
    })
}
