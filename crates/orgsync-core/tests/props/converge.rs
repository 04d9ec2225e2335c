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

use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::sim::{Action, Sim, Stats, TOPOLOGIES, check::Undecided};

fn cases() -> u32 {
    std::env::var("ORGSYNC_SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn bits() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 1 => any::<u8>()]
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
        2 => (org.clone(), 0usize..4).prop_map(|(org, pick)| Action::Delete { org, pick }),
        2 => (org.clone(), 0usize..4).prop_map(|(org, pick)| Action::Undelete { org, pick }),
        3 => (org.clone(), prop_oneof![1usize..4, Just(usize::MAX)])
            .prop_map(|(org, max)| Action::Capture { org, max }),
        3 => (org.clone(), 1usize..4).prop_map(|(org, max)| Action::Claim { org, max }),
        3 => (org.clone(), bits()).prop_map(|(org, locks)| Action::Land { org, locks }),
        3 => (org, bits()).prop_map(|(org, lose)| Action::Complete { org, lose }),
    ]
}

fn script() -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(action(), 1..80)
}

/// Scenarios with child records too (a lookup to the parent object).
fn lookup_script() -> impl Strategy<Value = Vec<Action>> {
    let child = (0usize..3, 0u8..4, 0usize..4)
        .prop_map(|(org, name, parent)| Action::CreateChild { org, name, parent });
    prop::collection::vec(prop_oneof![5 => action(), 1 => child], 1..80)
}

/// Run `script` on topology `t` (index into [`TOPOLOGIES`]) and check the outcome.
pub fn run_on(cdc: bool, t: usize, script: &[Action]) -> Result<Undecided, String> {
    run_sim(cdc, t, script).map(|(u, _)| u)
}

fn run_sim(cdc: bool, t: usize, script: &[Action]) -> Result<(Undecided, Stats), String> {
    let (topology, n) = TOPOLOGIES[t];
    let mut sim = Sim::new(cdc, topology, n);
    for a in script {
        sim.act(a);
    }
    let mode = if cdc { "cdc" } else { "poll" };
    let kind = topology.lines().nth(1).unwrap_or("");
    let u = sim.finish().map_err(|e| format!("{mode} {kind}: {e}"))?;
    Ok((u, sim.stats))
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

    #[test]
    fn lookups_converge_cdc(s in lookup_script()) {
        run(true, &s)?;
    }

    #[test]
    #[ignore = "open (polling): a lookup restored by an undelete is invisible to polls, see cases::lookups"]
    fn lookups_converge_polling(s in lookup_script()) {
        run(false, &s)?;
    }
}

/// What a fixed set of scenarios exercised and what polling could not decide, printed (run
/// with `--nocapture`) and checked: the scenarios must reach every mechanism the properties
/// are about, or the properties prove nothing.
#[test]
fn scenarios_exercise_every_mechanism() {
    let mut runner = TestRunner::deterministic();
    let scripts: Vec<Vec<Action>> = (0..60)
        .map(|_| {
            script()
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default()
        })
        .collect();
    for cdc in [true, false] {
        let mut und = Undecided::default();
        let mut st = Stats::default();
        for s in &scripts {
            for t in 0..TOPOLOGIES.len() {
                let (u, x) = run_sim(cdc, t, s).unwrap_or_else(|e| panic!("{e}"));
                und.fields_checked += u.fields_checked;
                und.fields_skipped += u.fields_skipped;
                und.lives_checked += u.lives_checked;
                und.lives_skipped += u.lives_skipped;
                st.writes += x.writes;
                st.explained_echoes += x.explained_echoes;
                st.lost_completions += x.lost_completions;
                st.lock_errors += x.lock_errors;
                st.refusals += x.refusals;
            }
        }
        eprintln!(
            "{}: {} writes, {} explained echo writes, {} lost completions, {} lock errors, \
             {} refused writes; fields checked {} skipped {}, lives checked {} skipped {}",
            if cdc { "cdc" } else { "poll" },
            st.writes,
            st.explained_echoes,
            st.lost_completions,
            st.lock_errors,
            st.refusals,
            und.fields_checked,
            und.fields_skipped,
            und.lives_checked,
            und.lives_skipped
        );
        assert!(st.lost_completions > 0 && st.lock_errors > 0 && st.refusals > 0);
        assert!(und.fields_checked > 0 && und.lives_checked > 0);
        if cdc {
            // change events tell everything: nothing is left undecided
            assert_eq!((und.fields_skipped, und.lives_skipped), (0, 0));
        }
    }
}
