//! Two users racing on one record in two orgs, a few milliseconds apart (before orgsync can
//! carry either change): field edits (different fields, and now and then the same field with
//! different values), an edit against a delete, a delete against an undelete.

use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use sfemu_org::DmlOp;

use super::Editor;
use crate::orgs::{ChaosOrg, Rec};

impl Editor {
    /// 0–4 ms between the two operations of a race.
    async fn gap(&mut self) {
        let ms = self.rng.random_range(0..=4);
        if ms == 0 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// A record of `object` live in org `i` and (as the same global id) in another org `j`
    /// (`deleted_in_j`: in `j`'s recycle bin instead).
    fn shared(
        &mut self,
        orgs: &[ChaosOrg],
        i: usize,
        object: &str,
        deleted_in_j: bool,
    ) -> Option<(Rec, usize, Rec)> {
        let mine = orgs[i].records(object, false);
        let mut others: Vec<usize> = (0..orgs.len()).filter(|j| *j != i).collect();
        others.shuffle(&mut self.rng);
        for j in others {
            let theirs = orgs[j].records(object, deleted_in_j);
            let both: Vec<(Rec, Rec)> = mine
                .iter()
                .filter_map(|a| {
                    theirs
                        .iter()
                        .find(|b| b.gid == a.gid)
                        .map(|b| (a.clone(), b.clone()))
                })
                .collect();
            if let Some((a, b)) = both.get(self.rng.random_range(0..both.len().max(1))) {
                return Some((a.clone(), j, b.clone()));
            }
        }
        None
    }

    /// Run `first` then `second` (each: org, operation), a few ms apart, in random order.
    async fn race(
        &mut self,
        orgs: &[ChaosOrg],
        object: &str,
        mut first: (usize, DmlOp),
        mut second: (usize, DmlOp),
    ) -> bool {
        if self.rng.random_bool(0.5) {
            std::mem::swap(&mut first, &mut second);
        }
        let a = self.op(orgs, first.0, object, first.1).is_some();
        self.gap().await;
        let b = self.op(orgs, second.0, object, second.1).is_some();
        a && b
    }

    /// The same record edited in two orgs at nearly the same time: different fields, and at
    /// times one field on both sides.
    pub(super) async fn concurrent_edit(&mut self, orgs: &[ChaosOrg], i: usize) -> &'static str {
        let object = self.random_object();
        let Some((a, j, b)) = self.shared(orgs, i, &object, false) else {
            return "concurrent edit: nothing shared yet";
        };
        let mine = self.field_edit(&orgs[i], &object);
        let mut theirs = self.field_edit(&orgs[j], &object);
        if self.rng.random_bool(0.5)
            && let Some(f) = mine.keys().next().cloned()
        {
            let tag = format!("{}-same", self.tag(&orgs[j]));
            let v = super::values::value(&mut self.rng, &object, &f, &tag);
            theirs.insert(f, v);
        }
        let upd = |id: String, fields| DmlOp::Update {
            object: Some(object.clone()),
            id,
            fields,
        };
        let (x, y) = ((i, upd(a.id, mine)), (j, upd(b.id, theirs)));
        if self.race(orgs, &object, x, y).await {
            "concurrent edit"
        } else {
            "concurrent edit: one refused"
        }
    }

    /// One org edits a record while another deletes it.
    pub(super) async fn edit_delete_race(&mut self, orgs: &[ChaosOrg], i: usize) -> &'static str {
        let object = self.random_object();
        let Some((a, j, b)) = self.shared(orgs, i, &object, false) else {
            return "edit/delete race: nothing shared yet";
        };
        let fields = self.field_edit(&orgs[i], &object);
        let edit = DmlOp::Update {
            object: Some(object.clone()),
            id: a.id,
            fields,
        };
        let delete = DmlOp::Delete { id: b.id };
        if self.race(orgs, &object, (i, edit), (j, delete)).await {
            "edit/delete race"
        } else {
            "edit/delete race: one refused"
        }
    }

    /// One org deletes a record while another undeletes its copy from the recycle bin; when
    /// no copy is recycled anywhere, one org deletes and undeletes at once.
    pub(super) async fn delete_undelete_race(
        &mut self,
        orgs: &[ChaosOrg],
        i: usize,
    ) -> &'static str {
        let object = self.random_object();
        if let Some((a, j, b)) = self.shared(orgs, i, &object, true) {
            let delete = DmlOp::Delete { id: a.id };
            let undelete = DmlOp::Undelete { id: b.id };
            return if self.race(orgs, &object, (i, delete), (j, undelete)).await {
                "delete/undelete race"
            } else {
                "delete/undelete race: one refused"
            };
        }
        let Some(r) = self.choose(&orgs[i].records(&object, false)) else {
            return "delete/undelete race: nothing";
        };
        if self
            .op(orgs, i, &object, DmlOp::Delete { id: r.id.clone() })
            .is_none()
        {
            return "delete/undelete race: refused";
        }
        self.gap().await;
        match self.op(orgs, i, &object, DmlOp::Undelete { id: r.id }) {
            Some(_) => "quick delete+undelete",
            None => "quick delete+undelete: undelete refused",
        }
    }
}
