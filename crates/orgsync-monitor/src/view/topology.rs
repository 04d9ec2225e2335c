//! The overview's topology picture: the orgs as boxes and the routes between them as lines,
//! laid out by the topology's kind (hub on the left and spokes in a column; a chain or a pair
//! in a row), each route coloured by its state — ok, paused or failing — so a broken spoke is
//! seen before any table is read. Pure: the template draws the coordinates as inline SVG.
//!
//! Each route also says its throughput (writes per minute that crossed it, over
//! [`WINDOW_MINUTES`]) and the p95 lag of those writes, from first capture to write.
//!
//! Why a route's state comes from its two orgs: the ledger keeps status per org and object
//! (captures) and backlog per target org (writes); a route is failing when either end has a
//! sync in Error or Circuit open or items that failed to be written there, paused when every
//! sync at both ends is paused, ok otherwise.

use orgsync_core::OrgName;
use orgsync_core::config::Topology;
use orgsync_store::{Counts, ItemState, RouteWrite, SyncRow, SyncStatus};

/// The window a route's throughput and lag are measured over, minutes.
pub const WINDOW_MINUTES: i64 = 15;

/// The picture's width (the SVG's viewBox; it scales to the page).
pub const WIDTH: i32 = 760;
/// A node's box.
pub const NODE_W: i32 = 150;
/// A node's box height.
pub const NODE_H: i32 = 46;

/// A route's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeState {
    /// Both ends capture and write without errors.
    Ok,
    /// Every sync at both ends is paused.
    Paused,
    /// An end has a sync in Error or Circuit open, or failed writes.
    Failing,
}

impl EdgeState {
    /// The word shown.
    pub fn label(self) -> &'static str {
        match self {
            EdgeState::Ok => "ok",
            EdgeState::Paused => "paused",
            EdgeState::Failing => "failing",
        }
    }
    /// The stroke colour (the status dots' colours).
    pub fn colour(self) -> &'static str {
        match self {
            EdgeState::Ok => "#2da44e",
            EdgeState::Paused => "#8c959f",
            EdgeState::Failing => "#cf222e",
        }
    }
    /// Dashed when paused.
    pub fn dash(self) -> &'static str {
        match self {
            EdgeState::Paused => "6 4",
            _ => "none",
        }
    }
}

/// An org in the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its role ("hub", "spoke", "source", …).
    pub role: &'static str,
    /// Top-left corner.
    pub x: i32,
    /// Top-left corner.
    pub y: i32,
}

/// A route between two orgs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// One end (the source side).
    pub from: String,
    /// The other end.
    pub to: String,
    /// Line ends (box edges).
    pub x1: i32,
    /// Line ends.
    pub y1: i32,
    /// Line ends.
    pub x2: i32,
    /// Line ends.
    pub y2: i32,
    /// Whether changes flow both ways (an arrow at each end).
    pub both_ways: bool,
    /// Its state.
    pub state: EdgeState,
    /// "ok · 3 waiting", "failing · 2 failed in b", shown by the line.
    pub label: String,
    /// Where the label goes: right-aligned at the line's far end, on the side the line
    /// leaves free (above a line that rises to it, below one that falls), so it never
    /// crosses its own line.
    pub lx: i32,
    /// Label baseline.
    pub ly: i32,
}

/// The picture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologyView {
    /// The orgs.
    pub nodes: Vec<Node>,
    /// The routes.
    pub edges: Vec<Edge>,
    /// The viewBox height.
    pub height: i32,
}

/// The routes of `t` as (from, to, both ways), source side first.
fn routes(t: &Topology) -> Vec<(OrgName, OrgName, bool)> {
    match t {
        Topology::Peer { a, b } => vec![(a.clone(), b.clone(), true)],
        Topology::HubAndSpoke { hub, spokes } => spokes
            .iter()
            .map(|s| (hub.clone(), s.clone(), true))
            .collect(),
        Topology::Chain {
            orgs,
            bidirectional,
        } => orgs
            .windows(2)
            .filter_map(|w| match w {
                [a, b] => Some((a.clone(), b.clone(), *bidirectional)),
                _ => None,
            })
            .collect(),
    }
}

/// Boxes laid out for `t`: the hub left and its spokes in a column on the right; a chain or a
/// pair in a row. Returns the nodes and the height the picture needs.
fn layout(t: &Topology) -> (Vec<Node>, i32) {
    let gap = 24;
    match t {
        Topology::HubAndSpoke { hub, spokes } => {
            let n = i32::try_from(spokes.len().max(1)).unwrap_or(1);
            let height = n * (NODE_H + gap) + gap;
            let mut nodes = vec![Node {
                name: hub.to_string(),
                role: "hub",
                x: 40,
                y: (height - NODE_H) / 2,
            }];
            for (i, s) in spokes.iter().enumerate() {
                let i = i32::try_from(i).unwrap_or(0);
                nodes.push(Node {
                    name: s.to_string(),
                    role: "spoke",
                    x: WIDTH - NODE_W - 40,
                    y: gap + i * (NODE_H + gap),
                });
            }
            (nodes, height.max(NODE_H + 2 * gap))
        }
        other => {
            let orgs = other.orgs();
            let n = i32::try_from(orgs.len().max(1)).unwrap_or(1);
            let step = if n > 1 {
                (WIDTH - 80 - NODE_W) / (n - 1)
            } else {
                0
            };
            let nodes = orgs
                .iter()
                .enumerate()
                .map(|(i, o)| Node {
                    name: o.to_string(),
                    role: if i == 0 { "source side" } else { "target side" },
                    x: 40 + i32::try_from(i).unwrap_or(0) * step,
                    y: gap,
                })
                .collect();
            (nodes, NODE_H + 2 * gap)
        }
    }
}

/// The orgs a change from `from` passes through to reach `to` (both included): straight
/// between peers, through the hub between spokes, along the chain.
fn path(t: &Topology, from: &OrgName, to: &OrgName) -> Vec<OrgName> {
    match t {
        Topology::HubAndSpoke { hub, .. } if from != hub && to != hub => {
            vec![from.clone(), hub.clone(), to.clone()]
        }
        Topology::Chain { orgs, .. } => {
            let at = |o: &OrgName| orgs.iter().position(|x| x == o);
            match (at(from), at(to)) {
                (Some(i), Some(j)) if i <= j => orgs[i..=j].to_vec(),
                (Some(i), Some(j)) => orgs[j..=i].iter().rev().cloned().collect(),
                _ => Vec::new(),
            }
        }
        _ => vec![from.clone(), to.clone()],
    }
}

/// "12.0/min · p95 3.2 s" of the writes that crossed the route between `a` and `b`.
fn traffic(t: &Topology, a: &OrgName, b: &OrgName, writes: &[RouteWrite]) -> String {
    let mut lags: Vec<i64> = writes
        .iter()
        .filter(|w| {
            let Some(src) = &w.source else { return false };
            path(t, src, &w.target)
                .windows(2)
                .any(|p| (&p[0] == a && &p[1] == b) || (&p[0] == b && &p[1] == a))
        })
        .map(|w| w.latency_ms)
        .collect();
    if lags.is_empty() {
        return "idle".into();
    }
    lags.sort_unstable();
    let p95 = super::charts::percentile(&lags, 95.0).unwrap_or(0);
    format!(
        "{:.1}/min · p95 {:.1} s",
        lags.len() as f64 / WINDOW_MINUTES as f64,
        p95 as f64 / 1000.0
    )
}

/// The state of the route between `a` and `b`, and its label.
fn state(a: &OrgName, b: &OrgName, syncs: &[SyncRow], counts: &Counts) -> (EdgeState, String) {
    let ends = [a, b];
    let rows: Vec<&SyncRow> = syncs.iter().filter(|s| ends.contains(&&s.org)).collect();
    let count = |org: &OrgName, st: ItemState| counts.get(&(org.clone(), st)).copied().unwrap_or(0);
    let failed: Vec<String> = ends
        .iter()
        .filter(|o| count(o, ItemState::Failed) > 0)
        .map(|o| format!("{} failed in {o}", count(o, ItemState::Failed)))
        .collect();
    let broken: Vec<String> = rows
        .iter()
        .filter(|s| matches!(s.status, SyncStatus::Error | SyncStatus::CircuitOpen))
        .map(|s| {
            format!(
                "{} {} {}",
                s.org,
                s.object,
                s.status.as_str().replace('_', " ")
            )
        })
        .collect();
    let waiting: u64 = ends
        .iter()
        .map(|o| {
            count(o, ItemState::Queued)
                + count(o, ItemState::InFlight)
                + count(o, ItemState::Pending)
        })
        .sum();
    if !broken.is_empty() || !failed.is_empty() {
        let mut why = broken;
        why.extend(failed);
        let shown: Vec<String> = why.iter().take(2).cloned().collect();
        let more = why.len().saturating_sub(2);
        let tail = if more > 0 {
            format!(" (+{more})")
        } else {
            String::new()
        };
        return (
            EdgeState::Failing,
            format!("failing · {}{tail}", shown.join(", ")),
        );
    }
    if !rows.is_empty() && rows.iter().all(|s| s.status == SyncStatus::Paused) {
        return (EdgeState::Paused, "paused".into());
    }
    (EdgeState::Ok, format!("ok · {waiting} waiting"))
}

/// Build the picture of `topology` from the sync rows, item counts and the writes of the
/// last [`WINDOW_MINUTES`].
pub fn build(
    topology: &Topology,
    syncs: &[SyncRow],
    counts: &Counts,
    writes: &[RouteWrite],
) -> TopologyView {
    let (nodes, height) = layout(topology);
    let at = |name: &OrgName| nodes.iter().find(|n| n.name == name.as_str());
    let edges = routes(topology)
        .into_iter()
        .filter_map(|(a, b, both_ways)| {
            let (na, nb) = (at(&a)?, at(&b)?);
            let (state, mut label) = state(&a, &b, syncs, counts);
            label = format!("{label} · {}", traffic(topology, &a, &b, writes));
            let (x2, y2) = (nb.x, nb.y + NODE_H / 2);
            let ly = if y2 > na.y + NODE_H / 2 {
                y2 + 16
            } else {
                y2 - 8
            };
            Some(Edge {
                lx: x2 - 8,
                ly,
                from: a.to_string(),
                to: b.to_string(),
                x1: na.x + NODE_W,
                y1: na.y + NODE_H / 2,
                x2: nb.x,
                y2: nb.y + NODE_H / 2,
                both_ways,
                state,
                label,
            })
        })
        .collect();
    TopologyView {
        nodes,
        edges,
        height,
    }
}
