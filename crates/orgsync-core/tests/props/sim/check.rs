//! The end of a scenario: quiesce (capture every org, apply everything, repeat until nothing
//! changes), then check the outcome against what the users did.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use orgsync_core::echo::same_value;
use orgsync_core::model::{FieldValue, Fields, GlobalId};

use super::{Happened, Sim};

/// Rounds within which a quiet system must settle; more is write ping-pong.
const ROUNDS: usize = 12;

/// One row of a record in an org: its id, whether it is deleted, its values (merge keys).
type RowCopy = (String, bool, Fields);

/// What the checks could not decide (polling only), to report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Undecided {
    pub fields_checked: usize,
    pub fields_skipped: usize,
    pub lives_checked: usize,
    pub lives_skipped: usize,
}

impl Sim {
    /// One full round: finish what is in flight, capture every org, apply everything queued.
    pub fn round(&mut self, reread_all: bool) {
        let n = self.orgs.len();
        for o in 0..n {
            self.land(o, 0);
            self.complete(o, 0);
        }
        for o in 0..n {
            if reread_all {
                if self.cdc {
                    self.capture(o, usize::MAX);
                }
                self.poll(o, true);
            } else {
                self.capture(o, usize::MAX);
            }
        }
        for o in 0..n {
            self.claim(o, usize::MAX, true);
            self.land(o, 0);
            self.complete(o, 0);
        }
    }

    /// Rounds until one writes nothing and leaves nothing queued; Err when it never settles.
    pub fn quiesce(&mut self) -> Result<usize, String> {
        if self.trace {
            eprintln!("-- quiesce");
        }
        for r in 0..ROUNDS {
            let before = self.stats.writes;
            self.round(false);
            if self.stats.writes == before
                && self.ledger.pending.is_empty()
                && self.ledger.flights.is_empty()
            {
                return Ok(r + 1);
            }
        }
        Err(format!("still writing after {ROUNDS} rounds (ping-pong)"))
    }

    /// Per global id, per org: the rows carrying it.
    fn copies(&self) -> BTreeMap<GlobalId, Vec<Vec<RowCopy>>> {
        let n = self.orgs.len();
        let mut out: BTreeMap<GlobalId, Vec<Vec<RowCopy>>> = BTreeMap::new();
        for (i, o) in self.orgs.iter().enumerate() {
            for (id, r) in &o.rows {
                let copies = out
                    .entry(o.gid_of(id))
                    .or_insert_with(|| vec![Vec::new(); n]);
                let mut keyed = self.canonical(i, r.object, &r.fields);
                keyed.sort_keys();
                copies[i].push((id.clone(), r.deleted, keyed));
            }
        }
        out
    }

    /// Properties 1–5 after quiescence (termination is [`Sim::quiesce`]'s Err).
    pub fn check(&self) -> Result<Undecided, String> {
        let mut und = Undecided::default();
        let names: Vec<&str> = self.orgs.iter().map(|o| o.name.as_str()).collect();
        let all = self.copies();
        // records live in the first org (the others must agree, checked below)
        let live_records: Vec<GlobalId> = all
            .iter()
            .filter(|(_, c)| c[0].iter().any(|(_, d, _)| !d))
            .map(|(g, _)| g.clone())
            .collect();
        for (gid, copies) in all {
            // 2. no duplicates
            for (i, c) in copies.iter().enumerate() {
                if c.iter().filter(|(_, d, _)| !d).count() > 1 {
                    return Err(format!("{gid}: two live copies in {}: {c:?}", names[i]));
                }
            }
            // 1. converged: the same life everywhere (no copy = deleted), the same values
            let live: Vec<Option<&Fields>> = copies
                .iter()
                .map(|c| c.iter().find(|(_, d, _)| !d).map(|(_, _, f)| f))
                .collect();
            let is_live = live[0].is_some();
            if live.iter().any(|l| l.is_some() != is_live) {
                return Err(format!("{gid}: live in some orgs only: {copies:?}"));
            }
            if let Some(first) = live[0] {
                for l in live.iter().flatten() {
                    let same = first
                        .iter()
                        .all(|(k, v)| l.get(k).is_some_and(|w| same_value(v, w)));
                    if !same {
                        return Err(format!("{gid}: values differ: {copies:?}"));
                    }
                }
            }
            let decidable =
                self.cdc || !self.blind.contains(&gid) && !self.lost.iter().any(|(_, g)| *g == gid);
            // 3. the newest user life event decides (a delete wins a tie)
            let prio = |o: usize| Reverse(self.settings.priority(&self.orgs[o].name));
            let last_life = self
                .history
                .iter()
                .filter(|e| e.gid == gid)
                .filter_map(|e| match e.what {
                    Happened::Life(d) => Some((e.ts, d, prio(e.org))),
                    _ => None,
                })
                .max();
            if let Some((t, deleted, _)) = last_life {
                if decidable && !self.imprecise.contains(&(gid.clone(), "life".into())) {
                    und.lives_checked += 1;
                    if deleted == is_live {
                        let what = if deleted {
                            "resurrected"
                        } else {
                            "lost its undelete"
                        };
                        return Err(format!(
                            "{gid}: {what} (last user life event @{t}): {copies:?}"
                        ));
                    }
                } else {
                    und.lives_skipped += 1;
                }
            }
            // 4. each field holds the newest user edit (ties: lower priority number)
            let Some(values) = live[0] else { continue };
            for (key, held) in values {
                let newest = self
                    .history
                    .iter()
                    .filter(|e| e.gid == gid)
                    .filter_map(|e| match &e.what {
                        Happened::Field(k, v) if k == key => Some(((e.ts, prio(e.org)), v)),
                        _ => None,
                    })
                    .max_by_key(|(rank, _)| *rank);
                let mut want = newest.map_or(&FieldValue::Null, |(_, v)| v);
                // a lookup to a deleted parent is cleared (Salesforce), wherever it was set
                if let FieldValue::Text(t) = want
                    && let Ok(parent) = t.parse::<GlobalId>()
                    && !live_records.contains(&parent)
                {
                    want = &FieldValue::Null;
                }
                if decidable && !self.imprecise.contains(&(gid.clone(), key.clone())) {
                    und.fields_checked += 1;
                    if !same_value(want, held) {
                        return Err(format!(
                            "{gid}.{key} = {held:?}, newest user edit {newest:?}: {copies:?}"
                        ));
                    }
                } else {
                    und.fields_skipped += 1;
                }
            }
        }
        // 5. no echo writes
        if !self.stats.echo_writes.is_empty() {
            return Err(format!("echo writes: {:?}", self.stats.echo_writes));
        }
        Ok(und)
    }

    /// Quiesce, check, then a full re-read of every row must cause no write (quiet).
    pub fn finish(&mut self) -> Result<Undecided, String> {
        self.quiesce()?;
        let und = self.check()?;
        let before = self.stats.writes;
        if self.trace {
            eprintln!("-- quiet check");
        }
        self.round(true);
        self.round(false);
        if self.stats.writes != before {
            return Err(format!(
                "{} writes after convergence",
                self.stats.writes - before
            ));
        }
        Ok(und)
    }
}
