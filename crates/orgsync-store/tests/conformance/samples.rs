//! Added syncs and org samples: an overlay row carries an added sync's fields; samples are
//! read back in replica, org and time order from a given time, and old ones are dropped.

use chrono::TimeDelta;
use orgsync_store::*;

use crate::support::*;

/// An added sync's fields survive the round trip; a removal forgets them.
pub async fn added_sync_fields_round_trip<S: Store>(s: &S) {
    let mut o = SyncOverride::new("Contact", at(1), "dashboard:ann");
    o.fields = Some(vec!["LastName".into(), "Email".into()]);
    o.capture = Some("cdc".into());
    o.enabled = Some(false);
    s.put_sync_override(&o, NewAudit::new(at(1), "admin.sync.add"))
        .await
        .unwrap();
    assert_eq!(s.sync_overrides().await.unwrap(), vec![o.clone()]);
    let mut plain = SyncOverride::new("Account", at(2), "cli:root");
    plain.enabled = Some(true);
    s.put_sync_override(&plain, NewAudit::new(at(2), "admin.sync.set"))
        .await
        .unwrap();
    let rows = s.sync_overrides().await.unwrap();
    assert_eq!(rows[0].fields, None, "a plain override has no fields");
    assert_eq!(rows[1], o);
}

fn sample(replica: &str, org_name: &str, secs: i64, calls: u64) -> OrgSample {
    OrgSample {
        replica: replica.into(),
        org: orgsync_core::OrgName(org_name.into()),
        at: at(secs),
        api_calls: calls,
        budget_used: Some(7),
        budget_max: None,
        backlog: 3,
        failed: 1,
    }
}

/// Samples come back ordered from `since`; those older than 8 days before the newest go.
pub async fn org_samples_read_back_and_age_out<S: Store>(s: &S) {
    s.put_org_samples(&[sample("r1", "a", 10, 1)])
        .await
        .unwrap();
    let day = 86_400;
    let batch = vec![
        sample("r2", "a", 9 * day, 50),
        sample("r1", "b", 9 * day, 20),
        sample("r1", "a", 9 * day + 60, 12),
        sample("r1", "a", 9 * day, 10),
    ];
    s.put_org_samples(&batch).await.unwrap();
    // the same minute again writes nothing twice
    s.put_org_samples(&batch[..1]).await.unwrap();
    let all = s.org_samples(at(0)).await.unwrap();
    let keys: Vec<(&str, &str, u64)> = all
        .iter()
        .map(|x| (x.replica.as_str(), x.org.as_str(), x.api_calls))
        .collect();
    assert_eq!(
        keys,
        [
            ("r1", "a", 10),
            ("r1", "a", 12),
            ("r1", "b", 20),
            ("r2", "a", 50)
        ],
        "ordered by replica, org, time; the 8-day-old sample is gone"
    );
    assert_eq!(all[0], sample("r1", "a", 9 * day, 10));
    let recent = s
        .org_samples(at(9 * day) + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
}
