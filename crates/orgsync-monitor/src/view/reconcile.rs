//! The Reconcile page's view of the last run: per object, the counts per drift class, the
//! passes' reads and API calls; and the first drifted records. Built from the ledger's
//! `reconcile_runs` row, so the page agrees with `orgsync status`.

use std::collections::BTreeMap;

use chrono::Utc;
use orgsync_core::reconcile::{DriftClass, Report};
use orgsync_store::ReconcileRun;

/// Drifted records listed on the page (the CLI's `--json` has them all).
const LISTED: usize = 50;

/// One object's line of the last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLine {
    /// The object.
    pub object: String,
    /// "full in 3 orgs" when every org had the same kind of pass, else each org's
    /// (a quick pass whose count disagreed escalates there).
    pub passes: String,
    /// Rows read over every org.
    pub records: u64,
    /// API calls its passes spent.
    pub calls: u64,
    /// Count per drift class, in [`DriftClass::ALL`] order.
    pub classes: Vec<u64>,
    /// Every drifted record of the object.
    pub drifted: u64,
}

/// One drifted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftLine {
    /// Its class.
    pub class: &'static str,
    /// Object.
    pub object: String,
    /// Org of the drifted copy.
    pub org: String,
    /// Global id, else the local id.
    pub id: String,
    /// Differing fields, comma-separated.
    pub fields: String,
}

/// The last run, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunView {
    /// "12 s ago".
    pub when: String,
    /// RFC 3339, for the tooltip.
    pub exact: String,
    /// "quick" or "full".
    pub pass: &'static str,
    /// "dry-run" or "repair".
    pub mode: String,
    /// Wall time, "1.2 s".
    pub duration: String,
    /// API calls of the whole run.
    pub calls: u64,
    /// Repairs queued, and applied by the run itself.
    pub queued: u64,
    /// Applied before the run returned.
    pub applied: u64,
    /// Records left to their pending items.
    pub skipped_pending: u64,
    /// The class names, for the table's header (spaces, so narrow columns wrap).
    pub class_names: Vec<String>,
    /// Per object.
    pub objects: Vec<ObjectLine>,
    /// The first drifted records.
    pub drifts: Vec<DriftLine>,
    /// Drifted records not listed.
    pub more: usize,
    /// The stored report did not parse (written by another version): only the row's summary.
    pub unreadable: bool,
}

/// The view of `run`.
pub fn build(run: &ReconcileRun) -> RunView {
    let mut v = RunView {
        when: super::ago(Some(run.started_at), Utc::now()),
        exact: super::exact(Some(run.started_at)),
        pass: if run.full { "full" } else { "quick" },
        mode: run.mode.clone(),
        duration: String::new(),
        calls: 0,
        queued: 0,
        applied: 0,
        skipped_pending: 0,
        class_names: DriftClass::ALL
            .iter()
            .map(|c| c.as_str().replace('_', " "))
            .collect(),
        objects: Vec::new(),
        drifts: Vec::new(),
        more: 0,
        unreadable: false,
    };
    let Ok(r) = serde_json::from_value::<Report>(run.report.clone()) else {
        v.unreadable = true;
        return v;
    };
    v.duration = format!("{:.1} s", r.duration_ms as f64 / 1000.0);
    v.calls = r.total_calls();
    v.queued = r.queued;
    v.applied = r.applied;
    v.skipped_pending = r.skipped_pending;
    let mut objects: BTreeMap<String, ObjectLine> = BTreeMap::new();
    let line = |o: &str| ObjectLine {
        object: o.to_string(),
        passes: String::new(),
        records: 0,
        calls: 0,
        classes: vec![0; DriftClass::ALL.len()],
        drifted: 0,
    };
    let mut kinds: BTreeMap<String, Vec<(String, &'static str)>> = BTreeMap::new();
    for p in &r.passes {
        let l = objects
            .entry(p.object.clone())
            .or_insert_with(|| line(&p.object));
        l.records += p.records;
        l.calls += p.calls;
        let kind = match p.kind {
            orgsync_core::reconcile::PassKind::Quick => "quick",
            orgsync_core::reconcile::PassKind::Full => "full",
        };
        kinds
            .entry(p.object.clone())
            .or_default()
            .push((p.org.to_string(), kind));
    }
    for (object, k) in kinds {
        let Some(l) = objects.get_mut(&object) else {
            continue;
        };
        let first = k.first().map(|(_, kind)| *kind).unwrap_or_default();
        l.passes = if k.iter().all(|(_, kind)| *kind == first) {
            let n = k.len();
            format!("{first} in {n} org{}", if n == 1 { "" } else { "s" })
        } else {
            let each: Vec<String> = k.iter().map(|(o, kind)| format!("{o} {kind}")).collect();
            each.join(", ")
        };
    }
    for d in &r.drifts {
        let l = objects
            .entry(d.object.clone())
            .or_insert_with(|| line(&d.object));
        if let Some(i) = DriftClass::ALL.iter().position(|c| *c == d.class) {
            l.classes[i] += 1;
        }
        l.drifted += 1;
    }
    v.objects = objects.into_values().collect();
    v.drifts = r
        .drifts
        .iter()
        .take(LISTED)
        .map(|d| DriftLine {
            class: d.class.as_str(),
            object: d.object.clone(),
            org: d.org.to_string(),
            id: d.global_id.as_ref().map_or_else(
                || d.local_id.clone().unwrap_or_default(),
                ToString::to_string,
            ),
            fields: d.fields.join(", "),
        })
        .collect();
    v.more = r.drifts.len().saturating_sub(LISTED);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsync_core::OrgName;
    use orgsync_core::reconcile::{Drift, Fix, Mode, PassKind, PassReport};

    fn pass(org: &str, object: &str, kind: PassKind, records: u64) -> PassReport {
        PassReport {
            org: OrgName(org.into()),
            object: object.into(),
            kind,
            records,
            org_count: None,
            ledger_count: None,
            calls: 2,
        }
    }

    fn drift(class: DriftClass, org: &str, local: &str) -> Drift {
        Drift {
            class,
            object: "Work_Item__c".into(),
            org: OrgName(org.into()),
            global_id: None,
            local_id: Some(local.into()),
            fields: vec!["status__c".into()],
            fix: Fix::Restore,
        }
    }

    fn run(report: serde_json::Value) -> ReconcileRun {
        ReconcileRun {
            started_at: Utc::now(),
            finished_at: Utc::now(),
            full: false,
            mode: "dry-run".into(),
            report,
        }
    }

    #[test]
    fn counts_per_object_and_class_and_summarised_passes() {
        let now = Utc::now();
        let r = Report {
            started_at: now,
            finished_at: now,
            duration_ms: 1500,
            full: false,
            mode: Mode::DryRun,
            passes: vec![
                pass("hub", "Account", PassKind::Quick, 3),
                pass("v1", "Account", PassKind::Quick, 4),
                pass("hub", "Work_Item__c", PassKind::Quick, 1),
                pass("v1", "Work_Item__c", PassKind::Full, 10),
            ],
            api_calls: [("hub".to_string(), 4), ("v1".to_string(), 5)].into(),
            drifts: vec![
                drift(DriftClass::Stale, "v1", "a1"),
                drift(DriftClass::Stale, "v1", "a2"),
                drift(DriftClass::Missing, "hub", "a3"),
            ],
            skipped_pending: 0,
            queued: 0,
            applied: 0,
        };
        let v = build(&run(serde_json::to_value(&r).unwrap()));
        assert!(!v.unreadable);
        assert_eq!((v.calls, v.duration.as_str()), (9, "1.5 s"));
        assert_eq!(v.objects.len(), 2);
        let account = &v.objects[0];
        assert_eq!(
            (account.passes.as_str(), account.records),
            ("quick in 2 orgs", 7)
        );
        assert_eq!(account.drifted, 0);
        let w = &v.objects[1];
        assert_eq!(w.passes, "hub quick, v1 full");
        assert_eq!(w.drifted, 3);
        let at = |c: DriftClass| DriftClass::ALL.iter().position(|x| *x == c).unwrap();
        assert_eq!(w.classes[at(DriftClass::Stale)], 2);
        assert_eq!(w.classes[at(DriftClass::Missing)], 1);
        assert_eq!(v.drifts[0].id, "a1");
        assert_eq!(v.drifts[0].fields, "status__c");
        assert_eq!(v.more, 0);
    }

    #[test]
    fn a_report_this_version_cannot_read_shows_the_row_only() {
        let v = build(&run(serde_json::json!({"something": "else"})));
        assert!(v.unreadable);
        assert_eq!((v.pass, v.mode.as_str()), ("quick", "dry-run"));
    }
}
