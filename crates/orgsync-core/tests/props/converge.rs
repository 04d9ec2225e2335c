//! Convergence of the whole loop under concurrent edits, deletes, undeletes, lock errors and
//! lost completions (see [`crate::sim`]): random scenarios on three orgs (hub and spokes, a
//! chain) and a peer pair, captured by change events or by polling, then quiesced and checked:
//!
//! 1. every org holds the same records with the same life and the same values;
//! 2. no org holds two live copies of one record;
//! 3. the newest user delete/undelete (by commit time; a delete wins a tie) decides the life;
//! 4. each field holds the newest user edit (ties: lower priority number) — under polling only
//!    where a poll can tell (see [`crate::sim::check`]);
//! 5. no write changes nothing in its target unless a lost completion or a user's change the
//!    engine had not captured yet explains it; once converged, a full re-read writes nothing;
//! 6. it settles within a bounded number of rounds (no write ping-pong).
//!
//! `ORGSYNC_SIM_CASES` sets the number of cases (default 48 per capture mode, about 20 s in
//! a debug build); a soak: `ORGSYNC_SIM_CASES=5000 cargo test -p orgsync-core --release
//! --test props converge`. `SIM_TRACE=1` prints every step of a failing replay.

use proptest::prelude::*;

use crate::sim::{Action, Sim, TOPOLOGIES, check::Undecided};

fn cases() -> u32 {
    std::env::var("ORGSYNC_SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn bits() -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(0u8), 1 => any::<u8>()]
}

fn action() -> impl Strategy<Value = Action> {
    let org = 0usize..3;
    prop_oneof![
        2 => (org.clone(), [0u8..4, 0u8..4, 0u8..4])
            .prop_map(|(org, values)| Action::Create { org, values }),
        6 => (
            org.clone(),
            0usize..4,
            (0usize..3, 0u8..4),
            prop::option::weighted(0.3, (0usize..3, 0u8..4)),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(org, pick, (field, value), also, same_instant)| Action::Edit {
                org,
                pick,
                field,
                value,
                also,
                same_instant,
            }),
        1 => (org.clone(), 0usize..4).prop_map(|(org, pick)| Action::Delete { org, pick }),
        1 => (org.clone(), 0usize..4).prop_map(|(org, pick)| Action::Undelete { org, pick }),
        3 => (org.clone(), prop_oneof![1usize..4, Just(usize::MAX)])
            .prop_map(|(org, max)| Action::Capture { org, max }),
        3 => (org.clone(), 1usize..4).prop_map(|(org, max)| Action::Claim { org, max }),
        3 => (org.clone(), bits()).prop_map(|(org, locks)| Action::Land { org, locks }),
        3 => (org, bits()).prop_map(|(org, lose)| Action::Complete { org, lose }),
    ]
}

fn script() -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(action(), 1..60)
}

/// Run `script` on topology `t` (index into [`TOPOLOGIES`]) and check the outcome.
pub fn run_on(cdc: bool, t: usize, script: &[Action]) -> Result<Undecided, String> {
    let (topology, n) = TOPOLOGIES[t];
    let mut sim = Sim::new(cdc, topology, n);
    for a in script {
        sim.act(a);
    }
    sim.finish().map_err(|e| {
        format!(
            "{} {}: {e}",
            if cdc { "cdc" } else { "poll" },
            topology.lines().nth(1).unwrap_or("")
        )
    })
}

fn run(cdc: bool, script: &[Action]) -> Result<(), TestCaseError> {
    for t in 0..TOPOLOGIES.len() {
        if let Err(e) = run_on(cdc, t, script) {
            return Err(TestCaseError::fail(format!("{e}\nscript: {script:?}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    #[test]
    fn cdc_converges(s in script()) {
        run(true, &s)?;
    }

    #[test]
    fn polling_converges(s in script()) {
        run(false, &s)?;
    }
}
