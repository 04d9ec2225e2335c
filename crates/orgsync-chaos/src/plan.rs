//! What a seed decides before anything runs: the topology, the capture mode of every object
//! and which org pushes, when orgsync is killed, the faults (latency per org, which org goes
//! offline and when) and the seeds of the edit sequence and of the emulator's fault draws.
//! Pure, so one seed always plans the same run.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::{Lookup, ObjectSpec};

/// How changes reach orgsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every object polled.
    Poll,
    /// Change Data Capture with the backup poll.
    Cdc,
    /// Outbound Messaging with the backup poll.
    Outbound,
    /// One org pushes its changes to `POST /api/v1/sync`; every object polled as well.
    Push,
    /// A capture per object, by seed, and maybe a pushing org.
    Mixed,
}

impl Mode {
    /// Every mode; a seed picks `ALL[seed % 5]`.
    pub const ALL: [Mode; 5] = [
        Mode::Poll,
        Mode::Cdc,
        Mode::Outbound,
        Mode::Push,
        Mode::Mixed,
    ];
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Poll => "poll",
            Mode::Cdc => "cdc",
            Mode::Outbound => "outbound",
            Mode::Push => "push",
            Mode::Mixed => "mixed",
        })
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.to_string() == s)
            .ok_or_else(|| format!("unknown mode `{s}` (poll, cdc, outbound, push, mixed)"))
    }
}

/// The capture of one object (orgsync's `capture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// `capture = "poll"`.
    Poll,
    /// `capture = "cdc"`.
    Cdc,
    /// `capture = "outbound"`.
    Outbound,
}

/// Who sends to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// The first org is the hub.
    HubAndSpoke,
    /// A bidirectional chain in org order.
    Chain,
    /// Exactly two orgs.
    Peer,
}

impl FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hub" | "hub_and_spoke" => Ok(Topology::HubAndSpoke),
            "chain" => Ok(Topology::Chain),
            "peer" => Ok(Topology::Peer),
            _ => Err(format!("unknown topology `{s}` (hub, chain, peer)")),
        }
    }
}

/// One org offline for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// Org index.
    pub org: usize,
    /// From the start of the edits.
    pub at: Duration,
    /// How long.
    pub lasts: Duration,
}

/// Everything a seed decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The seed.
    pub seed: u64,
    /// The capture mode.
    pub mode: Mode,
    /// The topology.
    pub topology: Topology,
    /// Org names, in config (and priority) order.
    pub orgs: Vec<String>,
    /// Capture per object of [`objects`].
    pub captures: Vec<Capture>,
    /// The org whose changes are also pushed, if any.
    pub push_org: Option<usize>,
    /// When orgsync is killed with SIGKILL, from the start of the edits.
    pub kills: Vec<Duration>,
    /// Added latency per org, ms.
    pub latency_ms: Vec<u64>,
    /// One org offline for a while.
    pub outage: Option<Outage>,
    /// Seed of the emulator's fault draws.
    pub fault_seed: u64,
    /// Seed of the edit sequence.
    pub edit_seed: u64,
}

/// Poll interval when polling is the capture.
pub const POLL_INTERVAL: Duration = Duration::from_secs(3);
/// Backup poll interval under change events and outbound messages.
pub const BACKUP_INTERVAL: Duration = Duration::from_secs(10);
/// Seconds an org stays offline.
pub const OUTAGE: Duration = Duration::from_secs(20);

impl Plan {
    /// The objects whose changes in org `i` reach orgsync as whole-row snapshots: those
    /// captured by polling or Outbound Messaging, and every object of the org a peer pushes
    /// from (see [`crate::model::OrgState::snapshot_objects`]).
    pub fn snapshot_objects(&self, i: usize) -> Vec<String> {
        objects()
            .into_iter()
            .zip(&self.captures)
            .filter(|(_, c)| **c != Capture::Cdc || self.push_org == Some(i))
            .map(|(o, _)| o.name)
            .collect()
    }

    /// Plan a run of `seconds` of edits on `n` orgs (≥ 2); `mode` and `topology` override
    /// the seed's choice.
    pub fn new(
        seed: u64,
        n: usize,
        seconds: u64,
        mode: Option<Mode>,
        topology: Option<Topology>,
    ) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = n.max(2);
        let mode = mode.unwrap_or(Mode::ALL[(seed % 5) as usize]);
        let topology = match topology {
            Some(t) => t,
            None if n == 2 => Topology::Peer,
            None => Topology::HubAndSpoke,
        };
        // a peer pair is exactly two orgs
        let n = if topology == Topology::Peer { 2 } else { n };
        let orgs = org_names(topology, n);
        let k = objects().len();
        let captures = match mode {
            Mode::Poll | Mode::Push => vec![Capture::Poll; k],
            Mode::Cdc => vec![Capture::Cdc; k],
            Mode::Outbound => vec![Capture::Outbound; k],
            Mode::Mixed => (0..k)
                .map(|_| [Capture::Poll, Capture::Cdc, Capture::Outbound][rng.random_range(0..3)])
                .collect(),
        };
        let push_org = match mode {
            Mode::Push => Some(rng.random_range(0..n)),
            Mode::Mixed if rng.random_bool(0.5) => Some(rng.random_range(0..n)),
            _ => None,
        };
        let mut kills = Vec::new();
        let mut t = 0;
        loop {
            t += rng.random_range(15..=40);
            if t >= seconds {
                break;
            }
            kills.push(Duration::from_secs(t));
        }
        let latency_ms = (0..n).map(|_| rng.random_range(0..=30)).collect();
        let lasts = OUTAGE.min(Duration::from_secs(seconds / 2));
        let latest = seconds.saturating_sub(lasts.as_secs()).max(1);
        let outage = (seconds >= 4).then(|| Outage {
            org: rng.random_range(0..n),
            at: Duration::from_secs(rng.random_range(latest / 4..=latest)),
            lasts,
        });
        Plan {
            seed,
            mode,
            topology,
            orgs,
            captures,
            push_org,
            kills,
            latency_ms,
            outage,
            fault_seed: rng.random(),
            edit_seed: rng.random(),
        }
    }

    /// Whether any object is captured by outbound messages.
    pub fn uses_outbound(&self) -> bool {
        self.captures.contains(&Capture::Outbound)
    }
}

fn org_names(t: Topology, n: usize) -> Vec<String> {
    let letter = |i: usize| char::from(b'a' + (i % 26) as u8);
    match t {
        Topology::HubAndSpoke => std::iter::once("hub".to_string())
            .chain((1..n).map(|i| format!("spoke_{}", letter(i - 1))))
            .collect(),
        Topology::Chain | Topology::Peer => (0..n).map(|i| format!("org_{}", letter(i))).collect(),
    }
}

fn lookup(field: &str, parent: &str) -> Lookup {
    Lookup {
        field: field.into(),
        parent: parent.into(),
    }
}

fn spec(name: &str, fields: &[&str], lookups: Vec<Lookup>) -> ObjectSpec {
    ObjectSpec {
        name: name.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        lookups,
    }
}

/// The synced objects, parents first: Account and the four Delivery Hub objects.
pub fn objects() -> Vec<ObjectSpec> {
    vec![
        spec(
            "Account",
            &["Name", "Phone", "Industry", "BillingCity"],
            vec![],
        ),
        spec(
            "Work_Item__c",
            &[
                "Name",
                "Status__c",
                "Priority__c",
                "Description__c",
                "Assignee__c",
                "Estimate_Hours__c",
                "Due_Date__c",
                "Account__c",
            ],
            vec![lookup("Account__c", "Account")],
        ),
        spec(
            "Work_Item_Comment__c",
            &["Work_Item__c", "Body__c", "Author__c"],
            vec![lookup("Work_Item__c", "Work_Item__c")],
        ),
        spec(
            "Work_Log__c",
            &[
                "Name",
                "Work_Item__c",
                "Hours__c",
                "Log_Date__c",
                "Description__c",
                "Resource__c",
                "Approval_Status__c",
            ],
            vec![lookup("Work_Item__c", "Work_Item__c")],
        ),
        spec(
            "Work_Item_Dependency__c",
            &["Name", "Blocked_Item__c", "Blocking_Item__c", "Type__c"],
            vec![
                lookup("Blocked_Item__c", "Work_Item__c"),
                lookup("Blocking_Item__c", "Work_Item__c"),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_plans_the_same_run_and_modes_take_turns() {
        assert_eq!(
            Plan::new(7, 3, 180, None, None),
            Plan::new(7, 3, 180, None, None)
        );
        assert_ne!(
            Plan::new(7, 3, 180, None, None),
            Plan::new(8, 3, 180, None, None)
        );
        let modes: Vec<Mode> = (0..5)
            .map(|s| Plan::new(s, 3, 60, None, None).mode)
            .collect();
        assert_eq!(modes, Mode::ALL.to_vec());
    }

    #[test]
    fn kills_come_every_15_to_40_seconds_within_the_edits() {
        for seed in 0..50 {
            let p = Plan::new(seed, 3, 180, None, None);
            let mut last = 0;
            for k in &p.kills {
                let gap = k.as_secs() - last;
                assert!((15..=40).contains(&gap), "seed {seed}: {:?}", p.kills);
                last = k.as_secs();
            }
            assert!(last < 180 && !p.kills.is_empty());
            let o = p.outage.unwrap();
            assert!(o.at + o.lasts <= Duration::from_secs(180), "{o:?}");
        }
    }

    #[test]
    fn push_mode_names_a_pushing_org_and_topologies_name_orgs() {
        let p = Plan::new(3, 3, 60, None, None);
        assert_eq!(p.mode, Mode::Push);
        assert!(p.push_org.is_some_and(|o| o < 3));
        assert_eq!(p.orgs, ["hub", "spoke_a", "spoke_b"]);
        assert_eq!(Plan::new(3, 2, 60, None, None).topology, Topology::Peer);
        let c = Plan::new(1, 4, 60, None, Some(Topology::Chain));
        assert_eq!(c.orgs, ["org_a", "org_b", "org_c", "org_d"]);
    }
}
