//! The engine's worker in the simulation: claim due items for one org, `write::decide` each
//! from the ledger as it is then, write to the org (which may refuse, fail with a lock
//! error, or land while the completion is lost), and record completions.

use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::merge::RecordState;
use orgsync_core::model::{FieldValue, Fields, GlobalId};
use orgsync_core::write::{Held, ParentState, Write, carries, decide};

use super::Sim;
use super::ledger::{Flight, Landed, RETRY_AFTER, ts};
use super::org::Refused;

impl Sim {
    /// A worker claims up to `max` items for `org` (`any`: due or not) and decides each write.
    pub fn claim(&mut self, org: usize, max: usize, any: bool) {
        let tick = self.ledger.tick;
        let busy: Vec<GlobalId> = self
            .ledger
            .flights
            .iter()
            .filter(|f| f.org == org)
            .map(|f| f.gid.clone())
            .collect();
        let keys: Vec<(usize, GlobalId)> = self
            .ledger
            .pending
            .iter()
            .filter(|((t, g), due)| *t == org && (any || **due <= tick) && !busy.contains(g))
            .map(|(k, _)| k.clone())
            .filter(|k| {
                self.ledger
                    .after_capture
                    .get(k)
                    .is_none_or(|m| self.caught_up(org, *m))
            })
            .take(max)
            .collect();
        for key in keys {
            self.ledger.pending.remove(&key);
            let gid = key.1;
            let local_id = self.ledger.local.get(&(org, gid.clone())).cloned();
            let write = self.decide_for(org, &gid);
            if self.trace {
                eprintln!("  claim {} {gid} -> {write:?}", self.orgs[org].name);
            }
            let waits = match &write {
                Write::Update { parents, .. }
                | Write::Create { parents, .. }
                | Write::Undelete { parents, .. } => !parents.is_empty(),
                _ => false,
            };
            if waits {
                // a parent has not landed there yet: the item waits (Pending)
                self.requeue(org, gid, RETRY_AFTER);
                continue;
            }
            let user_commits = local_id
                .as_ref()
                .and_then(|l| self.orgs[org].rows.get(l))
                .map(|r| {
                    let cleared = usize::from(self.orgs[org].cleared_unseen(r));
                    (r.uncaptured + cleared, r.user_commits)
                });
            self.ledger.flights.push(Flight {
                org,
                gid,
                write,
                sent: self.now,
                landed: None,
                user_commits,
            });
        }
    }

    /// The org receives the claimed writes of `org`.
    pub fn land(&mut self, org: usize, locks: u8) {
        let mut i = 0;
        let mut bit = 0;
        while i < self.ledger.flights.len() {
            let f = &self.ledger.flights[i];
            if f.org != org || f.landed.is_some() {
                i += 1;
                continue;
            }
            let lock = locks & (1 << (bit % 8)) != 0;
            bit += 1;
            if lock && !matches!(f.write, Write::Nothing) {
                self.stats.lock_errors += 1;
                let f = self.ledger.flights.remove(i);
                self.requeue(org, f.gid, RETRY_AFTER);
                continue;
            }
            let f = f.clone();
            match self.perform(&f) {
                Ok(landed) => {
                    self.ledger.flights[i].landed = Some(landed);
                    i += 1;
                }
                Err((refused, id)) => {
                    // the target is not what the ledger believed: read it, then try again
                    if self.trace {
                        eprintln!("  refused {refused:?} {} {id}", self.orgs[org].name);
                    }
                    self.stats.refusals += 1;
                    self.ledger.flights.remove(i);
                    if self.cdc || refused == Refused::ParentDeleted {
                        // the change stream tells the delete or undelete with its own time
                        // (a read would stamp it with the row's SystemModstamp, later than
                        // the event when edits followed: an undelete would beat a newer
                        // delete): try again once the stream has passed this refusal (a
                        // parent's delete, likewise, once a capture has seen it)
                        let mark = if self.cdc {
                            self.orgs[org].log.len()
                        } else {
                            self.ledger.polls[org]
                        };
                        self.ledger.after_capture.insert((org, f.gid.clone()), mark);
                    } else {
                        self.read_row(org, &id, true);
                    }
                    self.requeue(org, f.gid, 0);
                }
            }
        }
    }

    fn requeue(&mut self, org: usize, gid: GlobalId, after: u64) {
        let due = self.ledger.tick + after;
        let d = self.ledger.pending.entry((org, gid)).or_insert(due);
        *d = (*d).min(due);
    }

    /// What a payload writes to `org` (lookups resolved to the parent's local id there) and
    /// what that org then holds in merge keys (lookups as the parent's global id).
    fn split(&self, org: usize, object: usize, payload: &Payload) -> (Fields, Fields) {
        let sync = &self.settings.syncs[object];
        let (mut to_org, mut held) = (Fields::new(), Fields::new());
        for (k, v) in payload {
            if k.eq_ignore_ascii_case(&sync.global_id_field) {
                continue;
            }
            match v {
                PayloadValue::Value { value } => {
                    to_org.insert(k.clone(), value.clone());
                    held.insert(k.clone(), value.clone());
                }
                PayloadValue::Reference { global_id, .. } => {
                    if let Some(l) = self.ledger.local.get(&(org, global_id.clone())) {
                        to_org.insert(k.clone(), FieldValue::Text(l.clone()));
                        held.insert(k.clone(), FieldValue::Text(global_id.to_string()));
                    }
                }
                PayloadValue::MatchByName { .. } => {}
            }
        }
        let held = self.keys(org, object, &held);
        (to_org, held)
    }

    /// Write one decided item to its org.
    fn perform(&mut self, f: &Flight) -> Result<Landed, (Refused, String)> {
        let org = f.org;
        let object = self.object_of(&f.gid);
        let landed = match &f.write {
            Write::Nothing => Landed::Nothing,
            Write::Update {
                local_id, payload, ..
            } => {
                let (v, held) = self.split(org, object, payload);
                self.update(f, local_id, &v)?;
                Landed::Written {
                    local_id: local_id.clone(),
                    fields: held,
                    deleted: None,
                }
            }
            Write::Create { payload, .. } => {
                let (v, mut held) = self.split(org, object, payload);
                let id = match self.orgs[org].live_with_gid(&f.gid) {
                    Some(id) => {
                        self.update(f, &id, &v)?;
                        id
                    }
                    None => {
                        let id = self.new_id(org, object);
                        let t = self.write_ts();
                        self.stats.writes += 1;
                        self.orgs[org]
                            .create(&id, object, &v, Some(f.gid.clone()), t, true)
                            .map_err(|r| (r, id.clone()))?;
                        // a new copy holds nothing in the fields not written (a dormant
                        // lookup, a field whose direction does not reach there)
                        for f in &self.settings.syncs[object].fields {
                            held.entry(f.source.to_ascii_lowercase())
                                .or_insert(FieldValue::Null);
                        }
                        id
                    }
                };
                Landed::Written {
                    local_id: id,
                    fields: held,
                    deleted: Some(false),
                }
            }
            Write::Delete { local_id } => {
                let id = local_id
                    .clone()
                    .or_else(|| self.orgs[org].live_with_gid(&f.gid));
                match id {
                    None => Landed::Nothing,
                    Some(id) => {
                        let t = self.write_ts();
                        self.stats.writes += 1;
                        self.orgs[org]
                            .delete(&id, t, true)
                            .map_err(|r| (r, id.clone()))?;
                        Landed::Written {
                            local_id: id,
                            fields: Fields::new(),
                            deleted: Some(true),
                        }
                    }
                }
            }
            Write::Undelete { local_id, then, .. } => {
                let t = self.write_ts();
                self.stats.writes += 1;
                self.orgs[org]
                    .undelete(local_id, t, true)
                    .map_err(|r| (r, local_id.clone()))?;
                let (v, held) = self.split(org, object, then);
                if carries(&self.settings.syncs[object], then) {
                    self.update(f, local_id, &v)?;
                }
                Landed::Written {
                    local_id: local_id.clone(),
                    fields: held,
                    deleted: Some(false),
                }
            }
        };
        if self.trace {
            eprintln!("  landed {} {} {:?}", self.orgs[org].name, f.gid, landed);
        }
        Ok(landed)
    }

    /// Update a row; count a write that changes nothing.
    fn update(&mut self, f: &Flight, id: &str, values: &Fields) -> Result<(), (Refused, String)> {
        let t = self.write_ts();
        self.stats.writes += 1;
        let changed = self.orgs[f.org]
            .update(id, values, t, true)
            .map_err(|r| (r, id.to_string()))?;
        let overwritten = std::mem::take(&mut self.orgs[f.org].overwritten_unseen);
        // change events still tell of an edit we overwrote; a poll never sees it
        for (row, field) in overwritten.into_iter().filter(|_| !self.cdc) {
            let mut one = Fields::new();
            one.insert(field, orgsync_core::model::FieldValue::Null);
            let gid = self.orgs[f.org].gid_of(&row);
            let object = self.orgs[f.org].rows[&row].object;
            for k in self.keys(f.org, object, &one).keys() {
                self.imprecise.insert((gid.clone(), k.clone()));
            }
        }
        if !changed {
            let row = &self.orgs[f.org].rows[id];
            let dirty = row.uncaptured > 0
                || f.user_commits
                    .is_some_and(|(u, c)| u > 0 || c != row.user_commits);
            // explained: a user's change it could not know of, a lost completion, or (polling)
            // a read during one of our writes, which the completion cannot be ordered with
            if dirty || self.lost.contains(&(f.org, f.gid.clone())) || self.blind.contains(&f.gid) {
                self.stats.explained_echoes += 1;
            } else {
                self.stats
                    .echo_writes
                    .push(format!("{} {id} {values:?} @{t}", self.orgs[f.org].name));
            }
        }
        Ok(())
    }

    /// The worker records the landed writes of `org` (bit i of `lose`: the i-th is lost).
    pub fn complete(&mut self, org: usize, lose: u8) {
        let mut bit = 0;
        let mut i = 0;
        while i < self.ledger.flights.len() {
            if self.ledger.flights[i].org != org || self.ledger.flights[i].landed.is_none() {
                i += 1;
                continue;
            }
            let f = self.ledger.flights.remove(i);
            let lost = lose & (1 << (bit % 8)) != 0;
            bit += 1;
            let Some(Landed::Written {
                local_id,
                fields,
                deleted,
            }) = f.landed
            else {
                continue;
            };
            if lost {
                if self.trace {
                    eprintln!("  completion lost {} {}", self.orgs[org].name, f.gid);
                }
                self.stats.lost_completions += 1;
                self.lost.insert((org, f.gid.clone()));
                let mark = if self.cdc {
                    self.orgs[org].log.len()
                } else {
                    self.ledger.polls[org]
                };
                self.ledger.after_capture.insert((org, f.gid.clone()), mark);
                self.requeue(org, f.gid, RETRY_AFTER);
                continue;
            }
            let restored_parent =
                matches!(f.write, Write::Undelete { .. }) && self.object_of(&f.gid) == 0;
            let name = self.orgs[org].name.clone();
            let state = self.ledger.states.entry(f.gid.clone()).or_default();
            // a capture while the write was in flight stated something newer than the send:
            // whether the write landed before or after it, only the target's next capture
            // tells (our own change event, the next poll); decide again only after that
            let sent = ts(f.sent);
            let shadow = state.shadows.get(&name);
            let ambiguous = fields
                .keys()
                .any(|k| shadow.and_then(|s| s.get(k)).is_some_and(|s| s.at > sent));
            if let Some(d) = deleted {
                // in an org captured by reads the engine reads back when its delete landed
                // (`SystemModstamp` of the copy still deleted), so reading that delete later
                // is no news
                let at = match self.orgs[org].rows.get(&local_id) {
                    Some(r) if d && r.deleted && !self.cdc => ts(r.modstamp).max(sent),
                    _ => sent,
                };
                state.set_deleted_at(&name, d, at);
            }
            if !fields.is_empty() {
                state.record_written(&name, &fields, sent);
            }
            if ambiguous {
                let mark = if self.cdc {
                    self.orgs[org].log.len()
                } else {
                    self.ledger.polls[org]
                };
                self.ledger.after_capture.insert((org, f.gid.clone()), mark);
            }
            self.ledger
                .ids
                .insert((org, local_id.clone()), f.gid.clone());
            self.ledger.local.insert((org, f.gid.clone()), local_id);
            // the write was decided from the state at claim time: if the agreed state moved on
            // meanwhile, or it landed over a change made there since, the target is still
            // behind, and nothing else may queue it
            if self.decide_for(org, &f.gid) != Write::Nothing {
                self.requeue(org, f.gid.clone(), 0);
            }
            if restored_parent {
                // our undelete restored the lookups Salesforce had cleared there
                self.wake_children(&f.gid, &[org]);
            }
        }
    }

    /// `write::decide` for (org, global id) from the ledger as it is now.
    fn decide_for(&self, org: usize, gid: &GlobalId) -> Write {
        let state = self.ledger.states.get(gid).cloned().unwrap_or_default();
        let name = &self.orgs[org].name;
        let local_id = self.ledger.local.get(&(org, gid.clone()));
        let held = Held {
            local_id: local_id.map(String::as_str),
            deleted: state.deleted.contains(name),
            shadow: state.shadows.get(name),
        };
        // a parent deleted by agreement: dormant; landed where its live copy is known there;
        // else missing (the item waits for it)
        let parent = |p: &GlobalId| {
            let st = self.ledger.states.get(p);
            if st.is_some_and(RecordState::is_deleted) {
                ParentState::Deleted
            } else if self.ledger.local.contains_key(&(org, p.clone()))
                && !st.is_some_and(|s| s.deleted.contains(name))
            {
                ParentState::Landed
            } else {
                ParentState::Missing
            }
        };
        let sync = &self.settings.syncs[self.object_of(gid)];
        decide(&self.settings, sync, name, gid, &state, held, &parent).expect("decidable")
    }

    pub fn object_of(&self, gid: &GlobalId) -> usize {
        self.ledger.objects.get(gid).copied().unwrap_or(0)
    }
}
