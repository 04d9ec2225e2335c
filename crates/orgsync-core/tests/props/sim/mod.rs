//! A pure, deterministic simulation of the whole sync loop, built on the same pure rules the
//! engine uses: capture (CDC events or polls) → `pipeline::process` → the ledger (agreed
//! state, per-org rows, items merged per target and global id) → a worker claims items →
//! `write::decide` → the write against the emulated org (which may refuse it, fail with a lock
//! error, or land while its completion is lost) → completion. Users act on any org at any
//! moment in between. [`crate::converge`] drives it with proptest and checks the outcome.

pub mod capture;
pub mod check;
pub mod ledger;
pub mod org;
pub mod worker;

use std::collections::BTreeSet;

use orgsync_core::config::Settings;
use orgsync_core::mapping::to_merge_keys;
use orgsync_core::model::{FieldValue, Fields, GlobalId};

use ledger::Ledger;
use org::Org;

/// The three topologies, as config text, with the orgs they use.
pub const TOPOLOGIES: [(&str, usize); 3] = [
    (
        "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]",
        3,
    ),
    (
        "[topology]\nkind = \"chain\"\norgs = [\"hub\", \"v1\", \"v2\"]",
        3,
    ),
    ("[topology]\nkind = \"peer\"\norgs = [\"hub\", \"v1\"]", 2),
];

const ORG: &str = "login_url = \"https://login.salesforce.com\"\nauth = { flow = \"client_credentials\", client_id = \"x\", client_secret = \"y\" }\n";

const SYNC: &str = r#"
[[sync]]
object = "Account"
target_object = "Customer__c"
fields = ["Name", "Phone", { source = "Notes__c", target = "Vendor_Notes__c" }]
[[sync]]
object = "Contact"
fields = ["LastName", "AccountId"]
parents = [{ field = "AccountId", policy = "sync", object = "Account" }]
"#;

/// A value of the small domain users pick from: 0 is null.
pub fn value(code: u8) -> FieldValue {
    match code % 4 {
        0 => FieldValue::Null,
        n => FieldValue::Text(((b'a' + n - 1) as char).to_string()),
    }
}

/// One step of a scenario. Indexes (org, row, field) are taken modulo what exists.
#[derive(Debug, Clone)]
pub enum Action {
    /// A user creates a record with these values (0: left empty).
    Create { org: usize, values: [u8; 3] },
    /// A user creates a child record named `name` pointing at the `parent`-th live parent
    /// there (0: none).
    CreateChild { org: usize, name: u8, parent: usize },
    /// A user edits one or two fields of a live record; `same_instant`: in the same
    /// millisecond as the previous commit (on another org), a tie.
    Edit {
        org: usize,
        pick: usize,
        field: usize,
        value: u8,
        also: Option<(usize, u8)>,
        same_instant: bool,
    },
    /// A user deletes a live record.
    Delete { org: usize, pick: usize },
    /// A user restores a record from the recycle bin.
    Undelete { org: usize, pick: usize },
    /// The engine captures from an org: at most `max` events (CDC), or one poll.
    Capture { org: usize, max: usize },
    /// A worker claims up to `max` due items for an org and decides their writes (`org`
    /// picks among the orgs with queued items, likewise below).
    Claim { org: usize, max: usize },
    /// The org receives the claimed writes; bit i of `locks` fails the i-th with a lock error.
    Land { org: usize, locks: u8 },
    /// The worker records the landed writes; bit i of `lose` loses the i-th completion (the
    /// worker was killed after the write landed).
    Complete { org: usize, lose: u8 },
}

/// What a user did, as the oracle of the checks.
#[derive(Debug, Clone)]
pub struct UserEvent {
    pub gid: GlobalId,
    pub org: usize,
    pub ts: i64,
    pub what: Happened,
}

#[derive(Debug, Clone)]
pub enum Happened {
    /// Created (false) or undeleted (false), deleted (true).
    Life(bool),
    /// A field (merge key) set to a value.
    Field(String, FieldValue),
}

/// Counters.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub writes: usize,
    /// Writes that changed nothing in the target and that nothing explains.
    pub echo_writes: Vec<String>,
    /// Writes that changed nothing, explained by a lost completion or a user's change the
    /// engine could not have known of yet.
    pub explained_echoes: usize,
    pub lost_completions: usize,
    pub lock_errors: usize,
    pub refusals: usize,
}

/// The world: orgs, the engine's ledger, the clock, and what the observer saw.
#[derive(Debug)]
pub struct Sim {
    pub settings: Settings,
    pub cdc: bool,
    pub orgs: Vec<Org>,
    /// The clock (ms): every commit moves it, except a user commit made "in the same instant".
    pub now: i64,
    next_id: usize,
    pub ledger: Ledger,
    pub stats: Stats,
    pub history: Vec<UserEvent>,
    /// (global id, merge key or "life") a poll cannot have seen precisely.
    pub imprecise: BTreeSet<(GlobalId, String)>,
    /// (org, global id) whose write landed while its completion was lost: under polling no
    /// read tells that write from a user's edit.
    pub lost: BTreeSet<(usize, GlobalId)>,
    /// Records read by a poll while a write to that copy was in flight: the read may be from
    /// before the write landed or after, which nothing tells.
    pub blind: BTreeSet<GlobalId>,
    pub trace: bool,
}

impl Sim {
    pub fn new(cdc: bool, topology: &str, n: usize) -> Sim {
        let mut text = String::new();
        for name in ["hub", "v1", "v2"].iter().take(n) {
            text.push_str(&format!("[orgs.{name}]\n{ORG}"));
        }
        text.push_str(topology);
        text.push_str(SYNC);
        let settings = Settings::from_str(&text, "sim.toml").expect("valid config");
        let orgs: Vec<Org> = ["hub", "v1", "v2"][..n]
            .iter()
            .enumerate()
            .map(|(i, name)| Org::new(i, name, i == 0))
            .collect();
        Sim {
            settings,
            cdc,
            ledger: Ledger::new(n),
            orgs,
            now: 0,
            next_id: 1,
            stats: Stats::default(),
            history: Vec::new(),
            imprecise: BTreeSet::new(),
            lost: BTreeSet::new(),
            blind: BTreeSet::new(),
            trace: std::env::var_os("SIM_TRACE").is_some(),
        }
    }

    /// The clock for a user commit on `org`.
    fn user_ts(&mut self, org: usize, same_instant: bool) -> i64 {
        if !(same_instant && self.orgs[org].last_ts < self.now) {
            self.now += 1;
        }
        self.now
    }

    /// The clock for one of our writes (it lands after it was sent).
    pub fn write_ts(&mut self) -> i64 {
        self.now += 1;
        self.now
    }

    pub fn new_id(&mut self, org: usize, object: usize) -> String {
        let prefix = self.orgs[org].objects[object].prefix;
        self.next_id += 1;
        format!("{prefix}{:012}", self.next_id)
    }

    /// Merge keys of fields of `object` named as in `org` (lookups still local ids).
    pub fn keys(&self, org: usize, object: usize, fields: &Fields) -> Fields {
        to_merge_keys(
            &self.settings.syncs[object],
            self.orgs[org].source_side,
            fields,
        )
    }

    /// Merge keys with lookups as their parent's global id (the canonical form).
    pub fn canonical(&self, org: usize, object: usize, fields: &Fields) -> Fields {
        let mut keyed = self.keys(org, object, fields);
        let key = org::LOOKUP.to_ascii_lowercase();
        if let Some(FieldValue::Text(p)) = keyed.get(&key).cloned() {
            let gid = self.orgs[org].gid_of(&p).to_string();
            keyed.insert(key, FieldValue::Text(gid));
        }
        keyed
    }

    fn record(&mut self, org: usize, id: &str, ts: i64, what: Happened) {
        let gid = self.orgs[org].gid_of(id);
        if self.trace {
            eprintln!("user {} {id} @{ts} {what:?}", self.orgs[org].name);
        }
        self.history.push(UserEvent { gid, org, ts, what });
    }

    fn record_fields(&mut self, org: usize, id: &str, ts: i64, fields: &Fields) {
        let object = self.orgs[org].rows[id].object;
        for (k, v) in self.canonical(org, object, fields) {
            self.record(org, id, ts, Happened::Field(k, v));
        }
    }

    /// A user creates a record of `object` in `org`.
    fn user_create(&mut self, org: usize, object: usize, fields: &Fields) {
        let id = self.new_id(org, object);
        let ts = self.user_ts(org, false);
        let done = self.orgs[org].create(&id, object, fields, None, ts, false);
        assert_eq!(done, Ok(()));
        self.record(org, &id, ts, Happened::Life(false));
        let all = self.orgs[org].rows[&id].fields.clone();
        self.record_fields(org, &id, ts, &all);
    }

    /// A lookup a user picks: 0 none, else one of the live parents in `org`.
    fn parent_ref(&self, org: usize, code: usize) -> FieldValue {
        let parents: Vec<&String> = self.orgs[org]
            .rows
            .iter()
            .filter(|(_, r)| r.object == 0 && !r.deleted)
            .map(|(id, _)| id)
            .collect();
        match code {
            0 => FieldValue::Null,
            _ if parents.is_empty() => FieldValue::Null,
            c => FieldValue::Text(parents[(c - 1) % parents.len()].clone()),
        }
    }

    /// The `pick`-th of the orgs in `orgs` (those a worker has something to do for), so that
    /// worker actions seldom fall on an idle org.
    fn busy(&self, orgs: impl Iterator<Item = usize>, pick: usize) -> Option<usize> {
        let set: BTreeSet<usize> = orgs.collect();
        let list: Vec<usize> = set.into_iter().collect();
        list.get(pick % list.len().max(1)).copied()
    }

    /// Perform one action.
    pub fn act(&mut self, a: &Action) {
        let n = self.orgs.len();
        match a {
            Action::Create { org, values } => {
                let org = org % n;
                let names = self.orgs[org].objects[0].fields;
                let fields: Fields = names
                    .iter()
                    .zip(values)
                    .filter(|(_, c)| **c % 4 != 0)
                    .map(|(n, c)| (n.to_string(), value(*c)))
                    .collect();
                self.user_create(org, 0, &fields);
            }
            Action::CreateChild { org, name, parent } => {
                let org = org % n;
                let mut fields = Fields::new();
                fields.insert("LastName".into(), value(*name));
                fields.insert(org::LOOKUP.into(), self.parent_ref(org, *parent));
                self.user_create(org, 1, &fields);
            }
            Action::Edit {
                org,
                pick,
                field,
                value: code,
                also,
                same_instant,
            } => {
                let org = org % n;
                let ids = self.orgs[org].ids(false);
                let Some(id) = ids.get(pick % ids.len().max(1)).cloned() else {
                    return;
                };
                let object = self.orgs[org].rows[&id].object;
                let names = self.orgs[org].objects[object].fields;
                let fields: Fields = std::iter::once((*field, *code))
                    .chain(*also)
                    .map(|(f, c)| {
                        let name = names[f % names.len()];
                        let v = if name == org::LOOKUP {
                            self.parent_ref(org, usize::from(c))
                        } else {
                            value(c)
                        };
                        (name.to_string(), v)
                    })
                    .collect();
                let row = &self.orgs[org].rows[&id];
                let changed: Fields = fields
                    .into_iter()
                    .filter(|(k, v)| !orgsync_core::echo::same_value(&row.fields[k], v))
                    .collect();
                if changed.is_empty() {
                    return;
                }
                let ts = self.user_ts(org, *same_instant);
                let done = self.orgs[org].update(&id, &changed, ts, false);
                assert_eq!(done, Ok(true));
                self.record_fields(org, &id, ts, &changed);
            }
            Action::Delete { org, pick } => {
                let org = org % n;
                let ids = self.orgs[org].ids(false);
                let Some(id) = ids.get(pick % ids.len().max(1)).cloned() else {
                    return;
                };
                let ts = self.user_ts(org, false);
                assert!(self.orgs[org].delete(&id, ts, false).is_ok());
                self.record(org, &id, ts, Happened::Life(true));
            }
            Action::Undelete { org, pick } => {
                let org = org % n;
                let ids = self.orgs[org].ids(true);
                let Some(id) = ids.get(pick % ids.len().max(1)).cloned() else {
                    return;
                };
                let gid = self.orgs[org].gid_of(&id);
                if self.orgs[org].live_with_gid(&gid).is_some() {
                    return; // DUPLICATE_VALUE on the unique global-id field
                }
                let ts = self.user_ts(org, false);
                assert!(self.orgs[org].undelete(&id, ts, false).is_ok());
                self.record(org, &id, ts, Happened::Life(false));
            }
            Action::Capture { org, max } => self.capture(org % n, *max),
            Action::Claim { org, max } => {
                let due = self.ledger.pending.keys().map(|(o, _)| *o);
                if let Some(o) = self.busy(due, *org) {
                    self.claim(o, *max, false);
                }
            }
            Action::Land { org, locks } => {
                let sent = self.ledger.flights.iter().filter(|f| f.landed.is_none());
                if let Some(o) = self.busy(sent.map(|f| f.org), *org) {
                    self.land(o, *locks);
                }
            }
            Action::Complete { org, lose } => {
                let landed = self.ledger.flights.iter().filter(|f| f.landed.is_some());
                if let Some(o) = self.busy(landed.map(|f| f.org), *org) {
                    self.complete(o, *lose);
                }
            }
        }
        self.ledger.tick += 1;
    }
}
