//! The overview's topology picture: nodes laid out by kind, a route per hub–spoke pair or
//! chain link, coloured by the state of its two ends.

use orgsync_core::OrgName;
use orgsync_core::config::Topology;
use orgsync_monitor::view::topology::{EdgeState, NODE_W, WIDTH, build};
use orgsync_store::*;

use crate::support::*;

fn row(o: &str, status: SyncStatus) -> SyncRow {
    SyncRow {
        org: org(o),
        object: "Account".into(),
        capture: "poll".into(),
        interval_secs: 60,
        enabled: status != SyncStatus::Paused,
        status,
        last_sync_at: None,
        error_count: 0,
        last_error: None,
    }
}

fn names(n: &[&str]) -> Vec<OrgName> {
    n.iter().map(|s| org(s)).collect()
}

#[test]
fn hub_and_spokes_each_route_has_its_own_state() {
    let t = Topology::HubAndSpoke {
        hub: org("hub"),
        spokes: names(&["a", "b", "c"]),
    };
    let syncs = vec![
        row("hub", SyncStatus::Active),
        row("a", SyncStatus::Active),
        row("b", SyncStatus::CircuitOpen),
        row("c", SyncStatus::Active),
    ];
    let mut counts = Counts::new();
    counts.insert((org("c"), ItemState::Failed), 2);
    counts.insert((org("a"), ItemState::Queued), 5);
    let w = |src: &str, target: &str, ms: i64| RouteWrite {
        source: Some(org(src)),
        target: org(target),
        latency_ms: ms,
    };
    // a→c passes the hub: both a's and c's routes carry it; hub→a only a's
    let writes = vec![
        w("a", "c", 4000),
        w("hub", "a", 1000),
        RouteWrite {
            source: None,
            target: org("b"),
            latency_ms: 9,
        },
    ];
    let v = build(&t, &syncs, &counts, &writes);
    assert_eq!(v.nodes.len(), 4);
    assert_eq!(v.nodes[0].role, "hub");
    assert!(
        v.nodes
            .iter()
            .all(|n| n.x >= 0 && n.x + NODE_W <= WIDTH && n.y >= 0 && n.y < v.height)
    );
    let by = |to: &str| v.edges.iter().find(|e| e.to == to).unwrap();
    assert_eq!(
        (by("a").state, by("a").label.as_str()),
        (EdgeState::Ok, "ok · 5 waiting · 0.1/min · p95 4.0 s")
    );
    assert_eq!(by("b").state, EdgeState::Failing);
    assert_eq!(by("b").label, "failing · b Account circuit open · idle");
    assert_eq!(
        by("c").label,
        "failing · 2 failed in c · 0.1/min · p95 4.0 s"
    );
    assert!(v.edges.iter().all(|e| e.from == "hub" && e.both_ways));
    // the line runs from the hub's right edge to the spoke's left edge
    assert_eq!(by("a").x1, v.nodes[0].x + NODE_W);
    assert_eq!(by("a").x2, v.nodes[1].x);
}

#[test]
fn a_chain_is_a_row_of_links_and_all_paused_ends_read_paused() {
    let t = Topology::Chain {
        orgs: names(&["a", "b", "c"]),
        bidirectional: false,
    };
    let syncs = vec![
        row("a", SyncStatus::Paused),
        row("b", SyncStatus::Paused),
        row("c", SyncStatus::Active),
    ];
    let writes = vec![RouteWrite {
        source: Some(org("c")),
        target: org("a"),
        latency_ms: 2500,
    }];
    let v = build(&t, &syncs, &Counts::new(), &writes);
    let links: Vec<(&str, &str)> = v
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(links, [("a", "b"), ("b", "c")]);
    assert!(v.edges.iter().all(|e| !e.both_ways));
    assert_eq!(v.edges[0].state, EdgeState::Paused);
    assert_eq!(v.edges[1].state, EdgeState::Ok, "c still runs");
    assert!(
        v.edges
            .iter()
            .all(|e| e.label.ends_with("0.1/min · p95 2.5 s")),
        "c→a crosses both links: {:?}",
        v.edges
    );
    assert!(
        v.nodes
            .windows(2)
            .all(|w| w[0].x < w[1].x && w[0].y == w[1].y)
    );
}
