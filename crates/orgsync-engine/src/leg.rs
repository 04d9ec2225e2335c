//! A leg: one (org, sync) pair, resolved once at start — which side of the sync the org is on,
//! the object's and the fields' names there. Every capture source, the ingest and the writer
//! work on legs, so "which name does this org use" is answered in one place.

use std::sync::Arc;

use orgsync_core::config::SyncSettings;
use orgsync_core::mapping::{object_name, synced_fields};
use orgsync_core::{OrgName, Settings};

/// Which side of every sync an org is on. The source side (the hub, a chain's first org, a
/// peer pair's first org) uses the syncs' source-side names; every other org the target-side
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Source-side names.
    Source,
    /// Target-side names.
    Target,
}

impl Side {
    /// The side of `org` in `settings`' topology.
    pub fn of(settings: &Settings, org: &OrgName) -> Side {
        if settings.topology.is_source_side(org) {
            Side::Source
        } else {
            Side::Target
        }
    }

    /// Whether this is the source side (the form `orgsync_core::mapping` takes).
    pub fn is_source(self) -> bool {
        self == Side::Source
    }
}

/// One (org, sync) pair.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    /// The org.
    pub org: OrgName,
    /// Index of the sync in `Settings::syncs`.
    pub sync: usize,
    /// The org's side.
    pub side: Side,
    /// The sync's object as named on this org.
    pub object: String,
    /// The synced fields as named on this org.
    pub fields: Vec<String>,
    /// The sync is enabled (disabled syncs have legs, so items queued before are still
    /// written, but no capture source).
    pub enabled: bool,
}

impl Leg {
    fn new(settings: &Settings, org: &OrgName, sync: usize) -> Leg {
        let s = &settings.syncs[sync];
        let side = Side::of(settings, org);
        Leg {
            org: org.clone(),
            sync,
            side,
            object: object_name(s, side.is_source()).to_string(),
            fields: synced_fields(s, side.is_source()),
            enabled: s.enabled,
        }
    }

    /// The sync's settings.
    pub fn settings<'a>(&self, settings: &'a Settings) -> &'a SyncSettings {
        &settings.syncs[self.sync]
    }
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.org, self.object)
    }
}

/// Every leg of the configuration: each org of the topology with each sync.
#[derive(Debug, Default)]
pub(crate) struct Legs {
    list: Vec<Arc<Leg>>,
}

impl Legs {
    /// All legs of `settings`, in (org, sync) order.
    pub fn new(settings: &Settings) -> Legs {
        let list = settings
            .topology
            .orgs()
            .iter()
            .flat_map(|org| {
                (0..settings.syncs.len()).map(move |i| Arc::new(Leg::new(settings, org, i)))
            })
            .collect();
        Legs { list }
    }

    /// Every leg.
    pub fn all(&self) -> &[Arc<Leg>] {
        &self.list
    }

    /// The leg whose object on `org` is `object` (Salesforce names are case-insensitive).
    pub fn find(&self, org: &OrgName, object: &str) -> Option<&Arc<Leg>> {
        self.list
            .iter()
            .find(|l| l.org == *org && l.object.eq_ignore_ascii_case(object))
    }

    /// The leg of sync `sync` on `org`.
    pub fn of(&self, org: &OrgName, sync: usize) -> Option<&Arc<Leg>> {
        self.list.iter().find(|l| l.org == *org && l.sync == sync)
    }

    /// The legs of one org.
    pub fn of_org<'a>(&'a self, org: &'a OrgName) -> impl Iterator<Item = &'a Arc<Leg>> + 'a {
        self.list.iter().filter(move |l| l.org == *org)
    }
}
