//! orgsync's chaos suite: proof that orgsync converges when concurrent edits, deletes, lock
//! errors, outages and crashes come together across N orgs.
//!
//! One run ([`run::run`], one seed):
//! - N emulated orgs on `sfemu` in-process, each on its own loopback port (hub and spokes by
//!   default; chain or peer on request), a generated `orgsync.toml` and SQLite state in a
//!   temporary directory, and the **real** `orgsync` binary as a child process (`orgsync run
//!   --config …`), killed with SIGKILL every 15–40 s and restarted;
//! - capture by the seed's mode ([`plan::Mode`]): polling, change events (with the backup
//!   poll), Outbound Messaging (the emulator's rules POST to orgsync's `/outbound/<org>`), a
//!   pushing peer (`POST /api/v1/sync`, [`push`]), or a capture per object;
//! - seeded user edits of Account and the four Delivery Hub objects on every org ([`edits`]):
//!   creates anywhere (children of records that arrived from elsewhere), field edits, the same
//!   record edited on two orgs within a few ms, edit/delete and delete/undelete races,
//!   undeletes, reparenting; about 5 a second;
//! - run-time faults through `/__sfemu/faults` ([`faults`]): 5% `UNABLE_TO_LOCK_ROW` per
//!   record, 2% 503 per call, latency, one org offline for 20 s;
//! - then the edits stop, faults are lifted, orgsync runs until idle and quiet ([`settle`]),
//!   and every org is compared by global id ([`judge`]): missing, duplicates, diff, orphans,
//!   resurrected, lost updates (by the change logs' commit times and the orgs' priorities),
//!   snapshot races (reported, not failures: see [`judge::Check::SnapshotRace`]), failed
//!   items, echo writes; each nonzero count comes with its records, their rows per org, their
//!   change-log entries and the ledger's items for them ([`explain`]).
//!
//! The seed decides the topology's capture modes, the edit sequence, the fault schedule and
//! the kill times ([`plan`]); the interleaving with the engine varies from run to run.
//!
//! ```text
//! cargo run -p orgsync-chaos --release -- --seed 7 --seconds 60 [--orgs 3]
//!     [--mode poll|cdc|outbound|push|mixed] [--topology hub|chain|peer] [--soak] [--keep-dir]
//! cargo run -p orgsync-chaos --release -- --seeds 1..20
//! ```
//! prints one line per seed, like
//! `seed=7 mode=cdc edits=312 kills=4 converged=yes missing=0 duplicates=0 diff=0 orphans=0
//! resurrected=0 lost_updates=0 snapshot_races=0 failed_items=0 echo_writes=0 writes=1234`,
//! and exits 0 only when every failing count of every seed is zero and echo writes are at most
//! 1% of orgsync's writes ([`outcome::ECHO_SHARE`]).

pub mod config;
pub mod edits;
pub mod explain;
pub mod faults;
pub mod judge;
pub mod model;
pub mod orgs;
pub mod outcome;
pub mod plan;
pub mod push;
pub mod run;
pub mod service;
pub mod settle;
pub mod snapshot;

pub use outcome::Outcome;
pub use plan::{Mode, Topology};
pub use run::{Options, run};
