//! Which orgs a change goes to. The topology decides; a change is never sent back to the org
//! it was captured from, to the org where the edit was made, or to the peer that pushed it.
//!
//! Why not exclude "the origin org of the global id": a record created in A and edited in B
//! must reach A, so the global id's origin only names the record, it does not say who changed
//! it. Loops are prevented by the echo layers instead ([`crate::echo`]).
//!
//! Forwarding: in hub-and-spoke a spoke's change reaches the other spokes *through* the hub
//! (`via = [hub]`), and along a chain through each org in between. The engine writes the
//! nearer org first and may hold the farther item until the nearer one has landed; the global
//! id is kept unchanged end to end.

use serde::{Deserialize, Serialize};

use crate::config::{Capture, OrgName, SyncSettings, Topology};
use crate::model::Origin;

/// Which ways a value travels between the source side and the target side on its path. A
/// field passes only if its [`crate::config::Direction`] allows every way travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Travel {
    /// Some hop goes away from the source side (hub → spoke, A → B in a chain).
    pub downstream: bool,
    /// Some hop goes towards the source side (spoke → hub, B → A).
    pub upstream: bool,
}

/// One org a change must reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTarget {
    /// The org to write.
    pub org: OrgName,
    /// The orgs the change passes through on the way (empty for a direct neighbour).
    pub via: Vec<OrgName>,
    /// Directions travelled.
    pub travel: Travel,
    /// Whether `org` uses the source-side names (it is the hub or the chain's first org).
    pub source_side: bool,
}

/// The targets of a change captured from `from` with the given origin, in delivery order
/// (nearest first). Empty when `from` is not in the topology.
pub fn route(topology: &Topology, from: &OrgName, origin: &Origin) -> Vec<RouteTarget> {
    let excluded =
        |o: &OrgName| o == from || o == &origin.org || origin.via_push_from.as_ref() == Some(o);
    let source = topology.orgs().first().cloned();
    let target = |org: &OrgName, via: Vec<OrgName>, downstream: bool, upstream: bool| RouteTarget {
        source_side: Some(org) == source.as_ref(),
        org: org.clone(),
        via,
        travel: Travel {
            downstream,
            upstream,
        },
    };
    let mut out = Vec::new();
    match topology {
        Topology::Peer { a, b } => {
            if from == a {
                out.push(target(b, vec![], true, false));
            } else if from == b {
                out.push(target(a, vec![], false, true));
            }
        }
        Topology::HubAndSpoke { hub, spokes } => {
            if from == hub {
                out.extend(spokes.iter().map(|s| target(s, vec![], true, false)));
            } else if spokes.contains(from) {
                out.push(target(hub, vec![], false, true));
                for s in spokes.iter().filter(|s| *s != from) {
                    out.push(target(s, vec![hub.clone()], true, true));
                }
            }
        }
        Topology::Chain {
            orgs,
            bidirectional,
        } => {
            if let Some(i) = orgs.iter().position(|o| o == from) {
                for j in i + 1..orgs.len() {
                    out.push(target(&orgs[j], orgs[i + 1..j].to_vec(), true, false));
                }
                if *bidirectional {
                    for j in (0..i).rev() {
                        let via = orgs[j + 1..i].iter().rev().cloned().collect();
                        out.push(target(&orgs[j], via, false, true));
                    }
                }
            }
        }
    }
    // An excluded org also blocks what would pass through it: the path is broken there.
    out.retain(|t| !excluded(&t.org) && !t.via.iter().any(|v| v == from));
    out
}

/// The ways a value travels from `from` to `to` (None when `to` is not reachable from
/// `from`, or is `from`): what a field's [`crate::config::Direction`] is checked against when
/// the agreed value set in `from` is written to `to`.
pub fn travel(topology: &Topology, from: &OrgName, to: &OrgName) -> Option<Travel> {
    let origin = Origin {
        org: from.clone(),
        client_tag: None,
        via_push_from: None,
    };
    route(topology, from, &origin)
        .into_iter()
        .find(|t| t.org == *to)
        .map(|t| t.travel)
}

/// How a sync's row criteria (`where`) are enforced. Criteria are never evaluated here: they
/// are SOQL, and the capture query is where SOQL runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowCriteria<'a> {
    /// No criteria: every record of the object is synced.
    All,
    /// Polling: `AND (<criteria>)` goes into the capture query itself.
    InCaptureQuery(&'a str),
    /// CDC and outbound messages deliver every change of the object: the engine re-reads the
    /// changed records with `WHERE Id IN (…) AND (<criteria>)` and drops those not returned.
    ReReadWithCriteria(&'a str),
}

/// The criteria hook for a sync (see [`RowCriteria`]). A record that stops matching is no
/// longer synced; it is not deleted on the other orgs.
pub fn row_criteria(sync: &SyncSettings) -> RowCriteria<'_> {
    match (&sync.where_clause, sync.capture) {
        (None, _) => RowCriteria::All,
        (Some(w), Capture::Poll) => RowCriteria::InCaptureQuery(w),
        (Some(w), Capture::Cdc | Capture::Outbound) => RowCriteria::ReReadWithCriteria(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> OrgName {
        OrgName(s.into())
    }
    fn captured(org: &str) -> Origin {
        Origin {
            org: n(org),
            client_tag: None,
            via_push_from: None,
        }
    }
    fn orgs(targets: &[RouteTarget]) -> Vec<&str> {
        targets.iter().map(|t| t.org.as_str()).collect()
    }

    #[test]
    fn peer_goes_to_the_other_side_only() {
        let t = Topology::Peer {
            a: n("a"),
            b: n("b"),
        };
        let r = route(&t, &n("a"), &captured("a"));
        assert_eq!(orgs(&r), ["b"]);
        assert_eq!(
            r[0].travel,
            Travel {
                downstream: true,
                upstream: false
            }
        );
        assert!(!r[0].source_side);
        let r = route(&t, &n("b"), &captured("b"));
        assert_eq!(orgs(&r), ["a"]);
        assert!(r[0].source_side && r[0].travel.upstream);
        assert!(route(&t, &n("x"), &captured("x")).is_empty());
    }

    #[test]
    fn hub_fans_out_and_spokes_go_through_the_hub() {
        let t = Topology::HubAndSpoke {
            hub: n("hub"),
            spokes: vec![n("s1"), n("s2"), n("s3")],
        };
        assert_eq!(
            orgs(&route(&t, &n("hub"), &captured("hub"))),
            ["s1", "s2", "s3"]
        );
        let r = route(&t, &n("s2"), &captured("s2"));
        assert_eq!(orgs(&r), ["hub", "s1", "s3"]);
        assert_eq!(r[1].via, vec![n("hub")]);
        assert_eq!(
            r[1].travel,
            Travel {
                downstream: true,
                upstream: true
            }
        );
    }

    #[test]
    fn chain_forwards_both_ways_when_bidirectional() {
        let chain = |bidirectional| Topology::Chain {
            orgs: vec![n("a"), n("b"), n("c")],
            bidirectional,
        };
        let r = route(&chain(true), &n("a"), &captured("a"));
        assert_eq!(orgs(&r), ["b", "c"]);
        assert_eq!(r[1].via, vec![n("b")]);
        assert_eq!(
            orgs(&route(&chain(true), &n("c"), &captured("c"))),
            ["b", "a"]
        );
        assert_eq!(
            orgs(&route(&chain(true), &n("b"), &captured("b"))),
            ["c", "a"]
        );
        assert!(route(&chain(false), &n("c"), &captured("c")).is_empty());
        assert_eq!(orgs(&route(&chain(false), &n("b"), &captured("b"))), ["c"]);
    }

    #[test]
    fn never_back_to_the_editing_org_or_the_pushing_peer() {
        let t = Topology::HubAndSpoke {
            hub: n("hub"),
            spokes: vec![n("s1"), n("s2")],
        };
        // captured at the hub, but the edit was made in s1 and pushed by s1
        let origin = Origin {
            org: n("s1"),
            client_tag: None,
            via_push_from: Some(n("s1")),
        };
        assert_eq!(orgs(&route(&t, &n("hub"), &origin)), ["s2"]);
        let origin = Origin {
            org: n("hub"),
            client_tag: None,
            via_push_from: Some(n("s2")),
        };
        assert_eq!(orgs(&route(&t, &n("hub"), &origin)), ["s1"]);
    }
}
