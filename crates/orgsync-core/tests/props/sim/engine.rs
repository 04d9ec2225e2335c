//! The engine's part of the simulation: the ledger, capture (CDC events or polls, and re-reads
//! of one row), `pipeline::process`, and the worker (claim → `write::decide` → write →
//! completion). Only what the engine can know is read here: the orgs' change logs and rows as
//! a query returns them, never the observer's bookkeeping.

use std::collections::BTreeMap;

use orgsync_core::mapping::payload_values;
use orgsync_core::merge::RecordState;
use orgsync_core::model::{Change, ChangeKind, Fields, GlobalId, OrgId, Origin};
use orgsync_core::pipeline::{Ledger as Lookup, process};
use orgsync_core::write::{Held, ParentState, Write, carries, decide};

use super::Sim;
use super::org::{EventKind, Refused};

/// How many engine ticks a failed or abandoned item waits before it is due again.
const RETRY_AFTER: u64 = 3;

/// What a landed write did, for its completion.
#[derive(Debug, Clone)]
pub enum Landed {
    Nothing,
    Written {
        local_id: String,
        /// Merge keys and values written.
        fields: Fields,
        /// What the write proves about deletion there.
        deleted: Option<bool>,
    },
}

/// A claimed item.
#[derive(Debug, Clone)]
pub struct Flight {
    pub org: usize,
    pub gid: GlobalId,
    pub write: Write,
    /// Engine clock when the write was sent.
    pub sent: i64,
    pub landed: Option<Landed>,
    /// Observer: (uncaptured user changes, user commits) of the target row when claimed.
    user_commits: Option<(usize, usize)>,
}

/// The ledger.
#[derive(Debug, Default)]
pub struct Ledger {
    pub states: BTreeMap<GlobalId, RecordState>,
    pub ids: BTreeMap<(usize, String), GlobalId>,
    pub local: BTreeMap<(usize, GlobalId), String>,
    /// Queued items per (target, global id), merged while they wait: when they are due.
    pub pending: BTreeMap<(usize, GlobalId), u64>,
    pub flights: Vec<Flight>,
    /// CDC: events consumed per org.
    pub cursor: Vec<usize>,
    /// Poll: the newest SystemModstamp read per org.
    pub watermark: Vec<i64>,
    /// The newest SystemModstamp read per (org, row).
    pub seen: BTreeMap<(usize, String), i64>,
    /// Polls made per org.
    pub polls: Vec<usize>,
    /// Items whose earlier write may have landed unrecorded (lost completion): not claimed
    /// again before the target's capture has read past that write (CDC position, or polls).
    pub after_capture: BTreeMap<(usize, GlobalId), usize>,
    /// Engine ticks (one per action).
    pub tick: u64,
}

impl Ledger {
    pub fn new(n: usize) -> Ledger {
        Ledger {
            cursor: vec![0; n],
            polls: vec![0; n],
            watermark: vec![-1; n],
            ..Ledger::default()
        }
    }
}

pub fn ts(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(1_700_000_000_000 + ms)
        .expect("valid time")
}

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
    fn caught_up(&self, org: usize, mark: usize) -> bool {
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
            for (k, v) in self.keys(org, &f) {
                let looks_unchanged = shadow
                    .and_then(|s| s.get(&k))
                    .is_some_and(|s| orgsync_core::echo::same_value(&s.value, &v));
                // a read showing the agreed value cannot tell a user's edit from our write
                let looks_ours =
                    state.is_some_and(|s| orgsync_core::echo::same_value(s.agreed_value(&k), &v));
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
        let o = &self.orgs[org];
        let change = Change {
            org: o.name.clone(),
            object: o.object.to_string(),
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
        let state = gid
            .as_ref()
            .and_then(|g| self.ledger.states.get(g))
            .cloned()
            .unwrap_or_default();
        let org_ids: Vec<(orgsync_core::config::OrgName, OrgId)> = self
            .orgs
            .iter()
            .map(|o| (o.name.clone(), o.id.clone()))
            .collect();
        let org_id = |n: &orgsync_core::config::OrgName| {
            org_ids.iter().find(|(o, _)| o == n).map(|(_, i)| i.clone())
        };
        let lookup = Lookup {
            org_id: &org_id,
            global_id_of: &|_, _, _| None,
        };
        let out = process(
            &self.settings,
            &self.settings.syncs[0],
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
        self.ledger.ids.insert((org, id.to_string()), g.clone());
        self.ledger.local.insert((org, g.clone()), id.to_string());
        self.ledger.states.insert(g.clone(), out.state);
        for item in out.items {
            let t = self.org_index(&item.target);
            let due = self.ledger.tick;
            self.ledger.pending.entry((t, g.clone())).or_insert(due);
        }
    }

    pub fn org_index(&self, name: &orgsync_core::config::OrgName) -> usize {
        self.orgs.iter().position(|o| &o.name == name).expect("org")
    }

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
            let user_commits = local_id
                .as_ref()
                .and_then(|l| self.orgs[org].rows.get(l))
                .map(|r| (r.uncaptured, r.user_commits));
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
                    if self.cdc {
                        // the change stream tells the delete or undelete with its own time
                        // (a read would stamp it with the row's SystemModstamp, later than
                        // the event when edits followed: an undelete would beat a newer
                        // delete): try again once the stream has passed this refusal
                        let mark = self.orgs[org].log.len();
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

    /// Write one decided item to its org.
    fn perform(&mut self, f: &Flight) -> Result<Landed, (Refused, String)> {
        let org = f.org;
        let gid_field = self.settings.syncs[0].global_id_field.clone();
        let values = |p: &orgsync_core::mapping::Payload| -> Fields {
            payload_values(p)
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case(&gid_field))
                .collect()
        };
        let landed = match &f.write {
            Write::Nothing => Landed::Nothing,
            Write::Update {
                local_id, payload, ..
            } => {
                let v = values(payload);
                self.update(f, local_id, &v)?;
                Landed::Written {
                    local_id: local_id.clone(),
                    fields: self.keys(org, &v),
                    deleted: None,
                }
            }
            Write::Create { payload, .. } => {
                let v = values(payload);
                let id = match self.orgs[org].live_with_gid(&f.gid) {
                    Some(id) => {
                        self.update(f, &id, &v)?;
                        id
                    }
                    None => {
                        let id = self.new_id(org);
                        let t = self.write_ts();
                        self.stats.writes += 1;
                        self.orgs[org].create(&id, &v, Some(f.gid.clone()), t, true);
                        id
                    }
                };
                Landed::Written {
                    local_id: id,
                    fields: self.keys(org, &v),
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
                let v = values(then);
                if carries(&self.settings.syncs[0], then) {
                    self.update(f, local_id, &v)?;
                }
                Landed::Written {
                    local_id: local_id.clone(),
                    fields: self.keys(org, &v),
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
            for k in self.keys(f.org, &one).keys() {
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
            let name = self.orgs[org].name.clone();
            let state = self.ledger.states.entry(f.gid.clone()).or_default();
            if let Some(d) = deleted {
                state.set_deleted_at(&name, d, ts(f.sent));
            }
            if !fields.is_empty() {
                state.record_written(&name, &fields, ts(f.sent));
            }
            self.ledger
                .ids
                .insert((org, local_id.clone()), f.gid.clone());
            self.ledger.local.insert((org, f.gid.clone()), local_id);
            // the write was decided from the state at claim time: if the agreed state moved on
            // meanwhile, or it landed over a change made there since, the target is still
            // behind, and nothing else may queue it
            if self.decide_for(org, &f.gid) != Write::Nothing {
                self.requeue(org, f.gid, 0);
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
        decide(
            &self.settings,
            &self.settings.syncs[0],
            name,
            gid,
            &state,
            held,
            &|_| ParentState::Landed,
        )
        .expect("decidable")
    }
}
