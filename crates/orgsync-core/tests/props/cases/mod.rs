//! Scenarios the convergence simulation ([`crate::converge`]) found, shrunk by proptest and
//! kept as plain tests: each failed before the fix named in its doc comment (a rule in
//! `orgsync-core`, or an engine requirement the simulation models).

mod completions;
mod in_flight;
mod life;
mod lookups;
mod reads;

use crate::converge::run_on;
use crate::sim::{Action, TOPOLOGIES};

/// Run `script` on every topology, captured by change events (`cdc`) or by polling.
fn replay(cdc: bool, script: &[Action]) {
    for t in 0..TOPOLOGIES.len() {
        if let Err(e) = run_on(cdc, t, script) {
            panic!("{e}");
        }
    }
}

/// Both capture modes.
fn both(script: &[Action]) {
    replay(true, script);
    replay(false, script);
}
