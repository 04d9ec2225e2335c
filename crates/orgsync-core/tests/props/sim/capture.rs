//! The engine's capture in the simulation: change events (CDC) or polls (and re-reads of one
//! row), turned into changes and run through `pipeline::process`. Only what the engine can
//! know is read here: the orgs' change logs and rows as a query returns them; the observer's
//! bookkeeping (what a poll cannot see) is kept apart in `observe`.

use orgsync_core::model::{Change, ChangeKind, FieldValue, Fields, GlobalId, OrgId, Origin};
use orgsync_core::pipeline::{Ledger as Lookup, drop_dormant_lookups, process};

use super::Sim;
use super::ledger::ts;
use super::org::{self, EventKind};

impl Sim {
    /// Capture from `org`: up to `max` change events, or one poll.
    pub fn capture(&mut self, org: usize, max: usize) {
        if self.cdc {
            let from = self.ledger.cursor[org];
            let to = from.saturating_add(max).min(self.orgs[org].log.len());
            self.ledger.cursor[org] = to;
            for i in from..to {
                self.capture_event(org, i);
            }
        } else {
            self.poll(org, false);
        }
    }

    /// Whether `org`'s capture has read past position `mark` (see [`Ledger::after_capture`]).
    pub(super) fn caught_up(&self, org: usize, mark: usize) -> bool {
        if self.cdc {
            self.ledger.cursor[org] >= mark
        } else {
            self.ledger.polls[org] > mark
        }
    }

    fn capture_event(&mut self, org: usize, i: usize) {
        let ev = self.orgs[org].log[i].clone();
        if !ev.ours
            && let Some(row) = self.orgs[org].rows.get_mut(&ev.id)
        {
            row.uncaptured -= 1;
        }
        let known = self.ledger.ids.get(&(org, ev.id.clone())).cloned();
        // only CREATE and UNDELETE events carry the (unchanged) global-id field
        let gid = known.or(match ev.kind {
            EventKind::Create | EventKind::Undelete => ev.gid.clone(),
            _ => None,
        });
        let upsert = |fields: &Fields, snapshot| (ChangeKind::Upsert, fields.clone(), snapshot);
        let changes = match ev.kind {
            EventKind::Create => vec![upsert(&ev.fields, true)],
            EventKind::Update if ev.fields.is_empty() => vec![],
            EventKind::Update => vec![upsert(&ev.fields, false)],
            EventKind::Delete => vec![(ChangeKind::Delete, Fields::new(), false)],
            // the restored values are what it holds, not edits
            EventKind::Undelete => vec![(ChangeKind::Undelete, ev.fields.clone(), true)],
        };
        if gid.is_none() && (ev.ours || ev.kind != EventKind::Create) {
            return; // a record never synced (or our write of one we cannot name): nothing to do
        }
        for (kind, fields, snapshot) in changes {
            self.handle(
                org,
                &ev.id,
                gid.clone(),
                kind,
                fields,
                ev.ts,
                snapshot,
                ev.ours,
            );
        }
    }

    /// A poll: every row with a SystemModstamp newer than the last read (`all`: every row, as a
    /// backup poll from scratch would).
    pub fn poll(&mut self, org: usize, all: bool) {
        self.ledger.polls[org] += 1;
        let mark = if all { -1 } else { self.ledger.watermark[org] };
        let mut rows: Vec<(i64, String)> = self.orgs[org]
            .rows
            .iter()
            .filter(|(_, r)| r.modstamp > mark)
            .map(|(id, r)| (r.modstamp, id.clone()))
            .collect();
        rows.sort();
        if let Some((m, _)) = rows.last() {
            self.ledger.watermark[org] = self.ledger.watermark[org].max(*m);
        }
        for (_, id) in rows {
            self.read_row(org, &id, all);
        }
    }

    /// Read one row as a query returns it and ingest it (a poll row or a re-read).
    /// `again`: read even if this SystemModstamp was read before (a re-read).
    pub fn read_row(&mut self, org: usize, id: &str, again: bool) {
        let row = self.orgs[org].rows[id].clone();
        let seen = self.ledger.seen.get(&(org, id.to_string())).copied();
        self.observe(org, id);
        if !again && seen.is_some_and(|s| s >= row.modstamp) {
            return;
        }
        self.ledger.seen.insert((org, id.to_string()), row.modstamp);
        let gid = self
            .ledger
            .ids
            .get(&(org, id.to_string()))
            .cloned()
            .or(row.gid.clone());
        if let Some(g) = &gid
            && self
                .ledger
                .flights
                .iter()
                .any(|f| f.org == org && f.gid == *g)
            && !self.cdc
        {
            // a read while our write there is in flight: no query tells whether it was taken
            // before the write landed or after (nor our value from a user's), and the
            // completion will only say the write landed some time after it was sent
            self.blind.insert(g.clone());
        }
        let mut changes: Vec<(ChangeKind, Fields)> = Vec::new();
        if row.deleted {
            if gid.is_none() {
                return; // deleted before it was ever synced
            }
            // the row in the recycle bin holds the values it had when deleted: edits made just
            // before the delete are news too (merged while deleted, routed nowhere)
            changes.push((ChangeKind::Delete, Fields::new()));
            changes.push((ChangeKind::Upsert, row.fields.clone()));
        } else {
            let known_deleted = gid
                .as_ref()
                .and_then(|g| self.ledger.states.get(g))
                .is_some_and(|s| s.deleted.contains(&self.orgs[org].name));
            if known_deleted {
                changes.push((ChangeKind::Undelete, Fields::new()));
            }
            changes.push((ChangeKind::Upsert, row.fields.clone()));
        }
        for (kind, fields) in changes {
            self.handle(
                org,
                id,
                gid.clone(),
                kind,
                fields,
                row.modstamp,
                true,
                false,
            );
        }
    }

    /// Observer: a query read this row; what it cannot have seen precisely: an edit older
    /// than the row's SystemModstamp (a poll stamps it with the row's time), an edit back to
    /// the value the ledger believes the org holds (no change to see), a life event followed
    /// by another change (or undone) before the read.
    fn observe(&mut self, org: usize, id: &str) {
        let gid = self.orgs[org].gid_of(id);
        let name = self.orgs[org].name.clone();
        let cdc = self.cdc;
        let row = self.orgs[org].rows.get_mut(id).expect("row");
        if !cdc {
            row.uncaptured = 0;
        }
        let modstamp = row.modstamp;
        let unseen: Vec<(String, i64)> = std::mem::take(&mut row.unseen).into_iter().collect();
        let life = row.unseen_life.take();
        let missed = std::mem::take(&mut row.missed_life);
        let row = row.clone();
        let state = self.ledger.states.get(&gid);
        let shadow = state.and_then(|s| s.shadows.get(&name));
        for (field, t) in unseen {
            let mut f = Fields::new();
            f.insert(field.clone(), row.fields[&field].clone());
            for (k, v) in self.canonical(org, row.object, &f) {
                let looks_unchanged = shadow
                    .and_then(|s| s.get(&k))
                    .is_some_and(|s| orgsync_core::echo::same_value(&s.value, &v));
                // a read showing the agreed value cannot tell a user's edit from our write,
                // unless the org was known to hold another value before the edit (our write's
                // in-flight and lost completions are judged apart: `blind`, `lost`)
                let known_other_before = shadow
                    .and_then(|s| s.get(&k))
                    .is_some_and(|s| !orgsync_core::echo::same_value(&s.value, &v) && s.at < ts(t));
                let looks_ours = !known_other_before
                    && state
                        .is_some_and(|s| orgsync_core::echo::same_value(s.agreed_value(&k), &v));
                if !cdc && (t < modstamp || looks_unchanged || looks_ours) {
                    self.imprecise.insert((gid.clone(), k));
                }
            }
        }
        if !cdc && (missed || life.is_some_and(|t| t < modstamp)) {
            self.imprecise.insert((gid, "life".into()));
        }
    }

    /// Process one change and queue its items.
    #[allow(clippy::too_many_arguments)]
    fn handle(
        &mut self,
        org: usize,
        id: &str,
        gid: Option<GlobalId>,
        kind: ChangeKind,
        fields: Fields,
        at: i64,
        snapshot: bool,
        ours: bool,
    ) {
        let state = gid
            .as_ref()
            .and_then(|g| self.ledger.states.get(g))
            .cloned()
            .unwrap_or_default();
        let o = &self.orgs[org];
        let object = o.rows[id].object;
        let mut fields = fields;
        if snapshot && !ours {
            // a lookup Salesforce cleared when its parent was deleted is no edit; as the
            // engine does (capture/dormant.rs), the org says where the parent stands (one
            // queryAll), and a row read empty next to a parent live there is read again: set
            // again → no edit, still empty → someone emptied it
            let states = &self.ledger.states;
            let local = &self.ledger.local;
            let set_now = o.rows[id]
                .fields
                .get(org::LOOKUP)
                .is_some_and(|v| !matches!(v, FieldValue::Null));
            drop_dormant_lookups(
                &self.settings.syncs[object],
                o.source_side,
                &state,
                &o.name,
                &mut fields,
                ts(at),
                &|g| match local.get(&(org, g.clone())).and_then(|l| o.rows.get(l)) {
                    Some(p) if !p.deleted => set_now,
                    Some(_) => true,
                    None => states
                        .get(g)
                        .is_some_and(|s| s.is_deleted() || s.deleted.contains(&o.name)),
                },
            );
        }
        let change = Change {
            org: o.name.clone(),
            object: o.objects[object].name.to_string(),
            record_id: id.to_string(),
            global_id: gid.clone(),
            fields,
            commit_ts: ts(at),
            origin: Origin {
                org: o.name.clone(),
                client_tag: ours.then(|| self.settings.engine.client_tag.clone()),
                via_push_from: None,
            },
            kind,
            txn_id: format!("{}:{id}:{at}:{kind:?}", o.name),
            snapshot,
        };
        let org_ids: Vec<(orgsync_core::config::OrgName, OrgId)> = self
            .orgs
            .iter()
            .map(|o| (o.name.clone(), o.id.clone()))
            .collect();
        let org_id = |n: &orgsync_core::config::OrgName| {
            org_ids.iter().find(|(o, _)| o == n).map(|(_, i)| i.clone())
        };
        let ids = &self.ledger.ids;
        let gid_of = |n: &orgsync_core::config::OrgName, _: &str, local: &str| {
            let i = org_ids.iter().position(|(o, _)| o == n)?;
            ids.get(&(i, local.to_string())).cloned()
        };
        let lookup = Lookup {
            org_id: &org_id,
            global_id_of: &gid_of,
        };
        let out = process(
            &self.settings,
            &self.settings.syncs[object],
            &change,
            &state,
            lookup,
        )
        .expect("processable");
        let Some(g) = out.global_id.clone().or(gid) else {
            return;
        };
        if self.trace {
            let items: Vec<String> = out
                .items
                .iter()
                .map(|i| format!("{}:{:?}", i.target, i.op))
                .collect();
            eprintln!(
                "  capture {} {id} {kind:?} {:?} @{at} ours={ours} snap={snapshot} -> {:?} {items:?}",
                change.org, change.fields, out.dropped
            );
        }
        let revived = state.is_deleted() && !out.state.is_deleted();
        self.ledger.ids.insert((org, id.to_string()), g.clone());
        self.ledger.local.insert((org, g.clone()), id.to_string());
        self.ledger.objects.insert(g.clone(), object);
        if object == 0 && (revived || kind == ChangeKind::Undelete) {
            // revived: every org; restored there: that org's lookups came back
            let orgs: Vec<usize> = if revived {
                (0..self.orgs.len()).collect()
            } else {
                vec![org]
            };
            self.wake_children(&g, &orgs);
        }
        self.ledger.states.insert(g.clone(), out.state);
        for item in out.items {
            let t = self.org_index(&item.target);
            let due = self.ledger.tick;
            self.ledger.pending.entry((t, g.clone())).or_insert(due);
        }
    }

    /// A parent came back: `orgs` are queued for each child pointing at it, by agreement or
    /// in that org's copy. A child synced while the parent was deleted got no lookup, and
    /// Salesforce restores only the lookups it cleared, invisibly (a restored lookup may be
    /// one the others have emptied since). `decide` then writes what a copy lacks.
    pub(super) fn wake_children(&mut self, parent: &GlobalId, orgs: &[usize]) {
        let key = org::LOOKUP.to_ascii_lowercase();
        let points = FieldValue::Text(parent.to_string());
        let names: Vec<_> = self.orgs.iter().map(|o| o.name.clone()).collect();
        let mut wake = Vec::new();
        for (g, st) in &self.ledger.states {
            if self.ledger.objects.get(g) != Some(&1) {
                continue;
            }
            for &t in orgs {
                let held = st.shadows.get(&names[t]).and_then(|s| s.get(&key));
                if st.agreed_value(&key) == &points || held.is_some_and(|h| h.value == points) {
                    wake.push((t, g.clone()));
                }
            }
        }
        let due = self.ledger.tick;
        for k in wake {
            self.ledger.pending.entry(k).or_insert(due);
        }
    }

    pub fn org_index(&self, name: &orgsync_core::config::OrgName) -> usize {
        self.orgs.iter().position(|o| &o.name == name).expect("org")
    }
}
