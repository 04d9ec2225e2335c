//! Nothing breaks silently: a mapped field that disappears from an org, or that the
//! integration user can no longer write there, puts that org's sync in Error with the field
//! and the org named, instead of failing records one by one under a status that says Active.
//!
//! Found two ways: writes that fail with a field error (`INVALID_FIELD`,
//! `INVALID_FIELD_FOR_INSERT_UPDATE`) make the object be described in that org at the next
//! tick; and every object is described in every org every [`FULL_EVERY`] (one describe call
//! per org and object — the only calls beyond polls and writes at rest). A sync in Error this
//! way is described again each tick, so a fixed field turns it Active within [`TICK`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orgsync_store::{ItemFilter, ItemState, Page, Store};
use tokio::sync::watch;

use crate::leg::Legs;
use crate::orgs::Orgs;
use crate::status::StatusWriter;

/// How often failed writes are looked at (and broken syncs described again).
pub(crate) const TICK: Duration = Duration::from_secs(30);
/// How often every object is described in every org.
pub(crate) const FULL_EVERY: Duration = Duration::from_secs(15 * 60);
/// Salesforce's codes for a write naming a field the org does not have or will not write.
const FIELD_ERRORS: &[&str] = &["INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE"];

/// What a describe says about the mapped `fields` of `object` in `org` (pure): None when all
/// exist and are createable and updateable, else one sentence naming each broken field.
/// `field(name)` gives (createable, updateable) of a field the describe lists.
pub(crate) fn problem(
    org: &str,
    object: &str,
    fields: &[String],
    field: impl Fn(&str) -> Option<(bool, bool)>,
) -> Option<String> {
    let mut broken = Vec::new();
    for f in fields {
        match field(f) {
            None => broken.push(format!(
                "field {object}.{f} is missing in {org} (deleted, renamed or hidden from the integration user)"
            )),
            Some((c, u)) if !(c && u) => broken.push(format!(
                "field {object}.{f} in {org} is no longer writable by the integration user (field-level security)"
            )),
            Some(_) => {}
        }
    }
    (!broken.is_empty()).then(|| broken.join("; "))
}

/// The watcher (one task).
pub(crate) struct SchemaWatch<S> {
    pub store: Arc<S>,
    pub legs: Arc<Legs>,
    pub orgs: Arc<Orgs>,
    pub status: Arc<StatusWriter<S>>,
    /// [`TICK`] unless the caller chose otherwise.
    pub tick: Duration,
}

impl<S: Store> SchemaWatch<S> {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut seen_failed = 0i64;
        let mut last_full = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.tick) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            let full = last_full.elapsed() >= FULL_EVERY;
            if full {
                last_full = tokio::time::Instant::now();
            }
            let mut due: HashSet<usize> = HashSet::new();
            // writes refused for a field since the last look
            let filter = ItemFilter {
                state: Some(ItemState::Failed),
                ..ItemFilter::default()
            };
            loop {
                let page = Page {
                    after: seen_failed,
                    limit: 500,
                };
                let Ok(items) = self.store.items(&filter, page).await else {
                    break;
                };
                let Some(last) = items.last() else { break };
                seen_failed = last.id.0;
                for it in &items {
                    let field_error = it
                        .last_error
                        .as_ref()
                        .is_some_and(|e| FIELD_ERRORS.contains(&e.code.as_str()));
                    if field_error && let Some(i) = self.leg_index(&it.work.target, &it.work.object)
                    {
                        due.insert(i);
                    }
                }
            }
            for (i, leg) in self.legs.all().iter().enumerate() {
                if full || self.status.schema_problem(leg).is_some() {
                    due.insert(i);
                }
            }
            for i in due {
                let Some(leg) = self.legs.all().get(i) else {
                    continue;
                };
                let Some(conn) = self.orgs.get(&leg.org).and_then(|o| o.conn()) else {
                    continue;
                };
                conn.client.clear_describe_cache();
                let found = match conn.client.describe(&leg.object).await {
                    Ok(d) => problem(leg.org.as_str(), &leg.object, &leg.fields, |f| {
                        d.field(f).map(|fd| (fd.createable, fd.updateable))
                    }),
                    // the object itself: unreachable orgs and refused logins have their own
                    // status; a describe that fails otherwise says so
                    Err(e) if e.kind() != sfclient::ErrorKind::Permanent => continue,
                    Err(e) => Some(format!(
                        "cannot describe {} in {}: {e}",
                        leg.object, leg.org
                    )),
                };
                if self.status.set_schema_problem(leg, found.clone()) {
                    match &found {
                        Some(p) => {
                            tracing::warn!(leg = %leg, problem = %p, "sync in Error: schema")
                        }
                        None => tracing::info!(leg = %leg, "schema problem fixed"),
                    }
                    self.status.refresh_org(&leg.org).await;
                }
            }
        }
    }

    fn leg_index(&self, org: &orgsync_core::OrgName, object: &str) -> Option<usize> {
        self.legs
            .all()
            .iter()
            .position(|l| l.org == *org && l.object.eq_ignore_ascii_case(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_unwritable_fields_are_named_with_the_org() {
        let fields = vec!["Name".to_string(), "Legacy__c".into(), "Gone__c".into()];
        let p = problem("b", "Account", &fields, |f| match f {
            "Name" => Some((true, true)),
            "Legacy__c" => Some((true, false)),
            _ => None,
        });
        assert_eq!(
            p.as_deref(),
            Some(
                "field Account.Legacy__c in b is no longer writable by the integration user (field-level security); \
                 field Account.Gone__c is missing in b (deleted, renamed or hidden from the integration user)"
            )
        );
        assert_eq!(
            problem("b", "Account", &fields[..1], |_| Some((true, true))),
            None
        );
    }
}
