//! `orgsync demo --seconds 20`: three emulated orgs, edits for 20 s, then convergence.

use crate::support::{bin, text};

#[test]
fn demo_converges_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["demo", "--seconds", "20", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("final: converged ✓"), "{out}");
    assert!(
        out.contains("http://127.0.0.1:"),
        "org URLs are printed: {out}"
    );
    assert!(dir.path().join("orgsync.toml").exists());
    assert!(dir.path().join("orgsync.db").exists());
    // the generated config is valid on its own
    let v = bin()
        .args(["config", "validate", "--config"])
        .arg(dir.path().join("orgsync.toml"))
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{:?}", text(&v));
}
